/**
 * A port's transmit queue: frames as (region, offset, length) descriptors in preallocated
 * Int32Arrays, so a flush is one native call over three arrays. A frame lying in a registered
 * region (the port's own ring, another port's ring, an engine output slab) is referenced where it
 * is; any other frame is copied into the queue's slab (region 0). Nothing is allocated per frame.
 */

/** Registers memory with the native side; returns the region index it will know it by. */
export type RegisterRegion = (memory: Uint8Array) => number;

// Buffer's native copy works on any Uint8Array and allocates nothing (subarray() + set() would
// make a view object per frame). Short frames are cheaper to copy in a JS loop than by a call.
const copyBytes = Buffer.prototype.copy as unknown as (
  this: Uint8Array,
  target: Uint8Array,
  targetStart: number,
  sourceStart: number,
  sourceEnd: number,
) => number;
const LOOP_COPY_MAX = 96;

export class TxQueue {
  readonly region: Int32Array;
  readonly off: Int32Array;
  readonly len: Int32Array;
  count = 0;
  /** Frames copied into the slab since the queue was made (referenced frames are not counted). */
  copied = 0;
  /** Frames that can never be sent (empty, or larger than the slab and in no region). */
  rejected = 0;

  private readonly slab: Uint8Array;
  private slabUsed = 0;
  private readonly slabRegion: number;
  // Per registered region: its ArrayBuffer, byte range within it, and native index.
  private readonly regionBuffers: ArrayBufferLike[] = [];
  private readonly regionStart: number[] = [];
  private readonly regionEnd: number[] = [];
  private readonly regionIndex: number[] = [];
  // The buffer the last frame came in and its region: a batch's frames share one buffer.
  private lastBuf: Uint8Array | null = null;
  private lastRegion = -1;

  constructor(
    readonly capacity: number,
    slabBytes: number,
    private readonly register: RegisterRegion,
  ) {
    this.region = new Int32Array(capacity);
    this.off = new Int32Array(capacity);
    this.len = new Int32Array(capacity);
    this.slab = new Uint8Array(slabBytes);
    this.slabRegion = this.addRegion(this.slab);
  }

  /** Lets frames in memory be referenced instead of copied. Returns its native region index. */
  addRegion(memory: Uint8Array): number {
    const index = this.register(memory);
    this.regionBuffers.push(memory.buffer);
    this.regionStart.push(memory.byteOffset);
    this.regionEnd.push(memory.byteOffset + memory.byteLength);
    this.regionIndex.push(index);
    this.lastBuf = null;
    return index;
  }

  /**
   * Queues buf[off, off + len). False when the queue or the slab is full (flush, then retry).
   * A frame that could never be sent is counted in `rejected` and accepted (true), so a caller's
   * flush-and-retry cannot loop on it.
   */
  queue(buf: Uint8Array, off: number, len: number): boolean {
    if (len <= 0 || off < 0 || off + len > buf.length) {
      this.rejected++;
      return true;
    }
    if (this.count >= this.capacity) return false;
    const at = buf.byteOffset + off;
    let r = this.lastRegion;
    if (buf !== this.lastBuf || r < 0 || at < this.regionStart[r] || at + len > this.regionEnd[r]) {
      r = this.findRegion(buf.buffer, at, len);
      this.lastBuf = buf;
      this.lastRegion = r;
    }
    if (r >= 0) {
      const n = this.count++;
      this.region[n] = this.regionIndex[r];
      this.off[n] = at - this.regionStart[r];
      this.len[n] = len;
      return true;
    }
    if (len > this.slab.length) {
      this.rejected++;
      return true;
    }
    const to = this.slabUsed;
    if (to + len > this.slab.length) return false;
    const slab = this.slab;
    if (len <= LOOP_COPY_MAX) {
      for (let i = 0; i < len; i++) slab[to + i] = buf[off + i];
    } else {
      copyBytes.call(buf, slab, to, off, off + len);
    }
    const n = this.count++;
    this.region[n] = this.slabRegion;
    this.off[n] = to;
    this.len[n] = len;
    // Keep copies 16-byte aligned: the kernel copies faster from aligned sources.
    this.slabUsed = (to + len + 15) & ~15;
    this.copied++;
    return true;
  }

  /** Empties the queue after a flush (the slab is reused from its start). */
  reset(): void {
    this.count = 0;
    this.slabUsed = 0;
  }

  /** The region holding bytes [at, at + len) of buffer b, or -1. */
  private findRegion(b: ArrayBufferLike, at: number, len: number): number {
    for (let r = 0; r < this.regionBuffers.length; r++) {
      if (this.regionBuffers[r] === b && at >= this.regionStart[r] && at + len <= this.regionEnd[r]) return r;
    }
    return -1;
  }
}
