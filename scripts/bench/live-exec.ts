/**
 * Asynchronous commands for the live bench: counters are read while trafgen runs, so nothing here
 * may block the event loop the way the lab's synchronous set-up does. Every command is bounded in
 * time; a failure rejects with the command line and what it printed.
 */
import { execFile } from 'node:child_process';

const COMMAND_TIMEOUT_MS = 10_000;

/** Runs cmd; resolves with its stdout. */
export function execAsync(cmd: string, args: readonly string[], input?: string, timeoutMs = COMMAND_TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`${cmd} ${args.join(' ')}: ${(stderr || err.message).trim()}`));
        return;
      }
      resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
}

/** Runs cmd inside network namespace ns. */
export function nsExecAsync(ns: string, cmd: string, args: readonly string[], input?: string, timeoutMs?: number): Promise<string> {
  return execAsync('ip', ['netns', 'exec', ns, cmd, ...args], input, timeoutMs);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** Monotonic seconds. */
export function nowSeconds(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}
