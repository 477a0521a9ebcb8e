/**
 * The programs the replay bench times, with their exact command lines, where their output goes and
 * what a correct output looks like. uvs runs DR and NAT with per-flow balancing; tcprewrite does the
 * nearest rewrite it can (it has no per-flow balancing); bare-loop is the plainest JavaScript doing the
 * uvs rows' rewrite with nothing else (the ceiling for a JavaScript engine here); pcap-parser only reads.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  BENCH_DIR,
  BENCH_PATHS,
  DIRECTOR_MAC,
  NAT_RS_PORT,
  REAL_SERVERS,
  REPO_ROOT,
  UPSTREAM_ROUTER_MAC,
  VIP,
  VIP_PORT,
} from './bench-setup';
import type { OutputExpectation } from './pcap-check';

export type Mode = 'DR' | 'NAT' | 'read';

export interface Program {
  name: 'uvs' | 'tcprewrite' | 'bare-loop' | 'pcap-parser';
  mode: Mode;
  command: string;
  args: string[];
  /** Output capture to check, or null (pcap-parser writes none). */
  output: string | null;
  /** uvs only: the --summary-json file. */
  summary: string | null;
  expect: OutputExpectation | null;
  /** Why this program cannot run here, or null. */
  unavailable: string | null;
  /** What the program does to the frames, for the table's notes. */
  note: string;
}

export const DEFAULT_UVS_JS = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'uvs.js');
const PCAP_PARSER_JS = path.join(__dirname, 'pcap-parser-read.js');
const BARE_LOOP_JS = path.join(__dirname, 'bare-loop.js');

/** The bench's programs in the order each round runs them (peers next to the uvs run of the same mode). */
export function benchPrograms(uvsJs: string, tcprewrite: string | null): Program[] {
  const uvsUnavailable = fs.existsSync(uvsJs) ? null : `not built (${path.relative(REPO_ROOT, uvsJs)} missing)`;
  const tcprewriteUnavailable = tcprewrite ? null : 'tcprewrite not installed';
  const out = (name: string): string => path.join(BENCH_DIR, name);
  const rs = REAL_SERVERS[0];
  const balanced = (mode: 'DR' | 'NAT'): OutputExpectation => ({
    srcMac: DIRECTOR_MAC,
    destinations: REAL_SERVERS.map((r) => ({
      label: r.ip,
      mac: r.mac,
      ip: mode === 'DR' ? VIP : r.ip,
      port: mode === 'DR' ? VIP_PORT : NAT_RS_PORT,
    })),
    ttl: 63,
  });
  const bareLoop = (mode: 'DR' | 'NAT'): Program => ({
    name: 'bare-loop',
    mode,
    command: process.execPath,
    args: [BARE_LOOP_JS, mode.toLowerCase(), BENCH_PATHS.capture, out(`bare-loop-${mode.toLowerCase()}.pcap`)],
    output: out(`bare-loop-${mode.toLowerCase()}.pcap`),
    summary: null,
    expect: balanced(mode),
    unavailable: fs.existsSync(BARE_LOOP_JS) ? null : 'not built',
    note: 'one loop, flow table, rr, incremental csums; no validation, states, timers or counters',
  });
  const uvs = (mode: 'DR' | 'NAT'): Program => {
    const tag = mode.toLowerCase();
    return {
      name: 'uvs',
      mode,
      command: process.execPath,
      args: [
        uvsJs,
        'replay',
        BENCH_PATHS.capture,
        '-o',
        out(`out-${tag}.pcap`),
        '--rules',
        mode === 'DR' ? BENCH_PATHS.drRules : BENCH_PATHS.natRules,
        '--director',
        BENCH_PATHS.director,
        '--summary-json',
        out(`summary-${tag}.json`),
      ],
      output: out(`out-${tag}.pcap`),
      summary: out(`summary-${tag}.json`),
      expect: balanced(mode),
      unavailable: uvsUnavailable,
      note:
        mode === 'DR'
          ? 'per-flow rr over 4 RS; MACs, TTL-1, IP csum'
          : 'per-flow rr over 4 RS; dst IP:port, TTL-1, incremental csums',
    };
  };
  return [
    uvs('DR'),
    {
      name: 'tcprewrite',
      mode: 'DR',
      command: 'tcprewrite',
      args: [`--enet-dmac=${rs.mac}`, `--enet-smac=${DIRECTOR_MAC}`, '-i', BENCH_PATHS.capture, '-o', out('tcprewrite-dr.pcap')],
      output: out('tcprewrite-dr.pcap'),
      summary: null,
      expect: { srcMac: DIRECTOR_MAC, destinations: [{ label: rs.ip, mac: rs.mac, ip: VIP, port: VIP_PORT }], ttl: 64 },
      unavailable: tcprewriteUnavailable,
      note: 'all frames to 1 RS (no per-flow balancing); MACs only',
    },
    bareLoop('DR'),
    uvs('NAT'),
    {
      name: 'tcprewrite',
      mode: 'NAT',
      command: 'tcprewrite',
      args: [
        `--dstipmap=${VIP}/32:${rs.ip}/32`,
        `--portmap=${VIP_PORT}:${NAT_RS_PORT}`,
        '--fixcsum',
        '-i',
        BENCH_PATHS.capture,
        '-o',
        out('tcprewrite-nat.pcap'),
      ],
      output: out('tcprewrite-nat.pcap'),
      summary: null,
      // No MAC rewrite asked: frames keep the input's Ethernet header.
      expect: {
        srcMac: UPSTREAM_ROUTER_MAC,
        destinations: [{ label: rs.ip, mac: DIRECTOR_MAC, ip: rs.ip, port: NAT_RS_PORT }],
        ttl: 64,
      },
      unavailable: tcprewriteUnavailable,
      note: 'all to 1 RS (no balancing); full csum recompute; MACs kept',
    },
    bareLoop('NAT'),
    {
      name: 'pcap-parser',
      mode: 'read',
      command: process.execPath,
      args: ['--no-deprecation', PCAP_PARSER_JS, BENCH_PATHS.capture],
      output: null,
      summary: null,
      expect: null,
      unavailable: fs.existsSync(path.join(REPO_ROOT, 'node_modules', 'pcap-parser')) ? null : 'npm package pcap-parser not installed',
      note: 'reads and counts only',
    },
  ];
}
