/**
 * FULLNAT (DPVS's "FullNat"): both endpoints are translated, so the real server sees the
 * director's local address and needs no route back through it. Client packets become
 * laddr:lport -> RIP:rport, replies RIP:rport -> laddr:lport become VIP:vport -> client:cport.
 * The client's address reaches the real server in the TOA option (toa.ts).
 */
import { ETH_HLEN } from '../wire/ethernet';
import { ParsedFrame } from '../wire/parsed-frame';
import { rewriteEndpoints } from './endpoint-rewrite';
import { NextHop } from './next-hop';
import { forwardVerdict, writeOutputEthernet } from './output-frame';
import { copyWithToa, toaFits, toaLength } from './toa';
import { xmitTranslated } from './translate';
import { decrementTtl } from './ttl';

/** What the last xmitFullNatIn call did besides its return value (one object, re-filled per call). */
export const fullNatResult = {
  /** True when the TOA option was inserted: the engine marks the connection so it is sent only once. */
  toaInserted: false,
};

/**
 * Client -> real server: source := (lAddr, lPort), destination := (rsAddr, rsPort); with
 * insertToa (the engine decided this packet is the TOA trigger, see isToaTrigger) the TOA
 * option is inserted when it fits (toaFits), and the TCP checksum is then recomputed in full.
 * A TOA that does not fit is left out and the packet forwarded without it
 * (fullNatResult.toaInserted tells which). hop = route to the real server; all addresses of
 * the pf.af family. Returns the frame length or -DropReason (TtlExceeded, TooBig, OutputFull).
 */
export function xmitFullNatIn(
  src: Uint8Array,
  pf: ParsedFrame,
  hop: NextHop,
  lAddr: Uint8Array,
  lAddrOff: number,
  lPort: number,
  rsAddr: Uint8Array,
  rsAddrOff: number,
  rsPort: number,
  insertToa: boolean,
  out: Uint8Array,
  outOff: number,
  room: number,
): number {
  fullNatResult.toaInserted = false;
  if (!insertToa || !toaFits(pf, hop.mtu)) {
    return xmitTranslated(src, pf, hop, lAddr, lAddrOff, lPort, rsAddr, rsAddrOff, rsPort, out, outOff, room);
  }
  const toaLen = toaLength(pf.af);
  const ipLen = pf.ipTotalLen + toaLen;
  const verdict = forwardVerdict(pf, ipLen, hop, out, outOff, room);
  if (verdict < 0) return verdict;
  writeOutputEthernet(out, outOff, hop, pf.af);
  const l3 = outOff + ETH_HLEN;
  // The TOA carries the client's own address and port, so it is built from src before translation.
  copyWithToa(src, pf, out, l3);
  rewriteEndpoints(out, pf, l3 - pf.l3Off, pf.l4Len + toaLen, true, lAddr, lAddrOff, lPort, rsAddr, rsAddrOff, rsPort);
  decrementTtl(out, l3, pf.af);
  fullNatResult.toaInserted = true;
  return ETH_HLEN + ipLen;
}

/**
 * Real server -> client (reply matched to its connection): source := (vAddr, vPort), the
 * virtual service; destination := (cAddr, cPort), the client. hop = route to the client.
 * Returns the frame length or -DropReason.
 */
export function xmitFullNatOut(
  src: Uint8Array,
  pf: ParsedFrame,
  hop: NextHop,
  vAddr: Uint8Array,
  vAddrOff: number,
  vPort: number,
  cAddr: Uint8Array,
  cAddrOff: number,
  cPort: number,
  out: Uint8Array,
  outOff: number,
  room: number,
): number {
  return xmitTranslated(src, pf, hop, vAddr, vAddrOff, vPort, cAddr, cAddrOff, cPort, out, outOff, room);
}
