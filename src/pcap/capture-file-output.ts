import * as fs from 'node:fs';
import { BackgroundWriter } from './background-writer';
import { removeStaleTempFiles } from './stale-temp-files';

/** Default output buffer: one write system call per 4 MiB of capture. */
export const DEFAULT_OUTPUT_BUFFER_SIZE = 4 * 1024 * 1024;

export interface CaptureFileOutputOptions {
  bufferSize?: number;
  /**
   * Write from a second thread (BackgroundWriter): the output buffer is double-buffered in shared
   * memory and writeThrough() hands shared buffers over without copying.
   */
  background?: boolean;
}

/**
 * A file written through one large reusable buffer, under a temporary name (`<path>.tmp-<pid>`) that is
 * renamed to the final path by close(), so a killed run never leaves a half-written file under the final
 * name. abort() removes the temporary file instead. Writers reserve room and fill `bytes`/`view` directly
 * (re-reading them after reserve(): with a background writer they alternate between two buffers).
 */
export class CaptureFileOutput {
  readonly tempPath: string;
  bytes: Uint8Array;
  view: DataView;
  /** Bytes filled in `bytes`. */
  pos = 0;
  /** Bytes already handed to the file (written, or queued at their position). */
  flushed = 0;
  private fd: number;
  private readonly background: BackgroundWriter | null;
  /** The other buffer of the pair, with a background writer. */
  private spare: Uint8Array | null = null;

  constructor(readonly path: string, options: CaptureFileOutputOptions | number = {}) {
    const opts = typeof options === 'number' ? { bufferSize: options } : options;
    const size = opts.bufferSize ?? DEFAULT_OUTPUT_BUFFER_SIZE;
    this.tempPath = `${path}.tmp-${process.pid}`;
    this.fd = fs.openSync(this.tempPath, 'w');
    if (opts.background === true) {
      this.background = new BackgroundWriter(this.fd);
      this.bytes = new Uint8Array(new SharedArrayBuffer(size));
      this.spare = new Uint8Array(new SharedArrayBuffer(size));
    } else {
      this.background = null;
      this.bytes = new Uint8Array(size);
    }
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
  }

  get isOpen(): boolean {
    return this.fd >= 0;
  }

  /** Makes room for n more bytes at `pos` (flushing, or growing the buffer for an oversized record). */
  reserve(n: number): void {
    if (this.fd < 0) throw new Error(`${this.path}: write after close`);
    if (this.bytes.length - this.pos >= n) return;
    this.flush();
    if (n > this.bytes.length) {
      const size = Math.max(n, this.bytes.length * 2);
      this.bytes = new Uint8Array(this.background !== null ? new SharedArrayBuffer(size) : new ArrayBuffer(size));
      this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    }
  }

  /** Writes buf[off, off+len) to the file after what is buffered, without copying it when it can. */
  writeThrough(buf: Uint8Array, off: number, len: number): void {
    this.flush();
    if (this.background !== null && BackgroundWriter.canShare(buf)) {
      this.background.write(buf, off, len, this.flushed);
    } else {
      let done = 0;
      while (done < len) done += fs.writeSync(this.fd, buf, off + done, len - done, this.flushed + done);
    }
    this.flushed += len;
  }

  /** Before the caller overwrites a buffer it handed to writeThrough(): waits until it is written. */
  release(buf: Uint8Array): void {
    if (this.background !== null) this.background.waitFree(buf);
  }

  flush(): void {
    if (this.fd < 0) throw new Error(`${this.path}: write after close`);
    if (this.pos === 0) return;
    if (this.background !== null && this.spare !== null) {
      this.background.write(this.bytes, 0, this.pos, this.flushed);
      const next = this.spare;
      this.spare = this.bytes;
      this.background.waitFree(next);
      this.bytes = next;
      this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
    } else {
      let done = 0;
      while (done < this.pos) done += fs.writeSync(this.fd, this.bytes, done, this.pos - done, this.flushed + done);
    }
    this.flushed += this.pos;
    this.pos = 0;
  }

  /** Flushes, closes and renames the temporary file to the final path (and clears killed runs' leftovers). */
  close(): void {
    if (this.fd < 0) return;
    try {
      this.flush();
      if (this.background !== null) {
        this.background.drain();
        this.background.stop();
      }
    } catch (err) {
      this.abort();
      throw err;
    }
    fs.closeSync(this.fd);
    this.fd = -1;
    fs.renameSync(this.tempPath, this.path);
    removeStaleTempFiles(this.path);
  }

  /** Drops everything: closes and removes the temporary file. The final path is left untouched. */
  abort(): void {
    if (this.fd < 0) return;
    if (this.background !== null) {
      // Let queued writes finish before the descriptor goes: its number could be reused at once.
      try {
        this.background.drain();
      } catch {
        // The write error is why we are aborting; the file goes anyway.
      }
      this.background.stop();
    }
    fs.closeSync(this.fd);
    this.fd = -1;
    fs.rmSync(this.tempPath, { force: true });
  }
}
