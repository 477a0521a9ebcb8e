/**
 * The live bench's load: trafgen (netsniff-ng) in the client namespace sending one 64-byte UDP
 * frame over and over to VIP:9000, with a random source port per frame (drnd), pinned to CPU 0
 * (taskset -c 0, --cpus 1). The frame is written byte by byte: fixed Ethernet header (the router's
 * c0 MAC as destination), a fixed IPv4 header whose checksum trafgen computes once (csumip), and
 * a UDP header with checksum 0 (allowed for UDP over IPv4; keeps the generator's per-frame work to
 * the two random bytes).
 *
 * A run is bounded twice: `timeout -s INT` inside the namespace ends trafgen after its time even
 * if the bench dies, and the bench kills the process group if it outlives that by a few seconds.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

/** Frame size as trafgen writes it (no FCS): 14 Ethernet + 20 IPv4 + 8 UDP + 22 payload. */
export const FRAME_BYTES = 64;
const PAYLOAD_BYTES = FRAME_BYTES - 14 - 20 - 8;

function macBytes(mac: string): string {
  const parts = mac.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) throw new Error(`bad MAC address ${mac}`);
  return parts.map((p) => `0x${p.toLowerCase()}`).join(', ');
}

function ipBytes(addr: string): string {
  const parts = addr.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`bad IPv4 address ${addr}`);
  return parts.join(', ');
}

export interface FrameSpec {
  dstMac: string;
  srcMac: string;
  srcIp: string;
  dstIp: string;
  dstPort: number;
}

/** trafgen's packet configuration for the flood frame. */
export function trafgenConfig(f: FrameSpec): string {
  return [
    '# uvs live bench: 64-byte UDP to the VIP, random source port (written by scripts/bench/live-trafgen.ts)',
    '{',
    `  ${macBytes(f.dstMac)},`,
    `  ${macBytes(f.srcMac)},`,
    '  c16(0x0800),',
    `  0x45, 0x00, c16(${20 + 8 + PAYLOAD_BYTES}),`, // version/IHL, TOS, total length
    '  c16(1), 0x40, 0x00,', // id, DF, fragment offset 0
    '  64, 17,', // TTL, UDP
    '  csumip(14, 33),',
    `  ${ipBytes(f.srcIp)},`,
    `  ${ipBytes(f.dstIp)},`,
    '  drnd(2),', // source port: random per frame
    `  c16(${f.dstPort}),`,
    `  c16(${8 + PAYLOAD_BYTES}),`,
    '  c16(0),', // UDP checksum: none
    `  fill(0x41, ${PAYLOAD_BYTES}),`,
    '}',
    '',
  ].join('\n');
}

export interface TrafgenResult {
  /** "N packets outgoing" from trafgen's summary, or null when it printed none. */
  sent: number | null;
  exitCode: number | null;
  output: string;
  /** True when the bench had to kill it (it did not stop on SIGINT in time). */
  killed: boolean;
}

export interface TrafgenRun {
  done: Promise<TrafgenResult>;
}

/** Starts trafgen in ns on eth0 for `seconds`, pinned to `cpu`. */
export function startTrafgen(ns: string, configFile: string, seconds: number, cpu = 0): TrafgenRun {
  if (!fs.existsSync(configFile)) throw new Error(`trafgen configuration ${configFile} is missing`);
  const args = [
    'netns', 'exec', ns,
    'timeout', '-s', 'INT', '-k', '3', seconds.toFixed(2),
    'taskset', '-c', String(cpu),
    'trafgen', '--dev', 'eth0', '--conf', configFile, '--cpus', '1',
    // Leave the host's IRQ affinities alone.
    '--notouch-irq',
  ];
  const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  let killed = false;
  const guard = setTimeout(() => {
    killed = true;
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }, (seconds + 8) * 1000);
  const done = new Promise<TrafgenResult>((resolve) => {
    const finish = (exitCode: number | null): void => {
      clearTimeout(guard);
      const m = /(\d+)\s+packets outgoing/.exec(output);
      resolve({ sent: m ? Number(m[1]) : null, exitCode, output, killed });
    };
    child.on('error', (e) => {
      output += `\n${e.message}`;
      finish(null);
    });
    child.on('close', (code) => finish(code));
  });
  return { done };
}

/** trafgen's version line (`trafgen -v` prints it and exits 1), or null when trafgen cannot be run. */
export function trafgenVersion(): string | null {
  const probe = spawnSync('trafgen', ['-v'], { encoding: 'utf8', timeout: 5000 });
  if (probe.error) return null;
  const line = `${probe.stdout ?? ''}`.split('\n')[0].trim();
  return line === '' ? null : line;
}
