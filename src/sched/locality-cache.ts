/**
 * The destination-address cache behind lblc and lblcr, with the kernel's expiry timer.
 *
 * The kernel keeps, per service, a hash table of 1024 buckets (bucket = hash_32(address fold, 10))
 * of entries keyed by the packet's destination address, each with a last-use time, and a timer
 * that runs every 60 s:
 *   - every 30th run (a counter that starts at 1, so the first is at 30 min) is a full pass over
 *     all buckets that drops every entry unused for at least the expiration (sysctl
 *     lblc_expiration / lblcr_expiration, default 24 h); the counter goes back to 1;
 *   - otherwise, while the table holds at most max_size (16384) entries, the run only counts;
 *   - otherwise (too many entries) it walks the buckets from the one after a rover, dropping
 *     entries unused for at least 6 min, a whole bucket at a time, until
 *     min((entries - max_size) * 4/3, max_size/2) were dropped; the rover stays at the last
 *     bucket walked. Such a run does not advance the counter, so it delays the next full pass.
 *
 * Kernel detail kept on purpose: the table's entry counter is what those rules read, and lblc's
 * "replace the dest of an entry" frees the old entry without decrementing the counter before
 * counting the new one (ip_vs_lblc_new), so every lblc replacement leaves the counter one above
 * the real number of entries, for good. `kernelEntries` is that counter, `entries` the real one.
 *
 * uvs has no timer thread, so the timer is driven by the engine clock: before each decision,
 * `advance(now)` performs every run due at 60 s, 120 s, ... of the engine clock up to and
 * including `now` (a run due at the same instant as the packet goes first), each with its own
 * time. Decisions are therefore those of a kernel whose service was created at engine time 0 and
 * whose timer fired exactly on time; runs falling between two packets are all performed, in order,
 * when the later packet arrives (nothing can observe the cache in between). Runs while the cache
 * is empty are counted arithmetically, so a long idle gap costs nothing.
 *
 * Storage is preallocated typed arrays: slots hold key, last use and a chain link (bucket chain, or
 * free list); the owning scheduler keeps its per-slot payload (dest id or dest set) in its own
 * arrays and hears of every expired slot through `LocalityEntryOwner`. When all `capacity` slots are
 * in use a new address is not cached (the kernel's failed GFP_ATOMIC allocation: the decision is
 * still returned).
 *
 * Addresses: as in the kernel, the bucket is hash_32 of the 32-bit fold (SchedPacket.dstKey) and an
 * entry matches on the WHOLE address (ip_vs_addr_equal). For an IPv4 service the fold is the address,
 * so the key alone is compared (one word per slot, nothing more stored). An IPv6 cache also keeps the
 * four address words of each slot (SchedPacket.dstAddr) and compares all 128 bits after the key, so
 * two addresses with the same fold are two entries of one bucket. (Given no words - a hand-built
 * packet without dstAddr - an IPv6 lookup falls back to matching the fold.)
 */

/** Buckets of the kernel's table (CONFIG_IP_VS_LBLC_TAB_BITS = 10). */
export const LOCALITY_BUCKETS = 1024;
/** Timer period. */
export const LOCALITY_CHECK_INTERVAL_MS = 60_000;
/** Idle time after which the over-size pass may drop an entry (ENTRY_TIMEOUT). */
export const LOCALITY_ENTRY_TIMEOUT_MS = 360_000;
/** Every this many runs the timer makes a full expiration pass (COUNT_FOR_FULL_EXPIRATION). */
export const LOCALITY_FULL_CHECK_EVERY = 30;
/** Default lblc_expiration / lblcr_expiration. */
export const LOCALITY_DEFAULT_EXPIRATION_MS = 86_400_000;
/** The kernel's max_size: 16 entries per bucket. */
export const LOCALITY_DEFAULT_MAX_SIZE = LOCALITY_BUCKETS * 16;
/** Default number of preallocated entries (typed arrays stay zero pages until touched). */
export const LOCALITY_DEFAULT_CAPACITY = 4 * LOCALITY_DEFAULT_MAX_SIZE;

