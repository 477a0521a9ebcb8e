/**
 * Big-endian integer access and byte-run helpers over plain Uint8Arrays. No bounds checks: the
 * caller has already checked lengths once (see parse.ts), as every hot-path reader here assumes.
 */
export { readU16, writeU16 } from './checksum';

/** The big-endian u32 at buf[off..off+4), as an unsigned number (0 .. 2^32-1). */
export function readU32(buf: Uint8Array, off: number): number {
  return ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0;
}

/** Stores `v` (taken modulo 2^32) big-endian at buf[off..off+4). */
export function writeU32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = (v >>> 24) & 0xff;
  buf[off + 1] = (v >>> 16) & 0xff;
  buf[off + 2] = (v >>> 8) & 0xff;
  buf[off + 3] = v & 0xff;
}

/**
 * Copies n bytes from src[srcOff..] to dst[dstOff..]. A plain loop: for the short runs of the hot
 * path (addresses, MACs, headers) it beats creating a subarray view for Uint8Array.set, and it
 * allocates nothing. Overlapping ranges in the same buffer are handled (copied as memmove would).
 */
export function copyBytes(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number, n: number): void {
  if (src === dst && dstOff === srcOff) return; // rewriting in place
  if (src === dst && dstOff > srcOff && dstOff < srcOff + n) {
    for (let i = n - 1; i >= 0; i--) dst[dstOff + i] = src[srcOff + i];
    return;
  }
  for (let i = 0; i < n; i++) dst[dstOff + i] = src[srcOff + i];
}

/** True when a[aOff..aOff+n) and b[bOff..bOff+n) hold the same bytes (addresses, MACs). */
export function bytesEqual(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[aOff + i] !== b[bOff + i]) return false;
  return true;
}

/** True when a and b have the same length and bytes (whole addresses or MACs; not for the hot path's offsets). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && bytesEqual(a, 0, b, 0, a.length);
}

/** Sets buf[off..off+n) to `value` (e.g. zeroing a checksum field or reserved bytes). */
export function fillBytes(buf: Uint8Array, off: number, n: number, value: number): void {
  for (let i = 0; i < n; i++) buf[off + i] = value;
}
