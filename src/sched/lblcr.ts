/**
 * lblcr - locality-based least connection with replication (kernel ip_vs_lblcr.c). Like lblc, but
 * a destination address maps to a SET of real servers, so a popular address can be served by
 * several caches, and the set shrinks again once it has been stable for a while.
 *
 * What the kernel does for a packet to destination address A (now = packet time):
 *  With an entry for A:
 *   1. last use = now; m = set_min: the least loaded member per weight, walking the set newest
 *      member first, skipping OVERLOAD members; the first with weight > 0 that is AVAILABLE seeds
 *      it, a later non-OVERLOAD member replaces it when strictly less loaded and AVAILABLE.
 *   2. If the set has more than one member and now > lastmod + expiration (strictly), remove
 *      set_max: the first member with weight > 0 seeds it (flags and availability ignored), a later
 *      member with weight > 0 replaces it when strictly more loaded per weight. lastmod = now. At
 *      most one member goes per packet, and m is not recomputed: it may be the member just removed.
 *   3. If m exists and is not locality-overloaded (locality-rules.ts), return m.
 *   4. Otherwise pick by wlc over the whole list (none -> no dest, the set untouched); add the pick
 *      at the front of the set unless already a member (lastmod = now when added); return it.
 *  Without an entry: pick by wlc over the list (none -> no dest); create the entry with the set
 *  [pick], lastmod = last use = now.
 * Expiry is the cache's periodic timer (locality-cache.ts), driven by the packet's clock; the set
 * expiration (lblcr_expiration, default 24 h) is the same number as the entry expiration.
 * Configuration changes need no hook (the kernel has none for lblcr). A deleted dest stays in the
 * sets that hold it (set_min skips it, set_max may still remove it); uvs gives a re-added dest a
 * new id, so the old member never becomes AVAILABLE again (the kernel would revive it).
 *
 * Addresses are matched whole (all 128 bits for an IPv6 service, SchedPacket.dstAddr), as the kernel
 * does; only the bucket comes from the 32-bit fold.
 *
 * State: a LocalityCache plus, per slot, the set's first member, size and lastmod. Members live in
 * a preallocated pool of (dest id, next) links; when the pool is exhausted a member is not added
 * (the kernel's failed GFP_ATOMIC allocation: the decision still stands).
 */
import { DEST_AVAILABLE, DEST_OVERLOAD } from '../ipvs/dest-table';
import { LocalityCache, type LocalityCacheOptions, type LocalityEntryOwner } from './locality-cache';
import { isLocalityOverloaded, pickLeastLoaded } from './locality-rules';
import { destOverhead, moreLoadedPerWeight } from './overhead';
import type { SchedPacket, SchedService, Scheduler, SchedulerFactory } from './scheduler';

export interface LblcrOptions extends LocalityCacheOptions {
  /** Set members preallocated over all entries (default 2 * capacity). */
  memberCapacity?: number;
}

export class LocalityReplicatedLeastConnection implements Scheduler, LocalityEntryOwner {
  readonly name = 'lblcr';
  readonly cache: LocalityCache;
  readonly memberCapacity: number;
  /** First member (pool index) of each slot's set, -1 when empty. */
  private readonly setHead: Int32Array;
  private readonly setSize: Int32Array;
  /** Last modification of each slot's set, engine milliseconds. */
  private readonly lastMod: Float64Array;
  /** Member pool: dest id and next member (or next free member). */
  private readonly memberDest: Int32Array;
  private readonly memberNext: Int32Array;
  private freeMember = -1;
  private memberHighWater = 0;

  constructor(private readonly svc: SchedService, options: LblcrOptions = {}) {
    this.cache = new LocalityCache(this, options, svc.af);
    const cap = this.cache.capacity;
    const members = options.memberCapacity ?? 2 * cap;
    if (!Number.isSafeInteger(members) || members < 1) {
      throw new Error(`lblcr: memberCapacity must be an integer >= 1, got ${members}`);
    }
    this.memberCapacity = members;
    this.setHead = new Int32Array(cap);
    this.setSize = new Int32Array(cap);
    this.lastMod = new Float64Array(cap);
    this.memberDest = new Int32Array(members);
    this.memberNext = new Int32Array(members);
  }

  schedule(pkt: SchedPacket): number {
    const cache = this.cache;
    const now = pkt.now;
    cache.advance(now);
    const slot = cache.find(pkt.dstKey, pkt.dstAddr);
    if (slot >= 0) {
      cache.lastUse[slot] = now;
      const m = this.setMin(slot);
      if (this.setSize[slot] > 1 && now > this.lastMod[slot] + cache.expirationMs) {
        const most = this.setMax(slot);
        if (most >= 0) this.erase(slot, most, now);
      }
      if (m >= 0 && !isLocalityOverloaded(this.svc, m)) return m;
      const pick = pickLeastLoaded(this.svc);
      if (pick < 0) return -1;
      if (!this.isMember(slot, pick)) this.insert(slot, pick, now);
      return pick;
    }
    const pick = pickLeastLoaded(this.svc);
    if (pick < 0) return -1;
    const added = cache.add(pkt.dstKey, now, pkt.dstAddr);
    if (added >= 0) {
      this.setHead[added] = -1;
      this.setSize[added] = 0;
      this.lastMod[added] = now;
      this.insert(added, pick, now);
    }
    return pick;
  }

