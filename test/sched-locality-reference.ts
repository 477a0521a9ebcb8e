/**
 * A naive model of lblc and lblcr for the randomized cross-checks, written from the prose of
 * ipvs-schedulers.md sections 14-15 and ipvs-facts.md 2.12-2.13 (plus the kernel's entry counter
 * detail described below), deliberately in a different style from src/sched: plain Maps and arrays,
 * BigInt products, a timer that works directly from the rules. It shares no code with src/sched.
 *
 * The timer (every 60 s of the clock, first at 60 s): a counter starting at 1; when it is a
 * multiple of 30, drop every entry unused for >= expiration (all buckets) and set it to 1; else if
 * the entry count is <= max_size, add 1 to it; else drop entries unused for >= 360 s bucket by
 * bucket, starting after the rover, until min((count - max) * 4/3, max/2) were dropped (checked
 * after each whole bucket), leaving the rover at the last bucket visited. The count the timer reads
 * goes up when an entry is made and down when the timer drops one; an lblc entry whose dest is
 * replaced counts as one more entry (the kernel frees the old one without uncounting it).
 */
import { DEST_AVAILABLE, DEST_OVERLOAD, DestTable } from '../src/ipvs/dest-table';
import type { SchedService, Scheduler } from '../src/sched/scheduler';

/** hash_32(key, 10) of ipvs-schedulers.md 1.7, in BigInt. */
export function refBucket(key: number): number {
  return Number((((BigInt(key >>> 0) * 0x61c88647n) % 0x100000000n) >> 22n));
}

interface Timed {
  lastuse: number;
}

/** The address cache and its timer; `entries` maps a folded address to the scheduler's entry. */
export class RefCache<E extends Timed> {
  readonly entries = new Map<number, E>();
  count = 0;
  rover = 0;
  counter = 1;
  nextRun = 60_000;
  /** How many entries the timer dropped (coverage). */
  dropped = 0;

  constructor(readonly expiration: number, readonly maxSize: number) {}

  tick(now: number): void {
    while (this.nextRun <= now) {
      this.runOnce(this.nextRun);
      this.nextRun += 60_000;
    }
  }

  private runOnce(t: number): void {
    if (this.counter % 30 === 0) {
      for (const [key, e] of [...this.entries]) {
        if (t - e.lastuse >= this.expiration) this.drop(key);
      }
      this.counter = 1;
      return;
    }
    if (this.count <= this.maxSize) {
      this.counter += 1;
      return;
    }
    let goal = Math.min(Math.floor(((this.count - this.maxSize) * 4) / 3), Math.floor(this.maxSize / 2));
    const byBucket = new Map<number, number[]>();
    for (const key of this.entries.keys()) {
      const b = refBucket(key);
      byBucket.set(b, [...(byBucket.get(b) ?? []), key]);
    }
    let j = this.rover;
    for (let i = 0; i < 1024; i++) {
      j = (j + 1) % 1024;
      for (const key of byBucket.get(j) ?? []) {
        if (t - this.entries.get(key)!.lastuse >= 360_000) {
          this.drop(key);
          goal -= 1;
        }
      }
      if (goal <= 0) break;
    }
    this.rover = j;
  }

  private drop(key: number): void {
    this.entries.delete(key);
    this.count -= 1;
    this.dropped += 1;
  }
}

function overhead(dests: DestTable, d: number): bigint {
  return BigInt(dests.activeConns[d]) * 256n + BigInt(dests.inactConns[d]);
}

const overloaded = (dests: DestTable, d: number): boolean => (dests.flags[d] & DEST_OVERLOAD) !== 0;
const available = (dests: DestTable, d: number): boolean => (dests.flags[d] & DEST_AVAILABLE) !== 0;

/** "Pick from all": wlc over the list, skipping OVERLOAD dests; -1 when none. */
export function refPick(dests: DestTable, list: readonly number[]): number {
  let least = -1;
  for (const d of list) {
    if (overloaded(dests, d)) continue;
    if (least < 0) {
      if (dests.weight[d] > 0) least = d;
      continue;
    }
    if (overhead(dests, least) * BigInt(dests.weight[d]) > overhead(dests, d) * BigInt(dests.weight[least])) least = d;
  }
  return least;
}

