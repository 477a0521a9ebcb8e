/**
 * The TUN-mode test's testbed: a client, a director that owns no NIC of the balanced path (its
 * only uvs link is the TUN device uvs0; the kernel routes between its veth links and uvs0), and
 * two real servers on a bridge in the director's namespace:
 *
 *   client eth0 10.72.1.2 ── eth0 10.72.1.1  director  br0 10.72.3.1 ┬ r1 ── eth0 rs1 10.72.3.11
 *                                            uvs0 (TUN) ↔ kernel     └ r2 ── eth0 rs2 10.72.3.12
 *
 * The real servers route everything through the director (10.72.3.1), hold the VIP on lo
 * (never announced) for IPIP, and run the lab's HTTP/UDP server. The back network has MTU 1600
 * so IPIP packets around full-size client packets fit. The director's namespace starts with
 * ip_forward 0 and `default.rp_filter` 1 (strict), so the TUN device would be created strict:
 * the director itself must turn forwarding on and the device's reverse-path filter off.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { addNamespace, addVeth, nsIp, nsRun, nsSysctl } from '../../src/lab/netns';
import { logTail, pidRunning, startDetached, stopProcesses, type LabProcess } from '../../src/lab/lab-process';
import { sleep } from './e2e-lab';
import { ROOT, UVS } from './lab-cli';

export const VIP = '10.72.100.1';
export const CLIENT = '10.72.1.2';
export const DIRECTOR_FRONT = '10.72.1.1';
export const DIRECTOR_BACK = '10.72.3.1';
export const RS = ['10.72.3.11', '10.72.3.12'];
/** The director's own address on uvs0 (IPIP source); the kernel routes it into uvs0, it owns it not. */
export const TUN_ADDR = '10.72.0.1';
/** A FULLNAT local address: off the real servers' subnet, so they route replies to it through the director. */
export const LADDR = '10.72.5.1';
export const BACK_MTU = 1600;
const RS_SERVER = path.join(ROOT, 'dist/src/lab/rs-server.js');

export interface TunLab {
  client: string;
  director: string;
  rs: string[];
  dir: string;
  procs: LabProcess[];
}

export function buildTunLab(prefix: string, dir: string): TunLab {
  const lab: TunLab = { client: `${prefix}c`, director: `${prefix}d`, rs: [`${prefix}rs1`, `${prefix}rs2`], dir, procs: [] };
  for (const ns of [lab.client, lab.director, ...lab.rs]) {
    addNamespace(ns);
    for (const scope of ['all', 'default']) {
      nsSysctl(ns, `net.ipv6.conf.${scope}.disable_ipv6`, 1);
      nsSysctl(ns, `net.ipv4.conf.${scope}.rp_filter`, 0);
    }
  }
  const d = lab.director;
  addVeth(lab.client, 'eth0', d, 'eth0');
  nsIp(lab.client, 'addr', 'add', `${CLIENT}/24`, 'dev', 'eth0');
  nsIp(lab.client, 'route', 'add', 'default', 'via', DIRECTOR_FRONT);
  nsIp(d, 'addr', 'add', `${DIRECTOR_FRONT}/24`, 'dev', 'eth0');
  nsIp(d, 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0', 'mcast_snooping', '0');
  nsIp(d, 'link', 'set', 'br0', 'mtu', String(BACK_MTU), 'up');
  nsIp(d, 'addr', 'add', `${DIRECTOR_BACK}/24`, 'dev', 'br0');
  lab.rs.forEach((ns, i) => {
    const port = `r${i + 1}`;
    addVeth(d, port, ns, 'eth0');
    nsIp(d, 'link', 'set', port, 'mtu', String(BACK_MTU), 'master', 'br0');
    nsIp(ns, 'link', 'set', 'eth0', 'mtu', String(BACK_MTU));
    nsIp(ns, 'addr', 'add', `${RS[i]}/24`, 'dev', 'eth0');
    nsIp(ns, 'route', 'add', 'default', 'via', DIRECTOR_BACK);
    // For IPIP: the VIP is local (so decapsulated packets are accepted) but never announced.
    nsIp(ns, 'addr', 'add', `${VIP}/32`, 'dev', 'lo');
    for (const scope of ['all', 'eth0']) {
      nsSysctl(ns, `net.ipv4.conf.${scope}.arp_ignore`, 1);
      nsSysctl(ns, `net.ipv4.conf.${scope}.arp_announce`, 2);
    }
  });
  // What the director must fix itself: no forwarding, and devices created from now on strict.
  nsSysctl(d, 'net.ipv4.ip_forward', 0);
  nsSysctl(d, 'net.ipv4.conf.default.rp_filter', 1);
  return lab;
}

/** Starts a process in ns with its output in DIR/role.log, remembered for cleanup. */
export function start(lab: TunLab, role: string, ns: string, args: string[]): LabProcess {
  const p = startDetached(role, ns, process.execPath, args, path.join(lab.dir, `${role}.log`));
  lab.procs.push(p);
  return p;
}

export async function waitUntil(what: string, p: LabProcess | null, ready: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ready()) {
    if (p !== null && !pidRunning(p.pid)) throw new Error(`${p.role} exited while waiting for ${what}:\n${logTail(p.log)}`);
    if (Date.now() > deadline) throw new Error(`no ${what} after ${ms} ms${p === null ? '' : `:\n${logTail(p.log)}`}`);
    await sleep(25);
  }
}

