/**
 * Reply sources the director keeps taking from the kernel although the rules no longer name them:
 * NAT and FULLNAT real servers that were deleted (or edited to another method) while the engine
 * still knows them. Their connections live on (drain_nodest_conn keeps forwarding them; the kernel
 * IPVS too translates a deleted server's replies, ip_vs_out has no "dest available" check), so their
 * replies must still reach uvs: left to the kernel, they would be forwarded with the real server's
 * own source and the client would answer with an RST. The engine never forgets a real server it was
 * given (deleted ids stay), so neither does this list; a reply that matches no connection is then
 * dropped by the engine as unknown-reply instead of being routed by the kernel.
 */
import type { IpAddress, Protocol } from '../control/config';
import { ipFromBytes } from '../control/ip-address';
import type { Engine } from '../ipvs/engine';

export interface RetainedReplySource {
  addr: IpAddress;
  /** The real server's port; 0 = every port. */
  port: number;
  /** null: every balanced protocol (a firewall-mark service). */
  protocol: Protocol | null;
}

const PROTOCOLS: Readonly<Record<number, Protocol>> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };

/** Every NAT/FULLNAT real server the engine has had (those still configured included: harmless duplicates). */
export function retainedReplySources(engine: Engine): RetainedReplySource[] {
  const out: RetainedReplySource[] = [];
  for (const d of engine.replyingDests) {
    const svc = engine.services.services[engine.dests.service[d]];
    out.push({
      addr: ipFromBytes(engine.destAddrBytes[d]),
      port: engine.dests.port[d],
      protocol: svc === undefined || svc.proto === 0 ? null : PROTOCOLS[svc.proto] ?? null,
    });
  }
  return out;
}
