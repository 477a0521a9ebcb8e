/**
 * The zero-allocation frame parser: one pass over Ethernet, VLAN tags, IPv4/IPv6 (with IPv6
 * extension headers) and the transport header, filling a reused ParsedFrame with offsets and
 * the few header values the engine decides on. It never throws, never reads outside
 * buf[off, off+len) and never allocates per frame.
 *
 * It enforces what the Linux receive path checks before IPVS sees a packet (IPv4 header
 * length, total length, header checksum and options; IPv6 payload length; sane transport headers);
 * it does not verify transport checksums (IPVS only does that where it rewrites, see xmit).
 *
 * Speed: the common frame (IPv4 without options, untagged or with one VLAN tag, carrying a whole
 * TCP segment or UDP datagram) takes a fast path that reads 16- and 32-bit fields through a
 * DataView; every other frame, and any the fast path doubts, is parsed by the general code,
 * which is the reference.
 * Header offsets are the const enum H (compiled to literals, see there).
 */
import { ipv4HeaderChecksumOk } from './checksum';
import { ipv4OptionsOk } from './ipv4-options';
import {
  DropReason,
  ETH_P_8021AD,
  ETH_P_8021Q,
  ETH_P_ARP,
  ETH_P_IP,
  ETH_P_IPV6,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  ParsedFrame,
} from './parsed-frame';
import { ETH_HLEN, ETH_TYPE, VLAN_TAG_LEN } from './ethernet';
import { ARP_FIXED_LEN, ARP_HLEN, ARP_OP, ARP_PLEN } from './arp';
import {
  IPV4_DADDR,
  IPV4_FLAG_DF,
  IPV4_FLAG_MF,
  IPV4_FRAG_OFF,
  IPV4_ID,
  IPV4_MIN_HLEN,
  IPV4_OFFSET_MASK,
  IPV4_PROTO,
  IPV4_SADDR,
  IPV4_TOT_LEN,
  IPV4_TTL,
} from './ipv4';
import {
  IPV6_DADDR,
  IPV6_FRAG_HLEN,
  IPV6_FRAG_MF,
  IPV6_FRAG_OFFSET_MASK,
  IPV6_FRAG_OFFSET_WORD,
  IPV6_HLEN,
  IPV6_HOP_LIMIT,
  IPV6_NEXT_HEADER,
  IPV6_NH_DSTOPTS,
  IPV6_NH_FRAGMENT,
  IPV6_NH_HOPOPTS,
  IPV6_NH_ROUTING,
  IPV6_PAYLOAD_LEN,
  IPV6_SADDR,
} from './ipv6';
import { TCP_DOFF, TCP_DPORT, TCP_FLAGS, TCP_MIN_HLEN, TCP_SPORT } from './tcp';
import { UDP_DPORT, UDP_HLEN, UDP_LEN, UDP_SPORT } from './udp';
import { SCTP_CHUNK_HLEN, SCTP_COMMON_HLEN, SCTP_DPORT, SCTP_SPORT } from './sctp';
import { ICMP_CODE, ICMP_TYPE } from './icmp';

/**
 * The header offsets, lengths and numbers the parser uses, as a const enum so that they compile
 * to literals: an imported constant is a property load from the other module's exports object
 * on every use, which in this code costs more than the byte it locates. Each member mirrors the
 * exported constant named after it, and the `satisfies` below makes any difference a compile
 * error. Offsets are relative to the Ethernet header (Eth*), the IPv4 or IPv6 header (Ip*, Ip6*),
 * the ARP message (Arp*) or the transport header (L4*, Tcp*, Udp*, Sctp*, Icmp*).
 */
