#!/usr/bin/env node
/**
 * Round trips of a UDP request/response, run inside the lab's client namespace by the live bench:
 *
 *   node live-latency-probe.js --host 10.71.100.1 --port 9000 --count 2000 [--warmup 50] [--timeout-ms 500] [--raw]
 *
 * One connected socket sends a datagram, waits for the answer (the real server's name), and only
 * then sends the next: a tight sequential loop timed with process.hrtime. Unanswered exchanges
 * count as lost after the timeout. Prints one JSON line: percentiles in microseconds, losses and
 * who answered (with --raw also every round trip, so a caller can pool several probes).
 */
import * as dgram from 'node:dgram';

interface ProbeArgs {
  host: string;
  port: number;
  count: number;
  warmup: number;
  timeoutMs: number;
  raw: boolean;
}

export interface ProbeResult {
  host: string;
  port: number;
  exchanges: number;
  lost: number;
  minUs: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  maxUs: number;
  /** Answers per body (the real server's name). */
  answeredBy: Record<string, number>;
  /** Every answered round trip in microseconds, in order (only with --raw). */
  rttsUs?: number[];
}

function parseArgs(argv: readonly string[]): ProbeArgs {
  const value = (name: string, fallback?: string): string => {
    const i = argv.indexOf(name);
    const v = i >= 0 ? argv[i + 1] : fallback;
    if (v === undefined) throw new Error(`missing ${name}`);
    return v;
  };
  const int = (name: string, fallback?: string): number => {
    const n = Number(value(name, fallback));
    if (!Number.isInteger(n) || n < 0) throw new Error(`${name} needs a whole number`);
    return n;
  };
  return {
    host: value('--host'),
    port: int('--port'),
    count: int('--count', '2000'),
    warmup: int('--warmup', '50'),
    timeoutMs: int('--timeout-ms', '500'),
    raw: argv.includes('--raw'),
  };
}

export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

async function probe(a: ProbeArgs): Promise<ProbeResult> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.connect(a.port, a.host, () => {
      socket.removeListener('error', reject);
      resolve();
    });
  });
  socket.on('error', () => undefined); // an ICMP error shows up as a lost exchange
  // The answer's arrival time is taken in the 'message' handler, before any promise machinery.
  let waiting: ((msg: Buffer | null) => void) | null = null;
  let sentAt = 0n;
  let answeredAt = 0n;
  socket.on('message', (msg) => {
    answeredAt = process.hrtime.bigint();
    const w = waiting;
    waiting = null;
    w?.(msg);
  });
  const request = Buffer.from('uvs-bench\n');
  const exchange = (): Promise<Buffer | null> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        waiting = null;
        resolve(null);
      }, a.timeoutMs);
      waiting = (msg): void => {
        clearTimeout(timer);
        resolve(msg);
      };
      sentAt = process.hrtime.bigint();
      socket.send(request);
    });

  const rtts = new Float64Array(a.count);
  let n = 0;
  let lost = 0;
  const answeredBy: Record<string, number> = {};
  for (let i = 0; i < a.warmup + a.count; i++) {
    const msg = await exchange();
    if (i < a.warmup) continue;
    if (msg === null) {
      lost++;
      continue;
    }
    rtts[n++] = Number(answeredAt - sentAt) / 1000;
    const who = msg.toString().trim();
    answeredBy[who] = (answeredBy[who] ?? 0) + 1;
  }
  socket.close();
  const sorted = rtts.slice(0, n).sort();
  return summarize(a.host, a.port, a.count, lost, sorted, answeredBy, a.raw ? Array.from(rtts.subarray(0, n)) : undefined);
}

/** Percentiles of answered round trips (sorted ascending). */
export function summarize(
  host: string,
  port: number,
  exchanges: number,
  lost: number,
  sorted: Float64Array,
  answeredBy: Record<string, number>,
  rttsUs?: number[],
): ProbeResult {
  const n = sorted.length;
  return {
    host,
    port,
    exchanges,
    lost,
    minUs: n > 0 ? sorted[0] : NaN,
    p50Us: percentile(sorted, 0.5),
    p90Us: percentile(sorted, 0.9),
    p99Us: percentile(sorted, 0.99),
    maxUs: n > 0 ? sorted[n - 1] : NaN,
    answeredBy,
    ...(rttsUs !== undefined ? { rttsUs } : {}),
  };
}

if (require.main === module) {
  probe(parseArgs(process.argv.slice(2))).then(
    (r) => process.stdout.write(JSON.stringify(r) + '\n'),
    (e: unknown) => {
      process.stderr.write(`live-latency-probe: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
