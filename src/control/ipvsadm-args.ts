/**
 * The ipvsadm 1.31 command line, as data: one argv (already split into tokens, without the
 * program name) becomes one typed command, or an IpvsadmError carrying the exact message and
 * exit status ipvsadm gives. Shared by the rules-file loader and uvsadm.
 *
 * How ipvsadm reads its arguments (popt), reproduced here:
 * - short options may be bundled (`-Ln`); a short option that takes a value uses the rest of
 *   its bundle (`-w3`, `-w=3`) or else the next token, whatever it looks like (`-w -1`);
 * - long options take `--opt=value` or `--opt value`; `-p`/`--persistent` takes the next token
 *   only when it does not start with '-';
 * - tokens that are not options are kept aside ("--" makes all the rest such tokens): `--set`
 *   takes three of them, any other is "unexpected argument X";
 * - the first option must be a command; a command later on is "invalid option `X'";
 * - every option may be given once; options are handled left to right, so their order
 *   matters where it matters to ipvsadm (`-r` before `-t` takes port 0, `-M` before an IPv6
 *   `-t` is overridden, `-6` needs an `-f` before it).
 * After the options come, in ipvsadm's order: the --set values, leftover tokens, the -b
 * flags, the legal-options table, the service checks and the real-server checks.
 *
 * uvs extensions (FULLNAT, as DPVS and Alibaba LVS spell them, except that 1.31's `-b` stays
 * --sched-flags): `--fullnat` forwarding; `-P/--add-laddr` and `-Q/--del-laddr` with
 * `-z/--laddr ADDR` on a service. uvs resolves no names: a host name is refused with
 * HOST_NAMES_NOT_RESOLVED and a port name with PORT_NAMES_NOT_RESOLVED (exit 2).
 */
import {
  ForwardMethod,
  SCHED_FLAG_1,
  SCHED_FLAG_2,
  SCHED_FLAG_3,
  type DestConfig,
  type IpAddress,
  type Protocol,
  type ServiceConfig,
  type ServiceKey,
  type TimeoutConfig,
  type TunnelChecksum,
  type TunnelType,
} from './config';
import {
  HOST_NAMES_NOT_RESOLVED,
  ipv4FromNumber,
  looksLikeHostName,
  parseInetAton,
  parseIpv4,
  parseIpv6,
  tryParseIp,
} from './ip-address';
import { EXIT_FAILURE, EXIT_PARSE, IpvsadmError } from './ipvsadm-error';

export const PORT_NAMES_NOT_RESOLVED = 'port names are not resolved; use a numeric port';

/** Longest persistence or protocol timeout ipvsadm accepts: 31 days. */
export const MAX_TIMEOUT = 86400 * 31;
/** -p without a value. */
export const DEFAULT_PERSISTENT_TIMEOUT = 360;
export const DEFAULT_SCHEDULER = 'wlc';
export const DEFAULT_MCAST_INTERFACE = 'eth0';
const INT_MAX = 2147483647;
const SCHED_NAME_MAX = 15;
const IFNAME_MAX = 15;

// ---------------------------------------------------------------------------------------------
// The commands' results

/** What -A/-E set on a service: everything of ServiceConfig but its identity and members. */
export type ServiceSettings = Omit<ServiceConfig, 'key' | 'laddrs' | 'dests'>;

export interface DestAddress {
  addr: IpAddress;
  port: number;
}

export interface ListCommand {
  kind: 'list';
  /** What to list: -c, -t/-u/-f (one service), --timeout, --daemon, or everything. */
  target: 'services' | 'service' | 'connections' | 'timeout' | 'daemon';
  service: ServiceKey | null;
  numeric: boolean;
  stats: boolean;
  rate: boolean;
  thresholds: boolean;
  persistentConn: boolean;
  nosort: boolean;
  exact: boolean;
  tunInfo: boolean;
}

export interface StartDaemonCommand {
  kind: 'start-daemon';
  state: 'master' | 'backup';
  mcastInterface: string;
  syncId: number;
  /** null = the kernel's default group. */
  mcastGroup: IpAddress | null;
  /** 0 = default. */
  mcastPort: number;
  mcastTtl: number;
  syncMaxLen: number;
}

