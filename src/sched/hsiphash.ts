/**
 * SipHash with 64-bit words, and the kernel's hsiphash built on it. mh hashes dests and clients
 * with `hsiphash`, which on a 64-bit kernel (the only kind uvs models) is SipHash-1-3 returning
 * the low 32 bits of the 64-bit result (lib/siphash.c; ipvs-schedulers.md 1.7). 32-bit kernels
 * use HalfSipHash-1-3 instead and big-endian CPUs hash the bytes of a number in the other order;
 * neither is offered.
 *
 * JavaScript has no 64-bit integers that are free to use (BigInt allocates), so every 64-bit
 * word is kept as two 32-bit halves. The general sipHash keeps its state in one preallocated
 * Uint32Array: hashing allocates nothing. mh's case - the 4 bytes of a 32-bit number under a
 * fixed key, once or more per packet - has its own unrolled path on local int32 variables only
 * (hsiphashU32*), several times faster; the tests check it against the general one.
 */

/** The four state words, each as (low half, high half): v0 at 0-1, v1 at 2-3, v2 at 4-5, v3 at 6-7. */
const S = new Uint32Array(8);
/** sipHash's 64-bit result for hsiphash: [low, high]. */
const OUT = new Uint32Array(2);

/** A SipHash key, kept as the initial state it gives (k0 ^ "somepseu", k1 ^ "dorandom", ...). */
export class SipKey {
  readonly init: Uint32Array;
  /**
   * For hsiphashU32: the state after the first step of the only compression round (v0 += v1;
   * v1 = rotl(v1, 13) ^ v0; v0 = rotl(v0, 32)), which does not involve the message, with v3's
   * high half already xored with the message word's (the length 4 in the top byte). Halves as
   * int32 (`| 0`), so that they stay small integers in the object and in registers. The `= 0`
   * matters: a field first defined as undefined is tracked by V8 as holding anything, and
   * hsiphashU32 then runs about 1.4x slower.
   */
  readonly f0l: number = 0;
  readonly f0h: number = 0;
  readonly f1l: number = 0;
  readonly f1h: number = 0;
  readonly f2l: number = 0;
  readonly f2h: number = 0;
  readonly f3l: number = 0;
  readonly f3h: number = 0;

  /** From the key words k0 and k1, each given as its high and low 32-bit halves. */
  constructor(k0hi: number, k0lo: number, k1hi: number, k1lo: number) {
    this.init = Uint32Array.of(
      (k0lo ^ 0x70736575) >>> 0, (k0hi ^ 0x736f6d65) >>> 0, // v0 = k0 ^ 0x736f6d6570736575
      (k1lo ^ 0x6e646f6d) >>> 0, (k1hi ^ 0x646f7261) >>> 0, // v1 = k1 ^ 0x646f72616e646f6d
      (k0lo ^ 0x6e657261) >>> 0, (k0hi ^ 0x6c796765) >>> 0, // v2 = k0 ^ 0x6c7967656e657261
      (k1lo ^ 0x79746573) >>> 0, (k1hi ^ 0x74656462) >>> 0, // v3 = k1 ^ 0x7465646279746573
    );
    const v0l = this.init[0] | 0;
    const v0h = this.init[1] | 0;
    const v1l = this.init[2] | 0;
    const v1h = this.init[3] | 0;
    const sumLo = (v0l + v1l) | 0;
    const sumHi = (v0h + v1h + (((v0l & v1l) | ((v0l | v1l) & ~sumLo)) >>> 31)) | 0;
    this.f0l = sumHi; // rotl(v0, 32) swaps the halves
    this.f0h = sumLo;
    this.f1l = ((v1l << 13) | (v1h >>> 19)) ^ sumLo;
    this.f1h = ((v1h << 13) | (v1l >>> 19)) ^ sumHi;
    this.f2l = this.init[4] | 0;
    this.f2h = this.init[5] | 0;
    this.f3l = this.init[6] | 0;
    this.f3h = (this.init[7] ^ 0x04000000) | 0;
  }
}

