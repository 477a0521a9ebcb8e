/**
 * The connection table: every field of every connection in typed arrays (struct of arrays),
 * indexed by a slot number. No objects per connection, no string keys.
 *
 * Keying follows IPVS (ipvs-facts 1.3): one hash over (protocol, client address, client port)
 * serves both the "in" lookup (packet from the client) and the "out" lookup of NAT replies
 * (packet towards the client). Addresses are stored as `addrWords` 32-bit words per address
 * (1 for an IPv4 table, 4 for an IPv6 table): one code path, no 32-bit assumption.
 *
 * Expiry runs on the injected clock through a timer wheel of 1 ms ticks (65,536 slots, so the
 * wheel turns every 65.5 s; entries due later stay in their slot and are re-filed when it
 * comes round). Entries are doubly linked into their slot so a re-arm moves them in O(1).
 */

export const CONN_METHOD_MASK = 0x0007;
/** Replies never cross the director (every non-NAT method): INPUT-ONLY state table. */
export const CONN_F_NOOUTPUT = 0x0080;
/** The entry counts in its dest's inactconns (else activeconns). */
export const CONN_F_INACTIVE = 0x0100;
/** A persistence template (issue 4). */
export const CONN_F_TEMPLATE = 0x1000;
/** FULLNAT: the real server's ISN is known (rsIsn valid). */
export const CONN_F_ISN_KNOWN = 0x2000;
/** FULLNAT: the TOA option has been inserted. */
export const CONN_F_TOA_DONE = 0x4000;
/** Templates whose timer fired while still controlling connections keep a 60 s timeout for good. */
export const CONN_F_TIMEOUT_60 = 0x8000;

/** proto value of a free slot. */
const FREE = 0;

const WHEEL_BITS = 16;
const WHEEL_SIZE = 1 << WHEEL_BITS;
const WHEEL_MASK = WHEEL_SIZE - 1;

/** Told about every entry whose time has come: true = remove it, false = keep it (expires was moved). */
export interface ExpiryHandler {
  connExpired(table: ConnTable, slot: number): boolean;
}

function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Reads the 32-bit big-endian word at buf[off]. */
function word(buf: Uint8Array, off: number): number {
  return ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0;
}

export class ConnTable {
  readonly addrWords: number;
  capacity: number;
  readonly maxCapacity: number;
  /** Live entries (templates included). */
  count = 0;

  caddr!: Uint32Array;
  vaddr!: Uint32Array;
  /** cport << 16 | vport. */
  ports!: Uint32Array;
  /** Real server port of the entry. */
  dport!: Uint16Array;
  /** FULLNAT local port and local address index. */
  lport!: Uint16Array;
  laddr!: Uint16Array;
  dest!: Int32Array;
  proto!: Uint8Array;
  state!: Uint8Array;
  flags!: Uint16Array;
  /** Expiry time in clock ticks (ms since the table's epoch). */
  expires!: Uint32Array;
  /** FULLNAT: real server ISN; templates: number of controlled entries. */
  aux!: Uint32Array;
  /** Controlling template slot, or -1. */
  control!: Int32Array;
  private hnext!: Int32Array;
  private wnext!: Int32Array;
  private wprev!: Int32Array;
  private buckets!: Int32Array;
  private bucketMask = 0;
  private freeHead = -1;
  /** Slots never used yet start at `fresh`; below it, free slots are on the free list. */
  private fresh = 0;
  private readonly wheel = new Int32Array(WHEEL_SIZE).fill(-1);
  /** Last tick the wheel was advanced to. */
  private tick = 0;

  constructor(addrWords: number, capacity: number, maxCapacity = capacity) {
    if (addrWords !== 1 && addrWords !== 4) throw new Error('addrWords must be 1 (IPv4) or 4 (IPv6)');
    this.addrWords = addrWords;
    this.capacity = 0;
    this.maxCapacity = Math.max(maxCapacity, capacity);
    this.resize(Math.max(16, capacity));
  }

  /** Bytes held by the table's arrays (what one connection costs is this over `count`). */
  byteSize(): number {
    let n = this.wheel.byteLength + this.buckets.byteLength;
    for (const a of [this.caddr, this.vaddr, this.ports, this.dport, this.lport, this.laddr, this.dest,
      this.proto, this.state, this.flags, this.expires, this.aux, this.control, this.hnext, this.wnext, this.wprev]) {
      n += a.byteLength;
    }
    return n;
  }

