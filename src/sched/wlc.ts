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
import { DEST_OVERLOAD } from '../ipvs/dest-table';
import { DestTournament, NEEDS_WALK, TournamentRule, TREE_FROM } from './dest-tournament';
import { destOverhead, moreLoadedPerWeight } from './overhead';
import type { DestChange, SchedService, Scheduler, SchedulerFactory } from './scheduler';

class WeightedLeastConnection implements Scheduler {
  readonly name = 'wlc';
  private readonly tree: DestTournament;

  constructor(private readonly svc: SchedService, treeFrom: number) {
    this.tree = new DestTournament(svc, TournamentRule.Wlc, treeFrom);
  }

  schedule(): number {
    const id = this.tree.winner();
    return id !== NEEDS_WALK ? id : this.walk();
  }

  /** The kernel's walk, as is. */
  private walk(): number {
    const list = this.svc.list;
    const dests = this.svc.dests;
    const { weight, flags } = dests;
    const n = list.length;
    let i = 0;
    while (i < n && (weight[list[i]] <= 0 || (flags[list[i]] & DEST_OVERLOAD) !== 0)) i++;
    if (i === n) return -1;
    let least = list[i];
    let leastOverhead = destOverhead(dests, least);
    for (i++; i < n; i++) {
      const id = list[i];
      if ((flags[id] & DEST_OVERLOAD) !== 0) continue;
      const overhead = destOverhead(dests, id);
      if (moreLoadedPerWeight(leastOverhead, weight[least], overhead, weight[id])) {
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

export const wlcScheduler: SchedulerFactory = (svc) => new WeightedLeastConnection(svc, TREE_FROM);

/** wlc that uses its tree from `treeFrom` dests on (tests: 0 = always, Infinity = never). */
export const wlcSchedulerTreeFrom = (treeFrom: number): SchedulerFactory => (svc) => new WeightedLeastConnection(svc, treeFrom);