/** The key whose 16 bytes are `key` (k0 = bytes 0-7, k1 = bytes 8-15, both little-endian). */
export function sipKeyFromBytes(key: Uint8Array): SipKey {
  if (key.length !== 16) throw new RangeError(`a SipHash key has 16 bytes, not ${key.length}`);
  return new SipKey(le32(key, 4), le32(key, 0), le32(key, 12), le32(key, 8));
}

function le32(b: Uint8Array, i: number): number {
  return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
}

/** `count` SipRounds on S. The halves stay unsigned; a low-half sum below an addend means a carry. */
function sipRounds(count: number): void {
  let v0l = S[0], v0h = S[1], v1l = S[2], v1h = S[3], v2l = S[4], v2h = S[5], v3l = S[6], v3h = S[7];
  let lo: number, t: number;
  for (let r = 0; r < count; r++) {
    // v0 += v1; v1 = rotl(v1, 13) ^ v0; v0 = rotl(v0, 32)
    lo = (v0l + v1l) >>> 0;
    v0h = (v0h + v1h + (lo < v0l ? 1 : 0)) >>> 0;
    v0l = lo;
    t = v1h;
    v1h = (((v1h << 13) | (v1l >>> 19)) ^ v0h) >>> 0;
    v1l = (((v1l << 13) | (t >>> 19)) ^ v0l) >>> 0;
    t = v0l;
    v0l = v0h;
    v0h = t;
    // v2 += v3; v3 = rotl(v3, 16) ^ v2
    lo = (v2l + v3l) >>> 0;
    v2h = (v2h + v3h + (lo < v2l ? 1 : 0)) >>> 0;
    v2l = lo;
    t = v3h;
    v3h = (((v3h << 16) | (v3l >>> 16)) ^ v2h) >>> 0;
    v3l = (((v3l << 16) | (t >>> 16)) ^ v2l) >>> 0;
    // v0 += v3; v3 = rotl(v3, 21) ^ v0
    lo = (v0l + v3l) >>> 0;
    v0h = (v0h + v3h + (lo < v0l ? 1 : 0)) >>> 0;
    v0l = lo;
    t = v3h;
    v3h = (((v3h << 21) | (v3l >>> 11)) ^ v0h) >>> 0;
    v3l = (((v3l << 21) | (t >>> 11)) ^ v0l) >>> 0;
    // v2 += v1; v1 = rotl(v1, 17) ^ v2; v2 = rotl(v2, 32)
    lo = (v2l + v1l) >>> 0;
    v2h = (v2h + v1h + (lo < v2l ? 1 : 0)) >>> 0;
    v2l = lo;
    t = v1h;
    v1h = (((v1h << 17) | (v1l >>> 15)) ^ v2h) >>> 0;
    v1l = (((v1l << 17) | (t >>> 15)) ^ v2l) >>> 0;
    t = v2l;
    v2l = v2h;
    v2h = t;
  }
  S[0] = v0l; S[1] = v0h; S[2] = v1l; S[3] = v1h; S[4] = v2l; S[5] = v2h; S[6] = v3l; S[7] = v3h;
}

/** One message word m = (hi, lo): v3 ^= m, c rounds, v0 ^= m. */
function absorb(lo: number, hi: number, cRounds: number): void {
  S[6] ^= lo;
  S[7] ^= hi;
  sipRounds(cRounds);
  S[0] ^= lo;
  S[1] ^= hi;
}

/** v2 ^= 0xff, d rounds; the result v0 ^ v1 ^ v2 ^ v3 goes to `out` as [low, high]. */
function finish(dRounds: number, out: Uint32Array): void {
  S[4] ^= 0xff;
  sipRounds(dRounds);
  out[0] = S[0] ^ S[2] ^ S[4] ^ S[6];
  out[1] = S[1] ^ S[3] ^ S[5] ^ S[7];
}

