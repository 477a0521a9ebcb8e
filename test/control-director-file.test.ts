import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, type DirectorConfig } from '../src/control/config';
import { loadDirector, loadDirectorFile } from '../src/control/director-file';
import { formatMac } from '../src/control/ip-address';

const load = (...lines: string[]): DirectorConfig => loadDirector(lines.join('\n'), 'test.director');

function errorOf(...lines: string[]): [number, string] {
  try {
    load(...lines);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `not a ConfigError: ${String(e)}`);
    assert.equal(e.file, 'test.director');
    return [e.line, e.reason];
  }
  assert.fail('no error');
}

const LINKS = ['link eth0 mac 02:00:00:00:00:01', 'link eth1 mac 02:00:00:00:00:02 mtu 9000'];

describe('control/director-file', () => {
  it('loads links, addresses, neighbours and routes, with comments and blank lines', () => {
    const c = load(
      '# the director',
      'link eth0 mac 02:00:00:00:00:01        # client side',
      'link eth1 mac 02:00:00:00:00:02 mtu 9000',
      '',
      'addr 192.168.100.10/24 dev eth0',
      'addr 2001:db8::10/64 dev eth0',
      'addr 10.0.0.1/24 dev eth1',
      'neigh 10.0.0.11 lladdr 02:00:00:00:01:0B dev eth1',
      'neigh 2001:db8::1 lladdr 02:00:00:00:00:fe dev eth0',
      '\troute default via 192.168.100.1 dev eth0',
      'route default via 2001:db8::1 dev eth0',
      'route 172.16.0.0/12 via 10.0.0.254 dev eth1',
      'route 10.9.0.0/16 dev eth1',
    );
    assert.deepEqual(
      c.links.map((l) => [l.name, formatMac(l.mac), l.mtu]),
      [
        ['eth0', '02:00:00:00:00:01', 1500],
        ['eth1', '02:00:00:00:00:02', 9000],
      ],
    );
    assert.deepEqual(
      c.addrs.map((a) => [a.addr.text, a.prefixLen, a.dev]),
      [
        ['192.168.100.10', 24, 'eth0'],
        ['2001:db8::10', 64, 'eth0'],
        ['10.0.0.1', 24, 'eth1'],
      ],
    );
    assert.deepEqual(
      c.neighs.map((n) => [n.addr.text, formatMac(n.mac), n.dev]),
      [
        ['10.0.0.11', '02:00:00:00:01:0b', 'eth1'],
        ['2001:db8::1', '02:00:00:00:00:fe', 'eth0'],
      ],
    );
    assert.deepEqual(
      c.routes.map((r) => [r.prefix.text, r.prefixLen, r.via?.text ?? null, r.dev]),
      [
        ['0.0.0.0', 0, '192.168.100.1', 'eth0'],
        ['::', 0, '2001:db8::1', 'eth0'],
        ['172.16.0.0', 12, '10.0.0.254', 'eth1'],
        ['10.9.0.0', 16, null, 'eth1'],
      ],
    );
    assert.equal(c.routes[1].prefix.af, 6);
  });

  it('takes link options in any order; mac and mtu may be left to the live director, io defaults to packet', () => {
    const c = load('link eth0', 'link tun0 io tun mtu 1400', 'link eth2 io cap mac 02:00:00:00:00:03');
    assert.deepEqual(
      c.links.map((l) => [l.name, l.macGiven, formatMac(l.mac), l.mtuGiven, l.mtu, l.io]),
      [
        ['eth0', false, '00:00:00:00:00:00', false, 1500, 'packet'],
        ['tun0', false, '00:00:00:00:00:00', true, 1400, 'tun'],
        ['eth2', true, '02:00:00:00:00:03', false, 1500, 'cap'],
      ],
    );
  });

  it('takes an on-link default route as IPv4', () => {
    const c = load(...LINKS, 'route default dev eth0');
    assert.deepEqual([c.routes[0].prefix.text, c.routes[0].prefixLen, c.routes[0].via], ['0.0.0.0', 0, null]);
  });

  it('takes sysctl lines, with or without the net.ipv4.vs. prefix; without any, the kernel defaults hold', () => {
    assert.deepEqual(load(...LINKS).sysctls, {});
    assert.deepEqual(load(...LINKS, 'sysctl expire_nodest_conn 1').sysctls, { expire_nodest_conn: 1 });
    assert.deepEqual(load('sysctl net.ipv4.vs.drain_nodest_conn 1', ...LINKS).sysctls, { drain_nodest_conn: 1 });
    // Both named, only one of them 1: no contradiction.
    assert.deepEqual(load('sysctl expire_nodest_conn 0', 'sysctl drain_nodest_conn 1  # let them finish').sysctls,
      { expire_nodest_conn: 0, drain_nodest_conn: 1 });
  });

  describe('refuses, naming the line', () => {
    const cases: [string, string[], number, RegExp][] = [
      ['an unknown keyword', ['lnk eth0 mac 02:00:00:00:00:01'], 1, /unknown keyword "lnk"/],
      ['a missing MAC', ['link eth0 mac'], 1, /"mac" needs a value: expected "link NAME \[mac MAC\] \[mtu N\] \[io packet\|cap\|tun\|tap\|raw\]"/],
      ['a link without a name', ['link'], 1, /missing words: expected "link NAME/],
      ['an unknown link option', ['link eth0 speed 10g'], 1, /unexpected "speed": expected "link NAME/],
      ['a link option twice', ['link eth0 mtu 1500 mtu 9000'], 1, /"mtu" given twice/],
      ['an unknown io kind', ['link eth0 io xdp'], 1, /bad io "xdp" \(packet, cap, tun, tap or raw\)/],
      ['extra words', [...LINKS, 'addr 10.0.0.1/24 dev eth0 now'], 3, /unexpected words: expected "addr PREFIX dev DEV"/],
      ['a wrong fixed word', ['link eth0 hw 02:00:00:00:00:01'], 1, /unexpected "hw": expected "link NAME \[mac MAC\]/],
      ['a bad MAC', ['link eth0 mac 02:00:00:00:01'], 1, /bad MAC "02:00:00:00:01"/],
      ['a multicast MAC', ['link eth0 mac 01:00:5e:00:00:01'], 1, /multicast or broadcast/],
      ['an MTU below 68', ['link eth0 mac 02:00:00:00:00:01 mtu 67'], 1, /bad MTU "67" \(68\.\.65535\)/],
      ['an MTU above 65535', ['link eth0 mac 02:00:00:00:00:01 mtu 65536'], 1, /bad MTU "65536"/],
      ['a non-numeric MTU', ['link eth0 mac 02:00:00:00:00:01 mtu big'], 1, /bad MTU "big"/],
      ['a bad link name', ['link eth0/1 mac 02:00:00:00:00:01'], 1, /bad link name "eth0\/1"/],
      ['a duplicate link name', [...LINKS, 'link eth0 mac 02:00:00:00:00:03'], 3, /link eth0 is already declared \(line 1\)/],
      ['a duplicate MAC', [...LINKS, 'link eth2 mac 02:00:00:00:00:02'], 3, /MAC 02:00:00:00:00:02 is already used by another link \(line 2\)/],
      ['an undeclared link', ['addr 10.0.0.1/24 dev eth0', ...LINKS], 1, /link eth0 is not declared \(declare it with "link eth0" on an earlier line\)/],
      ['a neighbour on an undeclared link', [...LINKS, 'neigh 10.0.0.2 lladdr 02:00:00:00:00:09 dev eth9'], 3, /link eth9 is not declared/],
      ['a route on an undeclared link', [...LINKS, 'route default via 10.0.0.1 dev eth9'], 3, /link eth9 is not declared/],
      ['a bad address', [...LINKS, 'neigh 10.0.0.256 lladdr 02:00:00:00:00:09 dev eth1'], 3, /"10\.0\.0\.256" is not an IPv4 or IPv6 address/],
      ['a host name', [...LINKS, 'neigh gw.example lladdr 02:00:00:00:00:09 dev eth1'], 3, /host names are not resolved; use a numeric address/],
      ['an address without a prefix length', [...LINKS, 'addr 10.0.0.1 dev eth0'], 3, /needs a prefix length/],
      ['a bad prefix length', [...LINKS, 'addr 10.0.0.1/33 dev eth0'], 3, /bad prefix length "33"/],
      ['a duplicate address', [...LINKS, 'addr 10.0.0.1/24 dev eth0', 'addr 10.0.0.1/16 dev eth1'], 4, /address 10\.0\.0\.1 is already assigned \(line 3\)/],
      ['a duplicate neighbour', [...LINKS, 'neigh 10.0.0.2 lladdr 02:00:00:00:00:09 dev eth1', 'neigh 10.0.0.2 lladdr 02:00:00:00:00:0a dev eth0'], 4, /neighbour 10\.0\.0\.2 is already declared \(line 3\)/],
      ['host bits in a route', [...LINKS, 'route 10.0.0.1/24 via 10.0.0.254 dev eth1'], 3, /^10\.0\.0\.1\/24 has host bits set; did you mean 10\.0\.0\.0\/24\?$/],
      ['host bits in an IPv6 route', [...LINKS, 'route 2001:db8::1/64 dev eth1'], 3, /did you mean 2001:db8::\/64\?/],
      ['a gateway of the other family', [...LINKS, 'route 10.0.0.0/8 via 2001:db8::1 dev eth1'], 3, /gateway 2001:db8::1 is IPv6 but 10\.0\.0\.0\/8 is IPv4/],
      ['a duplicate route', [...LINKS, 'route default via 10.0.0.1 dev eth1', 'route 0.0.0.0/0 via 10.0.0.2 dev eth0'], 4, /route 0\.0\.0\.0\/0 is already declared \(line 3\)/],
      ['a bad neighbour MAC', [...LINKS, 'neigh 10.0.0.2 lladdr ff:ff:ff:ff:ff:ff dev eth1'], 3, /multicast or broadcast/],
      ['an unknown sysctl', [...LINKS, 'sysctl expire_quiescent_template 1'], 3,
        /^unknown sysctl "expire_quiescent_template" \(uvs knows expire_nodest_conn, drain_nodest_conn; the net\.ipv4\.vs\. prefix is optional\)$/],
      ['another subsystem\'s sysctl', ['sysctl net.ipv4.ip_forward 1'], 1, /unknown sysctl "net\.ipv4\.ip_forward"/],
      ['a sysctl value out of range', ['sysctl expire_nodest_conn 2'], 1, /^bad value "2" for expire_nodest_conn \(0 or 1\)$/],
      ['a sysctl value that is no number', ['sysctl drain_nodest_conn yes'], 1, /^bad value "yes" for drain_nodest_conn \(0 or 1\)$/],
      ['a sysctl without a value', ['sysctl expire_nodest_conn'], 1, /missing words: expected "sysctl NAME VALUE"/],
      ['a sysctl with extra words', ['sysctl expire_nodest_conn 1 now'], 1, /unexpected words: expected "sysctl NAME VALUE"/],
      ['a sysctl set twice (prefix or not)', ['sysctl expire_nodest_conn 0', 'sysctl net.ipv4.vs.expire_nodest_conn 0'], 2,
        /^sysctl expire_nodest_conn is already set \(line 1\)$/],
      ['expire_nodest_conn and drain_nodest_conn both 1', [...LINKS, 'sysctl drain_nodest_conn 1', 'sysctl expire_nodest_conn 1'], 4,
        /^expire_nodest_conn 1 and drain_nodest_conn 1 contradict each other .*set at most one of them$/],
    ];
    for (const [what, lines, line, reason] of cases) {
      it(what, () => {
        const [gotLine, gotReason] = errorOf(...lines);
        assert.equal(gotLine, line);
        assert.match(gotReason, reason);
      });
    }
  });

  it('returns nothing when a late line is bad', () => {
    let result: DirectorConfig | undefined;
    assert.throws(() => {
      result = loadDirector([...LINKS, 'addr 10.0.0.1/24 dev eth1', 'route 10.0.0.0/8 via 10.0.0.1 dev eth1', 'bogus'].join('\n'), 'd');
    }, (e: ConfigError) => e.line === 5);
    assert.equal(result, undefined);
  });

  it('loadDirectorFile reads a file and names it in errors', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'uvs-director-'));
    try {
      const file = path.join(dir, 'director');
      writeFileSync(file, `${LINKS.join('\n')}\naddr 10.0.0.1/24 dev eth1\n`);
      assert.equal(loadDirectorFile(file).addrs.length, 1);
      writeFileSync(file, 'link x mac\n');
      assert.throws(() => loadDirectorFile(file), (e: ConfigError) => e.file === file && e.line === 1);
      assert.throws(() => loadDirectorFile(path.join(dir, 'nope')), (e: ConfigError) => e.line === 0 && /cannot read/.test(e.reason));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
