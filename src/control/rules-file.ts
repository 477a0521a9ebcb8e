/**
 * The rules file: what `ipvsadm -S -n` prints (and `ipvsadm -R` reads), plus the FULLNAT
 * extensions of ipvsadm-args.ts. Each line is one ipvsadm command line: tokens are split on
 * spaces, tabs and carriage returns, and a leading `ipvsadm` token is dropped, so a file of
 * `ipvsadm -A ...` commands loads too. The commands are applied in order with the kernel's
 * semantics (rules-model.ts).
 *
 * Differences from `ipvsadm -R`, on purpose:
 * - a line whose first non-blank character is `#` is a comment (-R hands it to the option
 *   parser, which refuses it); blank lines are skipped (as -R does);
 * - every error stops the load, kernel refusals included (-R reports those and goes on), and
 *   nothing is applied: the caller gets a whole RulesConfig or a ConfigError naming the line;
 * - commands that make no sense in a file (-L, -S, -Z, -R, --start-daemon, --stop-daemon, -h,
 *   -v) are errors;
 * - at the end, every service with a --fullnat real server must have a local address (-P).
 */
import { readFileSync } from 'node:fs';
import { ConfigError, ForwardMethod, type RulesConfig, type ServiceConfig } from './config';
import { parseIpvsadmArgs, type IpvsadmCommand } from './ipvsadm-args';
import { IpvsadmError, KERNEL_MESSAGES } from './ipvsadm-error';
import { describeService, serviceOption } from './rules-format';
import { applyCommand, cloneRules, emptyRules, isConfigCommand, type ApplyOptions } from './rules-model';

export interface LoadRulesOptions extends ApplyOptions {
  /** Apply the file on top of this configuration (it is copied, never changed). Default: empty. */
  base?: RulesConfig;
}

/** Splits one line as ipvsadm -R does; null for a blank or comment line. */
export function rulesLineTokens(line: string): string[] | null {
  const tokens = line.split(/[ \t\r]+/).filter((t) => t !== '');
  if (tokens[0] === 'ipvsadm') tokens.shift();
  if (tokens.length === 0 || tokens[0].startsWith('#')) return null;
  return tokens;
}

const NOT_IN_FILE: Partial<Record<IpvsadmCommand['kind'], string>> = {
  list: '-L (list)',
  save: '-S (save)',
  zero: '-Z (zero)',
  restore: '-R (restore)',
  'start-daemon': '--start-daemon',
  'stop-daemon': '--stop-daemon',
  help: '-h (help)',
  version: '-v (version)',
};

/** Where each service's FULLNAT real servers were added, to name a line in the end check. */
type FullNatLines = WeakMap<ServiceConfig, Map<string, number>>;

export function loadRules(text: string, file: string, opts: LoadRulesOptions = {}): RulesConfig {
  const config = opts.base !== undefined ? cloneRules(opts.base) : emptyRules();
  const fullNatLines: FullNatLines = new WeakMap();
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const lineNo = i + 1;
    const tokens = rulesLineTokens(line);
    if (tokens === null) return;
    try {
      const cmd = parseIpvsadmArgs(tokens);
      if (!isConfigCommand(cmd)) {
        throw new ConfigError(file, lineNo, `${NOT_IN_FILE[cmd.kind] ?? cmd.kind} cannot be used in a rules file`);
      }
      const service = applyCommand(config, cmd, opts);
      if (service !== null && (cmd.kind === 'add-server' || cmd.kind === 'edit-server' || cmd.kind === 'delete-server')) {
        noteFullNat(fullNatLines, service, cmd.kind === 'delete-server' ? null : cmd.dest.method, destId(cmd.dest), lineNo);
      }
    } catch (e) {
      if (e instanceof IpvsadmError) throw new ConfigError(file, lineNo, explain(e.message.trimEnd(), tokens, opts));
      throw e;
    }
  });
  checkFullNatLocalAddresses(config, fullNatLines, file);
  return config;
}

/** ipvsadm's terse kernel messages, completed with what a file's reader needs to fix the line. */
function explain(message: string, tokens: string[], opts: LoadRulesOptions): string {
  if (message === KERNEL_MESSAGES.schedulerNotFound) {
    const i = tokens.findIndex((t) => t === '-s' || t === '--scheduler');
    const name = i >= 0 ? tokens[i + 1] : tokens.find((t) => t.startsWith('--scheduler='))?.slice(12);
    const known = opts.schedulers ?? [];
    if (name !== undefined) {
      return `${message}: '${name}'${known.length > 0 ? ` (known: ${[...known].sort().join(', ')})` : ''}`;
    }
  }
  if (message.startsWith('invalid scheduler flag') || message.startsWith('incompatible scheduler flag')) {
    return `${message} (valid: sh-fallback, sh-port with -s sh; mh-fallback, mh-port with -s mh; flag-1, flag-2, flag-3 with any)`;
  }
  return message;
}

export function loadRulesFile(path: string, opts: LoadRulesOptions = {}): RulesConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(path, 0, `cannot read the rules file: ${(e as Error).message}`);
  }
  return loadRules(text, path, opts);
}

function destId(d: { addr: { text: string }; port: number }): string {
  return `${d.addr.text}|${d.port}`;
}

function noteFullNat(lines: FullNatLines, s: ServiceConfig, method: ForwardMethod | null, id: string, lineNo: number): void {
  const m = lines.get(s) ?? new Map<string, number>();
  lines.set(s, m);
  if (method === ForwardMethod.FullNat) {
    if (!m.has(id)) m.set(id, lineNo);
  } else {
    m.delete(id);
  }
}

/** A FULLNAT service needs a local address to put as the source towards its real servers. */
function checkFullNatLocalAddresses(config: RulesConfig, lines: FullNatLines, file: string): void {
  let worst: { line: number; service: ServiceConfig } | null = null;
  for (const s of config.services) {
    if (s.laddrs.length > 0) continue;
    const ids = lines.get(s);
    for (const d of s.dests) {
      if (d.method !== ForwardMethod.FullNat) continue;
      const line = ids?.get(destId(d)) ?? 0;
      if (worst === null || line < worst.line) worst = { line, service: s };
    }
  }
  if (worst !== null) {
    const key = worst.service.key;
    throw new ConfigError(
      file,
      worst.line,
      `FULLNAT service ${describeService(key)} has no local address (-P ${serviceOption(key, false)} -z LADDR)`,
    );
  }
}
