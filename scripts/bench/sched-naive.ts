/**
 * The naive peers of the scheduler bench: each kernel scheduler written again, plainly, from
 * /work/shared/ipvs-schedulers.md, the way a straightforward port of ip_vs_*.c would look - the
 * service's list is an array of dest objects (the kernel's list of struct ip_vs_dest) and every
 * decision walks it. They share no code with src/sched; the bench checks that uvs makes the same
 * decisions as these on the same input, and times both.
 */
import type { NaiveScheduler, NaiveService } from './sched-naive-dest';
import { createNaiveHashing } from './sched-naive-hash';
import { createNaiveLocality } from './sched-naive-locality';
import { createNaiveWalk } from './sched-naive-walk';

export function createNaive(scheduler: string, svc: NaiveService): NaiveScheduler {
  const s = createNaiveWalk(scheduler, svc) ?? createNaiveHashing(scheduler, svc) ?? createNaiveLocality(scheduler, svc);
  if (s === null) throw new Error(`scheduler bench: no naive peer for '${scheduler}'`);
  return s;
}
