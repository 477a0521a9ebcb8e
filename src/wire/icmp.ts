/**
 * ICMP (RFC 792) and ICMPv6 (RFC 4443): offsets relative to the message (the frame's l4Off),
 * the types forwarding cares about, and which types are errors (they embed the offending
 * packet's header after 8 bytes and are relayed to the connection they belong to).
 */
export const ICMP_TYPE = 0;
export const ICMP_CODE = 1;
export const ICMP_CHECK = 2;
/** Bytes before the payload: type, code, checksum, 4 bytes of rest-of-header (id/seq, unused, MTU). */
export const ICMP_HLEN = 8;
/** Destination Unreachable / Fragmentation Needed: next-hop MTU at +6. IPv6 Packet Too Big: MTU (32 bits) at +4. */
export const ICMP_FRAG_MTU = 6;
export const ICMPV6_MTU = 4;

export const ICMP_ECHOREPLY = 0;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_SOURCE_QUENCH = 4;
export const ICMP_REDIRECT = 5;
export const ICMP_ECHO = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAMETERPROB = 12;
/** Codes of Destination Unreachable. */
export const ICMP_PORT_UNREACH = 3;
export const ICMP_FRAG_NEEDED = 4;
/** Code of Time Exceeded: TTL exceeded in transit. */
export const ICMP_EXC_TTL = 0;

export const ICMPV6_DEST_UNREACH = 1;
export const ICMPV6_PKT_TOOBIG = 2;
export const ICMPV6_TIME_EXCEED = 3;
export const ICMPV6_PARAMPROB = 4;
/** Destination Unreachable code sent when a service has no usable real server. */
export const ICMPV6_PORT_UNREACH = 4;
export const ICMPV6_ECHO_REQUEST = 128;
export const ICMPV6_ECHO_REPLY = 129;

/**
 * ICMPv4 errors IPVS relays to the connection of their embedded header: Destination
 * Unreachable, Source Quench and Time Exceeded only (redirects and parameter problems are not).
 */
export function isIcmpRelayedError(type: number): boolean {
  return type === ICMP_DEST_UNREACH || type === ICMP_SOURCE_QUENCH || type === ICMP_TIME_EXCEEDED;
}

/** ICMPv6 error messages are types 0..127 (RFC 4443 2.1), all relayed by IPVS; informational ones are 128..255. */
export function isIcmpv6Error(type: number): boolean {
  return type >= 0 && type < 128;
}
