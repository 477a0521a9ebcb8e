/**
 * fo - weighted fail over (kernel ip_vs_fo.c). The dest without OVERLOAD with the highest weight
 * (> 0) gets every new connection; a strictly higher weight is needed to displace the current
 * choice, so ties go to the first dest in list order (the newest). Connection counts are ignored.
 * No state.
 */
import { DEST_OVERLOAD } from '../ipvs/dest-table';
import type { SchedService, Scheduler, SchedulerFactory } from './scheduler';

class WeightedFailOver implements Scheduler {
  readonly name = 'fo';

  constructor(private readonly svc: SchedService) {}

  schedule(): number {
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

  update(): void {
    // fo keeps no state: configuration changes need no hook.
  }
}

export const foScheduler: SchedulerFactory = (svc) => new WeightedFailOver(svc);
