/**
 * The four paths the live bench compares, each in its own lab (src/lab, the same address plan):
 *
 *   uvs NAT      `lab up --mode nat`, the uvs director on AF_PACKET, scheduler rr
 *   uvs DR       `lab up --mode dr`, the uvs director on AF_PACKET, scheduler rr
 *   nft DNAT     `lab up --mode nat --no-director`, then in the director namespace an nftables
 *                prerouting DNAT `numgen inc mod N` over the real servers (the same balancing,
 *                done by the director's kernel with conntrack; replies come back through it
 *                because NAT real servers route via the director)
 *   kernel fwd   `lab up --mode dr --no-director`, then the director namespace routes the VIP to
 *                rs1 (`ip route add VIP/32 via rs1`): the director's kernel forwarding, no NAT,
 *                no balancing; rs1 accepts the VIP as a DR real server does
 *
 * Labs are brought up with the src/lab functions (names unique to this process) and always
 * brought down by the caller (tearDownLabs), also after a failure.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { labDown } from '../../src/lab/lab-down';
import { ROUTER_CLIENT_ADDR, UDP_PORT, VIP, type LabMode } from '../../src/lab/lab-plan';
import { labStatus, type LabStatusJson } from '../../src/lab/lab-status';
import { labUp } from '../../src/lab/lab-up';
import { linkMac, nsIp, run } from '../../src/lab/netns';
import { BENCH_DIR } from './bench-setup';
import { RS_DROP_TABLE } from './live-counters';
import { nsExecAsync } from './live-exec';
import { trafgenConfig } from './live-trafgen';

export type VariantKey = 'uvs-nat' | 'uvs-dr' | 'nft-dnat' | 'kernel-fwd';

export interface VariantDef {
  key: VariantKey;
  label: string;
  mode: LabMode;
  uvs: boolean;
  /** How the director namespace forwards, for the printed conditions. */
  how: string;
}

export const VARIANTS: readonly VariantDef[] = [
  { key: 'uvs-nat', label: 'uvs NAT', mode: 'nat', uvs: true, how: 'uvs director (AF_PACKET TPACKET_V3), -m, rr' },
  { key: 'uvs-dr', label: 'uvs DR', mode: 'dr', uvs: true, how: 'uvs director (AF_PACKET TPACKET_V3), -g, rr' },
  { key: 'nft-dnat', label: 'nftables DNAT', mode: 'nat', uvs: false, how: 'kernel: nft prerouting dnat numgen inc mod N, conntrack' },
  { key: 'kernel-fwd', label: 'kernel forwarding', mode: 'dr', uvs: false, how: 'kernel: ip route VIP/32 via rs1, no NAT' },
];

/** The scheduler of the uvs labs: round robin, as `numgen inc` balances. */
export const UVS_SCHEDULER = 'rr';
const NFT_TABLE = 'uvsbench_dnat';

export interface BenchLab {
  variant: VariantDef;
  name: string;
  status: LabStatusJson;
  directorPid: number | null;
  trafgenConf: string;
}

/** A lab name for this variant, unique to this process (letters, digits and _ only). */
export function benchLabName(variant: VariantDef): string {
  return `lb${process.pid.toString(36)}_${variant.key.replace('-', '').slice(0, 6)}`;
}