export type IpvsadmCommand =
  | { kind: 'add-service' | 'edit-service'; service: ServiceKey; settings: ServiceSettings }
  | { kind: 'delete-service'; service: ServiceKey }
  | { kind: 'flush' }
  | { kind: 'add-server' | 'edit-server'; service: ServiceKey; dest: DestConfig }
  | { kind: 'delete-server'; service: ServiceKey; dest: DestAddress }
  | { kind: 'set'; timeouts: TimeoutConfig }
  | { kind: 'add-laddr' | 'del-laddr'; service: ServiceKey; laddr: IpAddress }
  | { kind: 'zero'; service: ServiceKey | null }
  | { kind: 'save'; numeric: boolean }
  | { kind: 'restore' }
  | { kind: 'stop-daemon'; state: 'master' | 'backup'; syncId: number }
  | { kind: 'help' }
  | { kind: 'version' }
  | ListCommand
  | StartDaemonCommand;

export type CommandKind = IpvsadmCommand['kind'];

// ---------------------------------------------------------------------------------------------
// The option columns and the legal-combinations table (ipvsadm's order: messages name the first
// offending column in this order, not in argv order).

const COLUMN_NAMES = [
  'numeric', 'connection', 'service-address', 'scheduler', 'persistent', 'netmask', 'real-server',
  'forwarding-method', 'weight', 'u-threshold', 'l-threshold', 'mcast-interface', 'timeout', 'daemon',
  'stats', 'rate', 'thresholds', 'persistent-conn', 'nosort', 'syncid', 'exact', 'ops', 'pe',
  'sched-flags', 'mcast-group', 'mcast-port', 'mcast-ttl', 'sync-maxlen', 'tun-info', 'tun-type',
  'tun-port', 'tun-nocsum', 'tun-csum', 'tun-remcsum',
  'laddr', // uvs
] as const;
type Column = (typeof COLUMN_NAMES)[number];
const col = (name: Column): number => COLUMN_NAMES.indexOf(name);

type TableCommand = Exclude<CommandKind, 'help' | 'version'>;

/**
 * Per command, one character per column: '+' required, 'x' illegal, '1' at most one of the '1'
 * columns, ' ' optional. The first 34 columns are ipvsadm 1.31's table; the last is `laddr`.
 */
const LEGAL: Readonly<Record<TableCommand, string>> = {
  'add-service':    'xx+   xxxxxxxxxxxxxxx   xxxxxxxxxx' + 'x',
  'edit-service':   'xx+   xxxxxxxxxxxxxxx   xxxxxxxxxx' + 'x',
  'delete-service': 'xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' + 'x',
  flush:            'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' + 'x',
  list:             ' 11xxxxxxxxx11       xxxxxxx xxxxx' + 'x',
  'add-server':     'xx+xxx+    xxxxxxxxxxxxxxxxxx     ' + 'x',
  'delete-server':  'xx+xxx+xxxxxxxxxxxxxxxxxxxxxxxxxxx' + 'x',
  'edit-server':    'xx+xxx+    xxxxxxxxxxxxxxxxxx     ' + 'x',
  set:              'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' + 'x',
  'start-daemon':   'xxxxxxxxxxx xxxxxxx xxxx    xxxxxx' + 'x',
  'stop-daemon':    'xxxxxxxxxxxxxxxxxxx xxxxxxxxxxxxxx' + 'x',
  restore:          'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' + 'x',
  save:             ' xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' + 'x',
  zero:             'xx xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' + 'x',
  'add-laddr':      'xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' + '+',
  'del-laddr':      'xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' + '+',
};

/** Per tunnel type, the columns tun-port, tun-nocsum, tun-csum, tun-remcsum (same key). */
const TUNNEL_COLUMNS: readonly Column[] = ['tun-port', 'tun-nocsum', 'tun-csum', 'tun-remcsum'];
const TUNNEL_LEGAL: Readonly<Record<TunnelType, string>> = { ipip: 'xxxx', gue: '+111', gre: 'x11x' };

// ---------------------------------------------------------------------------------------------
// Parse state: what the options have said so far (ipvsadm's defaults before any option)

class ParseState {
  command: TableCommand | null = null;
  readonly seen: boolean[] = new Array<boolean>(COLUMN_NAMES.length).fill(false);
  readonly leftovers: string[] = [];
  // service
  af: 0 | 4 | 6 = 0;
  protocol: Protocol = 'tcp';
  addr: IpAddress | null = null;
  port = 0;
  fwmark = 0;
  scheduler = '';
  persistent = false;
  timeout = 0;
  /** IPv4: host-order mask; IPv6: prefix length. */
  netmask = 0xffffffff;
  ops = false;
  pe = '';
  schedFlagsArg = '';
  // real server
  destAddr: IpAddress | null = null;
  destPort = 0;
  method: ForwardMethod = ForwardMethod.Route;
  weight = 1;
  uThreshold = 0;
  lThreshold = 0;
  tunType: TunnelType = 'ipip';
  tunPort = 0;
  tunChecksum: TunnelChecksum = 'nocsum';
  // sync daemon
  daemonState: 'master' | 'backup' = 'master';
  mcastInterface = '';
  syncId = 0;
  mcastGroup: IpAddress | null = null;
  mcastPort = 0;
  mcastTtl = 0;
  syncMaxLen = 0;
  // FULLNAT
  laddr: IpAddress | null = null;

