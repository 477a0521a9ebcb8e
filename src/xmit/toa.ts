/**
 * TOA, "TCP Option Address", the way DPVS's FULLNAT passes the client's address to the real
 * server (a kernel module there reads it back for getpeername): one TCP option placed directly
 * after the fixed 20-byte TCP header, before any existing option:
 *   IPv4: kind 254, length 8:  client port (2 bytes, network order), client address (4 bytes)
 *   IPv6: kind 254, length 20: client port (2 bytes), client address (16 bytes)
 * It rides on the first client packet after the handshake (see isToaTrigger), once per
 * connection, and only if it fits: at most 40 option bytes, and the packet within the MTU.
 */
import { copyBytes, readU16, writeU16 } from '../wire/bytes';
import { IPV4_TOT_LEN } from '../wire/ipv4';
import { IPV6_PAYLOAD_LEN } from '../wire/ipv6';
import { IPPROTO_TCP, ParsedFrame, TCP_RST, TCP_SYN } from '../wire/parsed-frame';
import { TCP_DOFF, TCP_MAX_HLEN, TCP_MIN_HLEN, TCPOPT_TOA } from '../wire/tcp';
import { copyPacket } from './copy-packet';
import { tcpAck } from './tcp-seq';

export const TOA_KIND = TCPOPT_TOA;
export const TOA_LEN_V4 = 8;
export const TOA_LEN_V6 = 20;
/** Offsets inside the option. */
const TOA_PORT = 2;
const TOA_ADDR = 4;

/** Option length for a client of family af (4 or 6). */
export function toaLength(af: number): number {
  return af === 6 ? TOA_LEN_V6 : TOA_LEN_V4;
}

/**
 * True for the client packet that should carry the TOA: TCP without SYN and RST whose
 * acknowledgement number is the real server's ISN + 1 (normally the handshake-completing ACK).
 */
export function isToaTrigger(src: Uint8Array, pf: ParsedFrame, serverIsn: number): boolean {
  return (
    pf.proto === IPPROTO_TCP &&
    pf.fragment === 0 &&
    (pf.tcpFlags & (TCP_SYN | TCP_RST)) === 0 &&
    tcpAck(src, pf) === ((serverIsn + 1) >>> 0)
  );
}

/**
 * True when the TOA can be inserted into this packet: a whole TCP segment whose options stay
 * within 40 bytes, and whose IP packet stays within the MTU (and a 16-bit length field).
 */
export function toaFits(pf: ParsedFrame, mtu: number): boolean {
  if (pf.proto !== IPPROTO_TCP || pf.fragment !== 0 || pf.tcpHeaderLen < TCP_MIN_HLEN) return false;
  const len = toaLength(pf.af);
  const newIpLen = pf.ipTotalLen + len;
  return pf.tcpHeaderLen + len <= TCP_MAX_HLEN && newIpLen <= mtu && newIpLen <= 0xffff;
}

/**
 * Copies src's IP packet to out[l3..] with the TOA (pf.sport and the source address of src, the
 * client) inserted after the fixed TCP header; grows the TCP data offset and the IPv4 total
 * length / IPv6 payload length by the option length. Leaves the IPv4 header checksum and the
 * TCP checksum stale: the caller recomputes both after its other changes. The caller has
 * checked toaFits and the room. Returns the option length.
 */
export function copyWithToa(src: Uint8Array, pf: ParsedFrame, out: Uint8Array, l3: number): number {
  const len = toaLength(pf.af);
  const addrLen = pf.af === 6 ? 16 : 4;
  // IP header (with any IPv4 options / IPv6 extension headers) and the fixed TCP header.
  const head = pf.l4Off - pf.l3Off + TCP_MIN_HLEN;
  copyPacket(src, pf.l3Off, out, l3, head);
  const opt = l3 + head;
  out[opt] = TOA_KIND;
  out[opt + 1] = len;
  writeU16(out, opt + TOA_PORT, pf.sport);
  copyBytes(src, pf.srcOff, out, opt + TOA_ADDR, addrLen);
  copyPacket(src, pf.l3Off + head, out, opt + len, pf.ipTotalLen - head);

  const l4 = l3 + (pf.l4Off - pf.l3Off);
  const doff = out[l4 + TCP_DOFF];
  out[l4 + TCP_DOFF] = (((doff >>> 4) + (len >>> 2)) << 4) | (doff & 0x0f);
  const lenField = l3 + (pf.af === 6 ? IPV6_PAYLOAD_LEN : IPV4_TOT_LEN);
  writeU16(out, lenField, readU16(out, lenField) + len);
  return len;
}
