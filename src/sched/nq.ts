/**
 * nq - never queue (kernel ip_vs_nq.c). Walks the list skipping OVERLOAD dests and weight-0
 * dests; the first dest met with no active connection is returned at once (an idle server beats
 * a faster busy one). Until then it keeps sed's running choice: load (active + 1) per weight, the
 * first candidate seeds it, a later one replaces it only when strictly less loaded (64-bit
 * products).
 *
 * State: a tournament tree over the list (dest-tournament.ts, rule Nq: idle candidates rank before
 * busy ones) that gives the same choice without walking the list, from TREE_FROM dests on. The
 * walk itself serves shorter lists and the exotic state of a negative weight, where the comparison
 * is not a total order.
 */
import { DEST_OVERLOAD } from '../ipvs/dest-table';
import { TournamentRule, TREE_FROM } from './dest-tournament';
import { TreeScheduler } from './tree-scheduler';
import { moreLoadedPerWeight } from './overhead';
import type { SchedService, SchedulerFactory } from './scheduler';
import { expectedDelayLoad } from './sed';

class NeverQueue extends TreeScheduler {
  readonly name = 'nq';

  constructor(svc: SchedService, treeFrom: number) {
    super(svc, TournamentRule.Nq, treeFrom);
  }

  /** The kernel's walk, as is. */
  protected walk(): number {
    const list = this.svc.list;
    const dests = this.svc.dests;
    const { weight, flags, activeConns } = dests;
    let least = -1;
    let leastLoad = 0;
    for (let i = 0; i < list.length; i++) {
      const id = list[i];
      if ((flags[id] & DEST_OVERLOAD) !== 0 || weight[id] === 0) continue;
      if (activeConns[id] === 0) return id;
      const load = expectedDelayLoad(dests, id);
      if (least < 0 || moreLoadedPerWeight(leastLoad, weight[least], load, weight[id])) {
        least = id;
        leastLoad = load;
      }
    }
    return least;
  }

}

export const nqScheduler: SchedulerFactory = (svc) => new NeverQueue(svc, TREE_FROM);

/** nq that uses its tree from `treeFrom` dests on (tests: 0 = always, Infinity = never). */
export const nqSchedulerTreeFrom = (treeFrom: number): SchedulerFactory => (svc) => new NeverQueue(svc, treeFrom);