const enum H {
  EthHlen = 14,
  EthType = 12,
  VlanTagLen = 4,
  EthPIp = 0x0800,
  EthPIpv6 = 0x86dd,
  EthPArp = 0x0806,
  EthP8021Q = 0x8100,
  EthP8021AD = 0x88a8,
  ArpHlen = 4,
  ArpPlen = 5,
  ArpOp = 6,
  ArpFixedLen = 8,
  IpTotLen = 2,
  IpFragOff = 6,
  IpTtl = 8,
  IpProto = 9,
  IpSaddr = 12,
  IpDaddr = 16,
  IpHlen = 20,
  IpFlagDf = 0x4000,
  IpFlagMf = 0x2000,
  IpOffsetMask = 0x1fff,
  Ip6PayloadLen = 4,
  Ip6NextHeader = 6,
  Ip6HopLimit = 7,
  Ip6Saddr = 8,
  Ip6Daddr = 24,
  Ip6Hlen = 40,
  Ip6NhHopOpts = 0,
  Ip6NhRouting = 43,
  Ip6NhFragment = 44,
  Ip6NhDstOpts = 60,
  Ip6FragHlen = 8,
  Ip6FragOffsetWord = 2,
  Ip6FragMf = 0x0001,
  Ip6FragOffsetMask = 0xfff8,
  ProtoIcmp = 1,
  ProtoTcp = 6,
  ProtoUdp = 17,
  ProtoIcmpv6 = 58,
  ProtoSctp = 132,
  /** Source port, then destination port: the same place in TCP, UDP and SCTP. */
  L4Sport = 0,
  L4Dport = 2,
  TcpDoff = 12,
  TcpFlags = 13,
  TcpMinHlen = 20,
  UdpLen = 4,
  UdpHlen = 8,
  SctpCommonHlen = 12,
  SctpChunkHlen = 4,
  IcmpType = 0,
  IcmpCode = 1,
  /** Type, code and checksum: what an ICMP message must hold for the engine to look at it. */
  IcmpMinLen = 4,

  // Fast path only (see parseIpv4Fast).
  /** Ethernet + IPv4 header without options: anything shorter can not take the fast path. */
  FastMinLen = 34,
  /** EtherType IPv4 (EthPIp), then version 4 with IHL 5: the 24 bits before the TOS byte. */
  EthIpv4Ihl5 = 0x080045,
  /** Identification, then flags and fragment offset. */
  IpIdFrag = 4,
  /** TTL, protocol, then the header checksum. */
  IpTtlProtoCheck = 8,
  /** MF and the fragment offset (IpFlagMf | IpOffsetMask): a whole packet has neither. */
  IpFragMask = 0x3fff,
  /** TCP data offset (high nibble), then the flags byte. */
  TcpDoffFlags = 12,
}

// Compile-time proof that H agrees with the constants the other wire modules export.
void ([
  H.EthHlen, H.EthType, H.VlanTagLen, H.EthPIp, H.EthPIpv6, H.EthPArp, H.EthP8021Q, H.EthP8021AD,
  H.ArpHlen, H.ArpPlen, H.ArpOp, H.ArpFixedLen,
  H.IpTotLen, H.IpFragOff, H.IpTtl, H.IpProto, H.IpSaddr, H.IpDaddr, H.IpHlen, H.IpFlagDf, H.IpFlagMf, H.IpOffsetMask,
  H.Ip6PayloadLen, H.Ip6NextHeader, H.Ip6HopLimit, H.Ip6Saddr, H.Ip6Daddr, H.Ip6Hlen, H.Ip6NhHopOpts, H.Ip6NhRouting,
  H.Ip6NhFragment, H.Ip6NhDstOpts, H.Ip6FragHlen, H.Ip6FragOffsetWord, H.Ip6FragMf, H.Ip6FragOffsetMask,
  H.ProtoIcmp, H.ProtoTcp, H.ProtoUdp, H.ProtoIcmpv6, H.ProtoSctp,
  H.L4Sport, H.L4Dport, H.L4Sport, H.L4Dport, H.L4Sport, H.L4Dport,
  H.TcpDoff, H.TcpFlags, H.TcpMinHlen, H.UdpLen, H.UdpHlen, H.SctpCommonHlen, H.SctpChunkHlen, H.IcmpType, H.IcmpCode,
  H.IpIdFrag, H.IpTtlProtoCheck, H.TcpDoffFlags,
] satisfies [
  typeof ETH_HLEN, typeof ETH_TYPE, typeof VLAN_TAG_LEN, typeof ETH_P_IP, typeof ETH_P_IPV6, typeof ETH_P_ARP,
  typeof ETH_P_8021Q, typeof ETH_P_8021AD,
  typeof ARP_HLEN, typeof ARP_PLEN, typeof ARP_OP, typeof ARP_FIXED_LEN,
  typeof IPV4_TOT_LEN, typeof IPV4_FRAG_OFF, typeof IPV4_TTL, typeof IPV4_PROTO, typeof IPV4_SADDR, typeof IPV4_DADDR,
  typeof IPV4_MIN_HLEN, typeof IPV4_FLAG_DF, typeof IPV4_FLAG_MF, typeof IPV4_OFFSET_MASK,
  typeof IPV6_PAYLOAD_LEN, typeof IPV6_NEXT_HEADER, typeof IPV6_HOP_LIMIT, typeof IPV6_SADDR, typeof IPV6_DADDR,
  typeof IPV6_HLEN, typeof IPV6_NH_HOPOPTS, typeof IPV6_NH_ROUTING, typeof IPV6_NH_FRAGMENT, typeof IPV6_NH_DSTOPTS,
  typeof IPV6_FRAG_HLEN, typeof IPV6_FRAG_OFFSET_WORD, typeof IPV6_FRAG_MF, typeof IPV6_FRAG_OFFSET_MASK,
  typeof IPPROTO_ICMP, typeof IPPROTO_TCP, typeof IPPROTO_UDP, typeof IPPROTO_ICMPV6, typeof IPPROTO_SCTP,
  typeof TCP_SPORT, typeof TCP_DPORT, typeof UDP_SPORT, typeof UDP_DPORT, typeof SCTP_SPORT, typeof SCTP_DPORT,
  typeof TCP_DOFF, typeof TCP_FLAGS, typeof TCP_MIN_HLEN, typeof UDP_LEN, typeof UDP_HLEN, typeof SCTP_COMMON_HLEN,
  typeof SCTP_CHUNK_HLEN, typeof ICMP_TYPE, typeof ICMP_CODE,
  typeof IPV4_ID, typeof IPV4_TTL, typeof TCP_DOFF,
]);

