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
import { DEST_OVERLOAD, type DestTable } from '../ipvs/dest-table';
import { DestTournament, NEEDS_WALK, TournamentRule, TREE_FROM } from './dest-tournament';
import { moreLoadedPerWeight } from './overhead';
import type { DestChange, SchedService, Scheduler, SchedulerFactory } from './scheduler';

/** The sed/nq load of a dest: active + 1 as the kernel's int (wraps only at active = 2^31 - 1). */
export function expectedDelayLoad(dests: DestTable, id: number): number {
  return (dests.activeConns[id] + 1) | 0;
}

class ShortestExpectedDelay implements Scheduler {
  readonly name = 'sed';
  private readonly tree: DestTournament;

  constructor(private readonly svc: SchedService, treeFrom: number) {
    this.tree = new DestTournament(svc, TournamentRule.Sed, treeFrom);
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
    let leastLoad = expectedDelayLoad(dests, least);
    for (i++; i < n; i++) {
      const id = list[i];
      if ((flags[id] & DEST_OVERLOAD) !== 0) continue;
      const load = expectedDelayLoad(dests, id);
      if (moreLoadedPerWeight(leastLoad, weight[least], load, weight[id])) {
        least = id;
        leastLoad = load;
      }
    }
    return least;
  }

  update(change: DestChange, destId: number): void {
    if (change === 'edit') this.tree.destChanged(destId);
    else this.tree.listChanged();
  }
}

export const sedScheduler: SchedulerFactory = (svc) => new ShortestExpectedDelay(svc, TREE_FROM);

/** sed that uses its tree from `treeFrom` dests on (tests: 0 = always, Infinity = never). */
export const sedSchedulerTreeFrom = (treeFrom: number): SchedulerFactory => (svc) => new ShortestExpectedDelay(svc, treeFrom);
