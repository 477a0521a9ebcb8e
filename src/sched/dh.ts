/**
 * dh - destination hashing (kernel ip_vs_dh.c; ipvs-schedulers.md 12, ipvs-facts.md 2.10).
 *
 * State: a table of 256 buckets, each holding a dest id or EMPTY. The kernel rebuilds it on add
 * and delete only - dh has no edit hook, so a weight change never moves a bucket: bucket i
 * takes the (i mod n)-th dest in list order, one bucket per dest whatever its weight. An empty
 * list leaves every bucket empty.
 *
 * A packet's bucket is hash_32(folded destination address, 8) - no port. Its dest is chosen when
 * it is AVAILABLE (not deleted), has weight > 0 and no OVERLOAD; otherwise none. No fallback.
 *
 * Hand-worked layout: A, B, C added in that order give the list C, B, A and the buckets C, B, A,
 * C, B, A, ... (256 = 85 * 3 + 1, so C has 86 buckets, B and A 85). A packet for 10.0.0.1 falls
 * in bucket hash_32(0x0A000001, 8) = 39 = 13 * 3 -> C.
 */
import { DEST_AVAILABLE, DEST_OVERLOAD } from '../ipvs/dest-table';
import { hash32 } from './hash32';
import type { DestChange, SchedPacket, SchedService, Scheduler, SchedulerFactory } from './scheduler';

/** IP_VS_DH_TAB_BITS: a compile-time constant of the kernel, not a Kconfig option. */
export const DH_TAB_BITS = 8;
const EMPTY = -1;

export class DestinationHashing implements Scheduler {
  readonly name = 'dh';
  /** Bucket -> dest id, or EMPTY (-1). */
  readonly table = new Int32Array(1 << DH_TAB_BITS);

  constructor(private readonly svc: SchedService) {
    this.rebuild();
  }

  schedule(pkt: SchedPacket): number {
    const id = this.table[hash32(pkt.dstKey, DH_TAB_BITS)];
    if (id === EMPTY) return -1;
    const dests = this.svc.dests;
    const flags = dests.flags[id];
    if ((flags & DEST_AVAILABLE) === 0 || dests.weight[id] <= 0 || (flags & DEST_OVERLOAD) !== 0) return -1;
    return id;
  }

  update(change: DestChange): void {
    if (change !== 'edit') this.rebuild();
  }

  private rebuild(): void {
    const table = this.table;
    const list = this.svc.list;
    const n = list.length;
    if (n === 0) {
      table.fill(EMPTY);
      return;
    }
    let at = 0;
    for (let b = 0; b < table.length; b++) {
      table[b] = list[at];
      at = at + 1 === n ? 0 : at + 1;
    }
  }
}

export const dhScheduler: SchedulerFactory = (svc) => new DestinationHashing(svc);
