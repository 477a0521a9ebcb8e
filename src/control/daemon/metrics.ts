/**
 * The director's Prometheus metrics.
 *
 * node_ipvs_*: exactly what node_exporter's ipvs collector (collector/ipvs_linux.go, reading
 * /proc/net/ip_vs_stats and /proc/net/ip_vs through prometheus/procfs) exports for the same kernel
 * state, so dashboards built on it work unchanged (ipvs-facts.md section 9):
 *
 *   node_ipvs_connections_total, _incoming_packets_total, _outgoing_packets_total,
 *   _incoming_bytes_total, _outgoing_bytes_total        counters, no labels: the global total as
 *                                                        /proc/net/ip_vs_stats shows it (since -Z)
 *   node_ipvs_backend_connections_active, _inactive,
 *   node_ipvs_backend_weight                             gauges per real server of every service
 *
 * Backend labels (declared in this order; the page lists them sorted by name, as client_golang
 * does): local_address, local_port, remote_address, remote_port, proto, local_mark. Addresses are
 * printed as Go's net.IP.String() prints them (IPv6 compressed, a v4-mapped address dotted);
 * `proto` is TCP or UDP; a firewall-mark service has proto FWM, local_mark its mark in 8
 * upper-case hex digits, an empty local_address and local_port 0 (normal services: local_mark
 * ""). Rows whose label values coincide are summed. Rates and per-service counters are not
 * exported: node_exporter has none.
 *
 * One difference, on purpose: procfs does not recognise the kernel's SCTP service lines and files
 * their real servers under the service listed before them; uvs labels them proto="SCTP".
 *
 * uvs_*: the engine's own counters (frames in and out, drops by reason, connections).
 */
import type { IpAddress, RulesConfig, ServiceKey } from '../config';
import { formatIpv4 } from '../ip-address';
import type { ListingStats } from '../listing-model';
import { formatExposition, SampleSums, type Labels, type MetricFamily } from '../prometheus';
import type { Engine } from '../../ipvs/engine';
import { DROP_REASON_NAMES, DropReason } from '../../wire/parsed-frame';
import type { EngineMirror } from './engine-mirror';
import type { StatsBook } from './stats-book';
import type { PortStats } from '../../io/port';

export const IPVS_BACKEND_LABELS = [
  'local_address', 'local_port', 'remote_address', 'remote_port', 'proto', 'local_mark',
] as const;
export type IpvsBackendLabel = (typeof IPVS_BACKEND_LABELS)[number];

/** One real server of one service, as a /proc/net/ip_vs dest line shows it. */
export interface IpvsBackend {
  service: ServiceKey;
  addr: IpAddress;
  port: number;
  weight: number;
  activeConns: number;
  inactConns: number;
}

/** What the ipvs metrics are made of. */
export interface IpvsMetricsInput {
  /** The global counters as /proc/net/ip_vs_stats shows them (relative to the last -Z). */
  totals: ListingStats;
  backends: readonly IpvsBackend[];
}

/** The engine counters behind the uvs_* metrics. */
export interface EngineMetricsInput {
  framesIn: number;
  framesOut: number;
  /** By DropReason. */
  drops: ArrayLike<number>;
  connectionsCreated: number;
  liveEntries: number;
}

/** An address as Go's net.IP.String() prints it. */
export function goIpString(addr: IpAddress): string {
  const b = addr.bytes;
  if (addr.af === 4) return formatIpv4(b);
  // A v4-mapped IPv6 address is shown dotted (net.IP.To4 succeeds on it).
  let mapped = b[10] === 0xff && b[11] === 0xff;
  for (let i = 0; i < 10 && mapped; i++) if (b[i] !== 0) mapped = false;
  if (mapped) return formatIpv4(b.subarray(12, 16));
  // Otherwise RFC 5952: lower-case hex groups, the longest run (first on a tie) of two or more
  // zero groups as "::", never a dotted tail.
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i] << 8) | b[i + 1]);
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string => groups.slice(from, to).map((g) => g.toString(16)).join(':');
  if (best < 0) return hex(0, 8);
  return `${hex(0, best)}::${hex(best + bestLen, 8)}`;
}

