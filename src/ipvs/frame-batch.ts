/**
 * A batch of frames the engine transmits. A frame lives either in the batch's own preallocated
 * slab, or, when the caller allows it (allowInPlace), right where it arrived: the engine then
 * rewrites same-size frames (DR, NAT, FULLNAT) in the caller's buffer and only records where they
 * are, so the common case copies no packet bytes at all. Typed arrays hold offsets, lengths,
 * egress links and the index of the input frame that caused each one; nothing is allocated per
 * frame.
 */
export class OutputBatch {
  readonly buf: Uint8Array;
  /** The buffer each frame is in: `buf`, or the input buffer for frames rewritten in place. */
  readonly frameBuf: Uint8Array[];
  readonly off: Int32Array;
  readonly len: Int32Array;
  readonly link: Int32Array;
  readonly cause: Int32Array;
  /** May the engine rewrite input frames in their own buffer? The input is then modified. */
  allowInPlace = false;
  count = 0;
  used = 0;

  constructor(slabBytes = 4 << 20, readonly maxFrames = 16384) {
    this.buf = new Uint8Array(slabBytes);
    this.frameBuf = new Array<Uint8Array>(maxFrames).fill(this.buf);
    this.off = new Int32Array(maxFrames);
    this.len = new Int32Array(maxFrames);
    this.link = new Int32Array(maxFrames);
    this.cause = new Int32Array(maxFrames);
  }

  /** Bytes free at `used` for the next frame (0 when the frame slots are exhausted). */
  room(): number {
    return this.count === this.maxFrames ? 0 : this.buf.length - this.used;
  }

  /** True while another frame slot is free. */
  hasSlot(): boolean {
    return this.count < this.maxFrames;
  }

  /** Records the frame just written at `used` in the slab. */
  commit(len: number, link: number, cause: number): void {
    const i = this.count++;
    this.frameBuf[i] = this.buf;
    this.off[i] = this.used;
    this.len[i] = len;
    this.link[i] = link;
    this.cause[i] = cause;
    this.used += len;
  }

  /** Records a frame rewritten in place in `buffer`. */
  commitInPlace(buffer: Uint8Array, off: number, len: number, link: number, cause: number): void {
    const i = this.count++;
    this.frameBuf[i] = buffer;
    this.off[i] = off;
    this.len[i] = len;
    this.link[i] = link;
    this.cause[i] = cause;
  }

  /** True when another maximum-size frame (64 KiB + headers) might not fit. */
  nearlyFull(): boolean {
    return this.count === this.maxFrames || this.buf.length - this.used < 65536 + 128;
  }

  reset(): void {
    this.count = 0;
    this.used = 0;
  }
}
