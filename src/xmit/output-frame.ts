/**
 * What every forwarding method does first and last: decide whether the rewritten packet may
 * leave at all (TTL, MTU, room in the output batch), and write its untagged Ethernet header.
 */
import { DropReason, ETH_P_IP, ETH_P_IPV6, ParsedFrame } from '../wire/parsed-frame';
import { ETH_HLEN, writeEthernetHeader } from '../wire/ethernet';
import { frameView } from './frame-view';
import { NextHop } from './next-hop';

/**
 * Literals for this per-packet code (an imported constant is a property load from another
 * module's exports object at every use); the `satisfies` below proves they match.
 */
const enum Out {
  EthHlen = 14,
  EthPIp = 0x0800,
  EthPIpv6 = 0x86dd,
}
void ([Out.EthHlen, Out.EthPIp, Out.EthPIpv6] satisfies [typeof ETH_HLEN, typeof ETH_P_IP, typeof ETH_P_IPV6]);

/**
 * 0 when the frame may be forwarded as an IP packet of outIpLen bytes (outer header included)
 * into out[outOff .. outOff + room), else the negative DropReason, checked in the kernel's order:
 * not IP, TTL (hop limit) that would reach zero, longer than the egress MTU, no room.
 */
export function forwardVerdict(
  pf: ParsedFrame,
  outIpLen: number,
  hop: NextHop,
  out: Uint8Array,
  outOff: number,
  room: number,
): number {
  const af = pf.af;
  if (af !== 4 && af !== 6) return -DropReason.UnknownEtherType;
  if (pf.ttl <= 1) return -DropReason.TtlExceeded;
  if (outIpLen > hop.mtu) return -DropReason.TooBig;
  const frameLen = Out.EthHlen + outIpLen;
  if (outOff < 0 || frameLen > room || outOff + frameLen > out.length) return -DropReason.OutputFull;
  return 0;
}

/**
 * The 14-byte Ethernet header towards the next hop; the output is always untagged. A prepared
 * hop (NextHop.prepare) is written as three 32-bit words and the EtherType.
 */
export function writeOutputEthernet(out: Uint8Array, outOff: number, hop: NextHop, af: number): void {
  const etherType = af === 6 ? Out.EthPIpv6 : Out.EthPIp;
  if (hop.ethPrepared && outOff >= 0 && outOff <= out.length - Out.EthHlen && Math.floor(outOff) === outOff) {
    const v = frameView(out);
    if (v !== null) {
      writePreparedEthernet(v, outOff, hop, etherType);
      return;
    }
  }
  writeEthernetHeader(out, outOff, hop.dstMac, hop.srcMac, etherType);
}

/** Stores hop's prepared header at v[off, off+14): the caller has checked the range and hop.ethPrepared. */
export function writePreparedEthernet(
  v: DataView<ArrayBufferLike>,
  off: number,
  hop: NextHop,
  etherType: number,
): void {
  v.setUint32(off, hop.ethWord0);
  v.setUint32(off + 4, hop.ethWord1);
  v.setUint32(off + 8, hop.ethWord2);
  v.setUint16(off + 12, etherType);
}
