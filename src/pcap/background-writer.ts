/**
 * Writes to a file from a second thread, so that the main thread computes the next chunk of
 * output while the kernel copies the previous one into the page cache (on a 2-core machine the
 * write of a 90 MB capture costs as much as rewriting its packets). Data is handed over in
 * SharedArrayBuffer-backed buffers without copying; a caller about to reuse a buffer waits
 * (Atomics.wait, synchronously) until the writes from it are done. Writes are positional, so the
 * file is exactly what sequential writes would make whatever the timing.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

const MAX_BUFFERS = 64;

export class BackgroundWriter {
  private readonly worker: Worker;
  private readonly control: Int32Array;
  private readonly ids = new Map<SharedArrayBuffer, number>();
  private readonly errorText = new SharedArrayBuffer(512);

  constructor(fd: number) {
    const sab = new SharedArrayBuffer(4 * (1 + MAX_BUFFERS));
    this.control = new Int32Array(sab);
    this.worker = new Worker(path.join(__dirname, 'background-writer-worker.js'), {
      workerData: { fd, control: sab, errorText: this.errorText },
    });
    // The worker must not keep the process alive on its own (close() waits for the writes).
    this.worker.unref();
  }

  /** True when `buf` can be handed to write() (it lives in a SharedArrayBuffer). */
  static canShare(buf: Uint8Array): boolean {
    return buf.buffer instanceof SharedArrayBuffer;
  }

  private idOf(sab: SharedArrayBuffer): number {
    let id = this.ids.get(sab);
    if (id === undefined) {
      id = this.ids.size;
      if (id >= MAX_BUFFERS) throw new Error(`background writer: more than ${MAX_BUFFERS} buffers`);
      this.ids.set(sab, id);
      this.worker.postMessage({ kind: 'buffer', id, sab });
    }
    return id;
  }

  /** Queues the write of buf[off, off+len) at file position `pos`. buf must not change until waitFree(buf). */
  write(buf: Uint8Array, off: number, len: number, pos: number): void {
    this.check();
    if (len === 0) return;
    const sab = buf.buffer as SharedArrayBuffer;
    const id = this.idOf(sab);
    Atomics.add(this.control, 1 + id, 1);
    this.worker.postMessage({ kind: 'write', id, off: buf.byteOffset + off, len, pos });
  }

  /** Blocks until no queued write reads from `buf`. */
  waitFree(buf: Uint8Array): void {
    const id = this.ids.get(buf.buffer as SharedArrayBuffer);
    if (id !== undefined) {
      for (;;) {
        const pending = Atomics.load(this.control, 1 + id);
        if (pending === 0) break;
        Atomics.wait(this.control, 1 + id, pending, 1000);
      }
    }
    this.check();
  }

  /** Blocks until every queued write is done. */
  drain(): void {
    for (const sab of this.ids.keys()) this.waitFree(new Uint8Array(sab, 0, 0));
    this.check();
  }

  /** Stops the thread (after drain(), or to give up). */
  stop(): void {
    void this.worker.terminate();
  }

  private check(): void {
    const n = Atomics.load(this.control, 0);
    if (n !== 0) {
      const text = Buffer.from(new Uint8Array(this.errorText, 0, n)).toString('utf8');
      throw new Error(`write failed: ${text}`);
    }
  }
}
