/**
 * Naive peers of the table schedulers (sh, dh, mh), written from ipvs-schedulers.md sections
 * 1.5-1.7 and 11-13. The kernel itself does not walk anything per decision: it hashes the packet
 * and reads one table entry, the table being rebuilt on configuration changes. So the naive peer
 * does the same per-packet work - one hash, one table read, the usable check - on a table this
 * file builds from the spec, with the hashes written the plain way: hash_32 as the multiply it is,
 * and mh's hsiphash as SipHash-1-3 in BigInt 64-bit arithmetic, a direct transcription of the
 * spec's rounds. The tables are built once, in prepare(), from the final list: every kernel
 * rebuild starts from scratch, so the table after the last change depends only on the final list.
 */
import { NaiveDest, NaiveScheduler, NaiveService, naiveUsable } from './sched-naive-dest';

const SCHED_FLAG_PORT = 0x0010;

/** 1.5: the source port when the service has the port flag and the protocol is TCP, UDP or SCTP. */
function hashedPort(schedFlags: number, sport: number, proto: number): number {
  return (schedFlags & SCHED_FLAG_PORT) !== 0 && (proto === 6 || proto === 17 || proto === 132) ? sport : 0;
}

/** 1.7 hash_32: the top `bits` bits of v * 0x61C88647 mod 2^32. */
function hash32(v: number, bits: number): number {
  return Math.imul(v, 0x61c88647) >>> (32 - bits);
}

abstract class TableScheduler implements NaiveScheduler {
  protected table: (NaiveDest | null)[] = [];
  constructor(protected readonly svc: NaiveService) {}
  changed(): void {}
  abstract prepare(): void;
  abstract decide(srcKey: number, dstKey: number, sport: number, proto: number, now: number): number;
}

/** sh (11): 256 buckets filled cyclically, max(weight, 1) in a row per dest; no fallback here. */
class NaiveSh extends TableScheduler {
  prepare(): void {
    const list = this.svc.list;
    this.table = new Array<NaiveDest | null>(256).fill(null);
    if (list.length === 0) return;
    let at = 0;
    let taken = 0;
    for (let b = 0; b < 256; b++) {
      const d = list[at];
      this.table[b] = d;
      taken++;
      if (taken >= Math.max(d.weight, 1)) {
        taken = 0;
        at = (at + 1) % list.length;
      }
    }
  }

  decide(srcKey: number, _dstKey: number, sport: number, proto: number): number {
    const d = this.table[hash32((hashedPort(this.svc.schedFlags, sport, proto) + srcKey) >>> 0, 8)];
    return d !== null && naiveUsable(d) ? d.id : -1;
  }
}

/** dh (12): bucket i holds the (i mod n)-th dest; the destination address picks the bucket. */
class NaiveDh extends TableScheduler {
  prepare(): void {
    const list = this.svc.list;
    this.table = [];
    for (let b = 0; b < 256; b++) this.table.push(list.length === 0 ? null : list[b % list.length]);
  }

  decide(_srcKey: number, dstKey: number): number {
    const d = this.table[hash32(dstKey, 8)];
    return d !== null && d.available && d.weight > 0 && !d.overload ? d.id : -1;
  }
}

// ---- SipHash-1-3 (1.7), 64-bit words as BigInt ----------------------------------------------
const MASK64 = (1n << 64n) - 1n;
let v0 = 0n;
let v1 = 0n;
let v2 = 0n;
let v3 = 0n;

function rotl(x: bigint, b: bigint): bigint {
  return ((x << b) | (x >> (64n - b))) & MASK64;
}

function sipRound(): void {
  v0 = (v0 + v1) & MASK64;
  v1 = rotl(v1, 13n) ^ v0;
  v0 = rotl(v0, 32n);
  v2 = (v2 + v3) & MASK64;
  v3 = rotl(v3, 16n) ^ v2;
  v0 = (v0 + v3) & MASK64;
  v3 = rotl(v3, 21n) ^ v0;
  v2 = (v2 + v1) & MASK64;
  v1 = rotl(v1, 17n) ^ v2;
  v2 = rotl(v2, 32n);
}

