/**
 * The kernel's generic hash_32 (include/linux/hash.h): multiply by the 32-bit golden ratio and
 * keep the TOP `bits` bits of the 32-bit product. sh and dh pick their bucket with it (and lblc,
 * lblcr their cache chain). A few architectures (m68k) have their own version; uvs is the generic
 * one, which is what x86_64 and arm64 kernels run.
 *
 * Worked examples (ipvs-schedulers.md 1.7): hash32(1, 8) = 0x61C88647 >>> 24 = 0x61 = 97;
 * hash32(0x0A000001, 8): the product is 0x27C88647 (mod 2^32), so 0x27 = 39.
 */

/** GOLDEN_RATIO_32 of include/linux/hash.h. */
export const GOLDEN_RATIO_32 = 0x61c88647;

/** hash_32(v, bits) for 1 <= bits <= 32; v is taken modulo 2^32. Result in [0, 2^bits). */
export function hash32(v: number, bits: number): number {
  // Math.imul gives the low 32 bits of the product exactly (a plain * would lose them in a double).
  return Math.imul(v, GOLDEN_RATIO_32) >>> (32 - bits);
}
