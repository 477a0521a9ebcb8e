/**
 * Direct routing (DR, ipvsadm -g, "Route"): the packet goes to the real server's MAC unchanged
 * but for the router's TTL decrement; its destination stays the VIP, which the real server
 * holds on a non-ARPing interface.
 */
import { ETH_HLEN } from '../wire/ethernet';
import { ParsedFrame } from '../wire/parsed-frame';
import { frameView } from './frame-view';
import { copyPacket } from './copy-packet';
import { NextHop } from './next-hop';
import { forwardVerdict, writeOutputEthernet, writePreparedEthernet } from './output-frame';
import { decrementTtlOnly, ttlDecrementedChecksum } from './ttl';

/** Literals for the per-packet code (see output-frame.ts); checked against the exports below. */
const enum Dr {
  EthHlen = 14,
  EthPIp = 0x0800,
  EthPIpv6 = 0x86dd,
  /** IPv4 TTL, protocol and header checksum: one 32-bit word at +8. */
  Ip4TtlProtoCheck = 8,
  Ip6HopLimit = 7,
  /** The fast path touches the first 12 bytes of the IP header (IPv6: 8). */
  MinIpLen = 20,
}
void ([Dr.EthHlen] satisfies [typeof ETH_HLEN]);

/**
 * Writes the DR frame for src (parsed into pf) towards hop (the route to the real server) into
 * out[outOff..]: new Ethernet header (tags dropped), the IP packet without Ethernet padding,
 * TTL - 1 and the IPv4 header checksum updated. Returns the frame length or -DropReason
 * (TtlExceeded, TooBig, OutputFull).
 */
export function xmitDirectRoute(
  src: Uint8Array,
  pf: ParsedFrame,
  hop: NextHop,
  out: Uint8Array,
  outOff: number,
  room: number,
): number {
  const ipLen = pf.ipTotalLen;
  const verdict = forwardVerdict(pf, ipLen, hop, out, outOff, room);
  if (verdict < 0) return verdict;
  const l3 = outOff + Dr.EthHlen;
  // In place with the IP packet already where it goes (an untagged frame rewritten where it
  // lies): nothing to copy, and the header and TTL are a few word stores.
  if (out === src && pf.l3Off === l3 && ipLen >= Dr.MinIpLen && hop.ethPrepared && Math.floor(outOff) === outOff) {
    const v = frameView(out);
    if (v !== null) {
      directRouteInPlace(v, outOff, hop, pf.af);
      return Dr.EthHlen + ipLen;
    }
  }
  writeOutputEthernet(out, outOff, hop, pf.af);
  copyPacket(src, pf.l3Off, out, l3, ipLen);
  decrementTtlOnly(out, l3, pf.af);
  return Dr.EthHlen + ipLen;
}

/**
 * The DR rewrite of the frame at v[off..], whose IP packet (family af) already follows the
 * 14-byte Ethernet header: what writeOutputEthernet and decrementTtlOnly do, in word stores.
 * forwardVerdict has checked that the frame lies inside the buffer.
 */
function directRouteInPlace(v: DataView<ArrayBufferLike>, off: number, hop: NextHop, af: number): void {
  const l3 = off + Dr.EthHlen;
  if (af === 6) {
    writePreparedEthernet(v, off, hop, Dr.EthPIpv6);
    v.setUint8(l3 + Dr.Ip6HopLimit, (v.getUint8(l3 + Dr.Ip6HopLimit) - 1) & 0xff);
    return;
  }
  writePreparedEthernet(v, off, hop, Dr.EthPIp);
  const word = v.getUint32(l3 + Dr.Ip4TtlProtoCheck);
  const ttl = word >>> 24;
  const proto = (word >>> 16) & 0xff;
  const check = ttlDecrementedChecksum(word & 0xffff, ttl, proto);
  v.setUint32(l3 + Dr.Ip4TtlProtoCheck, (((ttl - 1) & 0xff) << 24) | (proto << 16) | check);
}
