/**
 * The connection table: every connection is one fixed-size record in a single Uint32Array
 * (array of structs), so a lookup touches the bucket head and one or two cache lines of the
 * record, not one line per field. No objects per connection, no string keys.
 *
 * Keying follows IPVS (ipvs-facts 1.3): one hash over (protocol, client address, client port)
 * serves both the "in" lookup (packet from the client) and the "out" lookup of NAT replies
 * (packet towards the client). Addresses take `addrWords` 32-bit words (1 in an IPv4 table, 4 in
 * an IPv6 table): one code path, no 32-bit assumption.
 *
 * Expiry runs on the injected clock through a timer wheel of 1 ms ticks (65,536 slots: it turns
 * every 65.5 s; an entry due later stays in its slot and is re-filed when the slot comes round).
 * Re-arming is lazy: most packets only push an entry's expiry later, which costs one store; the
 * entry is moved only when its new expiry comes before the wheel would next look at it.
 */

export const CONN_METHOD_MASK = 0x0007;
/** Replies never cross the director (every non-NAT method): INPUT-ONLY state table. */
export const CONN_F_NOOUTPUT = 0x0080;
/** The entry counts in its dest's inactconns (else activeconns). */
export const CONN_F_INACTIVE = 0x0100;
/** A persistence template (issue 4). */
export const CONN_F_TEMPLATE = 0x1000;
/** FULLNAT: the real server's ISN is known (aux holds it). */
export const CONN_F_ISN_KNOWN = 0x2000;
/** FULLNAT: the TOA option has been inserted. */
export const CONN_F_TOA_DONE = 0x4000;
/** Templates whose timer fired while still controlling connections keep a 60 s timeout for good. */
export const CONN_F_TIMEOUT_60 = 0x8000;

const WHEEL_BITS = 16;
const WHEEL_SIZE = 1 << WHEEL_BITS;
const WHEEL_MASK = WHEEL_SIZE - 1;
/** Relative tick at which the time base moves: 2^30 ms (12.4 days) + 31 days of timeout < 2^32. */
const REBASE_AT = 2 ** 30;

// Record layout after the two addresses (word offsets from the record's "P" word).
const F_PORTS = 0; //    cport << 16 | vport
const F_META = 1; //     proto | state << 8 | flags << 16 (0 = free slot: a fwmark template has proto 0 but flags)
const F_HNEXT = 2; //    next slot in the hash chain, -1 = end
const F_EXPIRES = 3; //  expiry tick
const F_DEST = 4; //     dest id
const F_DPORT = 5; //    real server port | FULLNAT local port << 16
const F_AUX = 6; //      FULLNAT: real server ISN; templates: number of controlled entries
const F_CONTROL = 7; //  controlling template slot, -1 = none
const F_WNEXT = 8; //    wheel chain
const F_WPREV = 9; //    wheel chain: previous slot, or -1 - wheelSlot when first
const F_WHEEL_AT = 10; // tick at which the wheel next looks at the entry
const F_LADDR = 11; //   FULLNAT local address index; templates: their timeout in ms
const FIXED_WORDS = 12;

/** Told about every entry whose time has come: true = remove it, false = keep it (expires was moved). */
export interface ExpiryHandler {
  connExpired(table: ConnTable, slot: number): boolean;
}

/** Decides whether a connection's real-server side is (saddr, sport) of a reply packet. */
export interface ReplyMatcher {
  replyMatches(table: ConnTable, slot: number, buf: Uint8Array, srcOff: number, sport: number): boolean;
}

function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * Reads the 32-bit big-endian word at buf[off] as a signed int32: addresses are compared with the
 * Int32Array view, so no value needs the unsigned range (which V8 would box once past 2^31).
 */
function word(buf: Uint8Array, off: number): number {
  return (buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3];
}

