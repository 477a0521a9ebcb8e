/**
 * The entry of a worker process (forked by worker-pool.ts with an IPC channel): waits for its
 * init message, starts a LiveWorker, reports to the master every REPORT_INTERVAL_MS, applies the
 * changes the master sends, and stops on the master's `stop`, on SIGTERM, or when the master is
 * gone (the IPC channel closed). SIGINT is left to the master (a terminal's Ctrl-C reaches the
 * whole process group; the master then stops its workers in order).
 */
import { JsonLineLogger, type Logger, type LogFields, type LogLevel } from '../../control/daemon/logger';
import { LiveWorker } from './live-worker';
import { REPORT_INTERVAL_MS, type MasterMessage, type WorkerMessage, type WorkerReport } from './worker-protocol';

/** Log lines of worker k carry `worker: k`. */
class WorkerLogger implements Logger {
  constructor(private readonly inner: Logger, private readonly index: number) {}
  log(level: LogLevel, msg: string, fields: LogFields = {}): void {
    this.inner.log(level, msg, { worker: this.index, ...fields });
  }
}

/** How long a starting worker waits for its neighbours' MACs before it says it is ready anyway. */
const NEIGHBOUR_WAIT_MS = 3000;

/** Calls back once the worker's neighbours are resolved (true), or after `ms` (false). */
function whenResolved(worker: LiveWorker, ms: number, then: (resolved: boolean) => void): void {
  const deadline = Date.now() + ms;
  const check = (): void => {
    const resolved = worker.neighboursResolved();
    if (resolved || Date.now() >= deadline) then(resolved);
    else setTimeout(check, 20);
  };
  check();
}

function send(m: WorkerMessage, then?: () => void): void {
  if (process.connected && process.send !== undefined) process.send(m, undefined, {}, () => then?.());
  else then?.();
}

function disconnect(): void {
  if (process.connected) process.disconnect();
}

function main(): void {
  if (process.send === undefined) {
    process.stderr.write('worker-main is started by `uvs director --workers N`, not by hand\n');
    process.exitCode = 2;
    return;
  }
  let worker: LiveWorker | null = null;
  let logger: Logger = new JsonLineLogger();
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  const stop = (reason: string): void => {
    if (stopped) return;
    stopped = true;
    if (timer !== null) clearInterval(timer);
    let last: WorkerReport | null = null;
    if (worker !== null) {
      last = worker.report();
      worker.stop();
      logger.log('info', 'worker stopped', { reason, pid: process.pid });
    }
    // Nothing else keeps the process: it ends once the ports and the channel are closed (the
    // timer only matters if something unexpected still holds the event loop).
    setTimeout(() => process.exit(0), 2000).unref();
    if (last !== null) send(last, disconnect);
    else disconnect();
  };
  process.on('message', (m: MasterMessage) => {
    if (stopped) return;
    switch (m.type) {
      case 'init': {
        logger = new WorkerLogger(new JsonLineLogger(), m.index);
        try {
          worker = LiveWorker.start(m, logger);
        } catch (e) {
          stopped = true;
          process.exitCode = 1;
          send({ type: 'failed', error: (e as Error).message }, disconnect);
          return;
        }
        timer = setInterval(() => {
          if (worker !== null) send(worker.report());
        }, REPORT_INTERVAL_MS);
        // Ready once it can forward: its sockets joined without traffic, the master then gives it its share.
        whenResolved(worker, NEIGHBOUR_WAIT_MS, (resolved) => {
          if (stopped) return;
          logger.log(resolved ? 'info' : 'warn', resolved ? 'worker started' : 'worker started with neighbours still unresolved', { pid: process.pid, of: m.workers });
          send({ type: 'ready' });
        });
        return;
      }
      case 'apply':
        try {
          worker?.applyChange(m.cmds);
        } catch (e) {
          // The master applied these commands to the same configuration: failing here is a bug.
          logger.log('error', 'a change the master applied failed in the worker', { error: String((e as Error).stack ?? e) });
        }
        return;
      case 'stop':
        stop('master');
        return;
    }
  });
  process.on('disconnect', () => stop('master gone'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => undefined);
}

main();
