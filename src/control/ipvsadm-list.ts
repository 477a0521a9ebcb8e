/**
 * Everything `ipvsadm -L` (1.31) prints, as pure functions from a ListingSnapshot to text: the
 * service table in its six column layouts (default, --tun-info, --stats, --rate, --thresholds,
 * --persistent-conn), one service (-L -t VIP:PORT), the connection table (-c), --timeout and
 * --daemon. Layouts are ipvs-facts.md 6.4-6.5; fixtures recorded from the real ipvsadm 1.31
 * (test/fixtures/list) hold us to the byte.
 *
 * ipvsadm 1.31's quirks are kept on purpose, because scripts parse this output:
 * - IPv4 service names are cut to 33 characters and IPv4 real-server names to 28; IPv6 ones
 *   overflow their columns; any addr:port text is cut to 59 characters;
 * - firewall marks print as signed ints (2^32-1 is `FWM  -1`) and sort as signed differences;
 * - sorting uses ipvsadm's wrapping comparators with glibc's merge sort (ipvsadm-sort.ts);
 * - real servers' conns, packet counters and all five rates keep only their low 32 bits (libipvs
 *   reads those 64-bit attributes with nla_get_u32); byte counters are whole;
 * - a service's persistence engine is shown only when the service is persistent;
 * - with -c --persistent-conn, entries with PE data use a narrower destination column than the
 *   title (16 instead of 18 characters).
 * uvs additions: FULLNAT real servers show `FullNat` (DPVS's name); names without -n come from a
 * NameLookup (hosts and services files), never from DNS.
 */
import { ForwardMethod, PROTOCOL_NUMBER, SCHED_FLAG_1, SCHED_FLAG_2, SCHED_FLAG_3 } from './config';
import type { IpAddress, Protocol, ServiceKey } from './config';
import { ipv4FromNumber } from './ip-address';
import { schedFlagNames, type ListCommand } from './ipvsadm-args';
import { NUMERIC_NAMES, type NameLookup } from './ipvsadm-names';
import { asSigned32, asUnsigned32, decimal, largeNumber, lowBits32, padLeft, padRight } from './ipvsadm-number';
import { compareDests, compareServices, glibcMergeSort } from './ipvsadm-sort';
import type {
  ListingConnection,
  ListingDest,
  ListingRates,
  ListingService,
  ListingSnapshot,
  ListingStats,
  ListingSyncDaemon,
  ListingTimeouts,
} from './listing-model';

export interface ListResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface ListOptions {
  /** Names for listings without -n (default: none, numbers everywhere). */
  names?: NameLookup;
  /** Show real servers' counters and rates whole instead of ipvsadm 1.31's low 32 bits. */
  fullDestCounters?: boolean;
}

/** The parts of the list command the formatters read (a ListCommand fits). */
export type ListFormat = Pick<
  ListCommand,
  'numeric' | 'stats' | 'rate' | 'thresholds' | 'persistentConn' | 'nosort' | 'exact' | 'tunInfo'
>;

/** The text IPVS's version code 0x010201 prints as. */
export const IPVS_VERSION_TEXT = '1.2.1';
export const NO_SUCH_SERVICE = 'No such service';

/** ipvsadm's addrport_to_anyname buffer: 60 bytes with the terminating NUL. */
const ADDR_PORT_MAX = 59;
const SERVICE_NAME_MAX = 33;
const DEST_NAME_MAX = 28;

/** Runs the list command: what ipvsadm writes to stdout and stderr, and its exit status. */
export function formatList(snapshot: ListingSnapshot, command: ListCommand, options: ListOptions = {}): ListResult {
  const ctx = new ListContext(command, options);
  switch (command.target) {
    case 'connections':
      return ok(formatConnections(snapshot.connections, ctx));
    case 'timeout':
      return ok(formatTimeouts(snapshot.timeouts));
    case 'daemon':
      return ok(formatDaemons(snapshot.daemons));
    case 'service': {
      const key = command.service;
      const svc = key === null ? undefined : snapshot.services.find((s) => sameService(s.key, key));
      if (svc === undefined) return { stdout: '', stderr: `${NO_SUCH_SERVICE}\n`, exitCode: 1 };
      return ok(title(ctx) + formatService(svc, ctx));
    }
    case 'services':
      return ok(formatServiceTable(snapshot, ctx));
  }
}

