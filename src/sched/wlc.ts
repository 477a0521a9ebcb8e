/**
 * wlc - weighted least connection, the default scheduler (kernel ip_vs_wlc.c). The first usable
 * dest (weight > 0, no OVERLOAD) in list order is the initial choice; every later non-OVERLOAD
 * dest replaces it only when strictly less loaded per weight, so ties keep the earlier (newer)
 * dest. A later weight-0 dest is not skipped, but cannot win: its side of the comparison is 0.
 *
 * State: a tournament tree over the list (dest-tournament.ts, rule Wlc) that gives the same choice
 * without walking the list, from TREE_FROM dests on. The walk itself serves shorter lists and the
 * exotic states where the comparison is not a total order (a weight-0 dest whose overhead wrapped
 * negative, a negative weight).
 */
import { TournamentRule, TREE_FROM } from './dest-tournament';
import { LeastLoadPerWeight } from './least-per-weight';
import { destOverhead } from './overhead';
import type { SchedulerFactory } from './scheduler';

export const wlcScheduler: SchedulerFactory = (svc) => new LeastLoadPerWeight('wlc', svc, TournamentRule.Wlc, destOverhead, TREE_FROM);

/** wlc that uses its tree from `treeFrom` dests on (tests: 0 = always, Infinity = never). */
export const wlcSchedulerTreeFrom = (treeFrom: number): SchedulerFactory => (svc) =>
  new LeastLoadPerWeight('wlc', svc, TournamentRule.Wlc, destOverhead, treeFrom);
