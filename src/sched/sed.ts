/**
 * sed - shortest expected delay (kernel ip_vs_sed.c). wlc's walk with another load: a dest's
 * expected delay is (active + 1) / weight - the connection being scheduled included, inactive
 * connections ignored. The first dest with weight > 0 and no OVERLOAD seeds the choice; a later
 * non-OVERLOAD dest replaces it only when strictly less loaded per weight (64-bit products), so
 * ties keep the earlier (newer) dest and a later weight-0 dest never wins.
 *
 * State: a tournament tree over the list (dest-tournament.ts, rule Sed) that gives the same choice
 * without walking the list, from TREE_FROM dests on. The walk itself serves shorter lists and the
 * exotic states where the comparison is not a total order (a weight-0 dest whose active + 1
 * wrapped negative, a negative weight).
 */
import type { DestTable } from '../ipvs/dest-table';
import { TournamentRule, TREE_FROM } from './dest-tournament';
import { LeastLoadPerWeight } from './least-per-weight';
import type { SchedulerFactory } from './scheduler';

/** The sed/nq load of a dest: active + 1 as the kernel's int (wraps only at active = 2^31 - 1). */
export function expectedDelayLoad(dests: DestTable, id: number): number {
  return (dests.activeConns[id] + 1) | 0;
}

export const sedScheduler: SchedulerFactory = (svc) => new LeastLoadPerWeight('sed', svc, TournamentRule.Sed, expectedDelayLoad, TREE_FROM);

/** sed that uses its tree from `treeFrom` dests on (tests: 0 = always, Infinity = never). */
export const sedSchedulerTreeFrom = (treeFrom: number): SchedulerFactory => (svc) =>
  new LeastLoadPerWeight('sed', svc, TournamentRule.Sed, expectedDelayLoad, treeFrom);
