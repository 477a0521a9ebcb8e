/**
 * The shape wlc and sed share (kernel ip_vs_wlc.c and ip_vs_sed.c differ only in the load they
 * compare): the first usable dest (weight > 0, no OVERLOAD) in list order seeds the choice, and
 * every later non-OVERLOAD dest replaces it only when strictly less loaded per weight (64-bit cross
 * products, see overhead.ts), so ties keep the earlier (newer) dest. A tournament tree gives the
 * same choice without the walk from TREE_FROM dests on; the walk serves shorter lists and the states
 * where the comparison is not a total order.
 */
import { DEST_OVERLOAD, type DestTable } from '../ipvs/dest-table';
import type { TournamentRule } from './dest-tournament';
import { moreLoadedPerWeight } from './overhead';
import type { SchedService } from './scheduler';
import { TreeScheduler } from './tree-scheduler';

export type LoadOf = (dests: DestTable, id: number) => number;

export class LeastLoadPerWeight extends TreeScheduler {
  constructor(
    readonly name: string,
    svc: SchedService,
    rule: TournamentRule,
    private readonly load: LoadOf,
    treeFrom: number,
  ) {
    super(svc, rule, treeFrom);
  }

  /** The kernel's walk, as is. */
  protected walk(): number {
    const list = this.svc.list;
    const dests = this.svc.dests;
    const { weight, flags } = dests;
    const n = list.length;
    let i = 0;
    while (i < n && (weight[list[i]] <= 0 || (flags[list[i]] & DEST_OVERLOAD) !== 0)) i++;
    if (i === n) return -1;
    let least = list[i];
    let leastLoad = this.load(dests, least);
    for (i++; i < n; i++) {
      const id = list[i];
      if ((flags[id] & DEST_OVERLOAD) !== 0) continue;
      const load = this.load(dests, id);
      if (moreLoadedPerWeight(leastLoad, weight[least], load, weight[id])) {
        least = id;
        leastLoad = load;
      }
    }
    return least;
  }

}