/** Puts every field of pf back to its "nothing parsed" value. */
export function resetParsedFrame(pf: ParsedFrame): void {
  pf.l2Off = 0;
  pf.frameLen = 0;
  pf.vlanCount = 0;
  pf.etherType = 0;
  pf.l3Off = 0;
  pf.af = 0;
  pf.ipHeaderLen = 0;
  pf.ipTotalLen = 0;
  pf.proto = 0;
  pf.ttl = 0;
  pf.df = false;
  pf.fragment = 0;
  pf.srcOff = 0;
  pf.dstOff = 0;
  pf.l4Off = 0;
  pf.l4Len = 0;
  pf.sport = 0;
  pf.dport = 0;
  pf.tcpFlags = 0;
  pf.tcpHeaderLen = 0;
  pf.sctpChunk = -1;
  pf.icmpType = -1;
  pf.icmpCode = -1;
  pf.arpOp = 0;
}

/**
 * Parses the Ethernet frame of `len` captured bytes at buf[off] into pf and returns
 * DropReason.None when the frame can go on to the engine, else why it can not:
 *   TruncatedEthernet  shorter than 14 bytes, a VLAN tag cut short, or an ARP message cut short
 *   Arp                an ARP message (arpOp filled): the balancer never forwards ARP
 *   UnknownEtherType   neither IPv4, IPv6 nor ARP after the tags
 *   TruncatedIp / BadIpVersion / BadIpHeaderLength / BadIpTotalLength / BadIpChecksum
 *   BadIpOptions       IPv4 options the kernel would refuse (see ipv4-options.ts)
 *   BadIpv6ExtensionHeader  an extension header past the payload, a misplaced hop-by-hop
 *                      header or a second fragment header
 *   Fragment           a later fragment (offset > 0): IP fields filled, ports 0
 *   TruncatedTransport / BadTransportHeader  TCP, UDP, SCTP or ICMP header missing or inconsistent
 * Other transport protocols (and ICMP) return None with proto set: the engine decides.
 * A first fragment (pf.fragment = 1) is parsed like a whole packet, except that a UDP length
 * beyond this fragment is accepted. Fields that do not apply keep their reset values
 * (see resetParsedFrame); on a drop, the fields of the layers already accepted stay filled.
 * `len` larger than the buffer is clamped to the buffer's end.
 */
