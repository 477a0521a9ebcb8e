/**
 * The router's part of forwarding: TTL (IPv6 hop limit) minus one. The caller has already
 * refused packets arriving with TTL <= 1 (forwardVerdict).
 */
import { setIpv4HeaderChecksum } from '../wire/checksum';
import { IPV4_TTL } from '../wire/ipv4';
import { IPV6_HOP_LIMIT } from '../wire/ipv6';

/**
 * Decrements the TTL of the IPv4 header at l3Off and recomputes its header checksum in full, or
 * decrements the IPv6 hop limit (no header checksum). Call it after every other change to the
 * IPv4 header (addresses, total length): the one full recomputation then covers them all.
 */
export function decrementTtl(buf: Uint8Array, l3Off: number, af: number): void {
  if (af === 6) {
    buf[l3Off + IPV6_HOP_LIMIT] = (buf[l3Off + IPV6_HOP_LIMIT] - 1) & 0xff;
    return;
  }
  buf[l3Off + IPV4_TTL] = (buf[l3Off + IPV4_TTL] - 1) & 0xff;
  setIpv4HeaderChecksum(buf, l3Off);
}
