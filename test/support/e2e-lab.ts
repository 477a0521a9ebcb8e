/**
 * What the lab end-to-end tests share: bringing a lab up and down through the `uvs lab` command,
 * running the e2e client in the client namespace, uvsadm against the lab's director, and packet
 * captures (tcpdump) on the lab's links, all bounded in time.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CaptureReader } from '../../src/pcap/capture-reader';
import { ROOT, UVS } from './lab-cli';

export const E2E_CLIENT = path.join(ROOT, 'dist/src/lab/traffic-client.js');
const UVSADM = path.join(ROOT, 'dist/src/cli/uvsadm.js');

export interface LabStatus {
  name: string;
  mode: string;
  dir: string;
  clientNamespace: string;
  vip: string;
  port: number;
  udpPort: number;
  iperfPort: number;
  socket: string;
  namespaces: { client: string; router: string; director: string; switch: string; realServers: string[] };
  realServers: { name: string; namespace: string; address: string; port: number }[];
}

export function uvsCli(...args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [UVS, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function labUp(name: string, mode: string, rs: number, scheduler: string, ...extra: string[]): LabStatus {
  const up = uvsCli('lab', 'up', '--name', name, '--mode', mode, '--rs', String(rs), '--scheduler', scheduler, ...extra);
  if (up.status !== 0) throw new Error(`uvs lab up failed (${up.status}):\n${up.stderr}${up.stdout}`);
  const st = uvsCli('lab', 'status', '--name', name, '--json');
  if (st.status !== 0) throw new Error(`uvs lab status failed:\n${st.stderr}`);
  return JSON.parse(st.stdout) as LabStatus;
}

export function labDown(name: string): void {
  uvsCli('lab', 'down', '--name', name);
}

/** Runs the e2e client in ns; returns its last JSON line. */
export function client<T>(ns: string, ...args: string[]): T {
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, E2E_CLIENT, ...args], { encoding: 'utf8', timeout: 120_000 });
  const lines = (r.stdout ?? '').trim().split('\n').filter((l) => l.length > 0);
  if (lines.length === 0) throw new Error(`e2e client ${args.join(' ')} printed nothing (status ${r.status}):\n${r.stderr}`);
  return JSON.parse(lines[lines.length - 1]) as T;
}

/** The e2e client started in the background; its JSON lines as they come. */
export class BackgroundClient {
  readonly lines: unknown[] = [];
  private pending = '';
  readonly proc: ChildProcess;
  private readonly exited: Promise<void>;

  constructor(ns: string, ...args: string[]) {
    this.proc = spawn('ip', ['netns', 'exec', ns, process.execPath, E2E_CLIENT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout?.setEncoding('utf8');
    this.proc.stdout?.on('data', (c: string) => {
      this.pending += c;
      let nl: number;
      while ((nl = this.pending.indexOf('\n')) >= 0) {
        this.lines.push(JSON.parse(this.pending.slice(0, nl)));
        this.pending = this.pending.slice(nl + 1);
      }
    });
    this.exited = new Promise((resolve) => this.proc.once('exit', () => resolve()));
  }

  async waitForLines(n: number, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.lines.length < n) {
      if (Date.now() > deadline) throw new Error(`e2e client: ${this.lines.length} of ${n} lines after ${ms} ms`);
      await sleep(20);
    }
  }

  async done(ms: number): Promise<void> {
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), ms);
    await this.exited;
    clearTimeout(timer);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function uvsadm(socket: string, ...args: string[]): string {
  const r = spawnSync(process.execPath, [UVSADM, ...args], { encoding: 'utf8', env: { ...process.env, UVS_SOCKET: socket }, timeout: 10_000 });
  if (r.status !== 0) throw new Error(`uvsadm ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** tcpdump on one link of one namespace, inbound frames only, written to a pcap as they come. */
export class Capture {
  private readonly proc: ChildProcess;
  private stderr = '';
  private readonly exited: Promise<void>;

  private constructor(readonly file: string, ns: string, dev: string) {
    this.proc = spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-i', dev, '-Q', 'in', '--immediate-mode', '-U', '-n', '-s', '0', '-w', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc.stderr?.setEncoding('utf8');
    this.proc.stderr?.on('data', (c: string) => (this.stderr += c));
    this.exited = new Promise((resolve) => this.proc.once('exit', () => resolve()));
  }

  /** Starts tcpdump and waits until it listens. */
  static async start(file: string, ns: string, dev: string): Promise<Capture> {
    const c = new Capture(file, ns, dev);
    const deadline = Date.now() + 10_000;
    while (!/listening on/.test(c.stderr)) {
      if (Date.now() > deadline || c.proc.exitCode !== null) throw new Error(`tcpdump on ${ns}/${dev} did not start:\n${c.stderr}`);
      await sleep(20);
    }
    return c;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null) this.proc.kill('SIGINT');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Every frame of a capture file (pcap or pcapng), copied. */
export function readFrames(file: string): Uint8Array[] {
  const r = CaptureReader.open(file);
  const out: Uint8Array[] = [];
  try {
    while (r.next()) out.push(r.copyPacket());
  } finally {
    r.close();
  }
  return out;
}

export function macOf(frame: Uint8Array, at: 0 | 6): string {
  return [...frame.subarray(at, at + 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export function isIpv4(frame: Uint8Array): boolean {
  return frame.length >= 34 && frame[12] === 0x08 && frame[13] === 0x00;
}

export function tempDir(tag: string): string {
  return fs.mkdtempSync(path.join('/tmp', `uvs-${tag}-`));
}
