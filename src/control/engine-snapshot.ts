/**
 * The running director as `ipvsadm -L` sees it: a ListingSnapshot (listing-model.ts) built from
 * the configuration (what was configured, in creation order), the engine (connection counts,
 * connections, timeouts) and the counters (relative to -Z, with estimated rates). Taken between
 * batches; nothing here runs per packet.
 */
import { type IpAddress, type RulesConfig, type ServiceConfig } from './config';
import { ipFromBytes } from './ip-address';
import { kernelServiceOrder } from './ipvsadm-sort';
import {
  DEFAULT_CONN_TABLE_SIZE, ZERO_RATES, ZERO_STATS, type ListingConnection, type ListingDest, type ListingRates,
  type ListingService, type ListingSnapshot, type ListingStats, type ListingSyncDaemon,
} from './listing-model';
import { CONN_F_TEMPLATE, type ConnTable } from '../ipvs/conn-table';
import type { Engine } from '../ipvs/engine';
import { SCTP_STATE_NAMES } from '../ipvs/sctp-states';
import { TCP_STATE_NAMES } from '../ipvs/tcp-states';
import type { VirtualService } from '../ipvs/virtual-service';

export interface SnapshotCounters {
  stats: ListingStats;
  rates: ListingRates;
}

export interface SnapshotSource {
  config: RulesConfig;
  engine: Engine;
  /** The engine's service for a configured one. */
  serviceOf(sc: ServiceConfig): VirtualService;
  /** The engine's dest id of a configured real server (in the service's list). */
  destOf(sc: ServiceConfig, d: { addr: IpAddress; port: number }): number;
  /** Counters and rates of an engine service / dest id; default: raw counters, no rates. */
  serviceCounters?(svc: VirtualService): SnapshotCounters;
  destCounters?(d: number): SnapshotCounters;
  daemons?: ListingSyncDaemon[];
  /**
   * False: leave `connections` empty. Only `-L -c` prints them, and listing every entry of a table
   * of millions costs that many objects (default true).
   */
  withConnections?: boolean;
}

const FIELDS = ['conns', 'inpkts', 'outpkts', 'inbytes', 'outbytes'] as const;

function rawCounters(read: (field: number) => number): SnapshotCounters {
  const stats = { ...ZERO_STATS };
  FIELDS.forEach((f, i) => (stats[f] = read(i)));
  return { stats, rates: { ...ZERO_RATES } };
}

export function buildListingSnapshot(src: SnapshotSource): ListingSnapshot {
  const engine = src.engine;
  const serviceCounters = src.serviceCounters ?? ((svc: VirtualService) => rawCounters((f) => engine.serviceCounter(svc.index, f)));
  const destCounters = src.destCounters ?? ((d: number) => rawCounters((f) => engine.destStats.get(d, f)));
  const services = kernelServiceOrder(src.config.services).map((sc): ListingService => {
    const svc = src.serviceOf(sc);
    const { stats, rates } = serviceCounters(svc);
    return {
      key: sc.key,
      scheduler: sc.scheduler,
      schedFlags: sc.schedFlags,
      persistent: sc.persistent,
      timeout: sc.timeout,
      netmask: sc.netmask,
      pe: sc.pe,
      ops: sc.ops,
      stats,
      rates,
      dests: sc.dests.map((dc): ListingDest => {
        const d = src.destOf(sc, dc);
        const c = d >= 0 ? destCounters(d) : { stats: { ...ZERO_STATS }, rates: { ...ZERO_RATES } };
        return {
          addr: dc.addr,
          port: dc.port,
          method: dc.method,
          weight: dc.weight,
          uThreshold: dc.uThreshold,
          lThreshold: dc.lThreshold,
          activeConns: d >= 0 ? engine.dests.activeConns[d] : 0,
          inactConns: d >= 0 ? engine.dests.inactConns[d] : 0,
          persistConns: d >= 0 ? engine.dests.persistConns[d] : 0,
          tunType: dc.tunType,
          tunPort: dc.tunPort,
          tunChecksum: dc.tunChecksum,
          stats: c.stats,
          rates: c.rates,
        };
      }),
    };
  });
  return {
    connTableSize: DEFAULT_CONN_TABLE_SIZE,
    services,
    connections: src.withConnections === false ? [] : [...connections(engine, engine.conns4), ...connections(engine, engine.conns6)],
    timeouts: {
      tcp: engine.timeouts.tcpSeconds,
      tcpFin: engine.timeouts.tcpFinSeconds,
      udp: engine.timeouts.udpSeconds,
    },
    daemons: src.daemons ?? [],
  };
}

const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const IPPROTO_SCTP = 132;

/** The state name /proc/net/ip_vs_conn prints; templates show their protocol's state 0. */
export function connStateName(protocol: number, state: number, template: boolean): string {
  const s = template ? 0 : state;
  if (protocol === IPPROTO_TCP) return TCP_STATE_NAMES[s] ?? 'ERR!';
  if (protocol === IPPROTO_SCTP) return SCTP_STATE_NAMES[s] ?? 'ERR!';
  if (protocol === IPPROTO_UDP) return 'UDP';
  return protocol === 0 ? 'NONE' : 'ERR!';
}

/** The address in `count` host-order words at words[at] (1: IPv4, 4: IPv6). */
export function addressAt(words: Uint32Array, at: number, count: number): IpAddress {
  const bytes = new Uint8Array(count * 4);
  for (let i = 0; i < count; i++) {
    const v = words[at + i];
    bytes[4 * i] = v >>> 24;
    bytes[4 * i + 1] = (v >>> 16) & 0xff;
    bytes[4 * i + 2] = (v >>> 8) & 0xff;
    bytes[4 * i + 3] = v & 0xff;
  }
  return ipFromBytes(bytes);
}

/** Every entry of one connection table (templates included), in slot order. */
function connections(engine: Engine, conns: ConnTable): ListingConnection[] {
  const out: ListingConnection[] = [];
  const n = conns.addrWords;
  conns.forEach((slot) => {
    const words = conns.words;
    const protocol = conns.proto(slot);
    const template = (conns.flags(slot) & CONN_F_TEMPLATE) !== 0;
    const d = conns.dest(slot);
    const destBytes = engine.destAddrBytes[d];
    out.push({
      protocol,
      client: { addr: addressAt(words, conns.caddrAt(slot), n), port: conns.cport(slot) },
      virtual: { addr: addressAt(words, conns.vaddrAt(slot), n), port: conns.vport(slot) },
      dest: { addr: ipFromBytes(destBytes), port: conns.dport(slot) },
      state: connStateName(protocol, conns.state(slot), template),
      expiresIn: Math.max(0, Math.floor((conns.expires(slot) - conns.now) / 1000)),
      pe: null,
    });
  });
  return out;
}

