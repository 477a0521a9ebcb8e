/**
 * The live part of the bench (issue 6, "Speed"): packets per second through the director in the
 * namespace lab, uvs against nftables DNAT and plain kernel forwarding, in one run under the same
 * conditions (live-io-facts.md: the generator pinned to one core).
 *
 * Four labs are brought up side by side (live-labs.ts); each round measures every path once, one
 * after the other, so slow drifts of a shared machine touch them all. One measurement: trafgen in
 * the client namespace (64-byte UDP, random source ports, VIP:9000, pinned to CPU 0) runs a
 * warm-up, then a fixed window in which the real servers' ingress counters (count and drop), the
 * generator's and the director's veth counters and the CPU times are read at both ends. A fifth
 * row measures the generator alone (the router drops the flood at its first ingress) so a
 * generator-bound result shows. Before any flood, every path's latency: p50/p99 of UDP
 * request/response round trips from the client (the real servers answer; they drop nothing yet),
 * each paired with a baseline: the same exchanges sent straight to rs1 in the kernel-forwarding lab
 * (client, router, rs1: no director), taken in chunks alternating with the path's, so drifts of a
 * shared machine do not show up as added latency.
 *
 * Skips itself (one line, no failure) when it cannot run: not root, or trafgen, nft, taskset or
 * timeout missing. Every lab is brought down in a finally, also after an error.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { UDP_PORT, VIP } from '../../src/lab/lab-plan';
import { UVS_JS, UVSADM_JS, findExecutable } from '../../src/lab/lab-servers';
import { listNamespaces } from '../../src/lab/netns';
import {
  CLOCK_TICKS_PER_SECOND,
  snapshot,
  uvsServiceInPackets,
  type Snapshot,
  type SnapshotPlace,
} from './live-counters';
import { nowSeconds, sleep } from './live-exec';
import { bringUpLab, installRsDrop, setGeneratorSink, stopDirectorForStats, tearDownLabs, UVS_SCHEDULER, VARIANTS, benchLabName, type BenchLab, type DirectorLinkStats, type VariantKey } from './live-labs';
import { pairedLatency, runLatencyProbe } from './live-latency';
import type { ProbeResult } from './live-latency-probe';
import { FRAME_BYTES, startTrafgen, trafgenVersion } from './live-trafgen';
import { renderTable } from './text-table';

export const LIVE_RS_COUNT = 2;
export const WARMUP_SECONDS = 1;
export const WINDOW_SECONDS = 5;
export const GENERATOR_CPU = 0;
const LATENCY_EXCHANGES = 2000;
/** The latency exchanges are taken in this many chunks, alternating with the direct path's. */
const LATENCY_CHUNKS = 8;
const LATENCY_TIMEOUT_MS = 500;
/** The issue's target: uvs NAT and DR at least this many times nftables DNAT. */
const TARGET_FACTOR = 1.5;

type RowKey = VariantKey | 'gen-alone';

/** One measurement window of one path. */
export interface LiveRun {
  /** Packets per second counted at the real servers' ingress during the window. */
  rsPps: number;
  /** Packets per second the client's eth0 sent during the window. */
  generatorPps: number;
  /** Packets per second the director's eth0 received during the window. */
  directorRxPps: number;
  windowSeconds: number;
  /** Whole run, warm-up included. */
  totals: { trafgenSent: number | null; clientTx: number; directorRx: number; uvsIn: number | null; rs: number };
  /** The uvs director process (utime + stime) over the window, percent of one core; null for the kernel paths. */
  directorCpuPercent: number | null;
  directorUsPerPacket: number | null;
  /** Every core's busy time (user, system, irq, softirq; the generator included) per packet forwarded. */
  systemBusyUsPerPacket: number | null;
  softirqUsPerPacket: number | null;
  /** Busy percent of each core over the window. */
  coreBusyPercent: number[];
}