/** D.activeconns > D.weight and some dest of the list has 2 * activeconns < weight. */
export function refLocalityOverloaded(dests: DestTable, list: readonly number[], d: number): boolean {
  return dests.activeConns[d] > dests.weight[d] && list.some((x) => 2 * dests.activeConns[x] < dests.weight[x]);
}

export interface RefOptions {
  expiration: number;
  maxSize: number;
  capacity: number;
  /** lblcr only: members over all sets. */
  memberCapacity?: number;
}

/** Counts of the paths taken, so a test can check that the random walk exercised them. */
export interface RefCoverage {
  hits: number;
  replaced: number;
  uncached: number;
  shrinks: number;
  grown: number;
}

export class RefLblc {
  readonly cache: RefCache<{ dest: number; lastuse: number }>;
  readonly seen: RefCoverage = { hits: 0, replaced: 0, uncached: 0, shrinks: 0, grown: 0 };

  constructor(private readonly dests: DestTable, private readonly list: number[], private readonly opt: RefOptions) {
    this.cache = new RefCache(opt.expiration, opt.maxSize);
  }

  schedule(key: number, now: number): number {
    const { dests, list, cache } = this;
    cache.tick(now);
    const e = cache.entries.get(key);
    if (e !== undefined) {
      e.lastuse = now;
      const d = e.dest;
      if (available(dests, d) && dests.weight[d] > 0 && !refLocalityOverloaded(dests, list, d)) {
        this.seen.hits++;
        return d;
      }
    }
    const p = refPick(dests, list);
    if (p < 0) return -1;
    if (e !== undefined) {
      if (e.dest !== p) {
        cache.entries.set(key, { dest: p, lastuse: now });
        cache.count += 1;
        this.seen.replaced++;
      }
    } else if (cache.entries.size < this.opt.capacity) {
      cache.entries.set(key, { dest: p, lastuse: now });
      cache.count += 1;
    } else {
      this.seen.uncached++;
    }
    return p;
  }
}

interface RefSetEntry {
  set: number[];
  lastmod: number;
  lastuse: number;
}

export class RefLblcr {
  readonly cache: RefCache<RefSetEntry>;
  readonly seen: RefCoverage = { hits: 0, replaced: 0, uncached: 0, shrinks: 0, grown: 0 };

  constructor(private readonly dests: DestTable, private readonly list: number[], private readonly opt: RefOptions) {
    this.cache = new RefCache(opt.expiration, opt.maxSize);
  }

  private members(): number {
    let n = 0;
    for (const e of this.cache.entries.values()) n += e.set.length;
    return n;
  }

  private roomForMember(): boolean {
    return this.members() < (this.opt.memberCapacity ?? Infinity);
  }

  private setMin(set: readonly number[]): number {
    const { dests } = this;
    let least = -1;
    for (const d of set) {
      if (overloaded(dests, d)) continue;
      if (least < 0) {
        if (dests.weight[d] > 0 && available(dests, d)) least = d;
        continue;
      }
      const less = overhead(dests, least) * BigInt(dests.weight[d]) > overhead(dests, d) * BigInt(dests.weight[least]);
      if (less && available(dests, d)) least = d;
    }
    return least;
  }

  private setMax(set: readonly number[]): number {
    const { dests } = this;
    let most = -1;
    for (const d of set) {
      if (most < 0) {
        if (dests.weight[d] > 0) most = d;
        continue;
      }
      const more = overhead(dests, most) * BigInt(dests.weight[d]) < overhead(dests, d) * BigInt(dests.weight[most]);
      if (more && dests.weight[d] > 0) most = d;
    }
    return most;
  }

