/**
 * The long-running director: holds the configuration (a RulesConfig, the source of truth for -S
 * and the state file) and the engine built from it, keeps the counters' rate estimators ticking,
 * and serves uvsadm on the control socket until SIGINT or SIGTERM.
 *
 * Start-up: the director file is read; the configuration comes from the state file when there is
 * one (a restart gives back exactly what was running), else from --rules, and is written to the
 * state file as soon as the socket is ours. A director file without links runs the control plane alone: the engine
 * exists and answers every listing, but no frame is read from the network.
 *
 * Options: --metrics serves Prometheus text on HTTP (metrics-server.ts, metrics.ts); --replay runs
 * a capture through the engine (replay-feed.ts), and then the rate estimators follow the
 * capture's clock instead of the wall clock (estimator-clock.ts). --workers N (2 or more) leaves
 * the links to N worker processes (src/live/workers/worker-pool.ts) and keeps the control plane here.
 *
 * Connections across a restart (conn-snapshot-file.ts): a director forwarding in this process
 * writes its connection table next to the state file at a clean stop and leaves the kernel guard
 * in place when any of them may still carry data; the next start restores them right after the
 * configuration, before any frame is read, and deletes the file. Not with --workers yet.
 */
import * as fs from 'node:fs';
import type { RulesConfig } from '../config';
import type { ConfigCommand } from '../rules-model';
import { loadDirectorFile, requireLinkMacs } from '../director-file';
import { namesFromFiles, type NameLookup } from '../ipvsadm-names';
import { ESTIMATOR_PERIOD_MS } from '../rate-estimator';
import { loadRulesFile } from '../rules-file';
import { ensureStateDirectory, loadState, saveState } from './config-store';
import { ControlServer } from './control-server';
import { DirectorControl } from './director-control';
import { directorSchedulers, EngineMirror } from './engine-mirror';
import { resolveGroup } from './group-id';
import type { ReplayArgs } from './director-command';
import { engineEstimatorClock } from './estimator-clock';
import type { Logger } from './logger';
import { directorMetricsPage } from './metrics';
import { formatListenAddress, MetricsServer, type ListenAddress } from './metrics-server';
import { ReplayFeed } from './replay-feed';
import { completeLinksFromKernel } from '../../live/link-info';
import { LiveDirector, type PortOpener } from '../../live/live-director';
import type { NftRunner } from '../../live/kernel-guard';
import { WorkerPool } from '../../live/workers/worker-pool';
import { workersMetricsPage } from '../../live/workers/worker-metrics';
import { StatsBook } from './stats-book';
import { connSnapshotPath, saveConnSnapshot, takeConnSnapshot } from './conn-snapshot-file';
import { engineLimits } from '../../ipvs/engine-limits';

export interface DirectorDaemonOptions {
  rules: string;
  director: string;
  socket: string;
  state: string;
  /** Group allowed to use the socket besides root (name or gid), or null. */
  group: string | null;
  logger: Logger;
  /** The estimator's clock in ms (default: a monotonic clock). */
  clock?: () => number;
  /** Files for names in listings without -n (default /etc/hosts and /etc/services). */
  hostsFile?: string;
  servicesFile?: string;
  /** Where to serve Prometheus metrics (/metrics), or null / absent for none. */
  metrics?: ListenAddress | null;
  /** A capture to run through the engine, or null / absent. */
  replay?: ReplayArgs | null;
  /**
   * How to open a port on a link: given (and no replay), the director attaches to the director
   * file's links and forwards; absent or null, it serves the control plane only.
   */
  openPort?: PortOpener | null;
  /** Runs nftables scripts for the kernel guard (default: the nft command). */
  nft?: NftRunner;
  /**
   * Worker processes forwarding (default 1: this process forwards). With 2 or more, this process
   * keeps the control plane and the kernel guard, reads no packets, and runs the links through
   * that many workers sharing them by fanout (src/live/workers).
   */
  workers?: number;
  /** Entries each connection table may hold (null / absent: the engine's default). */
  maxConnections?: number | null;
}

export class DirectorDaemon {
  private stopping: Promise<void> | null = null;

