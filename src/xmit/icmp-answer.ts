/**
 * ICMP errors the director itself sends about a packet it will not forward (Time Exceeded,
 * Fragmentation Needed / Packet Too Big, Port Unreachable), built the way the kernel's icmp_send
 * and icmp6_send build them:
 *   IPv4: header 0x45, TOS = (offending TOS & 0x1e) | 0xc0 (RT_TOS | IPTOS_PREC_INTERNETCONTROL),
 *         ID from the caller, DF clear (the kernel's ICMP socket does no PMTU discovery), TTL 64,
 *         protocol 1; ICMP type, code, checksum, 4 bytes of `info` (Fragmentation Needed: the MTU in
 *         the low 16 bits); then as much of the offending IP packet as keeps the whole message
 *         within 576 bytes (and within the egress MTU): 548 bytes at most.
 *   IPv6: version 6, traffic class 0, flow label 0, next header 58, hop limit 64; ICMPv6 type,
 *         code, checksum (with the pseudo-header), 32-bit `info` (Packet Too Big: the MTU); then
 *         the offending packet up to 1232 bytes (the message fits the IPv6 minimum MTU, 1280).
 * The quote starts at the offending IP header (no Ethernet, no VLAN tags) and ends at its IP
 * length (no padding).
 */
import { finish, sumWords, transportChecksum, writeU16 } from '../wire/checksum';
import { ETH_HLEN } from '../wire/ethernet';
import { ICMP_CHECK, ICMP_HLEN } from '../wire/icmp';
import { IPV4_MIN_HLEN, IPV4_TOS, writeIpv4Header } from '../wire/ipv4';
import { IPV6_HLEN, IPV6_HOP_LIMIT, writeIpv6Header } from '../wire/ipv6';
import { DropReason, IPPROTO_ICMP, IPPROTO_ICMPV6, ParsedFrame } from '../wire/parsed-frame';
import { copyPacket } from './copy-packet';
import { NextHop } from './next-hop';
import { writeOutputEthernet } from './output-frame';
import { decrementTtlOnly } from './ttl';

/** Hop limit / TTL of the director's own ICMP (net.ipv4.ip_default_ttl, IPv6 hop_limit defaults). */
export const ICMP_ANSWER_TTL = 64;
/** RFC 1812 4.3.2.3: an ICMPv4 error is at most 576 bytes long. */
const ICMP4_MAX_LEN = 576;
/** RFC 4443 2.4 (c): an ICMPv6 error fits the IPv6 minimum MTU. */
const ICMP6_MAX_LEN = 1280;
const IPTOS_TOS_MASK = 0x1e;
const IPTOS_PREC_INTERNETCONTROL = 0xc0;

/**
 * Writes, into out[outOff..], the ICMP error (type, code, info) about the packet pf describes in
 * src, from (srcAddr, srcAddrOff) to the packet's source, via hop (the route to that source).
 * With quoteTtlDecremented the quote shows the packet's TTL (hop limit) already lowered by one
 * (and the IPv4 header checksum updated), as it was when the kernel's IPVS path checked the MTU.
 * ipId is the IPv4 identification. Returns the frame length, or -DropReason: NoRoute (hop of the
 * wrong family), OutputFull, TooBig (an egress MTU too small to quote even an IP header).
 */
export function writeIcmpError(
  src: Uint8Array,
  pf: ParsedFrame,
  type: number,
  code: number,
  info: number,
  quoteTtlDecremented: boolean,
  srcAddr: Uint8Array,
  srcAddrOff: number,
  ipId: number,
  hop: NextHop,
  out: Uint8Array,
  outOff: number,
  room: number,
): number {
  const af = pf.af;
  if (af !== 4 && af !== 6) return -DropReason.UnknownEtherType;
  const hdrLen = af === 4 ? IPV4_MIN_HLEN : IPV6_HLEN;
  const maxLen = af === 4 ? Math.min(ICMP4_MAX_LEN, hop.mtu) : ICMP6_MAX_LEN;
  const maxQuote = maxLen - hdrLen - ICMP_HLEN;
  // The kernel's guard against a tiny MTU: the quote must hold at least an IP header.
  if (maxQuote <= hdrLen) return -DropReason.TooBig;
  const quoteLen = Math.min(pf.ipTotalLen, maxQuote);
  const icmpLen = ICMP_HLEN + quoteLen;
  const ipLen = hdrLen + icmpLen;
  const frameLen = ETH_HLEN + ipLen;
  if (outOff < 0 || frameLen > room || outOff + frameLen > out.length) return -DropReason.OutputFull;

  writeOutputEthernet(out, outOff, hop, af);
  const l3 = outOff + ETH_HLEN;
  const icmp = l3 + hdrLen;
  const quote = icmp + ICMP_HLEN;
  if (af === 4) {
    const tos = (src[pf.l3Off + IPV4_TOS] & IPTOS_TOS_MASK) | IPTOS_PREC_INTERNETCONTROL;
    writeIpv4Header(out, l3, tos, ipLen, ipId & 0xffff, 0, ICMP_ANSWER_TTL, IPPROTO_ICMP, srcAddr, srcAddrOff, src, pf.srcOff);
  } else {
    writeIpv6Header(out, l3, 0, 0, icmpLen, IPPROTO_ICMPV6, ICMP_ANSWER_TTL, srcAddr, srcAddrOff, src, pf.srcOff);
  }
  out[icmp] = type & 0xff;
  out[icmp + 1] = code & 0xff;
  writeU16(out, icmp + ICMP_CHECK, 0);
  writeU16(out, icmp + 4, (info >>> 16) & 0xffff);
  writeU16(out, icmp + 6, info & 0xffff);
  copyPacket(src, pf.l3Off, out, quote, quoteLen);
  if (quoteTtlDecremented) {
    // The whole IPv4 header is always quoted (the quote holds more than a header, see maxQuote).
    if (af === 4) decrementTtlOnly(out, quote, 4);
    else out[quote + IPV6_HOP_LIMIT] = (out[quote + IPV6_HOP_LIMIT] - 1) & 0xff;
  }
  const sum = af === 4
    ? finish(sumWords(out, icmp, icmpLen, 0))
    : transportChecksum(out, l3 + 8, l3 + 24, 16, IPPROTO_ICMPV6, icmp, icmpLen, ICMP_CHECK);
  writeU16(out, icmp + ICMP_CHECK, sum);
  return frameLen;
}
