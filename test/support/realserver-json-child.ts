/**
 * A child process inside a namespace that talks in JSON lines on stdout (one object a line),
 * for the cap, raw-port and realserver tests: wait for a line that matches, bounded in time;
 * stop it with a signal, bounded in time.
 */
import type { ChildProcess } from 'node:child_process';
import { nsSpawn } from '../../src/lab/netns';

export type JsonLine = Record<string, unknown>;

export class JsonChild {
  readonly lines: JsonLine[] = [];
  /** Lines on stdout that were not JSON, and everything on stderr (for failure messages). */
  other = '';
  exitCode: number | null = null;
  exitSignal: string | null = null;
  private readonly proc: ChildProcess;
  private readonly exited: Promise<void>;
  private waiters: (() => void)[] = [];
  private partial = '';

  constructor(readonly ns: string, script: string, args: readonly string[], nodeFlags: readonly string[] = []) {
    this.proc = nsSpawn(ns, process.execPath, [...nodeFlags, script, ...args]);
    this.proc.stdout?.setEncoding('utf8');
    this.proc.stdout?.on('data', (chunk: string) => this.onData(chunk));
    this.proc.stderr?.setEncoding('utf8');
    this.proc.stderr?.on('data', (chunk: string) => {
      this.other += chunk;
    });
    this.exited = new Promise((resolve) => {
      this.proc.on('close', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        this.wake();
        resolve();
      });
    });
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get running(): boolean {
    return this.exitCode === null && this.exitSignal === null;
  }

  /** The first line (already seen or to come) for which pred holds; rejects after timeoutMs or at exit. */
  async waitFor(pred: (line: JsonLine) => boolean, timeoutMs: number, what: string): Promise<JsonLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find(pred);
      if (found !== undefined) return found;
      if (!this.running) throw new Error(`${what}: child exited (${this.exitCode ?? this.exitSignal}) first; output: ${this.other}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what}: not seen within ${timeoutMs} ms; lines: ${JSON.stringify(this.lines).slice(0, 2000)} other: ${this.other}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Sends a signal and waits (bounded) for the exit; SIGKILL after timeoutMs. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 5000): Promise<void> {
    if (!this.running) return;
    this.proc.kill(signal);
    const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs).unref());
    if ((await Promise.race([this.exited.then(() => 'done' as const), timer])) === 'timeout') {
      this.proc.kill('SIGKILL');
      await this.exited;
    }
  }

  /** Waits (bounded) for the child to exit on its own. */
  async exit(timeoutMs: number): Promise<void> {
    const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs).unref());
    if ((await Promise.race([this.exited.then(() => 'done' as const), timer])) === 'timeout') {
      this.proc.kill('SIGKILL');
      await this.exited;
      throw new Error(`child did not exit within ${timeoutMs} ms; output: ${this.other}`);
    }
  }

  private onData(chunk: string): void {
    this.partial += chunk;
    let nl: number;
    while ((nl = this.partial.indexOf('\n')) >= 0) {
      const line = this.partial.slice(0, nl);
      this.partial = this.partial.slice(nl + 1);
      try {
        const parsed: unknown = JSON.parse(line);
        if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) this.lines.push(parsed as JsonLine);
        else this.other += `${line}\n`;
      } catch {
        this.other += `${line}\n`;
      }
    }
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** Path of a compiled support script next to this one (dist/test/support/NAME.js). */
export function supportScript(name: string): string {
  return `${__dirname}/${name}.js`;
}