  private constructor(
    private readonly opts: DirectorDaemonOptions,
    readonly control: DirectorControl,
    readonly mirror: EngineMirror,
    private readonly server: ControlServer,
    /** The wall-clock estimator timer (null when a feed drives the estimators). */
    private readonly timer: NodeJS.Timeout | null,
    readonly stats: StatsBook,
    readonly metrics: MetricsServer | null,
    readonly feed: ReplayFeed | null,
    readonly live: LiveDirector | null,
    readonly pool: WorkerPool | null,
  ) {}

  /**
   * Loads everything, opens the socket (and the metrics listener, the capture); throws ConfigError,
   * ControlServerError, UnknownGroupError, MetricsServerError, ReplayFeedError, CaptureFormatError
   * or a file system error. The feed, if any, starts once the director has started.
   */
  static async start(opts: DirectorDaemonOptions): Promise<DirectorDaemon> {
    const log = opts.logger;
    const apply = { schedulers: directorSchedulers() };
    const director = loadDirectorFile(opts.director);
    if (opts.replay) requireLinkMacs(director, opts.director, 'a director fed by --replay');
    const gid = opts.group === null ? null : resolveGroup(opts.group);
    ensureStateDirectory(opts.state);
    let config: RulesConfig;
    const fromState = loadState(opts.state, apply);
    if (fromState !== null) {
      config = fromState;
      log.log('info', 'configuration loaded from the state file (not from --rules)', {
        state: opts.state, rules: opts.rules, services: config.services.length,
      });
    } else {
      config = loadRulesFile(opts.rules, apply);
      log.log('info', 'configuration loaded from the rules file', { rules: opts.rules, services: config.services.length });
    }

    const replay = opts.replay ?? null;
    const attach = replay === null && (opts.openPort ?? null) !== null && director.links.length > 0;
    // A live director takes the MACs and MTUs the file leaves out from the interfaces themselves.
    if (attach) completeLinksFromKernel(director);
    const mirror = EngineMirror.build(config, director, engineLimits(opts.maxConnections ?? undefined));
    // A fed director's estimators run on the capture's clock (sampled by the feed); an idle one's
    // on the wall clock, every 2 s.
    const clock = opts.clock ?? (replay !== null ? engineEstimatorClock(mirror.engine) : () => performance.now());
    const stats = new StatsBook(mirror.engine, clock);
    // Opened before the socket, so a bad capture is a start-up error; run once the director has started.
    const feed = replay === null ? null : ReplayFeed.open({
      input: replay.input,
      speed: replay.speed,
      output: replay.output,
      loop: replay.loop,
      engine: mirror.engine,
      links: director.links.map((l) => l.name),
      sample: () => stats.sample(),
      logger: log,
    });
    const hosts = opts.hostsFile ?? '/etc/hosts';
    const services = opts.servicesFile ?? '/etc/services';
    // Attached once the socket is ours; until then a change has no live part.
    let live: LiveDirector | null = null;
    const pooled = attach && (opts.workers ?? 1) >= 2;
    // Before any frame is read (a UDP datagram would otherwise make a second entry for its flow).
    takeConnSnapshot(mirror.engine, connSnapshotPath(opts.state), log, attach && !pooled,
      pooled ? 'not with --workers yet' : 'this director reads no packets (--replay, --control-only or no links)');
    // Made before the control plane takes changes: the workers replay every change after this point.
    const pool = pooled ? WorkerPool.create({
      workers: opts.workers as number, directorFile: opts.director, director, config, engine: mirror.engine, logger: log, nft: opts.nft,
      maxConnections: opts.maxConnections ?? null,
    }) : null;
    const control = new DirectorControl({
      config,
      mirror,
      stats,
      persist: (c) => saveState(opts.state, c),
      prepare: (next) => {
        live?.prepare(next);
        pool?.prepare(next);
      },
      changed: () => live?.changed(),
      ...(pooled ? {
        applied: (cmds: readonly ConfigCommand[]) => pool?.applied(cmds),
        connections: () => pool?.sums.connections() ?? [],
      } : {}),
      logger: log,
      apply,
      names: () => readNames(hosts, services),
    });
    let server: ControlServer;
    try {
      server = await ControlServer.listen({
        path: opts.socket,
        gid,
        handle: (req) => control.execute(req),
        logger: log,
      });
    } catch (e) {
      await feed?.discard();
      throw e;
    }
    // Written once the socket is ours (a second director on a busy socket must not touch it).
    let metrics: MetricsServer | null = null;
    try {
      saveState(opts.state, config);
      if (opts.metrics !== undefined && opts.metrics !== null) {
        metrics = await MetricsServer.listen({
          listen: opts.metrics,
          page: () => pool !== null
            ? workersMetricsPage(control.rules, mirror, stats, pool.sums, pool.state())
            : directorMetricsPage(control.rules, mirror, stats, live?.stats() ?? null),
          logger: log,
        });
      }
    } catch (e) {
      await feed?.discard();
      await server.close();
      throw e;
    }
    if (attach) {
      try {
        if (pool !== null) {
          await pool.start();
        } else {
          live = LiveDirector.start({
            engine: mirror.engine, director, rules: config, logger: log, openPort: opts.openPort as PortOpener, nft: opts.nft,
          });
        }
      } catch (e) {
        await metrics?.close();
        await server.close();
        throw e;
      }
    }
    let timer: NodeJS.Timeout | null = null;
    if (feed === null || opts.clock !== undefined) {
      timer = setInterval(() => stats.sample(), ESTIMATOR_PERIOD_MS);
      timer.unref();
    }
    log.log('info', 'director started', {
      pid: process.pid,
      socket: opts.socket,
      group: opts.group,
      state: opts.state,
      director: opts.director,
      links: director.links.length,
      services: config.services.length,
      ...(metrics !== null ? { metrics: formatListenAddress(metrics.address) } : {}),
      ...(replay !== null ? { replay: replay.input } : {}),
      ...(pool !== null ? { workers: pool.pids() } : {}),
    });
    if (director.links.length > 0 && feed === null && live === null && pool === null) {
      log.log('warn', 'no packet I/O is attached to the director: it serves the control plane only', {
        links: director.links.map((l) => l.name),
      });
    }
    feed?.start();
    return new DirectorDaemon(opts, control, mirror, server, timer, stats, metrics, feed, live, pool);
  }