export async function startRealServers(lab: TunLab): Promise<void> {
  for (const [i, ns] of lab.rs.entries()) {
    const p = start(lab, `rs${i + 1}`, ns, [RS_SERVER, '--name', `rs${i + 1}`]);
    await waitUntil(`rs${i + 1} ready`, p, () => fs.readFileSync(p.log, 'utf8').includes(`rs${i + 1} ready`), 10_000);
  }
}

export interface DirectorRun {
  proc: LabProcess;
  socket: string;
}

/** Writes the rules and director files and starts `uvs director` in the director namespace; waits for its socket. */
export async function startDirector(lab: TunLab, name: string, rules: string, directorFile: string): Promise<DirectorRun> {
  const base = path.join(lab.dir, name);
  fs.writeFileSync(`${base}.rules`, rules);
  fs.writeFileSync(`${base}.director`, directorFile);
  const socket = `${base}.sock`;
  const proc = start(lab, `${name}-director`, lab.director, [
    UVS, 'director', '--rules', `${base}.rules`, '--director', `${base}.director`, '--socket', socket, '--state', `${base}.state.json`,
  ]);
  await waitUntil('"director started" in the log', proc, () => fs.readFileSync(proc.log, 'utf8').includes('director started'), 15_000);
  return { proc, socket };
}

/** Sends `sig` and waits (bounded) for the process to end. */
export async function endProcess(p: LabProcess, sig: NodeJS.Signals, ms = 10_000): Promise<void> {
  try {
    process.kill(p.pid, sig);
  } catch {
    return;
  }
  await waitUntil(`the end of ${p.role}`, null, () => !pidRunning(p.pid), ms);
}

export function stopAll(lab: TunLab): void {
  stopProcesses(lab.procs, 3000);
}

/** Waits for a process's exit (it is expected to exit by itself) and returns its log. */
export async function exitLog(p: LabProcess, ms = 15_000): Promise<string> {
  await waitUntil(`the exit of ${p.role}`, null, () => !pidRunning(p.pid), ms);
  return fs.readFileSync(p.log, 'utf8');
}

// ---- what the director namespace's kernel holds ----

export function uvsRules(ns: string): string[] {
  // `ip rule show protocol N` does not filter (iproute2 6.1): pick them by their protocol.
  return (JSON.parse(nsIp(ns, '-j', '-4', 'rule', 'show')) as { src?: string; ipproto?: string; sport?: number; table?: string; protocol?: string }[])
    .filter((r) => r.protocol === '117')
    .map((r) => `from ${r.src} ${r.ipproto ?? ''} ${r.sport ?? ''} lookup ${r.table}`.replace(/ +/g, ' '));
}

export function uvsRoutes(ns: string): string[] {
  return (JSON.parse(nsIp(ns, '-j', '-4', 'route', 'show', 'table', 'all', 'proto', '117')) as { dst: string; dev: string; table?: string }[])
    .map((r) => `${r.dst} dev ${r.dev} table ${r.table ?? 'main'}`)
    .sort();
}

export function hasLink(ns: string, name: string): boolean {
  return (JSON.parse(nsIp(ns, '-j', 'link', 'show')) as { ifname: string }[]).some((l) => l.ifname === name);
}

/** A sysctl of ns (dotted key: net.ipv4.ip_forward). */
export function sysctl(ns: string, key: string): string {
  return nsRun(ns, 'cat', `/proc/sys/${key.replace(/\./g, '/')}`).trim();
}