/** The six label values of a backend row. */
export function backendLabelValues(b: Pick<IpvsBackend, 'service' | 'addr' | 'port'>): Record<IpvsBackendLabel, string> {
  const k = b.service;
  const remote = { remote_address: goIpString(b.addr), remote_port: String(b.port) };
  if (k.kind === 'fwmark') {
    return {
      local_address: '',
      local_port: '0',
      ...remote,
      proto: 'FWM',
      local_mark: (k.fwmark >>> 0).toString(16).toUpperCase().padStart(8, '0'),
    };
  }
  return {
    local_address: goIpString(k.addr),
    local_port: String(k.port),
    ...remote,
    proto: k.protocol.toUpperCase(),
    local_mark: '',
  };
}

function pick(values: Record<IpvsBackendLabel, string>, labels: readonly IpvsBackendLabel[]): Labels {
  const out: Record<string, string> = {};
  for (const l of labels) out[l] = values[l];
  return out;
}

/**
 * node_exporter's ipvs families. `labels` is node_exporter's --collector.ipvs.backend-labels
 * (a subset of IPVS_BACKEND_LABELS; default all).
 */
export function ipvsFamilies(input: IpvsMetricsInput, labels: readonly IpvsBackendLabel[] = IPVS_BACKEND_LABELS): MetricFamily[] {
  const t = input.totals;
  const total = (name: string, help: string, value: number): MetricFamily => ({
    name: `node_ipvs_${name}`, help, type: 'counter', samples: [{ labels: {}, value }],
  });
  const active = new SampleSums();
  const inactive = new SampleSums();
  const weight = new SampleSums();
  for (const b of input.backends) {
    const l = pick(backendLabelValues(b), labels);
    active.add(l, b.activeConns);
    inactive.add(l, b.inactConns);
    weight.add(l, b.weight);
  }
  return [
    total('connections_total', 'The total number of connections made.', t.conns),
    total('incoming_packets_total', 'The total number of incoming packets.', t.inpkts),
    total('outgoing_packets_total', 'The total number of outgoing packets.', t.outpkts),
    total('incoming_bytes_total', 'The total amount of incoming data.', t.inbytes),
    total('outgoing_bytes_total', 'The total amount of outgoing data.', t.outbytes),
    {
      name: 'node_ipvs_backend_connections_active',
      help: 'The current active connections by local and remote address.',
      type: 'gauge',
      samples: active.samples(),
    },
    {
      name: 'node_ipvs_backend_connections_inactive',
      help: 'The current inactive connections by local and remote address.',
      type: 'gauge',
      samples: inactive.samples(),
    },
    {
      name: 'node_ipvs_backend_weight',
      help: 'The current backend weight by local and remote address.',
      type: 'gauge',
      samples: weight.samples(),
    },
  ];
}

/** uvs's own families: the engine's frame and connection counters. */
export function engineFamilies(e: EngineMetricsInput): MetricFamily[] {
  const drops = [];
  for (let r = 0; r < DROP_REASON_NAMES.length; r++) {
    if (r === DropReason.None) continue;
    drops.push({ labels: { reason: DROP_REASON_NAMES[r] }, value: e.drops[r] ?? 0 });
  }
  const one = (name: string, help: string, type: 'counter' | 'gauge', value: number): MetricFamily => ({
    name, help, type, samples: [{ labels: {}, value }],
  });
  return [
    one('uvs_frames_received_total', 'Frames run through the uvs engine.', 'counter', e.framesIn),
    one('uvs_frames_transmitted_total', 'Frames the uvs engine transmitted.', 'counter', e.framesOut),
    {
      name: 'uvs_frames_dropped_total',
      help: 'Frames the uvs engine did not transmit, by reason.',
      type: 'counter',
      samples: drops,
    },
    one('uvs_connections_created_total', 'Connections the uvs engine scheduled to a real server (persistence templates not included).', 'counter', e.connectionsCreated),
    one('uvs_connections_live', 'Entries in the uvs connection tables (persistence templates included).', 'gauge', e.liveEntries),
  ];
}

