import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  ForwardMethod,
  SCHED_FLAG_1,
  SCHED_FLAG_2,
  SCHED_FLAG_3,
  type IpAddress,
  type Protocol,
  type ServiceKey,
  type TunnelChecksum,
  type TunnelType,
} from '../src/control/config';
import { parseInetAton, parseIpv4, parseIpv6 } from '../src/control/ip-address';
import { parseIpvsadmArgs, type ListCommand } from '../src/control/ipvsadm-args';
import { IpvsadmError } from '../src/control/ipvsadm-error';
import { formatList, kernelProtocolName, type ListResult } from '../src/control/ipvsadm-list';
import { namesFromFiles, NUMERIC_NAMES, parseHostsFile, parseServicesFile } from '../src/control/ipvsadm-names';
import { asSigned32, largeNumber, lowBits32 } from '../src/control/ipvsadm-number';
import { kernelServiceOrder } from '../src/control/ipvsadm-sort';
import {
  DEFAULT_CONN_TABLE_SIZE,
  DEFAULT_LISTING_TIMEOUTS,
  ZERO_RATES,
  ZERO_STATS,
  type ListingConnection,
  type ListingDest,
  type ListingRates,
  type ListingService,
  type ListingSnapshot,
  type ListingStats,
  type ListingSyncDaemon,
} from '../src/control/listing-model';

const FIXTURES = path.resolve(__dirname, '../../test/fixtures/list');
const fixture = (name: string): string => readFileSync(path.join(FIXTURES, name), 'utf8');

// ---------------------------------------------------------------------------------------------
// The oracle's state file (shared/ipvsadm-oracle/README.md) as a ListingSnapshot

type Fields = Map<string, string>;

function records(text: string): { kind: string; kv: Fields }[] {
  const out: { kind: string; kv: Fields }[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const [kind, ...words] = line.split(/\s+/);
    const kv: Fields = new Map();
    for (const w of words) {
      const eq = w.indexOf('=');
      assert.ok(eq > 0, `bad word ${w}`);
      kv.set(w.slice(0, eq), w.slice(eq + 1));
    }
    out.push({ kind, kv });
  }
  return out;
}

/** strtoull(s, NULL, 0) for the values the fixtures use (decimal or 0x hex, up to 2^53). */
function num(kv: Fields, key: string, dflt: number): number {
  const v = kv.get(key);
  if (v === undefined) return dflt;
  const n = Number(v);
  assert.ok(Number.isSafeInteger(n), `${key}=${v} is not an exact number`);
  return n;
}

function address(text: string): IpAddress {
  const a = parseIpv4(text) ?? parseIpv6(text);
  assert.ok(a !== null, `bad address ${text}`);
  return a;
}

const stats = (kv: Fields): ListingStats => ({
  conns: num(kv, 'conns', 0),
  inpkts: num(kv, 'inpkts', 0),
  outpkts: num(kv, 'outpkts', 0),
  inbytes: num(kv, 'inbytes', 0),
  outbytes: num(kv, 'outbytes', 0),
});
const rates = (kv: Fields): ListingRates => ({
  cps: num(kv, 'cps', 0),
  inpps: num(kv, 'inpps', 0),
  outpps: num(kv, 'outpps', 0),
  inbps: num(kv, 'inbps', 0),
  outbps: num(kv, 'outbps', 0),
});

const METHODS: { [word: string]: ForwardMethod } = {
  masq: ForwardMethod.Masq,
  local: ForwardMethod.Local,
  tunnel: ForwardMethod.Tunnel,
  route: ForwardMethod.Route,
};
const CHECKSUMS: TunnelChecksum[] = ['nocsum', 'csum', 'remcsum'];
const PROTOCOL_WORDS: { [word: string]: number } = { TCP: 6, UDP: 17, SCTP: 132, IP: 0, ICMP: 1, ICMPV6: 58 };

function protocolNumber(word: string): number {
  const w = word.toUpperCase();
  if (w in PROTOCOL_WORDS) return PROTOCOL_WORDS[w];
  if (w.startsWith('IP_')) return Number(w.slice(3));
  return Number(w);
}

