/**
 * IPv6 header (RFC 8200): field offsets relative to the header start (the frame's l3Off),
 * extension header numbers, readers and writers. IPv6 has no header checksum.
 */
import { writeU16 } from './checksum';

/** Version (4 bits), traffic class (8), flow label (20). */
export const IPV6_VER_TC_FLOW = 0;
export const IPV6_PAYLOAD_LEN = 4;
export const IPV6_NEXT_HEADER = 6;
export const IPV6_HOP_LIMIT = 7;
export const IPV6_SADDR = 8;
export const IPV6_DADDR = 24;
export const IPV6_HLEN = 40;
export const IPV6_ADDR_LEN = 16;

/** Next-header values of the extension headers parse.ts walks, and two it stops at. */
export const IPV6_NH_HOPOPTS = 0;
export const IPV6_NH_ROUTING = 43;
export const IPV6_NH_FRAGMENT = 44;
export const IPV6_NH_ESP = 50;
export const IPV6_NH_AH = 51;
export const IPV6_NH_NONE = 59;
export const IPV6_NH_DSTOPTS = 60;

/** Fragment header: 8 bytes; offset word at +2 (offset in 8-byte units << 3 | M flag). */
export const IPV6_FRAG_HLEN = 8;
export const IPV6_FRAG_OFFSET_WORD = 2;
export const IPV6_FRAG_MF = 0x0001;
export const IPV6_FRAG_OFFSET_MASK = 0xfff8;

export function ipv6PayloadLen(buf: Uint8Array, l3Off: number): number {
  return (buf[l3Off + IPV6_PAYLOAD_LEN] << 8) | buf[l3Off + IPV6_PAYLOAD_LEN + 1];
}

/** The 8-bit traffic class (it straddles the first two bytes). */
export function ipv6TrafficClass(buf: Uint8Array, l3Off: number): number {
  return ((buf[l3Off] & 0x0f) << 4) | (buf[l3Off + 1] >>> 4);
}

export function setIpv6HopLimit(buf: Uint8Array, l3Off: number, hopLimit: number): void {
  buf[l3Off + IPV6_HOP_LIMIT] = hopLimit & 0xff;
}

export function setIpv6PayloadLen(buf: Uint8Array, l3Off: number, payloadLen: number): void {
  writeU16(buf, l3Off + IPV6_PAYLOAD_LEN, payloadLen);
}

/**
 * Writes a 40-byte IPv6 header (tunnel outer headers): version 6, the given traffic class,
 * flow label (20 bits), payload length, next header, hop limit; addresses copied from
 * src[srcOff..+16] and dst[dstOff..+16].
 */
export function writeIpv6Header(
  buf: Uint8Array,
  l3Off: number,
  trafficClass: number,
  flowLabel: number,
  payloadLen: number,
  nextHeader: number,
  hopLimit: number,
  src: Uint8Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
): void {
  buf[l3Off] = 0x60 | ((trafficClass >>> 4) & 0x0f);
  buf[l3Off + 1] = ((trafficClass & 0x0f) << 4) | ((flowLabel >>> 16) & 0x0f);
  buf[l3Off + 2] = (flowLabel >>> 8) & 0xff;
  buf[l3Off + 3] = flowLabel & 0xff;
  writeU16(buf, l3Off + IPV6_PAYLOAD_LEN, payloadLen);
  buf[l3Off + IPV6_NEXT_HEADER] = nextHeader & 0xff;
  buf[l3Off + IPV6_HOP_LIMIT] = hopLimit & 0xff;
  for (let i = 0; i < IPV6_ADDR_LEN; i++) {
    buf[l3Off + IPV6_SADDR + i] = src[srcOff + i];
    buf[l3Off + IPV6_DADDR + i] = dst[dstOff + i];
  }
}
