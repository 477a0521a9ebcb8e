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

  /**
   * The first 12 bytes of the Ethernet header towards this hop (destination MAC, source MAC)
   * as three big-endian 32-bit words, so that writing the header is three stores and the
   * EtherType a fourth: filled by prepare(). Until then (ethPrepared false) the header is
   * written from dstMac and srcMac byte by byte.
   */
  ethPrepared = false;
  /** dstMac[0..4). */
  ethWord0 = 0;
  /** dstMac[4..6), srcMac[0..2). */
  ethWord1 = 0;
  /** srcMac[2..6). */
  ethWord2 = 0;

  /**
   * Precomputes the Ethernet header words from dstMac and srcMac. Call it once the MACs are
   * filled, and again after any change to them: a prepared hop does not read the MACs per packet.
   */
  prepare(): void {
    const d = this.dstMac;
    const s = this.srcMac;
    this.ethWord0 = ((d[0] << 24) | (d[1] << 16) | (d[2] << 8) | d[3]) >>> 0;
    this.ethWord1 = ((d[4] << 24) | (d[5] << 16) | (s[0] << 8) | s[1]) >>> 0;
    this.ethWord2 = ((s[2] << 24) | (s[3] << 16) | (s[4] << 8) | s[5]) >>> 0;
    this.ethPrepared = true;
  }
}
