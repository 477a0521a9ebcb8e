/**
 * The live director's pieces that need no network: finishing partial checksums, ARP requests,
 * neighbours learned at run time (router and resolver), the kernel guard's nftables rules.
 */
import { strict as assert } from 'node:assert';
import { readU16, writeU16, pseudoHeaderSum, fold } from '../src/wire/checksum';
import { finishPartialChecksum } from '../src/wire/partial-checksum';
import { arpMessageAt, writeArpRequest, ARP_OP, ARP_SPA, ARP_TPA } from '../src/wire/arp';
import { parseIp, formatMac } from '../src/control/ip-address';
import { parseIpNeighJson } from '../src/live/kernel-neighbours';
import { NeighbourResolver } from '../src/live/neighbour-resolver';
import { guardMatches, guardScript } from '../src/live/kernel-guard';
import { directorFilterRules } from '../src/live/director-filter';
import { retainedReplySources } from '../src/live/retained-replies';
import { deleteDest } from '../src/ipvs/engine-control';
import { loadRules } from '../src/control/rules-file';
import { loadDirector } from '../src/control/director-file';
import { schedulerNames } from '../src/sched/registry';
import { buildEngine } from '../src/ipvs/engine-builder';
import { RxBatch, type Port, type PortStats } from '../src/io/port';
import type { Logger } from '../src/control/daemon/logger';
import { EngineHarness, frame, SYN } from './support/frames';

/** Puts the pseudo-header sum where the checksum goes, as a sender with checksum offload leaves it. */
function makePartial(f: Uint8Array, v6: boolean, tcp: boolean): void {
  const l3 = 14;
  const l4 = l3 + (v6 ? 40 : 20);
  const l4Len = v6 ? readU16(f, l3 + 4) : readU16(f, l3 + 2) - 20;
  const src = v6 ? l3 + 8 : l3 + 12;
  const sum = fold(pseudoHeaderSum(f, src, src + (v6 ? 16 : 4), v6 ? 16 : 4, tcp ? 6 : 17, l4Len));
  writeU16(f, l4 + (tcp ? 16 : 6), sum);
}

const silent: Logger = { log: () => undefined };

/** A port that records what it is asked to send (the resolver's ARP requests). */
class RecordingPort implements Port {
  readonly kind = 'packet' as const;
  readonly layer2 = true;
  readonly rxMemory = null;
  readonly sent: Uint8Array[] = [];
  constructor(readonly name: string) {}
  addTxRegion(): void {}
  start(): void {}
  receive(): RxBatch | null {
    return null;
  }
  release(): void {}
  queue(buf: Uint8Array, off: number, len: number): boolean {
    this.sent.push(buf.slice(off, off + len));
    return true;
  }
  flush(): number {
    return 0;
  }
  stats(): PortStats {
    return { rxFrames: 0, rxDropped: 0, txFrames: this.sent.length, txDropped: 0 };
  }
  close(): void {}
}

describe('live: partial checksums', () => {
  for (const [name, v6, tcp] of [['TCP/IPv4', false, true], ['UDP/IPv4', false, false], ['TCP/IPv6', true, true], ['UDP/IPv6', true, false]] as const) {
    it(`finishes a ${name} checksum left to hardware`, () => {
      const good = frame({ src: v6 ? '2001:db8::1' : '10.0.0.1', dst: v6 ? '2001:db8::2' : '10.0.0.2', sport: 4242, dport: 80, proto: tcp ? 'tcp' : 'udp', payload: 33 });
      const partial = good.slice();
      makePartial(partial, v6, tcp);
      assert.notDeepEqual(partial, good);
      assert.equal(finishPartialChecksum(partial, 0, partial.length), true);
      assert.deepEqual(partial, good);
    });
  }

  it('leaves alone what it cannot finish: truncated captures, fragments, other protocols', () => {
    const f = frame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, payload: 10 });
    assert.equal(finishPartialChecksum(f, 0, f.length - 1), false);
    const frag = f.slice();
    frag[14 + 6] = 0x20; // more fragments
    assert.equal(finishPartialChecksum(frag, 0, frag.length), false);
    const arp = new Uint8Array(42);
    assert.equal(finishPartialChecksum(arp, 0, 42), false);
  });
});

