/**
 * The decapsulation core of `uvs realserver --decap ipip`: checks an IPv4 packet that should carry
 * an IP-in-IPv4 tunnel (protocol 4 as IPVS sends for an inner IPv4 packet, or 41 as it sends for
 * an inner IPv6 one) and finds the inner packet, or says why it is dropped. Pure: no I/O, nothing
 * allocated (the result goes into a preallocated DecapSpan).
 *
 * The inner version decides how the packet is delivered (a TUN device reads the version nibble),
 * so either protocol number is accepted with either inner version. Trailing bytes after the
 * inner packet's own length are not delivered.
 */

export const DECAP_DELIVER = 0;
/** Not an IPv4 packet of protocol 4 or 41. */
export const DECAP_NOT_IPIP = 1;
/** Shorter than its headers or length fields say, or a fragment (raw sockets get reassembled packets). */
export const DECAP_TRUNCATED = 2;
/** The inner packet is not a well-formed IPv4 or IPv6 header. */
export const DECAP_INNER_NOT_IP = 3;
/** The inner packet is longer than the limit given. */
export const DECAP_INNER_TOO_BIG = 4;

export type DecapVerdict =
  | typeof DECAP_DELIVER
  | typeof DECAP_NOT_IPIP
  | typeof DECAP_TRUNCATED
  | typeof DECAP_INNER_NOT_IP
  | typeof DECAP_INNER_TOO_BIG;

export const IPPROTO_IPIP = 4;
export const IPPROTO_IPV6 = 41;

/** Where the inner packet lies (refilled per packet). */
export class DecapSpan {
  off = 0;
  len = 0;
  /** 4 or 6. */
  version = 0;
}

/**
 * Checks the outer IPv4 packet at pkt[off, off + len) and, for DECAP_DELIVER, sets `out` to the
 * inner packet. maxInner: the largest inner packet delivered.
 */
export function decapIpip(pkt: Uint8Array, off: number, len: number, maxInner: number, out: DecapSpan): DecapVerdict {
  if (len < 1) return DECAP_TRUNCATED;
  if (pkt[off] >> 4 !== 4) return DECAP_NOT_IPIP;
  if (len < 20) return DECAP_TRUNCATED;
  const proto = pkt[off + 9];
  if (proto !== IPPROTO_IPIP && proto !== IPPROTO_IPV6) return DECAP_NOT_IPIP;
  // MF set or a non-zero offset: only part of the inner packet is here.
  if (((pkt[off + 6] << 8) | pkt[off + 7]) & 0x3fff) return DECAP_TRUNCATED;
  const ihl = (pkt[off] & 15) * 4;
  const total = (pkt[off + 2] << 8) | pkt[off + 3];
  if (ihl < 20 || total < ihl || total > len) return DECAP_TRUNCATED;

  const inner = off + ihl;
  const avail = total - ihl;
  if (avail < 1) return DECAP_TRUNCATED;
  const version = pkt[inner] >> 4;
  let innerLen: number;
  if (version === 4) {
    if (avail < 20) return DECAP_TRUNCATED;
    const innerIhl = (pkt[inner] & 15) * 4;
    innerLen = (pkt[inner + 2] << 8) | pkt[inner + 3];
    if (innerIhl < 20 || innerLen < innerIhl) return DECAP_INNER_NOT_IP;
  } else if (version === 6) {
    if (avail < 40) return DECAP_TRUNCATED;
    const payload = (pkt[inner + 4] << 8) | pkt[inner + 5];
    // Payload length 0 is a jumbogram, which cannot fit in an IPv4 packet.
    if (payload === 0) return DECAP_INNER_NOT_IP;
    innerLen = 40 + payload;
  } else {
    return DECAP_INNER_NOT_IP;
  }
  if (innerLen > avail) return DECAP_TRUNCATED;
  if (innerLen > maxInner) return DECAP_INNER_TOO_BIG;
  out.off = inner;
  out.len = innerLen;
  out.version = version;
  return DECAP_DELIVER;
}

/** What the helper counted, as logged when it stops. */
export class DecapCounters {
  received = 0;
  delivered = 0;
  notIpip = 0;
  truncated = 0;
  innerNotIp = 0;
  innerTooBig = 0;
  /** Decapsulated, but the TUN device did not take the packet. */
  tunRefused = 0;

  count(verdict: DecapVerdict): void {
    switch (verdict) {
      case DECAP_DELIVER:
        break;
      case DECAP_NOT_IPIP:
        this.notIpip++;
        break;
      case DECAP_TRUNCATED:
        this.truncated++;
        break;
      case DECAP_INNER_NOT_IP:
        this.innerNotIp++;
        break;
      case DECAP_INNER_TOO_BIG:
        this.innerTooBig++;
        break;
    }
  }

  toJSON(): { received: number; delivered: number; dropped: Record<string, number> } {
    return {
      received: this.received,
      delivered: this.delivered,
      dropped: {
        notIpip: this.notIpip,
        truncated: this.truncated,
        innerNotIp: this.innerNotIp,
        innerTooBig: this.innerTooBig,
        tunRefused: this.tunRefused,
      },
    };
  }
}
