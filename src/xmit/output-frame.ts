/**
 * What every forwarding method does first and last: decide whether the rewritten packet may
 * leave at all (TTL, MTU, room in the output batch), and write its untagged Ethernet header.
 */
import { DropReason, ETH_P_IP, ETH_P_IPV6, ParsedFrame } from '../wire/parsed-frame';
import { ETH_HLEN, writeEthernetHeader } from '../wire/ethernet';
import { NextHop } from './next-hop';

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
  if (pf.af !== 4 && pf.af !== 6) return -DropReason.UnknownEtherType;
  if (pf.ttl <= 1) return -DropReason.TtlExceeded;
  if (outIpLen > hop.mtu) return -DropReason.TooBig;
  const frameLen = ETH_HLEN + outIpLen;
  if (outOff < 0 || frameLen > room || outOff + frameLen > out.length) return -DropReason.OutputFull;
  return 0;
}

/** The 14-byte Ethernet header towards the next hop; the output is always untagged. */
export function writeOutputEthernet(out: Uint8Array, outOff: number, hop: NextHop, af: number): void {
  writeEthernetHeader(out, outOff, hop.dstMac, hop.srcMac, af === 6 ? ETH_P_IPV6 : ETH_P_IP);
}
