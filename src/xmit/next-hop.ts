/**
 * Where a rewritten frame goes: the egress link and the MACs of the Ethernet header, and the
 * director's own address on that link (source of tunnel outer headers). Resolved by the engine's
 * routing from the director file, preallocated per real server / route, never per packet.
 */
export class NextHop {
  /** Index of the egress link in the director file's link list (-1: unresolved). */
  linkIndex = -1;
  /** Egress link MTU (IP packet bytes, without the Ethernet header). */
  mtu = 1500;
  /** Destination MAC: the real server's or the gateway's. */
  readonly dstMac = new Uint8Array(6);
  /** Source MAC: the egress link's. */
  readonly srcMac = new Uint8Array(6);
  /** 4 or 6: family of srcAddr. */
  srcAf = 4;
  /** The director's address on the egress link (4 or 16 bytes used). */
  readonly srcAddr = new Uint8Array(16);
}
