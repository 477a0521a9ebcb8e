import * as fs from 'node:fs';

/** Default size of one read: big enough that the read system call costs nothing per packet. */
export const DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024;

/**
 * A read-only file seen through one reusable buffer. The decoders ask `ensure(n)` for n contiguous bytes at
 * the cursor; when the buffer runs short, the unread tail moves to the front and the rest of the buffer is
 * refilled with one fs.readSync. A request larger than the buffer grows it (once per new maximum), so a big
 * record never straddles anything. Nothing is allocated per record.
 */
export class ChunkedFile {
  /** The buffer; `bytes` and `view` are replaced only when the buffer grows. */
  bytes: Uint8Array;
  view: DataView;
  /** Index in `bytes` of the next unread byte. */
  pos = 0;
  /** Number of valid bytes in `bytes`. */
  end = 0;
  readonly fileSize: number;
  /** Called before a refill moves or overwrites bytes already handed out (views into `bytes` die then). */
  beforeRefill: (() => void) | null = null;
  /**
   * With several buffers: called with the buffer a refill is about to overwrite, so that whoever
   * still uses its old contents (a background write) can finish first.
   */
  beforeReuse: ((buf: Uint8Array) => void) | null = null;
  /** The buffers taken in turn by refills (one unless the file was opened with several). */
  readonly pool: Uint8Array[];
  private poolIndex = 0;
  private readonly shared: boolean;
  /** File offset of bytes[0]. */
  private base = 0;
  private fd: number;

  /**
   * `buffers` > 1 makes refills take the next buffer in turn instead of moving data within one,
   * so bytes handed out stay put until that buffer comes round again; `shared` puts the buffers
   * in SharedArrayBuffers (another thread can write them out).
   */
  constructor(readonly path: string, chunkSize: number = DEFAULT_CHUNK_SIZE, buffers = 1, shared = false) {
    if (!Number.isInteger(chunkSize) || chunkSize < 64) {
      throw new RangeError(`chunk size must be an integer of at least 64 bytes, got ${chunkSize}`);
    }
    this.fd = fs.openSync(path, 'r');
    try {
      this.fileSize = fs.fstatSync(this.fd).size;
    } catch (err) {
      fs.closeSync(this.fd);
      throw err;
    }
    this.shared = shared;
    this.pool = [];
    for (let i = 0; i < Math.max(1, buffers); i++) this.pool.push(this.allocate(chunkSize));
    this.bytes = this.pool[0];
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
  }

  private allocate(size: number): Uint8Array {
    return new Uint8Array(this.shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size));
  }

  /** File offset of the cursor. */
  get offset(): number {
    return this.base + this.pos;
  }

  /** Bytes left in the file from the cursor. */
  get remaining(): number {
    return this.fileSize - this.base - this.pos;
  }

  /**
   * Makes n bytes from the cursor available in bytes[pos .. pos+n). Returns false when the file ends first
   * (then `remaining` tells how many there are). May move the data and replace `bytes`: re-read `pos` after.
   */
  ensure(n: number): boolean {
    if (this.end - this.pos >= n) return true;
    return this.refill(n);
  }

  /** Moves the cursor n bytes on, reading past the buffer by seeking if needed. Returns false past the end. */
  skip(n: number): boolean {
    if (this.end - this.pos >= n) {
      this.pos += n;
      return true;
    }
    const target = this.base + this.pos + n;
    if (target > this.fileSize) return false;
    if (this.beforeRefill !== null) this.beforeRefill();
    this.base = target;
    this.pos = 0;
    this.end = 0;
    return true;
  }

  close(): void {
    if (this.fd >= 0) {
      fs.closeSync(this.fd);
      this.fd = -1;
    }
  }

  private refill(n: number): boolean {
    if (this.fd < 0) throw new Error(`${this.path}: read after close`);
    if (this.remaining < n) return false;
    if (this.beforeRefill !== null) this.beforeRefill();
    const unread = this.end - this.pos;
    if (this.pool.length > 1) {
      // Take the next buffer in turn; the current one keeps its bytes for whoever still reads them.
      this.poolIndex = (this.poolIndex + 1) % this.pool.length;
      let next = this.pool[this.poolIndex];
      if (this.beforeReuse !== null) this.beforeReuse(next);
      if (n > next.length) {
        next = this.allocate(Math.max(n, next.length * 2));
        this.pool[this.poolIndex] = next;
      }
      next.set(this.bytes.subarray(this.pos, this.end), 0);
      this.bytes = next;
      this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
    } else if (n > this.bytes.length) {
      // Grow once to the larger of twice the old size and what is asked: at most a few growths per file.
      const grown = this.allocate(Math.max(n, this.bytes.length * 2));
      grown.set(this.bytes.subarray(this.pos, this.end), 0);
      this.bytes = grown;
      this.pool[0] = grown;
      this.view = new DataView(grown.buffer, grown.byteOffset, grown.byteLength);
    } else if (this.pos > 0) {
      this.bytes.copyWithin(0, this.pos, this.end);
    }
    this.base += this.pos;
    this.pos = 0;
    this.end = unread;
    const fileOffset = this.base + this.end;
    const want = Math.min(this.bytes.length - this.end, this.fileSize - fileOffset);
    let got = 0;
    while (got < want) {
      const r = fs.readSync(this.fd, this.bytes, this.end + got, want - got, fileOffset + got);
      if (r === 0) break; // the file shrank under us: report what is there
      got += r;
    }
    this.end += got;
    return this.end >= n;
  }
}
