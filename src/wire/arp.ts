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
