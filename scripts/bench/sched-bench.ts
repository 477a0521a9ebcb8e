/**
 * The scheduler bench (issue 4): decisions per second of every uvs scheduler at 10, 100 and 1,000
 * real servers, side by side with the kernel's algorithm written naively (sched-naive*.ts) on the
 * same input, with a check that both make the same decisions. Each row runs in its own worker
 * thread (sched-worker.ts), one after the other. Prints the table, the conditions and the issue 4
 * targets; a disagreement prints MISMATCH and makes the report's `mismatches` non-zero (run.ts
 * then exits non-zero).
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { collectConditions } from './conditions';
import { describeScenario } from './sched-scenario';
import {
  DYNAMIC_TARGET_MDPS,
  DYNAMIC_TARGET_SIZE,
  SCHED_BENCH_SIZES,
  SCHED_VARIANTS,
  STATIC_TARGET_MDPS,
  targetFor,
  type SchedVariant,
} from './sched-variants';
import type { SchedCellResult, SchedWorkerTask } from './sched-worker';
import { renderTable } from './text-table';

const WARMUP_SECONDS = 0.05;
const TIMED_SECONDS = 0.3;
const WORKER_SCRIPT = path.join(__dirname, 'sched-worker.js');

export interface SchedCell extends SchedCellResult {
  uvsMdps: number | null;
  naiveMdps: number | null;
  /** Million decisions per second required, or null when issue 4 sets none for this cell. */
  targetMdps: number | null;
  result: 'PASS' | 'MISS' | 'MISMATCH' | 'FAILED' | '-';
  failure: string | null;
}

export interface SchedBenchReport {
  conditions: ReturnType<typeof collectConditions>;
  state: string;
  warmupSeconds: number;
  timedSeconds: number;
  /** The decision loop alone (dummy rotating scheduler, 1000 real servers), ns per decision. */
  driverNsPerDecision: number | null;
  cells: SchedCell[];
  mismatches: number;
  misses: number;
  seconds: number;
}

/** Runs one worker to completion; its results, or the error that ended it. */
function runWorker(task: SchedWorkerTask): Promise<{ cells: SchedCellResult[]; failure: string | null }> {
  return new Promise((resolve) => {
    const cells: SchedCellResult[] = [];
    let failure: string | null = null;
    const worker = new Worker(WORKER_SCRIPT, { workerData: task });
    worker.on('message', (m: SchedCellResult) => cells.push(m));
    worker.on('error', (err) => {
      failure = err instanceof Error ? err.message : String(err);
    });
    worker.on('exit', (code) => {
      if (failure === null && code !== 0) failure = `worker exited with code ${code}`;
      resolve({ cells, failure });
    });
  });
}

const mdps = (t: { decisions: number; seconds: number } | null): number | null => (t && t.seconds > 0 ? t.decisions / t.seconds / 1e6 : null);

function toCell(v: SchedVariant, size: number, r: SchedCellResult | undefined, failure: string | null): SchedCell {
  const targetMdps = targetFor(v, size);
  if (!r) {
    const empty: SchedCellResult = { label: v.label, size, uvs: null, naive: null, checked: 0, noneShare: 0, mismatch: null, setupSeconds: 0 };
    return { ...empty, uvsMdps: null, naiveMdps: null, targetMdps, result: 'FAILED', failure: failure ?? 'no result' };
  }
  const uvsMdps = mdps(r.uvs);
  let result: SchedCell['result'] = '-';
  if (r.mismatch) result = 'MISMATCH';
  else if (uvsMdps === null) result = 'FAILED';
  else if (targetMdps !== null) result = uvsMdps >= targetMdps ? 'PASS' : 'MISS';
  return { ...r, uvsMdps, naiveMdps: mdps(r.naive), targetMdps, result, failure };
}

const fmt = (n: number | null, digits: number): string => (n === null ? '-' : n.toFixed(digits));

function renderCells(cells: readonly SchedCell[]): string {
  const rows = cells.map((c) => [
    c.label,
    String(c.size),
    fmt(c.uvsMdps, 2),
    c.uvsMdps ? (1000 / c.uvsMdps).toFixed(1) : '-',
    fmt(c.naiveMdps, 2),
    c.uvsMdps && c.naiveMdps ? (c.uvsMdps / c.naiveMdps).toFixed(2) + 'x' : '-',
    c.checked > 0 ? `${(c.noneShare * 100).toFixed(1)}%` : '-',
    c.checked > 0 ? String(c.checked) : '-',
    c.targetMdps === null ? '-' : `>= ${c.targetMdps}`,
    c.result,
  ]);
  return renderTable(
    ['scheduler', 'RS', 'uvs Mdec/s', 'uvs ns/dec', 'naive Mdec/s', 'uvs/naive', 'none', 'decisions checked', 'target Mdec/s', 'result'],
    rows,
    new Set([1, 2, 3, 4, 5, 6, 7]),
  );
}