/** `ipvsadm -L`: header, titles, then every service with its real servers. */
export function formatServiceTable(snapshot: ListingSnapshot, ctx: ListContext): string {
  const services = ctx.format.nosort ? snapshot.services : glibcMergeSort(snapshot.services, compareServices);
  let out = `IP Virtual Server version ${IPVS_VERSION_TEXT} (size=${asSigned32(snapshot.connTableSize)})\n`;
  out += title(ctx);
  for (const s of services) out += formatService(s, ctx);
  return out;
}

/** `-L --timeout`. */
export function formatTimeouts(t: ListingTimeouts): string {
  return `Timeout (tcp tcpfin udp): ${asSigned32(t.tcp)} ${asSigned32(t.tcpFin)} ${asSigned32(t.udp)}\n`;
}

/** `-L --daemon`: one line per running daemon, master first. */
export function formatDaemons(daemons: readonly ListingSyncDaemon[]): string {
  let out = '';
  for (const state of ['master', 'backup'] as const) {
    const d = daemons.find((x) => x.state === state);
    if (d === undefined) continue;
    out += `${state} sync daemon (mcast=${d.mcastInterface}, syncid=${asSigned32(d.syncId)}`;
    if (d.maxLen !== 0) out += `, maxlen=${asUnsigned32(d.maxLen)}`;
    if (d.group !== null) out += `, group=${d.group.text}`;
    if (d.port !== 0) out += `, port=${asUnsigned32(d.port)}`;
    if (d.ttl !== 0) out += `, ttl=${asUnsigned32(d.ttl)}`;
    out += ')\n';
  }
  return out;
}