describe('live: ARP requests', () => {
  it('writes a broadcast who-has that arpMessageAt reads back', () => {
    const buf = new Uint8Array(64);
    const mac = Uint8Array.of(2, 0, 0, 0, 0, 9);
    const n = writeArpRequest(buf, 4, mac, parseIp('10.0.0.1').bytes, parseIp('10.0.0.11').bytes);
    assert.equal(n, 42);
    assert.equal(formatMac(buf.subarray(4, 10)), 'ff:ff:ff:ff:ff:ff');
    assert.equal(formatMac(buf.subarray(10, 16)), '02:00:00:00:00:09');
    const a = arpMessageAt(buf, 4, n);
    assert.equal(a, 18);
    assert.equal(buf[a + ARP_OP + 1], 1);
    assert.deepEqual([...buf.subarray(a + ARP_SPA, a + ARP_SPA + 4)], [10, 0, 0, 1]);
    assert.deepEqual([...buf.subarray(a + ARP_TPA, a + ARP_TPA + 4)], [10, 0, 0, 11]);
    assert.equal(arpMessageAt(buf, 4, 41), -1);
  });
});

describe('live: neighbours', () => {
  const RULES = '-A -t 192.0.2.10:80 -s rr\n-a -t 192.0.2.10:80 -r 10.0.0.11:80 -g\n-a -t 192.0.2.10:80 -r 10.0.0.12:80 -g\n';
  const DIRECTOR = 'link eth0 mac 02:00:00:00:00:01\naddr 10.0.0.1/24 dev eth0\nroute default via 10.0.0.254 dev eth0\n';

  it('parses ip -j neigh, keeping only usable entries', () => {
    const rows = parseIpNeighJson(JSON.stringify([
      { dst: '10.0.0.11', dev: 'eth0', lladdr: '02:00:00:00:01:11', state: ['REACHABLE'] },
      { dst: '10.0.0.12', dev: 'eth0', state: ['FAILED'] },
      { dst: '10.0.0.13', dev: 'eth0', lladdr: '02:00:00:00:01:13', state: ['INCOMPLETE'] },
      { dst: 'fe80::1', dev: 'eth0', lladdr: '02:00:00:00:00:fe', state: ['STALE'] },
    ]));
    assert.deepEqual(rows.map((r) => [r.af, r.dev, formatMac(r.mac)]), [[4, 'eth0', '02:00:00:00:01:11'], [6, 'eth0', '02:00:00:00:00:fe']]);
    assert.deepEqual(parseIpNeighJson('not json'), []);
  });

  it('resolves from the kernel table, asks the rest by ARP, and learns replies so traffic flows', () => {
    const h = new EngineHarness(RULES, DIRECTOR);
    const engine = h.built.engine;
    const port = new RecordingPort('eth0');
    const syn = frame({ src: '198.51.100.7', dst: '192.0.2.10', sport: 5000, dport: 80, flags: SYN });
    assert.equal(h.send(syn, 0), null, 'no neighbour: nothing sent');
    const resolver = new NeighbourResolver({
      engine, ports: [port], logger: silent, clock: () => 0,
      readKernel: () => [{ af: 4, addr: parseIp('10.0.0.12').bytes, dev: 'eth0', mac: Uint8Array.of(2, 0, 0, 0, 1, 0x12) }],
    });
    resolver.refresh();
    resolver.stop();
    // 10.0.0.12 from the kernel; 10.0.0.11 and the gateway asked for.
    const asked = port.sent.map((f) => [...f.subarray(14 + ARP_TPA, 14 + ARP_TPA + 4)].join('.')).sort();
    assert.deepEqual(asked, ['10.0.0.11', '10.0.0.254']);
    assert.deepEqual(resolver.missing().map((w) => [...w.addr].join('.')).sort(), ['10.0.0.11', '10.0.0.254']);
    // The real server answers.
    const reply = new Uint8Array(42);
    writeArpRequest(reply, 0, Uint8Array.of(2, 0, 0, 0, 1, 0x11), parseIp('10.0.0.11').bytes, parseIp('10.0.0.1').bytes);
    reply[14 + ARP_OP + 1] = 2;
    resolver.observeArp(reply, 14, 0);
    assert.deepEqual(resolver.missing().map((w) => [...w.addr].join('.')), ['10.0.0.254']);
    const macs = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const out = h.send(frame({ src: '198.51.100.7', dst: '192.0.2.10', sport: 6000 + i, dport: 80, flags: SYN }), 1 + i);
      assert.ok(out !== null);
      macs.add(formatMac(out.subarray(0, 6)));
    }
    assert.deepEqual([...macs].sort(), ['02:00:00:00:01:11', '02:00:00:00:01:12']);
    // A MAC change seen in a later ARP is followed in place.
    writeArpRequest(reply, 0, Uint8Array.of(2, 0, 0, 0, 1, 0x99), parseIp('10.0.0.11').bytes, parseIp('10.0.0.1').bytes);
    resolver.observeArp(reply, 14, 0);
    const later = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const out = h.send(frame({ src: '198.51.100.8', dst: '192.0.2.10', sport: 7000 + i, dport: 80, flags: SYN }), 10 + i);
      later.add(formatMac((out as Uint8Array).subarray(0, 6)));
    }
    assert.deepEqual([...later].sort(), ['02:00:00:00:01:12', '02:00:00:00:01:99']);
  });
});

