/**
 * The director's side of uvsadm: one ipvsadm command line in, exactly what ipvsadm 1.31 would
 * print and exit with out, applied to the director's configuration (the RulesConfig, source of
 * truth for -S and the state file) and mirrored to its running engine.
 *
 * - Parsing, messages and exit codes are ipvsadm-args.ts's; the kernel's checks are
 *   rules-model.ts's. A refused command changes nothing.
 * - A configuration change is first applied to a copy and written to the state file; only when
 *   that succeeded is it applied to the configuration and the engine. So the state file never
 *   lags behind what the director does, and a write failure refuses the command.
 * - -R is atomic, where ipvsadm's is not: every line is checked against a copy first; the first
 *   bad line is reported as `line N: <ipvsadm's message>` with ipvsadm's exit code and nothing
 *   is applied.
 * - Every call runs to completion synchronously: the server hands over one request at a time,
 *   so two clients never see (or make) half a change.
 *
 * uvs differences, on purpose: names are never resolved in -S (it prints what -S -n prints);
 * --start-daemon is refused (uvs does not synchronise connections) and --stop-daemon answers
 * "No daemon is running"; -G / --get-laddr lists FULLNAT local addresses (DPVS's layout).
 */
import { IpvsadmError, EXIT_FAILURE, EXIT_PARSE, KERNEL_MESSAGES } from '../ipvsadm-error';
import { parseIpvsadmArgs, type IpvsadmCommand, type ListCommand } from '../ipvsadm-args';
import { formatList } from '../ipvsadm-list';
import { NUMERIC_NAMES, type NameLookup } from '../ipvsadm-names';
import { kernelServiceOrder } from '../ipvsadm-sort';
import { ForwardMethod, type RulesConfig, type ServiceConfig, type ServiceKey } from '../config';
import { buildListingSnapshot } from '../engine-snapshot';
import type { ListingConnection, ListingSnapshot } from '../listing-model';
import { formatRules } from '../rules-format';
import {
  applyCommand, cloneRules, findService, isConfigCommand, type ApplyOptions, type ConfigCommand,
} from '../rules-model';
import { CONN_F_TEMPLATE, CONN_METHOD_MASK } from '../../ipvs/conn-table';
import type { EngineMirror } from './engine-mirror';
import { helpText, VERSION_LINE } from './ipvsadm-help';
import { formatLaddrList, type LaddrService } from './laddr-list';
import type { Logger } from './logger';
import { PROGRAM_NAME, type ControlReply, type ControlRequest } from './protocol';
import { restoreLines } from './restore-input';
import type { StatsBook } from './stats-book';

export interface DirectorControlOptions {
  config: RulesConfig;
  mirror: EngineMirror;
  stats: StatsBook;
  /** Writes a configuration to stable storage (the state file); throws when it cannot. */
  persist: (config: RulesConfig) => void;
  logger: Logger;
  /** Checks of -A/-E (the schedulers uvs has). */
  apply?: ApplyOptions;
  /** Names for listings without -n (default: numbers). */
  names?: () => NameLookup;
  /**
   * The live director's part of a change, run once the new configuration is saved and before
   * anything is applied (e.g. the kernel guard's nftables rules); throwing refuses the change,
   * and the saved configuration is put back. Optional.
   */
  prepare?: (next: RulesConfig) => void;
  /** Runs after a change is applied to the configuration and the engine (e.g. neighbour resolution). Optional. */
  changed?: (config: RulesConfig) => void;
  /**
   * Runs after a change was applied, with its commands in order (a multi-worker director sends
   * them to its workers). Optional.
   */
  applied?: (cmds: readonly ConfigCommand[]) => void;
  /**
   * The connection entries `-L -c` lists, when the engine is not where they are (a multi-worker
   * director's master: the workers' reported entries). Optional; default the engine's.
   */
  connections?: () => ListingConnection[];
}

const NOT_IN_RESTORE: Partial<Record<IpvsadmCommand['kind'], string>> = {
  list: '-L (list)',
  save: '-S (save)',
  zero: '-Z (zero)',
  help: '-h (help)',
  version: '-v (version)',
  'start-daemon': '--start-daemon',
  'stop-daemon': '--stop-daemon',
};

export const SYNC_NOT_SUPPORTED = 'Connection synchronisation is not supported by uvs';
export const NO_DAEMON = 'No daemon is running';

function reply(stdout: string, stderr = '', exitCode = 0): ControlReply {
  return { stdout, stderr, exitCode };
}

function failure(e: IpvsadmError): ControlReply {
  return reply('', `${e.message}\n`, e.exitCode);
}

/** A persist failure: reported like a kernel refusal (nothing was applied). */
class PersistError extends Error {}

export class DirectorControl {
  private readonly config: RulesConfig;

