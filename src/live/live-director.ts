/**
 * Everything a director needs to forward on a real host, put together and taken apart in order:
 * ports opened on the director file's links (each by its `io` kind), the kernel guard installed,
 * neighbours resolved, then the loop started; on stop the loop first, then the guard removed and
 * the ports closed. A failure while starting undoes what was done and names what went wrong.
 *
 * A stop before a restart may keep the guard (stop(true)): connections saved for the next start
 * must not meet the kernel meanwhile (an RST from a local VIP or local address, a NAT reply
 * forwarded with the real server's source, which the client answers with an RST). The next start
 * replaces the table in one transaction, so there is no moment without it.
 */
import type { DirectorConfig, LinkConfig, RulesConfig } from '../control/config';
import type { Logger } from '../control/daemon/logger';
import type { Engine } from '../ipvs/engine';
import type { Port, PortStats } from '../io/port';
import { directorFilter } from '../io/bpf';
import type { PacketPort } from '../io/packet-port';
import { directorFilterRules } from './director-filter';
import { GUARD_TABLE, KernelGuard, type NftRunner } from './kernel-guard';
import { KernelRoutes } from './kernel-routes';
import { retainedReplySources, type RetainedReplySource } from './retained-replies';
import { LiveFeed, type LiveFeedStats } from './live-feed';
import { NeighbourResolver } from './neighbour-resolver';

/** Opens the port for one link of the director file. */
export type PortOpener = (link: LinkConfig) => Port;

export interface LiveDirectorOptions {
  engine: Engine;
  director: DirectorConfig;
  rules: RulesConfig;
  logger: Logger;
  openPort: PortOpener;
  nft?: NftRunner;
  afterBatches?: () => void;
  /** False: install no kernel guard (the master of a multi-worker director holds it). Default true. */
  kernelGuard?: boolean;
}

export interface LiveStats {
  feed: LiveFeedStats;
  ports: { name: string; io: string; stats: PortStats }[];
}

export class LiveDirector {
  private constructor(
    private readonly ports: Port[],
    private readonly guard: KernelGuard,
    readonly resolver: NeighbourResolver,
    readonly feed: LiveFeed,
    private readonly director: DirectorConfig,
    private readonly logger: Logger,
    /** TUN mode's routes and rules in the host kernel (null without an `io tun` link). */
    private readonly routes: KernelRoutes | null,
    private readonly engine: Engine,
  ) {}

  static start(opts: LiveDirectorOptions): LiveDirector {
    const ports: Port[] = [];
    let guard: KernelGuard | null = null;
    let routes: KernelRoutes | null = null;
    try {
      for (const link of opts.director.links) ports.push(opts.openPort(link));
      // Only links read below the IP layer see balanced frames before the kernel does.
      const guarded = opts.kernelGuard === false ? [] : ports.filter((p) => p.kind === 'packet' || p.kind === 'cap').map((p) => p.name);
      guard = new KernelGuard(guarded, opts.nft);
      guard.apply(opts.rules, opts.director);
      attachFilters(ports, opts.rules, opts.director, opts.logger);
      // TUN mode: the kernel routes the balanced traffic into the device (once it exists).
      routes = KernelRoutes.forDirector({ director: opts.director, router: opts.engine.router, logger: opts.logger });
      routes?.apply(opts.rules);
      const resolver = new NeighbourResolver({ engine: opts.engine, ports, logger: opts.logger });
      const feed = new LiveFeed({
        engine: opts.engine, ports, resolver, afterBatches: opts.afterBatches,
        onError: (e) => opts.logger.log('error', 'a batch was given up', { error: String((e as Error).stack ?? e) }),
      });
      resolver.start();
      feed.start();
      opts.logger.log('info', 'links attached', {
        links: ports.map((p) => ({ name: p.name, io: p.kind })),
        guarded,
      });
      return new LiveDirector(ports, guard, resolver, feed, opts.director, opts.logger, routes, opts.engine);
    } catch (e) {
      routes?.remove();
      guard?.remove();
      for (const p of ports) p.close();
      throw e;
    }
  }

  /** Before a configuration change is applied: the guard follows it (throws to refuse the change). */
  prepare(next: RulesConfig): void {
    // Taken before the change reaches the engine: a NAT real server deleted now is still in it.
    const retained = retainedReplySources(this.engine);
    this.routes?.apply(next);
    this.guard.apply(next, this.director, retained);
    attachFilters(this.ports, next, this.director, this.logger, retained);
  }

  /** After a change: new real servers and gateways get their neighbours. */
  changed(): void {
    this.resolver.refresh();
  }

  stats(): LiveStats {
    return {
      feed: { ...this.feed.counters },
      ports: this.ports.map((p) => ({ name: p.name, io: p.kind, stats: p.stats() })),
    };
  }

  /** Stops the loop and gives everything back; keepGuard leaves the kernel guard for the next start. */
  stop(keepGuard = false): void {
    this.feed.stop();
    this.resolver.stop();
    if (!keepGuard) {
      this.guard.remove();
    } else if (this.guard.active) {
      this.logger.log('info', 'kernel guard left in place for the next start (it replaces it)', {
        table: GUARD_TABLE, remove: `nft delete table netdev ${GUARD_TABLE}`,
      });
    }
    this.routes?.remove();
    for (const p of this.ports) p.close();
  }
}

/**
 * Gives every AF_PACKET port the filter for this configuration. A filter is only a saving: when
 * the kernel refuses it (too many rules for net.core.optmem_max) the port takes every frame, and
 * the engine still drops what is not for it.
 */
function attachFilters(ports: readonly Port[], rules: RulesConfig, director: DirectorConfig, logger: Logger, retained: readonly RetainedReplySource[] = []): void {
  const filterRules = directorFilterRules(rules, director, retained);
  const program = filterRules === null ? null : directorFilter(filterRules, { arp: true, neighbourDiscovery: true, icmp: true });
  for (const p of ports) {
    if (p.kind !== 'packet') continue;
    try {
      (p as PacketPort).setFilter(program);
    } catch (e) {
      logger.log('warn', 'the socket filter was refused: the link takes every frame', { link: p.name, error: (e as Error).message });
      try {
        (p as PacketPort).setFilter(null);
      } catch {
        // the previous filter stays; frames it lets through are still checked by the engine
      }
    }
  }
}