export class ConnTable {
  readonly addrWords: number;
  /** Words per record. */
  readonly stride: number;
  capacity = 0;
  readonly maxCapacity: number;
  /** Live entries (templates included). */
  count = 0;
  private u32!: Uint32Array;
  private i32!: Int32Array;
  private buckets!: Int32Array;
  private bucketMask = 0;
  private freeHead = -1;
  /** Slots never used yet start at `fresh`; below it, free slots are on the free list. */
  private fresh = 0;
  private readonly wheel = new Int32Array(WHEEL_SIZE).fill(-1);
  /** Last tick the wheel was advanced to, relative to `base`. */
  private tick = 0;
  /**
   * Absolute tick of relative tick 0. Expiries are stored as 32-bit ticks relative to it; the base
   * moves forward (rebase()) long before they could wrap, so a capture may span years.
   */
  private base = 0;

  constructor(addrWords: number, capacity: number, maxCapacity = capacity) {
    if (addrWords !== 1 && addrWords !== 4) throw new Error('addrWords must be 1 (IPv4) or 4 (IPv6)');
    this.addrWords = addrWords;
    this.stride = 2 * addrWords + FIXED_WORDS;
    this.maxCapacity = Math.max(maxCapacity, capacity);
    this.resize(Math.max(16, capacity));
  }

  /** Bytes held by the table (what one connection costs is this over `count`). */
  byteSize(): number {
    return this.u32.byteLength + this.buckets.byteLength + this.wheel.byteLength;
  }

  private resize(capacity: number): void {
    const old = this.u32;
    const oldCapacity = this.capacity;
    this.u32 = new Uint32Array(capacity * this.stride);
    if (old !== undefined) this.u32.set(old);
    this.i32 = new Int32Array(this.u32.buffer);
    this.capacity = capacity;
    // Average chain length up to 2: a bucket head costs 2-4 bytes per connection, a probe is cheap.
    let nb = 16;
    while (nb * 2 < capacity) nb *= 2;
    this.buckets = new Int32Array(nb).fill(-1);
    this.bucketMask = nb - 1;
    for (let i = 0; i < oldCapacity; i++) if (this.isLive(i)) this.hashInsert(i);
  }

  // ---- field access (small methods: V8 inlines them) ----

