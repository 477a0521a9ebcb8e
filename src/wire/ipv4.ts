/**
 * IPv4 header (RFC 791): field offsets relative to the header start (the frame's l3Off),
 * readers, and the few writers forwarding needs. Writers that touch a covered field keep the
 * header checksum valid by RFC 1624 incremental update, so a caller never has to re-sum.
 */
import { adjust16, finish, sumWords, writeU16 } from './checksum';

export const IPV4_VER_IHL = 0;
export const IPV4_TOS = 1;
export const IPV4_TOT_LEN = 2;
export const IPV4_ID = 4;
/** Flags (3 bits) and fragment offset (13 bits, 8-byte units). */
export const IPV4_FRAG_OFF = 6;
export const IPV4_TTL = 8;
export const IPV4_PROTO = 9;
export const IPV4_CHECK = 10;
export const IPV4_SADDR = 12;
export const IPV4_DADDR = 16;
/** Header without options (IHL 5). */
export const IPV4_MIN_HLEN = 20;
export const IPV4_ADDR_LEN = 4;

/** Bits of the 16-bit flags/fragment-offset word. */
export const IPV4_FLAG_DF = 0x4000;
export const IPV4_FLAG_MF = 0x2000;
export const IPV4_OFFSET_MASK = 0x1fff;

/** IHL * 4. */
export function ipv4HeaderLen(buf: Uint8Array, l3Off: number): number {
  return (buf[l3Off + IPV4_VER_IHL] & 0x0f) << 2;
}

export function ipv4TotalLen(buf: Uint8Array, l3Off: number): number {
  return (buf[l3Off + IPV4_TOT_LEN] << 8) | buf[l3Off + IPV4_TOT_LEN + 1];
}

/** Sets the TTL, updating the header checksum incrementally (TTL is the high byte of the TTL/protocol word). */
export function setIpv4Ttl(buf: Uint8Array, l3Off: number, ttl: number): void {
  const proto = buf[l3Off + IPV4_PROTO];
  const oldWord = (buf[l3Off + IPV4_TTL] << 8) | proto;
  const check = (buf[l3Off + IPV4_CHECK] << 8) | buf[l3Off + IPV4_CHECK + 1];
  buf[l3Off + IPV4_TTL] = ttl & 0xff;
  writeU16(buf, l3Off + IPV4_CHECK, adjust16(check, oldWord, ((ttl & 0xff) << 8) | proto));
}

/** Sets the total length field, updating the header checksum incrementally. */
export function setIpv4TotalLen(buf: Uint8Array, l3Off: number, totalLen: number): void {
  const check = (buf[l3Off + IPV4_CHECK] << 8) | buf[l3Off + IPV4_CHECK + 1];
  const oldLen = ipv4TotalLen(buf, l3Off);
  writeU16(buf, l3Off + IPV4_TOT_LEN, totalLen);
  writeU16(buf, l3Off + IPV4_CHECK, adjust16(check, oldLen, totalLen & 0xffff));
}

/**
 * Writes a 20-byte IPv4 header without options (tunnel outer headers) and its checksum.
 * `fragWord` is the flags/offset word, e.g. IPV4_FLAG_DF or 0. Addresses are copied from
 * src[srcOff..+4] and dst[dstOff..+4].
 */
export function writeIpv4Header(
  buf: Uint8Array,
  l3Off: number,
  tos: number,
  totalLen: number,
  id: number,
  fragWord: number,
  ttl: number,
  proto: number,
  src: Uint8Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
): void {
  buf[l3Off + IPV4_VER_IHL] = 0x45;
  buf[l3Off + IPV4_TOS] = tos & 0xff;
  writeU16(buf, l3Off + IPV4_TOT_LEN, totalLen);
  writeU16(buf, l3Off + IPV4_ID, id);
  writeU16(buf, l3Off + IPV4_FRAG_OFF, fragWord);
  buf[l3Off + IPV4_TTL] = ttl & 0xff;
  buf[l3Off + IPV4_PROTO] = proto & 0xff;
  buf[l3Off + IPV4_CHECK] = 0;
  buf[l3Off + IPV4_CHECK + 1] = 0;
  for (let i = 0; i < IPV4_ADDR_LEN; i++) {
    buf[l3Off + IPV4_SADDR + i] = src[srcOff + i];
    buf[l3Off + IPV4_DADDR + i] = dst[dstOff + i];
  }
  writeU16(buf, l3Off + IPV4_CHECK, finish(sumWords(buf, l3Off, IPV4_MIN_HLEN, 0)));
}
