/**
 * What the live bench counts, and where:
 * - at the real servers: the packets counter of an nftables netdev ingress rule that counts and
 *   drops the flood (rs-ingress table, live-labs.ts), so their stacks never answer;
 * - the generator's side and the director's front link: veth packet counters (ip -s -j link);
 * - uvs's own view: the UDP service's InPkts from `uvsadm -L -n --stats --exact`;
 * - CPU: /proc/stat (every core) and /proc/PID/stat of the director process (utime + stime).
 */
import * as fs from 'node:fs';
import { execAsync, nowSeconds, nsExecAsync } from './live-exec';

/** USER_HZ: the unit of /proc/stat and /proc/PID/stat times (100 on every Linux we run on). */
export const CLOCK_TICKS_PER_SECOND = 100;

/** The table the bench puts on each real server's eth0 ingress (counts and drops the flood). */
export const RS_DROP_TABLE = 'uvsbench_rs';

interface NftJson {
  nftables?: { rule?: { expr?: { counter?: { packets?: number } }[] } }[];
}

/** The packets counted by the rs-ingress rule of one real server. */
export async function rsIngressCount(ns: string): Promise<number> {
  const out = await nsExecAsync(ns, 'nft', ['-j', 'list', 'table', 'netdev', RS_DROP_TABLE]);
  const parsed = JSON.parse(out) as NftJson;
  let packets = 0;
  for (const item of parsed.nftables ?? []) {
    for (const e of item.rule?.expr ?? []) packets += e.counter?.packets ?? 0;
  }
  return packets;
}

export interface LinkCounters {
  rxPackets: number;
  txPackets: number;
  rxDropped: number;
  txDropped: number;
}

interface IpLinkJson {
  stats64?: {
    rx?: { packets?: number; dropped?: number };
    tx?: { packets?: number; dropped?: number };
  };
}

export async function linkCounters(ns: string, dev: string): Promise<LinkCounters> {
  const out = await execAsync('ip', ['-n', ns, '-s', '-j', 'link', 'show', dev]);
  const s = (JSON.parse(out) as IpLinkJson[])[0]?.stats64;
  if (s === undefined) throw new Error(`ip -n ${ns} -s link show ${dev}: no statistics`);
  return {
    rxPackets: s.rx?.packets ?? 0,
    txPackets: s.tx?.packets ?? 0,
    rxDropped: s.rx?.dropped ?? 0,
    txDropped: s.tx?.dropped ?? 0,
  };
}

/** CPU time in ticks, summed over every core. */
export interface CpuTicks {
  /** user + nice + system + irq + softirq + steal (not idle, not iowait). */
  busy: number;
  softirq: number;
  /** busy per core, cpu0 first. */
  perCore: number[];
}

export function readCpuTicks(): CpuTicks {
  const lines = fs.readFileSync('/proc/stat', 'utf8').split('\n');
  const busyOf = (line: string): { busy: number; softirq: number } => {
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = f;
    return { busy: user + nice + system + irq + softirq + (steal ?? 0), softirq };
  };
  const all = busyOf(lines[0]);
  const perCore = lines.filter((l) => /^cpu\d+ /.test(l)).map((l) => busyOf(l).busy);
  return { busy: all.busy, softirq: all.softirq, perCore };
}

/** utime + stime of a process in ticks, or null when it is gone. */
export function processTicks(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[11]) + Number(rest[12]);
  } catch {
    return null;
  }
}

/** InPkts of service `udp vip:port` as the uvs director counts it, or null when it cannot be asked. */
export async function uvsServiceInPackets(uvsadmJs: string, socket: string, vip: string, port: number): Promise<number | null> {
  try {
    // uvsadm finds the director through UVS_SOCKET.
    const out = await execAsync('env', [`UVS_SOCKET=${socket}`, process.execPath, uvsadmJs, '-L', '-n', '--stats', '--exact']);
    const line = out.split('\n').find((l) => l.startsWith('UDP') && l.includes(`${vip}:${port}`));
    if (line === undefined) return null;
    const fields = line.trim().split(/\s+/);
    // Prot LocalAddress:Port Conns InPkts OutPkts InBytes OutBytes
    const n = Number(fields[3]);
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

/** Counters read together at one moment of a run. */
export interface Snapshot {
  /** Monotonic seconds: the middle of the asynchronous reads. */
  at: number;
  rsPackets: number;
  clientTx: number;
  directorRx: number;
  cpu: CpuTicks;
  directorTicks: number | null;
}

export interface SnapshotPlace {
  rsNamespaces: readonly string[];
  clientNamespace: string;
  directorNamespace: string;
  directorPid: number | null;
}

export async function snapshot(p: SnapshotPlace): Promise<Snapshot> {
  const start = nowSeconds();
  const cpu = readCpuTicks();
  const directorTicks = p.directorPid === null ? null : processTicks(p.directorPid);
  const [rs, client, director] = await Promise.all([
    Promise.all(p.rsNamespaces.map(rsIngressCount)),
    linkCounters(p.clientNamespace, 'eth0'),
    linkCounters(p.directorNamespace, 'eth0'),
  ]);
  const end = nowSeconds();
  return {
    at: (start + end) / 2,
    rsPackets: rs.reduce((a, b) => a + b, 0),
    clientTx: client.txPackets,
    directorRx: director.rxPackets,
    cpu,
    directorTicks,
  };
}
