/**
 * Which connection the later fragments of a datagram belong to. The kernel hands IPVS whole
 * datagrams (it reassembles first); uvs forwards fragments as they come instead, so the first
 * fragment (it carries the ports) decides and records its connection here, keyed like the
 * kernel's reassembly queues: (family, source, destination, protocol, identification). Later
 * fragments (no ports) find it here.
 *
 * Bounded and allocation-free: a fixed open-addressed table in typed arrays, probed over a short
 * window. An entry ends when its datagram is complete (every byte up to the last fragment's end
 * seen), or when the fragment timeout passes (30 s, the kernel's ipfrag_time), whichever is first;
 * an expired entry is free for reuse. When every entry of a window is live, a new datagram finds
 * no room (the caller drops its first fragment: counted, never a crash).
 */

/** The first fragment came from the client (in lookup) or from a real server (NAT/FULLNAT reply). */
export const FRAG_DIR_IN = 0;
export const FRAG_DIR_OUT = 1;

/** The kernel's default reassembly timeout (net.ipv4.ipfrag_time, net.ipv6.ip6frag_time). */
export const FRAGMENT_TIMEOUT_MS = 30_000;

/** Key words per entry: family and protocol, identification, 4 + 4 address words (IPv4 uses the first). */
const KEY_WORDS = 10;
const K_AF_PROTO = 0;
const K_ID = 1;
const K_SRC = 2;
const K_DST = 6;

function wordAt(buf: Uint8Array, off: number): number {
  return (buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3];
}

function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

export class FragmentTable {
  readonly capacity: number;
  /** Entries probed from a key's home position. */
  readonly window: number;
  readonly timeoutMs: number;
  /** Live entries (expired ones still count until they are found or reused). */
  count = 0;
  private readonly mask: number;
  private readonly keys: Int32Array;
  /** Expiry time in engine milliseconds; 0 = free. Times are >= 1 (see set). */
  private readonly expires: Float64Array;
  private readonly connSlot: Int32Array;
  private readonly dirs: Uint8Array;
  private readonly portWords: Int32Array;
  private readonly seen: Int32Array;
  /** Length of the datagram's fragmentable part once its last fragment was seen, else -1. */
  private readonly total: Int32Array;

  constructor(capacity = 4096, window = 8, timeoutMs = FRAGMENT_TIMEOUT_MS) {
    let c = 16;
    while (c < capacity) c *= 2;
    this.capacity = c;
    this.mask = c - 1;
    this.window = Math.max(1, Math.min(window, c));
    this.timeoutMs = timeoutMs;
    this.keys = new Int32Array(c * KEY_WORDS);
    this.expires = new Float64Array(c);
    this.connSlot = new Int32Array(c);
    this.dirs = new Uint8Array(c);
    this.portWords = new Int32Array(c);
    this.seen = new Int32Array(c);
    this.total = new Int32Array(c);
  }

  private home(af: number, proto: number, buf: Uint8Array, srcOff: number, dstOff: number, id: number): number {
    const words = af === 6 ? 4 : 1;
    let h = mix(Math.imul(id ^ ((af << 8) | proto), 0x9e3779b1));
    for (let i = 0; i < words; i++) {
      h = mix(h ^ wordAt(buf, srcOff + 4 * i));
      h = mix(h ^ wordAt(buf, dstOff + 4 * i));
    }
    return h & this.mask;
  }

  private matches(e: number, af: number, proto: number, buf: Uint8Array, srcOff: number, dstOff: number, id: number): boolean {
    const k = this.keys;
    const at = e * KEY_WORDS;
    if (k[at + K_AF_PROTO] !== ((af << 8) | proto) || k[at + K_ID] !== id) return false;
    const words = af === 6 ? 4 : 1;
    for (let i = 0; i < words; i++) {
      if (k[at + K_SRC + i] !== wordAt(buf, srcOff + 4 * i) || k[at + K_DST + i] !== wordAt(buf, dstOff + 4 * i)) return false;
    }
    return true;
  }

  /** The live entry of the datagram (af, proto, source and destination at buf, id), or -1. An expired one is freed. */
  find(af: number, proto: number, buf: Uint8Array, srcOff: number, dstOff: number, id: number, now: number): number {
    const start = this.home(af, proto, buf, srcOff, dstOff, id);
    for (let j = 0; j < this.window; j++) {
      const e = (start + j) & this.mask;
      const exp = this.expires[e];
      if (exp === 0 || !this.matches(e, af, proto, buf, srcOff, dstOff, id)) continue;
      if (exp > now) return e;
      this.free(e);
      return -1;
    }
    return -1;
  }

  /**
   * Where the datagram's entry can go: its own entry (a first fragment seen again), else a free
   * or expired one in its window; -1 when all of them are live. Nothing is written until setKey().
   */
  reserve(af: number, proto: number, buf: Uint8Array, srcOff: number, dstOff: number, id: number, now: number): number {
    const start = this.home(af, proto, buf, srcOff, dstOff, id);
    let room = -1;
    for (let j = 0; j < this.window; j++) {
      const e = (start + j) & this.mask;
      const exp = this.expires[e];
      if (exp !== 0 && this.matches(e, af, proto, buf, srcOff, dstOff, id)) return e;
      if (room < 0 && exp <= now) room = e;
    }
    return room;
  }

  /**
   * Writes the datagram's key into entry e (from reserve), before the first fragment is handled:
   * an in-place rewrite may change the addresses in the buffer. The entry is not live until bind().
   */
  setKey(e: number, af: number, proto: number, buf: Uint8Array, srcOff: number, dstOff: number, id: number): void {
    const k = this.keys;
    const at = e * KEY_WORDS;
    k[at + K_AF_PROTO] = (af << 8) | proto;
    k[at + K_ID] = id;
    const words = af === 6 ? 4 : 1;
    for (let i = 0; i < 4; i++) {
      k[at + K_SRC + i] = i < words ? wordAt(buf, srcOff + 4 * i) : 0;
      k[at + K_DST + i] = i < words ? wordAt(buf, dstOff + 4 * i) : 0;
    }
  }

  /**
   * Makes entry e (keyed by setKey) live: the datagram's fragments follow connection `slot` (in
   * direction dir, whose ports word is `ports`) for the fragment timeout from `now`.
   */
  bind(e: number, slot: number, dir: number, ports: number, now: number): void {
    if (this.expires[e] === 0) this.count++;
    this.expires[e] = Math.max(1, now + this.timeoutMs);
    this.connSlot[e] = slot;
    this.dirs[e] = dir;
    this.portWords[e] = ports;
    this.seen[e] = 0;
    this.total[e] = -1;
  }

  slot(e: number): number {
    return this.connSlot[e];
  }
  dir(e: number): number {
    return this.dirs[e];
  }
  ports(e: number): number {
    return this.portWords[e];
  }

  /**
   * Counts a fragment's data (dataLen bytes at `offset`; `more` clear for the last one) and frees
   * the entry once every byte up to the end of the datagram has been seen. Duplicates count twice,
   * so a duplicated fragment may end an entry early: the fragments after it are then dropped.
   */
  account(e: number, offset: number, dataLen: number, more: boolean): void {
    this.seen[e] += dataLen;
    if (!more) this.total[e] = offset + dataLen;
    if (this.total[e] >= 0 && this.seen[e] >= this.total[e]) this.free(e);
  }

  free(e: number): void {
    if (this.expires[e] === 0) return;
    this.expires[e] = 0;
    this.count--;
  }
}
