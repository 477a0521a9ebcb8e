/**
 * Firewall-mark services: the director file's `mark` rules give packets the mark iptables' MARK
 * target would, and `-f MARK` services balance whatever carries it (ipvs-facts 1.1, 3).
 */
import assert from 'node:assert/strict';
import { loadDirector } from '../src/control/director-file';
import { ConfigError } from '../src/control/config';
import { EngineHarness, frame, ipv4Dst, SYN } from './support/frames';

const VIP = '192.0.2.10';
const DIRECTOR = `
link eth0 mac 02:00:00:00:00:01
addr 10.0.0.1/24 dev eth0
neigh 10.0.0.11 lladdr 02:00:00:00:01:11 dev eth0
neigh 10.0.0.12 lladdr 02:00:00:00:01:12 dev eth0
mark 7 proto tcp dst ${VIP} dport 80-443
mark 8 proto udp src 203.0.113.0/24
`;

describe('firewall-mark services', () => {
  it('balances every packet the classifier marks, whatever its port, and nothing else', () => {
    const h = new EngineHarness('-A -f 7 -s rr\n-a -f 7 -r 10.0.0.11:0 -m\n-a -f 7 -r 10.0.0.12:0 -m\n', DIRECTOR);
    const a = h.send(frame({ src: '198.51.100.7', dst: VIP, sport: 40000, dport: 80, flags: SYN }), 0);
    const b = h.send(frame({ src: '198.51.100.7', dst: VIP, sport: 40001, dport: 443, flags: SYN }), 1);
    const c = h.send(frame({ src: '198.51.100.7', dst: VIP, sport: 40002, dport: 22, flags: SYN }), 2);
    assert.deepEqual([a, b].map((f) => f && ipv4Dst(f)), ['10.0.0.12', '10.0.0.11']);
    // The real server port follows the packet (dest port 0).
    assert.equal((b![36] << 8) | b![37], 443);
    assert.equal(c, null, 'port 22 is outside the mark rule');
    assert.equal(h.summary().dropped['no-service'], 1);
    assert.equal(h.summary().services[0].service, 'FWM 7');
  });

  it('the first matching rule decides; a mark without a service falls back to the address lookup', () => {
    const rules = '-A -f 8 -s rr\n-a -f 8 -r 10.0.0.11:0 -m\n-A -u 192.0.2.10:53 -s rr\n-a -u 192.0.2.10:53 -r 10.0.0.12:53 -m\n';
    const h = new EngineHarness(rules, DIRECTOR);
    const marked = h.send(frame({ proto: 'udp', src: '203.0.113.5', dst: VIP, sport: 5000, dport: 53 }), 0);
    const plain = h.send(frame({ proto: 'udp', src: '198.51.100.5', dst: VIP, sport: 5000, dport: 53 }), 1);
    assert.deepEqual([marked, plain].map((f) => f && ipv4Dst(f)), ['10.0.0.11', '10.0.0.12']);
  });

  it('a persistent fwmark service keeps one template per client for every port (protocol "IP")', () => {
    const h = new EngineHarness('-A -f 7 -s rr -p 300\n-a -f 7 -r 10.0.0.11:0 -m\n-a -f 7 -r 10.0.0.12:0 -m\n', DIRECTOR);
    const got = [80, 443, 100].map((port, i) => h.send(frame({ src: '198.51.100.7', dst: VIP, sport: 40000 + i, dport: port, flags: SYN }), i));
    const other = h.send(frame({ src: '198.51.100.8', dst: VIP, sport: 40000, dport: 80, flags: SYN }), 5);
    assert.deepEqual([...got, other].map((f) => f && ipv4Dst(f)), ['10.0.0.12', '10.0.0.12', '10.0.0.12', '10.0.0.11']);
    const conns = h.built.engine.conns4;
    const templateProtos: number[] = [];
    conns.forEach((s) => {
      if ((conns.flags(s) & 0x1000) !== 0) templateProtos.push(conns.proto(s));
    });
    assert.deepEqual(templateProtos, [0, 0]);
  });

  it('rejects bad mark rules with the line and the reason', () => {
    const bad: [string, RegExp][] = [
      ['mark 0 proto tcp', /bad mark "0"/],
      ['mark 5 proto icmp', /bad proto "icmp"/],
      ['mark 5 dport 80', /need "proto/],
      ['mark 5 proto tcp dport 90-80', /bad dport "90-80"/],
      ['mark 5 dst 10.0.0.1/24', /host bits set/],
      ['mark 5 src 10.0.0.0/8 dst 2001:db8::/32', /different address families/],
      ['mark 5 proto tcp proto udp', /given twice/],
      ['mark 5 color red', /unknown match "color"/],
    ];
    for (const [line, re] of bad) {
      assert.throws(() => loadDirector(`link eth0 mac 02:00:00:00:00:01\n${line}\n`, 'd'), (e: unknown) =>
        e instanceof ConfigError && e.line === 2 && re.test(e.reason), line);
    }
  });
});
