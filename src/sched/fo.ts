/**
 * fo - weighted fail over (kernel ip_vs_fo.c). The dest without OVERLOAD with the highest weight
 * (> 0) gets every new connection; a strictly higher weight is needed to displace the current
 * choice, so ties go to the first dest in list order (the newest). Connection counts are ignored.
 *
 * State: a tournament tree over the list (dest-tournament.ts, rule Fo) that gives the walk's
 * choice without walking, from TREE_FROM dests on; weights are a total order, so it is exact in
 * every state. Connection count changes only cost a comparison of the unchanged key. Shorter
 * lists are walked (cheaper there).
 */
import { DEST_OVERLOAD } from '../ipvs/dest-table';
import { TournamentRule, TREE_FROM } from './dest-tournament';
import { TreeScheduler } from './tree-scheduler';
import type { SchedService, SchedulerFactory } from './scheduler';

class WeightedFailOver extends TreeScheduler {
  readonly name = 'fo';

  constructor(svc: SchedService, treeFrom: number) {
    super(svc, TournamentRule.Fo, treeFrom);
  }

  /** The kernel's walk, as is (short lists). */
  protected walk(): number {
    const list = this.svc.list;
    const { weight, flags } = this.svc.dests;
    let best = -1;
    let bestWeight = 0; // the kernel starts at 0, so only weights > 0 can be chosen
    for (let i = 0; i < list.length; i++) {
      const id = list[i];
      if ((flags[id] & DEST_OVERLOAD) === 0 && weight[id] > bestWeight) {
        best = id;
        bestWeight = weight[id];
      }
    }
    return best;
  }

}

export const foScheduler: SchedulerFactory = (svc) => new WeightedFailOver(svc, TREE_FROM);

/** fo that uses its tree from `treeFrom` dests on (tests: 0 = always, Infinity = never). */
export const foSchedulerTreeFrom = (treeFrom: number): SchedulerFactory => (svc) => new WeightedFailOver(svc, treeFrom);
