/**
 * lblc - locality-based least connection (kernel ip_vs_lblc.c). Meant for cache clusters: every
 * destination address of the traffic sticks to one real server, so each server's cache holds its
 * own share of the addresses.
 *
 * What the kernel does for a packet to destination address A:
 *  1. If A is cached: refresh its last use; if the cached dest is still AVAILABLE (not deleted),
 *     has weight > 0 and is not locality-overloaded (locality-rules.ts: more active connections
 *     than its weight while some dest has active * 2 < weight), return it. The OVERLOAD flag is
 *     NOT consulted for the cached dest.
 *  2. Otherwise pick by wlc over the whole list; none -> no dest (a cached entry stays as it is).
 *  3. Cache the pick for A: an entry already pointing to it is left alone; an entry pointing
 *     elsewhere is replaced by a new one (last use = now); a missing one is created.
 * Expiry is the cache's periodic timer (locality-cache.ts), driven by the packet's clock.
 * Configuration changes need no hook (the kernel has none for lblc).
 *
 * Addresses are matched whole (all 128 bits for an IPv6 service, SchedPacket.dstAddr), as the kernel
 * does; only the bucket comes from the 32-bit fold.
 *
 * State: a LocalityCache (keys, last use, chains) plus the cached dest id per slot. uvs gives a
 * re-added dest a new id, so an entry for a deleted dest never becomes valid again (in the kernel
 * the same dest object is revived); it is replaced at its next use, which is what the kernel does
 * for a dest that stays deleted.
 */
import { DEST_AVAILABLE } from '../ipvs/dest-table';
import { LocalityCache, type LocalityCacheOptions, type LocalityEntryOwner } from './locality-cache';
import { isLocalityOverloaded, pickLeastLoaded } from './locality-rules';
import type { SchedPacket, SchedService, Scheduler, SchedulerFactory } from './scheduler';

export class LocalityLeastConnection implements Scheduler, LocalityEntryOwner {
  readonly name = 'lblc';
  readonly cache: LocalityCache;
  /** Cached dest id per cache slot. */
  private readonly dest: Int32Array;

  constructor(private readonly svc: SchedService, options: LocalityCacheOptions = {}) {
    this.cache = new LocalityCache(this, options, svc.af);
    this.dest = new Int32Array(this.cache.capacity);
  }

  schedule(pkt: SchedPacket): number {
    const cache = this.cache;
    cache.advance(pkt.now);
    const slot = cache.find(pkt.dstKey, pkt.dstAddr);
    if (slot >= 0) {
      cache.lastUse[slot] = pkt.now;
      const d = this.dest[slot];
      const dests = this.svc.dests;
      if ((dests.flags[d] & DEST_AVAILABLE) !== 0 && dests.weight[d] > 0 && !isLocalityOverloaded(this.svc, d)) {
        return d;
      }
    }
    const pick = pickLeastLoaded(this.svc);
    if (pick < 0) return -1;
    if (slot < 0) {
      const added = cache.add(pkt.dstKey, pkt.now, pkt.dstAddr);
      if (added >= 0) this.dest[added] = pick;
    } else if (this.dest[slot] !== pick) {
      this.dest[slot] = pick;
      cache.lastUse[slot] = pkt.now;
      cache.countReplacement();
    }
    return pick;
  }

  /**
   * The dest cached for a destination address (its fold and, for an IPv6 service, its four words as
   * in SchedPacket.dstAddr), or -1 (diagnostics and tests).
   */
  cachedDest(dstKey: number, dstAddr?: Uint32Array): number {
    const slot = this.cache.find(dstKey, dstAddr);
    return slot < 0 ? -1 : this.dest[slot];
  }

  update(): void {
    // The kernel's lblc has no add/delete/edit hooks: entries are checked when used.
  }

  entryRemoved(): void {
    // The dest id needs no release: the slot is simply reused.
  }
}

/** lblc with explicit cache options (expiration, max_size, capacity); the registry uses the defaults. */
export function createLblcScheduler(svc: SchedService, options: LocalityCacheOptions = {}): LocalityLeastConnection {
  return new LocalityLeastConnection(svc, options);
}

export const lblcScheduler: SchedulerFactory = (svc) => new LocalityLeastConnection(svc);
