/**
 * ARP (RFC 826) over Ethernet: field offsets relative to the start of the ARP message (the
 * frame's l3Off). The balancer never answers or forwards ARP; parse.ts only reads the operation.
 */
export const ARP_HTYPE = 0;
export const ARP_PTYPE = 2;
export const ARP_HLEN = 4;
export const ARP_PLEN = 5;
export const ARP_OP = 6;
/** The fixed part before the variable-length addresses. */
export const ARP_FIXED_LEN = 8;
/** Addresses for Ethernet/IPv4 (hlen 6, plen 4): sender MAC, sender IP, target MAC, target IP. */
export const ARP_SHA = 8;
export const ARP_SPA = 14;
export const ARP_THA = 18;
export const ARP_TPA = 24;
/** Length of an Ethernet/IPv4 ARP message. */
export const ARP_ETH_IPV4_LEN = 28;

export const ARP_OP_REQUEST = 1;
export const ARP_OP_REPLY = 2;

/**
 * Writes a broadcast ARP request "who has targetIp? tell senderIp" (RFC 826) at buf[off]: a
 * 42-byte Ethernet frame. Used by the live director to learn a real server's or a gateway's MAC
 * when neither the director file nor the kernel's table has it. Returns the frame length.
 */
export function writeArpRequest(buf: Uint8Array, off: number, senderMac: Uint8Array, senderIp: Uint8Array, targetIp: Uint8Array): number {
  buf.fill(0xff, off, off + 6);
  buf.set(senderMac.subarray(0, 6), off + 6);
  buf[off + 12] = 0x08;
  buf[off + 13] = 0x06;
  const a = off + 14;
  buf[a + ARP_HTYPE] = 0;
  buf[a + ARP_HTYPE + 1] = 1;
  buf[a + ARP_PTYPE] = 0x08;
  buf[a + ARP_PTYPE + 1] = 0;
  buf[a + ARP_HLEN] = 6;
  buf[a + ARP_PLEN] = 4;
  buf[a + ARP_OP] = 0;
  buf[a + ARP_OP + 1] = ARP_OP_REQUEST;
  buf.set(senderMac.subarray(0, 6), a + ARP_SHA);
  buf.set(senderIp.subarray(0, 4), a + ARP_SPA);
  buf.fill(0, a + ARP_THA, a + ARP_THA + 6);
  buf.set(targetIp.subarray(0, 4), a + ARP_TPA);
  return 14 + ARP_ETH_IPV4_LEN;
}

/**
 * Offset of the Ethernet/IPv4 ARP message in the frame buf[off, off+len), or -1 when the frame
 * is something else: what the live director reads sender addresses from.
 */
export function arpMessageAt(buf: Uint8Array, off: number, len: number): number {
  if (len < 14 + ARP_ETH_IPV4_LEN || buf[off + 12] !== 0x08 || buf[off + 13] !== 0x06) return -1;
  const a = off + 14;
  if (buf[a + ARP_HLEN] !== 6 || buf[a + ARP_PLEN] !== 4 || buf[a + ARP_PTYPE] !== 0x08 || buf[a + ARP_PTYPE + 1] !== 0) return -1;
  return a;
}
