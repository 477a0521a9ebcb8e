/**
 * The forwarding shared by NAT and FULLNAT: copy the IP packet, translate its endpoints, TTL - 1.
 */
import { copyBytes } from '../wire/bytes';
import { ETH_HLEN } from '../wire/ethernet';
import { ParsedFrame } from '../wire/parsed-frame';
import { rewriteEndpoints } from './endpoint-rewrite';
import { NextHop } from './next-hop';
import { forwardVerdict, writeOutputEthernet } from './output-frame';
import { decrementTtl } from './ttl';

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
  writeOutputEthernet(out, outOff, hop, pf.af);
  const l3 = outOff + ETH_HLEN;
  copyBytes(src, pf.l3Off, out, l3, ipLen);
  rewriteEndpoints(out, pf, l3 - pf.l3Off, pf.l4Len, false, sAddr, sAddrOff, sPort, dAddr, dAddrOff, dPort);
  decrementTtl(out, l3, pf.af);
  return ETH_HLEN + ipLen;
}
