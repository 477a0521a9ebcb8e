/**
 * ovf - weighted overflow (kernel ip_vs_ovf.c). Like fo, the highest weight wins (ties to the
 * first in list order), but a dest is a candidate only while its active connections do not
 * exceed its weight: the weight doubles as a connection budget, and once the heaviest dest holds
 * more than `weight` active connections new ones overflow to the next one. OVERLOAD and weight-0
 * dests are skipped; inactive connections are ignored.
 *
 * State: a tournament tree over the list (dest-tournament.ts, rule Ovf) that gives the walk's
 * choice without walking, from TREE_FROM dests on; weights are a total order, so it is exact in
 * every state. Shorter lists are walked (cheaper there).
 */
import { DEST_OVERLOAD } from '../ipvs/dest-table';
import { TournamentRule, TREE_FROM } from './dest-tournament';
import { TreeScheduler } from './tree-scheduler';
import type { SchedService, SchedulerFactory } from './scheduler';

class Overflow extends TreeScheduler {
  readonly name = 'ovf';

  constructor(svc: SchedService, treeFrom: number) {
    super(svc, TournamentRule.Ovf, treeFrom);
  }

  /** The kernel's walk, as is (short lists). */
  protected walk(): number {
    const list = this.svc.list;
    const { weight, flags, activeConns } = this.svc.dests;
    let best = -1;
    let bestWeight = 0;
    for (let i = 0; i < list.length; i++) {
      const id = list[i];
      const w = weight[id];
      if ((flags[id] & DEST_OVERLOAD) !== 0 || activeConns[id] > w || w === 0) continue;
      if (best < 0 || w > bestWeight) {
        best = id;
        bestWeight = w;
      }
    }
    return best;
  }

}

export const ovfScheduler: SchedulerFactory = (svc) => new Overflow(svc, TREE_FROM);

/** ovf that uses its tree from `treeFrom` dests on (tests: 0 = always, Infinity = never). */
export const ovfSchedulerTreeFrom = (treeFrom: number): SchedulerFactory => (svc) => new Overflow(svc, treeFrom);
