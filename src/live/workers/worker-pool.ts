/**
 * The master's side of `uvs director --workers N`: N worker processes (worker-main.ts), each
 * forwarding on every link through one socket of the link's fanout group, while the master keeps
 * the control plane and reads no packets.
 *
 * - Start: the kernel guard is installed (once, here), then the workers are started one at a
 *   time, each after the previous one's sockets joined, so group positions follow worker numbers.
 *   A worker joins with the program of the arrangement before it (no packet is sent to it) and
 *   says it is ready once its neighbours are resolved; then the program gives it its slot.
 *   A worker that cannot start (a link that cannot be opened...) fails the whole start with its
 *   error, and everything started so far is stopped.
 * - Changes: prepare() checks and installs what a new configuration needs outside the engines
 *   (the fanout program, the guard; throwing refuses the change); applied() sends the commands
 *   DirectorControl applied to every worker, which applies them the same way.
 * - Counters: each worker's reports go to CounterSums, which sets the master's engine counters.
 * - --max-connections N is the whole director's: worker k bounds its own tables to ceil(N / W)
 *   (workerConnectionLimit). The fanout program gives each worker a disjoint set of clients, so
 *   its tables hold only its own connections and the director holds at most W * ceil(N / W)
 *   entries per table (N rounded up to a multiple of W). A worker whose share is full refuses
 *   new connections (connection-table-full) even if another worker still has room: the hash,
 *   not the load, decides where a client goes, as it does for every other resource.
 * - A worker that ends is logged and restarted after restartDelayMs (one restart at a time); the
 *   others go on. Meanwhile the fanout program lends its slot to a live worker.
 * - stop(): every worker is asked to stop and waited for (stopTimeoutMs), then killed; the guard is
 *   removed.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import type { DirectorConfig, RulesConfig } from '../../control/config';
import type { Logger } from '../../control/daemon/logger';
import { formatRules } from '../../control/rules-format';
import { cloneRules, type ConfigCommand } from '../../control/rules-model';
import type { Engine } from '../../ipvs/engine';
import { fanoutProgram, MAX_FANOUT_WORKERS } from '../fanout-program';
import { KernelGuard, type NftRunner } from '../kernel-guard';
import { retainedReplySources } from '../retained-replies';
import { CounterSums } from './counter-sums';
import { FanoutMembers } from './fanout-members';
import { installFanoutProgram } from './fanout-group';
import type { MasterMessage, WorkerInit, WorkerMessage } from './worker-protocol';

export class WorkerPoolError extends Error {}

export interface WorkerPoolOptions {
  workers: number;
  directorFile: string;
  /** The director file's configuration, links completed from the kernel. */
  director: DirectorConfig;
  /** The master's configuration when the pool is made: what the workers start from. */
  config: RulesConfig;
  /** The master's engine: its counters become the workers' sums. */
  engine: Engine;
  /** --max-connections: entries the whole director's tables may hold (each worker gets its share), or null / absent for the engine's default. */
  maxConnections?: number | null;
  logger: Logger;
  nft?: NftRunner;
  restartDelayMs?: number;
  startTimeoutMs?: number;
  stopTimeoutMs?: number;
  /** The worker's entry script (default worker-main.js next to this file). */
  entry?: string;
  /** Link i uses fanout group groupBase + i (default from the master's pid). */
  groupBase?: number;
}

interface Slot {
  proc: ChildProcess | null;
  pid: number;
  ready: boolean;
  exited: Promise<void>;
  restarts: number;
  timer: NodeJS.Timeout | null;
}

/** Worker k's share of the director's connection limit N: ceil(N / W), so W shares cover N. */
export function workerConnectionLimit(maxConnections: number, workers: number): number {
  return Math.ceil(maxConnections / workers);
}

export class WorkerPool {
  readonly sums: CounterSums;
  readonly groupBase: number;
  private readonly members: FanoutMembers;
  private readonly slots: Slot[];
  private readonly guard: KernelGuard;
  /** The configuration the workers start from, and every change applied since (in order). */
  private readonly rulesText: string;
  private readonly changes: ConfigCommand[][] = [];
  private current: RulesConfig;
  private stopping: Promise<void> | null = null;
  /** Restarts run one after another (group positions follow the order of joins). */
  private restarts: Promise<void> = Promise.resolve();
  private readonly log: Logger;

