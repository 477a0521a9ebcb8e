/**
 * The ICMP errors the director sends itself, as the kernel's icmp_send / icmp6_send decide them:
 * never about an ICMP packet, a later fragment, a frame sent to a multicast or broadcast MAC, or
 * a packet from an address nobody can answer (unspecified, loopback, multicast, class E); within
 * the global rate limit (icmp-limiter.ts); to the offending packet's source, by the route to it.
 *
 * The source address follows icmp_send: a packet addressed to the director itself (a VIP, seen by
 * IPVS at LOCAL_IN; a FULLNAT local address) is answered from that very address; a forwarded one
 * (a NAT reply) from the director's address on the route back (NextHop.srcAddr).
 *
 * The IPv4 identification is a per-director counter (1 for the first error, then 2, 3, ...), a
 * deterministic stand-in for the kernel's hashed per-destination IDs.
 */
import { isMulticastMac } from '../wire/ethernet';
import {
  ICMP_DEST_UNREACH, ICMP_EXC_TTL, ICMP_FRAG_NEEDED, ICMP_PORT_UNREACH, ICMP_TIME_EXCEEDED, ICMPV6_DEST_UNREACH,
  ICMPV6_PKT_TOOBIG, ICMPV6_PORT_UNREACH, ICMPV6_TIME_EXCEED,
} from '../wire/icmp';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, ParsedFrame } from '../wire/parsed-frame';
import { writeIcmpError } from '../xmit/icmp-answer';
import type { OutputBatch } from './frame-batch';
import { IcmpRateLimiter } from './icmp-limiter';
import type { Router } from './router';

export class IcmpResponder {
  readonly limiter = new IcmpRateLimiter();
  /** ICMP errors written to the output. */
  sent = 0;
  private ipId = 0;

  constructor(private readonly router: Router) {}

  /** Time Exceeded (TTL / hop limit exceeded in transit) about pf, quoted as it arrived. */
  timeExceeded(buf: Uint8Array, pf: ParsedFrame, fromDestination: boolean, now: number, out: OutputBatch, cause: number): boolean {
    return pf.af === 4
      ? this.answer(buf, pf, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, 0, false, fromDestination, now, out, cause)
      : this.answer(buf, pf, ICMPV6_TIME_EXCEED, 0, 0, false, fromDestination, now, out, cause);
  }

  /**
   * Fragmentation Needed (IPv4 with DF) or Packet Too Big (IPv6) carrying `mtu`. An IPv4 packet
   * without DF gets no error: the engine sends it as fragments (src/xmit/ipv4-fragmenter.ts), as
   * the kernel does; it only comes here when it can not be, e.g. inside an IPv6 tunnel (4in6),
   * and is then dropped unanswered (docs/forwarding.md, "Fragmentation on output").
   */
  tooBig(buf: Uint8Array, pf: ParsedFrame, mtu: number, quoteTtlDecremented: boolean, fromDestination: boolean, now: number,
    out: OutputBatch, cause: number): boolean {
    if (pf.af === 4) {
      if (!pf.df) return false;
      return this.answer(buf, pf, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, mtu & 0xffff, quoteTtlDecremented, fromDestination, now, out, cause);
    }
    return this.answer(buf, pf, ICMPV6_PKT_TOOBIG, 0, mtu, quoteTtlDecremented, fromDestination, now, out, cause);
  }

  /** Port Unreachable (no usable real server for a new connection), from the packet's destination. */
  portUnreachable(buf: Uint8Array, pf: ParsedFrame, now: number, out: OutputBatch, cause: number): boolean {
    return pf.af === 4
      ? this.answer(buf, pf, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, false, true, now, out, cause)
      : this.answer(buf, pf, ICMPV6_DEST_UNREACH, ICMPV6_PORT_UNREACH, 0, false, true, now, out, cause);
  }

  /**
   * Writes into `out` (tagged `cause`) the ICMP error (type, code, info) about the packet pf
   * describes in buf, if the kernel would send one. fromDestination: the packet was addressed to
   * the director (see above). quoteTtlDecremented: see writeIcmpError. `now` is engine time in ms.
   * Returns true when a frame was written.
   */
  answer(
    buf: Uint8Array,
    pf: ParsedFrame,
    type: number,
    code: number,
    info: number,
    quoteTtlDecremented: boolean,
    fromDestination: boolean,
    now: number,
    out: OutputBatch,
    cause: number,
  ): boolean {
    if (pf.fragment === 2 || pf.proto === IPPROTO_ICMP || pf.proto === IPPROTO_ICMPV6) return false;
    if (isMulticastMac(buf, pf.l2Off) || !answerable(buf, pf.srcOff, pf.af)) return false;
    const pmtu = pf.af === 4 ? type === ICMP_DEST_UNREACH && code === ICMP_FRAG_NEEDED : type === ICMPV6_PKT_TOOBIG;
    if (!pmtu && !this.limiter.allow(now)) return false;
    const hop = this.router.route(pf.af, buf, pf.srcOff);
    if (hop === null || !out.hasSlot()) return false;
    let from: Uint8Array;
    let fromOff: number;
    if (fromDestination) {
      from = buf;
      fromOff = pf.dstOff;
    } else {
      if (hop.srcAf !== pf.af) return false;
      from = hop.srcAddr;
      fromOff = 0;
    }
    const id = (this.ipId + 1) & 0xffff;
    const n = writeIcmpError(buf, pf, type, code, info, quoteTtlDecremented, from, fromOff, id, hop, out.buf, out.used, out.room());
    if (n <= 0) return false;
    if (pf.af === 4) this.ipId = id;
    out.commit(n, hop.linkIndex, cause);
    this.sent++;
    return true;
  }
}

/** A source address an ICMP error may be sent to. */
function answerable(buf: Uint8Array, off: number, af: number): boolean {
  const b0 = buf[off];
  if (af === 4) {
    // 0.0.0.0/8, loopback, multicast and class E (limited broadcast included).
    return b0 !== 0 && b0 !== 127 && b0 < 224;
  }
  if (b0 === 0xff) return false;
  let zero = true;
  for (let i = 0; i < 15; i++) if (buf[off + i] !== 0) zero = false;
  // :: (unspecified) and ::1 (loopback).
  return !(zero && (buf[off + 15] === 0 || buf[off + 15] === 1));
}
