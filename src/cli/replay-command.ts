/** Argument handling and output of `uvs replay`. */
import { ConfigError } from '../control/config';
import { CaptureFormatError } from '../pcap/capture-format-error';
import { MAX_CONNECTIONS_LIMIT } from '../ipvs/engine';
import { formatSummary, replay, ReplayError, writeSummaryJson } from './replay';

interface ReplayArgs {
  input: string;
  output: string;
  rules: string;
  director: string;
  summaryJson: string | null;
  quiet: boolean;
  /** --max-connections: entries each connection table (IPv4, IPv6) may hold, or null for the default. */
  maxConnections: number | null;
}

const USAGE = 'usage: uvs replay IN -o OUT --rules RULES --director DIRECTOR [--summary-json FILE] [--max-connections N] [--quiet]\n';

class UsageError extends Error {}

const VALUE_OPTIONS: Record<string, keyof ReplayArgs> = {
  '-o': 'output',
  '--output': 'output',
  '--rules': 'rules',
  '--director': 'director',
  '--summary-json': 'summaryJson',
  '--max-connections': 'maxConnections',
};

function parseArgs(args: string[]): ReplayArgs {
  const got: Partial<Record<keyof ReplayArgs, string | boolean>> = {};
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    let a = args[i];
    let value: string | undefined;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) {
      value = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    if (a === '--quiet' || a === '-q') {
      got.quiet = true;
    } else if (a in VALUE_OPTIONS) {
      const key = VALUE_OPTIONS[a];
      if (got[key] !== undefined) throw new UsageError(`option ${a} given twice`);
      if (value === undefined) {
        if (i + 1 >= args.length) throw new UsageError(`option ${a} needs a value`);
        value = args[++i];
      }
      got[key] = value;
    } else if (a.startsWith('-') && a !== '-') {
      throw new UsageError(`unknown option ${a}`);
    } else {
      positional.push(a);
    }
  }
  if (positional.length !== 1) throw new UsageError(positional.length === 0 ? 'missing input capture' : `unexpected argument ${positional[1]}`);
  for (const [opt, key] of [['-o', 'output'], ['--rules', 'rules'], ['--director', 'director']] as const) {
    if (typeof got[key] !== 'string') throw new UsageError(`missing ${opt} ${key.toUpperCase()}`);
  }
  return {
    input: positional[0],
    output: got.output as string,
    rules: got.rules as string,
    director: got.director as string,
    summaryJson: typeof got.summaryJson === 'string' ? got.summaryJson : null,
    quiet: got.quiet === true,
    maxConnections: typeof got.maxConnections === 'string' ? parseMaxConnections(got.maxConnections) : null,
  };
}

/** A whole number of connection entries, 1 .. MAX_CONNECTIONS_LIMIT. */
function parseMaxConnections(text: string): number {
  const n = /^[0-9]{1,9}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= MAX_CONNECTIONS_LIMIT)) {
    throw new UsageError(`--max-connections: '${text}' is not a whole number from 1 to ${MAX_CONNECTIONS_LIMIT}`);
  }
  return n;
}

export function runReplayCommand(argv: string[]): number {
  let args: ReplayArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`uvs replay: ${e.message}\n${USAGE}`);
      return 2;
    }
    throw e;
  }
  const tty = process.stderr.isTTY === true && !args.quiet;
  try {
    const result = replay({
      input: args.input,
      output: args.output,
      rules: args.rules,
      director: args.director,
      ...(args.maxConnections !== null ? { maxConnections: args.maxConnections } : {}),
      progress: tty
        ? (frames, bytes, total) => {
          const pct = total > 0 ? ` (${((100 * bytes) / total).toFixed(0)}%)` : '';
          process.stderr.write(`\r${frames} frames${pct}`);
        }
        : undefined,
    });
    if (tty) process.stderr.write('\r\x1b[K');
    if (!args.quiet) process.stdout.write(formatSummary(result.summary, args.input, args.output));
    if (args.summaryJson !== null) writeSummaryJson(args.summaryJson, result.summary);
    return 0;
  } catch (e) {
    if (tty) process.stderr.write('\r\x1b[K');
    if (e instanceof ConfigError || e instanceof CaptureFormatError || e instanceof ReplayError) {
      process.stderr.write(`uvs replay: ${e.message}\n`);
      return 1;
    }
    if (e instanceof Error && 'code' in e && typeof (e as NodeJS.ErrnoException).code === 'string') {
      process.stderr.write(`uvs replay: ${e.message}\n`);
      return 1;
    }
    if (e instanceof Error && /^unknown scheduler/.test(e.message)) {
      process.stderr.write(`uvs replay: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