  constructor(private readonly opts: DirectorControlOptions) {
    this.config = opts.config;
  }

  /** The live configuration (read-only for callers). */
  get rules(): Readonly<RulesConfig> {
    return this.config;
  }

  execute(req: ControlRequest): ControlReply {
    const argv = req.argv;
    if (isGetLaddr(argv)) return this.getLaddr(argv);
    let cmd: IpvsadmCommand;
    try {
      cmd = parseIpvsadmArgs(argv, PROGRAM_NAME);
    } catch (e) {
      if (e instanceof IpvsadmError) return this.logged(argv, failure(e), false);
      throw e;
    }
    if (isConfigCommand(cmd)) return this.logged(argv, this.change([cmd]), true);
    switch (cmd.kind) {
      case 'help':
        return reply(helpText(PROGRAM_NAME));
      case 'version':
        return reply(VERSION_LINE);
      case 'list':
        return this.list(cmd);
      case 'save':
        return reply(formatRules(this.config));
      case 'zero':
        return this.logged(argv, this.zero(cmd.service), true);
      case 'restore':
        return this.logged(argv, this.restore(req.stdin ?? ''), true);
      case 'start-daemon':
        return this.logged(argv, reply('', `${SYNC_NOT_SUPPORTED}\n`, EXIT_FAILURE), true);
      case 'stop-daemon':
        return this.logged(argv, reply('', `${NO_DAEMON}\n`, EXIT_FAILURE), true);
    }
  }

  /** The listing snapshot of the running director; its connections only when asked (-L -c). */
  snapshot(withConnections = true): ListingSnapshot {
    const { mirror, stats } = this.opts;
    const snapshot = buildListingSnapshot({
      withConnections,
      config: this.config,
      engine: mirror.engine,
      serviceOf: (sc) => mirror.serviceOf(sc),
      destOf: (sc, d) => mirror.destOf(sc, d),
      serviceCounters: (svc) => stats.service(svc),
      destCounters: (d) => stats.dest(d),
    });
    if (withConnections && this.opts.connections !== undefined) snapshot.connections = this.opts.connections();
    return snapshot;
  }

  private list(cmd: ListCommand): ControlReply {
    const names = cmd.numeric || this.opts.names === undefined ? NUMERIC_NAMES : this.opts.names();
    return formatList(this.snapshot(cmd.target === 'connections'), cmd, { names });
  }

  private zero(key: ServiceKey | null): ControlReply {
    if (key === null) {
      this.opts.stats.zeroAll();
      return reply('');
    }
    const sc = findService(this.config, key);
    if (sc === undefined) return reply('', `${KERNEL_MESSAGES.noSuchService}\n`, EXIT_FAILURE);
    this.opts.stats.zeroService(this.opts.mirror.serviceOf(sc));
    return reply('');
  }

  /**
   * Applies configuration commands all or nothing: checked on a copy, the copy persisted, then
   * applied to the configuration and the engine. `lines` names the input lines of -R.
   */
  private change(cmds: readonly ConfigCommand[], lines?: readonly number[]): ControlReply {
    const trial = cloneRules(this.config);
    for (let i = 0; i < cmds.length; i++) {
      try {
        applyCommand(trial, cmds[i], this.opts.apply);
      } catch (e) {
        if (!(e instanceof IpvsadmError)) throw e;
        return lines === undefined ? failure(e) : lineFailure(lines[i], e);
      }
    }
    try {
      this.persist(trial);
    } catch (e) {
      if (e instanceof PersistError) return reply('', `${e.message}\n`, EXIT_FAILURE);
      throw e;
    }
    if (this.opts.prepare !== undefined) {
      try {
        this.opts.prepare(trial);
      } catch (e) {
        this.opts.logger.log('error', 'change refused by the live director', { error: (e as Error).message });
        try {
          this.opts.persist(this.config);
        } catch {
          // the error above is the one to report
        }
        return reply('', `${(e as Error).message}\n`, EXIT_FAILURE);
      }
    }
    for (const cmd of cmds) {
      const before = [...this.config.services];
      const touched = applyCommand(this.config, cmd, this.opts.apply);
      this.opts.mirror.apply(cmd, before, touched);
    }
    this.opts.stats.sync();
    this.opts.changed?.(this.config);
    this.opts.applied?.(cmds);
    return reply('');
  }

  private persist(config: RulesConfig): void {
    try {
      this.opts.persist(config);
    } catch (e) {
      this.opts.logger.log('error', 'cannot save the configuration', { error: (e as Error).message });
      throw new PersistError(`Cannot save the configuration: ${(e as Error).message}`);
    }
  }

