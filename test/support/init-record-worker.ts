/**
 * A stand-in for worker-main.js in the worker pool's unit tests (forked by WorkerPool with
 * `entry`): it writes the init message it got (without the fanout program) as JSON to
 * RECORD_DIR/<index>.json, then answers `ready`, or `failed` if it is worker RECORD_FAIL_INDEX
 * (so the pool's start ends without a real link). It exits on `stop`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

interface Message {
  type: string;
  index?: number;
  program?: unknown;
}

process.on('message', (m: Message) => {
  if (m.type === 'init') {
    const index = m.index ?? -1;
    const { program: _program, ...rest } = m;
    fs.writeFileSync(path.join(process.env.RECORD_DIR ?? '/tmp', `${index}.json`), JSON.stringify(rest));
    if (index === Number(process.env.RECORD_FAIL_INDEX ?? -1)) {
      process.send?.({ type: 'failed', error: 'stand-in worker: recorded' }, () => process.exit(1));
    } else {
      process.send?.({ type: 'ready' });
    }
  } else if (m.type === 'stop') {
    process.exit(0);
  }
});
