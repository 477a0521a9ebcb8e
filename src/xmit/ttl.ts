/**
 * The router's part of forwarding: TTL (IPv6 hop limit) minus one. The caller has already
 * refused packets arriving with TTL <= 1 (forwardVerdict).
 */
import { setIpv4HeaderChecksum } from '../wire/checksum';
import { IPV4_CHECK, IPV4_TTL } from '../wire/ipv4';
import { IPV6_HOP_LIMIT } from '../wire/ipv6';

/** Literals for the per-packet code (see output-frame.ts); the `satisfies` below proves they match. */
const enum Ttl {
  Ip4Ttl = 8,
  Ip4Check = 10,
  Ip6HopLimit = 7,
}
void ([Ttl.Ip4Ttl, Ttl.Ip4Check, Ttl.Ip6HopLimit] satisfies [
  typeof IPV4_TTL,
  typeof IPV4_CHECK,
  typeof IPV6_HOP_LIMIT,
]);

/**
 * Decrements the TTL when nothing else in the IPv4 header changed, updating the header checksum
 * incrementally (RFC 1624): the parser verified it, so the result equals a full recomputation.
 */
export function decrementTtlOnly(buf: Uint8Array, l3Off: number, af: number): void {
  if (af === 6) {
    buf[l3Off + Ttl.Ip6HopLimit] = (buf[l3Off + Ttl.Ip6HopLimit] - 1) & 0xff;
    return;
  }
  const ttl = buf[l3Off + Ttl.Ip4Ttl];
  const proto = buf[l3Off + Ttl.Ip4Ttl + 1];
  const next = ttlDecrementedChecksum((buf[l3Off + Ttl.Ip4Check] << 8) | buf[l3Off + Ttl.Ip4Check + 1], ttl, proto);
  buf[l3Off + Ttl.Ip4Ttl] = (ttl - 1) & 0xff;
  buf[l3Off + Ttl.Ip4Check] = next >>> 8;
  buf[l3Off + Ttl.Ip4Check + 1] = next & 0xff;
}

/**
 * The IPv4 header checksum `check` after the TTL/protocol word goes from (ttl, proto) to
 * (ttl - 1, proto): RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'), exactly as checksum.ts adjust16
 * computes it. The sum of three 16-bit words stays below 2^18: two end-around folds suffice.
 */
export function ttlDecrementedChecksum(check: number, ttl: number, proto: number): number {
  let sum = (~check & 0xffff) + (~((ttl << 8) | proto) & 0xffff) + ((((ttl - 1) & 0xff) << 8) | proto);
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * Decrements the TTL of the IPv4 header at l3Off and recomputes its header checksum in full, or
 * decrements the IPv6 hop limit (no header checksum). Call it after every other change to the
 * IPv4 header (addresses, total length): the one full recomputation then covers them all.
 */
export function decrementTtl(buf: Uint8Array, l3Off: number, af: number): void {
  if (af === 6) {
    buf[l3Off + Ttl.Ip6HopLimit] = (buf[l3Off + Ttl.Ip6HopLimit] - 1) & 0xff;
    return;
  }
  buf[l3Off + Ttl.Ip4Ttl] = (buf[l3Off + Ttl.Ip4Ttl] - 1) & 0xff;
  setIpv4HeaderChecksum(buf, l3Off);
}
