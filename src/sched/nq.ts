/**
 * nq - never queue (kernel ip_vs_nq.c). Walks the list skipping OVERLOAD dests and weight-0
 * dests; the first dest met with no active connection is returned at once (an idle server beats
 * a faster busy one). Until then it keeps sed's running choice: load (active + 1) per weight, the
 * first candidate seeds it, a later one replaces it only when strictly less loaded (64-bit
 * products). No state.
 */
import { DEST_OVERLOAD } from '../ipvs/dest-table';
import { moreLoadedPerWeight } from './overhead';
import type { SchedService, Scheduler, SchedulerFactory } from './scheduler';
import { expectedDelayLoad } from './sed';

class NeverQueue implements Scheduler {
  readonly name = 'nq';

  constructor(private readonly svc: SchedService) {}

  schedule(): number {
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

  update(): void {
    // nq keeps no state: configuration changes need no hook.
  }
}

export const nqScheduler: SchedulerFactory = (svc) => new NeverQueue(svc);
