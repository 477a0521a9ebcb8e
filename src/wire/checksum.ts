/**
 * Internet checksum (RFC 1071) and its incremental update (RFC 1624), over plain byte arrays.
 * Sums are kept unfolded in a JS number (safe far beyond any packet length) and folded once.
 */

/** Adds the 16-bit big-endian words of buf[off, off+len) to `sum`. An odd trailing byte is padded with zero. */
export function sumWords(buf: Uint8Array, off: number, len: number, sum: number): number {
  const end = off + (len & ~1);
  let i = off;
  for (; i < end; i += 2) sum += (buf[i] << 8) | buf[i + 1];
  if (len & 1) sum += buf[i] << 8;
  return sum;
}

/** Folds an unfolded sum into 16 bits (end-around carry). */
export function fold(sum: number): number {
  // Below 2^32 (every sum of a packet's words) the shift equals the division and stays in
  // integer registers; larger sums take the division.
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum <= 0xffffffff ? sum >>> 16 : Math.floor(sum / 0x10000));
  return sum;
}

/** The checksum field value for data whose word sum is `sum`. */
export function finish(sum: number): number {
  return ~fold(sum) & 0xffff;
}

export function readU16(buf: Uint8Array, off: number): number {
  return (buf[off] << 8) | buf[off + 1];
}

export function writeU16(buf: Uint8Array, off: number, v: number): void {
  buf[off] = (v >>> 8) & 0xff;
  buf[off + 1] = v & 0xff;
}

/** Recomputes and stores the IPv4 header checksum of the header at l3Off. */
export function setIpv4HeaderChecksum(buf: Uint8Array, l3Off: number): void {
  const ihl = (buf[l3Off] & 0x0f) * 4;
  buf[l3Off + 10] = 0;
  buf[l3Off + 11] = 0;
  const sum = ihl === 20 ? ipv4Header20Sum(buf, l3Off) : sumWords(buf, l3Off, ihl, 0);
  writeU16(buf, l3Off + 10, finish(sum));
}

/** True when the IPv4 header at l3Off carries a correct checksum. */
export function ipv4HeaderChecksumOk(buf: Uint8Array, l3Off: number, ihl: number): boolean {
  return fold(ihl === 20 ? ipv4Header20Sum(buf, l3Off) : sumWords(buf, l3Off, ihl, 0)) === 0xffff;
}

/** sumWords(buf, l3Off, 20, 0) unrolled: the ten words of an IPv4 header without options. */
function ipv4Header20Sum(buf: Uint8Array, l3Off: number): number {
  return (
    ((buf[l3Off] << 8) | buf[l3Off + 1]) +
    ((buf[l3Off + 2] << 8) | buf[l3Off + 3]) +
    ((buf[l3Off + 4] << 8) | buf[l3Off + 5]) +
    ((buf[l3Off + 6] << 8) | buf[l3Off + 7]) +
    ((buf[l3Off + 8] << 8) | buf[l3Off + 9]) +
    ((buf[l3Off + 10] << 8) | buf[l3Off + 11]) +
    ((buf[l3Off + 12] << 8) | buf[l3Off + 13]) +
    ((buf[l3Off + 14] << 8) | buf[l3Off + 15]) +
    ((buf[l3Off + 16] << 8) | buf[l3Off + 17]) +
    ((buf[l3Off + 18] << 8) | buf[l3Off + 19])
  );
}

/**
 * RFC 1624 eqn. 3: the new checksum after one 16-bit word of the covered data changed from
 * `oldWord` to `newWord`: HC' = ~(~HC + ~m + m').
 */
export function adjust16(check: number, oldWord: number, newWord: number): number {
  return ~fold((~check & 0xffff) + (~oldWord & 0xffff) + newWord) & 0xffff;
}

/** Like adjust16 for a 32-bit value (two words), e.g. an IPv4 address. */
export function adjust32(check: number, oldValue: number, newValue: number): number {
  const sum =
    (~check & 0xffff) +
    (~(oldValue >>> 16) & 0xffff) +
    (~oldValue & 0xffff) +
    (newValue >>> 16) +
    (newValue & 0xffff);
  return ~fold(sum) & 0xffff;
}

/**
 * The checksum after `len` bytes (even) of covered data changed from old[oldOff..] to
 * new[newOff..]: used for IPv6 addresses and any run of words. The old bytes must be read
 * before they are overwritten.
 */
export function adjustBytes(
  check: number,
  oldBuf: Uint8Array,
  oldOff: number,
  newBuf: Uint8Array,
  newOff: number,
  len: number,
): number {
  let sum = ~check & 0xffff;
  for (let i = 0; i < len; i += 2) {
    sum += ~((oldBuf[oldOff + i] << 8) | oldBuf[oldOff + i + 1]) & 0xffff;
    sum += (newBuf[newOff + i] << 8) | newBuf[newOff + i + 1];
  }
  return ~fold(sum) & 0xffff;
}

/** Word sum of the IPv4 or IPv6 pseudo-header for a transport checksum. */
export function pseudoHeaderSum(
  buf: Uint8Array,
  srcOff: number,
  dstOff: number,
  addrLen: number,
  proto: number,
  l4Len: number,
): number {
  let sum = sumWords(buf, srcOff, addrLen, 0);
  sum = sumWords(buf, dstOff, addrLen, sum);
  return sum + proto + (l4Len & 0xffff) + Math.floor(l4Len / 0x10000);
}

/**
 * Full transport checksum (TCP, UDP, ICMPv6) of the segment at l4Off, with the checksum field
 * at l4Off + checkOff treated as zero. Returns the value to store (UDP callers map 0 to 0xffff).
 */
export function transportChecksum(
  buf: Uint8Array,
  srcOff: number,
  dstOff: number,
  addrLen: number,
  proto: number,
  l4Off: number,
  l4Len: number,
  checkOff: number,
): number {
  const saved = readU16(buf, l4Off + checkOff);
  writeU16(buf, l4Off + checkOff, 0);
  let sum = pseudoHeaderSum(buf, srcOff, dstOff, addrLen, proto, l4Len);
  sum = sumWords(buf, l4Off, l4Len, sum);
  writeU16(buf, l4Off + checkOff, saved);
  return finish(sum);
}