/** `-L -c`: the connection entries, templates included, in table order. */
export function formatConnections(conns: readonly ListingConnection[], ctx: ListContext): string {
  const pc = ctx.format.persistentConn;
  let out = 'IPVS connection entries\n';
  out += pc
    ? `pro expire ${padRight('state', 11)} ${padRight('source', 18)} ${padRight('virtual', 18)} ${padRight('destination', 18)} ${padRight('pe name', 16)} pe_data\n`
    : `pro expire ${padRight('state', 11)} ${padRight('source', 18)} ${padRight('virtual', 18)} destination\n`;
  for (const c of conns) {
    const proto = CONN_PROTOCOLS.get(c.protocol) ?? null;
    const name = (e: { addr: IpAddress; port: number }): string => ctx.addrPort(e.addr, e.port, proto);
    const expires = asUnsigned32(c.expiresIn);
    const expire = `${twoDigits(Math.floor(expires / 60))}:${twoDigits(expires % 60)}`;
    const head = `${padRight(kernelProtocolName(c.protocol), 3)} ${padRight(expire, 6)} ${padRight(c.state, 11)} ${padRight(name(c.client), 18)} ${padRight(name(c.virtual), 18)}`;
    // ipvsadm uses the PE layout only when its sscanf found both words after the expiry.
    if (pc && c.pe !== null && c.pe.name !== '' && c.pe.data !== '') {
      out += `${head} ${padRight(name(c.dest), 16)} ${padRight(c.pe.name, 18)} ${c.pe.data}\n`;
    } else {
      out += `${head} ${name(c.dest)}\n`;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

type Layout = 'stats' | 'rate' | 'thresholds' | 'persistent-conn' | 'tun-info' | 'default';

/** The list command's format flags, the names to use and the counter view, resolved once. */
export class ListContext {
  readonly format: ListFormat;
  readonly layout: Layout;
  private readonly names: NameLookup;
  private readonly fullDestCounters: boolean;

  constructor(format: ListFormat, options: ListOptions = {}) {
    this.format = format;
    this.layout = format.stats
      ? 'stats'
      : format.rate
        ? 'rate'
        : format.thresholds
          ? 'thresholds'
          : format.persistentConn
            ? 'persistent-conn'
            : format.tunInfo
              ? 'tun-info'
              : 'default';
    this.names = format.numeric ? NUMERIC_NAMES : (options.names ?? NUMERIC_NAMES);
    this.fullDestCounters = options.fullDestCounters === true;
  }

  /** `a.b.c.d:port` / `[v6]:port`, or with names; the port named only for TCP, UDP and SCTP. */
  addrPort(addr: IpAddress, port: number, protocol: Protocol | null): string {
    const host = this.names.hostName(addr) ?? addr.text;
    const service = protocol === null ? null : this.names.serviceName(port, protocol);
    const text = addr.af === 4 ? `${host}:${service ?? port}` : `[${host}]:${service ?? port}`;
    return text.slice(0, ADDR_PORT_MAX);
  }

  /** A real server's counter as ipvsadm shows it. */
  destCounter(value: number): number {
    return this.fullDestCounters ? value : lowBits32(value);
  }
}

function ok(stdout: string): ListResult {
  return { stdout, stderr: '', exitCode: 0 };
}

function twoDigits(n: number): string {
  return padLeft(decimal(n), 2).replace(/ /g, '0');
}

const CONN_PROTOCOLS: ReadonlyMap<number, Protocol> = new Map(
  (Object.keys(PROTOCOL_NUMBER) as Protocol[]).map((p) => [PROTOCOL_NUMBER[p], p]),
);

/** The kernel's ip_vs_proto_name, as /proc/net/ip_vs_conn prints it. */
export function kernelProtocolName(protocol: number): string {
  switch (protocol) {
    case 0:
      return 'IP';
    case 1:
      return 'ICMP';
    case 6:
      return 'TCP';
    case 17:
      return 'UDP';
    case 58:
      return 'ICMPv6';
    case 132:
      return 'SCTP';
    default:
      return `IP_${protocol}`;
  }
}

function sameService(a: ServiceKey, b: ServiceKey): boolean {
  if (a.kind === 'fwmark' || b.kind === 'fwmark') {
    return a.kind === 'fwmark' && b.kind === 'fwmark' && a.fwmark === b.fwmark && a.af === b.af;
  }
  return (
    a.protocol === b.protocol &&
    a.port === b.port &&
    a.addr.af === b.addr.af &&
    a.addr.bytes.length === b.addr.bytes.length &&
    a.addr.bytes.every((x, i) => x === b.addr.bytes[i])
  );
}

const TITLE_FIRST = 'Prot LocalAddress:Port';
const DEST_TITLE = '  -> RemoteAddress:Port\n';

function title(ctx: ListContext): string {
  const cols = (widths: number[], names: string[], right: boolean): string =>
    names.map((n, i) => ' ' + (right ? padLeft(n, widths[i]) : padRight(n, widths[i]))).join('');
  switch (ctx.layout) {
    case 'stats':
      return padRight(TITLE_FIRST, 33) + cols([8, 8, 8, 8, 8], ['Conns', 'InPkts', 'OutPkts', 'InBytes', 'OutBytes'], true) + '\n' + DEST_TITLE;
    case 'rate':
      return padRight(TITLE_FIRST, 33) + cols([8, 8, 8, 8, 8], ['CPS', 'InPPS', 'OutPPS', 'InBPS', 'OutBPS'], true) + '\n' + DEST_TITLE;
    case 'thresholds':
      return padRight(TITLE_FIRST, 33) + cols([10, 10, 10, 10], ['Uthreshold', 'Lthreshold', 'ActiveConn', 'InActConn'], false) + '\n' + DEST_TITLE;
    case 'persistent-conn':
      return padRight(TITLE_FIRST, 33) + cols([9, 11, 10, 10], ['Weight', 'PersistConn', 'ActiveConn', 'InActConn'], false) + '\n' + DEST_TITLE;
    case 'tun-info':
      return 'Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n';
    case 'default':
      return 'Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n';
  }
}

const PROTOCOL_NAME: Readonly<Record<Protocol, string>> = { tcp: 'TCP', udp: 'UDP', sctp: 'SCTP' };

/** `TCP  1.2.3.4:80` (IPv4 cut to 33 characters), `FWM  7`, `FWM  7 IPv6`. */
function serviceName(key: ServiceKey, ctx: ListContext): string {
  if (key.kind === 'fwmark') return `FWM  ${asSigned32(key.fwmark)}${key.af === 6 ? ' IPv6' : ''}`;
  const name = `${padRight(PROTOCOL_NAME[key.protocol], 4)} ${ctx.addrPort(key.addr, key.port, key.protocol)}`;
  return key.addr.af === 6 ? name : name.slice(0, SERVICE_NAME_MAX);
}

function serviceFlags(s: ListingService): string {
  let out = '';
  if ((s.schedFlags & (SCHED_FLAG_1 | SCHED_FLAG_2 | SCHED_FLAG_3)) !== 0) {
    out += ` (${schedFlagNames(s.scheduler, s.schedFlags).join(',')})`;
  }
  if (s.persistent) {
    out += ` persistent ${asUnsigned32(s.timeout)}`;
    const af = s.key.kind === 'fwmark' ? s.key.af : s.key.addr.af;
    if (af === 4 && asUnsigned32(s.netmask) !== 0xffffffff) out += ` mask ${ipv4FromNumber(s.netmask).text}`;
    if (af === 6 && s.netmask !== 128) out += ` mask ${asSigned32(s.netmask)}`;
    if (s.pe !== null && s.pe !== '') out += ` pe ${s.pe}`;
  }
  if (s.ops) out += ' ops';
  return out;
}

/** print_largenum of each value, one 9-character cell each. */
function counterCells(values: readonly number[], exact: boolean): string {
  return values.map((v) => largeNumber(v, exact)).join('');
}

const statValues = (s: ListingStats): number[] => [s.conns, s.inpkts, s.outpkts, s.inbytes, s.outbytes];
const rateValues = (r: ListingRates): number[] => [r.cps, r.inpps, r.outpps, r.inbps, r.outbps];

/** One service line and its real servers' lines. */
function formatService(s: ListingService, ctx: ListContext): string {
  const name = serviceName(s.key, ctx);
  const exact = ctx.format.exact;
  let out: string;
  if (ctx.layout === 'stats') out = padRight(name, 33) + counterCells(statValues(s.stats), exact);
  else if (ctx.layout === 'rate') out = padRight(name, 33) + counterCells(rateValues(s.rates), exact);
  else out = `${name} ${s.scheduler}${serviceFlags(s)}`;
  out += '\n';
  const dests = ctx.format.nosort ? s.dests : glibcMergeSort(s.dests, compareDests);
  // ipvsadm names real-server ports by the service's protocol (none for firewall marks).
  const protocol = s.key.kind === 'fwmark' ? null : s.key.protocol;
  for (const d of dests) out += formatDest(d, protocol, ctx);
  return out;
}

const METHOD_NAME: Readonly<Record<ForwardMethod, string>> = {
  [ForwardMethod.Masq]: 'Masq',
  [ForwardMethod.Local]: 'Local',
  [ForwardMethod.Tunnel]: 'Tunnel',
  [ForwardMethod.Route]: 'Route',
  [ForwardMethod.FullNat]: 'FullNat',
};

const CHECKSUM_MARK = { nocsum: '-c', csum: '+c', remcsum: 'r+c' } as const;

/** --tun-info's column: `ipip`, `gue:PORT:FLAG`, `gre:FLAG`, or `n/a` for other methods. */
function tunnelInfo(d: ListingDest): string {
  if (d.method !== ForwardMethod.Tunnel) return 'n/a';
  switch (d.tunType) {
    case 'ipip':
      return 'ipip';
    case 'gue':
      return `gue:${d.tunPort}:${CHECKSUM_MARK[d.tunChecksum]}`;
    case 'gre':
      return `gre:${CHECKSUM_MARK[d.tunChecksum]}`;
  }
}

function formatDest(d: ListingDest, protocol: Protocol | null, ctx: ListContext): string {
  let name = ctx.addrPort(d.addr, d.port, protocol);
  if (d.addr.af === 4) name = name.slice(0, DEST_NAME_MAX);
  const lead = `  -> ${padRight(name, 28)}`;
  const u = (n: number): string => padRight(decimal(asUnsigned32(n)), 10);
  const exact = ctx.format.exact;
  const c = (v: number): number => ctx.destCounter(v);
  const weight = decimal(asSigned32(d.weight));
  switch (ctx.layout) {
    case 'stats': {
      const st = d.stats;
      return `${lead}${counterCells([c(st.conns), c(st.inpkts), c(st.outpkts), st.inbytes, st.outbytes], exact)}\n`;
    }
    case 'rate': {
      const r = d.rates;
      const pps = [r.cps, r.inpps, r.outpps].map((v) => ' ' + padLeft(decimal(c(v)), 8)).join('');
      return `${lead}${pps}${counterCells([c(r.inbps), c(r.outbps)], exact)}\n`;
    }
    case 'thresholds':
      return `${lead} ${u(d.uThreshold)} ${u(d.lThreshold)} ${u(d.activeConns)} ${u(d.inactConns)}\n`;
    case 'persistent-conn':
      return `${lead} ${padRight(decimal(asUnsigned32(d.weight)), 9)} ${padRight(decimal(asUnsigned32(d.persistConns)), 11)} ${u(d.activeConns)} ${u(d.inactConns)}\n`;
    case 'tun-info':
      return `${lead} ${padRight(METHOD_NAME[d.method], 7)} ${padRight(tunnelInfo(d), 13)} ${padRight(weight, 6)} ${u(d.activeConns)} ${u(d.inactConns)}\n`;
    case 'default':
      return `${lead} ${padRight(METHOD_NAME[d.method], 7)} ${padRight(weight, 6)} ${u(d.activeConns)} ${u(d.inactConns)}\n`;
  }
}
