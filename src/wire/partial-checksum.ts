/**
 * Finishing a checksum the sender left to hardware. A frame a local socket sent through a veth
 * (or any device with checksum offload) reaches a packet socket with CHECKSUM_PARTIAL: the TCP or
 * UDP checksum field holds only the pseudo-header sum (TP_STATUS_CSUMNOTREADY). Forwarded as it
 * is, the real server drops it; the live director computes the full sum first, and the engine's
 * incremental updates then start from a correct value.
 */
import { transportChecksum, writeU16 } from './checksum';

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100;
const ETH_HLEN = 14;

/**
 * Recomputes the TCP or UDP checksum of the Ethernet frame buf[off, off+len) in full. Returns
 * false (and changes nothing) when the frame is not an unfragmented TCP or UDP packet over IPv4,
 * or over IPv6 without extension headers, whose bytes are all captured.
 */
export function finishPartialChecksum(buf: Uint8Array, off: number, len: number): boolean {
  let l3 = off + ETH_HLEN;
  if (len < ETH_HLEN) return false;
  let type = (buf[off + 12] << 8) | buf[off + 13];
  if (type === ETHERTYPE_VLAN) {
    if (len < ETH_HLEN + 4) return false;
    type = (buf[off + 16] << 8) | buf[off + 17];
    l3 += 4;
  }
  const end = off + len;
  let proto: number;
  let l4: number;
  let l4Len: number;
  let addrOff: number;
  let addrLen: number;
  if (type === ETHERTYPE_IPV4) {
    if (l3 + 20 > end) return false;
    const ihl = (buf[l3] & 0x0f) * 4;
    const total = (buf[l3 + 2] << 8) | buf[l3 + 3];
    const fragment = ((buf[l3 + 6] << 8) | buf[l3 + 7]) & 0x3fff;
    if (ihl < 20 || total < ihl || l3 + total > end || fragment !== 0) return false;
    proto = buf[l3 + 9];
    l4 = l3 + ihl;
    l4Len = total - ihl;
    addrOff = l3 + 12;
    addrLen = 4;
  } else if (type === ETHERTYPE_IPV6) {
    if (l3 + 40 > end) return false;
    l4Len = (buf[l3 + 4] << 8) | buf[l3 + 5];
    proto = buf[l3 + 6];
    l4 = l3 + 40;
    if (l4 + l4Len > end) return false;
    addrOff = l3 + 8;
    addrLen = 16;
  } else {
    return false;
  }
  let checkOff: number;
  if (proto === 6) {
    if (l4Len < 20) return false;
    checkOff = 16;
  } else if (proto === 17) {
    if (l4Len < 8) return false;
    checkOff = 6;
  } else {
    return false;
  }
  let sum = transportChecksum(buf, addrOff, addrOff + addrLen, addrLen, proto, l4, l4Len, checkOff);
  // A UDP sum of zero is sent as all ones (zero means "no checksum").
  if (proto === 17 && sum === 0) sum = 0xffff;
  writeU16(buf, l4 + checkOff, sum);
  return true;
}