/** The nftables DNAT the nft variant adds in the director namespace. */
export function nftDnatScript(rsAddresses: readonly string[]): string {
  const map = rsAddresses.map((a, i) => `${i} : ${a}`).join(', ');
  return [
    `table ip ${NFT_TABLE} {`,
    '  chain pre {',
    '    type nat hook prerouting priority dstnat; policy accept;',
    `    ip daddr ${VIP} udp dport ${UDP_PORT} dnat to numgen inc mod ${rsAddresses.length} map { ${map} }`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** Brings a lab up for the variant and adds what the kernel peers need. Throws when it cannot. */
export function bringUpLab(variant: VariantDef, rsCount: number): BenchLab {
  const name = benchLabName(variant);
  labUp({ name, mode: variant.mode, rsCount, scheduler: UVS_SCHEDULER, director: variant.uvs });
  const status = labStatus(name).json;
  const ns = status.namespaces;
  if (variant.key === 'nft-dnat') {
    run('ip', ['netns', 'exec', ns.director, 'nft', '-f', '-'], nftDnatScript(status.realServers.map((r) => r.address)));
  } else if (variant.key === 'kernel-fwd') {
    nsIp(ns.director, 'route', 'add', `${VIP}/32`, 'via', status.realServers[0].address, 'dev', 'eth1');
  }
  if (variant.uvs && (status.director.pid === null || !status.director.alive)) {
    throw new Error(`the uvs director of lab ${name} is not running (see ${status.director.log})`);
  }
  fs.mkdirSync(BENCH_DIR, { recursive: true });
  const trafgenConf = path.join(BENCH_DIR, `live-${variant.key}.trafgen`);
  fs.writeFileSync(
    trafgenConf,
    trafgenConfig({
      dstMac: linkMac(ns.router, 'c0'),
      srcMac: linkMac(ns.client, 'eth0'),
      srcIp: clientAddress(status),
      dstIp: VIP,
      dstPort: UDP_PORT,
    }),
  );
  return { variant, name, status, directorPid: variant.uvs ? status.director.pid : null, trafgenConf };
}

/** The client's address (the lab plan's; read from the namespace so a changed plan still works). */
function clientAddress(status: LabStatusJson): string {
  const out = nsIp(status.clientNamespace, '-4', '-j', 'addr', 'show', 'dev', 'eth0');
  const parsed = JSON.parse(out) as { addr_info?: { local?: string }[] }[];
  const local = parsed[0]?.addr_info?.[0]?.local;
  if (local === undefined) throw new Error(`the client of lab ${status.name} has no IPv4 address (router side ${ROUTER_CLIENT_ADDR})`);
  return local;
}

/** On every real server: an ingress rule that counts and drops the flood (the stacks never see it). */
export async function installRsDrop(lab: BenchLab): Promise<void> {
  const script = [
    `table netdev ${RS_DROP_TABLE} {`,
    '  chain rsin {',
    '    type filter hook ingress device "eth0" priority -500; policy accept;',
    `    udp dport ${UDP_PORT} counter drop`,
    '  }',
    '}',
    '',
  ].join('\n');
  await Promise.all(lab.status.realServers.map((rs) => nsExecAsync(rs.namespace, 'nft', ['-f', '-'], script)));
}

/** Removes every lab of this process that exists. Never throws; returns what it could not remove. */
export function tearDownLabs(names: readonly string[]): string[] {
  const problems: string[] = [];
  for (const name of names) {
    try {
      labDown(name, 3000);
    } catch (e) {
      problems.push(`${name}: ${(e as Error).message}`);
    }
  }
  return problems;
}

const SINK_TABLE = 'uvsbench_sink';

/**
 * For the "generator alone" row: the router drops the flood at c0's ingress, so the frames cost
 * only the generator and one veth hop (its ceiling on this machine, with nothing forwarding).
 */
export async function setGeneratorSink(lab: BenchLab, on: boolean): Promise<void> {
  const ns = lab.status.namespaces.router;
  const script = on
    ? [
        `table netdev ${SINK_TABLE} {`,
        '  chain sink {',
        '    type filter hook ingress device "c0" priority -500; policy accept;',
        `    udp dport ${UDP_PORT} counter drop`,
        '  }',
        '}',
        '',
      ].join('\n')
    : `table netdev ${SINK_TABLE} {}\ndelete table netdev ${SINK_TABLE}\n`;
  await nsExecAsync(ns, 'nft', ['-f', '-'], script);
}

/** One link's counters as the uvs director logs them when it stops. */
export interface DirectorLinkStats {
  name: string;
  rxFrames: number;
  /** Ring drops (PACKET_STATISTICS tp_drops). */
  rxDropped: number;
  /** Times the TPACKET_V3 queue froze (tp_freeze_q_cnt), when the port reports it. */
  rxFreezes: number | null;
  txFrames: number;
  txDropped: number;
}

interface StoppedLine {
  msg?: string;
  live?: { ports?: { name?: string; stats?: Partial<Record<string, number>> }[] };
}

/**
 * Stops the lab's uvs director (SIGTERM to the pid the lab recorded) and reads the per-link
 * counters its "director stopped" log line carries: the ring drops as the kernel counted them,
 * over the lab's whole life. Null when it has no director or the line does not come (or has none).
 */
export async function stopDirectorForStats(lab: BenchLab, waitMs = 5000): Promise<DirectorLinkStats[] | null> {
  if (lab.directorPid === null) return null;
  try {
    process.kill(lab.directorPid, 'SIGTERM');
  } catch {
    return null;
  }
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    let text = '';
    try {
      text = fs.readFileSync(lab.status.director.log, 'utf8');
    } catch {
      return null;
    }
    const line = text.split('\n').find((l) => l.includes('"msg":"director stopped"'));
    if (line === undefined) continue;
    try {
      const ports = (JSON.parse(line) as StoppedLine).live?.ports;
      if (ports === undefined) return null;
      return ports.map((p) => ({
        name: p.name ?? '?',
        rxFrames: p.stats?.rxFrames ?? 0,
        rxDropped: p.stats?.rxDropped ?? 0,
        rxFreezes: p.stats?.rxFreezes ?? null,
        txFrames: p.stats?.txFrames ?? 0,
        txDropped: p.stats?.txDropped ?? 0,
      }));
    } catch {
      return null;
    }
  }
  return null;
}
