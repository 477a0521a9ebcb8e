/**
 * The lab's address plan (notes/issue6.md), in one place: namespace names, links, addresses,
 * the VIP and its services, and where a lab keeps its files. Every other lab file reads it from
 * here, so the director, the e2e tests and the lab agree on one set of numbers.
 */
import * as path from 'node:path';

export type LabMode = 'dr' | 'nat' | 'tun' | 'fullnat';
export const LAB_MODES: readonly LabMode[] = ['dr', 'nat', 'tun', 'fullnat'];

export const DEFAULT_LAB_NAME = 'uvs';
export const DEFAULT_RS_COUNT = 2;
/** Real servers are 10.71.3.11 .. 10.71.3.(10+N); the local addresses start at .100. */
export const MAX_RS_COUNT = 8;
export const DEFAULT_SCHEDULER = 'wlc';
/** Where labs keep their files: DIR = LAB_ROOT/<name>. */
export const LAB_ROOT = '/run/uvs-lab';

export const VIP = '10.71.100.1';
export const HTTP_PORT = 80;
/** NAT and FULLNAT map VIP:80 to this port on the real servers (showing port mapping). */
export const MAPPED_HTTP_PORT = 8080;
export const IPERF_PORT = 5201;
export const UDP_PORT = 9000;

export const CLIENT_ADDR = '10.71.1.2';
export const ROUTER_CLIENT_ADDR = '10.71.1.1';
export const ROUTER_FRONT_ADDR = '10.71.2.1';
export const DIRECTOR_FRONT_ADDR = '10.71.2.2';
export const ROUTER_BACK_ADDR = '10.71.3.1';
export const DIRECTOR_BACK_ADDR = '10.71.3.2';
export const PREFIX_LEN = 24;
/** FULLNAT local addresses, on the director's eth1. */
export const FULLNAT_LADDRS: readonly string[] = ['10.71.3.100', '10.71.3.101'];

/** A lab name becomes part of namespace names; no `-`, so one lab's prefix never matches another's names. */
export const LAB_NAME_PATTERN = /^[A-Za-z0-9_]{1,24}$/;

export interface LabNamespaces {
  client: string;
  router: string;
  director: string;
  /** Holds the bridge br0 joining the director's back link, the router's and the real servers. */
  switch: string;
  realServers: string[];
}

export interface RealServerPlan {
  /** rs1 .. rsN: also the body of every answer it gives. */
  name: string;
  namespace: string;
  address: string;
  /** The port VIP:80 reaches on it (8080 in NAT and FULLNAT, else 80). */
  port: number;
}

/** One virtual service of the lab: its protocol, VIP port and the port on the real servers. */
export interface LabService {
  protocol: 'tcp' | 'udp';
  port: number;
  rsPort: number;
  /** Persistence timeout in seconds (-p), 0 for none. */
  persistence: number;
}

/**
 * iperf3 opens a control and a data connection and needs both on one server: the lab's iperf3
 * service is persistent, as on any LVS that balances iperf3.
 */
export const IPERF_PERSISTENCE = 300;

export interface LabSpec {
  name: string;
  mode: LabMode;
  scheduler: string;
  rsCount: number;
  /** Namespace prefix: uvslab-<name>-. */
  prefix: string;
  dir: string;
  namespaces: LabNamespaces;
  realServers: RealServerPlan[];
  services: LabService[];
}

export function labPrefix(name: string): string {
  return `uvslab-${name}-`;
}

export function labDir(name: string): string {
  return path.join(LAB_ROOT, name);
}

export function rsAddress(index: number): string {
  return `10.71.3.${10 + index}`;
}

export function rsHttpPort(mode: LabMode): number {
  return mode === 'nat' || mode === 'fullnat' ? MAPPED_HTTP_PORT : HTTP_PORT;
}

export function labServices(mode: LabMode): LabService[] {
  return [
    { protocol: 'tcp', port: HTTP_PORT, rsPort: rsHttpPort(mode), persistence: 0 },
    { protocol: 'tcp', port: IPERF_PORT, rsPort: IPERF_PORT, persistence: IPERF_PERSISTENCE },
    { protocol: 'udp', port: UDP_PORT, rsPort: UDP_PORT, persistence: 0 },
  ];
}

export function labSpec(name: string, mode: LabMode, rsCount: number, scheduler: string): LabSpec {
  const prefix = labPrefix(name);
  const realServers: RealServerPlan[] = [];
  for (let i = 1; i <= rsCount; i++) {
    realServers.push({ name: `rs${i}`, namespace: `${prefix}rs${i}`, address: rsAddress(i), port: rsHttpPort(mode) });
  }
  return {
    name,
    mode,
    scheduler,
    rsCount,
    prefix,
    dir: labDir(name),
    namespaces: {
      client: `${prefix}client`,
      router: `${prefix}router`,
      director: `${prefix}director`,
      switch: `${prefix}switch`,
      realServers: realServers.map((r) => r.namespace),
    },
    realServers,
    services: labServices(mode),
  };
}

/** Every namespace of the lab, in the order they are made. */
export function allNamespaces(spec: LabSpec): string[] {
  const n = spec.namespaces;
  return [n.client, n.router, n.director, n.switch, ...n.realServers];
}

/** Files inside DIR. */
export const LAB_FILES = {
  rules: 'rules',
  director: 'director',
  state: 'state.json',
  lab: 'lab.json',
  socket: 'uvs.sock',
  directorLog: 'director.log',
} as const;

export function labFile(spec: { dir: string }, file: keyof typeof LAB_FILES): string {
  return path.join(spec.dir, LAB_FILES[file]);
}
