import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ForwardMethod, SCHED_FLAG_1, SCHED_FLAG_2, SCHED_FLAG_3, type ServiceKey } from '../src/control/config';
import { HOST_NAMES_NOT_RESOLVED } from '../src/control/ip-address';
import {
  parseIpvsadmArgs,
  PORT_NAMES_NOT_RESOLVED,
  schedFlagNames,
  type IpvsadmCommand,
} from '../src/control/ipvsadm-args';
import { IpvsadmError } from '../src/control/ipvsadm-error';
import { applyCommand, emptyRules, isConfigCommand } from '../src/control/rules-model';

const FIXTURES = path.resolve(__dirname, '../../test/fixtures/control');

const parse = (line: string): IpvsadmCommand => parseIpvsadmArgs(line.split(' ').filter((t) => t !== ''));

/** The error ipvsadm gives for the command line, as [message, exit status]. */
function errorOf(argv: string[] | string): [string, number] {
  try {
    if (typeof argv === 'string') parse(argv);
    else parseIpvsadmArgs(argv);
  } catch (e) {
    assert.ok(e instanceof IpvsadmError, `not an IpvsadmError: ${String(e)}`);
    return [e.message, e.exitCode];
  }
  assert.fail(`no error for ${JSON.stringify(argv)}`);
}

function svcKey(c: IpvsadmCommand): ServiceKey {
  assert.ok('service' in c && c.service !== null, `no service in ${c.kind}`);
  return c.service;
}

function addrKey(c: IpvsadmCommand): { protocol: string; addr: string; port: number } {
  const k = svcKey(c);
  assert.equal(k.kind, 'addr');
  return { protocol: k.protocol, addr: k.addr.text, port: k.port };
}