  /** Word offset of the first field after the addresses. */
  private p(slot: number): number {
    return slot * this.stride + 2 * this.addrWords;
  }
  /** Word offset of the client address (caddr) and of the virtual address (vaddr = caddrAt + addrWords). */
  caddrAt(slot: number): number {
    return slot * this.stride;
  }
  vaddrAt(slot: number): number {
    return slot * this.stride + this.addrWords;
  }
  /** The record words (addresses are read from here at caddrAt/vaddrAt). */
  get words(): Uint32Array {
    return this.u32;
  }
  /** True for a slot holding an entry (connection or template). */
  isLive(slot: number): boolean {
    return this.u32[this.p(slot) + F_META] !== 0;
  }
  proto(slot: number): number {
    return this.u32[this.p(slot) + F_META] & 0xff;
  }
  state(slot: number): number {
    return (this.u32[this.p(slot) + F_META] >>> 8) & 0xff;
  }
  setState(slot: number, state: number): void {
    const i = this.p(slot) + F_META;
    this.u32[i] = (this.u32[i] & 0xffff00ff) | (state << 8);
  }
  flags(slot: number): number {
    return this.u32[this.p(slot) + F_META] >>> 16;
  }
  setFlags(slot: number, flags: number): void {
    const i = this.p(slot) + F_META;
    this.u32[i] = ((this.u32[i] & 0xffff) | (flags << 16)) >>> 0;
  }
  cport(slot: number): number {
    return this.u32[this.p(slot) + F_PORTS] >>> 16;
  }
  vport(slot: number): number {
    return this.u32[this.p(slot) + F_PORTS] & 0xffff;
  }
  dest(slot: number): number {
    return this.i32[this.p(slot) + F_DEST];
  }
  dport(slot: number): number {
    return this.u32[this.p(slot) + F_DPORT] & 0xffff;
  }
  lport(slot: number): number {
    return this.u32[this.p(slot) + F_DPORT] >>> 16;
  }
  laddr(slot: number): number {
    return this.u32[this.p(slot) + F_LADDR];
  }
  /** Sets the FULLNAT local address and port. */
  setLocal(slot: number, laddr: number, lport: number): void {
    const p = this.p(slot);
    this.u32[p + F_LADDR] = laddr;
    this.u32[p + F_DPORT] = ((this.u32[p + F_DPORT] & 0xffff) | (lport << 16)) >>> 0;
  }
  /** A template's own timeout in ms (kept from its creation, as the kernel keeps it). */
  templateTimeout(slot: number): number {
    return this.u32[this.p(slot) + F_LADDR];
  }
  setTemplateTimeout(slot: number, ms: number): void {
    this.u32[this.p(slot) + F_LADDR] = ms;
  }
  /** Makes a template unmatchable (the kernel sets its ports to 0xffff); it lives on until it expires. */
  invalidateTemplate(slot: number): void {
    this.u32[this.p(slot) + F_PORTS] = 0xffff;
  }
  aux(slot: number): number {
    return this.u32[this.p(slot) + F_AUX];
  }
  setAux(slot: number, v: number): void {
    this.u32[this.p(slot) + F_AUX] = v;
  }
  control(slot: number): number {
    return this.i32[this.p(slot) + F_CONTROL];
  }
  setControl(slot: number, v: number): void {
    this.i32[this.p(slot) + F_CONTROL] = v;
  }
  expires(slot: number): number {
    return this.u32[this.p(slot) + F_EXPIRES];
  }

  // ---- hashing ----

  private hashSlot(slot: number): number {
    const words = this.i32;
    const a = this.caddrAt(slot);
    let h = Math.imul(this.cport(slot) | (this.proto(slot) << 16), 0x9e3779b1);
    for (let i = 0; i < this.addrWords; i++) h = mix(h ^ words[a + i]);
    return mix(h) & this.bucketMask;
  }

  private hashBuf(proto: number, buf: Uint8Array, addrOff: number, port: number): number {
    let h = Math.imul(port | (proto << 16), 0x9e3779b1);
    for (let i = 0; i < this.addrWords; i++) h = mix(h ^ word(buf, addrOff + 4 * i));
    return mix(h) & this.bucketMask;
  }

  private hashInsert(slot: number): void {
    const b = this.hashSlot(slot);
    this.i32[this.p(slot) + F_HNEXT] = this.buckets[b];
    this.buckets[b] = slot;
  }

  private hashRemove(slot: number): void {
    const b = this.hashSlot(slot);
    const next = this.i32[this.p(slot) + F_HNEXT];
    let i = this.buckets[b];
    if (i === slot) {
      this.buckets[b] = next;
      return;
    }
    while (i >= 0) {
      const n = this.i32[this.p(i) + F_HNEXT];
      if (n === slot) {
        this.i32[this.p(i) + F_HNEXT] = next;
        return;
      }
      i = n;
    }
  }

  private addrEquals(at: number, buf: Uint8Array, off: number): boolean {
    const a = this.i32;
    for (let i = 0; i < this.addrWords; i++) if (a[at + i] !== word(buf, off + 4 * i)) return false;
    return true;
  }

