/**
 * The packet an ICMP error quotes (RFC 792, RFC 4443): after the 8-byte ICMP header comes the IP
 * header of the packet that caused the error and the start of its payload. IPVS finds the
 * connection an error belongs to from that quote, so this reads exactly what the lookup needs:
 * addresses, protocol and ports. Nothing is allocated: one QuotedPacket is re-filled per error.
 */
import { fold, pseudoHeaderSum, sumWords } from './checksum';
import {
  IPV4_DADDR, IPV4_FRAG_OFF, IPV4_MIN_HLEN, IPV4_OFFSET_MASK, IPV4_PROTO, IPV4_SADDR,
} from './ipv4';
import {
  IPV6_DADDR, IPV6_FRAG_HLEN, IPV6_FRAG_OFFSET_MASK, IPV6_FRAG_OFFSET_WORD, IPV6_HLEN, IPV6_NEXT_HEADER,
  IPV6_NH_AH, IPV6_NH_DSTOPTS, IPV6_NH_FRAGMENT, IPV6_NH_HOPOPTS, IPV6_NH_ROUTING, IPV6_SADDR,
} from './ipv6';
import { IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, ParsedFrame } from './parsed-frame';

/** What parseQuotedPacket found; offsets are absolute indexes into the frame's buffer. */
export class QuotedPacket {
  /** Start of the quoted IP header. */
  l3Off = 0;
  /** IPv4 IHL * 4; IPv6 40 plus the extension headers before the transport header. */
  hdrLen = 0;
  proto = 0;
  srcOff = 0;
  dstOff = 0;
  /** Quoted transport header: its ports are at +0 and +2. */
  l4Off = 0;
  sport = 0;
  dport = 0;
}

/**
 * Reads the packet quoted at buf[off, end) by an ICMP error of family af (4: ICMP quoting IPv4,
 * 6: ICMPv6 quoting IPv6) into q. True when the quote is an IP header of that family, not a later
 * fragment (those carry no ports: IPVS ignores them), of TCP, UDP or SCTP, with both ports
 * inside the quote. The quoted header checksum is not checked (IPVS does not check it either).
 */
export function parseQuotedPacket(buf: Uint8Array, off: number, end: number, af: number, q: QuotedPacket): boolean {
  if (end > buf.length) end = buf.length;
  let l4: number;
  let proto: number;
  q.l3Off = off;
  if (af === 4) {
    if (off + IPV4_MIN_HLEN > end || buf[off] >>> 4 !== 4) return false;
    const ihl = (buf[off] & 0x0f) << 2;
    if (ihl < IPV4_MIN_HLEN) return false;
    const fragWord = (buf[off + IPV4_FRAG_OFF] << 8) | buf[off + IPV4_FRAG_OFF + 1];
    if ((fragWord & IPV4_OFFSET_MASK) !== 0) return false;
    proto = buf[off + IPV4_PROTO];
    q.srcOff = off + IPV4_SADDR;
    q.dstOff = off + IPV4_DADDR;
    l4 = off + ihl;
  } else if (af === 6) {
    if (off + IPV6_HLEN > end || buf[off] >>> 4 !== 6) return false;
    q.srcOff = off + IPV6_SADDR;
    q.dstOff = off + IPV6_DADDR;
    proto = buf[off + IPV6_NEXT_HEADER];
    l4 = off + IPV6_HLEN;
    // Each step moves on by 8 bytes at least, so the walk ends within the quote.
    for (;;) {
      if (proto === IPV6_NH_HOPOPTS || proto === IPV6_NH_ROUTING || proto === IPV6_NH_DSTOPTS) {
        if (l4 + 2 > end) return false;
        proto = buf[l4];
        l4 += (buf[l4 + 1] + 1) << 3;
      } else if (proto === IPV6_NH_AH) {
        if (l4 + 2 > end) return false;
        proto = buf[l4];
        l4 += (buf[l4 + 1] + 2) << 2;
      } else if (proto === IPV6_NH_FRAGMENT) {
        if (l4 + IPV6_FRAG_HLEN > end) return false;
        const word = (buf[l4 + IPV6_FRAG_OFFSET_WORD] << 8) | buf[l4 + IPV6_FRAG_OFFSET_WORD + 1];
        if ((word & IPV6_FRAG_OFFSET_MASK) !== 0) return false;
        proto = buf[l4];
        l4 += IPV6_FRAG_HLEN;
      } else {
        break;
      }
    }
  } else {
    return false;
  }
  if (proto !== IPPROTO_TCP && proto !== IPPROTO_UDP && proto !== IPPROTO_SCTP) return false;
  if (l4 + 4 > end) return false;
  q.proto = proto;
  q.hdrLen = l4 - off;
  q.l4Off = l4;
  q.sport = (buf[l4] << 8) | buf[l4 + 1];
  q.dport = (buf[l4 + 2] << 8) | buf[l4 + 3];
  return true;
}

/**
 * True when the ICMP message of the packet pf describes carries a correct checksum: ICMPv4 sums
 * the message alone, ICMPv6 the IPv6 pseudo-header too (RFC 4443 2.3).
 */
export function icmpChecksumOk(buf: Uint8Array, pf: ParsedFrame): boolean {
  let sum = pf.af === 6 ? pseudoHeaderSum(buf, pf.srcOff, pf.dstOff, 16, IPPROTO_ICMPV6, pf.l4Len) : 0;
  return fold(sumWords(buf, pf.l4Off, pf.l4Len, sum)) === 0xffff;
}