/**
 * SipHash-c-d of `data` under `key`: writes the 64-bit result to out[0] (low 32 bits) and
 * out[1] (high 32 bits). SipHash-2-4 is the standard PRF; the kernel's hsiphash is 1-3.
 */
export function sipHash(key: SipKey, data: Uint8Array, cRounds: number, dRounds: number, out: Uint32Array): void {
  S.set(key.init);
  const len = data.length;
  const full = len - (len & 7);
  for (let i = 0; i < full; i += 8) absorb(le32(data, i), le32(data, i + 4), cRounds);
  // The last word: the remaining 0-7 bytes little-endian, and the length mod 256 in the top byte.
  let lo = 0;
  let hi = (len & 0xff) << 24;
  for (let i = full; i < len; i++) {
    const shift = (i - full) * 8;
    if (shift < 32) lo |= data[i] << shift;
    else hi |= data[i] << (shift - 32);
  }
  absorb(lo >>> 0, hi >>> 0, cRounds);
  finish(dRounds, out);
}

/** The 64-bit kernel's hsiphash(data, len, key): SipHash-1-3, low 32 bits (unsigned). */
export function hsiphash(key: SipKey, data: Uint8Array): number {
  sipHash(key, data, 1, 3, OUT);
  return OUT[0];
}

/**
 * hsiphash of the 4-byte in-memory image of the 32-bit number v on a little-endian CPU, which
 * is what mh hashes (`hsiphash(&v, sizeof(v), key)` with a u32 v), as an unsigned number.
 * v may be given signed or unsigned (only its low 32 bits count).
 */
export function hsiphashU32(key: SipKey, v: number): number {
  return hsiphashU32Bits(key, v) >>> 0;
}

/**
 * hsiphashU32(key, v) % m for m in 1 .. 2^31 - 1, computed as an unsigned 32-bit remainder.
 * The result is a small integer: nothing to allocate, unlike an unsigned result >= 2^31.
 */
export function hsiphashU32Mod(key: SipKey, v: number, m: number): number {
  return ((hsiphashU32Bits(key, v) >>> 0) % (m >>> 0)) | 0;
}

/**
 * The 32 bits of hsiphashU32(key, v) as a signed int32 (what V8 returns without allocating).
 *
 * Four bytes are less than a word, so SipHash-1-3 absorbs only the last word b = (4 << 56) | v:
 * v3 ^= b, one round, v0 ^= b, v2 ^= 0xff, three rounds, result v0 ^ v1 ^ v2 ^ v3 (low half
 * only: that is all hsiphash returns). Written out in full on int32 locals so that V8 keeps every
 * half in a register: a 64-bit add is a 32-bit add of the low halves, and of the high halves plus
 * the low halves' carry, which is the top bit of (a & b) | ((a | b) & ~sum) - no compare, so
 * no branch to mispredict (a `lo < a ? 1 : 0` carry made the whole hash about 2x slower). A rotation by n < 32 moves the top n bits of
 * each half into the other; rotl(x, 32) just swaps the halves (renamed away by the compiler).
 */
