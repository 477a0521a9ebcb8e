/**
 * Relaying an ICMP error through NAT or FULLNAT (ip_vs_nat_icmp, DPVS's dp_vs_xmit_icmp): the
 * error goes to the other side of its connection with the outer addresses and the quoted
 * packet's addresses and ports translated, so that the receiver recognises its own packet in the
 * quote. Checksums: the outer IPv4 header, the quoted IPv4 header and the ICMP message (over the
 * whole message; ICMPv6 with the pseudo-header) are recomputed; the quoted packet's transport
 * checksum is NOT updated (the kernel does not: the quote is usually cut short, so it could not).
 * DR and TUN relay errors with their ordinary transmitters (dr.ts, tunnel.ts): nothing to translate.
 */
import { finish, setIpv4HeaderChecksum, sumWords, transportChecksum, writeU16 } from '../wire/checksum';
import { copyBytes } from '../wire/bytes';
import { ETH_HLEN } from '../wire/ethernet';
import { ICMP_CHECK } from '../wire/icmp';
import type { QuotedPacket } from '../wire/icmp-quote';
import { IPPROTO_ICMPV6, ParsedFrame } from '../wire/parsed-frame';
import { copyPacket } from './copy-packet';
import { NextHop } from './next-hop';
import { forwardVerdict, writeOutputEthernet } from './output-frame';
import { decrementTtl } from './ttl';

/**
 * The new values of one relay. An address of null, a port of 0, keeps what the packet has.
 * Outer = the ICMP packet's own header; quoted = the packet inside the error.
 */
export class IcmpRewrite {
  outerSrc: Uint8Array | null = null;
  outerSrcOff = 0;
  outerDst: Uint8Array | null = null;
  outerDstOff = 0;
  quotedSrc: Uint8Array | null = null;
  quotedSrcOff = 0;
  quotedSport = 0;
  quotedDst: Uint8Array | null = null;
  quotedDstOff = 0;
  quotedDport = 0;

  /** Back to "change nothing" (the engine re-fills one instance per relay). */
  clear(): this {
    this.outerSrc = null;
    this.outerDst = null;
    this.quotedSrc = null;
    this.quotedDst = null;
    this.outerSrcOff = this.outerDstOff = this.quotedSrcOff = this.quotedDstOff = 0;
    this.quotedSport = this.quotedDport = 0;
    return this;
  }
}

/**
 * Writes the ICMP error src (parsed into pf, its quote into q) towards hop into out[outOff..]:
 * TTL (hop limit) - 1, then the rewrite rw. Returns the frame length or -DropReason (TtlExceeded,
 * TooBig, OutputFull: an ICMP error is never answered with another one).
 */
export function xmitIcmpTranslated(
  src: Uint8Array,
  pf: ParsedFrame,
  q: QuotedPacket,
  rw: IcmpRewrite,
  hop: NextHop,
  out: Uint8Array,
  outOff: number,
  room: number,
): number {
  const ipLen = pf.ipTotalLen;
  const verdict = forwardVerdict(pf, ipLen, hop, out, outOff, room);
  if (verdict < 0) return verdict;
  writeOutputEthernet(out, outOff, hop, pf.af);
  const l3 = outOff + ETH_HLEN;
  copyPacket(src, pf.l3Off, out, l3, ipLen);
  const shift = l3 - pf.l3Off;
  const addrLen = pf.af === 6 ? 16 : 4;
  if (rw.outerSrc !== null) copyBytes(rw.outerSrc, rw.outerSrcOff, out, pf.srcOff + shift, addrLen);
  if (rw.outerDst !== null) copyBytes(rw.outerDst, rw.outerDstOff, out, pf.dstOff + shift, addrLen);
  if (rw.quotedSrc !== null) copyBytes(rw.quotedSrc, rw.quotedSrcOff, out, q.srcOff + shift, addrLen);
  if (rw.quotedDst !== null) copyBytes(rw.quotedDst, rw.quotedDstOff, out, q.dstOff + shift, addrLen);
  if (rw.quotedSport > 0) writeU16(out, q.l4Off + shift, rw.quotedSport);
  if (rw.quotedDport > 0) writeU16(out, q.l4Off + 2 + shift, rw.quotedDport);
  // The quoted IPv4 header is whole (parseQuotedPacket saw its ports after it): its checksum is
  // recomputed as the kernel's ip_send_check does, even where the sender's was wrong.
  if (pf.af === 4) setIpv4HeaderChecksum(out, q.l3Off + shift);
  decrementTtl(out, l3, pf.af);
  const icmp = pf.l4Off + shift;
  writeU16(out, icmp + ICMP_CHECK, 0);
  const sum = pf.af === 4
    ? finish(sumWords(out, icmp, pf.l4Len, 0))
    : transportChecksum(out, pf.srcOff + shift, pf.dstOff + shift, 16, IPPROTO_ICMPV6, icmp, pf.l4Len, ICMP_CHECK);
  writeU16(out, icmp + ICMP_CHECK, sum);
  return ETH_HLEN + ipLen;
}
