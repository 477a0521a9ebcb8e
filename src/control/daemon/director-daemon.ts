/**
 * The long-running director: holds the configuration (a RulesConfig, the source of truth for -S
 * and the state file) and the engine built from it, keeps the counters' rate estimators ticking,
 * and serves uvsadm on the control socket until SIGINT or SIGTERM.
 *
 * Start-up: the director file is read; the configuration comes from the state file when there is
 * one (a restart gives back exactly what was running), else from --rules, and is written to the
 * state file as soon as the socket is ours. A director file without links runs the control plane alone: the engine
 * exists and answers every listing, but no frame is read from the network.
 */
import * as fs from 'node:fs';
import type { RulesConfig } from '../config';
import { loadDirectorFile } from '../director-file';
import { namesFromFiles, type NameLookup } from '../ipvsadm-names';
import { ESTIMATOR_PERIOD_MS } from '../rate-estimator';
import { loadRulesFile } from '../rules-file';
import { ensureStateDirectory, loadState, saveState } from './config-store';
import { ControlServer } from './control-server';
import { DirectorControl } from './director-control';
import { directorSchedulers, EngineMirror } from './engine-mirror';
import { resolveGroup } from './group-id';
import type { Logger } from './logger';
import { StatsBook } from './stats-book';

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
}

export class DirectorDaemon {
  private stopping: Promise<void> | null = null;

  private constructor(
    private readonly opts: DirectorDaemonOptions,
    readonly control: DirectorControl,
    readonly mirror: EngineMirror,
    private readonly server: ControlServer,
    private readonly timer: NodeJS.Timeout,
  ) {}

  /** Loads everything, opens the socket; throws ConfigError, ControlServerError, UnknownGroupError. */
  static async start(opts: DirectorDaemonOptions): Promise<DirectorDaemon> {
    const log = opts.logger;
    const apply = { schedulers: directorSchedulers() };
    const director = loadDirectorFile(opts.director);
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

    const mirror = EngineMirror.build(config, director);
    const clock = opts.clock ?? (() => performance.now());
    const stats = new StatsBook(mirror.engine, clock);
    const hosts = opts.hostsFile ?? '/etc/hosts';
    const services = opts.servicesFile ?? '/etc/services';
    const control = new DirectorControl({
      config,
      mirror,
      stats,
      persist: (c) => saveState(opts.state, c),
      logger: log,
      apply,
      names: () => readNames(hosts, services),
    });
    const server = await ControlServer.listen({
      path: opts.socket,
      gid,
      handle: (req) => control.execute(req),
      logger: log,
    });
    // Written once the socket is ours (a second director on a busy socket must not touch it).
    try {
      saveState(opts.state, config);
    } catch (e) {
      await server.close();
      throw e;
    }
    const timer = setInterval(() => stats.sample(), ESTIMATOR_PERIOD_MS);
    timer.unref();
    log.log('info', 'director started', {
      pid: process.pid,
      socket: opts.socket,
      group: opts.group,
      state: opts.state,
      director: opts.director,
      links: director.links.length,
      services: config.services.length,
    });
    if (director.links.length > 0) {
      log.log('warn', 'no packet I/O is attached to the director: it serves the control plane only', {
        links: director.links.map((l) => l.name),
      });
    }
    return new DirectorDaemon(opts, control, mirror, server, timer);
  }

  /** Saves the configuration, closes and removes the socket. Safe to call more than once. */
  stop(reason: string): Promise<void> {
    if (this.stopping === null) this.stopping = this.doStop(reason);
    return this.stopping;
  }

  private async doStop(reason: string): Promise<void> {
    clearInterval(this.timer);
    await this.server.close();
    try {
      saveState(this.opts.state, this.control.rules as RulesConfig);
    } catch (e) {
      this.opts.logger.log('error', 'cannot save the configuration', { state: this.opts.state, error: (e as Error).message });
    }
    this.opts.logger.log('info', 'director stopped', { reason, socket: this.opts.socket, state: this.opts.state });
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