  /** ipvsadm's set_option: each column once. */
  set(column: Column): void {
    const i = col(column);
    if (this.seen[i]) fail(`multiple '${column}' options specified`);
    this.seen[i] = true;
  }

  has(column: Column): boolean {
    return this.seen[col(column)];
  }
}

function fail(message: string, exitCode = EXIT_PARSE): never {
  throw new IpvsadmError(message, exitCode);
}

// ---------------------------------------------------------------------------------------------
// The option table

type ArgKind = 'none' | 'required' | 'optional';

interface OptionDef {
  long: string;
  short?: string;
  arg: ArgKind;
  /** Set for the commands (legal only as the first option). */
  command?: TableCommand | 'help' | 'version';
  /** What the option does to the parse state; for commands, checks the command's argument. */
  handle?: (st: ParseState, arg: string) => void;
}

const cmd = (long: string, short: string | undefined, command: OptionDef['command']): OptionDef => ({
  long,
  short,
  arg: 'none',
  command,
});
const flag = (long: string, short: string | undefined, column: Column): OptionDef => ({
  long,
  short,
  arg: 'none',
  handle: (st) => st.set(column),
});
const numberOption = (
  long: string,
  short: string | undefined,
  column: Column,
  min: number,
  max: number,
  message: string,
  store: (st: ParseState, n: number) => void,
): OptionDef => ({
  long,
  short,
  arg: 'required',
  handle: (st, arg) => {
    st.set(column);
    const n = stringToNumber(arg, min, max);
    if (n < 0) fail(message);
    store(st, n);
  },
});
const method = (long: string, short: string | undefined, m: ForwardMethod): OptionDef => ({
  long,
  short,
  arg: 'none',
  handle: (st) => {
    st.set('forwarding-method');
    st.method = m;
  },
});
const tunnelChecksum = (long: string, value: TunnelChecksum): OptionDef => ({
  long,
  arg: 'none',
  handle: (st) => {
    st.set(`tun-${value}`);
    st.tunChecksum = value;
  },
});
const serviceAddress = (long: string, short: string | undefined, protocol: Protocol): OptionDef => ({
  long,
  short,
  arg: 'required',
  handle: (st, arg) => {
    st.set('service-address');
    st.protocol = protocol;
    const hp = parseHostPort(arg);
    if (typeof hp === 'string') fail(hp === BAD ? 'illegal virtual server address[:port] specified' : hp);
    st.af = hp.addr.af;
    st.addr = hp.addr;
    if (hp.addr.af === 6) st.netmask = 128;
    if (hp.port !== null) st.port = hp.port;
  },
});
const daemonCommand = (long: string, command: 'start-daemon' | 'stop-daemon', message: string): OptionDef => ({
  long,
  arg: 'required',
  command,
  handle: (st, arg) => {
    if (arg !== 'master' && arg !== 'backup') fail(message);
    st.daemonState = arg;
  },
});