/** The engine counters of a running engine. */
export function engineMetricsInput(engine: Engine): EngineMetricsInput {
  return {
    framesIn: engine.framesIn,
    framesOut: engine.framesOut,
    drops: engine.drops,
    connectionsCreated: engine.connectionsCreated,
    liveEntries: engine.conns4.count + engine.conns6.count,
  };
}

/** The ipvs view of the running director: its configuration, engine and counters. */
export function ipvsMetricsInput(config: Readonly<RulesConfig>, mirror: EngineMirror, stats: StatsBook): IpvsMetricsInput {
  const engine = mirror.engine;
  const backends: IpvsBackend[] = [];
  for (const sc of config.services) {
    for (const dc of sc.dests) {
      const d = mirror.destOf(sc, dc);
      backends.push({
        service: sc.key,
        addr: dc.addr,
        port: dc.port,
        weight: dc.weight,
        activeConns: d >= 0 ? engine.dests.activeConns[d] : 0,
        inactConns: d >= 0 ? engine.dests.inactConns[d] : 0,
      });
    }
  }
  return { totals: stats.totals().stats, backends };
}

/** A live director's links: what each port received, dropped and sent. */
export interface LinkMetricsInput {
  name: string;
  io: string;
  stats: PortStats;
}

/** What a live director reports besides the engine's counters. */
export interface LiveMetricsInput {
  ports: readonly LinkMetricsInput[];
  feed: { checksumsFinished: number; outputDropped: number };
}

/** uvs_link_* and the live loop's own counters. */
export function liveFamilies(live: LiveMetricsInput): MetricFamily[] {
  const one = (name: string, help: string, value: number): MetricFamily => ({ name, help, type: 'counter', samples: [{ labels: {}, value }] });
  return [
    ...linkFamilies(live.ports),
    one('uvs_checksums_finished_total', 'TCP/UDP checksums a sender left to hardware (CHECKSUM_PARTIAL) that the director computed.', live.feed.checksumsFinished),
    one('uvs_output_dropped_total', 'Frames the engine transmitted that no port could take.', live.feed.outputDropped),
  ];
}

/** uvs_link_*: per-link frame counters of a live director (ring drops are the overload signal). */
export function linkFamilies(links: readonly LinkMetricsInput[]): MetricFamily[] {
  const family = (name: string, help: string, pick: (s: PortStats) => number): MetricFamily => ({
    name, help, type: 'counter', samples: links.map((l) => ({ labels: { link: l.name, io: l.io }, value: pick(l.stats) })),
  });
  return [
    family('uvs_link_received_frames_total', 'Frames a live director read from the link.', (s) => s.rxFrames),
    family('uvs_link_receive_dropped_total', 'Frames the kernel dropped before the director read them (receive ring full).', (s) => s.rxDropped),
    family('uvs_link_transmitted_frames_total', 'Frames the kernel took for transmission on the link.', (s) => s.txFrames),
    family('uvs_link_transmit_dropped_total', 'Frames the director could not transmit on the link (queue full, EAGAIN, ENOBUFS).', (s) => s.txDropped),
  ];
}

/** The whole /metrics page of the director (with its links' counters when it forwards live). */
export function directorMetricsPage(config: Readonly<RulesConfig>, mirror: EngineMirror, stats: StatsBook, live: LiveMetricsInput | null = null): string {
  return formatExposition([
    ...ipvsFamilies(ipvsMetricsInput(config, mirror, stats)),
    ...engineFamilies(engineMetricsInput(mirror.engine)),
    ...(live !== null ? liveFamilies(live) : []),
  ]);
}
