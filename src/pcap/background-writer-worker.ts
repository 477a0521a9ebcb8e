/**
 * The thread behind BackgroundWriter: performs positional writes from shared buffers, in the
 * order they are queued, and tells the main thread when each buffer has no write pending.
 * Protocol (messages from the main thread):
 *   { kind: 'buffer', id, sab }            a shared buffer the writes will refer to by id
 *   { kind: 'write', id, off, len, pos }   write sab[off, off+len) at file position pos
 * control (Int32Array over a SharedArrayBuffer): [0] = length of the error message (0 = fine),
 * [1 + id] = writes pending from buffer id (decremented here, then notified). The error message
 * itself goes, UTF-8, into errorText: the main thread may be too busy to read a message event.
 */
import * as fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

interface WorkerSetup {
  fd: number;
  control: SharedArrayBuffer;
  errorText: SharedArrayBuffer;
}

type Message =
  | { kind: 'buffer'; id: number; sab: SharedArrayBuffer }
  | { kind: 'write'; id: number; off: number; len: number; pos: number };

const setup = workerData as WorkerSetup;
const control = new Int32Array(setup.control);
const buffers: Uint8Array[] = [];
/** First error message, reported once through the error flag and a message. */
let failed = false;

parentPort?.on('message', (m: Message) => {
  if (m.kind === 'buffer') {
    buffers[m.id] = new Uint8Array(m.sab);
    return;
  }
  try {
    if (!failed) {
      const buf = buffers[m.id];
      let done = 0;
      while (done < m.len) done += fs.writeSync(setup.fd, buf, m.off + done, m.len - done, m.pos + done);
    }
  } catch (e) {
    failed = true;
    const text = new TextEncoder().encode(e instanceof Error ? e.message : String(e));
    const room = new Uint8Array(setup.errorText);
    const n = Math.min(text.length, room.length);
    room.set(text.subarray(0, n));
    Atomics.store(control, 0, Math.max(1, n));
  }
  Atomics.sub(control, 1 + m.id, 1);
  Atomics.notify(control, 1 + m.id);
});