  /**
   * "In" lookup: a packet from a client (saddr:sport → daddr:dport). Matches the client and the
   * virtual address/port the client used. Templates never match. Returns a slot or -1.
   */
  lookupIn(proto: number, buf: Uint8Array, srcOff: number, sport: number, dstOff: number, dport: number): number {
    const key = (sport << 16) | dport;
    const s = this.i32;
    const w = this.addrWords;
    for (let i = this.buckets[this.hashBuf(proto, buf, srcOff, sport)]; i >= 0; i = s[this.p(i) + F_HNEXT]) {
      const p = this.p(i);
      const meta = s[p + F_META];
      if (s[p + F_PORTS] === key && (meta & 0xff) === proto && (meta & (CONN_F_TEMPLATE << 16)) === 0 &&
        this.addrEquals(p - 2 * w, buf, srcOff) && this.addrEquals(p - w, buf, dstOff)) {
        return i;
      }
    }
    return -1;
  }

  /**
   * The first slot of the hash chain lookupIn walks for this client, or -1: one bucket read, for
   * callers that touch a whole batch's lookups before processing it (LookupWarmer). No state
   * changes.
   */
  chainHead(proto: number, buf: Uint8Array, srcOff: number, sport: number): number {
    return this.buckets[this.hashBuf(proto, buf, srcOff, sport)];
  }

  /**
   * Loads the record at `slot` (its first and last words: a record may straddle two cache lines)
   * and returns a word of it; any slot below the capacity is harmless to read.
   */
  touchSlot(slot: number): number {
    const p = this.p(slot);
    return this.i32[p - 2 * this.addrWords] ^ this.i32[p + F_LADDR];
  }

  /**
   * Persistence template lookup: key (proto, masked client at buf[caddrOff], client port 0,
   * virtual address at buf[vaddrOff], vport). Returns a slot or -1.
   */
  lookupTemplate(proto: number, buf: Uint8Array, caddrOff: number, vaddrOff: number, vport: number): number {
    const s = this.i32;
    const w = this.addrWords;
    for (let i = this.buckets[this.hashBuf(proto, buf, caddrOff, 0)]; i >= 0; i = s[this.p(i) + F_HNEXT]) {
      const p = this.p(i);
      const meta = s[p + F_META];
      if (s[p + F_PORTS] === vport && (meta & 0xff) === proto && (meta & (CONN_F_TEMPLATE << 16)) !== 0 &&
        this.addrEquals(p - 2 * w, buf, caddrOff) && this.addrEquals(p - w, buf, vaddrOff)) {
        return i;
      }
    }
    return -1;
  }

  /**
   * "Out" lookup of a NAT reply (real server saddr:sport → client daddr:dport): matches the
   * client side, then asks `matcher` whether the entry's real server is (saddr, sport).
   */
  lookupOut(proto: number, buf: Uint8Array, dstOff: number, dport: number, matcher: ReplyMatcher,
    srcOff: number, sport: number): number {
    const u = this.u32;
    const w = this.addrWords;
    for (let i = this.buckets[this.hashBuf(proto, buf, dstOff, dport)]; i >= 0; i = this.i32[this.p(i) + F_HNEXT]) {
      const p = this.p(i);
      const meta = this.i32[p + F_META];
      if ((u[p + F_PORTS] >>> 16) === dport && (meta & 0xff) === proto && (meta & (CONN_F_TEMPLATE << 16)) === 0 &&
        this.addrEquals(p - 2 * w, buf, dstOff) && matcher.replyMatches(this, i, buf, srcOff, sport)) {
        return i;
      }
    }
    return -1;
  }

