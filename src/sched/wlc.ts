/**
 * wlc - weighted least connection, the default scheduler (kernel ip_vs_wlc.c). The first usable
 * dest (weight > 0, no OVERLOAD) in list order is the initial choice; every later non-OVERLOAD
 * dest replaces it only when strictly less loaded per weight, so ties keep the earlier (newer)
 * dest. A later weight-0 dest is not skipped, but cannot win: its side of the comparison is 0.
 */
import { DEST_OVERLOAD } from '../ipvs/dest-table';
import { destOverhead, moreLoadedPerWeight } from './overhead';
import type { SchedService, Scheduler, SchedulerFactory } from './scheduler';

class WeightedLeastConnection implements Scheduler {
  readonly name = 'wlc';

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

  update(): void {
    // wlc keeps no state: configuration changes need no hook.
  }
}

export const wlcScheduler: SchedulerFactory = (svc) => new WeightedLeastConnection(svc);