/** mh's fixed keys: k0 = k1 = 2654435761 (hash 1) and 2654446892 (hash 2); M = 4093; TAB_BITS = 12 / 2. */
const MH_K1 = 2654435761n;
const MH_K2 = 2654446892n;
const MH_M = 4093;
const MH_TAB_BITS = 6;

/** hsiphash (64-bit kernel) of the 4-byte little-endian image of the 32-bit number `value`. */
export function naiveHsiphashU32(k0: bigint, k1: bigint, value: number): number {
  v0 = k0 ^ 0x736f6d6570736575n;
  v1 = k1 ^ 0x646f72616e646f6dn;
  v2 = k0 ^ 0x6c7967656e657261n;
  v3 = k1 ^ 0x7465646279746573n;
  // Fewer than 8 bytes: only the final word, the 4 bytes low and the length (4) in the top byte.
  const b = (4n << 56n) | BigInt(value >>> 0);
  v3 ^= b;
  sipRound();
  v0 ^= b;
  v2 ^= 0xffn;
  sipRound();
  sipRound();
  sipRound();
  return Number((v0 ^ v1 ^ v2 ^ v3) & 0xffffffffn);
}

/** The spec's worked examples; throws if this transcription is wrong (checked once per worker). */
export function checkNaiveHsiphash(): void {
  const selfTest = naiveHsiphashU32(0x0706050403020100n, 0x0f0e0d0c0b0a0908n, 0x03020100);
  const h1 = naiveHsiphashU32(MH_K1, MH_K1, 0x0a000051);
  const h2 = naiveHsiphashU32(MH_K2, MH_K2, 0x0a000051);
  if (selfTest !== 0x88d38328 || h1 !== 0x439c0cbe || h2 !== 0x97b3dc47) {
    throw new Error(`naive hsiphash disagrees with the spec examples (${selfTest.toString(16)} ${h1.toString(16)} ${h2.toString(16)})`);
  }
}

/** mh (13): Maglev table of M = 4093 slots from last_weight; no fallback here. */
class NaiveMh extends TableScheduler {
  prepare(): void {
    const list = this.svc.list;
    this.table = new Array<NaiveDest | null>(MH_M).fill(null);
    const positive = list.map((d) => d.lastWeight).filter((w) => w > 0);
    if (positive.length === 0 || list.length > MH_M) return;
    const g = positive.reduce((a, b) => {
      while (b !== 0) [a, b] = [b, a % b];
      return a;
    });
    const bitLength = Math.floor(Math.max(...positive) / g).toString(2).length;
    const rshift = Math.max(0, bitLength - MH_TAB_BITS);
    const perm: number[] = [];
    const skip: number[] = [];
    const turns: number[] = [];
    for (const d of list) {
      const v = (d.port + d.addrKey) >>> 0;
      perm.push(naiveHsiphashU32(MH_K1, MH_K1, v) % MH_M);
      skip.push((naiveHsiphashU32(MH_K2, MH_K2, v) % (MH_M - 1)) + 1);
      turns.push(d.lastWeight === 0 ? 0 : Math.floor(d.lastWeight / g) >> rshift || 1);
    }
    const taken: boolean[] = new Array<boolean>(MH_M).fill(false);
    let filled = 0;
    for (;;) {
      for (let i = 0; i < list.length; i++) {
        for (let t = 0; t < turns[i]; t++) {
          while (taken[perm[i]]) perm[i] = (perm[i] + skip[i]) % MH_M;
          taken[perm[i]] = true;
          this.table[perm[i]] = list[i];
          if (++filled === MH_M) return;
        }
      }
    }
  }

  decide(srcKey: number, _dstKey: number, sport: number, proto: number): number {
    const v = (hashedPort(this.svc.schedFlags, sport, proto) + srcKey) >>> 0;
    const d = this.table[naiveHsiphashU32(MH_K1, MH_K1, v) % MH_M];
    return d !== null && naiveUsable(d) ? d.id : -1;
  }
}

/** The naive peer of a table scheduler, or null if `scheduler` is not one. */
export function createNaiveHashing(scheduler: string, svc: NaiveService): NaiveScheduler | null {
  switch (scheduler) {
    case 'sh':
      return new NaiveSh(svc);
    case 'dh':
      return new NaiveDh(svc);
    case 'mh':
      return new NaiveMh(svc);
    default:
      return null;
  }
}
