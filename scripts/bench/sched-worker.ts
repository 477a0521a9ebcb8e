/**
 * One scheduler-bench row, run in its own worker thread so that V8 compiles the decision loops for
 * this scheduler alone (in one shared isolate the loop's schedule() call would see every scheduler
 * class and be measured megamorphic, in an order-dependent way). For each real-server count:
 *   1. build both sides from the scenario;
 *   2. lockstep check: both sides decide one decision at a time and their checksums are compared
 *      after each, so a mismatch is caught at its exact decision (the same code paths also warm up);
 *   3. uvs alone: a short untimed warm-up, then chunks of decisions until ~0.3 s have passed;
 *   4. the naive peer alone, the same way, continuing from the same state;
 *   5. the per-chunk checksums of 3 and 4 are compared over the chunks both ran.
 * Posts a SchedCellResult per size, then exits.
 */
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import type { SchedService, Scheduler } from '../../src/sched/scheduler';
import { checkNaiveHsiphash } from './sched-naive-hash';
import { buildScenario, MAX_DECISIONS, type SchedScenario } from './sched-scenario';
import { CHECKSUM_START, NaiveSide, runNaive, runUvs, UvsSide, type BenchSide } from './sched-sides';
import type { SchedVariant } from './sched-variants';

export interface SchedWorkerTask {
  variant: SchedVariant;
  sizes: number[];
  warmupSeconds: number;
  timedSeconds: number;
  /** Time the uvs driver loop around a trivial scheduler instead (calibration, no naive peer). */
  driverOnly: boolean;
}

export interface SideTiming {
  decisions: number;
  seconds: number;
}

export interface SchedCellResult {
  label: string;
  size: number;
  uvs: SideTiming | null;
  naive: SideTiming | null;
  /** Decisions compared between uvs and the naive peer (lockstep plus common timed chunks). */
  checked: number;
  /** Share of the lockstep decisions that found no usable dest. */
  noneShare: number;
  /** Where the two disagreed first, or null. */
  mismatch: string | null;
  setupSeconds: number;
}

const CHUNK = 8192;

/** A scheduler that only rotates over the list: what the loop around schedule() costs by itself. */
class RotateOnly implements Scheduler {
  readonly name = 'driver';
  private k = 0;
  constructor(private readonly svc: SchedService) {}
  schedule(): number {
    const list = this.svc.list;
    this.k = this.k + 1 === list.length ? 0 : this.k + 1;
    return list[this.k];
  }
  update(): void {}
}

interface Timed extends SideTiming {
  /** Checksum after each chunk, warm-up chunks included. */
  sums: number[];
}

function timeSide(run: (first: number, count: number, h: number) => number, start: number, h: number, task: SchedWorkerTask): Timed {
  const sums: number[] = [];
  let i = start;
  const room = (): boolean => i + CHUNK <= MAX_DECISIONS;
  const t0 = performance.now();
  while (performance.now() - t0 < task.warmupSeconds * 1000 && room()) {
    h = run(i, CHUNK, h);
    i += CHUNK;
    sums.push(h);
  }
  const timedFrom = i;
  const t1 = performance.now();
  let elapsed = 0;
  while (elapsed < task.timedSeconds * 1000 && room()) {
    h = run(i, CHUNK, h);
    i += CHUNK;
    sums.push(h);
    elapsed = performance.now() - t1;
  }
  return { decisions: i - timedFrom, seconds: elapsed / 1000, sums };
}

function lockstepLength(sc: SchedScenario): number {
  // Long enough for connections to turn inactive and end twice over.
  return Math.max(50_000, 2 * sc.lifetime + 10_000);
}

function describeMismatch(at: number, u: BenchSide, n: BenchSide): string {
  const slot = at & (u.ring.length - 1);
  return `decision ${at}: uvs chose ${u.ring[slot]}, naive chose ${n.ring[slot]}`;
}

function runCell(task: SchedWorkerTask, size: number): SchedCellResult {
  const t0 = performance.now();
  const sc = buildScenario(size);
  const label = task.variant.label;
  if (task.driverOnly) {
    const u = new UvsSide(task.variant, sc, (svc) => new RotateOnly(svc));
    const setupSeconds = (performance.now() - t0) / 1000;
    runUvs(u, sc, 0, lockstepLength(sc), CHECKSUM_START);
    const t = timeSide((f, c, h) => runUvs(u, sc, f, c, h), lockstepLength(sc), CHECKSUM_START, task);
    return { label, size, uvs: t, naive: null, checked: 0, noneShare: 0, mismatch: null, setupSeconds };
  }
  const u = new UvsSide(task.variant, sc);
  const n = new NaiveSide(task.variant, sc);
  const setupSeconds = (performance.now() - t0) / 1000;

  const steps = lockstepLength(sc);
  let hu = CHECKSUM_START;
  let hn = CHECKSUM_START;
  let nones = 0;
  for (let i = 0; i < steps; i++) {
    hu = runUvs(u, sc, i, 1, hu);
    hn = runNaive(n, sc, i, 1, hn);
    if (hu !== hn) {
      return { label, size, uvs: null, naive: null, checked: i, noneShare: nones / Math.max(1, i), mismatch: describeMismatch(i, u, n), setupSeconds };
    }
    if (u.ring[i & (u.ring.length - 1)] < 0) nones++;
  }

  const tu = timeSide((f, c, h) => runUvs(u, sc, f, c, h), steps, hu, task);
  const tn = timeSide((f, c, h) => runNaive(n, sc, f, c, h), steps, hn, task);
  const common = Math.min(tu.sums.length, tn.sums.length);
  let mismatch: string | null = null;
  let agreed = common;
  for (let k = 0; k < common; k++) {
    if (tu.sums[k] !== tn.sums[k]) {
      const from = steps + k * CHUNK;
      mismatch = `decisions ${from}..${from + CHUNK - 1} differ (timed runs; the lockstep check of the first ${steps} agreed)`;
      agreed = k;
      break;
    }
  }
  return {
    label,
    size,
    uvs: { decisions: tu.decisions, seconds: tu.seconds },
    naive: { decisions: tn.decisions, seconds: tn.seconds },
    checked: steps + agreed * CHUNK,
    noneShare: nones / steps,
    mismatch,
    setupSeconds,
  };
}

function main(): void {
  const task = workerData as SchedWorkerTask;
  if (!parentPort) throw new Error('sched-worker.js runs as a worker thread of the scheduler bench');
  if (task.variant.scheduler === 'mh') checkNaiveHsiphash();
  for (const size of task.sizes) parentPort.postMessage(runCell(task, size));
}

main();
