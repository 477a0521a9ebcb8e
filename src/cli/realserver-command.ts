/**
 * `uvs realserver --decap ipip [--dev NAME] [--tun NAME] [--max-inner BYTES]`: the real-server
 * side of TUN forwarding on hosts without the ipip module. Receives the director's IP-in-IPv4
 * packets, strips the outer header and writes the inner packet into a TUN device, so the host
 * receives it as its kernel would have. Runs until SIGINT/SIGTERM; one JSON line on stdout when it
 * starts and one with the counters when it stops.
 */
import { IpipDecapService } from '../realserver/decap-service';

const USAGE = `usage: uvs realserver --decap ipip [--dev NAME] [--tun NAME] [--max-inner BYTES]
  --decap ipip       decapsulate IP-in-IPv4 (protocol 4, and 41 for inner IPv6) addressed to this host
  --dev NAME         only packets that arrived on interface NAME (others get the kernel's usual answer)
  --tun NAME         the TUN device inner packets are written to (default uvs-decap0)
  --max-inner BYTES  drop inner packets longer than this (default 65535: the kernel's TUN takes any size)`;

class UsageError extends Error {}

interface RealserverArgs {
  tun: string;
  device?: string;
  maxInner: number;
}

function parseArgs(argv: string[]): RealserverArgs | 'help' {
  const named = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') return 'help';
    if (!['--decap', '--dev', '--tun', '--max-inner'].includes(a)) throw new UsageError(`unknown argument ${a}`);
    if (named.has(a)) throw new UsageError(`option ${a} given twice`);
    if (i + 1 >= argv.length) throw new UsageError(`option ${a} needs a value`);
    named.set(a, argv[++i]);
  }
  const decap = named.get('--decap');
  if (decap === undefined) throw new UsageError('missing --decap ipip');
  if (decap !== 'ipip') throw new UsageError(`unknown --decap "${decap}" (only ipip)`);
  const tun = named.get('--tun') ?? 'uvs-decap0';
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(tun)) throw new UsageError(`bad --tun "${tun}" (1 to 15 letters, digits, . _ -)`);
  const device = named.get('--dev');
  if (device !== undefined && !/^[A-Za-z0-9_.@:-]{1,15}$/.test(device)) throw new UsageError(`bad --dev "${device}"`);
  const maxText = named.get('--max-inner');
  const maxInner = maxText === undefined ? 65535 : Number(maxText);
  if (!Number.isInteger(maxInner) || maxInner < 20 || maxInner > 65535) {
    throw new UsageError(`bad --max-inner "${maxText}" (20 to 65535)`);
  }
  return { tun, device, maxInner };
}

export function runRealserverCommand(argv: string[]): number {
  let args: RealserverArgs | 'help';
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`uvs realserver: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    throw e;
  }
  if (args === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }

  let service: IpipDecapService;
  try {
    service = IpipDecapService.start({
      tun: args.tun,
      device: args.device,
      maxInner: args.maxInner,
      onError: (message) => process.stderr.write(`uvs realserver: ${message}\n`),
    });
  } catch (e) {
    process.stderr.write(`uvs realserver: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  const log = (o: unknown): void => {
    process.stdout.write(`${JSON.stringify(o)}\n`);
  };
  log({ event: 'start', decap: 'ipip', device: args.device ?? null, tun: service.tunName, maxInner: args.maxInner });

  const stop = (signal: NodeJS.Signals): void => {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
    service.stop();
    log({ event: 'stop', signal, ...service.counters.toJSON(), tunDiscarded: service.tunDiscarded });
    process.exitCode = 0;
    // Everything is closed, so the event loop ends by itself; should a handle linger, do not hang.
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return 0;
}
