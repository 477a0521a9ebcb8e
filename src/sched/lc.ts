/**
 * lc - least connection (kernel ip_vs_lc.c). Among the dests without OVERLOAD and with a weight
 * other than 0, the one with the smallest overhead (active * 256 + inactive) wins. The kernel
 * holds the overhead in an unsigned int, so the comparison is unsigned: an overhead that wrapped
 * past 2^31 counts as huge, not negative. Strict "<", so ties go to the first dest in list order
 * (the newest). Weights matter only as "0 or not".
 *
 * State: a tournament tree over the list (dest-tournament.ts, rule Lc) that gives the walk's
 * choice without walking, from TREE_FROM dests on; the unsigned overhead is a total order, so it
 * is exact in every state. Shorter lists are walked (cheaper there).
 */
import { DEST_OVERLOAD } from '../ipvs/dest-table';
import { destOverhead } from './overhead';
import { TournamentRule, TREE_FROM } from './dest-tournament';
import { TreeScheduler } from './tree-scheduler';
import type { SchedService, SchedulerFactory } from './scheduler';

class LeastConnection extends TreeScheduler {
  readonly name = 'lc';

  constructor(svc: SchedService, treeFrom: number) {
    super(svc, TournamentRule.Lc, treeFrom);
  }

  /** The kernel's walk, as is (short lists). */
  protected walk(): number {
    const list = this.svc.list;
    const dests = this.svc.dests;
    const { weight, flags } = dests;
    let least = -1;
    let leastOverhead = 0;
    for (let i = 0; i < list.length; i++) {
      const id = list[i];
      if ((flags[id] & DEST_OVERLOAD) !== 0 || weight[id] === 0) continue;
      const overhead = destOverhead(dests, id) >>> 0;
      if (least < 0 || overhead < leastOverhead) {
        least = id;
        leastOverhead = overhead;
      }
    }
    return least;
  }

}

export const lcScheduler: SchedulerFactory = (svc) => new LeastConnection(svc, TREE_FROM);

/** lc that uses its tree from `treeFrom` dests on (tests: 0 = always, Infinity = never). */
export const lcSchedulerTreeFrom = (treeFrom: number): SchedulerFactory => (svc) => new LeastConnection(svc, treeFrom);
