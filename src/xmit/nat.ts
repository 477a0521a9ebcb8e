/**
 * NAT (ipvsadm -m, "Masq"): the director rewrites the destination of client packets to the
 * real server, and the source of the real server's replies back to the virtual service. The
 * client address is never touched, so replies must be routed through the director.
 */
import { ParsedFrame } from '../wire/parsed-frame';
import { NextHop } from './next-hop';
import { xmitTranslated } from './translate';

/**
 * Client -> real server: destination := (rsAddr, rsPort), rsPort 0 keeping the packet's own
 * port (port-0 / fwmark services). hop = route to the real server. Addresses in pf.af family.
 * Returns the frame length or -DropReason (TtlExceeded, TooBig, OutputFull).
 */
export function xmitNatIn(
  src: Uint8Array,
  pf: ParsedFrame,
  hop: NextHop,
  rsAddr: Uint8Array,
  rsAddrOff: number,
  rsPort: number,
  out: Uint8Array,
  outOff: number,
  room: number,
): number {
  return xmitTranslated(src, pf, hop, null, 0, 0, rsAddr, rsAddrOff, rsPort, out, outOff, room);
}

/**
 * Real server -> client (a reply matched to its connection): source := (vAddr, vPort), the
 * virtual service. hop = route to the client. Returns the frame length or -DropReason.
 */
export function xmitNatOut(
  src: Uint8Array,
  pf: ParsedFrame,
  hop: NextHop,
  vAddr: Uint8Array,
  vAddrOff: number,
  vPort: number,
  out: Uint8Array,
  outOff: number,
  room: number,
): number {
  return xmitTranslated(src, pf, hop, vAddr, vAddrOff, vPort, null, 0, 0, out, outOff, room);
}