const OPTIONS: readonly OptionDef[] = [
  cmd('add-service', 'A', 'add-service'),
  cmd('edit-service', 'E', 'edit-service'),
  cmd('delete-service', 'D', 'delete-service'),
  cmd('clear', 'C', 'flush'),
  cmd('list', 'L', 'list'),
  cmd('list', 'l', 'list'),
  cmd('zero', 'Z', 'zero'),
  cmd('add-server', 'a', 'add-server'),
  cmd('edit-server', 'e', 'edit-server'),
  cmd('delete-server', 'd', 'delete-server'),
  cmd('set', undefined, 'set'),
  cmd('help', 'h', 'help'),
  cmd('version', 'v', 'version'),
  cmd('restore', 'R', 'restore'),
  cmd('save', 'S', 'save'),
  cmd('add-laddr', 'P', 'add-laddr'),
  cmd('del-laddr', 'Q', 'del-laddr'),
  daemonCommand('start-daemon', 'start-daemon', 'illegal start-daemon parameter specified'),
  daemonCommand('stop-daemon', 'stop-daemon', 'illegal start_daemon specified'),
  serviceAddress('tcp-service', 't', 'tcp'),
  serviceAddress('udp-service', 'u', 'udp'),
  serviceAddress('sctp-service', undefined, 'sctp'),
  {
    long: 'fwmark-service',
    short: 'f',
    arg: 'required',
    handle: (st, arg) => {
      st.set('service-address');
      st.af = 4;
      st.protocol = 'tcp';
      const n = strtol(arg);
      if (n === null || n <= 0 || n > 0xffffffff) fail(`invalid fwmark value \`${arg}' specified`);
      st.fwmark = n;
    },
  },
  {
    long: 'scheduler',
    short: 's',
    arg: 'required',
    handle: (st, arg) => {
      st.set('scheduler');
      st.scheduler = arg.slice(0, SCHED_NAME_MAX);
    },
  },
  {
    long: 'persistent',
    short: 'p',
    arg: 'optional',
    handle: (st, arg) => {
      st.set('persistent');
      st.persistent = true;
      st.timeout = arg === NO_ARG ? DEFAULT_PERSISTENT_TIMEOUT : parseTimeout(arg, 1);
    },
  },
  {
    long: 'netmask',
    short: 'M',
    arg: 'required',
    handle: (st, arg) => {
      st.set('netmask');
      if (st.af !== 6) {
        const mask = parseInetAton(arg);
        if (mask === null) {
          fail(looksLikeHostName(arg) ? HOST_NAMES_NOT_RESOLVED : 'illegal virtual server persistent mask specified');
        }
        st.netmask = mask;
      } else {
        const plen = atoi(arg);
        if (plen < 1 || plen > 128) fail('illegal ipv6 netmask specified');
        st.netmask = plen;
      }
    },
  },
  {
    long: 'real-server',
    short: 'r',
    arg: 'required',
    handle: (st, arg) => {
      st.set('real-server');
      const hp = parseHostPort(arg);
      if (typeof hp === 'string') fail(hp === BAD ? 'illegal real server address[:port] specified' : hp);
      st.destAddr = hp.addr;
      // no port given: the service port as known at this point (0 if -t comes later)
      st.destPort = hp.port ?? st.port;
    },
  },
  method('masquerading', 'm', ForwardMethod.Masq),
  method('ipip', 'i', ForwardMethod.Tunnel),
  method('gatewaying', 'g', ForwardMethod.Route),
  method('fullnat', undefined, ForwardMethod.FullNat),
  numberOption('weight', 'w', 'weight', 0, 65535, 'illegal weight specified', (st, n) => (st.weight = n)),
  numberOption('u-threshold', 'x', 'u-threshold', 0, INT_MAX, 'illegal u_threshold specified', (st, n) => (st.uThreshold = n)),
  numberOption('l-threshold', 'y', 'l-threshold', 0, INT_MAX, 'illegal l_threshold specified', (st, n) => (st.lThreshold = n)),
  flag('numeric', 'n', 'numeric'),
  flag('connection', 'c', 'connection'),
  {
    long: 'mcast-interface',
    arg: 'required',
    handle: (st, arg) => {
      st.set('mcast-interface');
      st.mcastInterface = arg.slice(0, IFNAME_MAX);
    },
  },
  numberOption('syncid', undefined, 'syncid', 0, 255, 'illegal syncid specified', (st, n) => (st.syncId = n)),
  flag('timeout', undefined, 'timeout'),
  flag('daemon', undefined, 'daemon'),
  flag('stats', undefined, 'stats'),
  flag('rate', undefined, 'rate'),
  flag('thresholds', undefined, 'thresholds'),
  flag('persistent-conn', undefined, 'persistent-conn'),
  flag('nosort', undefined, 'nosort'),
  { long: 'sort', arg: 'none', handle: () => undefined },
  flag('exact', 'X', 'exact'),
  {
    long: 'ipv6',
    short: '6',
    arg: 'none',
    handle: (st) => {
      if (st.fwmark === 0) fail('-6 used before -f\n');
      st.af = 6;
      st.netmask = 128;
    },
  },
  {
    long: 'ops',
    short: 'o',
    arg: 'none',
    handle: (st) => {
      st.set('ops');
      st.ops = true;
    },
  },
  {
    long: 'pe',
    arg: 'required',
    handle: (st, arg) => {
      st.set('pe');
      st.pe = arg;
    },
  },
  {
    long: 'sched-flags',
    short: 'b',
    arg: 'required',
    handle: (st, arg) => {
      st.set('sched-flags');
      st.schedFlagsArg = arg;
    },
  },
  {
    long: 'mcast-group',
    arg: 'required',
    handle: (st, arg) => {
      st.set('mcast-group');
      if (arg.includes(':')) {
        const a = parseIpv6(arg);
        if (a === null || a.bytes[0] !== 0xff) fail(`invalid IPv6 mcast-group \`${arg}'`);
        st.mcastGroup = a;
      } else {
        const a = parseIpv4(arg);
        if (a === null || (a.bytes[0] & 0xf0) !== 0xe0) fail(`invalid IPv4 mcast-group \`${arg}'`);
        st.mcastGroup = a;
      }
    },
  },
  numberOption('mcast-port', undefined, 'mcast-port', 1, 65535, 'illegal mcast-port specified', (st, n) => (st.mcastPort = n)),
  numberOption('mcast-ttl', undefined, 'mcast-ttl', 1, 255, 'illegal mcast-ttl specified', (st, n) => (st.mcastTtl = n)),
  numberOption('sync-maxlen', undefined, 'sync-maxlen', 1, 65535 - 20 - 8, 'illegal sync-maxlen specified', (st, n) => (st.syncMaxLen = n)),
  flag('tun-info', undefined, 'tun-info'),
  {
    long: 'tun-type',
    arg: 'required',
    handle: (st, arg) => {
      st.set('tun-type');
      if (arg !== 'ipip' && arg !== 'gue' && arg !== 'gre') fail('illegal tunnel type specified');
      st.tunType = arg;
    },
  },
  numberOption('tun-port', undefined, 'tun-port', 1, 65535, 'illegal tunnel port specified', (st, n) => (st.tunPort = n)),
  tunnelChecksum('tun-nocsum', 'nocsum'),
  tunnelChecksum('tun-csum', 'csum'),
  tunnelChecksum('tun-remcsum', 'remcsum'),
  {
    long: 'laddr',
    short: 'z',
    arg: 'required',
    handle: (st, arg) => {
      st.set('laddr');
      const a = tryParseIp(arg);
      if (a === null) fail(looksLikeHostName(arg) ? HOST_NAMES_NOT_RESOLVED : 'illegal local address specified');
      st.laddr = a;
    },
  },
];