function serviceOf(kv: Fields): ListingService {
  const af = kv.get('af') === 'inet6' ? 6 : 4;
  const fwmark = num(kv, 'fwmark', 0);
  let key: ServiceKey;
  if (fwmark !== 0) key = { kind: 'fwmark', fwmark, af };
  else {
    const addr = address(kv.get('addr') ?? '0.0.0.0');
    key = { kind: 'addr', protocol: (kv.get('proto') ?? 'tcp') as Protocol, addr, port: num(kv, 'port', 0) };
  }
  const keyAf = key.kind === 'fwmark' ? key.af : key.addr.af;
  const flags = num(kv, 'flags', 0);
  const mask = kv.get('netmask');
  const netmask = keyAf === 6 ? (mask === undefined ? 128 : Number(mask)) : mask === undefined ? 0xffffffff : (parseInetAton(mask) as number);
  return {
    key,
    scheduler: kv.get('sched') ?? 'wlc',
    schedFlags: flags & (SCHED_FLAG_1 | SCHED_FLAG_2 | SCHED_FLAG_3),
    persistent: (flags & 0x1) !== 0,
    timeout: num(kv, 'timeout', 0),
    netmask,
    pe: kv.get('pe') ?? null,
    ops: (flags & 0x4) !== 0,
    stats: stats(kv),
    rates: rates(kv),
    dests: [],
  };
}

function destOf(kv: Fields): ListingDest {
  return {
    addr: address(kv.get('addr') as string),
    port: num(kv, 'port', 0),
    method: METHODS[kv.get('fwd') ?? 'route'],
    weight: num(kv, 'weight', 1),
    uThreshold: num(kv, 'u_thresh', 0),
    lThreshold: num(kv, 'l_thresh', 0),
    activeConns: num(kv, 'active', 0),
    inactConns: num(kv, 'inactive', 0),
    persistConns: num(kv, 'persist', 0),
    tunType: (kv.get('tun_type') ?? 'ipip') as TunnelType,
    tunPort: num(kv, 'tun_port', 0),
    tunChecksum: CHECKSUMS[num(kv, 'tun_flags', 0)],
    stats: stats(kv),
    rates: rates(kv),
  };
}

function connectionOf(kv: Fields): ListingConnection {
  const end = (a: string, p: string): { addr: IpAddress; port: number } => ({ addr: address(kv.get(a) as string), port: num(kv, p, 0) });
  const pe = kv.get('pe');
  return {
    protocol: protocolNumber(kv.get('proto') ?? 'TCP'),
    client: end('caddr', 'cport'),
    virtual: end('vaddr', 'vport'),
    dest: end('daddr', 'dport'),
    state: kv.get('state') ?? 'ESTABLISHED',
    expiresIn: num(kv, 'expires', 0),
    pe: pe === undefined ? null : { name: pe, data: kv.get('pe_data') ?? '' },
  };
}

function daemonOf(kv: Fields): ListingSyncDaemon {
  return {
    state: kv.get('state') === 'backup' ? 'backup' : 'master',
    mcastInterface: kv.get('ifn') ?? 'eth0',
    syncId: num(kv, 'syncid', 0),
    maxLen: num(kv, 'maxlen', 1472),
    group: address(kv.get('group') ?? '224.0.0.81'),
    port: num(kv, 'port', 8848),
    ttl: num(kv, 'ttl', 1),
  };
}

/** The state as the emulated kernel dumps it: services in hash order, dests in file (list) order. */
function snapshotOf(stateText: string): ListingSnapshot {
  const snap: ListingSnapshot = {
    connTableSize: DEFAULT_CONN_TABLE_SIZE,
    services: [],
    connections: [],
    timeouts: { ...DEFAULT_LISTING_TIMEOUTS },
    daemons: [],
  };
  let current: ListingService | null = null;
  for (const { kind, kv } of records(stateText)) {
    switch (kind) {
      case 'info':
        snap.connTableSize = num(kv, 'conn_tab_size', DEFAULT_CONN_TABLE_SIZE);
        break;
      case 'timeout':
        snap.timeouts = { tcp: num(kv, 'tcp', 900), tcpFin: num(kv, 'tcpfin', 120), udp: num(kv, 'udp', 300) };
        break;
      case 'service':
        current = serviceOf(kv);
        snap.services.push(current);
        break;
      case 'dest':
        assert.ok(current !== null, 'dest before any service');
        current.dests.push(destOf(kv));
        break;
      case 'conn':
        snap.connections.push(connectionOf(kv));
        break;
      case 'daemon':
        snap.daemons.push(daemonOf(kv));
        break;
      default:
        assert.fail(`record ${kind} not understood by the test`);
    }
  }
  snap.services = kernelServiceOrder(snap.services);
  return snap;
}

// ---------------------------------------------------------------------------------------------

interface Case {
  args: string[];
  stdout: string;
  stderr: string;
  exit: number;
}

const names = namesFromFiles({ hosts: fixture('names.hosts'), services: fixture('names.services') });

/** uvsadm's run of a list command line: the parser's error, or the formatter's output. */
function run(snapshot: ListingSnapshot, args: string[]): ListResult {
  let cmd;
  try {
    cmd = parseIpvsadmArgs(args);
  } catch (e) {
    assert.ok(e instanceof IpvsadmError);
    return { stdout: '', stderr: `${e.message}\n`, exitCode: e.exitCode };
  }
  assert.equal(cmd.kind, 'list');
  return formatList(snapshot, cmd, { names });
}

