/**
 * A stand-in for worker-main.js in the worker pool's unit tests (forked by WorkerPool with
 * `entry`): worker FAKE_FAIL_INDEX answers init with `failed`, the others with `ready`; each
 * writes its pid to FAKE_PID_DIR/<index>; with FAKE_IGNORE_STOP=1 a worker ignores `stop` (the
 * pool must then kill it).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

interface Message {
  type: string;
  index?: number;
}

process.on('message', (m: Message) => {
  if (m.type === 'init') {
    const index = m.index ?? -1;
    fs.writeFileSync(path.join(process.env.FAKE_PID_DIR ?? '/tmp', String(index)), String(process.pid));
    if (index === Number(process.env.FAKE_FAIL_INDEX ?? -1)) {
      process.send?.({ type: 'failed', error: "no network interface named 'eth9'" }, () => process.exit(1));
    } else {
      process.send?.({ type: 'ready' });
    }
  } else if (m.type === 'stop' && process.env.FAKE_IGNORE_STOP !== '1') {
    process.exit(0);
  }
});
