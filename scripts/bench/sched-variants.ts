/**
 * The rows of the scheduler bench: every scheduler uvs has (issue 4), plus sh and mh once more with
 * the port flag (-b sh-port / mh-port) so the source port is hashed too, and the targets each row
 * is held to.
 */
import { SCHED_FLAG_2 } from '../../src/control/config';

/** The real-server counts every row is measured at. */
export const SCHED_BENCH_SIZES: readonly number[] = [10, 100, 1000];

/**
 * static: the decision does not depend on connection counts (a cursor or a table lookup);
 * dynamic: the kernel walks the list (or a cache, then the list) reading the counts.
 */
export type SchedKind = 'static' | 'dynamic';

export interface SchedVariant {
  /** Row label, e.g. "sh" or "sh (sh-port)". */
  label: string;
  /** Registry name (createScheduler). */
  scheduler: string;
  /** Service scheduler flags (SCHED_FLAG_*). */
  schedFlags: number;
  kind: SchedKind;
}

const variant = (label: string, scheduler: string, kind: SchedKind, schedFlags = 0): SchedVariant => ({ label, scheduler, schedFlags, kind });

export const SCHED_VARIANTS: readonly SchedVariant[] = [
  variant('rr', 'rr', 'static'),
  variant('wrr', 'wrr', 'static'),
  variant('lc', 'lc', 'dynamic'),
  variant('wlc', 'wlc', 'dynamic'),
  variant('sed', 'sed', 'dynamic'),
  variant('nq', 'nq', 'dynamic'),
  variant('fo', 'fo', 'dynamic'),
  variant('ovf', 'ovf', 'dynamic'),
  variant('twos', 'twos', 'dynamic'),
  variant('sh', 'sh', 'static'),
  variant('sh (sh-port)', 'sh', 'static', SCHED_FLAG_2),
  variant('dh', 'dh', 'static'),
  variant('mh', 'mh', 'static'),
  variant('mh (mh-port)', 'mh', 'static', SCHED_FLAG_2),
  variant('lblc', 'lblc', 'dynamic'),
  variant('lblcr', 'lblcr', 'dynamic'),
];

/** Issue 4's targets, in million decisions per second. */
export const STATIC_TARGET_MDPS = 10;
export const DYNAMIC_TARGET_MDPS = 2;
/** Dynamic schedulers are held to their target at this size only. */
export const DYNAMIC_TARGET_SIZE = 1000;

/** The target a row must reach at `size` real servers, or null when issue 4 sets none there. */
export function targetFor(v: SchedVariant, size: number): number | null {
  if (v.kind === 'static') return STATIC_TARGET_MDPS;
  return size === DYNAMIC_TARGET_SIZE ? DYNAMIC_TARGET_MDPS : null;
}
