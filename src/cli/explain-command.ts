/** Argument handling of `uvs explain`. */
import { ConfigError } from '../control/config';
import { CaptureFormatError } from '../pcap/capture-format-error';
import { explainFlow, formatExplain, type ExplainOptions } from './explain';

const USAGE = 'usage: uvs explain --rules RULES --director DIRECTOR [--pcap WARM.pcap] [--after SECONDS] [--flags syn|ack|fin|rst|synack] [--json] tcp|udp CLIENT:PORT VIP:PORT';

const FLAGS: Record<string, number> = { syn: 0x02, ack: 0x10, fin: 0x11, rst: 0x04, synack: 0x12, psh: 0x18 };

class UsageError extends Error {}

function parseEndpoint(text: string, what: string): { addr: string; port: number } {
  const m = /^\[([0-9A-Fa-f:.]+)\]:([0-9]+)$/.exec(text) ?? /^([0-9.]+):([0-9]+)$/.exec(text);
  if (m === null || Number(m[2]) > 65535) throw new UsageError(`bad ${what} "${text}" (expected ADDRESS:PORT or [IPv6]:PORT)`);
  return { addr: m[1], port: Number(m[2]) };
}

function parseArgs(args: string[]): { opts: ExplainOptions; json: boolean } {
  const named = new Map<string, string>();
  const positional: string[] = [];
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--json') {
      json = true;
    } else if (['--rules', '--director', '--pcap', '--after', '--flags'].includes(a)) {
      if (named.has(a)) throw new UsageError(`option ${a} given twice`);
      if (i + 1 >= args.length) throw new UsageError(`option ${a} needs a value`);
      named.set(a, args[++i]);
    } else if (a.startsWith('-')) {
      throw new UsageError(`unknown option ${a}`);
    } else {
      positional.push(a);
    }
  }
  const rules = named.get('--rules');
  const director = named.get('--director');
  if (rules === undefined) throw new UsageError('missing --rules RULES');
  if (director === undefined) throw new UsageError('missing --director DIRECTOR');
  if (positional.length !== 3) throw new UsageError('expected a protocol, the client and the virtual endpoint');
  const protocol = positional[0];
  if (protocol !== 'tcp' && protocol !== 'udp') throw new UsageError(`bad protocol "${protocol}" (tcp or udp)`);
  const afterText = named.get('--after');
  const after = afterText === undefined ? 0 : Number(afterText);
  if (!(after >= 0)) throw new UsageError(`bad --after "${afterText}" (seconds, >= 0)`);
  const flagsText = named.get('--flags');
  if (flagsText !== undefined && !(flagsText in FLAGS)) throw new UsageError(`bad --flags "${flagsText}" (${Object.keys(FLAGS).join(', ')})`);
  return {
    opts: {
      rules,
      director,
      warm: named.get('--pcap'),
      protocol,
      client: parseEndpoint(positional[1], 'client'),
      virtual: parseEndpoint(positional[2], 'virtual endpoint'),
      tcpFlags: flagsText === undefined ? undefined : FLAGS[flagsText],
      after,
    },
    json,
  };
}

export function runExplainCommand(argv: string[]): number {
  let parsed: { opts: ExplainOptions; json: boolean };
  try {
    parsed = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`uvs explain: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    throw e;
  }
  try {
    const report = explainFlow(parsed.opts);
    process.stdout.write(parsed.json ? JSON.stringify(report, null, 2) + '\n' : formatExplain(report));
    return 0;
  } catch (e) {
    if (e instanceof ConfigError || e instanceof CaptureFormatError || e instanceof Error) {
      process.stderr.write(`uvs explain: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