export function parseFrame(buf: Uint8Array, off: number, len: number, pf: ParsedFrame): DropReason {
  // DataView reads truncate a fractional offset where byte indexing would read `undefined`:
  // such an offset is left to the general path, like a frame the fast path does not take.
  if (
    off >= 0 &&
    len >= H.FastMinLen &&
    off <= buf.length - len &&
    Math.floor(off) === off &&
    (buf === viewBuf || adoptView(buf)) &&
    parseIpv4Fast(view, off, len, pf)
  ) {
    return DropReason.None;
  }
  return parseFrameGeneral(buf, off, len, pf);
}

/**
 * A DataView over the buffer of the last parseFrame call: the fast path reads 16- and 32-bit
 * big-endian fields in one access each. It is created when the buffer changes (a reader's
 * chunk buffer stays the same for millions of frames), never per frame. The view covers
 * exactly the Uint8Array, so `off + len <= buf.length` (checked first) keeps every read
 * inside it; a detached buffer has length 0 and never gets that far.
 */
let viewBuf: Uint8Array | null = null;
let view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

/**
 * Makes `view` cover buf and returns true, or returns false for a buffer whose length can
 * change under a fixed view (resizable ArrayBuffer, growable SharedArrayBuffer): frames in
 * those take the general path.
 */
function adoptView(buf: Uint8Array): boolean {
  const backing = buf.buffer as { resizable?: boolean; growable?: boolean };
  if (backing.resizable === true || backing.growable === true) return false;
  view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  viewBuf = buf;
  return true;
}

/**
 * The fast path of parseFrame for the frame at v[off, off+len) (all inside the view, len >= 34):
 * when it is an IPv4 packet with IHL 5, untagged or with one 802.1Q / 802.1ad tag, holding a
 * whole TCP segment or UDP datagram whose every check passes, fills every field of pf exactly as
 * the general path would and returns true. Returns false, before writing anything to pf, for any
 * other frame: two tags or more, another EtherType, IP options, a fragment, a bad length or
 * checksum, another transport or a doubtful transport header. Each field is read once, a 16- or
 * 32-bit word at a time; the header checksum is the unrolled sum of the ten 16-bit words of the
 * 20-byte header.
 */
