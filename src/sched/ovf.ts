/**
 * ovf - weighted overflow (kernel ip_vs_ovf.c). Like fo, the highest weight wins (ties to the
 * first in list order), but a dest is a candidate only while its active connections do not
 * exceed its weight: the weight doubles as a connection budget, and once the heaviest dest holds
 * more than `weight` active connections new ones overflow to the next one. OVERLOAD and weight-0
 * dests are skipped; inactive connections are ignored. No state.
 */
import { DEST_OVERLOAD } from '../ipvs/dest-table';
import type { SchedService, Scheduler, SchedulerFactory } from './scheduler';

class Overflow implements Scheduler {
  readonly name = 'ovf';

  constructor(private readonly svc: SchedService) {}

  schedule(): number {
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

  update(): void {
    // ovf keeps no state: configuration changes need no hook.
  }
}

export const ovfScheduler: SchedulerFactory = (svc) => new Overflow(svc);