  private restore(input: string): ControlReply {
    const cmds: ConfigCommand[] = [];
    const lines: number[] = [];
    for (const { line, argv } of restoreLines(input)) {
      let cmd: IpvsadmCommand;
      try {
        cmd = parseIpvsadmArgs(argv, PROGRAM_NAME);
      } catch (e) {
        if (e instanceof IpvsadmError) return lineFailure(line, e);
        throw e;
      }
      if (cmd.kind === 'restore') {
        // ipvsadm refuses -R inside -R (it would read its own input forever).
        return lineFailure(line, new IpvsadmError(tryHelp(), EXIT_FAILURE));
      }
      if (!isConfigCommand(cmd)) {
        const what = NOT_IN_RESTORE[cmd.kind] ?? cmd.kind;
        return lineFailure(line, new IpvsadmError(`${what} cannot be used in an atomic -R`, EXIT_PARSE));
      }
      cmds.push(cmd);
      lines.push(line);
    }
    if (cmds.length === 0) return reply('');
    return this.change(cmds, lines);
  }

  /** -G [service]: FULLNAT local addresses, every service's in the kernel's order, or one's. */
  private getLaddr(argv: readonly string[]): ControlReply {
    let key: ServiceKey | null;
    try {
      key = parseGetLaddr(argv);
    } catch (e) {
      if (e instanceof IpvsadmError) return failure(e);
      throw e;
    }
    let services: ServiceConfig[];
    if (key === null) {
      services = kernelServiceOrder(this.config.services);
    } else {
      const sc = findService(this.config, key);
      if (sc === undefined) return reply('', `${KERNEL_MESSAGES.noSuchService}\n`, 1);
      services = [sc];
    }
    return reply(formatLaddrList(this.laddrListing(services)));
  }

  private laddrListing(services: readonly ServiceConfig[]): LaddrService[] {
    const engine = this.opts.mirror.engine;
    // Connections per (service index, local address index), FULLNAT entries only.
    const use = new Map<string, number>();
    for (const conns of [engine.conns4, engine.conns6]) {
      conns.forEach((slot) => {
        const flags = conns.flags(slot);
        if ((flags & CONN_F_TEMPLATE) !== 0 || (flags & CONN_METHOD_MASK) !== ForwardMethod.FullNat) return;
        const key = `${engine.dests.service[conns.dest(slot)]}/${conns.laddr(slot)}`;
        use.set(key, (use.get(key) ?? 0) + 1);
      });
    }
    return services.map((sc) => {
      const svc = this.opts.mirror.serviceOf(sc);
      return {
        key: sc.key,
        laddrs: sc.laddrs.map((addr) => {
          const index = engine.laddrs.addrs.findIndex((a) => a.af === addr.af && a.text === addr.text);
          return { addr, conflicts: 0, conns: use.get(`${svc.index}/${index}`) ?? 0 };
        }),
      };
    });
  }

  private logged(argv: readonly string[], r: ControlReply, always: boolean): ControlReply {
    if (always || r.exitCode !== 0) {
      this.opts.logger.log(r.exitCode === 0 ? 'info' : 'warn', r.exitCode === 0 ? 'command applied' : 'command refused', {
        command: argv,
        exitCode: r.exitCode,
        ...(r.stderr !== '' ? { error: r.stderr.trimEnd() } : {}),
      });
    }
    return r;
  }
}

function tryHelp(): string {
  return `Try \`${PROGRAM_NAME} -h' or '${PROGRAM_NAME} --help' for more information.`;
}

function lineFailure(line: number, e: IpvsadmError): ControlReply {
  return reply('', `line ${line}: ${e.message}\n`, e.exitCode);
}

/** -G, --get-laddr, or a bundle starting with G (-Gn): DPVS's "get-laddr" command. */
function isGetLaddr(argv: readonly string[]): boolean {
  const first = argv[0];
  return first === '--get-laddr' || (first !== undefined && /^-G/.test(first));
}

/**
 * Parses `-G [service]` with ipvsadm's grammar: get-laddr takes exactly the options of -Z (an
 * optional service), so the line is parsed as -Z and the command's name put back in messages.
 */
function parseGetLaddr(argv: readonly string[]): ServiceKey | null {
  const first = argv[0];
  const asZero = first === '--get-laddr' ? '--zero' : `-Z${first.slice(2)}`;
  try {
    const cmd = parseIpvsadmArgs([asZero, ...argv.slice(1)], PROGRAM_NAME);
    if (cmd.kind !== 'zero') throw new IpvsadmError(tryHelp(), EXIT_FAILURE);
    return cmd.service;
  } catch (e) {
    if (!(e instanceof IpvsadmError)) throw e;
    let message = e.message.split("the 'zero' command").join("the 'get-laddr' command");
    // popt quotes a bundle it refuses (`-ZK: unknown option`): show the user's own token.
    if (asZero !== '-Z' && asZero !== '--zero') message = message.split(asZero).join(first);
    throw new IpvsadmError(message, e.exitCode);
  }
}
