/**
 * Runs live-latency-probe.js inside a lab's client namespace and reads its one JSON line.
 */
import * as path from 'node:path';
import { summarize, type ProbeResult } from './live-latency-probe';
import { nsExecAsync } from './live-exec';

export const PROBE_JS = path.join(__dirname, 'live-latency-probe.js');

export interface ProbeOptions {
  count: number;
  warmup: number;
  timeoutMs: number;
  /** Ask for every round trip too (for pooling). */
  raw?: boolean;
}

export async function runLatencyProbe(clientNs: string, host: string, port: number, o: ProbeOptions): Promise<ProbeResult> {
  // A healthy path answers 2000 exchanges in about a second; a lossy one is cut off here.
  const bound = Math.min((o.warmup + o.count) * o.timeoutMs + 10_000, 90_000);
  const out = await nsExecAsync(
    clientNs,
    process.execPath,
    [PROBE_JS, '--host', host, '--port', String(port), '--count', String(o.count), '--warmup', String(o.warmup), '--timeout-ms', String(o.timeoutMs), ...(o.raw ? ['--raw'] : [])],
    undefined,
    bound,
  );
  const line = out.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as ProbeResult;
  } catch {
    throw new Error(`the latency probe printed no result: ${out.trim().slice(0, 200)}`);
  }
}

/** Pools several probes of one path into one result (percentiles over every round trip). */
function pool(parts: readonly ProbeResult[]): ProbeResult {
  const all = parts.flatMap((p) => p.rttsUs ?? []);
  const answeredBy: Record<string, number> = {};
  for (const p of parts) for (const [who, n] of Object.entries(p.answeredBy)) answeredBy[who] = (answeredBy[who] ?? 0) + n;
  const sorted = Float64Array.from(all).sort();
  const exchanges = parts.reduce((s, p) => s + p.exchanges, 0);
  const lost = parts.reduce((s, p) => s + p.lost, 0);
  return summarize(parts[0].host, parts[0].port, exchanges, lost, sorted, answeredBy);
}

export interface PairedLatency {
  path: ProbeResult;
  /** null when there was no baseline to take. */
  direct: ProbeResult | null;
}

/**
 * The path's round trips and the direct path's, taken in alternating chunks (direct, path,
 * direct, path ...) so that a shared machine's slow moments touch both alike; each side's chunks
 * are pooled into one result.
 */
export async function pairedLatency(
  path: { ns: string; host: string; port: number },
  direct: { ns: string; host: string; port: number } | null,
  total: number,
  chunks: number,
  timeoutMs: number,
): Promise<PairedLatency> {
  const o: ProbeOptions = { count: Math.ceil(total / chunks), warmup: 20, timeoutMs, raw: true };
  const pathParts: ProbeResult[] = [];
  const directParts: ProbeResult[] = [];
  for (let i = 0; i < chunks; i++) {
    if (direct !== null) directParts.push(await runLatencyProbe(direct.ns, direct.host, direct.port, o));
    pathParts.push(await runLatencyProbe(path.ns, path.host, path.port, o));
  }
  return { path: pool(pathParts), direct: directParts.length > 0 ? pool(directParts) : null };
}
