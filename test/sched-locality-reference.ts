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
 *
 * Addresses are whole (ipvs-schedulers.md 14: "exact match"): a list of 32-bit words, one for IPv4,
 * four for IPv6, and two addresses are one entry only when every word is equal. Only the bucket
 * comes from the fold (the XOR of the words), so IPv6 addresses with equal folds share a bucket
 * but never an entry.
 */
import { DEST_AVAILABLE, DEST_OVERLOAD, DestTable } from '../src/ipvs/dest-table';
import type { SchedService, Scheduler } from '../src/sched/scheduler';

/** hash_32(key, 10) of ipvs-schedulers.md 1.7, in BigInt. */
export function refBucket(key: number): number {
  return Number((((BigInt(key >>> 0) * 0x61c88647n) % 0x100000000n) >> 22n));
}

/** A destination address: its words in host order, one (IPv4) or four (IPv6). */
export type RefAddress = readonly number[];

/** The 32-bit fold of an address (ipvs-schedulers.md 1.7): the XOR of its words. */
export function refFold(addr: RefAddress): number {
  return addr.reduce((x, w) => (x ^ w) >>> 0, 0);
}

/** The Map key of an address: every word, so only equal addresses meet. */
function refName(addr: RefAddress): string {
  return addr.map((w) => (w >>> 0).toString(16)).join(':');
}

interface Timed {
  lastuse: number;
  /** The address's fold, which picks its bucket. */
  fold: number;
}

/** The address cache and its timer; `entries` maps a whole address (refName) to the scheduler's entry. */
export class RefCache<E extends Timed> {
  readonly entries = new Map<string, E>();
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
    const byBucket = new Map<number, string[]>();
    for (const [key, e] of this.entries) {
      const b = refBucket(e.fold);
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

  /** The entry of `addr`, if cached. */
  get(addr: RefAddress): E | undefined {
    return this.entries.get(refName(addr));
  }

  set(addr: RefAddress, e: E): void {
    this.entries.set(refName(addr), e);
  }

  private drop(key: string): void {
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
  readonly cache: RefCache<{ dest: number; lastuse: number; fold: number }>;
  readonly seen: RefCoverage = { hits: 0, replaced: 0, uncached: 0, shrinks: 0, grown: 0 };

  constructor(private readonly dests: DestTable, private readonly list: number[], private readonly opt: RefOptions) {
    this.cache = new RefCache(opt.expiration, opt.maxSize);
  }

  schedule(addr: RefAddress, now: number): number {
    const { dests, list, cache } = this;
    cache.tick(now);
    const e = cache.get(addr);
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
        cache.set(addr, { dest: p, lastuse: now, fold: refFold(addr) });
        cache.count += 1;
        this.seen.replaced++;
      }
    } else if (cache.entries.size < this.opt.capacity) {
      cache.set(addr, { dest: p, lastuse: now, fold: refFold(addr) });
      cache.count += 1;
    } else {
      this.seen.uncached++;
    }
    return p;
  }

  /** The dest cached for `addr`, or -1. */
  destOf(addr: RefAddress): number {
    return this.cache.get(addr)?.dest ?? -1;
  }
}

interface RefSetEntry {
  set: number[];
  lastmod: number;
  lastuse: number;
  fold: number;
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

  schedule(addr: RefAddress, now: number): number {
    const { dests, list, cache } = this;
    cache.tick(now);
    const e = cache.get(addr);
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
      const entry: RefSetEntry = { set: [], lastmod: now, lastuse: now, fold: refFold(addr) };
      if (this.roomForMember()) entry.set.push(p);
      cache.set(addr, entry);
      cache.count += 1;
    } else {
      this.seen.uncached++;
    }
    return p;
  }

  /** The set of `addr`, newest member first, or null. */
  setOf(addr: RefAddress): number[] | null {
    return this.cache.get(addr)?.set ?? null;
  }
}

/** One destination address of a LocalityWorld, in the forms the scheduler and the model take. */
export interface WorldAddress {
  /** Its words as the model takes them (one for IPv4, four for IPv6). */
  readonly ref: RefAddress;
  /** The fold, as SchedPacket.dstKey. */
  readonly key: number;
  /** Four host-order words, as SchedPacket.dstAddr (IPv4: the address, then zeros). */
  readonly words: Uint32Array;
  /** IPv6: the pool index of the other address with the same fold; -1 for IPv4. */
  readonly partner: number;
}

/**
 * A random world for the cross-checks: up to 10 dests added at the head of the list, deleted
 * (they keep their id and counters, as the kernel's trash does), re-weighted (0..4), given small
 * random connection counts (so "active > weight" and "2 * active < weight" both happen often) and
 * OVERLOAD flags, and a clock that mostly moves seconds, sometimes minutes, rarely hours.
 * Destination addresses come from a skewed pool so some are hot and some go idle. In an IPv6
 * world the pool is made of pairs with equal folds (the second of a pair is the first with one
 * random mask XORed into two of its words, words 0-1 or 2-3), and the pairs are neighbours in the
 * pool, so both of a hot pair are hot.
 */
export class LocalityWorld {
  readonly dests = new DestTable(4);
  readonly list: number[] = [];
  readonly svc: SchedService;
  readonly pool: WorldAddress[] = [];
  private readonly everyDest: number[] = [];
  private seed: number;
  now = 0;

  constructor(seed: number, readonly af: 4 | 6 = 4, poolSize = 40) {
    this.seed = seed >>> 0;
    this.svc = { dests: this.dests, list: this.list, schedFlags: 0, af };
    for (let i = 0; i < poolSize; i++) {
      if (af === 4) {
        const a = i % 2 === 0 ? 0x0a000000 + i : this.rand(2 ** 32);
        this.pool.push({ ref: [a], key: a, words: Uint32Array.of(a, 0, 0, 0), partner: -1 });
      } else if (i % 2 === 0) {
        const words = Uint32Array.of(0x20010db8, this.rand(2 ** 32), this.rand(2 ** 32), this.rand(2 ** 32));
        this.pool.push({ ref: [...words], key: refFold([...words]), words, partner: i + 1 < poolSize ? i + 1 : -1 });
      } else {
        const mask = (this.rand(2 ** 32) | 1) >>> 0;
        const words = Uint32Array.from(this.pool[i - 1].words);
        const at = i % 4 === 1 ? 0 : 2;
        words[at] ^= mask;
        words[at + 1] ^= mask;
        this.pool.push({ ref: [...words], key: refFold([...words]), words, partner: i - 1 });
      }
    }
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

  /** Applies a few random changes (telling `sched` as the engine would), then returns the next packet's address. */
  next(sched: Scheduler): WorldAddress {
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
