/**
 * Scheduler names (as given to ipvsadm -s) mapped to their factories. A new scheduler is one file
 * exporting a SchedulerFactory plus one line in SCHEDULERS.
 */
import { dhScheduler } from './dh';
import { foScheduler } from './fo';
import { lblcScheduler } from './lblc';
import { lblcrScheduler } from './lblcr';
import { lcScheduler } from './lc';
import { mhScheduler } from './mh';
import { nqScheduler } from './nq';
import { ovfScheduler } from './ovf';
import { rrScheduler } from './rr';
import type { SchedService, Scheduler, SchedulerFactory } from './scheduler';
import { sedScheduler } from './sed';
import { shScheduler } from './sh';
import { twosScheduler } from './twos';
import { wlcScheduler } from './wlc';
import { wrrScheduler } from './wrr';

const SCHEDULERS: ReadonlyMap<string, SchedulerFactory> = new Map<string, SchedulerFactory>([
  ['rr', rrScheduler],
  ['wrr', wrrScheduler],
  ['wlc', wlcScheduler],
  ['lc', lcScheduler],
  ['sed', sedScheduler],
  ['nq', nqScheduler],
  ['fo', foScheduler],
  ['ovf', ovfScheduler],
  ['twos', twosScheduler],
  ['lblc', lblcScheduler],
  ['lblcr', lblcrScheduler],
  ['sh', shScheduler],
  ['dh', dhScheduler],
  ['mh', mhScheduler],
]);

/** The known scheduler names, sorted. */
export function schedulerNames(): string[] {
  return [...SCHEDULERS.keys()].sort();
}

/** Creates the scheduler `name` for `svc`; throws an Error naming the known ones if there is none. */
export function createScheduler(name: string, svc: SchedService): Scheduler {
  const factory = SCHEDULERS.get(name);
  if (factory === undefined) {
    throw new Error(`unknown scheduler '${name}' (known: ${schedulerNames().join(', ')})`);
  }
  return factory(svc);
}