const BY_LONG = new Map(OPTIONS.map((o) => [o.long, o]));
const BY_SHORT = new Map(OPTIONS.filter((o) => o.short !== undefined).map((o) => [o.short as string, o]));

// ---------------------------------------------------------------------------------------------
// popt's reading of argv

const NO_ARG = '\u0000no-argument';

interface FoundOption {
  def: OptionDef;
  /** The value, or NO_ARG for an option given none. */
  arg: string;
  /** The argv token the option came from (what error messages quote). */
  token: string;
}

/** An error popt itself reports ("TOKEN: unknown option"), as opposed to one of ipvsadm's. */
class PoptError extends Error {}

class ArgReader {
  private index = 0;
  /** Rest of a bundle of short options, and the token it came from. */
  private bundle = '';
  private bundleToken = '';
  private endOfOptions = false;

  constructor(
    private readonly argv: readonly string[],
    private readonly leftovers: string[],
  ) {}

  /** The next option, or null at the end of argv. Non-option tokens go to `leftovers`. */
  next(): FoundOption | null {
    if (this.bundle !== '') return this.nextShort();
    while (this.index < this.argv.length) {
      const token = this.argv[this.index++];
      if (this.endOfOptions || token === '-' || !token.startsWith('-')) {
        this.leftovers.push(token);
      } else if (token === '--') {
        this.endOfOptions = true;
      } else if (token.startsWith('--')) {
        return this.long(token);
      } else {
        this.bundle = token.slice(1);
        this.bundleToken = token;
        return this.nextShort();
      }
    }
    return null;
  }

  private long(token: string): FoundOption {
    const eq = token.indexOf('=');
    const name = eq < 0 ? token.slice(2) : token.slice(2, eq);
    const def = BY_LONG.get(name);
    if (def === undefined) throw new PoptError(`${token}: unknown option`);
    if (def.arg === 'none') {
      if (eq >= 0) throw new PoptError(`${token}: option does not take an argument`);
      return { def, arg: NO_ARG, token };
    }
    if (eq >= 0) return { def, arg: token.slice(eq + 1), token };
    return { def, arg: this.value(def, token), token };
  }

