/**
 * What the replay benchmark runs on: file locations under .bench/ and the network it models
 * (one VIP, four real servers behind a director). Shared by the generator, the runner and the
 * verification, so that the capture, the rules, the tcprewrite arguments and the checks agree.
 */
import * as path from 'node:path';

/** Bump when anything that changes the generated files changes: cached files are then regenerated. */
export const BENCH_FILES_VERSION = 'replay-bench-v1';

/** Repository root (this file runs from dist/scripts/bench/). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const BENCH_DIR = path.join(REPO_ROOT, '.bench');

export const BENCH_PATHS = {
  manifest: path.join(BENCH_DIR, 'manifest.json'),
  capture: path.join(BENCH_DIR, 'bench.pcap'),
  director: path.join(BENCH_DIR, 'bench.director'),
  drRules: path.join(BENCH_DIR, 'dr.rules'),
  natRules: path.join(BENCH_DIR, 'nat.rules'),
} as const;

export const CAPTURE_SHAPE = {
  packets: 1_000_000,
  flows: 200_000,
  seed: 0x5eed_0003,
  /** Flows start within [0, startSpanUs); their packets follow over a few seconds. */
  startSpanUs: 57_000_000,
  /** Capture start: 2024-01-01T00:00:00Z. */
  epochSeconds: 1_704_067_200,
} as const;

export const VIP = '192.0.2.10';
export const VIP_PORT = 80;
export const NAT_RS_PORT = 8080;

/** The director's own link. */
export const DIRECTOR_MAC = '02:00:00:00:00:01';
export const DIRECTOR_ADDR = '10.0.0.1/24';
/** The default gateway (clients are reached through it). */
export const GATEWAY = { ip: '10.0.0.254', mac: '02:00:00:00:00:fe' } as const;
/** The upstream router that delivers client frames to the director (source MAC of every input frame). */
export const UPSTREAM_ROUTER_MAC = '02:00:00:00:01:fe';

export const REAL_SERVERS = [
  { ip: '10.0.0.11', mac: '02:00:00:00:00:11' },
  { ip: '10.0.0.12', mac: '02:00:00:00:00:12' },
  { ip: '10.0.0.13', mac: '02:00:00:00:00:13' },
  { ip: '10.0.0.14', mac: '02:00:00:00:00:14' },
] as const;

/** Client networks (/24 each): hosts .1 to .254 of each. */
export const CLIENT_NETS = ['198.51.100', '203.0.113'] as const;

export function macBytes(text: string): Uint8Array {
  const parts = text.split(':');
  if (parts.length !== 6) throw new Error(`not a MAC address: ${text}`);
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

export function ipv4Bytes(text: string): Uint8Array {
  const parts = text.split('.');
  if (parts.length !== 4) throw new Error(`not an IPv4 address: ${text}`);
  return Uint8Array.from(parts.map((p) => Number(p)));
}

/** The same 4 bytes as a big-endian unsigned number (for comparisons). */
export function ipv4Number(text: string): number {
  const b = ipv4Bytes(text);
  return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
}
