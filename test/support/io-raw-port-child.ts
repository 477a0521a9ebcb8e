/**
 * Runs a RawPort inside a namespace for test/io-raw-port.test.ts. One JSON argument:
 *   {ipv6?, txFrames?, frames:[{hex, region?, swapAfterQueue?}]}
 * Queues every frame (from a registered tx region when `region`, else from a private buffer),
 * optionally swaps the first two 16-bit words of the UDP payload after queueing (checksum-neutral,
 * so it shows whether the port referenced or copied the frame), flushes once and prints
 * {queued:[bool], sent, stats, lastSendError, started, received}.
 */
import { RawPort } from '../../src/io/raw-port';

interface FramePlan {
  hex: string;
  region?: boolean;
  swapAfterQueue?: boolean;
}

interface Plan {
  ipv6?: boolean;
  txFrames?: number;
  frames: FramePlan[];
}

const plan = JSON.parse(process.argv[2] ?? '{}') as Plan;
let port: RawPort;
try {
  port = new RawPort('raw0', { ipv6: plan.ipv6, txFrames: plan.txFrames });
} catch (e) {
  process.stdout.write(`${JSON.stringify({ openError: e instanceof Error ? e.message : String(e) })}\n`);
  process.exit(0);
}
const region = new Uint8Array(64 * 1024);
port.addTxRegion(region);
port.start(() => undefined);
let regionAt = 0;
const queued: boolean[] = [];
for (const f of plan.frames) {
  const bytes = Buffer.from(f.hex, 'hex');
  let buf: Uint8Array;
  let off: number;
  if (f.region === true) {
    region.set(bytes, regionAt);
    buf = region;
    off = regionAt;
    regionAt += bytes.length + 64;
  } else {
    buf = new Uint8Array(bytes.length + 10);
    buf.set(bytes, 10);
    off = 10;
  }
  queued.push(port.queue(buf, off, bytes.length));
  if (f.swapAfterQueue === true) {
    const ihl = (buf[off + 14] & 15) * 4;
    const v6 = buf[off + 14] >> 4 === 6;
    const p = off + 14 + (v6 ? 40 : ihl) + 8;
    const w0 = [buf[p], buf[p + 1]];
    buf[p] = buf[p + 2];
    buf[p + 1] = buf[p + 3];
    buf[p + 2] = w0[0];
    buf[p + 3] = w0[1];
  }
}
const sent = port.flush();
const result = {
  queued,
  sent,
  stats: port.stats(),
  lastSendError: port.lastSendError,
  started: port.started,
  received: port.receive() !== null,
};
port.close();
port.close();
process.stdout.write(`${JSON.stringify(result)}\n`);