export function hsiphashU32Bits(key: SipKey, v: number): number {
  const m = v | 0;
  let v0l = key.f0l;
  let v0h = key.f0h;
  let v1l = key.f1l;
  let v1h = key.f1h;
  let v2l = key.f2l;
  let v2h = key.f2h;
  let v3l = key.f3l ^ m; // v3 ^= b (its high half, the length byte, is in f3h already)
  let v3h = key.f3h;
  let lo: number;
  let t: number;
  // The one compression round; its first step was done by the key (SipKey.f*).
  // v2 += v3; v3 = rotl(v3, 16) ^ v2
  lo = (v2l + v3l) | 0;
  v2h = (v2h + v3h + (((v2l & v3l) | ((v2l | v3l) & ~lo)) >>> 31)) | 0;
  v2l = lo;
  t = v3h;
  v3h = ((v3h << 16) | (v3l >>> 16)) ^ v2h;
  v3l = ((v3l << 16) | (t >>> 16)) ^ v2l;
  // v0 += v3; v3 = rotl(v3, 21) ^ v0
  lo = (v0l + v3l) | 0;
  v0h = (v0h + v3h + (((v0l & v3l) | ((v0l | v3l) & ~lo)) >>> 31)) | 0;
  v0l = lo;
  t = v3h;
  v3h = ((v3h << 21) | (v3l >>> 11)) ^ v0h;
  v3l = ((v3l << 21) | (t >>> 11)) ^ v0l;
  // v2 += v1; v1 = rotl(v1, 17) ^ v2; v2 = rotl(v2, 32)
  lo = (v2l + v1l) | 0;
  v2h = (v2h + v1h + (((v2l & v1l) | ((v2l | v1l) & ~lo)) >>> 31)) | 0;
  v2l = lo;
  t = v1h;
  v1h = ((v1h << 17) | (v1l >>> 15)) ^ v2h;
  v1l = ((v1l << 17) | (t >>> 15)) ^ v2l;
  t = v2l;
  v2l = v2h;
  v2h = t;
  // v0 ^= b; then finalization: v2 ^= 0xff and three rounds
  v0l ^= m;
  v0h ^= 0x04000000;
  v2l ^= 0xff;
  // finalization round 1
  // v0 += v1; v1 = rotl(v1, 13) ^ v0; v0 = rotl(v0, 32)
  lo = (v0l + v1l) | 0;
  v0h = (v0h + v1h + (((v0l & v1l) | ((v0l | v1l) & ~lo)) >>> 31)) | 0;
  v0l = lo;
  t = v1h;
  v1h = ((v1h << 13) | (v1l >>> 19)) ^ v0h;
  v1l = ((v1l << 13) | (t >>> 19)) ^ v0l;
  t = v0l;
  v0l = v0h;
  v0h = t;
  // v2 += v3; v3 = rotl(v3, 16) ^ v2
  lo = (v2l + v3l) | 0;
  v2h = (v2h + v3h + (((v2l & v3l) | ((v2l | v3l) & ~lo)) >>> 31)) | 0;
  v2l = lo;
  t = v3h;
  v3h = ((v3h << 16) | (v3l >>> 16)) ^ v2h;
  v3l = ((v3l << 16) | (t >>> 16)) ^ v2l;
  // v0 += v3; v3 = rotl(v3, 21) ^ v0
  lo = (v0l + v3l) | 0;
  v0h = (v0h + v3h + (((v0l & v3l) | ((v0l | v3l) & ~lo)) >>> 31)) | 0;
  v0l = lo;
  t = v3h;
  v3h = ((v3h << 21) | (v3l >>> 11)) ^ v0h;
  v3l = ((v3l << 21) | (t >>> 11)) ^ v0l;
  // v2 += v1; v1 = rotl(v1, 17) ^ v2; v2 = rotl(v2, 32)
  lo = (v2l + v1l) | 0;
  v2h = (v2h + v1h + (((v2l & v1l) | ((v2l | v1l) & ~lo)) >>> 31)) | 0;
  v2l = lo;
  t = v1h;
  v1h = ((v1h << 17) | (v1l >>> 15)) ^ v2h;
  v1l = ((v1l << 17) | (t >>> 15)) ^ v2l;
  t = v2l;
  v2l = v2h;
  v2h = t;
  // finalization round 2
  // v0 += v1; v1 = rotl(v1, 13) ^ v0; v0 = rotl(v0, 32)
  lo = (v0l + v1l) | 0;
  v0h = (v0h + v1h + (((v0l & v1l) | ((v0l | v1l) & ~lo)) >>> 31)) | 0;
  v0l = lo;
  t = v1h;
  v1h = ((v1h << 13) | (v1l >>> 19)) ^ v0h;
  v1l = ((v1l << 13) | (t >>> 19)) ^ v0l;
  t = v0l;
  v0l = v0h;
  v0h = t;
  // v2 += v3; v3 = rotl(v3, 16) ^ v2
  lo = (v2l + v3l) | 0;
  v2h = (v2h + v3h + (((v2l & v3l) | ((v2l | v3l) & ~lo)) >>> 31)) | 0;
  v2l = lo;
  t = v3h;
  v3h = ((v3h << 16) | (v3l >>> 16)) ^ v2h;
  v3l = ((v3l << 16) | (t >>> 16)) ^ v2l;
  // v0 += v3; v3 = rotl(v3, 21) ^ v0
  lo = (v0l + v3l) | 0;
  v0h = (v0h + v3h + (((v0l & v3l) | ((v0l | v3l) & ~lo)) >>> 31)) | 0;
  v0l = lo;
  t = v3h;
  v3h = ((v3h << 21) | (v3l >>> 11)) ^ v0h;
  v3l = ((v3l << 21) | (t >>> 11)) ^ v0l;
  // v2 += v1; v1 = rotl(v1, 17) ^ v2; v2 = rotl(v2, 32)
  lo = (v2l + v1l) | 0;
  v2h = (v2h + v1h + (((v2l & v1l) | ((v2l | v1l) & ~lo)) >>> 31)) | 0;
  v2l = lo;
  t = v1h;
  v1h = ((v1h << 17) | (v1l >>> 15)) ^ v2h;
  v1l = ((v1l << 17) | (t >>> 15)) ^ v2l;
  t = v2l;
  v2l = v2h;
  v2h = t;
  // finalization round 3
  // v0 += v1; v1 = rotl(v1, 13) ^ v0; v0 = rotl(v0, 32)
  lo = (v0l + v1l) | 0;
  v0h = (v0h + v1h + (((v0l & v1l) | ((v0l | v1l) & ~lo)) >>> 31)) | 0;
  v0l = lo;
  t = v1h;
  v1h = ((v1h << 13) | (v1l >>> 19)) ^ v0h;
  v1l = ((v1l << 13) | (t >>> 19)) ^ v0l;
  t = v0l;
  v0l = v0h;
  v0h = t;
  // v2 += v3; v3 = rotl(v3, 16) ^ v2
  lo = (v2l + v3l) | 0;
  v2h = (v2h + v3h + (((v2l & v3l) | ((v2l | v3l) & ~lo)) >>> 31)) | 0;
  v2l = lo;
  t = v3h;
  v3h = ((v3h << 16) | (v3l >>> 16)) ^ v2h;
  v3l = ((v3l << 16) | (t >>> 16)) ^ v2l;
  // v0 += v3; v3 = rotl(v3, 21) ^ v0
  lo = (v0l + v3l) | 0;
  v0h = (v0h + v3h + (((v0l & v3l) | ((v0l | v3l) & ~lo)) >>> 31)) | 0;
  v0l = lo;
  t = v3h;
  v3h = ((v3h << 21) | (v3l >>> 11)) ^ v0h;
  v3l = ((v3l << 21) | (t >>> 11)) ^ v0l;
  // v2 += v1; v1 = rotl(v1, 17) ^ v2; v2 = rotl(v2, 32)
  lo = (v2l + v1l) | 0;
  v2h = (v2h + v1h + (((v2l & v1l) | ((v2l | v1l) & ~lo)) >>> 31)) | 0;
  v2l = lo;
  t = v1h;
  v1h = ((v1h << 17) | (v1l >>> 15)) ^ v2h;
  v1l = ((v1l << 17) | (t >>> 15)) ^ v2l;
  t = v2l;
  v2l = v2h;
  v2h = t;
  return v0l ^ v1l ^ v2l ^ v3l;
}
