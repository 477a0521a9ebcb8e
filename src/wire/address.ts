/**
 * IP addresses in frames (4 or 16 bytes at an offset) and in tables (four big-endian 32-bit
 * words, as DestTable.addr keeps them; IPv4 uses word 0 and leaves words 1..3 zero).
 */
import { readU32, writeU32 } from './bytes';

/** Bytes of an address of family af (4 or 6). */
export function addrLen(af: number): number {
  return af === 6 ? 16 : 4;
}

/** True when the af-family addresses at a[aOff] and b[bOff] are equal. */
export function addrEquals(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number, af: number): boolean {
  const n = af === 6 ? 16 : 4;
  for (let i = 0; i < n; i++) if (a[aOff + i] !== b[bOff + i]) return false;
  return true;
}

/** Copies the af-family address at src[srcOff] to dst[dstOff]. */
export function copyAddr(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number, af: number): void {
  const n = af === 6 ? 16 : 4;
  for (let i = 0; i < n; i++) dst[dstOff + i] = src[srcOff + i];
}

/** Reads the address at buf[off] into words[wOff..wOff+4) (IPv4: word 0, words 1..3 zeroed). */
export function readAddrWords(buf: Uint8Array, off: number, af: number, words: Uint32Array, wOff: number): void {
  words[wOff] = readU32(buf, off);
  if (af === 6) {
    words[wOff + 1] = readU32(buf, off + 4);
    words[wOff + 2] = readU32(buf, off + 8);
    words[wOff + 3] = readU32(buf, off + 12);
  } else {
    words[wOff + 1] = 0;
    words[wOff + 2] = 0;
    words[wOff + 3] = 0;
  }
}

/** Writes the address held in words[wOff..] into buf[off] (4 bytes for IPv4, 16 for IPv6). */
export function writeAddrWords(words: Uint32Array, wOff: number, af: number, buf: Uint8Array, off: number): void {
  writeU32(buf, off, words[wOff]);
  if (af === 6) {
    writeU32(buf, off + 4, words[wOff + 1]);
    writeU32(buf, off + 8, words[wOff + 2]);
    writeU32(buf, off + 12, words[wOff + 3]);
  }
}

/** True when the address at buf[off] equals the one held in words[wOff..]. */
export function addrEqualsWords(buf: Uint8Array, off: number, af: number, words: Uint32Array, wOff: number): boolean {
  if (readU32(buf, off) !== words[wOff]) return false;
  if (af !== 6) return true;
  return (
    readU32(buf, off + 4) === words[wOff + 1] &&
    readU32(buf, off + 8) === words[wOff + 2] &&
    readU32(buf, off + 12) === words[wOff + 3]
  );
}
