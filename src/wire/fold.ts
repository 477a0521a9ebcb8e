/**
 * Folding an address into one 32-bit hash key, the way IPVS's hashing schedulers do: an IPv4
 * address is its numeric (host-order) value; an IPv6 address is the XOR of its four 32-bit
 * words, each taken in host order. Results are unsigned (0 .. 2^32-1).
 */
import { readU32 } from './bytes';

/** Folds the af-family (4 or 6) address at buf[off]. 10.0.0.1 gives 0x0A000001. */
export function foldAddress(buf: Uint8Array, off: number, af: number): number {
  if (af !== 6) return readU32(buf, off);
  return (readU32(buf, off) ^ readU32(buf, off + 4) ^ readU32(buf, off + 8) ^ readU32(buf, off + 12)) >>> 0;
}

/** The same fold for an address kept as four words (DestTable.addr layout). */
export function foldAddressWords(words: Uint32Array, wOff: number, af: number): number {
  if (af !== 6) return words[wOff];
  return (words[wOff] ^ words[wOff + 1] ^ words[wOff + 2] ^ words[wOff + 3]) >>> 0;
}
