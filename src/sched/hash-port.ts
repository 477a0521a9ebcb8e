/**
 * The port sh and mh add to the folded source address before hashing (ipvs-schedulers.md 1.5):
 * the client's source port when the service has scheduler flag 2 (sh-port / mh-port) and the
 * packet is TCP, UDP or SCTP - the three protocols whose ports the kernel reads at the same
 * offset - and 0 otherwise (ICMP and everything else, or no flag).
 */
import { SCHED_FLAG_2 } from '../control/config';
import { IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP } from '../wire/parsed-frame';
import type { SchedPacket } from './scheduler';

export function hashedSourcePort(schedFlags: number, pkt: SchedPacket): number {
  if ((schedFlags & SCHED_FLAG_2) === 0) return 0;
  const proto = pkt.proto;
  return proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === IPPROTO_SCTP ? pkt.sport : 0;
}