describe('live: kernel guard rules', () => {
  it('drops services, NAT replies, FULLNAT local addresses and marked traffic for the kernel', () => {
    const rules = loadRules([
      '-A -t 192.0.2.10:80 -s rr', '-a -t 192.0.2.10:80 -r 10.0.0.11:8080 -m',
      '-A -u 192.0.2.10:53 -s rr', '-a -u 192.0.2.10:53 -r 10.0.0.12:53 -g',
      '-A -t [2001:db8::10]:443 -s rr', '-a -t [2001:db8::10]:443 -r [2001:db8:1::11]:443 --fullnat',
      '-P -t [2001:db8::10]:443 -z 2001:db8:1::100',
      '-A -t 192.0.2.20:0 -s rr -p 60', '-a -t 192.0.2.20:0 -r 10.0.0.13:0 -g',
      '-A -f 7 -s rr', '-a -f 7 -r 10.0.0.14:0 -g',
    ].join('\n') + '\n', 'rules', { schedulers: schedulerNames() });
    const director = loadDirector('link eth0\nmark 7 proto tcp dst 192.0.2.30 dport 8000-8010\n', 'director');
    assert.deepEqual(guardMatches(rules, director), [
      'ip daddr 192.0.2.10 tcp dport 80',
      'ip saddr 10.0.0.11 tcp sport 8080',
      'ip daddr 192.0.2.10 udp dport 53',
      'ip6 daddr 2001:db8::10 tcp dport 443',
      'ip6 saddr 2001:db8:1::11 tcp sport 443',
      'ip6 daddr 2001:db8:1::100 meta l4proto { tcp, udp, sctp }',
      'ip daddr 192.0.2.20 meta l4proto tcp',
      'ip daddr 192.0.2.30/32 tcp dport 8000-8010',
    ]);
    const script = guardScript(['eth0', 'eth1'], ['ip daddr 192.0.2.10 tcp dport 80']);
    assert.match(script, /chain ingress0 \{\n    type filter hook ingress device "eth0" priority -500; policy accept;\n    ip daddr 192.0.2.10 tcp dport 80 counter drop\n  \}/);
    assert.match(script, /device "eth1"/);
    assert.ok(script.startsWith('table netdev uvs_guard {}\ndelete table netdev uvs_guard\n'));
  });

  it('keeps taking the replies of a deleted NAT real server (its connections live on), and only those', () => {
    const text = [
      '-A -t 192.0.2.10:80 -s rr', '-a -t 192.0.2.10:80 -r 10.0.0.11:8080 -m', '-a -t 192.0.2.10:80 -r 10.0.0.12:8080 -m',
      '-A -u 192.0.2.10:53 -s rr', '-a -u 192.0.2.10:53 -r 10.0.0.13:53 -g',
    ].join('\n') + '\n';
    const director = loadDirector('link eth0 mac 02:00:00:00:00:01\naddr 10.0.0.1/24 dev eth0\n', 'director');
    const { engine } = buildEngine(loadRules(text, 'rules', { schedulers: schedulerNames() }), director);
    const svc = engine.services.services[0];
    const rs1 = svc.list.find((d) => engine.destNames[d] === '10.0.0.11:8080');
    assert.ok(rs1 !== undefined);
    deleteDest(engine, svc, rs1);
    const after = loadRules(text.replace('-a -t 192.0.2.10:80 -r 10.0.0.11:8080 -m\n', ''), 'rules', { schedulers: schedulerNames() });
    const retained = retainedReplySources(engine);
    // Every NAT server the engine has had; the DR one (no replies through the director) is not there.
    assert.deepEqual(retained.map((r) => `${r.protocol} ${r.addr.text}:${r.port}`).sort(), ['tcp 10.0.0.11:8080', 'tcp 10.0.0.12:8080']);
    assert.ok(!guardMatches(after, director).includes('ip saddr 10.0.0.11 tcp sport 8080'));
    assert.ok(guardMatches(after, director, retained).includes('ip saddr 10.0.0.11 tcp sport 8080'));
    const src = (rules: ReturnType<typeof directorFilterRules>): string[] =>
      (rules ?? []).filter((r) => r.side === 'src').map((r) => `${r.proto} ${[...r.addr].join('.')}:${r.port}`);
    assert.deepEqual(src(directorFilterRules(after, director)), ['tcp 10.0.0.12:8080']);
    assert.deepEqual(src(directorFilterRules(after, director, retained)), ['tcp 10.0.0.12:8080', 'tcp 10.0.0.11:8080']);
  });

  it('builds an engine from a mac-less director file for the live director', () => {
    const director = loadDirector('link eth0\naddr 10.0.0.1/24 dev eth0\n', 'director');
    director.links[0].mac = Uint8Array.of(2, 0, 0, 0, 0, 5);
    const built = buildEngine(loadRules(RULES_ONE, 'rules', { schedulers: schedulerNames() }), director);
    assert.equal(built.engine.router.linkNames[0], 'eth0');
  });
});