export interface LiveRow {
  key: RowKey;
  label: string;
  how: string;
  runs: LiveRun[];
  failure: string | null;
  latency: ProbeResult | null;
  /** The direct path (no director), measured alongside this row's latency. */
  baseline: ProbeResult | null;
  /** The uvs director's own link counters, logged when it stopped (the lab's whole life). */
  directorLinks: DirectorLinkStats[] | null;
}

export interface LiveReport {
  skipped: string | null;
  conditions: Record<string, unknown>;
  rows: { key: RowKey; label: string; how: string; failure: string | null; medianRsPps: number | null; median: LiveRun | null; runs: LiveRun[]; latency: ProbeResult | null; baselineLatency: ProbeResult | null; directorLinks: DirectorLinkStats[] | null }[];
  ratios: { label: string; ratio: number | null; target: number | null; status: string }[];
  leftoverNamespaces: string[];
}

/** Why the live bench cannot run here, or null. */
function missingPrerequisite(): string | null {
  if (process.getuid?.() !== 0) return 'it needs root (network namespaces, AF_PACKET, nftables)';
  for (const tool of ['trafgen', 'nft', 'taskset', 'timeout', 'ip']) {
    if (findExecutable(tool) === null) return `${tool}${tool === 'trafgen' ? ' (netsniff-ng)' : ''} is not installed`;
  }
  if (!fs.existsSync(UVS_JS)) return `${UVS_JS} is missing (build first: npx tsc -p .)`;
  return null;
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The run whose pps at the real servers (or the generator's, for the generator-alone row) is the median. */
function medianRun(row: LiveRow): LiveRun | null {
  if (row.runs.length === 0) return null;
  const value = (r: LiveRun): number => (row.key === 'gen-alone' ? r.generatorPps : r.rsPps);
  const sorted = [...row.runs].sort((a, b) => value(a) - value(b));
  return sorted[(sorted.length - 1) >> 1];
}

function place(lab: BenchLab): SnapshotPlace {
  const s = lab.status;
  return {
    rsNamespaces: s.realServers.map((r) => r.namespace),
    clientNamespace: s.clientNamespace,
    directorNamespace: s.namespaces.director,
    directorPid: lab.directorPid,
  };
}

async function uvsIn(lab: BenchLab): Promise<number | null> {
  return lab.variant.uvs ? uvsServiceInPackets(UVSADM_JS, lab.status.socket, VIP, UDP_PORT) : null;
}

/** One flood through one lab: warm-up, the measured window, totals after it drained. */
async function measure(lab: BenchLab): Promise<LiveRun> {
  const where = place(lab);
  const in0 = await uvsIn(lab);
  const pre = await snapshot(where);
  const tg = startTrafgen(lab.status.clientNamespace, lab.trafgenConf, WARMUP_SECONDS + WINDOW_SECONDS + 0.6, GENERATOR_CPU);
  await sleep(WARMUP_SECONDS * 1000);
  const a = await snapshot(where);
  await sleep((a.at + WINDOW_SECONDS - nowSeconds()) * 1000);
  const b = await snapshot(where);
  const generator = await tg.done;
  if (generator.sent === null) {
    throw new Error(`trafgen printed no summary (exit ${generator.exitCode}${generator.killed ? ', killed' : ''}): ${generator.output.trim().split('\n').slice(-3).join(' / ')}`);
  }
  await sleep(300); // let the last frames reach the real servers
  const post = await snapshot(where);
  const in1 = await uvsIn(lab);
  return summarise(a, b, pre, post, generator.sent, in0 !== null && in1 !== null ? in1 - in0 : null);
}

function summarise(a: Snapshot, b: Snapshot, pre: Snapshot, post: Snapshot, trafgenSent: number, uvsInDelta: number | null): LiveRun {
  const dt = b.at - a.at;
  const forwarded = b.rsPackets - a.rsPackets;
  const perPacketUs = (ticks: number): number | null => (forwarded > 0 ? ((ticks / CLOCK_TICKS_PER_SECOND) * 1e6) / forwarded : null);
  const directorTicks = a.directorTicks !== null && b.directorTicks !== null ? b.directorTicks - a.directorTicks : null;
  return {
    rsPps: forwarded / dt,
    generatorPps: (b.clientTx - a.clientTx) / dt,
    directorRxPps: (b.directorRx - a.directorRx) / dt,
    windowSeconds: dt,
    totals: {
      trafgenSent,
      clientTx: post.clientTx - pre.clientTx,
      directorRx: post.directorRx - pre.directorRx,
      uvsIn: uvsInDelta,
      rs: post.rsPackets - pre.rsPackets,
    },
    directorCpuPercent: directorTicks === null ? null : (directorTicks / CLOCK_TICKS_PER_SECOND / dt) * 100,
    directorUsPerPacket: directorTicks === null ? null : perPacketUs(directorTicks),
    systemBusyUsPerPacket: perPacketUs(b.cpu.busy - a.cpu.busy),
    softirqUsPerPacket: perPacketUs(b.cpu.softirq - a.cpu.softirq),
    coreBusyPercent: b.cpu.perCore.map((t, i) => ((t - (a.cpu.perCore[i] ?? 0)) / CLOCK_TICKS_PER_SECOND / dt) * 100),
  };
}

const k = (pps: number): string => `${(pps / 1000).toFixed(0)}k`;
const pct = (part: number, whole: number): string => (whole > 0 ? `${((part / whole) * 100).toFixed(1)}%` : '-');
const us = (v: number | null, digits = 2): string => (v === null || !Number.isFinite(v) ? '-' : v.toFixed(digits));

function describeConditions(runs: number, trafgen: string): Record<string, unknown> {
  return {
    date: new Date().toISOString(),
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    loadAverage1m: Number(os.loadavg()[0].toFixed(2)),
    generator: `${trafgen}, --cpus 1, pinned to CPU ${GENERATOR_CPU} (taskset -c ${GENERATOR_CPU}); the director is not pinned`,
    frame: `${FRAME_BYTES}-byte UDP frames (as written, no FCS), random source port, to ${VIP}:${UDP_PORT}`,
    window: `${WARMUP_SECONDS} s warm-up, then ${WINDOW_SECONDS} s counted`,
    realServers: LIVE_RS_COUNT,
    counting: 'at the real servers: nftables netdev ingress rule that counts and drops (their stacks never answer)',
    runsPerPath: runs,
    uvsScheduler: UVS_SCHEDULER,
  };
}

/** Runs the live bench and prints its tables; returns what the JSON report keeps. */
export async function runLiveBench(runs: number): Promise<LiveReport> {
  console.log('\nLive forwarding (namespace lab, issue 6)');
  const skip = missingPrerequisite();
  if (skip !== null) {
    console.log(`  skipped: ${skip}`);
    return { skipped: skip, conditions: {}, rows: [], ratios: [], leftoverNamespaces: [] };
  }
  const trafgen = trafgenVersion() ?? 'trafgen';
  const conditions = describeConditions(runs, trafgen);
  console.log(`  ${VARIANTS.length} labs side by side (${VARIANTS.map((v) => `${v.label}: ${v.how}`).join('; ')}); ${runs} round(s)`);

  const rows: LiveRow[] = VARIANTS.map((v) => ({ key: v.key, label: v.label, how: v.how, runs: [], failure: null, latency: null, baseline: null, directorLinks: null }));
  const alone: LiveRow = {
    key: 'gen-alone',
    label: 'generator alone',
    how: 'router drops the flood at c0 ingress: trafgen plus one veth hop',
    runs: [],
    failure: null,
    latency: null,
    baseline: null,
    directorLinks: null,
  };
  const names = VARIANTS.map(benchLabName);
  tearDownLabs(names); // a crashed earlier run with this pid's names
  const labs = new Map<VariantKey, BenchLab>();
  // Ctrl-C or a kill in the middle of a flood must not leave labs behind.
  const interrupted = (signal: NodeJS.Signals): void => {
    console.log(`\n  ${signal}: bringing the live labs down`);
    tearDownLabs(names);
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    for (const [i, v] of VARIANTS.entries()) {
      try {
        labs.set(v.key, bringUpLab(v, LIVE_RS_COUNT));
      } catch (e) {
        rows[i].failure = `lab up: ${firstLine(e)}`;
      }
    }

    // Latency first, while the real servers still answer; it also teaches every hop its neighbours.
    const plain = labs.get('kernel-fwd');
    for (const row of rows) {
      const lab = labs.get(row.key as VariantKey);
      if (lab === undefined) continue;
      try {
        const check = await runLatencyProbe(lab.status.clientNamespace, VIP, UDP_PORT, { count: 20, warmup: 5, timeoutMs: 300 });
        if (check.lost === check.exchanges) throw new Error(`no answer from ${VIP}:${UDP_PORT} through this path`);
        const direct = plain === undefined ? null : { ns: plain.status.clientNamespace, host: plain.status.realServers[0].address, port: UDP_PORT };
        const paired = await pairedLatency({ ns: lab.status.clientNamespace, host: VIP, port: UDP_PORT }, direct, LATENCY_EXCHANGES, LATENCY_CHUNKS, LATENCY_TIMEOUT_MS);
        row.latency = paired.path;
        row.baseline = paired.direct;
      } catch (e) {
        row.failure = `latency: ${firstLine(e)}`;
        labs.delete(row.key as VariantKey);
      }
    }
    for (const row of rows) {
      const lab = labs.get(row.key as VariantKey);
      if (lab === undefined) continue;
      try {
        await installRsDrop(lab);
      } catch (e) {
        row.failure = `real servers' ingress counter: ${firstLine(e)}`;
        labs.delete(row.key as VariantKey);
      }
    }
    const sinkLab = plain ?? [...labs.values()][0];
    for (let round = 0; round < runs; round++) {
      for (const row of rows) {
        const lab = labs.get(row.key as VariantKey);
        if (lab === undefined || row.failure !== null) continue;
        try {
          const r = await measure(lab);
          row.runs.push(r);
          console.log(`  round ${round + 1}: ${row.label.padEnd(17)} ${k(r.rsPps).padStart(6)} pps at the real servers, generator ${k(r.generatorPps)}`);
        } catch (e) {
          row.failure = `flood: ${firstLine(e)}`;
          console.log(`  round ${round + 1}: ${row.label}: FAILED ${row.failure}`);
        }
      }
      if (sinkLab !== undefined && alone.failure === null) {
        try {
          await setGeneratorSink(sinkLab, true);
          const r = await measure(sinkLab);
          alone.runs.push(r);
          console.log(`  round ${round + 1}: ${alone.label.padEnd(17)} generator ${k(r.generatorPps)} pps`);
        } catch (e) {
          alone.failure = firstLine(e);
        } finally {
          await setGeneratorSink(sinkLab, false).catch(() => undefined);
        }
      }
    }
    // The uvs directors log their ring counters when they stop: the kernel's own count of the drops.
    for (const row of rows) {
      const lab = labs.get(row.key as VariantKey);
      if (lab !== undefined && lab.variant.uvs) row.directorLinks = await stopDirectorForStats(lab);
    }
  } finally {
    process.removeListener('SIGINT', interrupted);
    process.removeListener('SIGTERM', interrupted);
    const problems = tearDownLabs(names);
    for (const p of problems) console.log(`  WARNING: lab down ${p}`);
  }
  const leftovers = leftoverNamespaces(names);
  if (leftovers.length > 0) console.log(`  WARNING: namespaces left behind: ${leftovers.join(', ')}`);

  return report(conditions, [...rows, alone], leftovers);
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

function leftoverNamespaces(names: readonly string[]): string[] {
  try {
    return listNamespaces().filter((ns) => names.some((n) => ns.startsWith(`uvslab-${n}-`)));
  } catch {
    return [];
  }
}

function report(conditions: Record<string, unknown>, rows: LiveRow[], leftovers: string[]): LiveReport {
  const medianPps = (key: RowKey): number | null => {
    const row = rows.find((r) => r.key === key);
    return row && row.runs.length > 0 ? median(row.runs.map((r) => r.rsPps)) : null;
  };
  const nft = medianPps('nft-dnat');
  const kernel = medianPps('kernel-fwd');
  const ratio = (x: number | null, y: number | null): string => (x === null || y === null || y === 0 ? '-' : `${(x / y).toFixed(2)}x`);

  console.log('');
  console.log(`conditions: ${Object.entries(conditions).map(([key, v]) => `${key}: ${String(v)}`).join('; ')}`);
  console.log(`Live forwarding: pps counted at ${LIVE_RS_COUNT} real servers (ingress count+drop); ${FRAME_BYTES} B UDP, random source ports, trafgen pinned to CPU ${GENERATOR_CPU}; median of ${Math.max(0, ...rows.map((r) => r.runs.length))} run(s) of ${WINDOW_SECONDS} s`);
  const table = rows.map((row) => {
    const m = medianRun(row);
    if (m === null) return [row.label, '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', row.failure ?? 'no run'];
    const isAlone = row.key === 'gen-alone';
    const pps = row.runs.map((r) => r.rsPps);
    const med = isAlone ? null : median(pps);
    const t = m.totals;
    return [
      row.label,
      med === null ? '-' : k(med),
      isAlone || pps.length < 2 ? '-' : `${k(Math.min(...pps))}-${k(Math.max(...pps))}`,
      k(m.generatorPps),
      isAlone ? '-' : pct(t.directorRx, t.clientTx),
      isAlone ? '-' : pct(t.directorRx - t.rs, t.directorRx),
      m.directorCpuPercent === null ? '-' : `${m.directorCpuPercent.toFixed(0)}%`,
      us(m.directorUsPerPacket),
      isAlone ? '-' : us(m.systemBusyUsPerPacket),
      m.coreBusyPercent.map((c) => c.toFixed(0)).join('/') + '%',
      med === null ? '-' : ratio(med, nft),
      med === null ? '-' : ratio(med, kernel),
    ];
  });
  console.log(
    renderTable(
      ['path', 'pps at RS', 'min-max', 'generator pps', 'reached director', 'lost in director', 'director CPU', 'director us/pkt', 'all-core busy us/pkt', 'core busy cpu0/cpu1', 'vs nft DNAT', 'vs kernel fwd'],
      table,
      new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]),
    ),
  );
  console.log('generator pps: client eth0 transmit counter over the window. reached director: director eth0 receive / client transmit, whole run.');
  console.log('lost in director: (director eth0 receive - counted at the real servers) / director eth0 receive, whole run (for uvs: its ring drops).');
  console.log('director CPU / us/pkt: the uvs director process\'s utime+stime from /proc/PID/stat over the window (its sendmmsg path includes the');
  console.log('  veth transmit and the real servers\' ingress drop, run in its syscalls); none for the kernel paths, whose forwarding runs in');
  console.log('  softirq on the generator\'s core and cannot be told apart. all-core busy us/pkt: every core\'s non-idle time from /proc/stat');
  console.log('  (generator, kernel forwarding, uvs and anything else on the machine) / packets counted at the real servers.');
  for (const row of rows) {
    const m = medianRun(row);
    const t = m?.totals;
    if (t === undefined || t.uvsIn === null) continue;
    const read = t.uvsIn;
    const perRun = row.runs.map((r) => `${k(r.rsPps)} at ${r.directorCpuPercent === null ? '?' : r.directorCpuPercent.toFixed(0)}%`).join(', ');
    console.log(`${row.label}: every run, pps at the real servers at director CPU: ${perRun}`);
    console.log(
      `${row.label} (median run): trafgen sent ${t.trafgenSent}, director eth0 received ${t.directorRx}, uvs read ${read} (ring drops ${t.directorRx - read}, ` +
        `${pct(t.directorRx - read, t.directorRx)}), real servers counted ${t.rs} (lost after uvs ${read - t.rs})`,
    );
    if (row.directorLinks !== null) {
      const estimate = row.runs.reduce((sum, r) => sum + (r.totals.uvsIn === null ? 0 : r.totals.directorRx - r.totals.uvsIn), 0);
      const links = row.directorLinks
        .map((l) => `${l.name} read ${l.rxFrames}, ring drops ${l.rxDropped}${l.rxFreezes === null ? '' : `, queue freezes ${l.rxFreezes}`}, sent ${l.txFrames}, send drops ${l.txDropped}`)
        .join('; ');
      console.log(`${row.label}, the director's own counters at stop (whole lab life): ${links} (sum of the per-run estimates above: ${estimate})`);
    }
  }

  console.log('');
  console.log(`Added latency: UDP request/response to ${VIP}:${UDP_PORT} (the real server answers with its name), ${LATENCY_EXCHANGES} sequential exchanges from the client, Node dgram + process.hrtime; no flood running`);
  const latencyRows = rows
    .filter((row) => row.key !== 'gen-alone')
    .map((row) => {
      const r = row.latency;
      const b = row.baseline;
      if (r === null) return [row.label, '-', '-', '-', '-', '-', '-', '-', row.failure ?? 'not measured'];
      return [
        row.label,
        us(r.p50Us, 0),
        us(r.p90Us, 0),
        us(r.p99Us, 0),
        b === null ? '-' : `${us(b.p50Us, 0)} / ${us(b.p99Us, 0)}`,
        b === null ? '-' : us(r.p50Us - b.p50Us, 0),
        b === null ? '-' : us(r.p99Us - b.p99Us, 0),
        `${r.lost}/${r.exchanges}`,
        Object.entries(r.answeredBy).map(([n, c]) => `${n} ${c}`).join(', '),
      ];
    });
  console.log(renderTable(['path', 'p50 us', 'p90 us', 'p99 us', 'direct p50 / p99', 'added p50', 'added p99', 'lost', 'answered by'], latencyRows, new Set([1, 2, 3, 4, 5, 6])));
  console.log(`direct: the same exchanges straight to rs1 (client -> router -> rs1, no director), in ${LATENCY_CHUNKS} chunks alternating with the path's; added = path - direct.`);
  console.log('Each chunk is one socket (one flow, so one real server); differences of a few tens of us are noise on a shared VM.');

  const ratios = [
    { label: `uvs NAT / nftables DNAT (target >= ${TARGET_FACTOR}x)`, x: medianPps('uvs-nat'), y: nft, target: TARGET_FACTOR },
    { label: `uvs DR / nftables DNAT (target >= ${TARGET_FACTOR}x)`, x: medianPps('uvs-dr'), y: nft, target: TARGET_FACTOR },
    { label: 'uvs NAT / kernel forwarding', x: medianPps('uvs-nat'), y: kernel, target: null },
    { label: 'uvs DR / kernel forwarding', x: medianPps('uvs-dr'), y: kernel, target: null },
  ].map((r) => {
    const value = r.x === null || r.y === null || r.y === 0 ? null : r.x / r.y;
    const status = value === null ? 'n/a' : r.target === null ? '' : value >= r.target ? 'PASS' : 'MISS';
    return { label: r.label, ratio: value, target: r.target, status };
  });
  console.log('');
  console.log(renderTable(['ratio (issue 6)', 'measured', 'result'], ratios.map((r) => [r.label, r.ratio === null ? '-' : `${r.ratio.toFixed(2)}x`, r.status]), new Set([1])));

  return {
    skipped: null,
    conditions,
    rows: rows.map((row) => ({
      key: row.key,
      label: row.label,
      how: row.how,
      failure: row.failure,
      medianRsPps: row.runs.length > 0 ? median(row.runs.map((r) => r.rsPps)) : null,
      median: medianRun(row),
      runs: row.runs,
      latency: row.latency,
      baselineLatency: row.baseline,
      directorLinks: row.directorLinks,
    })),
    ratios,
    leftoverNamespaces: leftovers,
  };
}
