/**
 * sed - shortest expected delay (kernel ip_vs_sed.c). wlc's walk with another load: a dest's
 * expected delay is (active + 1) / weight - the connection being scheduled included, inactive
 * connections ignored. The first dest with weight > 0 and no OVERLOAD seeds the choice; a later
 * non-OVERLOAD dest replaces it only when strictly less loaded per weight (64-bit products), so
 * ties keep the earlier (newer) dest and a later weight-0 dest never wins. No state.
 */
import { DEST_OVERLOAD, type DestTable } from '../ipvs/dest-table';
import { moreLoadedPerWeight } from './overhead';
import type { SchedService, Scheduler, SchedulerFactory } from './scheduler';

/** The sed/nq load of a dest: active + 1 as the kernel's int (wraps only at active = 2^31 - 1). */
export function expectedDelayLoad(dests: DestTable, id: number): number {
  return (dests.activeConns[id] + 1) | 0;
}

class ShortestExpectedDelay implements Scheduler {
  readonly name = 'sed';

  constructor(private readonly svc: SchedService) {}

  schedule(): number {
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

  update(): void {
    // sed keeps no state: configuration changes need no hook.
  }
}

export const sedScheduler: SchedulerFactory = (svc) => new ShortestExpectedDelay(svc);
