/**
 * Runs a CapPort inside a namespace for test/io-cap-port.test.ts (libpcap opens the device in the
 * namespace of the calling process). One JSON argument:
 *   {mode:'rx', device, filter?, inboundOnly?}   prints {ready}, then {frame,sec,nsec,flags} per
 *                                                frame; on SIGTERM {stats} and exits
 *   {mode:'tx', device, frames:[hex], txFrames?} queues and flushes them (flushing whenever the
 *                                                queue refuses one); prints {sent,refused,stats}
 *   {mode:'open', device, filter?}               prints {ok} or {error}; exits 0 (after a GC)
 *   {mode:'prime', device, frames:[hex]}         sends frames[0] every 100 ms (at most 50 times)
 *                                                until SIGTERM: the peer's first ring block is
 *                                                lost to libpcap's userland re-filtering (cap-port.ts)
 */
import { CapPort } from '../../src/io/cap-port';

interface Plan {
  mode: 'rx' | 'tx' | 'open' | 'prime';
  device: string;
  filter?: string;
  inboundOnly?: boolean;
  frames?: string[];
  txFrames?: number;
}

function print(o: unknown): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

const plan = JSON.parse(process.argv[2] ?? '{}') as Plan;

if (plan.mode === 'rx') {
  const port = new CapPort(plan.device, { filter: plan.filter, inboundOnly: plan.inboundOnly });
  let batches = 0;
  port.start(() => {
    for (let b = port.receive(); b !== null; b = port.receive()) {
      batches++;
      for (let i = 0; i < b.count; i++) {
        const hex = Buffer.from(b.buf.buffer, b.buf.byteOffset + b.off[i], b.len[i]).toString('hex');
        print({ frame: hex, sec: b.sec[i], nsec: b.nsec[i], flags: b.flags[i] });
      }
      port.release();
    }
  });
  const stop = (): void => {
    print({ stats: port.stats(), batches });
    port.close();
    setTimeout(() => process.exit(0), 200).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  print({ ready: true });
} else if (plan.mode === 'tx') {
  const port = new CapPort(plan.device, { filter: 'less 1', txFrames: plan.txFrames });
  let sent = 0;
  let refused = 0;
  for (const hex of plan.frames ?? []) {
    const f = Buffer.from(hex, 'hex');
    if (!port.queue(f, 0, f.length)) {
      refused++;
      sent += port.flush();
      if (!port.queue(f, 0, f.length)) throw new Error('queue refused a frame after a flush');
    }
  }
  sent += port.flush();
  print({ sent, refused, stats: port.stats() });
  port.close();
} else if (plan.mode === 'prime') {
  const port = new CapPort(plan.device, { filter: 'less 1' });
  const f = Buffer.from(plan.frames?.[0] ?? '', 'hex');
  let left = 50;
  const timer = setInterval(() => {
    port.queue(f, 0, f.length);
    port.flush();
    if (--left === 0) clearInterval(timer);
  }, 100);
  process.on('SIGTERM', () => {
    clearInterval(timer);
    port.close();
  });
  print({ ready: true });
} else {
  let result: unknown;
  try {
    const port = new CapPort(plan.device, { filter: plan.filter });
    port.close();
    port.close();
    result = { ok: true };
  } catch (e) {
    result = { error: e instanceof Error ? e.message : String(e) };
  }
  // A failed open leaves a handle the addon would crash on when it is collected: show it is not.
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) for (let i = 0; i < 3; i++) gc();
  print(result);
}