describe('control/ipvsadm-args', () => {
  describe('services (-A/-E/-D)', () => {
    it('gives ipvsadm defaults: wlc, not persistent, /32 mask', () => {
      const c = parse('-A -t 10.0.0.1:80');
      assert.equal(c.kind, 'add-service');
      assert.deepEqual(addrKey(c), { protocol: 'tcp', addr: '10.0.0.1', port: 80 });
      assert.ok(c.kind === 'add-service');
      assert.deepEqual(c.settings, {
        scheduler: 'wlc', schedFlags: 0, persistent: false, timeout: 0, netmask: 0xffffffff, ops: false, pe: null,
      });
    });
    it('reads -s -p -M --pe -o -b', () => {
      const c = parse('-E -u 10.0.0.1:53 -s sh -p 600 -M 255.255.255.0 --pe sip -o -b sh-fallback,sh-port');
      assert.ok(c.kind === 'edit-service');
      assert.deepEqual(c.settings, {
        scheduler: 'sh', schedFlags: SCHED_FLAG_1 | SCHED_FLAG_2, persistent: true, timeout: 600,
        netmask: 0xffffff00, ops: true, pe: 'sip',
      });
    });
    it('-p alone is 360 seconds; -p takes a value only when it does not start with "-"', () => {
      const alone = parse('-A -t 10.0.0.1:80 -p');
      assert.ok(alone.kind === 'add-service');
      assert.equal(alone.settings.timeout, 360);
      const before = parse('-A -t 10.0.0.1:80 -p -s rr');
      assert.ok(before.kind === 'add-service');
      assert.equal(before.settings.timeout, 360);
      assert.equal(before.settings.scheduler, 'rr');
      const bundled = parse('-A -t 10.0.0.1:80 -p600');
      assert.ok(bundled.kind === 'add-service');
      assert.equal(bundled.settings.timeout, 600);
      assert.deepEqual(errorOf('-A -t 10.0.0.1:80 -p -1'), ['-1: unknown option', 255]);
      assert.deepEqual(errorOf('-A -t 10.0.0.1:80 -p 0'), ["invalid timeout value `0' specified", 2]);
      assert.deepEqual(errorOf('-A -t 10.0.0.1:80 -p 2678401'), ["invalid timeout value `2678401' specified", 2]);
    });
    it('reads IPv6 services and their prefix-length netmask', () => {
      const c = parse('-A -t [2001:db8::1]:443 -p -M 64');
      assert.ok(c.kind === 'add-service');
      assert.deepEqual(addrKey(c), { protocol: 'tcp', addr: '2001:db8::1', port: 443 });
      assert.equal(c.settings.netmask, 64);
      const plain = parse('-A -t [2001:db8::1]:443');
      assert.ok(plain.kind === 'add-service');
      assert.equal(plain.settings.netmask, 128);
      // -M before the IPv6 address is read as IPv4 and then reset by the address
      const early = parse('-A -M 64 -t [2001:db8::1]:443 -p');
      assert.ok(early.kind === 'add-service');
      assert.equal(early.settings.netmask, 128);
      assert.deepEqual(errorOf('-A -t [::6]:80 -p -M 129'), ['illegal ipv6 netmask specified', 2]);
    });
    it('reads fwmark services, -6 only after -f', () => {
      const c = parse('-A -f 7 -6 -s rr');
      assert.deepEqual(svcKey(c), { kind: 'fwmark', fwmark: 7, af: 6 });
      assert.deepEqual(svcKey(parse('-A -f 4294967295')), { kind: 'fwmark', fwmark: 4294967295, af: 4 });
      assert.deepEqual(errorOf('-A -6 -f 1'), ['-6 used before -f\n', 2]);
      assert.deepEqual(errorOf('-A -f 0'), ["invalid fwmark value `0' specified", 2]);
      assert.deepEqual(errorOf('-A -f 4294967296'), ["invalid fwmark value `4294967296' specified", 2]);
    });
    it('reads --sctp-service and --opt=value', () => {
      const c = parse('-A --sctp-service=10.0.0.9:3868 --scheduler=rr');
      assert.deepEqual(addrKey(c), { protocol: 'sctp', addr: '10.0.0.9', port: 3868 });
    });
    it('port 0 needs persistence; -o needs UDP or fwmark', () => {
      assert.deepEqual(errorOf('-A -t 10.0.0.2:0'), ['Zero port specified for non-persistent service', 2]);
      assert.deepEqual(errorOf('-A -t 10.0.0.2'), ['Zero port specified for non-persistent service', 2]);
      assert.equal(parse('-A -t 10.0.0.2:0 -p').kind, 'add-service');
      assert.equal(parse('-A -f 1').kind, 'add-service');
      assert.deepEqual(errorOf('-A -t 10.0.0.2:80 -o'), ['One-Packet Scheduling is only for UDP virtual services', 2]);
      assert.equal(parse('-A -f 2 -o').kind, 'add-service');
    });
    it('checks -b against the scheduler (wlc when -s is absent)', () => {
      assert.deepEqual(errorOf('-A -t 10.0.0.5:80 -b sh-port'), ["incompatible scheduler flag `sh-port'", 2]);
      assert.deepEqual(errorOf('-A -t 10.0.0.5:80 -s sh -b sh-port,bogus'), ["invalid scheduler flag `bogus'", 2]);
      const mh = parse('-A -t 10.0.0.5:80 -b mh-port -s mh');
      assert.ok(mh.kind === 'add-service');
      assert.equal(mh.settings.schedFlags, SCHED_FLAG_2);
      const generic = parse('-A -t 10.0.0.5:80 -b flag-1,,flag-3');
      assert.ok(generic.kind === 'add-service');
      assert.equal(generic.settings.schedFlags, SCHED_FLAG_1 | SCHED_FLAG_3);
      assert.deepEqual(schedFlagNames('sh', SCHED_FLAG_1 | SCHED_FLAG_2), ['sh-fallback', 'sh-port']);
      assert.deepEqual(schedFlagNames('rr', SCHED_FLAG_2 | SCHED_FLAG_3), ['flag-2', 'flag-3']);
    });
  });

  describe('real servers (-a/-e/-d)', () => {
    it('defaults to -g, weight 1, the service port', () => {
      const c = parse('-a -t 10.0.0.1:80 -r 192.168.1.10');
      assert.ok(c.kind === 'add-server');
      assert.deepEqual(
        { ...c.dest, addr: c.dest.addr.text },
        {
          addr: '192.168.1.10', port: 80, method: ForwardMethod.Route, weight: 1, uThreshold: 0, lThreshold: 0,
          tunType: 'ipip', tunPort: 0, tunChecksum: 'nocsum',
        },
      );
    });
    it('forces the service port for DR and TUN, keeps it for NAT and FULLNAT', () => {
      const port = (line: string): number => {
        const c = parse(line);
        assert.ok(c.kind === 'add-server' || c.kind === 'edit-server');
        return c.dest.port;
      };
      assert.equal(port('-a -t 10.0.0.1:80 -r 1.1.1.1:90'), 80);
      assert.equal(port('-a -t 10.0.0.1:80 -r 1.1.1.1:90 -i'), 80);
      assert.equal(port('-a -t 10.0.0.1:80 -r 1.1.1.1:90 -m'), 90);
      assert.equal(port('-a -t 10.0.0.1:80 -r 1.1.1.1:90 --fullnat'), 90);
      assert.equal(port('-e -t 10.0.0.1:80 -r 1.1.1.1 -m'), 80);
      // fwmark services: no forcing, no port means 0
      assert.equal(port('-a -f 5 -r 1.1.1.1 -g'), 0);
      assert.equal(port('-a -f 5 -r 1.1.1.1:90 -g'), 90);
      // -r before -t: the service port is not known yet
      assert.equal(port('-a -r 1.1.1.5 -m -t 10.0.0.1:80'), 0);
    });
    it('reads weights, thresholds and their ranges', () => {
      const c = parse('-e -t 10.0.0.1:80 -r 1.1.1.1 -m -w 0 -x 2147483647 -y 5');
      assert.ok(c.kind === 'edit-server');
      assert.equal(c.dest.weight, 0);
      assert.equal(c.dest.uThreshold, 2147483647);
      assert.equal(c.dest.lThreshold, 5);
      assert.deepEqual(errorOf('-a -t 10.0.0.1:80 -r 1.1.1.1 -w 65536'), ['illegal weight specified', 2]);
      assert.deepEqual(errorOf('-a -t 10.0.0.1:80 -r 1.1.1.1 -w -1'), ['illegal weight specified', 2]);
      assert.deepEqual(errorOf('-a -t 10.0.0.1:80 -r 1.1.1.1 -x 2147483648'), ['illegal u_threshold specified', 2]);
      assert.deepEqual(errorOf('-a -t 10.0.0.1:80 -r 1.1.1.1 -y x'), ['illegal l_threshold specified', 2]);
    });
    it('reads tunnels and checks their options', () => {
      const c = parse('-a -t 10.0.0.1:80 -r 1.1.1.7 -i --tun-type gue --tun-port 6080 --tun-remcsum');
      assert.ok(c.kind === 'add-server');
      assert.equal(c.dest.method, ForwardMethod.Tunnel);
      assert.equal(c.dest.tunType, 'gue');
      assert.equal(c.dest.tunPort, 6080);
      assert.equal(c.dest.tunChecksum, 'remcsum');
      const gre = parse('-a -t 10.0.0.1:80 -r 1.1.1.7 -i --tun-type gre --tun-csum');
      assert.ok(gre.kind === 'add-server');
      assert.equal(gre.dest.tunChecksum, 'csum');
      assert.deepEqual(errorOf('-a -t 10.0.0.1:80 -r 1.1.1.7 --tun-type gue'), ['Tunnel options conflict with forward method', 2]);
      assert.deepEqual(errorOf('-a -t 10.0.0.1:80 -r 1.1.1.7 --fullnat --tun-csum'), ['Tunnel options conflict with forward method', 2]);
      assert.deepEqual(errorOf('-a -t 10.0.0.1:80 -r 1.1.1.7 -i --tun-type gue'), [
        "You need to supply the 'tun-port' option for the 'gue' tunnel type", 2,
      ]);
      assert.deepEqual(errorOf('-a -t 10.0.0.1:80 -r 1.1.1.7 -i --tun-port 5'), ["Illegal 'tun-port' option with the 'ipip' tunnel type", 2]);
      assert.deepEqual(errorOf('-a -t 10.0.0.1:80 -r 1.1.1.7 -i --tun-type gre --tun-remcsum'), [
        "Illegal 'tun-remcsum' option with the 'gre' tunnel type", 2,
      ]);
      // checked in table order, not argv order
      assert.deepEqual(errorOf('-a -t 10.0.0.1:80 -r 1.1.1.7 -i --tun-type gue --tun-port 5 --tun-csum --tun-nocsum'), [
        "The option 'tun-csum' conflicts with the 'tun-nocsum' option in the 'gue' tunnel type", 2,
      ]);
      assert.deepEqual(errorOf('-a -t 10.0.0.1:80 -r 1.1.1.7 -i --tun-type gue --tun-port 0'), ['illegal tunnel port specified', 2]);
      assert.deepEqual(errorOf('-a -t 10.0.0.1:80 -r 1.1.1.7 -i --tun-type vxlan'), ['illegal tunnel type specified', 2]);
    });
    it('allows another address family only for tunnels', () => {
      const c = parse('-a -t [2001:db8::1]:443 -r 192.168.3.3 -i');
      assert.ok(c.kind === 'add-server');
      assert.equal(c.dest.addr.af, 4);
      assert.deepEqual(errorOf('-a -t 10.0.0.1:80 -r [::1]:80 -m'), ['Different address family is allowed only for tunneling servers', 2]);
      assert.deepEqual(errorOf('-a -t 10.0.0.1:80 -r [::1]:80 --fullnat'), ['Different address family is allowed only for tunneling servers', 2]);
    });
    it('-d names the server by address and port only', () => {
      const c = parse('-d -t 10.0.0.1:80 -r 1.1.1.1:81');
      assert.ok(c.kind === 'delete-server');
      assert.equal(c.dest.addr.text, '1.1.1.1');
      assert.equal(c.dest.port, 81);
      assert.deepEqual(errorOf('-d -t 10.0.0.1:80 -r 1.1.1.8 -m'), ["Illegal 'forwarding-method' option with the 'delete-server' command", 2]);
    });
  });

  describe('FULLNAT extensions', () => {
    it('--fullnat is a forwarding method', () => {
      const c = parse('-a -t 10.0.0.1:80 -r 1.1.1.1:8080 --fullnat -w 3');
      assert.ok(c.kind === 'add-server');
      assert.equal(c.dest.method, ForwardMethod.FullNat);
      assert.deepEqual(errorOf('-a -t 10.0.0.1:80 -r 1.1.1.1 -m --fullnat'), ["multiple 'forwarding-method' options specified", 2]);
    });
    it('-P/-Q with -z add and delete local addresses', () => {
      const p = parse('-P -t 10.0.0.1:80 -z 192.168.0.100');
      assert.ok(p.kind === 'add-laddr');
      assert.equal(p.laddr.text, '192.168.0.100');
      const q = parseIpvsadmArgs(['--del-laddr', '--tcp-service', '[2001:db8::1]:80', '--laddr=2001:db8::100']);
      assert.ok(q.kind === 'del-laddr');
      assert.equal(q.laddr.text, '2001:db8::100');
      assert.deepEqual(errorOf('-P -t 10.0.0.1:80'), ["You need to supply the 'laddr' option for the 'add-laddr' command", 2]);
      assert.deepEqual(errorOf('-P -z 1.2.3.4'), ["You need to supply the 'service-address' option for the 'add-laddr' command", 2]);
      assert.deepEqual(errorOf('-A -t 10.0.0.1:80 -z 1.2.3.4'), ["Illegal 'laddr' option with the 'add-service' command", 2]);
      assert.deepEqual(errorOf('-P -t 10.0.0.1:80 -z 1.2.3.4 -w 3'), ["Illegal 'weight' option with the 'add-laddr' command", 2]);
      assert.deepEqual(errorOf('-P -t 10.0.0.1:80 -z 1.2.3'), ['illegal local address specified', 2]);
    });
  });

  describe('popt reading', () => {
    it('bundles short options, with a value from the rest of the bundle', () => {
      const c = parse('-a -t 10.0.0.1:80 -r 1.1.1.2 -mw3');
      assert.ok(c.kind === 'add-server');
      assert.equal(c.dest.method, ForwardMethod.Masq);
      assert.equal(c.dest.weight, 3);
      const eq = parse('-a -t10.0.0.1:80 -r 1.1.1.2 -w=4');
      assert.ok(eq.kind === 'add-server');
      assert.equal(eq.dest.weight, 4);
      const list = parse('-Ln');
      assert.ok(list.kind === 'list');
      assert.equal(list.numeric, true);
    });
    it('requires the command first', () => {
      const tryHelp = ["Try `ipvsadm -h' or 'ipvsadm --help' for more information.", 255];
      assert.deepEqual(errorOf('-t 10.0.0.1:80 -A'), tryHelp);
      assert.deepEqual(errorOf('--bogus'), tryHelp);
      assert.deepEqual(errorOf('foo'), tryHelp);
      assert.deepEqual(errorOf('-A -t 10.0.0.2:80 -E'), ["invalid option `-E'", 2]);
      assert.deepEqual(errorOf('-add-service -t 10.0.0.2:80'), ["invalid option `-add-service'", 2]);
      assert.deepEqual(errorOf(['-A', '-t', '10.0.0.2:80', '-h']), ["invalid option `-h'", 2]);
      assert.throws(
        () => parseIpvsadmArgs(['-x'], 'uvsadm'),
        (e: IpvsadmError) => e.message === "Try `uvsadm -h' or 'uvsadm --help' for more information.",
      );
    });
    it('reports popt errors with exit 255', () => {
      assert.deepEqual(errorOf('-A -t 10.0.0.2:80 --bogus'), ['--bogus: unknown option', 255]);
      assert.deepEqual(errorOf('-AK -t 10.0.0.2:80'), ['-AK: unknown option', 255]);
      assert.deepEqual(errorOf('-A -t'), ['-t: missing argument', 255]);
      assert.deepEqual(errorOf('-A -t 10.0.0.2:80 --ops=1'), ['--ops=1: option does not take an argument', 255]);
    });
    it('allows each option once', () => {
      assert.deepEqual(errorOf('-A -t 10.0.0.2:80 -f 3'), ["multiple 'service-address' options specified", 2]);
      assert.deepEqual(errorOf('-a -r 1.1.1.5 -t 10.0.0.1:80 -x 3 -m -x 4'), ["multiple 'u-threshold' options specified", 2]);
      assert.equal(parse('-A -f 3 -6 -6').kind, 'add-service'); // -6 is not counted
    });
    it('checks the legal options, in table order', () => {
      assert.deepEqual(errorOf('-A -t 10.0.0.2:80 -r 1.1.1.1 -w 2'), ["Illegal 'real-server' option with the 'add-service' command", 2]);
      assert.deepEqual(errorOf('-a -t 10.0.0.1:80'), ["You need to supply the 'real-server' option for the 'add-server' command", 2]);
      assert.deepEqual(errorOf('-a -r 1.1.1.1'), ["You need to supply the 'service-address' option for the 'add-server' command", 2]);
      assert.deepEqual(errorOf('-C -t 10.0.0.1:80'), ["Illegal 'service-address' option with the 'flush' command", 2]);
      assert.deepEqual(errorOf('-L -c -t 10.0.0.1:80'), ["The option 'service-address' conflicts with the 'connection' option in the 'list' command", 2]);
      assert.deepEqual(errorOf('-L -n --stats --timeout'), ['options conflicts in the list command', 2]);
    });
    it('keeps leftover tokens for --set and refuses any other', () => {
      const c = parse('--set 900 0 300');
      assert.deepEqual(c, { kind: 'set', timeouts: { tcp: 900, tcpFin: 0, udp: 300 } });
      assert.deepEqual(errorOf('--set 1 2'), ['--set option requires 3 timeout values', 2]);
      assert.deepEqual(errorOf('--set 1 2 3 4'), ['unexpected argument 4', 2]);
      assert.deepEqual(errorOf('--set 1 2 2678401'), ["invalid timeout value `2678401' specified", 2]);
      assert.deepEqual(errorOf('-A -t 10.0.0.2:80 -s rr foo'), ['unexpected argument foo', 2]);
      assert.deepEqual(errorOf('-A -t 10.0.0.2:80 -- -s rr'), ['unexpected argument -s', 2]);
      assert.deepEqual(errorOf('foo -A -t 10.0.0.2:80'), ['unexpected argument foo', 2]);
    });
  });

  describe('host[:port]', () => {
    it('takes inet_aton hosts, [v6]:port and bare IPv6', () => {
      assert.deepEqual(addrKey(parse('-A -t 10.2:80')), { protocol: 'tcp', addr: '10.0.0.2', port: 80 });
      assert.deepEqual(addrKey(parse('-A -t 0x0a.1:81')), { protocol: 'tcp', addr: '10.0.0.1', port: 81 });
      assert.deepEqual(addrKey(parse('-A -t [::ffff:1.2.3.4]:81')), { protocol: 'tcp', addr: '::ffff:1.2.3.4', port: 81 });
      assert.deepEqual(addrKey(parse('-A -t 2001:db8::1 -p')), { protocol: 'tcp', addr: '2001:db8::1', port: 0 });
      // ipvsadm forgets a port after a bracketed IPv4 address
      assert.deepEqual(addrKey(parse('-A -t [1.2.3.4]:80 -p')), { protocol: 'tcp', addr: '1.2.3.4', port: 0 });
    });
    it('refuses malformed text with ipvsadm messages', () => {
      const vs = ['illegal virtual server address[:port] specified', 2];
      for (const bad of ['12345', '1.2.3.256:80', '1.2.3.4:65536', '1.2.3.4:0x10', '[::1]', '[::1]:', '1.2.3.4:80x', '[fe80::1%eth0]:80']) {
        assert.deepEqual(errorOf(['-A', '-t', bad]), vs, bad);
      }
      assert.deepEqual(errorOf('-a -t 10.0.0.1:80 -r [2001:db8::20] -g'), ['illegal real server address[:port] specified', 2]);
    });
    it('refuses host and port names (uvs resolves nothing)', () => {
      assert.deepEqual(errorOf('-A -t www.example.com:80'), [HOST_NAMES_NOT_RESOLVED, 2]);
      assert.deepEqual(errorOf('-a -t 10.0.0.1:80 -r backend1'), [HOST_NAMES_NOT_RESOLVED, 2]);
      assert.deepEqual(errorOf('-A -t 10.0.0.1:http'), [PORT_NAMES_NOT_RESOLVED, 2]);
      assert.deepEqual(errorOf('-A -t 10.0.0.1:80 -p -M netmask.example'), [HOST_NAMES_NOT_RESOLVED, 2]);
    });
  });

  describe('other commands', () => {
    it('parses list, zero, save, restore, daemons, help and version', () => {
      assert.deepEqual(parseIpvsadmArgs([]), {
        kind: 'list', target: 'services', service: null, numeric: false, stats: false, rate: false, thresholds: false,
        persistentConn: false, nosort: false, exact: false, tunInfo: false,
      });
      const l = parse('-L -n -t 10.0.0.1:80 --stats --exact');
      assert.ok(l.kind === 'list');
      assert.equal(l.target, 'service');
      assert.equal(l.stats && l.exact && l.numeric, true);
      assert.equal((parse('-l --timeout') as { target: string }).target, 'timeout');
      assert.deepEqual(parse('-Z'), { kind: 'zero', service: null });
      assert.deepEqual(parse('-S -n'), { kind: 'save', numeric: true });
      assert.deepEqual(parse('-R'), { kind: 'restore' });
      assert.deepEqual(parse('-h --whatever'), { kind: 'help' });
      assert.deepEqual(parse('--version'), { kind: 'version' });
      const d = parse('--start-daemon backup --mcast-group 239.1.1.1 --syncid 7');
      assert.ok(d.kind === 'start-daemon');
      assert.equal(d.mcastInterface, 'eth0');
      assert.equal(d.mcastGroup?.text, '239.1.1.1');
      assert.equal(d.syncId, 7);
      assert.deepEqual(errorOf('--start-daemon foo'), ['illegal start-daemon parameter specified', 2]);
      assert.deepEqual(errorOf('--start-daemon master --mcast-group 1.2.3.4'), ["invalid IPv4 mcast-group `1.2.3.4'", 2]);
      assert.deepEqual(parse('--stop-daemon master --syncid 3'), { kind: 'stop-daemon', state: 'master', syncId: 3 });
    });
  });

  describe('agrees with the real ipvsadm 1.31 (fixtures recorded with shared/ipvsadm-oracle)', () => {
    interface Recorded {
      argv: string[];
      stderr: string;
      exit: number;
    }
    const recorded: Recorded[] = readFileSync(path.join(FIXTURES, 'errors.expected'), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Recorded);

    it(`gives the same message and exit status for ${recorded.length} command lines`, () => {
      assert.ok(recorded.length > 150);
      const differences: string[] = [];
      for (const r of recorded) {
        // the state the recording started from
        const model = emptyRules();
        for (const setup of ['-A -t 10.0.0.1:80', '-a -t 10.0.0.1:80 -r 1.1.1.1 -m']) {
          const c = parse(setup);
          assert.ok(isConfigCommand(c));
          applyCommand(model, c);
        }
        let got = { stderr: '', exit: 0 };
        try {
          const c = parseIpvsadmArgs(r.argv);
          if (isConfigCommand(c)) applyCommand(model, c);
        } catch (e) {
          if (!(e instanceof IpvsadmError)) throw e;
          got = { stderr: e.message, exit: e.exitCode };
        }
        if (got.stderr !== r.stderr || got.exit !== r.exit) {
          differences.push(`${JSON.stringify(r.argv)}: want ${JSON.stringify([r.stderr, r.exit])}, got ${JSON.stringify([got.stderr, got.exit])}`);
        }
      }
      assert.deepEqual(differences, []);
    });
  });
});
