/**
 * Random numbers for the schedulers that draw (twos, kernel 6.1+).
 *
 * The kernel draws from its CSPRNG; a replay must instead give the same decisions every run, so
 * uvs draws from a seeded generator. SeededRandom is xoshiro128** 1.1 (Blackman and Vigna), a
 * small, fast 32-bit generator with a 128-bit state; its state is filled from the seed by two
 * outputs of SplitMix64, as the xoshiro authors recommend, so that nearby seeds (service 1, 2,
 * ...) give unrelated streams. The engine can give each service its own stream by seed.
 *
 * randomBelow maps raw 32-bit words to [0, ceil) exactly as the kernel's get_random_u32_below
 * does, rejection loop included, so a scripted RandomSource reproduces kernel draws word for word.
 */
import type { RandomSource } from './scheduler';

/**
 * The seed of the stream a scheduler uses when its service brings no RandomSource:
 * 0x69707673, the ASCII bytes of "ipvs".
 */
export const DEFAULT_RANDOM_SEED = 0x69707673;

const MASK64 = (1n << 64n) - 1n;

/** A deterministic RandomSource: xoshiro128** seeded through SplitMix64. Not for anything secret. */
export class SeededRandom implements RandomSource {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** `seed`: an integer in [0, 2^53), the SplitMix64 starting state. */
  constructor(readonly seed: number = DEFAULT_RANDOM_SEED) {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new RangeError(`random seed must be an integer in [0, 2^53), got ${String(seed)}`);
    }
    // SplitMix64, run once per construction (BigInt is fine here: never on the packet path).
    let state = BigInt(seed);
    const splitMix64 = (): bigint => {
      state = (state + 0x9e3779b97f4a7c15n) & MASK64;
      let z = state;
      z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
      z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
      return z ^ (z >> 31n);
    };
    const a = splitMix64();
    const b = splitMix64();
    this.s0 = Number(a & 0xffffffffn) | 0;
    this.s1 = Number(a >> 32n) | 0;
    this.s2 = Number(b & 0xffffffffn) | 0;
    this.s3 = Number(b >> 32n) | 0;
    // An all-zero state would only ever give zeros; SplitMix64 never yields two zero outputs in a
    // row, but keep the generator safe whatever the seed mixing becomes.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** The next word of the stream, an integer in [0, 2^32). */
  nextU32(): number {
    const s1 = this.s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

const TWO_POW_32 = 4294967296;

/**
 * A uniform integer in [0, ceil) drawn from `random` the way the kernel's get_random_u32_below
 * does: m = ceil * x (64-bit); when the low 32 bits of m are below ceil, compute
 * bound = 2^32 mod ceil and draw new words while the low half stays below bound; the answer is
 * m >> 32. `ceil` is taken as an unsigned 32-bit number; ceil 0 returns the word itself (what
 * the kernel does since get_random_u32_inclusive relies on it). Allocates nothing.
 */
export function randomBelow(random: RandomSource, ceil: number): number {
  const c = ceil >>> 0;
  let x = random.nextU32() >>> 0;
  if (c === 0) return x;
  if (Math.imul(c, x) >>> 0 < c) {
    const bound = TWO_POW_32 % c;
    while (Math.imul(c, x) >>> 0 < bound) x = random.nextU32() >>> 0;
  }
  return mulHigh32(c, x);
}

/**
 * The high 32 bits of the 64-bit product of two unsigned 32-bit numbers. The product itself does
 * not fit a double exactly, so x is split in 16-bit halves: c * xLo and c * xHi are below 2^48,
 * and m = (c * xHi + floor(c * xLo / 2^16)) * 2^16 + (c * xLo mod 2^16), whose high half is the
 * first term divided by 2^16 (the last term is below 2^16 and cannot carry into it).
 */
function mulHigh32(c: number, x: number): number {
  const lo = c * (x & 0xffff);
  const mid = c * (x >>> 16) + Math.floor(lo / 65536);
  return Math.floor(mid / 65536);
}
