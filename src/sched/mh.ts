/**
 * mh - Maglev hashing (kernel ip_vs_mh.c, Linux 4.18+; ipvs-schedulers.md 13, ipvs-facts.md 2.11).
 *
 * State: a lookup table of M slots (M = 4093 by default: the prime picked by
 * CONFIG_IP_VS_MH_TAB_INDEX = 12), each holding a dest id or EMPTY, plus the gcd and shift of
 * the weights it was built with. The kernel rebuilds it on every add, delete and edit:
 *
 * - weights are the dests' last_weight (the latest non-zero weight), so quiescing a dest to
 *   weight 0 keeps its slots: they answer none (or fall back) until the dest is deleted;
 * - g = gcd of the positive last_weights (none: the table empties); rshift = max(0,
 *   bitlength(max / g) - TAB_BITS) with TAB_BITS = 12 / 2 = 6; turns = (last_weight / g) >>
 *   rshift, at least 1 for a positive last_weight, 0 (no slot at all) for last_weight 0;
 * - each dest hashes v = port + folded address (service family) with hsiphash under two fixed
 *   keys: offset = H1(v) mod M, skip = H2(v) mod (M - 1) + 1; its cursor starts at offset;
 * - laps over the list in order: each dest with turns > 0 claims `turns` slots one after
 *   another, each time stepping its cursor by skip (mod M) past taken slots; the M-th claim ends
 *   the fill, possibly in the middle of a dest's turns;
 * - with more dests than slots the kernel refuses (EINVAL) and the table stays as it was.
 *
 * A packet's slot is H1(port + folded source address) mod M (port as in hash-port.ts). Its dest
 * is chosen if usable (weight > 0, no OVERLOAD), else none - unless the service has mh-fallback:
 * then for k = 0 .. M-1 the slot H1(((slot + k) mod M) + port + address) mod M is tried (the
 * probe offset is hashed in, unlike sh); the first usable dest wins, an empty slot ends with none.
 *
 * The hsiphash is the 64-bit kernel's (SipHash-1-3, low 32 bits) of the little-endian image of v:
 * what x86_64 and arm64 kernels compute. Worked example (ipvs-schedulers.md 13): 10.0.0.1:80 ->
 * v = 0x0A000051, H1 = 0x439c0cbe -> offset 3167, H2 = 0x97b3dc47 -> skip 700.
 */
import { SCHED_FLAG_1 } from '../control/config';
import { DEST_OVERLOAD } from '../ipvs/dest-table';
import { foldAddressWords } from '../wire/fold';
import { hashedSourcePort } from './hash-port';
import { SipKey, hsiphashU32Mod } from './hsiphash';
import type { SchedPacket, SchedService, Scheduler, SchedulerFactory } from './scheduler';

/** The table sizes for CONFIG_IP_VS_MH_TAB_INDEX = 8 .. 17. */
export const MH_TAB_SIZES: readonly number[] = [251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071];
/** The kernel's default CONFIG_IP_VS_MH_TAB_INDEX (M = 4093). */
export const MH_TAB_INDEX = 12;
/** The fixed keys of generate_hash_secret(): both words 2654435761 (hash1) and 2654446892 (hash2). */
export const MH_KEY1 = new SipKey(0, 2654435761, 0, 2654435761);
export const MH_KEY2 = new SipKey(0, 2654446892, 0, 2654446892);

const EMPTY = -1;

/** A dest's first preferred slot: H1(v) mod M, v = port + folded address. */
export function maglevOffset(v: number, size: number): number {
  return hsiphashU32Mod(MH_KEY1, v, size);
}

/** A dest's step between preferred slots: H2(v) mod (M - 1) + 1, never 0. */
export function maglevSkip(v: number, size: number): number {
  return hsiphashU32Mod(MH_KEY2, v, size - 1) + 1;
}

/** Slots a dest claims per lap: (lastWeight / g) >> rshift, at least 1 unless lastWeight is 0. */
export function maglevTurns(lastWeight: number, gcd: number, rshift: number): number {
  if (lastWeight <= 0) return 0;
  return Math.trunc(lastWeight / gcd) >> rshift || 1;
}

/** Greatest common divisor of two positive integers. */
function gcd(a: number, b: number): number {
  while (b !== 0) {
    const r = a % b;
    a = b;
    b = r;
  }
  return a;
}

/**
 * The Maglev fill: laps over the dests (ids[0 .. count-1], list order) until all table.length
 * slots are taken; dest i claims turns[i] slots per lap, stepping perm[i] by skip[i] past taken
 * slots. perm[] is advanced in place (it ends on each dest's last claimed slot); `taken` is
 * scratch of the table's length. Some turns[i] must be > 0. Skips must be in 1 .. M-1 with M
 * prime, so that every cursor eventually visits every slot.
 */
