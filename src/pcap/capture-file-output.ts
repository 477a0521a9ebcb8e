import * as fs from 'node:fs';

/** Default output buffer: one write system call per 4 MiB of capture. */
export const DEFAULT_OUTPUT_BUFFER_SIZE = 4 * 1024 * 1024;

/**
 * A file written through one large reusable buffer, under a temporary name (`<path>.tmp-<pid>`) that is
 * renamed to the final path by close(), so a killed run never leaves a half-written file under the final
 * name. abort() removes the temporary file instead. Writers reserve room and fill `bytes`/`view` directly.
 */
export class CaptureFileOutput {
  readonly tempPath: string;
  bytes: Uint8Array;
  view: DataView;
  /** Bytes filled in `bytes`. */
  pos = 0;
  /** Bytes already written to the file. */
  flushed = 0;
  private fd: number;

  constructor(readonly path: string, bufferSize: number = DEFAULT_OUTPUT_BUFFER_SIZE) {
    this.tempPath = `${path}.tmp-${process.pid}`;
    this.fd = fs.openSync(this.tempPath, 'w');
    this.bytes = new Uint8Array(bufferSize);
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
      this.bytes = new Uint8Array(Math.max(n, this.bytes.length * 2));
      this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    }
  }

  /** Writes buf[off, off+len) to the file after what is buffered, without copying it. */
  writeThrough(buf: Uint8Array, off: number, len: number): void {
    this.flush();
    let done = 0;
    while (done < len) done += fs.writeSync(this.fd, buf, off + done, len - done);
    this.flushed += len;
  }

  flush(): void {
    if (this.fd < 0) throw new Error(`${this.path}: write after close`);
    let done = 0;
    while (done < this.pos) {
      done += fs.writeSync(this.fd, this.bytes, done, this.pos - done);
    }
    this.flushed += this.pos;
    this.pos = 0;
  }

  /** Flushes, closes and renames the temporary file to the final path. */
  close(): void {
    if (this.fd < 0) return;
    try {
      this.flush();
    } catch (err) {
      this.abort();
      throw err;
    }
    fs.closeSync(this.fd);
    this.fd = -1;
    fs.renameSync(this.tempPath, this.path);
  }

  /** Drops everything: closes and removes the temporary file. The final path is left untouched. */
  abort(): void {
    if (this.fd < 0) return;
    fs.closeSync(this.fd);
    this.fd = -1;
    fs.rmSync(this.tempPath, { force: true });
  }
}