  private constructor(private readonly opts: WorkerPoolOptions) {
    this.log = opts.logger;
    this.sums = new CounterSums(opts.engine, opts.workers);
    this.members = new FanoutMembers(opts.workers);
    this.slots = Array.from({ length: opts.workers }, () => ({
      proc: null, pid: 0, ready: false, exited: Promise.resolve(), restarts: 0, timer: null,
    }));
    this.guard = new KernelGuard(opts.director.links.map((l) => l.name), opts.nft);
    this.rulesText = formatRules(opts.config, { lossless: true });
    this.current = cloneRules(opts.config);
    this.groupBase = opts.groupBase ?? 1 + (process.pid % 1000) * 64;
  }

  /**
   * A pool for this configuration, not started (throws WorkerPoolError for a director it cannot
   * run). Make it before the control plane takes changes: the workers start from this
   * configuration and replay every change applied() records after it.
   */
  static create(opts: WorkerPoolOptions): WorkerPool {
    if (!Number.isInteger(opts.workers) || opts.workers < 2 || opts.workers > MAX_FANOUT_WORKERS) {
      throw new WorkerPoolError(`--workers ${opts.workers}: a pool has 2 to ${MAX_FANOUT_WORKERS} workers`);
    }
    const shared = opts.director.links.filter((l) => l.io !== 'packet');
    if (shared.length > 0) {
      throw new WorkerPoolError(`--workers needs AF_PACKET links (io packet): ${shared.map((l) => `${l.name} is io ${l.io}`).join(', ')}`);
    }
    if (opts.director.links.length > 64) throw new WorkerPoolError('--workers takes at most 64 links');
    const max = opts.maxConnections ?? null;
    if (max !== null && !(Number.isInteger(max) && max >= 1)) {
      throw new WorkerPoolError(`--max-connections ${max}: a pool needs a whole number of at least 1`);
    }
    // A configuration the program cannot express is a start-up error.
    fanoutProgram(opts.config, { workers: opts.workers });
    return new WorkerPool(opts);
  }

  /** Installs the guard and starts every worker (throws WorkerPoolError or the guard's error; nothing is left running). */
  async start(): Promise<void> {
    try {
      this.guard.apply(this.current, this.opts.director, retainedReplySources(this.opts.engine));
      for (let k = 0; k < this.opts.workers; k++) await this.spawn(k);
      const program = fanoutProgram(this.current, { workers: this.opts.workers, positions: this.members.positions() });
      installFanoutProgram(this.opts.director.links, this.groupBase, program);
    } catch (e) {
      await this.stop();
      throw e;
    }
    this.log.log('info', 'workers started', {
      workers: this.opts.workers,
      pids: this.pids(),
      fanoutGroups: this.opts.director.links.map((l, i) => ({ link: l.name, group: this.groupBase + i })),
    });
  }

  /** The connection limit each worker's tables get (its share of --max-connections), or null for the default. */
  workerLimit(): number | null {
    const max = this.opts.maxConnections ?? null;
    return max === null ? null : workerConnectionLimit(max, this.opts.workers);
  }

  /** Worker pids by number (0 for a worker not running). */
  pids(): number[] {
    return this.slots.map((s) => (s.proc !== null ? s.pid : 0));
  }

  /** Which workers run, and how often each was restarted. */
  state(): { up: boolean[]; restarts: number[] } {
    return { up: this.slots.map((s) => s.ready), restarts: this.slots.map((s) => s.restarts) };
  }

  /**
   * Before a change: the new configuration's fanout program (which also checks it can be built)
   * and guard rules are installed. Throws to refuse the change, with both left as they were.
   */
  prepare(next: RulesConfig): void {
    const program = fanoutProgram(next, { workers: this.opts.workers, positions: this.members.positions() });
    // Taken before the change reaches the engine: a NAT real server deleted now is still in it.
    const retained = retainedReplySources(this.opts.engine);
    this.guard.apply(next, this.opts.director, retained);
    try {
      installFanoutProgram(this.opts.director.links, this.groupBase, program);
    } catch (e) {
      try {
        this.guard.apply(this.current, this.opts.director, retained);
      } catch {
        // the error below is the one to report
      }
      throw new WorkerPoolError(`the fanout program could not be installed: ${(e as Error).message}`);
    }
    this.current = next;
  }

  /** After DirectorControl applied a change: every worker applies the same commands. */
  applied(cmds: readonly ConfigCommand[]): void {
    const copy = [...cmds];
    this.changes.push(copy);
    this.slots.forEach((_, k) => this.send(k, { type: 'apply', cmds: copy }));
  }