export function maglevPopulate(
  table: Int32Array,
  taken: Uint8Array,
  ids: ArrayLike<number>,
  count: number,
  perm: Int32Array,
  skip: Int32Array,
  turns: Int32Array,
): void {
  const size = table.length;
  taken.fill(0);
  let claimed = 0;
  for (;;) {
    for (let i = 0; i < count; i++) {
      for (let t = turns[i]; t > 0; t--) {
        let c = perm[i];
        while (taken[c] !== 0) {
          c += skip[i];
          if (c >= size) c -= size;
        }
        perm[i] = c;
        taken[c] = 1;
        table[c] = ids[i];
        if (++claimed === size) return;
      }
    }
  }
}

export class MaglevHashing implements Scheduler {
  readonly name = 'mh';
  /** M: the number of slots. */
  readonly size: number;
  /** MH_TAB_BITS = tab index / 2: the bit budget of max weight / gcd. */
  readonly tabBits: number;
  /** Slot -> dest id, or EMPTY (-1). */
  readonly table: Int32Array;
  private readonly taken: Uint8Array;
  /** Per list position, rebuilt on every change: cursor, skip, turns. Grown (only) in update(). */
  private perm = new Int32Array(8);
  private skip = new Int32Array(8);
  private turns = new Int32Array(8);
  private g = 0;
  private shift = 0;

  constructor(private readonly svc: SchedService, tabIndex = MH_TAB_INDEX) {
    if (!Number.isInteger(tabIndex) || tabIndex < 8 || tabIndex > 17) {
      throw new RangeError(`mh table index must be an integer in 8..17 (CONFIG_IP_VS_MH_TAB_INDEX), not ${tabIndex}`);
    }
    this.size = MH_TAB_SIZES[tabIndex - 8];
    this.tabBits = tabIndex >> 1;
    this.table = new Int32Array(this.size).fill(EMPTY);
    this.taken = new Uint8Array(this.size);
    this.rebuild();
  }

  /** The gcd of the positive last_weights at the last rebuild (0: none). */
  get gcd(): number {
    return this.g;
  }

  /** The weight shift of the last rebuild. */
  get rshift(): number {
    return this.shift;
  }

  schedule(pkt: SchedPacket): number {
    const table = this.table;
    const size = this.size;
    const flags = this.svc.schedFlags;
    // Kept as int32 (`| 0`, the same 32 bits as `>>> 0`): an unsigned value >= 2^31 passed to
    // the hash would be a heap number.
    const base = (hashedSourcePort(flags, pkt) + pkt.srcKey) | 0;
    const ihash = hsiphashU32Mod(MH_KEY1, base, size);
    const id = table[ihash];
    if (id === EMPTY) return -1;
    if (this.usable(id)) return id;
    if ((flags & SCHED_FLAG_1) === 0) return -1;
    for (let k = 0; k < size; k++) {
      let r = ihash + k;
      if (r >= size) r -= size;
      const probe = table[hsiphashU32Mod(MH_KEY1, (r + base) | 0, size)];
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
    const { list, af } = this.svc;
    const { lastWeight, port, addr } = this.svc.dests;
    const n = list.length;
    let g = 0;
    let max = 0;
    for (let i = 0; i < n; i++) {
      const lw = lastWeight[list[i]];
      if (lw > 0) {
        g = g > 0 ? gcd(lw, g) : lw;
        if (lw > max) max = lw;
      }
    }
    this.g = g;
    this.shift = g > 0 ? Math.max(0, 32 - Math.clz32(Math.trunc(max / g)) - this.tabBits) : 0;
    if (n > this.size) return; // the kernel refuses before touching the table
    if (g < 1) {
      this.table.fill(EMPTY);
      return;
    }
    if (this.perm.length < n) {
      const capacity = Math.max(n, this.perm.length * 2);
      this.perm = new Int32Array(capacity);
      this.skip = new Int32Array(capacity);
      this.turns = new Int32Array(capacity);
    }
    for (let i = 0; i < n; i++) {
      const id = list[i];
      const v = (port[id] + foldAddressWords(addr, id * 4, af)) >>> 0;
      this.perm[i] = maglevOffset(v, this.size);
      this.skip[i] = maglevSkip(v, this.size);
      this.turns[i] = maglevTurns(lastWeight[id], g, this.shift);
    }
    maglevPopulate(this.table, this.taken, list, n, this.perm, this.skip, this.turns);
  }
}

export const mhScheduler: SchedulerFactory = (svc) => new MaglevHashing(svc);
