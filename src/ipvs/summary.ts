/**
 * What the engine did, as plain data: frames in and out, drops by reason, connections made, and
 * the counters per service and per real server. Used by the replay summary (text and JSON).
 */
import { DROP_REASON_NAMES } from '../wire/parsed-frame';
import type { BuiltEngine } from './engine-builder';
import { ST_CONNS, ST_INBYTES, ST_INPKTS, ST_OUTBYTES, ST_OUTPKTS, type Counters } from './stats';

export interface CounterSummary {
  connections: number;
  inPackets: number;
  outPackets: number;
  inBytes: number;
  outBytes: number;
}

export interface RealServerSummary extends CounterSummary {
  server: string;
  activeConns: number;
  inactiveConns: number;
}

export interface ServiceSummary extends CounterSummary {
  service: string;
  scheduler: string;
  realServers: RealServerSummary[];
}

export interface EngineSummary {
  in: number;
  out: number;
  /** Only reasons that occurred, in reason order. */
  dropped: Record<string, number>;
  droppedTotal: number;
  /**
   * ICMP errors the director sent itself (included in `out`): for frames dropped as ttl-exceeded,
   * too-big or no-destination. So in + icmpSent + fragmentsExtra = out + droppedTotal.
   * icmpRateLimited: errors the rate limit held back.
   */
  icmpSent: number;
  icmpRateLimited: number;
  /**
   * IPv4 packets longer than their egress MTU with DF clear, sent as fragments (the kernel's
   * FragOKs), and the frames that added beyond one per such packet: `out` counts every fragment
   * sent, as an interface's transmit counter would.
   */
  fragmentedPackets: number;
  fragmentsExtra: number;
  connections: number;
  liveConnections: number;
  /** Keyed "IP:port" ("[IPv6]:port"); a real server in several services is summed. */
  perRealServer: Record<string, CounterSummary>;
  services: ServiceSummary[];
}

function counters(c: Counters, row: number): CounterSummary {
  return {
    connections: c.get(row, ST_CONNS),
    inPackets: c.get(row, ST_INPKTS),
    outPackets: c.get(row, ST_OUTPKTS),
    inBytes: c.get(row, ST_INBYTES),
    outBytes: c.get(row, ST_OUTBYTES),
  };
}

export function summarize(built: BuiltEngine): EngineSummary {
  const { engine, serviceNames, destNames } = built;
  const dropped: Record<string, number> = {};
  let droppedTotal = 0;
  engine.drops.forEach((n, reason) => {
    if (n > 0) {
      dropped[DROP_REASON_NAMES[reason]] = n;
      droppedTotal += n;
    }
  });
  const perRealServer: Record<string, CounterSummary> = {};
  const services: ServiceSummary[] = engine.services.services.map((svc) => {
    // Summaries list real servers in IPVS list order (newest first), as ipvsadm --nosort would.
    const realServers = svc.list.map((d) => ({
      server: destNames[d],
      activeConns: engine.dests.activeConns[d],
      inactiveConns: engine.dests.inactConns[d],
      ...counters(engine.destStats, d),
    }));
    for (const rs of realServers) {
      const sum = perRealServer[rs.server] ?? { connections: 0, inPackets: 0, outPackets: 0, inBytes: 0, outBytes: 0 };
      sum.connections += rs.connections;
      sum.inPackets += rs.inPackets;
      sum.outPackets += rs.outPackets;
      sum.inBytes += rs.inBytes;
      sum.outBytes += rs.outBytes;
      perRealServer[rs.server] = sum;
    }
    return {
      service: serviceNames[svc.index],
      scheduler: svc.schedulerName,
      realServers,
      connections: engine.serviceCounter(svc.index, ST_CONNS),
      inPackets: engine.serviceCounter(svc.index, ST_INPKTS),
      outPackets: engine.serviceCounter(svc.index, ST_OUTPKTS),
      inBytes: engine.serviceCounter(svc.index, ST_INBYTES),
      outBytes: engine.serviceCounter(svc.index, ST_OUTBYTES),
    };
  });
  return {
    in: engine.framesIn,
    out: engine.framesOut,
    dropped,
    droppedTotal,
    icmpSent: engine.icmp.sent,
    icmpRateLimited: engine.icmp.limiter.limited,
    fragmentedPackets: engine.fragmenter.packets,
    fragmentsExtra: engine.fragmenter.extraFrames,
    connections: engine.connectionsCreated,
    liveConnections: engine.conns4.count + engine.conns6.count,
    perRealServer,
    services,
  };
}
