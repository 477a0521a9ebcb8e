/**
 * A batch of frames the engine transmits: one preallocated slab of bytes plus typed arrays of
 * offsets, lengths, egress links and the index of the input frame that caused each one. The
 * director loop hands it to a port and resets it; nothing is allocated per frame.
 */
export class OutputBatch {
  readonly buf: Uint8Array;
  readonly off: Int32Array;
  readonly len: Int32Array;
  readonly link: Int32Array;
  readonly cause: Int32Array;
  count = 0;
  used = 0;

  constructor(slabBytes = 4 << 20, readonly maxFrames = 16384) {
    this.buf = new Uint8Array(slabBytes);
    this.off = new Int32Array(maxFrames);
    this.len = new Int32Array(maxFrames);
    this.link = new Int32Array(maxFrames);
    this.cause = new Int32Array(maxFrames);
  }

  /** Bytes free at `used` for the next frame (0 when the frame slots are exhausted). */
  room(): number {
    return this.count === this.maxFrames ? 0 : this.buf.length - this.used;
  }

  /** Records the frame just written at `used`. */
  commit(len: number, link: number, cause: number): void {
    const i = this.count++;
    this.off[i] = this.used;
    this.len[i] = len;
    this.link[i] = link;
    this.cause[i] = cause;
    this.used += len;
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
