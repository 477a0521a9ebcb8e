/**
 * For the lab tests: `uvs lab ...` as a child process (dist/src/cli/uvs.js), probes from inside
 * a lab namespace, and the namespace facts the tests check.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listNamespaces, nsIp, nsRun } from '../../src/lab/netns';

export const ROOT = path.resolve(__dirname, '../../..');
export const UVS = path.join(ROOT, 'dist/src/cli/uvs.js');
const PROBE = path.join(__dirname, 'lab-probe.js');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function uvsLab(...args: string[]): CliResult {
  const r = spawnSync(process.execPath, [UVS, 'lab', ...args], { encoding: 'utf8', timeout: 40_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A lab name unique to this run (letters and digits only, as lab names must be). */
export function uniqueLabName(tag: string): string {
  return `${tag}${process.pid.toString(36)}${(Date.now() % 1_000_000).toString(36)}`.replace(/[^A-Za-z0-9_]/g, '');
}

export interface ProbeResult {
  error?: string;
  status?: number;
  body?: string;
  peer?: string | null;
  from?: string;
}

function probe(ns: string, args: string[]): ProbeResult {
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, PROBE, ...args], { encoding: 'utf8', timeout: 10_000 });
  const line = r.stdout.trim();
  if (line === '') return { error: `probe printed nothing (status ${r.status}): ${r.stderr.trim()}` };
  return JSON.parse(line) as ProbeResult;
}

export function httpFrom(ns: string, url: string): ProbeResult {
  return probe(ns, ['http', url]);
}

export function udpFrom(ns: string, host: string, port: number): ProbeResult {
  return probe(ns, ['udp', host, String(port)]);
}

export function namespacesWithPrefix(prefix: string): string[] {
  return listNamespaces().filter((n) => n.startsWith(prefix));
}

export function sysctl(ns: string, key: string): string {
  return nsRun(ns, 'sysctl', '-n', key).trim();
}

/** The IPv4 addresses (ADDR/PLEN) on a link. */
export function linkAddrs(ns: string, dev: string): string[] {
  const out = JSON.parse(nsIp(ns, '-j', '-4', 'addr', 'show', 'dev', dev)) as { addr_info: { local: string; prefixlen: number }[] }[];
  return out.flatMap((l) => l.addr_info.map((a) => `${a.local}/${a.prefixlen}`));
}

/** The gateway of the default route, or null. */
export function defaultGateway(ns: string): string | null {
  const out = JSON.parse(nsIp(ns, '-j', '-4', 'route', 'show', 'default')) as { gateway?: string }[];
  return out[0]?.gateway ?? null;
}

export function routeVia(ns: string, prefix: string): string | null {
  const out = JSON.parse(nsIp(ns, '-j', '-4', 'route', 'show', prefix)) as { gateway?: string }[];
  return out[0]?.gateway ?? null;
}

/** True while the pid exists and is not a zombie. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return !/\) [ZX] /.test(safeRead(`/proc/${pid}/stat`));
}

function safeRead(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
