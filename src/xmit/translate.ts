/**
 * The forwarding shared by NAT and FULLNAT: copy the IP packet, translate its endpoints, TTL - 1.
 */
import { ETH_HLEN } from '../wire/ethernet';
import { IPV4_CHECK, IPV4_DADDR, IPV4_MIN_HLEN, IPV4_SADDR, IPV4_TTL } from '../wire/ipv4';
import { IPPROTO_TCP, IPPROTO_UDP, ParsedFrame } from '../wire/parsed-frame';
import { TCP_CHECK, TCP_DPORT, TCP_SPORT } from '../wire/tcp';
import { UDP_CHECK, UDP_HLEN, UDP_LEN } from '../wire/udp';
import { transportChecksum } from '../wire/checksum';
import { rewriteEndpoints } from './endpoint-rewrite';
import { frameView } from './frame-view';
import { copyPacket } from './copy-packet';
import { NextHop } from './next-hop';
import { forwardVerdict, writeOutputEthernet, writePreparedEthernet } from './output-frame';
import { decrementTtl } from './ttl';

/** Literals for the per-packet code (see output-frame.ts); the `satisfies` below proves they match. */
const enum Nat {
  EthHlen = 14,
  EthPIp = 0x0800,
  /** Version/IHL, TOS and total length: the first 32-bit word of the IPv4 header. */
  Ip4VerTosLen = 0,
  /** Identification and flags/fragment offset. */
  Ip4IdFrag = 4,
  Ip4Ttl = 8,
  Ip4Check = 10,
  Ip4Saddr = 12,
  Ip4Daddr = 16,
  Ip4Hlen = 20,
  ProtoTcp = 6,
  ProtoUdp = 17,
  L4Sport = 0,
  L4Dport = 2,
  TcpCheck = 16,
  UdpLen = 4,
  UdpCheck = 6,
  UdpHlen = 8,
}
void ([
  Nat.EthHlen, Nat.Ip4Ttl, Nat.Ip4Check, Nat.Ip4Saddr, Nat.Ip4Daddr, Nat.Ip4Hlen, Nat.ProtoTcp, Nat.ProtoUdp,
  Nat.L4Sport, Nat.L4Dport, Nat.TcpCheck, Nat.UdpLen, Nat.UdpCheck, Nat.UdpHlen,
] satisfies [
  typeof ETH_HLEN, typeof IPV4_TTL, typeof IPV4_CHECK, typeof IPV4_SADDR, typeof IPV4_DADDR, typeof IPV4_MIN_HLEN,
  typeof IPPROTO_TCP, typeof IPPROTO_UDP, typeof TCP_SPORT, typeof TCP_DPORT, typeof TCP_CHECK, typeof UDP_LEN,
  typeof UDP_CHECK, typeof UDP_HLEN,
]);

/**
 * Writes src's IP packet towards hop with the source address/port replaced by (sAddr, sPort)
 * and the destination by (dAddr, dPort): null addresses and 0 ports are kept. Checksums as in
 * rewriteEndpoints, IPv4 header checksum recomputed. Returns the frame length or -DropReason.
 */
export function xmitTranslated(
  src: Uint8Array,
  pf: ParsedFrame,
  hop: NextHop,
  sAddr: Uint8Array | null,
  sAddrOff: number,
  sPort: number,
  dAddr: Uint8Array | null,
  dAddrOff: number,
  dPort: number,
  out: Uint8Array,
  outOff: number,
  room: number,
): number {
  const ipLen = pf.ipTotalLen;
  const verdict = forwardVerdict(pf, ipLen, hop, out, outOff, room);
  if (verdict < 0) return verdict;
  const l3 = outOff + Nat.EthHlen;
  // In place, the IP packet already where it goes (an untagged frame rewritten where it lies),
  // IPv4 without options, a whole TCP segment or UDP datagram: word loads and stores.
  if (
    out === src &&
    pf.l3Off === l3 &&
    pf.af === 4 &&
    pf.ipHeaderLen === Nat.Ip4Hlen &&
    pf.fragment === 0 &&
    hop.ethPrepared &&
    Math.floor(outOff) === outOff
  ) {
    const v = frameView(out);
    if (v !== null && translateInPlace4(v, out, pf, sAddr, sAddrOff, sPort, dAddr, dAddrOff, dPort)) {
      writePreparedEthernet(v, outOff, hop, Nat.EthPIp);
      return Nat.EthHlen + ipLen;
    }
  }
  writeOutputEthernet(out, outOff, hop, pf.af);
  copyPacket(src, pf.l3Off, out, l3, ipLen);
  rewriteEndpoints(out, pf, l3 - pf.l3Off, pf.l4Len, false, sAddr, sAddrOff, sPort, dAddr, dAddrOff, dPort);
  decrementTtl(out, l3, pf.af);
  return Nat.EthHlen + ipLen;
}