const NOTES = [
  'naive = the kernel\'s algorithm written plainly from ipvs-schedulers.md (scripts/bench/sched-naive*.ts): dests are',
  'objects in an array in list order, as the kernel keeps struct ip_vs_dest in a list, and each decision does what the',
  'kernel does per packet:',
  '  rr, wrr      the kernel\'s walk from the cursor (already the kernel\'s algorithm in uvs too: same walk, typed arrays)',
  '  lc wlc sed nq fo ovf   one walk over the whole list per decision (overhead x weight products, no division)',
  '  twos         two walks (total weight, then both weighted picks), the same random words as uvs',
  '  sh, dh       the kernel does not walk: one hash_32 and one read of a 256-bucket table; the naive peer builds that',
  '               table from the spec once (it only changes on configuration) and does the same lookup',
  '  mh           likewise one hsiphash and one read of the 4093-slot Maglev table (built from the spec); the naive',
  '               hsiphash is SipHash-1-3 in BigInt, the plain transcription of the 64-bit spec, so its figure is',
  '               dominated by BigInt (uvs computes it on 32-bit halves)',
  '  lblc, lblcr  the address cache as a Map, wlc\'s walk over the whole list on a miss or a locality overload, and',
  '               the locality-overload test\'s walk; no expiry timer (the clock stays below the 6 min before which',
  '               the kernel\'s timer can drop anything)',
  'Every figure includes the decision loop: fill the packet, decide, bind (active+1), age and end old connections.',
  '"none" = share of decisions with no usable dest (checked sample). "decisions checked" = decisions compared one by',
  'one (lockstep) plus the timed decisions both sides ran, compared by checksum per chunk of 8192.',
];

export async function runSchedulerBench(): Promise<SchedBenchReport> {
  const started = process.hrtime.bigint();
  const conditions = collectConditions(null, 1);
  console.log('\nScheduler decisions: uvs against the kernel\'s algorithm run naively, same input, same decisions');
  const state = describeScenario();

  const driver = await runWorker({
    variant: { label: 'driver', scheduler: 'rr', schedFlags: 0, kind: 'static' },
    sizes: [1000],
    warmupSeconds: WARMUP_SECONDS,
    timedSeconds: TIMED_SECONDS,
    driverOnly: true,
  });
  const driverMdps = mdps(driver.cells[0]?.uvs ?? null);
  const driverNsPerDecision = driverMdps ? 1000 / driverMdps : null;

  const cells: SchedCell[] = [];
  for (const v of SCHED_VARIANTS) {
    const { cells: got, failure } = await runWorker({
      variant: v,
      sizes: [...SCHED_BENCH_SIZES],
      warmupSeconds: WARMUP_SECONDS,
      timedSeconds: TIMED_SECONDS,
      driverOnly: false,
    });
    const row = SCHED_BENCH_SIZES.map((size) => toCell(v, size, got.find((c) => c.size === size), failure));
    cells.push(...row);
    const summary = row.map((c) => `${c.size} RS ${fmt(c.uvsMdps, 2)} / ${fmt(c.naiveMdps, 2)}${c.result === 'MISMATCH' || c.result === 'FAILED' ? ' ' + c.result : ''}`);
    console.log(`  ${v.label}: uvs / naive Mdec/s: ${summary.join(', ')}${failure ? ` (worker failed: ${failure})` : ''}`);
  }

  console.log('');
  console.log(renderCells(cells));
  console.log(
    `conditions: ${conditions.date}, node ${conditions.node}, ${conditions.cpu}, ${conditions.cores} cores, ${conditions.kernel}, ` +
      `load ${conditions.loadAverage1m.toFixed(2)} at start; one worker thread per row, rows one after the other; per cell and ` +
      `side ${WARMUP_SECONDS} s warm-up then >= ${TIMED_SECONDS} s timed (after a lockstep check that also warms up)`,
  );
  console.log(`state: ${state}`);
  if (driverNsPerDecision !== null) {
    console.log(`the decision loop alone (a dummy scheduler rotating over 1000 RS) costs ${driverNsPerDecision.toFixed(1)} ns per decision, included in every uvs figure`);
  }
  console.log(NOTES.join('\n'));

  const mismatched = cells.filter((c) => c.result === 'MISMATCH' || c.result === 'FAILED');
  for (const c of mismatched) console.log(`${c.result} ${c.label} at ${c.size} RS: ${c.mismatch ?? c.failure ?? ''}`);

  const judged = cells.filter((c) => c.targetMdps !== null);
  const missed = judged.filter((c) => c.result !== 'PASS');
  console.log('');
  console.log(
    renderTable(
      ['target (issue 4)', 'cells', 'pass', 'result'],
      [
        [`rr wrr sh dh mh >= ${STATIC_TARGET_MDPS} M decisions/s at every size`, 'static'],
        [`lc wlc sed nq fo ovf twos lblc lblcr >= ${DYNAMIC_TARGET_MDPS} M decisions/s at ${DYNAMIC_TARGET_SIZE} RS`, 'dynamic'],
      ].map(([label, kind]) => {
        const mine = judged.filter((c) => SCHED_VARIANTS.find((v) => v.label === c.label)?.kind === kind);
        const pass = mine.filter((c) => c.result === 'PASS').length;
        return [label, String(mine.length), String(pass), pass === mine.length ? 'PASS' : 'MISS'];
      }),
      new Set([1, 2]),
    ),
  );
  for (const c of missed) {
    console.log(`${c.result}: ${c.label} at ${c.size} RS: ${fmt(c.uvsMdps, 2)} M/s (${c.uvsMdps ? (1000 / c.uvsMdps).toFixed(0) : '-'} ns per decision), target ${c.targetMdps} M/s`);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`scheduler bench took ${seconds.toFixed(1)} s`);
  return {
    conditions,
    state,
    warmupSeconds: WARMUP_SECONDS,
    timedSeconds: TIMED_SECONDS,
    driverNsPerDecision,
    cells,
    mismatches: mismatched.length,
    misses: missed.length,
    seconds,
  };
}