  private resize(capacity: number): void {
    const w = this.addrWords;
    const old = this.capacity;
    const grow = <T extends Uint8Array | Uint16Array | Uint32Array | Int32Array>(a: T | undefined, per: number, ctor: { new (n: number): T }): T => {
      const b = new ctor(capacity * per);
      if (a) b.set(a);
      return b;
    };
    this.caddr = grow(this.caddr, w, Uint32Array);
    this.vaddr = grow(this.vaddr, w, Uint32Array);
    this.ports = grow(this.ports, 1, Uint32Array);
    this.dport = grow(this.dport, 1, Uint16Array);
    this.lport = grow(this.lport, 1, Uint16Array);
    this.laddr = grow(this.laddr, 1, Uint16Array);
    this.dest = grow(this.dest, 1, Int32Array);
    this.proto = grow(this.proto, 1, Uint8Array);
    this.state = grow(this.state, 1, Uint8Array);
    this.flags = grow(this.flags, 1, Uint16Array);
    this.expires = grow(this.expires, 1, Uint32Array);
    this.aux = grow(this.aux, 1, Uint32Array);
    this.control = grow(this.control, 1, Int32Array);
    this.hnext = grow(this.hnext, 1, Int32Array);
    this.wnext = grow(this.wnext, 1, Int32Array);
    this.wprev = grow(this.wprev, 1, Int32Array);
    this.capacity = capacity;
    // Average chain length about 2: a bucket head costs 4 bytes, a probe is cheap.
    let nb = 16;
    while (nb * 2 < capacity) nb *= 2;
    this.buckets = new Int32Array(nb).fill(-1);
    this.bucketMask = nb - 1;
    for (let i = 0; i < old; i++) if (this.proto[i] !== FREE) this.hashInsert(i);
  }

  private hashSlot(slot: number): number {
    return this.hashKey(this.proto[slot], this.caddr, slot * this.addrWords, this.ports[slot] >>> 16);
  }

  private hashKey(proto: number, words: Uint32Array, at: number, port: number): number {
    let h = Math.imul(port | (proto << 16), 0x9e3779b1);
    for (let i = 0; i < this.addrWords; i++) h = mix(h ^ words[at + i]);
    return mix(h) & this.bucketMask;
  }

  private hashBuf(proto: number, buf: Uint8Array, addrOff: number, port: number): number {
    let h = Math.imul(port | (proto << 16), 0x9e3779b1);
    for (let i = 0; i < this.addrWords; i++) h = mix(h ^ word(buf, addrOff + 4 * i));
    return mix(h) & this.bucketMask;
  }

  private hashInsert(slot: number): void {
    const b = this.hashSlot(slot);
    this.hnext[slot] = this.buckets[b];
    this.buckets[b] = slot;
  }

  private hashRemove(slot: number): void {
    const b = this.hashSlot(slot);
    let i = this.buckets[b];
    if (i === slot) {
      this.buckets[b] = this.hnext[slot];
      return;
    }
    while (i >= 0) {
      const n = this.hnext[i];
      if (n === slot) {
        this.hnext[i] = this.hnext[slot];
        return;
      }
      i = n;
    }
  }

  private addrEquals(words: Uint32Array, at: number, buf: Uint8Array, off: number): boolean {
    for (let i = 0; i < this.addrWords; i++) if (words[at + i] !== word(buf, off + 4 * i)) return false;
    return true;
  }

  /**
   * "In" lookup: a packet from a client (saddr:sport → daddr:dport). Matches the client and the
   * virtual address/port the client used. Templates never match. Returns a slot or -1.
   */
  lookupIn(proto: number, buf: Uint8Array, srcOff: number, sport: number, dstOff: number, dport: number): number {
    const key = ((sport << 16) | dport) >>> 0;
    const w = this.addrWords;
    for (let i = this.buckets[this.hashBuf(proto, buf, srcOff, sport)]; i >= 0; i = this.hnext[i]) {
      if (this.ports[i] === key && this.proto[i] === proto && (this.flags[i] & CONN_F_TEMPLATE) === 0 &&
        this.addrEquals(this.caddr, i * w, buf, srcOff) && this.addrEquals(this.vaddr, i * w, buf, dstOff)) {
        return i;
      }
    }
    return -1;
  }