  /**
   * Creates an entry for a packet's client and virtual address/port (read from the packet),
   * hashed and armed to expire at `expires`. Returns the slot, or -1 when the table is full.
   */
  create(proto: number, buf: Uint8Array, caddrOff: number, cport: number, vaddrOff: number, vport: number,
    destId: number, dport: number, flags: number, expires: number): number {
    let slot: number;
    // The limit counts live entries (the table itself never holds fewer than 16 slots).
    if (this.count >= this.maxCapacity) return -1;
    if (this.freeHead >= 0) {
      slot = this.freeHead;
      this.freeHead = this.i32[this.p(slot) + F_HNEXT];
    } else {
      if (this.fresh === this.capacity) {
        if (this.capacity >= this.maxCapacity) return -1;
        this.resize(Math.min(this.maxCapacity, this.capacity * 2));
      }
      slot = this.fresh++;
    }
    const u = this.u32;
    const w = this.addrWords;
    const base = slot * this.stride;
    const a = this.i32;
    for (let i = 0; i < w; i++) {
      a[base + i] = word(buf, caddrOff + 4 * i);
      a[base + w + i] = word(buf, vaddrOff + 4 * i);
    }
    const p = base + 2 * w;
    u[p + F_PORTS] = ((cport << 16) | vport) >>> 0;
    u[p + F_META] = (proto | (flags << 16)) >>> 0;
    u[p + F_EXPIRES] = expires;
    this.i32[p + F_DEST] = destId;
    u[p + F_DPORT] = dport;
    u[p + F_AUX] = 0;
    this.i32[p + F_CONTROL] = -1;
    u[p + F_LADDR] = 0;
    this.hashInsert(slot);
    this.wheelInsert(slot);
    this.count++;
    return slot;
  }

  /** Moves an entry's expiry (every packet re-arms its entry). */
  rearm(slot: number, expires: number): void {
    const p = this.p(slot);
    this.u32[p + F_EXPIRES] = expires;
    // Later than the wheel's next look: that look re-files it. Earlier: move it now.
    if (expires < this.u32[p + F_WHEEL_AT]) {
      this.wheelRemove(slot);
      this.wheelInsert(slot);
    }
  }

  /** Removes an entry at once (its owner already undid counters and resources). */
  remove(slot: number): void {
    this.wheelRemove(slot);
    this.release(slot);
  }

  /** Frees a slot that is already off the wheel. */
  private release(slot: number): void {
    this.hashRemove(slot);
    const p = this.p(slot);
    this.u32[p + F_META] = 0;
    this.i32[p + F_HNEXT] = this.freeHead;
    this.freeHead = slot;
    this.count--;
  }

  private wheelInsert(slot: number): void {
    const p = this.p(slot);
    const e = this.u32[p + F_EXPIRES];
    // Entries already due go in the next slot to be walked.
    const target = e > this.tick ? e : this.tick + 1;
    const s = target & WHEEL_MASK;
    // The first tick after now at which slot s is walked (at most `target`).
    this.u32[p + F_WHEEL_AT] = this.tick + 1 + ((s - this.tick - 1) & WHEEL_MASK);
    const head = this.wheel[s];
    this.i32[p + F_WNEXT] = head;
    this.i32[p + F_WPREV] = -1 - s; // negative: the slot's head points at it
    if (head >= 0) this.i32[this.p(head) + F_WPREV] = slot;
    this.wheel[s] = slot;
  }

  private wheelRemove(slot: number): void {
    const p = this.p(slot);
    const prev = this.i32[p + F_WPREV];
    const next = this.i32[p + F_WNEXT];
    if (prev >= 0) this.i32[this.p(prev) + F_WNEXT] = next;
    else this.wheel[-1 - prev] = next;
    if (next >= 0) this.i32[this.p(next) + F_WPREV] = prev;
  }

  /** The current tick in the table's own time base: expiries given to create/rearm/setExpires are now + timeout. */
  get now(): number {
    return this.tick;
  }

