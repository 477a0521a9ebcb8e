#!/usr/bin/env node
/**
 * The `uvs` command: thin entry point. Subcommands parse their arguments here and call the room
 * that does the work; every user mistake ends in one clear line on stderr and a non-zero exit.
 */
// Each command loads only its own modules (a replay of a million packets is over in a few hundred
// milliseconds: loading the director's modules too would be a measurable part of it).
type ReplayModule = typeof import('./replay-command');
type DirectorModule = typeof import('../control/daemon/director-command');
type ExplainModule = typeof import('./explain-command');

const USAGE = `usage: uvs <command> [options]

commands:
  replay IN -o OUT --rules RULES --director DIRECTOR [--summary-json FILE] [--quiet]
        run a capture (pcap or pcapng) through the engine and write what the director transmits
  director --rules RULES --director DIRECTOR [--socket PATH] [--state FILE] [--group NAME]
           [--metrics HOST:PORT] [--replay IN [--replay-speed N|max] [--replay-out OUT] [--replay-loop]]
        run the director and serve uvsadm on a Unix socket (UVS_SOCKET, default /run/uvs/uvs.sock),
        Prometheus metrics on /metrics, and optionally feed it a capture (see uvs director -h)
  explain --rules RULES --director DIRECTOR [--pcap WARM.pcap] [--after S] [--flags F] [--json] tcp|udp CLIENT:PORT VIP:PORT
        which service, scheduler state and real server a packet would get, and why
  lab up --mode dr|nat|tun|fullnat [--rs N] [--scheduler S] [--name NAME] [--no-director] | status [--json] | down
        a network-namespace lab: client, router, director and real servers (see uvs lab -h)
  realserver --decap ipip [--dev NAME] [--tun NAME] [--max-inner BYTES]
        on a real server without the ipip module: receive the director's IPIP packets and hand the
        inner packets to the host through a TUN device (runs until SIGINT/SIGTERM)
  help  this text
`;

function main(argv: string[]): number {
  const [command, ...rest] = argv;
  switch (command) {
    case 'replay':
      return (require('./replay-command') as ReplayModule).runReplayCommand(rest);
    case 'director':
      return (require('../control/daemon/director-command') as DirectorModule).runDirectorCommand(rest);
    case 'explain':
      return (require('./explain-command') as ExplainModule).runExplainCommand(rest);
    case 'lab':
      return (require('./lab-command') as typeof import('./lab-command')).runLabCommand(rest);
    case 'realserver':
      return (require('./realserver-command') as typeof import('./realserver-command')).runRealserverCommand(rest);
    case 'help':
    case '-h':
    case '--help':
      process.stdout.write(USAGE);
      return 0;
    case undefined:
      process.stderr.write(USAGE);
      return 2;
    default:
      process.stderr.write(`uvs: unknown command '${command}'\n${USAGE}`);
      return 2;
  }
}

process.exitCode = main(process.argv.slice(2));