  /**
   * "Out" lookup of a NAT reply (real server saddr:sport → client daddr:dport): matches the
   * client side, then asks `realServerMatches` whether the entry's dest is (saddr, sport).
   */
  lookupOut(proto: number, buf: Uint8Array, dstOff: number, dport: number, matcher: ReplyMatcher,
    srcOff: number, sport: number): number {
    const w = this.addrWords;
    for (let i = this.buckets[this.hashBuf(proto, buf, dstOff, dport)]; i >= 0; i = this.hnext[i]) {
      if ((this.ports[i] >>> 16) === dport && this.proto[i] === proto && (this.flags[i] & CONN_F_TEMPLATE) === 0 &&
        this.addrEquals(this.caddr, i * w, buf, dstOff) && matcher.replyMatches(this, i, buf, srcOff, sport)) {
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
    if (this.freeHead >= 0) {
      slot = this.freeHead;
      this.freeHead = this.hnext[slot];
    } else {
      if (this.fresh === this.capacity) {
        if (this.capacity >= this.maxCapacity) return -1;
        this.resize(Math.min(this.maxCapacity, this.capacity * 2));
      }
      slot = this.fresh++;
    }
    const w = this.addrWords;
    for (let i = 0; i < w; i++) {
      this.caddr[slot * w + i] = word(buf, caddrOff + 4 * i);
      this.vaddr[slot * w + i] = word(buf, vaddrOff + 4 * i);
    }
    this.ports[slot] = ((cport << 16) | vport) >>> 0;
    this.dport[slot] = dport;
    this.lport[slot] = 0;
    this.laddr[slot] = 0;
    this.dest[slot] = destId;
    this.proto[slot] = proto;
    this.state[slot] = 0;
    this.flags[slot] = flags;
    this.aux[slot] = 0;
    this.control[slot] = -1;
    this.expires[slot] = expires;
    this.hashInsert(slot);
    this.wheelInsert(slot);
    this.count++;
    return slot;
  }

  /** Moves an entry's expiry (every packet re-arms its entry). */
  rearm(slot: number, expires: number): void {
    if (this.expires[slot] === expires) return;
    this.wheelRemove(slot);
    this.expires[slot] = expires;
    this.wheelInsert(slot);
  }

  /** Removes an entry at once (its owner already undid counters and resources). */
  remove(slot: number): void {
    this.wheelRemove(slot);
    this.release(slot);
  }

  private wheelInsert(slot: number): void {
    // Entries already due go in the next slot to be walked.
    const e = this.expires[slot];
    const s = (e > this.tick ? e : this.tick + 1) & WHEEL_MASK;
    const head = this.wheel[s];
    this.wnext[slot] = head;
    this.wprev[slot] = -1 - s; // negative: the slot's head points at it
    if (head >= 0) this.wprev[head] = slot;
    this.wheel[s] = slot;
  }

  private wheelRemove(slot: number): void {
    const prev = this.wprev[slot];
    const next = this.wnext[slot];
    if (prev >= 0) this.wnext[prev] = next;
    else this.wheel[-1 - prev] = next;
    if (next >= 0) this.wprev[next] = prev;
  }

  /** The tick the wheel has been advanced to. */
  get now(): number {
    return this.tick;
  }

  /**
   * Advances the clock to `tick`, handing every entry with expires <= tick to the handler. The
   * handler returns true to have the entry removed, or false after moving `expires[slot]`
   * forward itself (it must not call rearm or remove for that slot).
   */
  advance(tick: number, handler: ExpiryHandler): void {
    if (tick <= this.tick) return;
    const from = this.tick + 1;
    // After a jump longer than a turn, one walk of every slot sees every entry.
    const steps = Math.min(tick - this.tick, WHEEL_SIZE);
    this.tick = tick;
    for (let k = 0; k < steps; k++) {
      const s = (from + k) & WHEEL_MASK;
      let i = this.wheel[s];
      if (i < 0) continue;
      // Detach the chain: entries re-filed into this same slot are not walked again now.
      this.wheel[s] = -1;
      while (i >= 0) {
        const next = this.wnext[i];
        if (this.expires[i] <= tick && handler.connExpired(this, i)) this.release(i);
        else this.wheelInsert(i);
        i = next;
      }
    }
  }

  /** Frees a slot that is already off the wheel. */
  private release(slot: number): void {
    this.hashRemove(slot);
    this.proto[slot] = FREE;
    this.hnext[slot] = this.freeHead;
    this.freeHead = slot;
    this.count--;
  }

  /** Visits every live entry (slow path: listings, tests). */
  forEach(fn: (slot: number) => void): void {
    for (let i = 0; i < this.fresh; i++) if (this.proto[i] !== FREE) fn(i);
  }
}

/** Decides whether a connection's real-server side is (saddr, sport) of a reply packet. */
export interface ReplyMatcher {
  replyMatches(table: ConnTable, slot: number, buf: Uint8Array, srcOff: number, sport: number): boolean;
}