  /**
   * Advances the clock to `tick`, visiting every tick in between in order, so that entries expire
   * in time order (a template must see its connections expire before its own timer fires, as the
   * kernel's timers would have it). During a visit `now` is the visited tick. Every entry with
   * expires <= now goes to the handler, which returns true to have it removed, or false after
   * moving its expiry forward with setExpires (it must not call rearm or remove for that slot).
   * An empty tick costs one array read: an idle hour of capture is a few milliseconds.
   */
  advance(absoluteTick: number, handler: ExpiryHandler): void {
    // Relative to the base, which skipIdle() may move. After skipIdle() found something due
    // within a turn, a whole turn is stepped before it is asked again (it scans the table).
    let stepUntil = 0;
    while (this.tick < absoluteTick - this.base) {
      const tick = absoluteTick - this.base;
      if (tick - this.tick > WHEEL_SIZE && this.tick >= stepUntil) {
        if (this.skipIdle(tick)) {
          stepUntil = 0;
          continue;
        }
        stepUntil = this.tick + WHEEL_SIZE;
      }
      const t = ++this.tick;
      const s = t & WHEEL_MASK;
      let i = this.wheel[s];
      if (i < 0) continue;
      // Detach the chain: entries re-filed into this same slot are not walked again now.
      this.wheel[s] = -1;
      while (i >= 0) {
        const p = this.p(i);
        const next = this.i32[p + F_WNEXT];
        if (this.u32[p + F_EXPIRES] <= t && handler.connExpired(this, i)) this.release(i);
        else this.wheelInsert(i);
        i = next;
      }
    }
    if (this.tick >= REBASE_AT) this.rebase();
  }

  /**
   * A long gap in the clock: when nothing expires within the next turn of the wheel, jumps to a
   * turn before the earliest expiry (or to `tick`) and files every entry afresh, instead of
   * stepping through idle ticks. O(table), and only when a whole idle turn is skipped. Returns
   * false when something is due soon (the caller steps).
   */
  private skipIdle(tick: number): boolean {
    let earliest = Infinity;
    const u = this.u32;
    for (let i = 0; i < this.fresh; i++) {
      if (this.isLive(i)) earliest = Math.min(earliest, u[this.p(i) + F_EXPIRES]);
    }
    if (earliest <= this.tick + WHEEL_SIZE) return false;
    this.tick = Math.min(tick, earliest - WHEEL_SIZE);
    this.wheel.fill(-1);
    for (let i = 0; i < this.fresh; i++) if (this.isLive(i)) this.wheelInsert(i);
    if (this.tick >= REBASE_AT) this.rebase();
    return true;
  }

  /**
   * Moves the time base forward by whole turns of the wheel (slots stay where they are), so that
   * now + the longest timeout (31 days of persistence) always fits the 32-bit fields. Runs once
   * every ~12 days of engine time, in O(table).
   */
  private rebase(): void {
    const shift = Math.floor(this.tick / WHEEL_SIZE) * WHEEL_SIZE;
    const u = this.u32;
    for (let i = 0; i < this.fresh; i++) {
      if (!this.isLive(i)) continue;
      const p = this.p(i);
      u[p + F_EXPIRES] = Math.max(0, u[p + F_EXPIRES] - shift);
      u[p + F_WHEEL_AT] = Math.max(0, u[p + F_WHEEL_AT] - shift);
    }
    this.tick -= shift;
    this.base += shift;
  }

  /** For an ExpiryHandler keeping an entry: its new expiry (the wheel re-files it). */
  setExpires(slot: number, expires: number): void {
    this.u32[this.p(slot) + F_EXPIRES] = expires;
  }

  /** Writes the address whose words start at `at` (caddrAt / vaddrAt) into out[0..] as 4 or 16 bytes. */
  copyAddr(at: number, out: Uint8Array): void {
    const u = this.u32;
    for (let i = 0; i < this.addrWords; i++) {
      const v = u[at + i];
      out[4 * i] = v >>> 24;
      out[4 * i + 1] = (v >>> 16) & 0xff;
      out[4 * i + 2] = (v >>> 8) & 0xff;
      out[4 * i + 3] = v & 0xff;
    }
  }

  /** Slots used so far: every live entry lies below it (a walk over the table need go no further). */
  get highWater(): number {
    return this.fresh;
  }

  /** Visits every live entry (slow path: listings, tests). */
  forEach(fn: (slot: number) => void): void {
    for (let i = 0; i < this.fresh; i++) if (this.isLive(i)) fn(i);
  }
}
