/**
 * IP-in-IP tunnelling (TUN, ipvsadm -i, "Tunnel", tun-type ipip): the client packet, forwarded
 * as DR would (TTL - 1), is wrapped in an outer IPv4 or IPv6 header from the director to the
 * real server, which decapsulates it and answers the client directly. The outer family is the
 * real server's, so all four of 4in4, 6in6, 4in6 and 6in4 occur.
 */
import { ETH_HLEN } from '../wire/ethernet';
import { IPV4_FLAG_DF, IPV4_MIN_HLEN, IPV4_TOS, writeIpv4Header } from '../wire/ipv4';
import { IPV6_HLEN, ipv6TrafficClass, writeIpv6Header } from '../wire/ipv6';
import { DropReason, IPPROTO_IPIP, IPPROTO_IPV6, ParsedFrame } from '../wire/parsed-frame';
import { ecnEncapsulate } from './ecn';
import { copyPacket } from './copy-packet';
import { NextHop } from './next-hop';
import { forwardVerdict, writeOutputEthernet } from './output-frame';
import { decrementTtl } from './ttl';

/** The largest IPv4 total length / IPv6 payload length a 16-bit length field can carry. */
const MAX_IP_LEN = 0xffff;

/**
 * Writes the tunnelled frame for src (parsed into pf) to the real server (rsAddr, rsAddrOff),
 * of family rsAf, via hop (the route to the real server; hop.srcAddr, of family hop.srcAf, is
 * the outer source).
 *
 * Outer IPv4 ID: 0 when the inner DF bit is set (the outer DF copies it); otherwise the real
 * server's counter ipIds[ipIdIndex] is advanced and used (1 for its first DF-clear packet, then
 * 2, 3, ..., wrapping after 65535) - a deterministic stand-in for the kernel's random
 * per-destination IDs. The engine keeps one counter per real server, starting at 0; it is
 * advanced only when the frame is actually written.
 *
 * Returns the frame length or -DropReason: NoRoute (no director address of the real server's
 * family on the egress link), TtlExceeded, TooBig (outer packet longer than hop's MTU, whatever
 * the DF bit; nothing written, the ID counter untouched), OutputFull. Fragmenting is the caller's
 * job: for an IPv4 outer header with DF clear the engine calls again towards a hop without an
 * MTU limit (Ipv4Fragmenter.unbounded) and cuts the whole outer packet (src/xmit/ipv4-fragmenter.ts).
 */
export function xmitIpip(
  src: Uint8Array,
  pf: ParsedFrame,
  hop: NextHop,
  rsAddr: Uint8Array,
  rsAddrOff: number,
  rsAf: number,
  ipIds: Uint16Array,
  ipIdIndex: number,
  out: Uint8Array,
  outOff: number,
  room: number,
): number {
  if ((rsAf !== 4 && rsAf !== 6) || hop.srcAf !== rsAf) return -DropReason.NoRoute;
  const innerLen = pf.ipTotalLen;
  const outerHdrLen = rsAf === 4 ? IPV4_MIN_HLEN : IPV6_HLEN;
  const outerLen = outerHdrLen + innerLen;
  if ((rsAf === 4 ? outerLen : innerLen) > MAX_IP_LEN) return -DropReason.TooBig;
  const verdict = forwardVerdict(pf, outerLen, hop, out, outOff, room);
  if (verdict < 0) return verdict;

  writeOutputEthernet(out, outOff, hop, rsAf);
  const l3 = outOff + ETH_HLEN;
  const inner = l3 + outerHdrLen;
  copyPacket(src, pf.l3Off, out, inner, innerLen);
  decrementTtl(out, inner, pf.af);

  const innerTos = pf.af === 4 ? src[pf.l3Off + IPV4_TOS] : ipv6TrafficClass(src, pf.l3Off);
  const tos = ecnEncapsulate(innerTos);
  const ttl = pf.ttl - 1;
  const proto = pf.af === 4 ? IPPROTO_IPIP : IPPROTO_IPV6;
  if (rsAf === 4) {
    // DF can only be copied from an inner IPv4 header; an inner IPv6 packet leaves it clear.
    const df = pf.af === 4 && pf.df;
    let id = 0;
    if (!df) {
      id = (ipIds[ipIdIndex] + 1) & 0xffff;
      ipIds[ipIdIndex] = id;
    }
    writeIpv4Header(out, l3, tos, outerLen, id, df ? IPV4_FLAG_DF : 0, ttl, proto, hop.srcAddr, 0, rsAddr, rsAddrOff);
  } else {
    writeIpv6Header(out, l3, tos, 0, innerLen, proto, ttl, hop.srcAddr, 0, rsAddr, rsAddrOff);
  }
  return ETH_HLEN + outerLen;
}