export interface LocalityCacheOptions {
  /** lblc_expiration / lblcr_expiration in milliseconds (default 86 400 000). */
  expirationMs?: number;
  /** The kernel's max_size (default 16384); at least 2. */
  maxSize?: number;
  /** Entries preallocated (default 65536). */
  capacity?: number;
}

/** Told when the timer drops an entry, so the scheduler can release its payload. */
export interface LocalityEntryOwner {
  entryRemoved(slot: number): void;
}

/** hash_32(key, 10): the top 10 bits of key * 0x61C88647 mod 2^32. */
export function localityBucket(key: number): number {
  return Math.imul(key, 0x61c88647) >>> 22;
}

function checkInteger(name: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new Error(`locality cache: ${name} must be an integer >= ${min}, got ${value}`);
  }
  return value;
}

export class LocalityCache {
  readonly expirationMs: number;
  readonly maxSize: number;
  readonly capacity: number;
  /** 1 (IPv4: the key is the address) or 4 (IPv6: `addr` holds the whole address of each slot). */
  readonly addressWords: number;
  /** Folded destination address of each slot. */
  readonly keys: Uint32Array;
  /** IPv6 caches: the four host-order address words of slot s at [4s, 4s+4); empty for IPv4. */
  readonly addr: Uint32Array;
  /** Last use of each slot, engine milliseconds. */
  readonly lastUse: Float64Array;
  /** Bucket chain link of a used slot, free-list link of a free one; -1 ends both. */
  private readonly link: Int32Array;
  private readonly heads = new Int32Array(LOCALITY_BUCKETS).fill(-1);
  private freeHead = -1;
  /** Slots below this were handed out at least once (so `link` is never initialised in bulk). */
  private highWater = 0;
  private live = 0;
  private kernelCount = 0;
  private rover = 0;
  private counter = 1;
  private nextRun = LOCALITY_CHECK_INTERVAL_MS;

  /** `af` is the service's address family (SchedService.af): 6 makes entries match on all 128 bits. */
  constructor(private readonly owner: LocalityEntryOwner, options: LocalityCacheOptions = {}, af = 4) {
    const expiration = options.expirationMs ?? LOCALITY_DEFAULT_EXPIRATION_MS;
    if (!Number.isFinite(expiration) || expiration < 0) {
      throw new Error(`locality cache: expirationMs must be a number >= 0, got ${expiration}`);
    }
    this.expirationMs = expiration;
    this.maxSize = checkInteger('maxSize', options.maxSize ?? LOCALITY_DEFAULT_MAX_SIZE, 2);
    this.capacity = checkInteger('capacity', options.capacity ?? LOCALITY_DEFAULT_CAPACITY, 1);
    this.addressWords = af === 6 ? 4 : 1;
    this.keys = new Uint32Array(this.capacity);
    this.addr = new Uint32Array(this.addressWords === 4 ? 4 * this.capacity : 0);
    this.lastUse = new Float64Array(this.capacity);
    this.link = new Int32Array(this.capacity);
  }

  /** Entries in the cache. */
  get entries(): number {
    return this.live;
  }

  /** The kernel's entry counter (entries plus one per lblc replacement), which the timer reads. */
  get kernelEntries(): number {
    return this.kernelCount;
  }

  /**
   * The slot cached for the address with fold `key` and, in an IPv6 cache, whole address `words`
   * (four host-order words); -1 when none.
   */
  find(key: number, words?: Uint32Array): number {
    const k = key >>> 0;
    for (let s = this.heads[localityBucket(k)]; s >= 0; s = this.link[s]) {
      if (this.keys[s] === k && (this.addressWords === 1 || words === undefined || this.sameAddress(s, words))) return s;
    }
    return -1;
  }

  /** Slot s of an IPv6 cache holds `words`. */
  private sameAddress(s: number, words: Uint32Array): boolean {
    const a = this.addr;
    const o = 4 * s;
    return a[o] === words[0] && a[o + 1] === words[1] && a[o + 2] === words[2] && a[o + 3] === words[3];
  }