function parseIpv4Fast(v: DataView<ArrayBufferLike>, off: number, len: number, pf: ParsedFrame): boolean {
  let typeVerTos = v.getUint32(off + H.EthType);
  let l3 = off + H.EthHlen;
  let vlanCount = 0;
  const tpid = typeVerTos >>> 16;
  if (tpid === H.EthP8021Q || tpid === H.EthP8021AD) {
    // One tag: the EtherType and the IP header follow it (more tags go to the general path).
    if (len < H.FastMinLen + H.VlanTagLen) return false;
    typeVerTos = v.getUint32(off + H.EthType + H.VlanTagLen);
    l3 += H.VlanTagLen;
    vlanCount = 1;
  }
  if (typeVerTos >>> 8 !== H.EthIpv4Ihl5) return false;
  const total = v.getUint16(l3 + H.IpTotLen);
  // Bytes past the total length are Ethernet padding; fewer bytes than it means a cut packet.
  if (total < H.IpHlen || total > len - (l3 - off)) return false;
  const idFrag = v.getUint32(l3 + H.IpIdFrag);
  if ((idFrag & H.IpFragMask) !== 0) return false;
  const ttlProtoCheck = v.getUint32(l3 + H.IpTtlProtoCheck);
  const saddr = v.getUint32(l3 + H.IpSaddr);
  const daddr = v.getUint32(l3 + H.IpDaddr);
  // RFC 1071 over the ten words: version/IHL with TOS, total length, then two per 32-bit read.
  let sum =
    ((typeVerTos & 0xffff) +
      total +
      (idFrag >>> 16) +
      (idFrag & 0xffff) +
      (ttlProtoCheck >>> 16) +
      (ttlProtoCheck & 0xffff)) +
    ((saddr >>> 16) + (saddr & 0xffff) + (daddr >>> 16) + (daddr & 0xffff));
  // Ten 16-bit words stay below 2^20: two end-around folds always reach 16 bits.
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  if (sum !== 0xffff) return false;

  const proto = (ttlProtoCheck >>> 16) & 0xff;
  const l4 = l3 + H.IpHlen;
  const l4Len = total - H.IpHlen;
  let tcpFlags = 0;
  let tcpHeaderLen = 0;
  if (proto === H.ProtoTcp) {
    if (l4Len < H.TcpMinHlen) return false;
    const doffFlags = v.getUint16(l4 + H.TcpDoffFlags);
    tcpHeaderLen = (doffFlags >>> 12) << 2;
    if (tcpHeaderLen < H.TcpMinHlen || tcpHeaderLen > l4Len) return false;
    tcpFlags = doffFlags & 0xff;
  } else if (proto === H.ProtoUdp) {
    if (l4Len < H.UdpHlen) return false;
    const udpLen = v.getUint16(l4 + H.UdpLen);
    if (udpLen < H.UdpHlen || udpLen > l4Len) return false;
  } else {
    return false;
  }
  const ports = v.getUint32(l4 + H.L4Sport);
  pf.l2Off = off;
  pf.frameLen = len;
  pf.vlanCount = vlanCount;
  pf.etherType = H.EthPIp;
  pf.l3Off = l3;
  pf.af = 4;
  pf.ipHeaderLen = H.IpHlen;
  pf.ipTotalLen = total;
  pf.proto = proto;
  pf.ttl = ttlProtoCheck >>> 24;
  pf.df = (idFrag & H.IpFlagDf) !== 0;
  pf.fragment = 0;
  pf.srcOff = l3 + H.IpSaddr;
  pf.dstOff = l3 + H.IpDaddr;
  pf.l4Off = l4;
  pf.l4Len = l4Len;
  pf.sport = ports >>> 16;
  pf.dport = ports & 0xffff;
  pf.tcpFlags = tcpFlags;
  pf.tcpHeaderLen = tcpHeaderLen;
  pf.sctpChunk = -1;
  pf.icmpType = -1;
  pf.icmpCode = -1;
  pf.arpOp = 0;
  return true;
}

/** parseFrame for any frame: the reference behaviour, which the fast path reproduces for its frames. */
function parseFrameGeneral(buf: Uint8Array, off: number, len: number, pf: ParsedFrame): DropReason {
  resetParsedFrame(pf);
  if (!(off >= 0 && off <= buf.length && len >= 0)) return DropReason.TruncatedEthernet;
  if (len > buf.length - off) len = buf.length - off;
  pf.l2Off = off;
  pf.frameLen = len;
  const end = off + len;
  if (len < H.EthHlen) return DropReason.TruncatedEthernet;

  let typeOff = off + H.EthType;
  let etherType = (buf[typeOff] << 8) | buf[typeOff + 1];
  while (etherType === H.EthP8021Q || etherType === H.EthP8021AD) {
    // The tag's TCI sits where the EtherType would be; the next EtherType follows it.
    typeOff += H.VlanTagLen;
    if (typeOff + 2 > end) return DropReason.TruncatedEthernet;
    pf.vlanCount++;
    etherType = (buf[typeOff] << 8) | buf[typeOff + 1];
  }
  pf.etherType = etherType;
  const l3Off = typeOff + 2;
  pf.l3Off = l3Off;

  let reason: DropReason;
  if (etherType === H.EthPIp) reason = parseIpv4(buf, l3Off, end, pf);
  else if (etherType === H.EthPIpv6) reason = parseIpv6(buf, l3Off, end, pf);
  else if (etherType === H.EthPArp) return parseArp(buf, l3Off, end, pf);
  else return DropReason.UnknownEtherType;
  if (reason !== DropReason.None) return reason;
  return parseTransport(buf, pf);
}

/**
 * ARP carries variable-length addresses: 8 fixed bytes, then 2 * (hlen + plen) (28 bytes in all
 * for Ethernet/IPv4). A message cut short is counted as TruncatedEthernet: ARP is a link-layer
 * message, and it is not IP. arpOp is filled only for a complete message.
 */
