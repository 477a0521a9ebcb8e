/**
 * Runs one program as a child process and times it whole: from just before spawn to the moment the
 * process has exited and its pipes are closed (its output file written). Nothing else is timed.
 */
import { spawn } from 'node:child_process';

export interface TimedRun {
  seconds: number;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  /** Set when the program could not be started at all. */
  spawnError: string | null;
}

/** Keep at most this much of a child's stdout/stderr (enough for an error message or a small JSON). */
const OUTPUT_LIMIT = 64 * 1024;

export function runTimed(command: string, args: readonly string[], cwd: string, timeoutMs: number): Promise<TimedRun> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let spawnError: string | null = null;
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      if (stdout.length < OUTPUT_LIMIT) stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < OUTPUT_LIMIT) stderr += chunk.toString('utf8');
    });
    child.on('error', (err) => {
      spawnError = err.message;
    });
    child.on('close', (exitCode, signal) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      clearTimeout(timer);
      resolve({ seconds, exitCode, signal, timedOut, stdout, stderr, spawnError });
    });
  });
}

/** One line saying why a run failed, or null if it succeeded. */
export function failureOf(run: TimedRun): string | null {
  if (run.spawnError) return `could not start: ${run.spawnError}`;
  if (run.timedOut) return `killed after the time limit (${run.seconds.toFixed(1)} s)`;
  if (run.exitCode !== 0) {
    // Node's uncaught-exception output starts with a source location; the line naming the error says more.
    const lines = run.stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '');
    const line = lines.find((l) => /^(\w*Error\b|error\b)/i.test(l)) ?? lines[0] ?? '';
    return `exit ${run.exitCode ?? run.signal}${line ? `: ${line.slice(0, 160)}` : ''}`;
  }
  return null;
}
