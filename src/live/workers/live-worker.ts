/**
 * One worker of a multi-worker director: its own configuration and engine, built the way the
 * master built its own (the master's start-up configuration, then every change in order, so dest
 * ids and service indexes are the master's), and the live loop on every link through a socket of
 * the link's fanout group. Worker k of N allocates FULLNAT local ports p with p % N == k, which
 * is what the fanout program expects of it. Its connection tables are bounded by its share of
 * the director's --max-connections (init.maxConnections). The master holds the kernel guard; the
 * worker attaches its socket filters and resolves its neighbours itself (every ARP frame reaches
 * it, arp-tap.ts).
 */
import { randomInt } from 'node:crypto';
import type { DirectorConfig, LinkConfig, RulesConfig } from '../../control/config';
import { EngineMirror, directorSchedulers } from '../../control/daemon/engine-mirror';
import type { Logger } from '../../control/daemon/logger';
import { loadDirectorFile } from '../../control/director-file';
import { loadRules } from '../../control/rules-file';
import { applyCommand, cloneRules, type ApplyOptions, type ConfigCommand } from '../../control/rules-model';
import { PacketPort } from '../../io/packet-port';
import { engineLimits } from '../../ipvs/engine-limits';
import { LPORT_MAX, LPORT_MIN } from '../../ipvs/laddr-pool';
import type { Port } from '../../io/port';
import { completeLinksFromKernel } from '../link-info';
import { LiveDirector } from '../live-director';
import { ArpTap } from './arp-tap';
import { fanoutOptions } from './fanout-group';
import { engineCounters, packConnections } from './worker-counters';
import {
  CONNECTIONS_EVERY_REPORTS, PACKED_CONNECTION_WORDS, REPORTED_CONNECTIONS, type WorkerInit, type WorkerReport,
} from './worker-protocol';
import { DIRECTOR_RING } from '../open-port';

export class LiveWorker {
  /** Where each report's connection entries are packed (the report carries a copy of the used part). */
  private readonly packed = new Uint32Array(REPORTED_CONNECTIONS * PACKED_CONNECTION_WORDS);
  private reports = 0;

  private constructor(
    readonly index: number,
    private readonly config: RulesConfig,
    private readonly mirror: EngineMirror,
    private readonly live: LiveDirector,
    private readonly arp: ArpTap,
    private readonly apply: ApplyOptions,
    private readonly logger: Logger,
  ) {}

  /** Builds the engine and attaches the links (throws, with nothing left open, on failure). */
  static start(init: WorkerInit, logger: Logger): LiveWorker {
    const apply: ApplyOptions = { schedulers: directorSchedulers() };
    const director = loadDirectorFile(init.directorFile);
    completeLinksFromKernel(director);
    const config = loadRules(init.rulesText, 'the master\'s configuration', apply);
    // Its share of the director's --max-connections: it holds only its own clients' connections.
    const mirror = EngineMirror.build(config, director, engineLimits(init.maxConnections ?? undefined));
    for (const cmds of init.changes) applyAll(config, mirror, cmds, apply);
    // A random start: a restarted worker must not reuse the ports its previous life left in TIME_WAIT.
    mirror.engine.laddrs.setPortStride(init.workers, init.index, randomInt(LPORT_MIN, LPORT_MAX + 1));
    const arp = new ArpTap(director.links);
    let live: LiveDirector;
    try {
      live = LiveDirector.start({
        engine: mirror.engine,
        director,
        rules: config,
        logger,
        openPort: fanoutOpener(director, init),
        kernelGuard: false,
      });
    } catch (e) {
      arp.close();
      throw e;
    }
    arp.start(live.resolver);
    return new LiveWorker(init.index, config, mirror, live, arp, apply, logger);
  }

  /** A change the master has applied: the same commands, applied the same way. */
  applyChange(cmds: readonly ConfigCommand[]): void {
    const trial = cloneRules(this.config);
    for (const cmd of cmds) applyCommand(trial, cmd, this.apply);
    try {
      this.live.prepare(trial);
    } catch (e) {
      // Only the socket filters follow a change here; the engine must follow the master anyway.
      this.logger.log('warn', 'the links did not follow a change', { error: (e as Error).message });
    }
    applyAll(this.config, this.mirror, cmds, this.apply);
    this.live.changed();
  }

  /** Whether every real server and gateway has a MAC (the worker is ready for its share). */
  neighboursResolved(): boolean {
    return this.live.resolver.missing().length === 0;
  }

  /** The counters; every CONNECTIONS_EVERY_REPORTS reports (the first included), the connection entries too. */
  report(): WorkerReport {
    const s = this.live.stats();
    const withConnections = this.reports++ % CONNECTIONS_EVERY_REPORTS === 0;
    return {
      type: 'report',
      engine: engineCounters(this.mirror.engine),
      feed: s.feed,
      links: s.ports,
      connections: withConnections ? packConnections(this.mirror.engine, REPORTED_CONNECTIONS, this.packed) : null,
    };
  }

  stop(): void {
    this.arp.close();
    this.live.stop();
  }
}

function applyAll(config: RulesConfig, mirror: EngineMirror, cmds: readonly ConfigCommand[], apply: ApplyOptions): void {
  for (const cmd of cmds) {
    const before = [...config.services];
    const touched = applyCommand(config, cmd, apply);
    mirror.apply(cmd, before, touched);
  }
}

/** Opens link i as a member of fanout group groupBase + i (only AF_PACKET links can be shared). */
function fanoutOpener(director: DirectorConfig, init: WorkerInit): (link: LinkConfig) => Port {
  return (link) => {
    if (link.io !== 'packet') throw new Error(`link ${link.name}: io ${link.io} cannot be shared by workers (only packet links can)`);
    const i = director.links.indexOf(link);
    return PacketPort.open(link.name, { ignoreOutgoing: true, ...DIRECTOR_RING, fanout: fanoutOptions(init.groupBase + i, init.program) });
  };
}