  update(): void {
    // The kernel's lblcr has no add/delete/edit hooks: sets are checked when used.
  }

  /** Releases the members of an expired entry. */
  entryRemoved(slot: number): void {
    let e = this.setHead[slot];
    while (e >= 0) {
      const next = this.memberNext[e];
      this.memberNext[e] = this.freeMember;
      this.freeMember = e;
      e = next;
    }
    this.setHead[slot] = -1;
    this.setSize[slot] = 0;
  }

  /**
   * The set cached for a destination address (fold, and for an IPv6 service its four words),
   * newest member first; null when none (allocates: diagnostics and tests).
   */
  members(dstKey: number, dstAddr?: Uint32Array): number[] | null {
    const slot = this.cache.find(dstKey, dstAddr);
    if (slot < 0) return null;
    const out: number[] = [];
    for (let e = this.setHead[slot]; e >= 0; e = this.memberNext[e]) out.push(this.memberDest[e]);
    return out;
  }

  /** The set's last modification time for a destination address (as for members), or -1 (diagnostics and tests). */
  lastModified(dstKey: number, dstAddr?: Uint32Array): number {
    const slot = this.cache.find(dstKey, dstAddr);
    return slot < 0 ? -1 : this.lastMod[slot];
  }

  /** ip_vs_dest_set_min. */
  private setMin(slot: number): number {
    const dests = this.svc.dests;
    const { weight, flags } = dests;
    let e = this.setHead[slot];
    while (e >= 0) {
      const d = this.memberDest[e];
      if ((flags[d] & DEST_OVERLOAD) === 0 && weight[d] > 0 && (flags[d] & DEST_AVAILABLE) !== 0) break;
      e = this.memberNext[e];
    }
    if (e < 0) return -1;
    let least = this.memberDest[e];
    let leastOverhead = destOverhead(dests, least);
    for (e = this.memberNext[e]; e >= 0; e = this.memberNext[e]) {
      const d = this.memberDest[e];
      if ((flags[d] & DEST_OVERLOAD) !== 0) continue;
      const overhead = destOverhead(dests, d);
      if (moreLoadedPerWeight(leastOverhead, weight[least], overhead, weight[d]) && (flags[d] & DEST_AVAILABLE) !== 0) {
        least = d;
        leastOverhead = overhead;
      }
    }
    return least;
  }

  /** ip_vs_dest_set_max. */
  private setMax(slot: number): number {
    const dests = this.svc.dests;
    const weight = dests.weight;
    let e = this.setHead[slot];
    while (e >= 0 && weight[this.memberDest[e]] <= 0) e = this.memberNext[e];
    if (e < 0) return -1;
    let most = this.memberDest[e];
    let mostOverhead = destOverhead(dests, most);
    for (e = this.memberNext[e]; e >= 0; e = this.memberNext[e]) {
      const d = this.memberDest[e];
      const overhead = destOverhead(dests, d);
      if (moreLoadedPerWeight(overhead, weight[d], mostOverhead, weight[most]) && weight[d] > 0) {
        most = d;
        mostOverhead = overhead;
      }
    }
    return most;
  }

  private isMember(slot: number, dest: number): boolean {
    for (let e = this.setHead[slot]; e >= 0; e = this.memberNext[e]) {
      if (this.memberDest[e] === dest) return true;
    }
    return false;
  }

  /** Puts `dest` at the front of the set (lastmod = now); nothing when the member pool is exhausted. */
  private insert(slot: number, dest: number, now: number): void {
    let e = this.freeMember;
    if (e >= 0) this.freeMember = this.memberNext[e];
    else if (this.memberHighWater < this.memberCapacity) e = this.memberHighWater++;
    else return;
    this.memberDest[e] = dest;
    this.memberNext[e] = this.setHead[slot];
    this.setHead[slot] = e;
    this.setSize[slot]++;
    this.lastMod[slot] = now;
  }

  /** Takes `dest` out of the set (lastmod = now). */
  private erase(slot: number, dest: number, now: number): void {
    let prev = -1;
    for (let e = this.setHead[slot]; e >= 0; prev = e, e = this.memberNext[e]) {
      if (this.memberDest[e] !== dest) continue;
      if (prev < 0) this.setHead[slot] = this.memberNext[e];
      else this.memberNext[prev] = this.memberNext[e];
      this.memberNext[e] = this.freeMember;
      this.freeMember = e;
      this.setSize[slot]--;
      this.lastMod[slot] = now;
      return;
    }
  }
}

/** lblcr with explicit cache options (expiration, max_size, capacities); the registry uses the defaults. */
export function createLblcrScheduler(svc: SchedService, options: LblcrOptions = {}): LocalityReplicatedLeastConnection {
  return new LocalityReplicatedLeastConnection(svc, options);
}

export const lblcrScheduler: SchedulerFactory = (svc) => new LocalityReplicatedLeastConnection(svc);