  /** Stops the workers (asked, then killed after stopTimeoutMs) and removes the guard. Safe to call twice. */
  stop(): Promise<void> {
    if (this.stopping === null) this.stopping = this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const limit = this.opts.stopTimeoutMs ?? 3000;
    await Promise.all(this.slots.map(async (slot, k) => {
      if (slot.timer !== null) clearTimeout(slot.timer);
      slot.timer = null;
      const proc = slot.proc;
      if (proc === null) return;
      this.send(k, { type: 'stop' });
      let timer: NodeJS.Timeout | null = null;
      const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), limit)));
      if (await Promise.race([slot.exited.then(() => false), late])) {
        this.log.log('warn', 'a worker did not stop in time: killed', { worker: k, pid: slot.pid, waitedMs: limit });
        proc.kill('SIGKILL');
        await slot.exited;
      }
      if (timer !== null) clearTimeout(timer);
    }));
    this.guard.remove();
  }

  private send(k: number, m: MasterMessage): void {
    const proc = this.slots[k].proc;
    if (proc === null || !proc.connected) return;
    proc.send(m, (e) => {
      if (e !== null && e !== undefined) this.log.log('debug', 'a message to a worker was not delivered', { worker: k, type: m.type, error: e.message });
    });
  }

  /** Forks worker k and resolves once its sockets joined (rejects when it fails or ends first). */
  private spawn(k: number): Promise<void> {
    const slot = this.slots[k];
    const entry = this.opts.entry ?? path.join(__dirname, 'worker-main.js');
    const init: WorkerInit = {
      type: 'init',
      index: k,
      workers: this.opts.workers,
      directorFile: this.opts.directorFile,
      rulesText: this.rulesText,
      changes: [...this.changes],
      groupBase: this.groupBase,
      // The table as it is: a worker joins without traffic, and gets its slot once it is ready.
      program: fanoutProgram(this.current, { workers: this.opts.workers, positions: this.members.positions() }),
      maxConnections: this.workerLimit(),
    };
    const child = fork(entry, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
    slot.proc = child;
    slot.pid = child.pid ?? 0;
    slot.ready = false;
    slot.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (e: Error | null): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (e === null) resolve();
        else reject(e);
      };
      const limit = this.opts.startTimeoutMs ?? 20_000;
      const timer = setTimeout(() => {
        settle(new WorkerPoolError(`worker ${k} did not start within ${limit} ms`));
        child.kill('SIGKILL');
      }, limit);
      child.on('error', (e) => this.log.log('warn', 'worker process error', { worker: k, error: e.message }));
      child.on('message', (m: WorkerMessage) => {
        switch (m.type) {
          case 'ready':
            if (settled) return;
            slot.ready = true;
            this.members.join(k);
            settle(null);
            return;
          case 'failed':
            settle(new WorkerPoolError(m.error));
            return;
          case 'report':
            if (slot.proc === child) this.sums.report(k, m);
            return;
        }
      });
      child.once('exit', (code, signal) => {
        if (slot.proc === child) slot.proc = null;
        if (!slot.ready) {
          settle(new WorkerPoolError(`worker ${k} ended (${signal ?? `exit code ${code}`}) before it started`));
          return;
        }
        slot.ready = false;
        this.ended(k, code, signal);
      });
      child.send(init);
    });
  }

  /** Worker k ended while running: the others take its slot until it is back. */
  private ended(k: number, code: number | null, signal: NodeJS.Signals | null): void {
    this.members.leave(k);
    this.sums.retire(k);
    if (this.stopping !== null) return;
    const delay = this.opts.restartDelayMs ?? 1000;
    this.log.log('error', 'a worker ended: restarting it', { worker: k, pid: this.slots[k].pid, code, signal, restartInMs: delay });
    this.installProgram('a worker ended');
    this.scheduleRestart(k, delay);
  }

  private scheduleRestart(k: number, delay: number): void {
    const slot = this.slots[k];
    slot.timer = setTimeout(() => {
      slot.timer = null;
      this.restarts = this.restarts.then(async () => {
        if (this.stopping !== null) return;
        try {
          await this.spawn(k);
        } catch (e) {
          if (this.stopping !== null) return;
          this.log.log('error', 'a worker could not be restarted', { worker: k, error: (e as Error).message, retryInMs: delay });
          this.scheduleRestart(k, delay);
          return;
        }
        slot.restarts++;
        this.log.log('info', 'worker restarted', { worker: k, pid: slot.pid, restarts: slot.restarts });
        // It joined without traffic: its slot comes back to it now.
        this.installProgram('a worker restarted');
      });
    }, delay);
  }

  /** The current configuration's program for the current arrangement (failures are logged). */
  private installProgram(reason: string): void {
    try {
      const program = fanoutProgram(this.current, { workers: this.opts.workers, positions: this.members.positions() });
      installFanoutProgram(this.opts.director.links, this.groupBase, program);
    } catch (e) {
      this.log.log('error', 'the fanout program could not be replaced', { reason, error: (e as Error).message });
    }
  }
}
