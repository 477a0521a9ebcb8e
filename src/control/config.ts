/**
 * The configuration model: what the rules file (ipvsadm -S format plus FULLNAT extensions) and
 * the director file describe. Plain data, built by the loaders and turned into the engine's
 * typed-array tables by src/ipvs. Nothing here is touched per packet.
 */
import type { Sysctls } from '../ipvs/sysctls';

export type AddressFamily = 4 | 6;

/** An IP address: its family, its network-order bytes (4 or 16) and its canonical text. */
export interface IpAddress {
  readonly af: AddressFamily;
  readonly bytes: Uint8Array;
  readonly text: string;
}

export type Protocol = 'tcp' | 'udp' | 'sctp';
export const PROTOCOL_NUMBER: Readonly<Record<Protocol, number>> = { tcp: 6, udp: 17, sctp: 132 };

/** Forwarding methods. Values are IPVS's conn-flag codes (FULLNAT as DPVS numbers it). */
export enum ForwardMethod {
  Masq = 0,
  Local = 1,
  Tunnel = 2,
  Route = 3,
  FullNat = 5,
}

export type TunnelType = 'ipip' | 'gue' | 'gre';
/** --tun-nocsum (default), --tun-csum, --tun-remcsum. */
export type TunnelChecksum = 'nocsum' | 'csum' | 'remcsum';

/** Scheduler flag bits (ipvsadm -b): SCHED1 = sh-fallback/mh-fallback/flag-1, SCHED2 = sh-port/mh-port/flag-2, SCHED3 = flag-3. */
export const SCHED_FLAG_1 = 0x0008;
export const SCHED_FLAG_2 = 0x0010;
export const SCHED_FLAG_3 = 0x0020;

export type ServiceKey =
  | { readonly kind: 'addr'; readonly protocol: Protocol; readonly addr: IpAddress; readonly port: number }
  | { readonly kind: 'fwmark'; readonly fwmark: number; readonly af: AddressFamily };

export interface DestConfig {
  addr: IpAddress;
  /** Real server port (ipvsadm forces the service port for DR/TUN on non-fwmark services). */
  port: number;
  method: ForwardMethod;
  weight: number;
  /** -x / -y; 0 = unset. */
  uThreshold: number;
  lThreshold: number;
  tunType: TunnelType;
  /** GUE only; 0 otherwise. */
  tunPort: number;
  tunChecksum: TunnelChecksum;
}

export interface ServiceConfig {
  key: ServiceKey;
  /** Scheduler name as given to -s (default wlc). */
  scheduler: string;
  /** SCHED_FLAG_* bits from -b. */
  schedFlags: number;
  persistent: boolean;
  /** Persistence timeout in seconds (meaningful only when persistent; -p alone = 360). */
  timeout: number;
  /** IPv4: the -M mask as an unsigned 32-bit number (default 0xffffffff). IPv6: prefix length (default 128). */
  netmask: number;
  /** -o one-packet scheduling (UDP only). */
  ops: boolean;
  /** --pe engine name, or null. */
  pe: string | null;
  /** FULLNAT local addresses (-P ... -z LADDR), in the order added. */
  laddrs: IpAddress[];
  /** Real servers in IPVS list order: the most recently added first. */
  dests: DestConfig[];
}

/** --set tcp tcpfin udp, in seconds (0 = keep the default). */
export interface TimeoutConfig {
  tcp: number;
  tcpFin: number;
  udp: number;
}

export interface RulesConfig {
  /** In the order the -A lines created them. */
  services: ServiceConfig[];
  timeouts: TimeoutConfig;
}

/** How the live director reaches a link: see src/io/port.ts. */
export type LinkIo = 'packet' | 'cap' | 'tun' | 'tap' | 'raw';
export const LINK_IO_KINDS: readonly LinkIo[] = ['packet', 'cap', 'tun', 'tap', 'raw'];

export interface LinkConfig {
  name: string;
  /** 6 bytes (all zero until known when macGiven is false). */
  mac: Uint8Array;
  /** False when the line had no `mac`: a live director reads the interface's own; a replay needs it given. */
  macGiven: boolean;
  /** Default 1500. */
  mtu: number;
  mtuGiven: boolean;
  /** Default 'packet' (AF_PACKET). */
  io: LinkIo;
  /** Line of the director file that declared it (0 when built in code). */
  line: number;
}

export interface AddrConfig {
  addr: IpAddress;
  prefixLen: number;
  dev: string;
}

export interface NeighConfig {
  addr: IpAddress;
  mac: Uint8Array;
  dev: string;
}

export interface RouteConfig {
  /** Network address (host bits zero); `default` is 0.0.0.0/0 or ::/0. */
  prefix: IpAddress;
  prefixLen: number;
  /** Gateway; null for an on-link route. */
  via: IpAddress | null;
  dev: string;
}

/**
 * A packet classifier rule (`mark` line): packets matching every given criterion get the mark,
 * as iptables' MARK target gives them to IPVS firewall-mark services. First matching rule wins.
 */
export interface MarkRuleConfig {
  /** 1..2^32-1. */
  mark: number;
  /** Transport protocol number, 0 = any. */
  protocol: number;
  src: { addr: IpAddress; prefixLen: number } | null;
  dst: { addr: IpAddress; prefixLen: number } | null;
  /** Inclusive port ranges, or null for any. */
  sport: [number, number] | null;
  dport: [number, number] | null;
}

export interface DirectorConfig {
  links: LinkConfig[];
  addrs: AddrConfig[];
  neighs: NeighConfig[];
  routes: RouteConfig[];
  /** Packet marks for firewall-mark services, in file order. */
  marks?: MarkRuleConfig[];
  /** `sysctl` lines: the values given (the rest keep the kernel's defaults; src/ipvs/sysctls.ts). */
  sysctls?: Partial<Sysctls>;
}

/** A mistake in a configuration file: where, and why. Loaders throw it before anything is applied. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
    this.name = 'ConfigError';
  }
}
