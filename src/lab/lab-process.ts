/**
 * The lab's long-running processes: started detached inside a namespace with their output in a
 * log file (so they outlive `uvs lab up`), recognised later by pid AND namespace (a recycled pid
 * in another namespace is not ours), and stopped with SIGTERM, then SIGKILL after a bound.
 */
import * as fs from 'node:fs';
import { nsSpawn, NetnsError } from './netns';

/** One process the lab started, as lab.json records it. */
export interface LabProcess {
  /** What it is: director, rs1-http, rs1-iperf3, rs1-decap. */
  role: string;
  namespace: string;
  pid: number;
  log: string;
}

/** Sleeps without an event loop (set-up is synchronous). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Starts `cmd args` inside ns, detached, stdout and stderr appended to log; returns its pid. */
export function startDetached(role: string, ns: string, cmd: string, args: readonly string[], log: string): LabProcess {
  const fd = fs.openSync(log, 'a');
  try {
    // `ip netns exec` execs the command in place, so the child's pid is the command's pid.
    const child = nsSpawn(ns, cmd, args, { detached: true, stdio: ['ignore', fd, fd] });
    if (child.pid === undefined) throw new NetnsError(`cannot start ${role} (${cmd}) in ${ns}`);
    child.unref();
    return { role, namespace: ns, pid: child.pid, log };
  } finally {
    fs.closeSync(fd);
  }
}

/** The inode of a namespace's nsfs file, or null when the namespace is gone. */
function namespaceInode(ns: string): number | null {
  try {
    return fs.statSync(`/run/netns/${ns}`).ino;
  } catch {
    return null;
  }
}

/** True while pid exists and is not a zombie. */
export function pidRunning(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** True while pid runs inside namespace ns (a recycled pid elsewhere is not the lab's). */
export function processAlive(p: { pid: number; namespace: string }): boolean {
  if (!pidRunning(p.pid)) return false;
  try {
    const ino = namespaceInode(p.namespace);
    return ino !== null && fs.statSync(`/proc/${p.pid}/ns/net`).ino === ino;
  } catch {
    return false;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** SIGTERM to every live one, up to graceMs for them to end, then SIGKILL. Returns how many were running. */
export function stopProcesses(procs: readonly { pid: number; namespace: string }[], graceMs = 5000): number {
  const live = procs.filter(processAlive);
  for (const p of live) signal(p.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  let left = live;
  while (left.length > 0 && Date.now() < deadline) {
    sleepSync(50);
    left = left.filter(processAlive);
  }
  for (const p of left) signal(p.pid, 'SIGKILL');
  return live.length;
}

/** The last lines of a log, for error messages. */
export function logTail(log: string, lines = 15): string {
  try {
    const text = fs.readFileSync(log, 'utf8').trimEnd();
    if (text === '') return `(${log} is empty)`;
    return text.split('\n').slice(-lines).join('\n');
  } catch {
    return `(no ${log})`;
  }
}

/**
 * Waits up to timeoutMs for ready() while p stays alive. Throws naming what was awaited, with
 * the log's last lines, if p exits first or time runs out.
 */
export function waitFor(p: LabProcess, what: string, ready: () => boolean, timeoutMs: number): void {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (ready()) return;
    if (!pidRunning(p.pid)) {
      throw new NetnsError(`${p.role} (pid ${p.pid}) exited while waiting for ${what}; last lines of ${p.log}:\n${logTail(p.log)}`);
    }
    if (Date.now() >= deadline) {
      throw new NetnsError(`${p.role} (pid ${p.pid}): still no ${what} after ${timeoutMs / 1000} s; last lines of ${p.log}:\n${logTail(p.log)}`);
    }
    sleepSync(50);
  }
}

/** True once the file contains text. */
export function fileContains(file: string, text: string): boolean {
  try {
    return fs.readFileSync(file, 'utf8').includes(text);
  } catch {
    return false;
  }
}
