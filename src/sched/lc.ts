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
import { DestTournament, NEEDS_WALK, TournamentRule, TREE_FROM } from './dest-tournament';
import type { DestChange, SchedService, Scheduler, SchedulerFactory } from './scheduler';

class LeastConnection implements Scheduler {
  readonly name = 'lc';
  private readonly tree: DestTournament;

  constructor(private readonly svc: SchedService, treeFrom: number) {
    this.tree = new DestTournament(svc, TournamentRule.Lc, treeFrom);
  }

  schedule(): number {
    const id = this.tree.winner();
    return id !== NEEDS_WALK ? id : this.walk();
  }

  /** The kernel's walk, as is (short lists). */
  private walk(): number {
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

  update(change: DestChange, destId: number): void {
    if (change === 'edit') this.tree.destChanged(destId);
    else this.tree.listChanged();
  }
}

export const lcScheduler: SchedulerFactory = (svc) => new LeastConnection(svc, TREE_FROM);

/** lc that uses its tree from `treeFrom` dests on (tests: 0 = always, Infinity = never). */
export const lcSchedulerTreeFrom = (treeFrom: number): SchedulerFactory => (svc) => new LeastConnection(svc, treeFrom);
