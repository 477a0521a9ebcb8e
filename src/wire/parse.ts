/**
 * The zero-allocation frame parser: one pass over Ethernet, VLAN tags, IPv4/IPv6 (with IPv6
 * extension headers) and the transport header, filling a reused ParsedFrame with offsets and
 * the few header values the engine decides on. It never throws, never reads outside
 * buf[off, off+len) and never allocates.
 *
 * It enforces what the Linux receive path checks before IPVS sees a packet (IPv4 header
 * length, total length and header checksum; IPv6 payload length; sane transport headers);
 * it does not verify transport checksums (IPVS only does that where it rewrites, see xmit).
 */
import { ipv4HeaderChecksumOk, readU16 } from './checksum';
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

/** Type, code and checksum: what an ICMP message must hold for the engine to look at it. */
const ICMP_MIN_LEN = 4;

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
  // The common frame first: untagged IPv4 without options, a whole TCP segment or UDP datagram.
  // Anything else, and any frame the fast path doubts, is parsed again from scratch by the
  // general code, which alone decides drop reasons: the fast path only ever accepts.
  if (off >= 0 && len >= Fast.MinLen && off <= buf.length - len && (buf === viewBuf || adoptView(buf))) {
    if (parseIpv4Fast(view, off, len, pf)) return DropReason.None;
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
let view = new DataView(new ArrayBuffer(0));

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
 * What the fast path reads, as a const enum so that it compiles to literals: an imported
 * constant is a property load from the other module's exports object on every use, which
 * costs more than the field it locates. The values are those of ethernet.ts, ipv4.ts, tcp.ts,
 * udp.ts and parsed-frame.ts. Offsets are relative to the Ethernet header (Eth*), the IPv4
 * header (Ip*) or the transport header (L4*, Tcp*, Udp*).
 */
const enum Fast {
  EthHlen = 14,
  EthType = 12,
  EthPIp = 0x0800,
  /** EtherType IPv4, then version 4 with IHL 5: the 24 bits before the TOS byte. */
  EthIpv4Ihl5 = 0x080045,
  IpHlen = 20,
  /** Ethernet + IPv4 header without options: anything shorter can not take the fast path. */
  MinLen = 34,
  IpTotLen = 2,
  /** Identification, then flags and fragment offset. */
  IpIdFrag = 4,
  /** TTL, protocol, then the header checksum. */
  IpTtlProtoCheck = 8,
  IpSaddr = 12,
  IpDaddr = 16,
  IpFlagDf = 0x4000,
  /** MF and the fragment offset: a whole packet has neither. */
  IpFragMask = 0x3fff,
  ProtoTcp = 6,
  ProtoUdp = 17,
  /** Source port, then destination port: the same place in TCP and UDP. */
  L4Ports = 0,
  /** Data offset (high nibble), then the flags byte. */
  TcpDoffFlags = 12,
  TcpMinHlen = 20,
  UdpLen = 4,
  UdpHlen = 8,
}

/**
 * The fast path of parseFrame for the frame at v[off, off+len) (all inside the view, len >= 34):
 * when it is an untagged IPv4 packet with IHL 5 holding a whole TCP segment or UDP datagram
 * whose every check passes, fills every field of pf exactly as the general path would and
 * returns true. Returns false, before writing anything to pf, for any other frame: tags, another
 * EtherType, IP options, a fragment, a bad length or checksum, another transport or a doubtful
 * transport header. Each field is read once, a 16- or 32-bit word at a time; the header
 * checksum is the unrolled sum of the ten 16-bit words of the 20-byte header.
 */
function parseIpv4Fast(v: DataView, off: number, len: number, pf: ParsedFrame): boolean {
  const typeVerTos = v.getUint32(off + Fast.EthType);
  if (typeVerTos >>> 8 !== Fast.EthIpv4Ihl5) return false;
  const l3 = off + Fast.EthHlen;
  const total = v.getUint16(l3 + Fast.IpTotLen);
  // Bytes past the total length are Ethernet padding; fewer bytes than it means a cut packet.
  if (total < Fast.IpHlen || total > len - Fast.EthHlen) return false;
  const idFrag = v.getUint32(l3 + Fast.IpIdFrag);
  if ((idFrag & Fast.IpFragMask) !== 0) return false;
  const ttlProtoCheck = v.getUint32(l3 + Fast.IpTtlProtoCheck);
  const saddr = v.getUint32(l3 + Fast.IpSaddr);
  const daddr = v.getUint32(l3 + Fast.IpDaddr);
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
  const l4 = l3 + Fast.IpHlen;
  const l4Len = total - Fast.IpHlen;
  let tcpFlags = 0;
  let tcpHeaderLen = 0;
  if (proto === Fast.ProtoTcp) {
    if (l4Len < Fast.TcpMinHlen) return false;
    const doffFlags = v.getUint16(l4 + Fast.TcpDoffFlags);
    tcpHeaderLen = (doffFlags >>> 12) << 2;
    if (tcpHeaderLen < Fast.TcpMinHlen || tcpHeaderLen > l4Len) return false;
    tcpFlags = doffFlags & 0xff;
  } else if (proto === Fast.ProtoUdp) {
    if (l4Len < Fast.UdpHlen) return false;
    const udpLen = v.getUint16(l4 + Fast.UdpLen);
    if (udpLen < Fast.UdpHlen || udpLen > l4Len) return false;
  } else {
    return false;
  }
  const ports = v.getUint32(l4 + Fast.L4Ports);
  pf.l2Off = off;
  pf.frameLen = len;
  pf.vlanCount = 0;
  pf.etherType = Fast.EthPIp;
  pf.l3Off = l3;
  pf.af = 4;
  pf.ipHeaderLen = Fast.IpHlen;
  pf.ipTotalLen = total;
  pf.proto = proto;
  pf.ttl = ttlProtoCheck >>> 24;
  pf.df = (idFrag & Fast.IpFlagDf) !== 0;
  pf.fragment = 0;
  pf.srcOff = l3 + Fast.IpSaddr;
  pf.dstOff = l3 + Fast.IpDaddr;
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

/** parseFrame for every frame: the reference behaviour the fast path reproduces. */
function parseFrameGeneral(buf: Uint8Array, off: number, len: number, pf: ParsedFrame): DropReason {
  resetParsedFrame(pf);
  if (!(off >= 0 && off <= buf.length && len >= 0)) return DropReason.TruncatedEthernet;
  if (len > buf.length - off) len = buf.length - off;
  pf.l2Off = off;
  pf.frameLen = len;
  const end = off + len;
  if (len < ETH_HLEN) return DropReason.TruncatedEthernet;

  let typeOff = off + ETH_TYPE;
  let etherType = readU16(buf, typeOff);
  while (etherType === ETH_P_8021Q || etherType === ETH_P_8021AD) {
    // The tag's TCI sits where the EtherType would be; the next EtherType follows it.
    typeOff += VLAN_TAG_LEN;
    if (typeOff + 2 > end) return DropReason.TruncatedEthernet;
    pf.vlanCount++;
    etherType = readU16(buf, typeOff);
  }
  pf.etherType = etherType;
  const l3Off = typeOff + 2;
  pf.l3Off = l3Off;

  let reason: DropReason;
  if (etherType === ETH_P_IP) reason = parseIpv4(buf, l3Off, end, pf);
  else if (etherType === ETH_P_IPV6) reason = parseIpv6(buf, l3Off, end, pf);
  else if (etherType === ETH_P_ARP) return parseArp(buf, l3Off, end, pf);
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
  if (end - l3Off < ARP_FIXED_LEN) return DropReason.TruncatedEthernet;
  const need = ARP_FIXED_LEN + 2 * (buf[l3Off + ARP_HLEN] + buf[l3Off + ARP_PLEN]);
  if (end - l3Off < need) return DropReason.TruncatedEthernet;
  pf.arpOp = readU16(buf, l3Off + ARP_OP);
  return DropReason.Arp;
}

function parseIpv4(buf: Uint8Array, l3Off: number, end: number, pf: ParsedFrame): DropReason {
  const avail = end - l3Off;
  if (avail < 1) return DropReason.TruncatedIp;
  const verIhl = buf[l3Off];
  if (verIhl >>> 4 !== 4) return DropReason.BadIpVersion;
  if (avail < IPV4_MIN_HLEN) return DropReason.TruncatedIp;
  const ihl = (verIhl & 0x0f) << 2;
  if (ihl < IPV4_MIN_HLEN) return DropReason.BadIpHeaderLength;
  if (ihl > avail) return DropReason.TruncatedIp;
  const total = readU16(buf, l3Off + IPV4_TOT_LEN);
  // Bytes past the total length are Ethernet padding; fewer bytes than it means a cut packet.
  if (total < ihl || total > avail) return DropReason.BadIpTotalLength;
  if (!ipv4HeaderChecksumOk(buf, l3Off, ihl)) return DropReason.BadIpChecksum;

  const fragWord = readU16(buf, l3Off + IPV4_FRAG_OFF);
  pf.af = 4;
  pf.ipHeaderLen = ihl;
  pf.ipTotalLen = total;
  pf.proto = buf[l3Off + IPV4_PROTO];
  pf.ttl = buf[l3Off + IPV4_TTL];
  pf.df = (fragWord & IPV4_FLAG_DF) !== 0;
  pf.srcOff = l3Off + IPV4_SADDR;
  pf.dstOff = l3Off + IPV4_DADDR;
  pf.l4Off = l3Off + ihl;
  pf.l4Len = total - ihl;
  if ((fragWord & IPV4_OFFSET_MASK) !== 0) {
    pf.fragment = 2;
    return DropReason.Fragment;
  }
  if ((fragWord & IPV4_FLAG_MF) !== 0) pf.fragment = 1;
  return DropReason.None;
}

function parseIpv6(buf: Uint8Array, l3Off: number, end: number, pf: ParsedFrame): DropReason {
  const avail = end - l3Off;
  if (avail < 1) return DropReason.TruncatedIp;
  if (buf[l3Off] >>> 4 !== 6) return DropReason.BadIpVersion;
  if (avail < IPV6_HLEN) return DropReason.TruncatedIp;
  const total = IPV6_HLEN + readU16(buf, l3Off + IPV6_PAYLOAD_LEN);
  if (total > avail) return DropReason.BadIpTotalLength;

  pf.af = 6;
  pf.ipTotalLen = total;
  pf.ttl = buf[l3Off + IPV6_HOP_LIMIT];
  pf.srcOff = l3Off + IPV6_SADDR;
  pf.dstOff = l3Off + IPV6_DADDR;
  const pktEnd = l3Off + total;
  let nh = buf[l3Off + IPV6_NEXT_HEADER];
  let p = l3Off + IPV6_HLEN;
  let sawFragmentHeader = false;
  // Each iteration consumes at least 8 bytes, so the walk is bounded by the payload length.
  for (;;) {
    if (nh === IPV6_NH_HOPOPTS || nh === IPV6_NH_ROUTING || nh === IPV6_NH_DSTOPTS) {
      // RFC 8200 4.3: hop-by-hop options may only follow the fixed header immediately.
      if (nh === IPV6_NH_HOPOPTS && p !== l3Off + IPV6_HLEN) return DropReason.BadIpv6ExtensionHeader;
      if (p + 8 > pktEnd) return DropReason.BadIpv6ExtensionHeader;
      const extLen = (buf[p + 1] + 1) << 3;
      if (p + extLen > pktEnd) return DropReason.BadIpv6ExtensionHeader;
      nh = buf[p];
      p += extLen;
    } else if (nh === IPV6_NH_FRAGMENT) {
      if (sawFragmentHeader || p + IPV6_FRAG_HLEN > pktEnd) return DropReason.BadIpv6ExtensionHeader;
      sawFragmentHeader = true;
      const word = readU16(buf, p + IPV6_FRAG_OFFSET_WORD);
      nh = buf[p];
      p += IPV6_FRAG_HLEN;
      if ((word & IPV6_FRAG_OFFSET_MASK) !== 0) {
        // A later fragment: what follows is payload, not headers. proto is the fragment header's next header.
        pf.fragment = 2;
        fillIpv6Rest(pf, l3Off, p, pktEnd, nh);
        return DropReason.Fragment;
      }
      // Offset 0 without M is an "atomic fragment" (RFC 6946): a whole packet.
      if ((word & IPV6_FRAG_MF) !== 0) pf.fragment = 1;
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
  if (proto === IPPROTO_TCP) {
    if (n < TCP_MIN_HLEN) return DropReason.TruncatedTransport;
    const hdrLen = (buf[l4 + TCP_DOFF] >>> 4) << 2;
    if (hdrLen < TCP_MIN_HLEN || hdrLen > n) return DropReason.BadTransportHeader;
    pf.sport = readU16(buf, l4 + TCP_SPORT);
    pf.dport = readU16(buf, l4 + TCP_DPORT);
    pf.tcpFlags = buf[l4 + TCP_FLAGS];
    pf.tcpHeaderLen = hdrLen;
  } else if (proto === IPPROTO_UDP) {
    if (n < UDP_HLEN) return DropReason.TruncatedTransport;
    const udpLen = readU16(buf, l4 + UDP_LEN);
    // A first fragment holds only part of the datagram its UDP length describes.
    if (udpLen < UDP_HLEN || (udpLen > n && pf.fragment === 0)) return DropReason.BadTransportHeader;
    pf.sport = readU16(buf, l4 + UDP_SPORT);
    pf.dport = readU16(buf, l4 + UDP_DPORT);
  } else if (proto === IPPROTO_SCTP) {
    if (n < SCTP_COMMON_HLEN) return DropReason.TruncatedTransport;
    pf.sport = readU16(buf, l4 + SCTP_SPORT);
    pf.dport = readU16(buf, l4 + SCTP_DPORT);
    pf.sctpChunk = n >= SCTP_COMMON_HLEN + SCTP_CHUNK_HLEN ? buf[l4 + SCTP_COMMON_HLEN] : -1;
  } else if ((proto === IPPROTO_ICMP && pf.af === 4) || (proto === IPPROTO_ICMPV6 && pf.af === 6)) {
    if (n < ICMP_MIN_LEN) return DropReason.TruncatedTransport;
    pf.icmpType = buf[l4 + ICMP_TYPE];
    pf.icmpCode = buf[l4 + ICMP_CODE];
  }
  return DropReason.None;
}
