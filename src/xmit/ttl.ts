/**
 * The router's part of forwarding: TTL (IPv6 hop limit) minus one. The caller has already
 * refused packets arriving with TTL <= 1 (forwardVerdict).
 */
import { adjust16, setIpv4HeaderChecksum } from '../wire/checksum';
import { IPV4_CHECK, IPV4_TTL } from '../wire/ipv4';
import { IPV6_HOP_LIMIT } from '../wire/ipv6';

/**
 * Decrements the TTL of the IPv4 header at l3Off and recomputes its header checksum in full, or
 * decrements the IPv6 hop limit (no header checksum). Call it after every other change to the
 * IPv4 header (addresses, total length): the one full recomputation then covers them all.
 */
/**
 * Decrements the TTL when nothing else in the IPv4 header changed, updating the header checksum
 * incrementally (RFC 1624): the parser verified it, so the result equals a full recomputation.
 */
export function decrementTtlOnly(buf: Uint8Array, l3Off: number, af: number): void {
  if (af === 6) {
    buf[l3Off + IPV6_HOP_LIMIT] = (buf[l3Off + IPV6_HOP_LIMIT] - 1) & 0xff;
    return;
  }
  const ttl = buf[l3Off + IPV4_TTL];
  const proto = buf[l3Off + IPV4_TTL + 1];
  buf[l3Off + IPV4_TTL] = (ttl - 1) & 0xff;
  const check = (buf[l3Off + IPV4_CHECK] << 8) | buf[l3Off + IPV4_CHECK + 1];
  const next = adjust16(check, (ttl << 8) | proto, (((ttl - 1) & 0xff) << 8) | proto);
  buf[l3Off + IPV4_CHECK] = next >>> 8;
  buf[l3Off + IPV4_CHECK + 1] = next & 0xff;
}

export function decrementTtl(buf: Uint8Array, l3Off: number, af: number): void {
  if (af === 6) {
    buf[l3Off + IPV6_HOP_LIMIT] = (buf[l3Off + IPV6_HOP_LIMIT] - 1) & 0xff;
    return;
  }
  buf[l3Off + IPV4_TTL] = (buf[l3Off + IPV4_TTL] - 1) & 0xff;
  setIpv4HeaderChecksum(buf, l3Off);
}
