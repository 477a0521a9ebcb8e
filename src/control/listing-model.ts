/**
 * What `uvsadm -L` shows, as plain data: a snapshot of the director's state taken between
 * batches and handed to the formatters (ipvsadm-list.ts). No engine types: the engine (or a test)
 * fills these objects, the formatters only read them.
 *
 * Numbers are the values ipvsadm would receive from the kernel. 64-bit counters are JS numbers,
 * exact up to 2^53. Counters are already relative to the last zeroing (-Z), rates are the
 * estimator's rounded values (rate-estimator.ts).
 */
import type { ForwardMethod, IpAddress, ServiceKey, TunnelChecksum, TunnelType } from './config';

/** The five counters of one IPVS stats object (service, real server or total). */
export interface ListingStats {
  conns: number;
  inpkts: number;
  outpkts: number;
  inbytes: number;
  outbytes: number;
}

/** The five estimated rates: connections, packets and BYTES per second. */
export interface ListingRates {
  cps: number;
  inpps: number;
  outpps: number;
  inbps: number;
  outbps: number;
}

export interface ListingDest {
  addr: IpAddress;
  port: number;
  method: ForwardMethod;
  weight: number;
  uThreshold: number;
  lThreshold: number;
  activeConns: number;
  inactConns: number;
  persistConns: number;
  /** Meaningful for ForwardMethod.Tunnel only. */
  tunType: TunnelType;
  /** GUE only; 0 otherwise. */
  tunPort: number;
  tunChecksum: TunnelChecksum;
  stats: ListingStats;
  rates: ListingRates;
}

export interface ListingService {
  key: ServiceKey;
  scheduler: string;
  /** SCHED_FLAG_* bits (config.ts). */
  schedFlags: number;
  persistent: boolean;
  /** Persistence timeout in seconds. */
  timeout: number;
  /** IPv4: the mask as an unsigned 32-bit number; IPv6: the prefix length. */
  netmask: number;
  /** Persistence engine name (e.g. "sip"), or null. */
  pe: string | null;
  /** One-packet scheduling. */
  ops: boolean;
  stats: ListingStats;
  rates: ListingRates;
  /** Real servers in the kernel's list order: the most recently added first. */
  dests: ListingDest[];
}

export interface ListingEndpoint {
  addr: IpAddress;
  port: number;
}

/** One line of /proc/net/ip_vs_conn: a connection or a persistence template. */
export interface ListingConnection {
  /**
   * IP protocol number: 6, 17, 132; 0 for firewall-mark templates (printed `IP`). Other numbers
   * print as the kernel names them (`ICMP`, `ICMPv6`, `IP_<n>`).
   */
  protocol: number;
  /** Client; for a template the masked client network with port 0. */
  client: ListingEndpoint;
  /** Virtual service; for a firewall-mark template the mark as an address (mark 1 -> 0.0.0.1) and port 0. */
  virtual: ListingEndpoint;
  dest: ListingEndpoint;
  /** The kernel's state name: ESTABLISHED, SYN_RECV, FIN_WAIT, TIME_WAIT, UDP, NONE, ... */
  state: string;
  /** Whole seconds until the entry expires. */
  expiresIn: number;
  /** Persistence engine name and data (SIP Call-ID), or null. */
  pe: { name: string; data: string } | null;
}

/** --set timeouts as the kernel reports them, in seconds. */
export interface ListingTimeouts {
  tcp: number;
  tcpFin: number;
  udp: number;
}

export interface ListingSyncDaemon {
  state: 'master' | 'backup';
  mcastInterface: string;
  syncId: number;
  /** 0 = not reported. */
  maxLen: number;
  /** null = not reported. */
  group: IpAddress | null;
  /** 0 = not reported. */
  port: number;
  /** 0 = not reported. */
  ttl: number;
}

export interface ListingSnapshot {
  /** Connection hash table size, shown in the header (`size=4096`). */
  connTableSize: number;
  /** In the kernel's dump order (hash-table order, see ipvsadm-sort.ts kernelServiceOrder). */
  services: ListingService[];
  /** In /proc/net/ip_vs_conn order; templates included. */
  connections: ListingConnection[];
  timeouts: ListingTimeouts;
  /** Running sync daemons (master, then backup). */
  daemons: ListingSyncDaemon[];
}

export const ZERO_STATS: Readonly<ListingStats> = Object.freeze({ conns: 0, inpkts: 0, outpkts: 0, inbytes: 0, outbytes: 0 });
export const ZERO_RATES: Readonly<ListingRates> = Object.freeze({ cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0 });
/** What IPVS reports before any --set and for its default connection table (CONFIG_IP_VS_TAB_BITS=12). */
export const DEFAULT_CONN_TABLE_SIZE = 4096;
export const DEFAULT_LISTING_TIMEOUTS: Readonly<ListingTimeouts> = Object.freeze({ tcp: 900, tcpFin: 120, udp: 300 });
