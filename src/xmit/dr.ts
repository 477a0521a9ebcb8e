/**
 * Direct routing (DR, ipvsadm -g, "Route"): the packet goes to the real server's MAC unchanged
 * but for the router's TTL decrement; its destination stays the VIP, which the real server
 * holds on a non-ARPing interface.
 */
import { copyBytes } from '../wire/bytes';
import { ETH_HLEN } from '../wire/ethernet';
import { ParsedFrame } from '../wire/parsed-frame';
import { NextHop } from './next-hop';
import { forwardVerdict, writeOutputEthernet } from './output-frame';
import { decrementTtlOnly } from './ttl';

/**
 * Writes the DR frame for src (parsed into pf) towards hop (the route to the real server) into
 * out[outOff..]: new Ethernet header (tags dropped), the IP packet without Ethernet padding,
 * TTL - 1 and the IPv4 header checksum recomputed. Returns the frame length or -DropReason
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
  writeOutputEthernet(out, outOff, hop, pf.af);
  const l3 = outOff + ETH_HLEN;
  copyBytes(src, pf.l3Off, out, l3, ipLen);
  decrementTtlOnly(out, l3, pf.af);
  return ETH_HLEN + ipLen;
}
