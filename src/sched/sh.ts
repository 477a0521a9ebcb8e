/**
 * sh - source hashing (kernel ip_vs_sh.c; ipvs-schedulers.md 11, ipvs-facts.md 2.9).
 *
 * State: a table of 2^tabBits buckets (256 by default), each holding a dest id or EMPTY. The
 * kernel rebuilds it on every add, delete and edit: walking the list cyclically from its first
 * (newest) dest, each dest takes max(weight, 1) buckets in a row - weight 0 still takes one,
 * and weights are not reduced by their gcd - until every bucket is taken. An empty list leaves
 * every bucket empty.
 *
 * A packet's bucket is hash_32(port + folded source address, tabBits), port as in hash-port.ts.
 * Its dest is chosen if usable (weight > 0, no OVERLOAD); otherwise none, unless the service has
 * sh-fallback: then buckets (k + 2*bucket) mod size are probed for k = 0, 1, ... and the first
 * usable dest wins, an empty bucket ending the search. The "2*" is the kernel's: it adds the
 * rotating offset, which already starts at the bucket, to the hash once more.
 *
 * Hand-worked layout (ipvs-facts.md 2.9): A:3, B:2, C:1 added in that order give the list
 * C, B, A and the buckets C,B,B,A,A,A, C,B,B,A,A,A, ...: 42 laps of 6 plus C,B,B,A -> A 127,
 * B 86, C 43 buckets.
 */
import { SCHED_FLAG_1 } from '../control/config';
import { DEST_OVERLOAD } from '../ipvs/dest-table';
import { hash32 } from './hash32';
import { hashedSourcePort } from './hash-port';
import type { SchedPacket, SchedService, Scheduler, SchedulerFactory } from './scheduler';

/** CONFIG_IP_VS_SH_TAB_BITS default; the kernel's Kconfig allows 4..20. */
export const SH_TAB_BITS = 8;
const EMPTY = -1;

export class SourceHashing implements Scheduler {
  readonly name = 'sh';
  readonly tabBits: number;
  /** Bucket -> dest id, or EMPTY (-1). */
  readonly table: Int32Array;

  constructor(private readonly svc: SchedService, tabBits = SH_TAB_BITS) {
    if (!Number.isInteger(tabBits) || tabBits < 4 || tabBits > 20) {
      throw new RangeError(`sh table bits must be an integer in 4..20 (CONFIG_IP_VS_SH_TAB_BITS), not ${tabBits}`);
    }
    this.tabBits = tabBits;
    this.table = new Int32Array(1 << tabBits);
    this.rebuild(); // normally the list is empty here; a service built with dests works too
  }

  schedule(pkt: SchedPacket): number {
    const table = this.table;
    const flags = this.svc.schedFlags;
    const ihash = hash32(hashedSourcePort(flags, pkt) + pkt.srcKey, this.tabBits);
    const id = table[ihash];
    if (id === EMPTY) return -1;
    if (this.usable(id)) return id;
    if ((flags & SCHED_FLAG_1) === 0) return -1;
    const mask = table.length - 1;
    for (let k = 0; k <= mask; k++) {
      const probe = table[(k + 2 * ihash) & mask];
      if (probe === EMPTY) return -1;
      if (this.usable(probe)) return probe;
    }
    return -1;
  }

  /** Every change rebuilds (the kernel's add_dest, del_dest and upd_dest all reassign). */
  update(): void {
    this.rebuild();
  }

  private usable(id: number): boolean {
    const dests = this.svc.dests;
    return dests.weight[id] > 0 && (dests.flags[id] & DEST_OVERLOAD) === 0;
  }

  private rebuild(): void {
    const table = this.table;
    const list = this.svc.list;
    const n = list.length;
    if (n === 0) {
      table.fill(EMPTY);
      return;
    }
    const weight = this.svc.dests.weight;
    let at = 0; // position in the list of the dest taking buckets
    let taken = 0; // buckets it took in this run
    for (let b = 0; b < table.length; b++) {
      const id = list[at];
      table[b] = id;
      if (++taken >= weight[id]) {
        // weight 0 (or 1) moves on after one bucket: max(weight, 1)
        taken = 0;
        at = at + 1 === n ? 0 : at + 1;
      }
    }
  }
}

export const shScheduler: SchedulerFactory = (svc) => new SourceHashing(svc);
