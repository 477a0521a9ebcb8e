/**
 * `uvs director --rules RULES --director DIRECTOR [--socket PATH] [--state FILE] [--group NAME]
 * [--metrics HOST:PORT] [--workers N] [--replay IN [--replay-speed N|max] [--replay-out OUT] [--replay-loop]]`:
 * arguments, start, and a clean stop on SIGINT / SIGTERM (feed stopped, configuration saved,
 * sockets closed, the control socket removed). Logs are JSON lines on stderr; a usage mistake is
 * one plain line and exit 2, a start-up failure an error log line and exit 1.
 */
import * as path from 'node:path';
import { ConfigError } from '../config';
import { CaptureFormatError } from '../../pcap/capture-format-error';
import { DEFAULT_STATE_FILE } from './config-store';
import { ControlServerError } from './control-server';
import { DirectorDaemon } from './director-daemon';
import { UnknownGroupError } from './group-id';
import { JsonLineLogger, type Logger } from './logger';
import { ListenAddressError, MetricsServerError, parseListenAddress, type ListenAddress } from './metrics-server';
import { socketPath } from './protocol';
import { ReplayFeedError } from './replay-feed';
import { openPortFor } from '../../live/open-port';
import { KernelGuardError } from '../../live/kernel-guard';
import { LinkInfoError } from '../../live/link-info';
import { MAX_FANOUT_WORKERS } from '../../live/fanout-program';
import { WorkerPoolError } from '../../live/workers/worker-pool';
import { BpfError } from '../../io/bpf';
import { MAX_CONNECTIONS_LIMIT } from '../../ipvs/engine';

export const DIRECTOR_USAGE =
  'usage: uvs director --rules RULES --director DIRECTOR [--socket PATH] [--state FILE] [--group NAME]\n' +
  '                    [--metrics HOST:PORT] [--workers N] [--max-connections N] [--control-only]\n' +
  '                    [--replay IN [--replay-speed N|max] [--replay-out OUT] [--replay-loop]]\n' +
  '  Attaches to the director file\'s links and forwards (AF_PACKET by default; `io` per link);\n' +
  '  --control-only serves uvsadm without packet I/O; --replay feeds a capture instead of links.\n' +
  '  --workers N (default 1): N worker processes share the links by fanout (packet links only);\n' +
  '  this process keeps the control plane. --max-connections N bounds each connection table\n' +
  '  (IPv4, IPv6): beyond it new connections are refused and counted as connection-table-full.\n' +
  '  N is the whole director\'s: with --workers W each worker holds at most ceil(N / W) (its own\n' +
  '  clients\' share, by the fanout hash).\n';

/** --replay and its companions: a capture run through the director's engine. */
export interface ReplayArgs {
  input: string;
  /** Capture seconds per wall-clock second (1 = real time); Infinity for `max`. */
  speed: number;
  output: string | null;
  loop: boolean;
}

export interface DirectorArgs {
  rules: string;
  director: string;
  socket: string;
  state: string;
  group: string | null;
  /** --metrics: where Prometheus scrapes /metrics, or null. */
  metrics: ListenAddress | null;
  replay: ReplayArgs | null;
  /** --control-only: no packet I/O even when the director file has links. */
  controlOnly: boolean;
  /** --workers: forwarding processes (1: this one). */
  workers: number;
  /**
   * --max-connections: entries each connection table may hold, or null for the engine's default;
   * with --workers W, the whole director's (each worker holds ceil(N / W)).
   */
  maxConnections: number | null;
}

export class DirectorUsageError extends Error {}

const OPTIONS = {
  '--rules': 'rules',
  '--director': 'director',
  '--socket': 'socket',
  '--state': 'state',
  '--group': 'group',
  '--metrics': 'metrics',
  '--replay': 'replay',
  '--replay-speed': 'replaySpeed',
  '--replay-out': 'replayOut',
  '--workers': 'workers',
  '--max-connections': 'maxConnections',
} as const;
type OptionName = keyof typeof OPTIONS;
/** Options without a value. */
const FLAGS = new Set(['--replay-loop', '--control-only']);