  schedule(key: number, now: number): number {
    const { dests, list, cache } = this;
    cache.tick(now);
    const e = cache.entries.get(key);
    if (e !== undefined) {
      e.lastuse = now;
      const m = this.setMin(e.set);
      if (e.set.length > 1 && now > e.lastmod + this.opt.expiration) {
        const most = this.setMax(e.set);
        if (most >= 0) {
          e.set.splice(e.set.indexOf(most), 1);
          e.lastmod = now;
          this.seen.shrinks++;
        }
      }
      if (m >= 0 && !refLocalityOverloaded(dests, list, m)) {
        this.seen.hits++;
        return m;
      }
      const p = refPick(dests, list);
      if (p < 0) return -1;
      if (!e.set.includes(p) && this.roomForMember()) {
        e.set.unshift(p);
        e.lastmod = now;
        this.seen.grown++;
      }
      return p;
    }
    const p = refPick(dests, list);
    if (p < 0) return -1;
    if (cache.entries.size < this.opt.capacity) {
      const entry: RefSetEntry = { set: [], lastmod: now, lastuse: now };
      if (this.roomForMember()) entry.set.push(p);
      cache.entries.set(key, entry);
      cache.count += 1;
    } else {
      this.seen.uncached++;
    }
    return p;
  }

  /** The set of `key`, newest member first, or null. */
  setOf(key: number): number[] | null {
    return this.cache.entries.get(key)?.set ?? null;
  }
}

/**
 * A random world for the cross-checks: up to 10 dests added at the head of the list, deleted
 * (they keep their id and counters, as the kernel's trash does), re-weighted (0..4), given small
 * random connection counts (so "active > weight" and "2 * active < weight" both happen often) and
 * OVERLOAD flags, and a clock that mostly moves seconds, sometimes minutes, rarely hours.
 * Destination addresses come from a skewed pool so some are hot and some go idle.
 */
export class LocalityWorld {
  readonly dests = new DestTable(4);
  readonly list: number[] = [];
  readonly svc: SchedService = { dests: this.dests, list: this.list, schedFlags: 0, af: 4 };
  private readonly everyDest: number[] = [];
  private readonly pool: number[] = [];
  private seed: number;
  now = 0;

  constructor(seed: number, poolSize = 40) {
    this.seed = seed >>> 0;
    for (let i = 0; i < poolSize; i++) this.pool.push(i % 2 === 0 ? 0x0a000000 + i : this.rand(2 ** 32));
  }

  /** Uniform in [0, n), from a 32-bit xorshift. */
  rand(n: number): number {
    let x = this.seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.seed = x >>> 0;
    return Math.floor((this.seed / 2 ** 32) * n);
  }

  /** Applies a few random changes (telling `sched` as the engine would), then returns the next packet's key. */
  next(sched: Scheduler): number {
    const { dests, list } = this;
    for (let ops = this.rand(3); ops > 0; ops--) {
      const op = this.rand(12);
      if (op === 0 && list.length < 10) {
        const id = dests.allocate();
        dests.weight[id] = this.rand(5);
        dests.flags[id] = DEST_AVAILABLE;
        list.unshift(id);
        this.everyDest.push(id);
        sched.update('add', id, -1);
      } else if (op === 1 && list.length > 0) {
        const at = this.rand(list.length);
        const [id] = list.splice(at, 1);
        dests.flags[id] &= ~DEST_AVAILABLE;
        sched.update('delete', id, at);
      } else if (op === 2 && list.length > 0) {
        const id = list[this.rand(list.length)];
        dests.weight[id] = this.rand(5);
        sched.update('edit', id, -1);
      } else if (op === 3 && list.length > 0) {
        const id = list[this.rand(list.length)];
        dests.flags[id] ^= DEST_OVERLOAD;
      } else if (this.everyDest.length > 0) {
        // Counts change on deleted dests too (their connections still expire).
        const id = this.everyDest[this.rand(this.everyDest.length)];
        dests.activeConns[id] = this.rand(7);
        dests.inactConns[id] = this.rand(4);
      }
    }
    const r = this.rand(1000);
    if (r < 900) this.now += this.rand(5000);
    else if (r < 995) this.now += 60_000 + this.rand(600_000);
    else this.now += 3_600_000 + this.rand(30 * 3_600_000);
    const u = this.rand(1 << 16) / (1 << 16);
    return this.pool[Math.floor(u * u * this.pool.length)];
  }
}