/**
 * What rewriteEndpoints (shift 0) and decrementTtl do to the IPv4 packet described by pf (IHL 5,
 * not a fragment), done on 16- and 32-bit words of v (a view of buf): returns false, having
 * changed nothing, unless the packet is TCP or UDP and its header really has IHL 5. The transport
 * checksum takes all the changed words in one RFC 1624 sum: for ones' complement sums, adjusting
 * once for all the words gives the same result as adjusting word by word (each intermediate fold
 * keeps the value modulo 0xffff and non-zero once non-zero). A UDP datagram sent without a
 * checksum gets one summed in full over its UDP length, as IPVS does (and rewriteEndpoints). The
 * IPv4 header checksum is then summed in full over the ten words, as setIpv4HeaderChecksum does.
 */
function translateInPlace4(
  v: DataView<ArrayBufferLike>,
  buf: Uint8Array,
  pf: ParsedFrame,
  sAddr: Uint8Array | null,
  sAddrOff: number,
  sPort: number,
  dAddr: Uint8Array | null,
  dAddrOff: number,
  dPort: number,
): boolean {
  const l3 = pf.l3Off;
  const l4 = pf.l4Off;
  const proto = pf.proto;
  let checkOff: number;
  if (proto === Nat.ProtoTcp) checkOff = l4 + Nat.TcpCheck;
  else if (proto === Nat.ProtoUdp) checkOff = l4 + Nat.UdpCheck;
  else return false;
  // Everything touched lies in the IP packet, which forwardVerdict found inside the buffer.
  if (l4 !== l3 + Nat.Ip4Hlen || checkOff + 2 > l3 + pf.ipTotalLen) return false;
  const check = v.getUint16(checkOff);
  // UDP without a checksum: summed in full below, over its own length (within the IP payload).
  const fullUdp = proto === Nat.ProtoUdp && check === 0;
  const udpLen = fullUdp ? v.getUint16(l4 + Nat.UdpLen) : 0;
  if (fullUdp && (udpLen < Nat.UdpHlen || l4 + udpLen > l3 + pf.ipTotalLen)) return false;
  const verTosLen = v.getUint32(l3 + Nat.Ip4VerTosLen);
  if (((verTosLen >>> 24) & 0x0f) !== Nat.Ip4Hlen >>> 2) return false;

  let sum = ~check & 0xffff;
  let saddr = v.getUint32(l3 + Nat.Ip4Saddr);
  if (sAddr !== null) {
    const a = readAddr4(sAddr, sAddrOff);
    sum += (~(saddr >>> 16) & 0xffff) + (~saddr & 0xffff) + (a >>> 16) + (a & 0xffff);
    saddr = a;
    v.setUint32(l3 + Nat.Ip4Saddr, a);
  }
  let daddr = v.getUint32(l3 + Nat.Ip4Daddr);
  if (dAddr !== null) {
    const a = readAddr4(dAddr, dAddrOff);
    sum += (~(daddr >>> 16) & 0xffff) + (~daddr & 0xffff) + (a >>> 16) + (a & 0xffff);
    daddr = a;
    v.setUint32(l3 + Nat.Ip4Daddr, a);
  }
  if (sPort > 0) {
    const port = sPort & 0xffff;
    sum += (~v.getUint16(l4 + Nat.L4Sport) & 0xffff) + port;
    v.setUint16(l4 + Nat.L4Sport, port);
  }
  if (dPort > 0) {
    const port = dPort & 0xffff;
    sum += (~v.getUint16(l4 + Nat.L4Dport) & 0xffff) + port;
    v.setUint16(l4 + Nat.L4Dport, port);
  }
  // At most 11 words: two end-around folds reach 16 bits.
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  let newCheck = fullUdp
    ? transportChecksum(buf, l3 + Nat.Ip4Saddr, l3 + Nat.Ip4Daddr, 4, Nat.ProtoUdp, l4, udpLen, Nat.UdpCheck)
    : ~sum & 0xffff;
  // A UDP checksum of 0 would mean "none": it is sent as 0xffff.
  if (proto === Nat.ProtoUdp && newCheck === 0) newCheck = 0xffff;
  v.setUint16(checkOff, newCheck);

  // TTL - 1 and the header checksum over the ten words (the checksum word itself as 0).
  const oldTtlProto = v.getUint16(l3 + Nat.Ip4Ttl);
  const ttlProto = ((((oldTtlProto >>> 8) - 1) & 0xff) << 8) | (oldTtlProto & 0xff);
  const idFrag = v.getUint32(l3 + Nat.Ip4IdFrag);
  let hsum =
    (verTosLen >>> 16) +
    (verTosLen & 0xffff) +
    (idFrag >>> 16) +
    (idFrag & 0xffff) +
    ttlProto +
    (saddr >>> 16) +
    (saddr & 0xffff) +
    (daddr >>> 16) +
    (daddr & 0xffff);
  hsum = (hsum & 0xffff) + (hsum >>> 16);
  hsum = (hsum & 0xffff) + (hsum >>> 16);
  v.setUint32(l3 + Nat.Ip4Ttl, ((ttlProto << 16) | (~hsum & 0xffff)) >>> 0);
  return true;
}

/** The IPv4 address at a[off..off+4) as an unsigned number (a byte past the array counts as 0, as copyBytes stores it). */
function readAddr4(a: Uint8Array, off: number): number {
  return ((a[off] << 24) | (a[off + 1] << 16) | (a[off + 2] << 8) | a[off + 3]) >>> 0;
}