  private nextShort(): FoundOption {
    const token = this.bundleToken;
    const def = BY_SHORT.get(this.bundle[0]);
    this.bundle = this.bundle.slice(1);
    if (def === undefined) {
      this.bundle = '';
      throw new PoptError(`${token}: unknown option`);
    }
    if (def.arg === 'none') return { def, arg: NO_ARG, token };
    if (this.bundle !== '') {
      const rest = this.bundle.startsWith('=') ? this.bundle.slice(1) : this.bundle;
      this.bundle = '';
      return { def, arg: rest, token };
    }
    return { def, arg: this.value(def, token), token };
  }

  /** The value of an option from the next token. */
  private value(def: OptionDef, token: string): string {
    const nextToken = this.argv[this.index];
    if (def.arg === 'optional') {
      if (nextToken === undefined || nextToken.startsWith('-')) return NO_ARG;
      this.index++;
      return nextToken;
    }
    if (nextToken === undefined) throw new PoptError(`${token}: missing argument`);
    this.index++;
    return nextToken;
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing one command line

/**
 * Parses one ipvsadm command line (argv without the program name). `program` is the name
 * ipvsadm substitutes in its "Try ... -h" message. Throws IpvsadmError.
 */
export function parseIpvsadmArgs(argv: readonly string[], program = 'ipvsadm'): IpvsadmCommand {
  if (argv.length === 0) return listCommand(new ParseState());
  const st = new ParseState();
  const reader = new ArgReader(argv, st.leftovers);
  const tryHelp = (): never =>
    fail(`Try \`${program} -h' or '${program} --help' for more information.`, EXIT_FAILURE);

  // The first option is the command.
  let first: FoundOption | null;
  try {
    first = reader.next();
  } catch (e) {
    if (e instanceof PoptError) return tryHelp();
    throw e;
  }
  if (first === null || first.def.command === undefined) return tryHelp();
  if (first.def.command === 'help' || first.def.command === 'version') return { kind: first.def.command };
  st.command = first.def.command;
  first.def.handle?.(st, first.arg);

  for (;;) {
    let found: FoundOption | null;
    try {
      found = reader.next();
    } catch (e) {
      if (e instanceof PoptError) fail(e.message, EXIT_FAILURE);
      throw e;
    }
    if (found === null) break;
    if (found.def.command !== undefined || found.def.handle === undefined) {
      fail(`invalid option \`${found.token}'`);
    }
    found.def.handle(st, found.arg);
  }
  return finish(st);
}

function finish(st: ParseState): IpvsadmCommand {
  const command = st.command as TableCommand;
  let timeouts: TimeoutConfig | null = null;
  if (command === 'set') {
    if (st.leftovers.length < 3) fail('--set option requires 3 timeout values');
    const [tcp, tcpFin, udp] = st.leftovers.splice(0, 3).map((v) => parseTimeout(v, 0));
    timeouts = { tcp, tcpFin, udp };
  }
  if (st.leftovers.length > 0) fail(`unexpected argument ${st.leftovers[0]}`);
  const schedFlags = st.schedFlagsArg === '' ? 0 : parseSchedFlags(st.scheduler || DEFAULT_SCHEDULER, st.schedFlagsArg);

  checkLegalOptions(command, st);

  if (command === 'add-service' || command === 'edit-service') {
    if (st.fwmark === 0 && st.port === 0 && !st.persistent) fail('Zero port specified for non-persistent service');
    if (st.ops && st.fwmark === 0 && st.protocol !== 'udp') fail('One-Packet Scheduling is only for UDP virtual services');
  }
  if (command === 'add-server' || command === 'edit-server') checkRealServer(st);
  if (command === 'list') checkListConflicts(st);

  switch (command) {
    case 'add-service':
    case 'edit-service':
      return { kind: command, service: serviceKey(st), settings: serviceSettings(st, schedFlags) };
    case 'delete-service':
      return { kind: command, service: serviceKey(st) };
    case 'flush':
    case 'restore':
      return { kind: command };
    case 'add-server':
    case 'edit-server':
      return { kind: command, service: serviceKey(st), dest: destConfig(st) };
    case 'delete-server':
      return { kind: command, service: serviceKey(st), dest: { addr: st.destAddr as IpAddress, port: st.destPort } };
    case 'set':
      return { kind: command, timeouts: timeouts as TimeoutConfig };
    case 'add-laddr':
    case 'del-laddr':
      return { kind: command, service: serviceKey(st), laddr: st.laddr as IpAddress };
    case 'zero':
      return { kind: command, service: st.has('service-address') ? serviceKey(st) : null };
    case 'save':
      return { kind: command, numeric: st.has('numeric') };
    case 'list':
      return listCommand(st);
    case 'start-daemon':
      return {
        kind: command,
        state: st.daemonState,
        mcastInterface: st.mcastInterface || DEFAULT_MCAST_INTERFACE,
        syncId: st.syncId,
        mcastGroup: st.mcastGroup,
        mcastPort: st.mcastPort,
        mcastTtl: st.mcastTtl,
        syncMaxLen: st.syncMaxLen,
      };
    case 'stop-daemon':
      return { kind: command, state: st.daemonState, syncId: st.syncId };
  }
}

function checkLegalOptions(command: TableCommand, st: ParseState): void {
  checkTable(LEGAL[command], COLUMN_NAMES, st, `the '${command}' command`);
}

/** ipvsadm's walk over one row of a legality table, column by column. */
function checkTable(row: string, columns: readonly Column[], st: ParseState, what: string): void {
  let firstExclusive: Column | null = null;
  columns.forEach((column, j) => {
    const rule = row[j];
    if (!st.has(column)) {
      if (rule === '+') fail(`You need to supply the '${column}' option for ${what}`);
      return;
    }
    if (rule === 'x') fail(`Illegal '${column}' option with ${what}`);
    if (rule === '1') {
      if (firstExclusive === null) firstExclusive = column;
      else fail(`The option '${column}' conflicts with the '${firstExclusive}' option in ${what}`);
    }
  });
}

function checkRealServer(st: ParseState): void {
  const m = st.method;
  // DR and TUN cannot change the port: the real server gets the service port.
  if (st.fwmark === 0 && (m === ForwardMethod.Tunnel || m === ForwardMethod.Route)) st.destPort = st.port;
  const destAf = (st.destAddr as IpAddress).af;
  if (destAf !== st.af && m !== ForwardMethod.Tunnel) fail('Different address family is allowed only for tunneling servers');
  const tunnelOptions = TUNNEL_COLUMNS.some((c) => st.has(c)) || st.has('tun-type');
  if (tunnelOptions && m !== ForwardMethod.Tunnel) fail('Tunnel options conflict with forward method');
  checkTable(TUNNEL_LEGAL[st.tunType], TUNNEL_COLUMNS, st, `the '${st.tunType}' tunnel type`);
}

function checkListConflicts(st: ParseState): void {
  const which = (...cs: Column[]): boolean => cs.some((c) => st.has(c));
  if (
    (which('connection', 'timeout', 'daemon') && which('stats', 'rate', 'thresholds')) ||
    (which('timeout', 'daemon') && which('persistent-conn'))
  ) {
    fail('options conflicts in the list command');
  }
}

function listCommand(st: ParseState): ListCommand {
  const target: ListCommand['target'] = st.has('connection')
    ? 'connections'
    : st.has('service-address')
      ? 'service'
      : st.has('timeout')
        ? 'timeout'
        : st.has('daemon')
          ? 'daemon'
          : 'services';
  return {
    kind: 'list',
    target,
    service: target === 'service' ? serviceKey(st) : null,
    numeric: st.has('numeric'),
    stats: st.has('stats'),
    rate: st.has('rate'),
    thresholds: st.has('thresholds'),
    persistentConn: st.has('persistent-conn'),
    nosort: st.has('nosort'),
    exact: st.has('exact'),
    tunInfo: st.has('tun-info'),
  };
}

function serviceKey(st: ParseState): ServiceKey {
  if (st.fwmark !== 0) return { kind: 'fwmark', fwmark: st.fwmark, af: st.af === 6 ? 6 : 4 };
  return { kind: 'addr', protocol: st.protocol, addr: st.addr as IpAddress, port: st.port };
}

function serviceSettings(st: ParseState, schedFlags: number): ServiceSettings {
  return {
    scheduler: st.scheduler || DEFAULT_SCHEDULER,
    schedFlags,
    persistent: st.persistent,
    timeout: st.persistent ? st.timeout : 0,
    netmask: st.netmask,
    ops: st.ops,
    pe: st.pe === '' ? null : st.pe,
  };
}

function destConfig(st: ParseState): DestConfig {
  return {
    addr: st.destAddr as IpAddress,
    port: st.destPort,
    method: st.method,
    weight: st.weight,
    uThreshold: st.uThreshold,
    lThreshold: st.lThreshold,
    tunType: st.tunType,
    tunPort: st.tunPort,
    tunChecksum: st.tunChecksum,
  };
}

// ---------------------------------------------------------------------------------------------
// Values

const SCHED_FLAG_NAMES: Readonly<Record<string, { bit: number; scheduler: string | null }>> = {
  'flag-1': { bit: SCHED_FLAG_1, scheduler: null },
  'flag-2': { bit: SCHED_FLAG_2, scheduler: null },
  'flag-3': { bit: SCHED_FLAG_3, scheduler: null },
  'sh-fallback': { bit: SCHED_FLAG_1, scheduler: 'sh' },
  'sh-port': { bit: SCHED_FLAG_2, scheduler: 'sh' },
  'mh-fallback': { bit: SCHED_FLAG_1, scheduler: 'mh' },
  'mh-port': { bit: SCHED_FLAG_2, scheduler: 'mh' },
};

/**
 * The -b list, checked against the scheduler given with -s (or wlc). Empty items are skipped;
 * a list with no item at all (ipvsadm 1.31 crashes on "-b ,") is an invalid flag here.
 */
export function parseSchedFlags(scheduler: string, list: string): number {
  const items = list.split(',').filter((s) => s !== '');
  if (items.length === 0) fail("invalid scheduler flag `'");
  let bits = 0;
  for (const item of items) {
    const known = Object.prototype.hasOwnProperty.call(SCHED_FLAG_NAMES, item) ? SCHED_FLAG_NAMES[item] : undefined;
    if (known === undefined) fail(`invalid scheduler flag \`${item}'`);
    if (known.scheduler !== null && known.scheduler !== scheduler) fail(`incompatible scheduler flag \`${item}'`);
    bits |= known.bit;
  }
  return bits;
}

/** The -b names of a service's flag bits, as ipvsadm prints them for its scheduler. */
export function schedFlagNames(scheduler: string, bits: number): string[] {
  const names =
    scheduler === 'sh'
      ? ['sh-fallback', 'sh-port']
      : scheduler === 'mh'
        ? ['mh-fallback', 'mh-port']
        : ['flag-1', 'flag-2', 'flag-3'];
  const masks = [SCHED_FLAG_1, SCHED_FLAG_2, SCHED_FLAG_3];
  return names.filter((_, i) => (bits & masks[i]) !== 0);
}

function parseTimeout(text: string, min: number): number {
  const n = stringToNumber(text, min, MAX_TIMEOUT);
  if (n < 0) fail(`invalid timeout value \`${text}' specified`);
  return n;
}

/** strtol(s, &end, 10) that must use the whole string: optional white space and sign, digits. */
function strtol(text: string): number | null {
  const m = /^[ \t\n\v\f\r]*([+-]?[0-9]+)$/.exec(text);
  return m === null ? null : Number(m[1]);
}

/** ipvsadm's string_to_number: the number if whole and within [min, max], else -1. */
function stringToNumber(text: string, min: number, max: number): number {
  const n = strtol(text);
  return n !== null && n >= min && n <= max ? n : -1;
}

/** atoi: leading white space, sign and digits; anything after is ignored; 0 if none. */
function atoi(text: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?[0-9]+)/.exec(text);
  return m === null ? 0 : Number(m[1]);
}

const BAD = 'bad';

interface HostPort {
  addr: IpAddress;
  /** null when the text had no port. */
  port: number | null;
}

/**
 * ipvsadm's host[:port]: `[v6]:port`, a bare IPv6 address (no port), or an inet_aton IPv4
 * host with an optional `:port` after the last colon. An all-digit string is refused.
 * Returns BAD, or a uvs message for a name, or the address and port.
 */
function parseHostPort(text: string): HostPort | string {
  if (/^[0-9]*$/.test(text)) return BAD;
  let host = text;
  let portText: string | null = null;
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    if (close < 0 || host[close + 1] !== ':') return BAD;
    portText = host.slice(close + 2);
    host = host.slice(1, close);
  }
  let addr: IpAddress | null = parseIpv6(host);
  if (addr === null) {
    // Not IPv6: the port is after the last colon inside what is left (ipvsadm forgets a port
    // given after "[v4]", so "[1.2.3.4]:80" has no port).
    const colon = host.lastIndexOf(':');
    portText = colon < 0 ? null : host.slice(colon + 1);
    if (colon >= 0) host = host.slice(0, colon);
    const v4 = parseInetAton(host);
    if (v4 === null) return looksLikeHostName(host) ? HOST_NAMES_NOT_RESOLVED : BAD;
    addr = ipv4FromNumber(v4);
  }
  if (portText === null) return { addr, port: null };
  const port = stringToNumber(portText, 0, 65535);
  if (port >= 0) return { addr, port };
  return /^[A-Za-z][A-Za-z0-9._+/-]*$/.test(portText) ? PORT_NAMES_NOT_RESOLVED : BAD;
}