export function parseDirectorArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): DirectorArgs {
  const got: Partial<Record<(typeof OPTIONS)[OptionName], string>> = {};
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    let name = argv[i];
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (name.startsWith('--') && eq > 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    if (FLAGS.has(name)) {
      if (value !== undefined) throw new DirectorUsageError(`option ${name} takes no value`);
      if (flags.has(name)) throw new DirectorUsageError(`option ${name} given twice`);
      flags.add(name);
      continue;
    }
    if (!Object.prototype.hasOwnProperty.call(OPTIONS, name)) {
      throw new DirectorUsageError(name.startsWith('-') ? `unknown option ${name}` : `unexpected argument ${name}`);
    }
    const key = OPTIONS[name as OptionName];
    if (got[key] !== undefined) throw new DirectorUsageError(`option ${name} given twice`);
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new DirectorUsageError(`option ${name} needs a value`);
      value = argv[++i];
    }
    if (value === '') throw new DirectorUsageError(`option ${name} needs a value`);
    got[key] = value;
  }
  if (got.rules === undefined) throw new DirectorUsageError('missing --rules RULES');
  if (got.director === undefined) throw new DirectorUsageError('missing --director DIRECTOR');
  let metrics: ListenAddress | null = null;
  if (got.metrics !== undefined) {
    try {
      metrics = parseListenAddress(got.metrics);
    } catch (e) {
      if (e instanceof ListenAddressError) throw new DirectorUsageError(`--metrics: ${e.message}`);
      throw e;
    }
  }
  const workers = got.workers === undefined ? 1 : parseWorkers(got.workers);
  if (workers > 1 && (got.replay !== undefined || flags.has('--control-only'))) {
    throw new DirectorUsageError(`--workers ${workers} forwards on links: not with ${got.replay !== undefined ? '--replay' : '--control-only'}`);
  }
  // With --workers, each worker gets its share (src/live/workers/worker-pool.ts).
  const maxConnections = got.maxConnections === undefined ? null : parseMaxConnections(got.maxConnections);
  return {
    rules: got.rules,
    director: got.director,
    socket: socketPath(got.socket, env),
    state: got.state ?? DEFAULT_STATE_FILE,
    group: got.group ?? null,
    metrics,
    replay: replayArgs(got, flags.has('--replay-loop')),
    controlOnly: flags.has('--control-only'),
    workers,
    maxConnections,
  };
}

/** --max-connections: 1 to MAX_CONNECTIONS_LIMIT. */
function parseMaxConnections(text: string): number {
  const n = /^[0-9]{1,9}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= MAX_CONNECTIONS_LIMIT)) {
    throw new DirectorUsageError(`--max-connections: '${text}' is not a whole number from 1 to ${MAX_CONNECTIONS_LIMIT}`);
  }
  return n;
}

/** --workers: 1 to MAX_FANOUT_WORKERS. */
export function parseWorkers(text: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= MAX_FANOUT_WORKERS)) throw new DirectorUsageError(`--workers: '${text}' is not a number from 1 to ${MAX_FANOUT_WORKERS}`);
  return n;
}

function replayArgs(got: Partial<Record<(typeof OPTIONS)[OptionName], string>>, loop: boolean): ReplayArgs | null {
  if (got.replay === undefined) {
    const stray = got.replaySpeed !== undefined ? '--replay-speed' : got.replayOut !== undefined ? '--replay-out' : loop ? '--replay-loop' : null;
    if (stray !== null) throw new DirectorUsageError(`option ${stray} needs --replay IN`);
    return null;
  }
  let speed = 1;
  if (got.replaySpeed !== undefined) speed = parseReplaySpeed(got.replaySpeed);
  const output = got.replayOut ?? null;
  if (output !== null && path.resolve(output) === path.resolve(got.replay)) {
    throw new DirectorUsageError('--replay-out must not be the --replay input');
  }
  return { input: got.replay, speed, output, loop };
}

/** `max`, or a positive decimal number (capture seconds per second). */
export function parseReplaySpeed(text: string): number {
  if (text === 'max') return Infinity;
  const n = /^(\d+(\.\d*)?|\.\d+)$/.test(text) ? Number(text) : NaN;
  if (!(n > 0) || !Number.isFinite(n)) {
    throw new DirectorUsageError(`--replay-speed: '${text}' is not a positive number or 'max'`);
  }
  return n;
}

/** Starts the director; returns the exit status for a usage error, else 0 (the process runs on). */
export function runDirectorCommand(argv: string[]): number {
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(DIRECTOR_USAGE);
    return 0;
  }
  let args: DirectorArgs;
  try {
    args = parseDirectorArgs(argv);
  } catch (e) {
    if (e instanceof DirectorUsageError) {
      process.stderr.write(`uvs director: ${e.message}\n${DIRECTOR_USAGE}`);
      return 2;
    }
    throw e;
  }
  const logger = new JsonLineLogger();
  void start(args, logger);
  return 0;
}

async function start(args: DirectorArgs, logger: Logger): Promise<void> {
  let daemon: DirectorDaemon;
  try {
    daemon = await DirectorDaemon.start({ ...args, logger, openPort: args.controlOnly ? null : openPortFor });
  } catch (e) {
    const known = e instanceof ConfigError || e instanceof ControlServerError || e instanceof UnknownGroupError ||
      e instanceof MetricsServerError || e instanceof ReplayFeedError || e instanceof CaptureFormatError ||
      e instanceof KernelGuardError || e instanceof LinkInfoError || e instanceof WorkerPoolError || e instanceof BpfError ||
      (e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string');
    logger.log('error', 'director failed to start', { error: known ? (e as Error).message : String((e as Error).stack ?? e) });
    process.exitCode = 1;
    return;
  }
  const onSignal = (signal: NodeJS.Signals): void => {
    daemon.stop(signal).then(
      () => {
        process.exitCode = 0;
        // Nothing else keeps the process: it ends once the socket is closed.
      },
      (e: unknown) => {
        logger.log('error', 'error while stopping', { error: (e as Error).message });
        process.exitCode = 1;
      },
    );
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}
