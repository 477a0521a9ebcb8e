/**
 * lc - least connection (kernel ip_vs_lc.c). Among the dests without OVERLOAD and with a weight
 * other than 0, the one with the smallest overhead (active * 256 + inactive) wins. The kernel
 * holds the overhead in an unsigned int, so the comparison is unsigned: an overhead that wrapped
 * past 2^31 counts as huge, not negative. Strict "<", so ties go to the first dest in list order
 * (the newest). Weights matter only as "0 or not". No state.
 */
import { DEST_OVERLOAD } from '../ipvs/dest-table';
import { destOverhead } from './overhead';
import type { SchedService, Scheduler, SchedulerFactory } from './scheduler';

class LeastConnection implements Scheduler {
  readonly name = 'lc';

  constructor(private readonly svc: SchedService) {}

  schedule(): number {
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

  update(): void {
    // lc keeps no state: configuration changes need no hook.
  }
}

export const lcScheduler: SchedulerFactory = (svc) => new LeastConnection(svc);