function parseArp(buf: Uint8Array, l3Off: number, end: number, pf: ParsedFrame): DropReason {
  if (end - l3Off < H.ArpFixedLen) return DropReason.TruncatedEthernet;
  const need = H.ArpFixedLen + 2 * (buf[l3Off + H.ArpHlen] + buf[l3Off + H.ArpPlen]);
  if (end - l3Off < need) return DropReason.TruncatedEthernet;
  pf.arpOp = (buf[l3Off + H.ArpOp] << 8) | buf[l3Off + H.ArpOp + 1];
  return DropReason.Arp;
}

function parseIpv4(buf: Uint8Array, l3Off: number, end: number, pf: ParsedFrame): DropReason {
  const avail = end - l3Off;
  if (avail < 1) return DropReason.TruncatedIp;
  const verIhl = buf[l3Off];
  if (verIhl >>> 4 !== 4) return DropReason.BadIpVersion;
  if (avail < H.IpHlen) return DropReason.TruncatedIp;
  const ihl = (verIhl & 0x0f) << 2;
  if (ihl < H.IpHlen) return DropReason.BadIpHeaderLength;
  if (ihl > avail) return DropReason.TruncatedIp;
  const total = (buf[l3Off + H.IpTotLen] << 8) | buf[l3Off + H.IpTotLen + 1];
  // Bytes past the total length are Ethernet padding; fewer bytes than it means a cut packet.
  if (total < ihl || total > avail) return DropReason.BadIpTotalLength;
  if (!ipv4HeaderChecksumOk(buf, l3Off, ihl)) return DropReason.BadIpChecksum;
  if (ihl > H.IpHlen && !ipv4OptionsOk(buf, l3Off + H.IpHlen, ihl - H.IpHlen)) return DropReason.BadIpOptions;

  const fragWord = (buf[l3Off + H.IpFragOff] << 8) | buf[l3Off + H.IpFragOff + 1];
  pf.af = 4;
  pf.ipHeaderLen = ihl;
  pf.ipTotalLen = total;
  pf.proto = buf[l3Off + H.IpProto];
  pf.ttl = buf[l3Off + H.IpTtl];
  pf.df = (fragWord & H.IpFlagDf) !== 0;
  pf.srcOff = l3Off + H.IpSaddr;
  pf.dstOff = l3Off + H.IpDaddr;
  pf.l4Off = l3Off + ihl;
  pf.l4Len = total - ihl;
  if ((fragWord & H.IpOffsetMask) !== 0) {
    pf.fragment = 2;
    return DropReason.Fragment;
  }
  if ((fragWord & H.IpFlagMf) !== 0) pf.fragment = 1;
  return DropReason.None;
}

function parseIpv6(buf: Uint8Array, l3Off: number, end: number, pf: ParsedFrame): DropReason {
  const avail = end - l3Off;
  if (avail < 1) return DropReason.TruncatedIp;
  if (buf[l3Off] >>> 4 !== 6) return DropReason.BadIpVersion;
  if (avail < H.Ip6Hlen) return DropReason.TruncatedIp;
  const total = H.Ip6Hlen + ((buf[l3Off + H.Ip6PayloadLen] << 8) | buf[l3Off + H.Ip6PayloadLen + 1]);
  if (total > avail) return DropReason.BadIpTotalLength;

  pf.af = 6;
  pf.ipTotalLen = total;
  pf.ttl = buf[l3Off + H.Ip6HopLimit];
  pf.srcOff = l3Off + H.Ip6Saddr;
  pf.dstOff = l3Off + H.Ip6Daddr;
  const pktEnd = l3Off + total;
  let nh = buf[l3Off + H.Ip6NextHeader];
  let p = l3Off + H.Ip6Hlen;
  let sawFragmentHeader = false;
  // Each iteration consumes at least 8 bytes, so the walk is bounded by the payload length.
  for (;;) {
    if (nh === H.Ip6NhHopOpts || nh === H.Ip6NhRouting || nh === H.Ip6NhDstOpts) {
      // RFC 8200 4.3: hop-by-hop options may only follow the fixed header immediately.
      if (nh === H.Ip6NhHopOpts && p !== l3Off + H.Ip6Hlen) return DropReason.BadIpv6ExtensionHeader;
      if (p + 8 > pktEnd) return DropReason.BadIpv6ExtensionHeader;
      const extLen = (buf[p + 1] + 1) << 3;
      if (p + extLen > pktEnd) return DropReason.BadIpv6ExtensionHeader;
      nh = buf[p];
      p += extLen;
    } else if (nh === H.Ip6NhFragment) {
      if (sawFragmentHeader || p + H.Ip6FragHlen > pktEnd) return DropReason.BadIpv6ExtensionHeader;
      sawFragmentHeader = true;
      const word = (buf[p + H.Ip6FragOffsetWord] << 8) | buf[p + H.Ip6FragOffsetWord + 1];
      nh = buf[p];
      p += H.Ip6FragHlen;
      if ((word & H.Ip6FragOffsetMask) !== 0) {
        // A later fragment: what follows is payload, not headers. proto is the fragment header's next header.
        pf.fragment = 2;
        fillIpv6Rest(pf, l3Off, p, pktEnd, nh);
        return DropReason.Fragment;
      }
      // Offset 0 without M is an "atomic fragment" (RFC 6946): a whole packet.
      if ((word & H.Ip6FragMf) !== 0) pf.fragment = 1;
    } else {
      break;
    }
  }
  // AH, ESP, No Next Header and anything else are taken as the transport protocol.
  fillIpv6Rest(pf, l3Off, p, pktEnd, nh);
  return DropReason.None;
}

