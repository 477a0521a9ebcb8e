/**
 * Shared by the director and uvsadm tests: a real `uvs director` process (dist/src/cli/uvs.js)
 * on a temporary Unix socket and state file, requests over the socket, uvsadm runs, and the
 * oracle fixtures (ipvsadm 1.31 through shared/ipvsadm-oracle) read back.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sendRequest } from '../src/control/daemon/control-client';
import type { ControlReply } from '../src/control/daemon/protocol';

export const ROOT = path.resolve(__dirname, '../..');
export const UVS = path.join(ROOT, 'dist/src/cli/uvs.js');
export const UVSADM = path.join(ROOT, 'dist/src/cli/uvsadm.js');
export const FIXTURES = path.join(ROOT, 'test/fixtures');

const made: string[] = [];

/** A temporary directory every user may enter (so only the socket's own mode decides access). */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o755);
  made.push(dir);
  return dir;
}

/** Removes every directory tempDir() made (call in after(), once the directors are gone). */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

export interface LogRecord {
  time: string;
  level: string;
  msg: string;
  [field: string]: unknown;
}

export interface StartOptions {
  dir?: string;
  rules?: string;
  director?: string;
  /** Socket path (default DIR/uvs.sock), given through UVS_SOCKET. */
  socket?: string;
  /** State file (default DIR/rules.state). */
  state?: string;
  group?: string;
  extraArgs?: string[];
  /** Attach to the director file's links (default: --control-only, no packet I/O). */
  live?: boolean;
}

export class Director {
  readonly logs: LogRecord[] = [];
  /** Raw stderr text (every line should be one JSON object). */
  stderr = '';
  exitCode: number | null = null;
  private readonly exited: Promise<number | null>;

  private constructor(
    readonly proc: ChildProcess,
    readonly dir: string,
    readonly socket: string,
    readonly state: string,
    readonly rulesFile: string,
    readonly directorFile: string,
  ) {
    this.exited = new Promise((resolve) => proc.once('exit', (code) => {
      this.exitCode = code;
      resolve(code);
    }));
    let pending = '';
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (chunk: string) => {
      this.stderr += chunk;
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        try {
          this.logs.push(JSON.parse(line) as LogRecord);
        } catch {
          this.logs.push({ time: '', level: 'unparsed', msg: line });
        }
      }
    });
  }

  /** Starts a director and waits for its "director started" log line. */
  static async start(opts: StartOptions = {}): Promise<Director> {
    const dir = opts.dir ?? tempDir('uvs-director-');
    const rulesFile = path.join(dir, 'rules');
    const directorFile = path.join(dir, 'director');
    if (!fs.existsSync(rulesFile) || opts.rules !== undefined) fs.writeFileSync(rulesFile, opts.rules ?? '');
    if (!fs.existsSync(directorFile) || opts.director !== undefined) fs.writeFileSync(directorFile, opts.director ?? '# control plane only\n');
    const socket = opts.socket ?? path.join(dir, 'uvs.sock');
    const state = opts.state ?? path.join(dir, 'rules.state');
    const args = [UVS, 'director', '--rules', rulesFile, '--director', directorFile, '--state', state];
    if (opts.group !== undefined) args.push('--group', opts.group);
    if (opts.live !== true) args.push('--control-only');
    args.push(...(opts.extraArgs ?? []));
    const proc = spawn(process.execPath, args, {
      env: { ...process.env, UVS_SOCKET: socket },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const d = new Director(proc, dir, socket, state, rulesFile, directorFile);
    await d.waitForLog((r) => r.msg === 'director started' || r.msg === 'director failed to start', 15000);
    if (d.exitCode !== null || d.logs.some((r) => r.msg === 'director failed to start')) {
      await d.exited;
      throw new Error(`director failed to start:\n${d.stderr}`);
    }
    return d;
  }

  async waitForLog(match: (r: LogRecord) => boolean, timeoutMs = 10000): Promise<LogRecord> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.logs.find(match);
      if (hit !== undefined) return hit;
      if (this.exitCode !== null) throw new Error(`director exited (${this.exitCode}):\n${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for a log line:\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** One request over the socket (what uvsadm sends). */
  request(argv: string[], stdin?: string): Promise<ControlReply> {
    return sendRequest(this.socket, stdin === undefined ? { argv } : { argv, stdin });
  }

  /** Sends SIGTERM (or `signal`) and waits for the exit status. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.exitCode === null) this.proc.kill(signal);
    return this.exited;
  }

  /** For after(): makes sure the process is gone. */
  async kill(): Promise<void> {
    if (this.exitCode !== null) return;
    this.proc.kill('SIGKILL');
    await this.exited;
  }
}

export interface Run {
  stdout: string;
  stderr: string;
  exitCode: number | null;
}

export interface UvsadmOptions {
  socket: string;
  input?: string;
  /** Run as this user and group (setpriv, supplementary groups cleared). */
  asUser?: { user: string; group: string };
}

/** Runs uvsadm (synchronously) against the director at `socket`. */
export function uvsadm(args: string[], opts: UvsadmOptions): Run {
  const env = { ...process.env, UVS_SOCKET: opts.socket };
  const [cmd, cmdArgs] = opts.asUser === undefined
    ? [process.execPath, [UVSADM, ...args]]
    : ['setpriv', [`--reuid=${opts.asUser.user}`, `--regid=${opts.asUser.group}`, '--clear-groups', process.execPath, UVSADM, ...args]];
  const r = spawnSync(cmd, cmdArgs, { env, input: opts.input ?? '', encoding: 'utf8' });
  if (r.error) throw r.error;
  return { stdout: r.stdout, stderr: r.stderr, exitCode: r.status };
}

/** Runs uvsadm without waiting (for concurrent clients). */
export function uvsadmAsync(args: string[], socket: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [UVSADM, ...args], { env: { ...process.env, UVS_SOCKET: socket } });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    p.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    p.once('error', reject);
    p.once('close', (code) => resolve({ stdout, stderr, exitCode: code }));
  });
}

/** ipvsadm's output as uvsadm prints it: its argv[0] (`ipvsadm`) in usage and try-help lines is `uvsadm`. */
export function asUvsadm(text: string): string {
  return text
    .split("Try `ipvsadm -h' or 'ipvsadm --help'").join("Try `uvsadm -h' or 'uvsadm --help'")
    .replace(/^ {2}ipvsadm /gm, '  uvsadm ');
}

export interface SessionStep {
  argv: string[];
  stdin?: string;
  stdout: string;
  stderr: string;
  exit: number;
}

/** test/fixtures/control-daemon/session.expected: the real ipvsadm's answers, in order. */
export function readSession(): SessionStep[] {
  const text = fs.readFileSync(path.join(FIXTURES, 'control-daemon/session.expected'), 'utf8');
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as SessionStep);
}

export function assertReply(actual: Run | ControlReply, step: SessionStep, label: string): void {
  const exitCode = 'exitCode' in actual ? actual.exitCode : null;
  assert.equal(actual.stderr, asUvsadm(step.stderr), `${label}: stderr`);
  assert.equal(actual.stdout, asUvsadm(step.stdout), `${label}: stdout`);
  assert.equal(exitCode, step.exit, `${label}: exit status`);
}