const states = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.state'))
  .map((f) => f.slice(0, -'.state'.length));

function listCommand(line: string): ListCommand {
  const c = parseIpvsadmArgs(line.split(' '));
  assert.equal(c.kind, 'list');
  return c;
}

describe('control/ipvsadm-list', () => {
  describe('matches the real ipvsadm 1.31 byte for byte (test/fixtures/list, recorded with shared/ipvsadm-oracle)', () => {
    let total = 0;
    for (const state of states) {
      const cases = fixture(`${state}.expected`)
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Case);
      total += cases.length;
      describe(state, () => {
        const snapshot = snapshotOf(fixture(`${state}.state`));
        for (const c of cases) {
          it(`ipvsadm ${c.args.join(' ')}`, () => {
            const r = run(snapshot, c.args);
            assert.equal(r.stdout, c.stdout);
            assert.equal(r.stderr, c.stderr);
            assert.equal(r.exitCode, c.exit);
          });
        }
      });
    }
    it('covers the states and command lines it should', () => {
      assert.ok(states.length >= 7, `${states.length} states`);
      assert.ok(total >= 200, `${total} cases`);
    });
  });

  describe('the worked example of ipvs-facts.md 6.6', () => {
    const snapshot = snapshotOf(fixture('worked-example.state'));
    it('-L -n prints the facts block', () => {
      const expected = [
        'IP Virtual Server version 1.2.1 (size=4096)',
        'Prot LocalAddress:Port Scheduler Flags',
        '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
        'TCP  192.168.100.10:80 wlc',
        '  -> 10.0.0.11:80                 Route   1      3          17        ',
        '  -> 10.0.0.12:80                 Route   3      9          51        ',
        'TCP  192.168.100.10:443 rr persistent 600 mask 255.255.255.0',
        '  -> 10.0.0.21:8443               Masq    2      4          1         ',
        '',
      ].join('\n');
      assert.deepEqual(formatList(snapshot, listCommand('-L -n')), { stdout: expected, stderr: '', exitCode: 0 });
    });
    it('--stats --exact turns the scaled cells into whole numbers', () => {
      const out = formatList(snapshot, listCommand('-L -n --stats --exact')).stdout;
      assert.match(out, /^TCP  192\.168\.100\.10:80 {16}1234 {3}567890 {8}0 123456789 {8}0$/m);
      assert.match(out, / 98000000000\n/);
    });
  });

  describe('FULLNAT and the uvs options', () => {
    const dest = (method: ForwardMethod, addr = '10.9.0.1'): ListingDest => ({
      addr: address(addr),
      port: 80,
      method,
      weight: 1,
      uThreshold: 0,
      lThreshold: 0,
      activeConns: 0,
      inactConns: 0,
      persistConns: 0,
      tunType: 'ipip',
      tunPort: 0,
      tunChecksum: 'nocsum',
      stats: { ...ZERO_STATS, conns: 2 ** 32 + 5 },
      rates: { ...ZERO_RATES },
    });
    const snapshot: ListingSnapshot = {
      connTableSize: 4096,
      services: [
        {
          key: { kind: 'addr', protocol: 'tcp', addr: address('10.9.0.100'), port: 80 },
          scheduler: 'rr',
          schedFlags: 0,
          persistent: false,
          timeout: 0,
          netmask: 0xffffffff,
          pe: null,
          ops: false,
          stats: { ...ZERO_STATS },
          rates: { ...ZERO_RATES },
          dests: [dest(ForwardMethod.FullNat)],
        },
      ],
      connections: [],
      timeouts: { ...DEFAULT_LISTING_TIMEOUTS },
      daemons: [],
    };
    it('names FULLNAT real servers FullNat, as DPVS does, with n/a tunnel info', () => {
      const line = (cmd: string): string => formatList(snapshot, listCommand(cmd)).stdout.split('\n')[4];
      assert.equal(line('-L -n'), '  -> 10.9.0.1:80                  FullNat 1      0          0         ');
      assert.equal(line('-L -n --tun-info'), '  -> 10.9.0.1:80                  FullNat n/a           1      0          0         ');
    });
    it('keeps the low 32 bits of real-server counters unless asked for whole ones', () => {
      const dline = (opts: { fullDestCounters?: boolean }): string =>
        formatList(snapshot, listCommand('-L -n --stats --exact'), opts).stdout.split('\n')[4];
      assert.equal(dline({}), '  -> 10.9.0.1:80                         5        0        0        0        0');
      assert.equal(dline({ fullDestCounters: true }), '  -> 10.9.0.1:80                  4294967301        0        0        0        0');
    });
    it('prints numbers without -n when no NameLookup is given', () => {
      assert.equal(formatList(snapshot, listCommand('-L')).stdout, formatList(snapshot, listCommand('-L -n')).stdout);
    });
    it('-n wins over a NameLookup', () => {
      assert.equal(formatList(snapshot, listCommand('-L -n'), { names }).stdout, formatList(snapshot, listCommand('-L -n')).stdout);
    });
  });

  describe('names files', () => {
    it('hosts: the first line for an address gives its first name; comments and bad lines are skipped', () => {
      const hosts = parseHostsFile('# c\n10.0.0.1 one uno\n10.0.0.1 two\n010.0.0.2 bad\n\n2001:db8::1 six # x\n::1 lo6\n::ffff:1.2.3.4 mapped\n');
      const n = namesFromFiles({ hosts: '10.0.0.1 one\n::1 lo6\n::ffff:1.2.3.4 mapped\n2001:db8::1 six\n' });
      // 10.0.0.1, 2001:db8::1, ::1 and 127.0.0.1, ::ffff:1.2.3.4 and 1.2.3.4; not 010.0.0.2
      assert.equal(hosts.size, 6);
      assert.equal(n.hostName(address('10.0.0.1')), 'one');
      assert.equal(n.hostName(address('127.0.0.1')), 'lo6');
      assert.equal(n.hostName(address('1.2.3.4')), 'mapped');
      assert.equal(n.hostName(address('2001:db8::1')), 'six');
      assert.equal(n.hostName(address('10.0.0.2')), null);
    });
    it('services: first line per port and protocol; port numbers wrap at 16 bits', () => {
      const s = parseServicesFile('http 80/tcp www\nweb 80/tcp\nwrapped 65617/tcp\n# x 1/tcp\nbad 80\n');
      assert.equal(s.get('80/tcp'), 'http');
      assert.equal(s.get('81/tcp'), 'wrapped');
      assert.equal(s.size, 2);
      assert.equal(NUMERIC_NAMES.serviceName(80, 'tcp'), null);
    });
  });

  describe('number formatting', () => {
    it('print_largenum: 9 characters, K/M/G/T at the limits, exact division', () => {
      assert.equal(largeNumber(99999999, false), ' 99999999');
      assert.equal(largeNumber(100000000, false), '  100000K');
      assert.equal(largeNumber(999999999, false), '  999999K');
      assert.equal(largeNumber(1e9, false), '    1000M');
      assert.equal(largeNumber(99999999999, false), '   99999M');
      assert.equal(largeNumber(1e11, false), '     100G');
      assert.equal(largeNumber(99999999999999, false), '   99999G');
      assert.equal(largeNumber(1e14, false), '     100T');
      // 2^53 - 1 = 9007199254740991: floating division would round 9007.199254740991 fine, but
      // 8999999999999999 / 1e12 = 8999.999999999999 must stay 8999.
      assert.equal(largeNumber(2 ** 53 - 1, false), '    9007T');
      assert.equal(largeNumber(8999999999999999, false), '    8999T');
      assert.equal(largeNumber(8999999999999, false), '    8999G');
      assert.equal(largeNumber(0, true), '        0');
      assert.equal(largeNumber(12345678, true), ' 12345678');
      assert.equal(largeNumber(123456789, true), ' 123456789');
      assert.equal(largeNumber(2 ** 53 - 1, true), ' 9007199254740991');
    });
    it('C views of integers', () => {
      assert.equal(asSigned32(4294967295), -1);
      assert.equal(asSigned32(2147483648), -2147483648);
      assert.equal(asSigned32(2147483647), 2147483647);
      assert.equal(lowBits32(4294967397), 101);
      assert.equal(lowBits32(2 ** 53 - 1), 4294967295);
    });
    it('protocol names of /proc/net/ip_vs_conn', () => {
      assert.deepEqual([0, 1, 6, 17, 58, 132, 50].map(kernelProtocolName), ['IP', 'ICMP', 'TCP', 'UDP', 'ICMPv6', 'SCTP', 'IP_50']);
    });
  });

  it('an empty snapshot lists only the header and titles; a missing service is exit 1', () => {
    const empty: ListingSnapshot = {
      connTableSize: 4096,
      services: [],
      connections: [],
      timeouts: { ...DEFAULT_LISTING_TIMEOUTS },
      daemons: [],
    };
    assert.equal(formatList(empty, listCommand('-L -n')).stdout.split('\n').length, 4);
    assert.deepEqual(formatList(empty, listCommand('-L -n -t 10.0.0.1:80')), { stdout: '', stderr: 'No such service\n', exitCode: 1 });
    assert.equal(formatList(empty, listCommand('-L --daemon')).stdout, '');
  });
});