  /** Saves the configuration, closes and removes the socket. Safe to call more than once. */
  stop(reason: string): Promise<void> {
    if (this.stopping === null) this.stopping = this.doStop(reason);
    return this.stopping;
  }

  private async doStop(reason: string): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    await this.feed?.stop();
    const live = this.live?.stats() ?? null;
    const keepGuard = this.saveConnections();
    this.live?.stop(keepGuard);
    await this.pool?.stop();
    const workers = this.pool?.sums.links() ?? null;
    await this.metrics?.close();
    await this.server.close();
    try {
      saveState(this.opts.state, this.control.rules as RulesConfig);
    } catch (e) {
      this.opts.logger.log('error', 'cannot save the configuration', { state: this.opts.state, error: (e as Error).message });
    }
    this.opts.logger.log('info', 'director stopped', {
      reason, socket: this.opts.socket, state: this.opts.state, ...(live !== null ? { live } : {}), ...(workers !== null ? { workers } : {}),
    });
  }

  /**
   * Writes the connection snapshot of a director forwarding in this process (its loop stopped
   * first, so the table no longer moves). Returns true when the kernel guard should stay until
   * the next start: some saved connection may still carry data.
   */
  private saveConnections(): boolean {
    const log = this.opts.logger;
    const file = connSnapshotPath(this.opts.state);
    if (this.pool !== null) {
      log.log('info', 'connections not saved: not with --workers yet (a restart loses them)', { file });
      return false;
    }
    if (this.live === null) return false;
    this.live.feed.stop();
    try {
      const started = performance.now();
      const w = saveConnSnapshot(this.mirror.engine, file);
      log.log('info', 'connections saved for the next start', { file, ...w, ms: Math.round(performance.now() - started) });
      return w.live > 0;
    } catch (e) {
      log.log('error', 'cannot save the connections: a restart loses them', { file, error: (e as Error).message });
      return false;
    }
  }
}

function readNames(hostsFile: string, servicesFile: string): NameLookup {
  const read = (f: string): string => {
    try {
      return fs.readFileSync(f, 'utf8');
    } catch {
      return '';
    }
  };
  return namesFromFiles({ hosts: read(hostsFile), services: read(servicesFile) });
}