function fillIpv6Rest(pf: ParsedFrame, l3Off: number, l4Off: number, pktEnd: number, proto: number): void {
  pf.proto = proto;
  pf.ipHeaderLen = l4Off - l3Off;
  pf.l4Off = l4Off;
  pf.l4Len = pktEnd - l4Off;
}

/** The transport header of a whole packet or first fragment; l4Len bytes are known to be captured. */
function parseTransport(buf: Uint8Array, pf: ParsedFrame): DropReason {
  const l4 = pf.l4Off;
  const n = pf.l4Len;
  const proto = pf.proto;
  if (proto === H.ProtoTcp) {
    if (n < H.TcpMinHlen) return DropReason.TruncatedTransport;
    const hdrLen = (buf[l4 + H.TcpDoff] >>> 4) << 2;
    if (hdrLen < H.TcpMinHlen || hdrLen > n) return DropReason.BadTransportHeader;
    pf.sport = (buf[l4 + H.L4Sport] << 8) | buf[l4 + H.L4Sport + 1];
    pf.dport = (buf[l4 + H.L4Dport] << 8) | buf[l4 + H.L4Dport + 1];
    pf.tcpFlags = buf[l4 + H.TcpFlags];
    pf.tcpHeaderLen = hdrLen;
  } else if (proto === H.ProtoUdp) {
    if (n < H.UdpHlen) return DropReason.TruncatedTransport;
    const udpLen = (buf[l4 + H.UdpLen] << 8) | buf[l4 + H.UdpLen + 1];
    // A first fragment holds only part of the datagram its UDP length describes.
    if (udpLen < H.UdpHlen || (udpLen > n && pf.fragment === 0)) return DropReason.BadTransportHeader;
    pf.sport = (buf[l4 + H.L4Sport] << 8) | buf[l4 + H.L4Sport + 1];
    pf.dport = (buf[l4 + H.L4Dport] << 8) | buf[l4 + H.L4Dport + 1];
  } else if (proto === H.ProtoSctp) {
    if (n < H.SctpCommonHlen) return DropReason.TruncatedTransport;
    pf.sport = (buf[l4 + H.L4Sport] << 8) | buf[l4 + H.L4Sport + 1];
    pf.dport = (buf[l4 + H.L4Dport] << 8) | buf[l4 + H.L4Dport + 1];
    pf.sctpChunk = n >= H.SctpCommonHlen + H.SctpChunkHlen ? buf[l4 + H.SctpCommonHlen] : -1;
  } else if ((proto === H.ProtoIcmp && pf.af === 4) || (proto === H.ProtoIcmpv6 && pf.af === 6)) {
    if (n < H.IcmpMinLen) return DropReason.TruncatedTransport;
    pf.icmpType = buf[l4 + H.IcmpType];
    pf.icmpCode = buf[l4 + H.IcmpCode];
  }
  return DropReason.None;
}