const RULES_ONE = '-A -t 192.0.2.10:80 -s rr\n-a -t 192.0.2.10:80 -r 10.0.0.11:80 -g\n';

describe('live: socket filter rules', () => {
  it('take services, NAT and FULLNAT replies and local addresses; a configuration with marks takes every frame', async () => {
    const { directorFilterRules } = await import('../src/live/director-filter');
    const rules = loadRules([
      '-A -t 192.0.2.10:80 -s rr', '-a -t 192.0.2.10:80 -r 10.0.0.11:8080 -m', '-a -t 192.0.2.10:80 -r 10.0.0.12:8080 -m',
      '-A -u 192.0.2.10:53 -s rr', '-a -u 192.0.2.10:53 -r 10.0.0.13:53 -g',
      '-A -t 192.0.2.11:443 -s rr', '-a -t 192.0.2.11:443 -r 10.0.0.14:443 --fullnat', '-P -t 192.0.2.11:443 -z 10.0.0.100',
    ].join('\n') + '\n', 'rules', { schedulers: schedulerNames() });
    const got = directorFilterRules(rules, loadDirector('link eth0\n', 'director'));
    assert.deepEqual(got?.map((r) => `${r.side} ${r.proto} ${[...r.addr].join('.')}:${r.port}`), [
      // Real servers in IPVS list order: the newest first.
      'dst tcp 192.0.2.10:80', 'src tcp 10.0.0.12:8080', 'src tcp 10.0.0.11:8080',
      'dst udp 192.0.2.10:53',
      'dst tcp 192.0.2.11:443', 'src tcp 10.0.0.14:443', 'dst tcp 10.0.0.100:0',
    ]);
    assert.equal(directorFilterRules(rules, loadDirector('link eth0\nmark 1 proto tcp dport 80\n', 'director')), null);
  });
});
