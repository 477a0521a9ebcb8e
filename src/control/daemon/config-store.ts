/**
 * The director's configuration on disk (the --state file): the -S format with uvs's lossless
 * extensions (rules-format.ts `lossless`: thresholds, FULLNAT local addresses, --set timeouts,
 * creation and list order), so that a restarted director lists and saves exactly what it did.
 *
 * Writes are atomic: a temporary file in the same directory is written and fsynced, renamed over
 * the state file, and the directory is fsynced, so a crash leaves either the old or the new
 * configuration, never a mix.
 *
 * Loading replays the lines with the kernel's semantics (rules-model.ts), like a rules file, but
 * without the rules file's final FULLNAT check: a live configuration may hold a --fullnat real
 * server whose service has no local address yet, and must still load back as it was.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, type RulesConfig } from '../config';
import { parseIpvsadmArgs } from '../ipvsadm-args';
import { IpvsadmError } from '../ipvsadm-error';
import { rulesLineTokens } from '../rules-file';
import { formatRules } from '../rules-format';
import { applyCommand, emptyRules, isConfigCommand, type ApplyOptions } from '../rules-model';

export const DEFAULT_STATE_FILE = '/var/lib/uvs/rules.state';

/** The state file's text for a configuration. */
export function stateText(config: RulesConfig): string {
  return formatRules(config, { lossless: true });
}

/** Parses a state file's text; throws ConfigError naming the line. */
export function parseState(text: string, file: string, opts: ApplyOptions = {}): RulesConfig {
  const config = emptyRules();
  text.split('\n').forEach((line, i) => {
    const tokens = rulesLineTokens(line);
    if (tokens === null) return;
    try {
      const cmd = parseIpvsadmArgs(tokens);
      if (!isConfigCommand(cmd)) throw new ConfigError(file, i + 1, `'${tokens.join(' ')}' does not belong in a state file`);
      applyCommand(config, cmd, opts);
    } catch (e) {
      if (e instanceof IpvsadmError) throw new ConfigError(file, i + 1, e.message.trimEnd());
      throw e;
    }
  });
  return config;
}

/** The configuration in the state file, or null when there is no state file. */
export function loadState(file: string, opts: ApplyOptions = {}): RulesConfig | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ConfigError(file, 0, `cannot read the state file: ${(e as Error).message}`);
  }
  return parseState(text, file, opts);
}

/** Writes `text` to `file` atomically (temp file, fsync, rename, fsync of the directory). */
export function writeFileAtomic(file: string, text: string, mode = 0o600): void {
  writeFileAtomicWith(file, (fd) => {
    fs.writeSync(fd, text);
  }, mode);
}

/**
 * Atomically replaces `file` with what `write` writes to the descriptor it is given (as
 * writeFileAtomic); returns what `write` returned.
 */
export function writeFileAtomicWith<T>(file: string, write: (fd: number) => T, mode = 0o600): T {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = fs.openSync(tmp, 'w', mode);
  let result: T;
  try {
    result = write(fd);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  const dirFd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(dirFd);
  } finally {
    fs.closeSync(dirFd);
  }
  return result;
}

export function saveState(file: string, config: RulesConfig): void {
  writeFileAtomic(file, stateText(config));
}

/** Creates the state file's directory if needed (0755, like /var/lib/*). */
export function ensureStateDirectory(file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
}