  /**
   * Caches the address (fold `key`, whole address `words` as for find; not cached yet) with last
   * use `now`; the slot, or -1 when every slot is taken.
   */
  add(key: number, now: number, words?: Uint32Array): number {
    let slot = this.freeHead;
    if (slot >= 0) this.freeHead = this.link[slot];
    else if (this.highWater < this.capacity) slot = this.highWater++;
    else return -1;
    const k = key >>> 0;
    const bucket = localityBucket(k);
    this.keys[slot] = k;
    if (this.addressWords === 4) {
      const o = 4 * slot;
      if (words !== undefined) {
        this.addr[o] = words[0];
        this.addr[o + 1] = words[1];
        this.addr[o + 2] = words[2];
        this.addr[o + 3] = words[3];
      } else {
        this.addr.fill(0, o, o + 4);
      }
    }
    this.lastUse[slot] = now;
    this.link[slot] = this.heads[bucket];
    this.heads[bucket] = slot;
    this.live++;
    this.kernelCount++;
    return slot;
  }

  /**
   * lblc replaced the dest of an entry: the kernel frees the entry and hashes a new one, counting
   * it without having uncounted the old one. (The slot itself is reused in place; its position in
   * the bucket chain does not matter to any rule, since passes always treat a whole bucket.)
   */
  countReplacement(): void {
    this.kernelCount++;
  }

  /** Performs every timer run due at or before `now`. */
  advance(now: number): void {
    while (this.nextRun <= now) {
      if (this.live === 0) {
        this.idleRuns(Math.floor((now - this.nextRun) / LOCALITY_CHECK_INTERVAL_MS) + 1);
        return;
      }
      this.run(this.nextRun);
      this.nextRun += LOCALITY_CHECK_INTERVAL_MS;
    }
  }

  /** One timer run at time `t` (ip_vs_lblc_check_expire / ip_vs_lblcr_check_expire). */
  private run(t: number): void {
    if (this.counter % LOCALITY_FULL_CHECK_EVERY === 0) {
      let j = this.rover;
      for (let i = 0; i < LOCALITY_BUCKETS; i++) {
        j = (j + 1) & (LOCALITY_BUCKETS - 1);
        this.dropIdle(j, t, this.expirationMs);
      }
      this.rover = j;
      this.counter = 1;
      return;
    }
    if (this.kernelCount <= this.maxSize) {
      this.counter++;
      return;
    }
    let goal = Math.trunc(((this.kernelCount - this.maxSize) * 4) / 3);
    const cap = Math.trunc(this.maxSize / 2);
    if (goal > cap) goal = cap;
    let j = this.rover;
    for (let i = 0; i < LOCALITY_BUCKETS; i++) {
      j = (j + 1) & (LOCALITY_BUCKETS - 1);
      goal -= this.dropIdle(j, t, LOCALITY_ENTRY_TIMEOUT_MS);
      if (goal <= 0) break;
    }
    this.rover = j;
  }

  /**
   * `runs` timer runs over an empty cache. Nothing can be dropped, a full pass leaves the rover
   * where it was (it walks all 1024 buckets), and so does an over-size pass (maxSize >= 2 gives a
   * goal >= 1 that an empty table never meets); only the counter moves. It stays in 1..30: below
   * max_size each run takes it one step round that cycle; above, the first run resets a 30 to 1
   * and the others leave it.
   */
  private idleRuns(runs: number): void {
    this.nextRun += runs * LOCALITY_CHECK_INTERVAL_MS;
    if (this.kernelCount <= this.maxSize) {
      this.counter = ((this.counter - 1 + runs) % LOCALITY_FULL_CHECK_EVERY) + 1;
    } else if (this.counter % LOCALITY_FULL_CHECK_EVERY === 0) {
      this.counter = 1;
    }
  }

  /** Drops the entries of `bucket` unused for at least `age` ms at time `t`; returns how many. */
  private dropIdle(bucket: number, t: number, age: number): number {
    let dropped = 0;
    let prev = -1;
    let s = this.heads[bucket];
    while (s >= 0) {
      const next = this.link[s];
      if (t < this.lastUse[s] + age) {
        prev = s;
      } else {
        if (prev < 0) this.heads[bucket] = next;
        else this.link[prev] = next;
        this.owner.entryRemoved(s);
        this.link[s] = this.freeHead;
        this.freeHead = s;
        this.live--;
        this.kernelCount--;
        dropped++;
      }
      s = next;
    }
    return dropped;
  }
}
