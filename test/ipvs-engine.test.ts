/**
 * The engine in-process, through its public entry points only (rules and director text →
 * loadRules / loadDirector → buildEngine → Engine.processFrame → OutputBatch, summarize()):
 * what the golden scenarios (pcaps/*) do not reach. FULLNAT local port exhaustion and the
 * sharing of local addresses between protocols, the connection table limit, IPVS's active /
 * inactive counting through whole TCP lifecycles, conn_reuse, weight 0, unknown replies, IPv6
 * TOA and a full output batch. Expected values come from notes/forwarding-spec.md and
 * /work/shared/ipvs-facts.md, worked out in the comments.
 */
import assert from 'node:assert/strict';
import { loadDirector } from '../src/control/director-file';
import { loadRules } from '../src/control/rules-file';
import { buildEngine, type BuiltEngine } from '../src/ipvs/engine-builder';
import type { EngineOptions } from '../src/ipvs/engine';
import { OutputBatch } from '../src/ipvs/frame-batch';
import { summarize, type RealServerSummary } from '../src/ipvs/summary';
import { schedulerNames } from '../src/sched/registry';
import {
  arp, drExpected, ipBytes, ipPacketOf, ipv4, ipv6, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, tcp,
  transportChecksumOk, udp, view,
} from './fixtures/engine/frames';

const VIP = '192.0.2.10';
const CLIENT = '203.0.113.7';
const LINK_MAC = '02:00:00:00:00:01';
const GW_MAC = '02:00:00:00:00:fe';
const RS_MAC: Record<string, string> = {
  '10.0.0.11': '02:00:00:00:01:11',
  '10.0.0.12': '02:00:00:00:01:12',
  '10.0.0.13': '02:00:00:00:01:13',
};

const DIRECTOR4 = `
link eth0 mac ${LINK_MAC}
addr 10.0.0.1/24 dev eth0
addr 10.0.0.2/24 dev eth0
addr 10.0.0.3/24 dev eth0
neigh 10.0.0.254 lladdr ${GW_MAC} dev eth0
neigh 10.0.0.11 lladdr ${RS_MAC['10.0.0.11']} dev eth0
neigh 10.0.0.12 lladdr ${RS_MAC['10.0.0.12']} dev eth0
neigh 10.0.0.13 lladdr ${RS_MAC['10.0.0.13']} dev eth0
route default via 10.0.0.254 dev eth0
`;

/** An arbitrary wall-clock epoch for the first frame (ms). */
const T0 = 1_700_000_000_000;

/** One engine plus a one-frame-at-a-time driver. */
class Harness {
  readonly built: BuiltEngine;
  readonly out: OutputBatch;
  private frame = 0;

  constructor(rules: string, director = DIRECTOR4, options: EngineOptions = {}, out = new OutputBatch(1 << 20, 64)) {
    this.built = buildEngine(loadRules(rules, 'rules', { schedulers: schedulerNames() }), loadDirector(director, 'director'), options);
    this.out = out;
  }

  get engine() {
    return this.built.engine;
  }

  /**
   * Runs one frame arriving `atMs` after T0 (on a copy, so callers may reuse the frame) and
   * returns the transmitted frame, or null when it was dropped.
   */
  send(frame: Uint8Array, atMs: number): Uint8Array | null {
    this.out.reset();
    const buf = frame.slice();
    const ok = this.engine.processFrame(buf, 0, buf.length, T0 + atMs, this.out, this.frame++);
    if (!ok) return null;
    assert.equal(this.out.count, 1, 'one frame out per frame in');
    return this.out.frameBuf[0].slice(this.out.off[0], this.out.off[0] + this.out.len[0]);
  }

  /** Moves the clock by sending a frame every engine drops (ARP). */
  clock(atMs: number): void {
    assert.equal(this.send(arp('10.0.0.254', '10.0.0.1'), atMs), null);
  }

  drops(): Record<string, number> {
    return summarize(this.built).dropped;
  }

  rs(server: string): RealServerSummary {
    for (const svc of summarize(this.built).services) {
      for (const r of svc.realServers) if (r.server === server) return r;
    }
    throw new Error(`no real server ${server}`);
  }

  /** [activeConns, inactiveConns] of a real server, as ipvsadm -L shows them. */
  counts(server: string): [number, number] {
    const r = this.rs(server);
    return [r.activeConns, r.inactiveConns];
  }
}

function udpTo(sport: number, dport: number, opts: { src?: string; dst?: string; ttl?: number; payload?: number } = {}): Uint8Array {
  return ipv4({ src: opts.src ?? CLIENT, dst: opts.dst ?? VIP, ttl: opts.ttl, l4: udp({ sport, dport, payload: opts.payload ?? 4 }) });
}

function tcpTo(sport: number, dport: number, flags: number, opts: { src?: string; dst?: string; seq?: number; ack?: number } = {}): Uint8Array {
  return ipv4({ src: opts.src ?? CLIENT, dst: opts.dst ?? VIP, l4: tcp({ sport, dport, flags, seq: opts.seq, ack: opts.ack }) });
}

describe('engine (in-process, public entry points)', () => {
  describe('FULLNAT local addresses and ports', () => {
    const RULES = `
-A -u ${VIP}:53 -s rr
-a -u ${VIP}:53 -r 10.0.0.11:5353 --fullnat -w 1
-P -u ${VIP}:53 -z 10.0.0.2
-A -t ${VIP}:80 -s rr
-a -t ${VIP}:80 -r 10.0.0.11:8080 --fullnat -w 1
-P -t ${VIP}:80 -z 10.0.0.2
`;
    const PORTS = 65535 - 1025 + 1; // 64,511 local ports per (laddr, protocol)

    it('one local address: 64,511 UDP flows take 1025..65535, the next is local-ports-exhausted until they expire', function () {
      this.timeout(120000);
      const h = new Harness(RULES);
      // Client ports 1024..65534 for the first 64,511 flows, all at t = 0.
      for (let i = 0; i < PORTS; i++) {
        const o = h.send(udpTo(1024 + i, 53), 0);
        if (o === null) assert.fail(`flow ${i} dropped: ${JSON.stringify(h.drops())}`);
        const v = view(o);
        if (v.sport !== 1025 + i || v.src !== '10.0.0.2' || v.dst !== '10.0.0.11' || v.dport !== 5353) {
          assert.fail(`flow ${i}: ${v.src}:${v.sport} -> ${v.dst}:${v.dport}, expected 10.0.0.2:${1025 + i} -> 10.0.0.11:5353`);
        }
      }
      // A few spot checks, spelled out.
      assert.equal(view(h.send(udpTo(1024, 53), 1)!).sport, 1025, 'an existing flow keeps its port');
      assert.equal(view(h.send(udpTo(1024 + 1000, 53), 1)!).sport, 2025);
      assert.equal(view(h.send(udpTo(1024 + PORTS - 1, 53), 1)!).sport, 65535);
      assert.equal(h.engine.connectionsCreated, PORTS);

      // Flow 64,512: every (10.0.0.2, port, UDP) is used by a live connection.
      assert.equal(h.send(udpTo(65535, 53), 2), null);
      assert.deepEqual(h.drops(), { 'local-ports-exhausted': 1 });
      assert.equal(h.engine.connectionsCreated, PORTS, 'the refused flow is not a connection');
      assert.deepEqual(h.counts('10.0.0.11:5353'), [0, PORTS], 'the refused flow is not counted on the real server');

      // Uniqueness is per protocol: TCP may still use 10.0.0.2:1025 (the cursor wrapped to 1025).
      const syn = h.send(tcpTo(40000, 80, TCP_SYN), 3);
      assert.ok(syn, 'a TCP SYN still gets a local port');
      assert.deepEqual([view(syn).src, view(syn).sport], ['10.0.0.2', 1025]);
      // Replies to 10.0.0.2:1025 are told apart by protocol.
      const tReply = h.send(tcpTo(8080, 1025, TCP_SYN | TCP_ACK, { src: '10.0.0.11', dst: '10.0.0.2' }), 4);
      assert.ok(tReply);
      assert.deepEqual([view(tReply).dst, view(tReply).dport, view(tReply).src, view(tReply).sport], [CLIENT, 40000, VIP, 80]);
      const uReply = h.send(udpTo(5353, 1025, { src: '10.0.0.11', dst: '10.0.0.2' }), 5);
      assert.ok(uReply);
      assert.deepEqual([view(uReply).dst, view(uReply).dport, view(uReply).src, view(uReply).sport], [CLIENT, 1024, VIP, 53]);

      // Just before 300 s most entries (armed at t = 0) are still there.
      assert.equal(h.send(udpTo(65535, 53), 299_999), null);
      assert.equal(h.drops()['local-ports-exhausted'], 2);
      // At 300 s the entries armed at t = 0 have expired (those re-armed at 1 or 5 ms have not:
      // client ports 1024, 2024 and 65534 keep 1025, 2025 and 65535). The port cursor of
      // 10.0.0.2 stands at 1026, since the TCP connection took 1025: the new flow gets 1026.
      const again = h.send(udpTo(65535, 53), 300_000);
      assert.ok(again, `dropped: ${JSON.stringify(h.drops())}`);
      assert.deepEqual([view(again).src, view(again).sport], ['10.0.0.2', 1026]);
    });

    it('two local addresses alternate (L1:1025, L2:1025, L1:1026, ...) and the port cursor of an address is shared by TCP and UDP', () => {
      const rules = `
-A -t ${VIP}:80 -s rr
-a -t ${VIP}:80 -r 10.0.0.11:8080 --fullnat -w 1
-P -t ${VIP}:80 -z 10.0.0.2
-P -t ${VIP}:80 -z 10.0.0.3
-A -u ${VIP}:53 -s rr
-a -u ${VIP}:53 -r 10.0.0.11:5353 --fullnat -w 1
-P -u ${VIP}:53 -z 10.0.0.2
-P -u ${VIP}:53 -z 10.0.0.3
`;
      const h = new Harness(rules);
      const local = (o: Uint8Array | null): string => {
        assert.ok(o, `dropped: ${JSON.stringify(h.drops())}`);
        return `${view(o).src}:${view(o).sport}`;
      };
      // Each service has its own round-robin cursor over its laddrs (starting at the first);
      // each local address has one port cursor (spec: "each local address has its own port
      // cursor"), which both services move.
      assert.equal(local(h.send(tcpTo(40001, 80, TCP_SYN), 0)), '10.0.0.2:1025');
      assert.equal(local(h.send(tcpTo(40002, 80, TCP_SYN), 1)), '10.0.0.3:1025');
      assert.equal(local(h.send(udpTo(40003, 53), 2)), '10.0.0.2:1026');
      assert.equal(local(h.send(udpTo(40004, 53), 3)), '10.0.0.3:1026');
      assert.equal(local(h.send(tcpTo(40005, 80, TCP_SYN), 4)), '10.0.0.2:1027');
      assert.equal(local(h.send(udpTo(40006, 53), 5)), '10.0.0.2:1028', 'the UDP service cursor is at its first laddr again');
      // Replies map back to the right client.
      const r = h.send(udpTo(5353, 1026, { src: '10.0.0.11', dst: '10.0.0.3' }), 6);
      assert.ok(r);
      assert.deepEqual([view(r).dst, view(r).dport], [CLIENT, 40004]);
      // A reply to a pair in use by the other protocol only is not a reply.
      assert.equal(h.send(udpTo(5353, 1025, { src: '10.0.0.11', dst: '10.0.0.2' }), 7), null);
      assert.deepEqual(h.drops(), { 'unknown-reply': 1 });
    });
  });

  describe('connection table limit', () => {
    it('with maxConns 16 the 17th flow is connection-table-full; existing flows go on; after expiry new flows are accepted', () => {
      const h = new Harness(`
-A -u ${VIP}:53 -s rr
-a -u ${VIP}:53 -r 10.0.0.11:53 -g -w 1
`, DIRECTOR4, { connCapacity: 16, maxConns: 16 });
      for (let i = 0; i < 16; i++) assert.ok(h.send(udpTo(30000 + i, 53), i), `flow ${i}`);
      assert.equal(h.send(udpTo(30016, 53), 100), null);
      assert.deepEqual(h.drops(), { 'connection-table-full': 1 });
      assert.ok(h.send(udpTo(30003, 53), 200), 'a packet of an existing flow is still forwarded');
      assert.equal(h.engine.connectionsCreated, 16);
      assert.deepEqual(h.counts('10.0.0.11:53'), [0, 16]);
      // Flows 0..15 were armed at t = i ms (flow 3 again at 200 ms): at 300.015 s all but flow 3 are gone.
      const late = h.send(udpTo(30016, 53), 300_015);
      assert.ok(late, `dropped: ${JSON.stringify(h.drops())}`);
      assert.deepEqual(h.counts('10.0.0.11:53'), [0, 2]);
      for (let i = 0; i < 14; i++) assert.ok(h.send(udpTo(31000 + i, 53), 300_016), `new flow ${i}`);
      assert.equal(h.send(udpTo(32000, 53), 300_017), null, 'full again at 16');
      assert.equal(h.drops()['connection-table-full'], 2);
    });
  });

  describe('connection table growth and the clock', () => {
    const RULES6 = `
-A -u [2001:db8:f::10]:53 -s rr
-a -u [2001:db8:f::10]:53 -r [fd00::11]:53 -g -w 1
-a -u [2001:db8:f::10]:53 -r [fd00::12]:53 -g -w 1
`;
    const DIRECTOR6 = `
link eth0 mac ${LINK_MAC}
addr fd00::1/64 dev eth0
neigh fd00::11 lladdr 02:00:00:00:06:11 dev eth0
neigh fd00::12 lladdr 02:00:00:00:06:12 dev eth0
`;

    it('10,000 IPv6 flows (past the initial table size): every later packet finds its own entry and server', () => {
      const h = new Harness(RULES6, DIRECTOR6);
      const flow = (i: number) => ipv6({ src: `2001:db8:c::${(i >> 8).toString(16)}:${(i & 0xff).toString(16)}`, dst: '2001:db8:f::10',
        l4: udp({ sport: 10000 + (i % 50000), dport: 53, payload: 2 }) });
      const first: string[] = [];
      for (let i = 0; i < 10_000; i++) {
        const o = h.send(flow(i), 0);
        assert.ok(o);
        first.push(view(o).dstMac);
      }
      for (let i = 0; i < 10_000; i++) {
        const o = h.send(flow(i), 1);
        assert.ok(o);
        if (view(o).dstMac !== first[i]) assert.fail(`flow ${i} moved from ${first[i]} to ${view(o).dstMac}`);
      }
      assert.equal(h.engine.connectionsCreated, 10_000);
      assert.equal(summarize(h.built).liveConnections, 10_000);
    });

    // Expiries are 32-bit ticks relative to a time base that moves forward (conn-table rebase()):
    // once a capture was more than 2^32 ms old they used to wrap and expire at once.
    it('a capture spanning more than 2^32 ms (49.7 days) keeps connections for their timeout', () => {
      const h = new Harness(`
-A -u ${VIP}:53 -s rr
-a -u ${VIP}:53 -r 10.0.0.11:53 -g -w 1
-a -u ${VIP}:53 -r 10.0.0.12:53 -g -w 1
`);
      const day = 86_400_000;
      assert.ok(h.send(udpTo(5000, 53), 0));
      const later = 50 * day;
      assert.ok(h.send(udpTo(5001, 53), later));
      assert.ok(h.send(udpTo(5001, 53), later + 1000));
      assert.equal(h.engine.connectionsCreated, 2, 'the second packet of the flow 50 days in finds its entry');
      // rr: the first flow went to .12 (gone after 300 s), the second to .11, still live.
      assert.deepEqual(h.counts('10.0.0.12:53'), [0, 0]);
      assert.deepEqual(h.counts('10.0.0.11:53'), [0, 1]);
      assert.equal(summarize(h.built).liveConnections, 1);
    });
  });

  describe('active / inactive counts (ipvs-facts 4.4)', () => {
    const DR = `
-A -t ${VIP}:80 -s rr
-a -t ${VIP}:80 -r 10.0.0.11:80 -g -w 1
-A -u ${VIP}:53 -s rr
-a -u ${VIP}:53 -r 10.0.0.12:53 -g -w 1
`;

    it('TCP DR: SYN active, ACK active, FIN inactive (FIN_WAIT 120 s), then 0/0 after expiry', () => {
      const h = new Harness(DR);
      assert.ok(h.send(tcpTo(40000, 80, TCP_SYN), 0));
      assert.deepEqual(h.counts('10.0.0.11:80'), [1, 0], 'SYN_RECV is active');
      assert.ok(h.send(tcpTo(40000, 80, TCP_ACK), 10));
      assert.deepEqual(h.counts('10.0.0.11:80'), [1, 0], 'ESTABLISHED is active');
      assert.ok(h.send(tcpTo(40000, 80, TCP_FIN | TCP_ACK), 20));
      assert.deepEqual(h.counts('10.0.0.11:80'), [0, 1], 'FIN_WAIT is inactive');
      assert.ok(h.send(tcpTo(40000, 80, TCP_ACK), 30));
      assert.deepEqual(h.counts('10.0.0.11:80'), [0, 1], 'FIN_WAIT stays on ACK');
      h.clock(30 + 119_999);
      assert.deepEqual(h.counts('10.0.0.11:80'), [0, 1], 'FIN_WAIT lives 120 s');
      h.clock(30 + 120_000);
      assert.deepEqual(h.counts('10.0.0.11:80'), [0, 0], 'expired');
      assert.equal(summarize(h.built).liveConnections, 0);
    });

    it('TCP DR: RST moves an active entry to inactive (CLOSE, 10 s)', () => {
      const h = new Harness(DR);
      assert.ok(h.send(tcpTo(40000, 80, TCP_SYN), 0));
      assert.ok(h.send(tcpTo(40000, 80, TCP_ACK), 1));
      assert.deepEqual(h.counts('10.0.0.11:80'), [1, 0]);
      assert.ok(h.send(tcpTo(40000, 80, TCP_RST), 2));
      assert.deepEqual(h.counts('10.0.0.11:80'), [0, 1]);
      h.clock(2 + 9_999);
      assert.deepEqual(h.counts('10.0.0.11:80'), [0, 1]);
      h.clock(2 + 10_000);
      assert.deepEqual(h.counts('10.0.0.11:80'), [0, 0]);
    });

    it('UDP is always inactive, and 0/0 after 300 s', () => {
      const h = new Harness(DR);
      assert.ok(h.send(udpTo(5000, 53), 0));
      assert.ok(h.send(udpTo(5001, 53), 1));
      assert.ok(h.send(udpTo(5000, 53), 2));
      assert.deepEqual(h.counts('10.0.0.12:53'), [0, 2]);
      h.clock(1 + 300_000);
      assert.deepEqual(h.counts('10.0.0.12:53'), [0, 1], 'the flow re-armed at 2 ms is still there');
      h.clock(2 + 300_000);
      assert.deepEqual(h.counts('10.0.0.12:53'), [0, 0]);
    });

    it('TCP NAT: SYN, SYN-ACK, ACK active; client FIN then server FIN inactive, in TIME_WAIT (120 s, not CLOSE_WAIT 60 s)', () => {
      const h = new Harness(`
-A -t ${VIP}:80 -s rr
-a -t ${VIP}:80 -r 10.0.0.11:8080 -m -w 1
`);
      const rs = '10.0.0.11:8080';
      const fromRs = (flags: number, at: number) => h.send(tcpTo(8080, 40000, flags, { src: '10.0.0.11', dst: CLIENT }), at);
      assert.ok(h.send(tcpTo(40000, 80, TCP_SYN), 0));
      assert.deepEqual(h.counts(rs), [1, 0], 'SYN_RECV');
      assert.ok(fromRs(TCP_SYN | TCP_ACK, 1));
      assert.deepEqual(h.counts(rs), [1, 0], 'SYN-ACK keeps SYN_RECV');
      assert.ok(h.send(tcpTo(40000, 80, TCP_ACK), 2));
      assert.deepEqual(h.counts(rs), [1, 0], 'ESTABLISHED');
      assert.ok(h.send(tcpTo(40000, 80, TCP_FIN | TCP_ACK), 3));
      assert.deepEqual(h.counts(rs), [0, 1], 'CLOSE_WAIT is inactive');
      assert.ok(fromRs(TCP_FIN | TCP_ACK, 4));
      assert.deepEqual(h.counts(rs), [0, 1], 'TIME_WAIT is inactive');
      h.clock(4 + 60_000);
      assert.deepEqual(h.counts(rs), [0, 1], 'still there after CLOSE_WAIT\'s 60 s: it is in TIME_WAIT');
      h.clock(4 + 119_999);
      assert.deepEqual(h.counts(rs), [0, 1]);
      h.clock(4 + 120_000);
      assert.deepEqual(h.counts(rs), [0, 0], 'TIME_WAIT lasts 120 s');
    });
  });

  describe('conn_reuse_mode (SYN on an existing entry)', () => {
    // rr over .11 and .12 added in that order: the list is .12, .11, so rr picks .12, .11, .12, ...
    const RULES = `
-A -t ${VIP}:80 -s rr
-a -t ${VIP}:80 -r 10.0.0.11:80 -g -w 1
-a -t ${VIP}:80 -r 10.0.0.12:80 -g -w 1
`;
    const server = (o: Uint8Array | null): string => {
      assert.ok(o, 'forwarded');
      const mac = view(o).dstMac;
      return Object.keys(RS_MAC).find((k) => RS_MAC[k] === mac) ?? mac;
    };

    it('a SYN on a TIME_WAIT entry expires it and schedules afresh (rr moves on)', () => {
      const h = new Harness(RULES);
      assert.equal(server(h.send(tcpTo(40000, 80, TCP_SYN), 0)), '10.0.0.12');
      assert.equal(server(h.send(tcpTo(40000, 80, TCP_FIN), 1)), '10.0.0.12', 'SYN_RECV + FIN → TIME_WAIT (INPUT-ONLY)');
      assert.deepEqual(h.counts('10.0.0.12:80'), [0, 1]);
      assert.equal(server(h.send(tcpTo(40000, 80, TCP_SYN), 2)), '10.0.0.11', 'rescheduled');
      assert.equal(h.engine.connectionsCreated, 2);
      assert.deepEqual(h.counts('10.0.0.12:80'), [0, 0], 'the old entry is gone');
      assert.deepEqual(h.counts('10.0.0.11:80'), [1, 0]);
    });

    it('a SYN on a CLOSE entry (after RST) is scheduled afresh too', () => {
      const h = new Harness(RULES);
      assert.equal(server(h.send(tcpTo(40000, 80, TCP_SYN), 0)), '10.0.0.12');
      // (SYN_RECV + RST stays SYN_RECV in every table: establish first.)
      assert.equal(server(h.send(tcpTo(40000, 80, TCP_ACK), 1)), '10.0.0.12');
      assert.equal(server(h.send(tcpTo(40000, 80, TCP_RST), 2)), '10.0.0.12');
      assert.equal(server(h.send(tcpTo(40000, 80, TCP_SYN), 3)), '10.0.0.11');
      assert.equal(h.engine.connectionsCreated, 2);
    });

    it('a SYN on an ESTABLISHED (or SYN_RECV, FIN_WAIT) entry keeps the entry and its server', () => {
      const h = new Harness(RULES);
      assert.equal(server(h.send(tcpTo(40000, 80, TCP_SYN), 0)), '10.0.0.12');
      assert.equal(server(h.send(tcpTo(40000, 80, TCP_SYN), 1)), '10.0.0.12', 'SYN_RECV');
      assert.equal(server(h.send(tcpTo(40000, 80, TCP_ACK), 2)), '10.0.0.12');
      assert.equal(server(h.send(tcpTo(40000, 80, TCP_SYN), 3)), '10.0.0.12', 'ESTABLISHED');
      assert.equal(server(h.send(tcpTo(40000, 80, TCP_FIN | TCP_ACK), 4)), '10.0.0.12');
      assert.equal(server(h.send(tcpTo(40000, 80, TCP_SYN), 5)), '10.0.0.12', 'FIN_WAIT');
      assert.equal(h.engine.connectionsCreated, 1);
      // The rr cursor did not move: the next new flow goes to .11.
      assert.equal(server(h.send(tcpTo(40001, 80, TCP_SYN), 6)), '10.0.0.11');
    });
  });

  describe('weight 0', () => {
    it('a weight-0 server is never scheduled (rr and wlc)', () => {
      for (const sched of ['rr', 'wlc']) {
        const h = new Harness(`
-A -u ${VIP}:53 -s ${sched}
-a -u ${VIP}:53 -r 10.0.0.11:53 -g -w 1
-a -u ${VIP}:53 -r 10.0.0.12:53 -g -w 0
-a -u ${VIP}:53 -r 10.0.0.13:53 -g -w 1
`);
        const seen = new Set<string>();
        for (let i = 0; i < 12; i++) {
          const o = h.send(udpTo(20000 + i, 53), i);
          assert.ok(o, `${sched}: flow ${i} dropped`);
          seen.add(view(o).dstMac);
        }
        assert.deepEqual([...seen].sort(), [RS_MAC['10.0.0.11'], RS_MAC['10.0.0.13']].sort(), sched);
        assert.equal(h.rs('10.0.0.12:53').connections, 0, sched);
      }
    });

    it('a service whose only server has weight 0 drops new flows with no-destination (answered: port unreachable)', () => {
      const h = new Harness(`
-A -u ${VIP}:53 -s rr
-a -u ${VIP}:53 -r 10.0.0.11:53 -g -w 0
-A -t ${VIP}:80 -s wlc
-a -t ${VIP}:80 -r 10.0.0.11:80 -g -w 0
`);
      // The only frame out is the director's ICMP Destination Unreachable / Port Unreachable (3/3).
      for (const [f, at] of [[udpTo(20000, 53), 0], [tcpTo(20000, 80, TCP_SYN), 1]] as const) {
        const o = h.send(f, at);
        assert.ok(o !== null);
        assert.deepEqual([o[23], o[34], o[35]], [1, 3, 3]);
      }
      assert.deepEqual(h.drops(), { 'no-destination': 2 });
      assert.equal(h.engine.connectionsCreated, 0);
    });
  });

  describe('replies that match no connection', () => {
    const RULES = `
-A -t ${VIP}:80 -s rr
-a -t ${VIP}:80 -r 10.0.0.11:8080 -m -w 1
-A -t ${VIP}:81 -s rr
-a -t ${VIP}:81 -r 10.0.0.12:81 -g -w 1
-A -t ${VIP}:82 -s rr
-a -t ${VIP}:82 -r 10.0.0.13:8082 --fullnat -w 1
-P -t ${VIP}:82 -z 10.0.0.2
`;

    it('from a NAT real server address+port+protocol: unknown-reply', () => {
      const h = new Harness(RULES);
      assert.equal(h.send(tcpTo(8080, 40000, TCP_ACK, { src: '10.0.0.11', dst: CLIENT }), 0), null);
      assert.equal(h.send(tcpTo(8080, 40000, TCP_SYN | TCP_ACK, { src: '10.0.0.11', dst: CLIENT }), 1), null);
      assert.deepEqual(h.drops(), { 'unknown-reply': 2 });
    });

    it('a NAT reply for a client whose connection is on another port is unknown-reply; the right one is forwarded', () => {
      const h = new Harness(RULES);
      assert.ok(h.send(tcpTo(40000, 80, TCP_SYN), 0));
      assert.equal(h.send(tcpTo(8080, 40001, TCP_SYN | TCP_ACK, { src: '10.0.0.11', dst: CLIENT }), 1), null);
      assert.deepEqual(h.drops(), { 'unknown-reply': 1 });
      const ok = h.send(tcpTo(8080, 40000, TCP_SYN | TCP_ACK, { src: '10.0.0.11', dst: CLIENT }), 2);
      assert.ok(ok);
      assert.deepEqual([view(ok).src, view(ok).sport, view(ok).dst, view(ok).dport, view(ok).dstMac], [VIP, 80, CLIENT, 40000, GW_MAC]);
    });

    it('from a DR real server, or a NAT server\'s other port or protocol: no-service', () => {
      const h = new Harness(RULES);
      assert.equal(h.send(tcpTo(81, 40000, TCP_ACK, { src: '10.0.0.12', dst: CLIENT }), 0), null);
      assert.equal(h.send(tcpTo(9999, 40000, TCP_ACK, { src: '10.0.0.11', dst: CLIENT }), 1), null);
      assert.equal(h.send(udpTo(8080, 40000, { src: '10.0.0.11', dst: CLIENT }), 2), null);
      assert.deepEqual(h.drops(), { 'no-service': 3 });
    });

    it('from a FULLNAT real server to a local address:port with no connection: unknown-reply', () => {
      const h = new Harness(RULES);
      assert.equal(h.send(tcpTo(8082, 1025, TCP_SYN | TCP_ACK, { src: '10.0.0.13', dst: '10.0.0.2' }), 0), null);
      assert.deepEqual(h.drops(), { 'unknown-reply': 1 });
      // Once the connection exists, the same reply goes back to the client.
      const out = h.send(tcpTo(40000, 82, TCP_SYN), 1);
      assert.ok(out);
      assert.deepEqual([view(out).src, view(out).sport], ['10.0.0.2', 1025]);
      const back = h.send(tcpTo(8082, 1025, TCP_SYN | TCP_ACK, { src: '10.0.0.13', dst: '10.0.0.2' }), 2);
      assert.ok(back);
      assert.deepEqual([view(back).src, view(back).sport, view(back).dst, view(back).dport], [VIP, 82, CLIENT, 40000]);
    });
  });

  describe('IPv6 FULLNAT with TOA', () => {
    const VIP6 = '2001:db8:f::10';
    const CLIENT6 = '2001:db8:c::7';
    const RULES = `
-A -t [${VIP6}]:80 -s rr
-a -t [${VIP6}]:80 -r [fd00::21]:8080 --fullnat -w 1
-P -t [${VIP6}]:80 -z fd00::5
`;
    const DIRECTOR = `
link eth0 mac ${LINK_MAC}
addr fd00::1/64 dev eth0
addr fd00::5/64 dev eth0
neigh fd00::fe lladdr ${GW_MAC} dev eth0
neigh fd00::21 lladdr 02:00:00:00:02:21 dev eth0
route default via fd00::fe dev eth0
`;
    const ISN = 0x11223344;
    // NOP NOP timestamp(10): 12 option bytes the client sends on every segment.
    const TS = Uint8Array.of(1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2);

    it('the handshake-completing ACK carries kind 254, length 20, client port and 16-byte address, once', () => {
      const h = new Harness(RULES, DIRECTOR);
      const c2s = (flags: number, seq: number, ack: number, payload: number, at: number) =>
        h.send(ipv6({ src: CLIENT6, dst: VIP6, l4: tcp({ sport: 40000, dport: 80, flags, seq, ack, options: TS, payload }) }), at);

      const syn = c2s(TCP_SYN, 1000, 0, 0, 0);
      assert.ok(syn);
      assert.deepEqual([view(syn).src, view(syn).sport, view(syn).dst, view(syn).dport], ['fd00::5', 1025, 'fd00::21', 8080]);
      assert.equal(ipPacketOf(syn)[40 + 12] >> 4, 8, 'no TOA in the SYN: data offset 20 + 12');

      const synAck = h.send(ipv6({ src: 'fd00::21', dst: 'fd00::5',
        l4: tcp({ sport: 8080, dport: 1025, flags: TCP_SYN | TCP_ACK, seq: ISN, ack: 1001 }) }), 1);
      assert.ok(synAck);
      assert.deepEqual([view(synAck).src, view(synAck).sport, view(synAck).dst, view(synAck).dport], [VIP6, 80, CLIENT6, 40000]);

      const inAck = ipv6({ src: CLIENT6, dst: VIP6, hlim: 50,
        l4: tcp({ sport: 40000, dport: 80, flags: TCP_ACK | TCP_PSH, seq: 1001, ack: ISN + 1, options: TS, payload: 5 }) });
      const ack = h.send(inAck, 2);
      assert.ok(ack);
      const inIp = ipPacketOf(inAck);
      const ip = ipPacketOf(ack);
      assert.equal(ip.length, inIp.length + 20, 'packet grows by the option');
      assert.equal((ip[4] << 8) | ip[5], inIp.length - 40 + 20, 'IPv6 payload length + 20');
      const th = 40;
      assert.equal(ip[th + 12] >> 4, (20 + 20 + 12) / 4, 'data offset + 5 words');
      assert.equal(ip[th + 20], 254, 'TOA kind');
      assert.equal(ip[th + 21], 20, 'TOA length');
      assert.equal((ip[th + 22] << 8) | ip[th + 23], 40000, 'client port');
      assert.deepEqual(ip.subarray(th + 24, th + 40), ipBytes(CLIENT6), 'client address');
      assert.deepEqual(ip.subarray(th + 40, th + 52), TS, 'the existing options follow the TOA');
      assert.deepEqual(ip.subarray(th + 52), inIp.subarray(40 + 32), 'payload untouched');
      assert.ok(transportChecksumOk(ack), 'TCP checksum recomputed');
      const v = view(ack);
      assert.deepEqual([v.src, v.sport, v.dst, v.dport, v.ttl, v.dstMac, v.srcMac],
        ['fd00::5', 1025, 'fd00::21', 8080, 49, '02:00:00:00:02:21', LINK_MAC]);

      const more = c2s(TCP_ACK | TCP_PSH, 1006, ISN + 1, 5, 3);
      assert.ok(more);
      assert.equal(ipPacketOf(more).length, inIp.length, 'inserted once per connection');
      assert.equal(ipPacketOf(more)[th + 12] >> 4, 8);
    });
  });

  describe('output batch', () => {
    it('a full batch (maxFrames 1, no in-place) counts the next frame output-full', () => {
      const out = new OutputBatch(1 << 16, 1);
      out.allowInPlace = false;
      const h = new Harness(`
-A -u ${VIP}:53 -s rr
-a -u ${VIP}:53 -r 10.0.0.11:53 -g -w 1
`, DIRECTOR4, {}, out);
      const e = h.engine;
      const a = udpTo(1000, 53);
      const b = udpTo(1001, 53);
      assert.equal(e.processFrame(a, 0, a.length, T0, out, 0), true);
      assert.equal(e.processFrame(b, 0, b.length, T0 + 1, out, 1), false);
      const s = summarize(h.built);
      assert.equal(s.out, 1);
      assert.deepEqual(s.dropped, { 'output-full': 1 });
      assert.equal(out.count, 1);
      assert.equal(out.cause[0], 0);
      assert.deepEqual(out.buf.slice(out.off[0], out.off[0] + out.len[0]), drExpected(a, RS_MAC['10.0.0.11'], LINK_MAC));
      assert.notEqual(out.frameBuf[0], a, 'not rewritten in place');
    });

    it('in-place and slab rewrites give the same bytes (DR, NAT, FULLNAT, both directions)', () => {
      const rules = `
-A -t ${VIP}:80 -s rr
-a -t ${VIP}:80 -r 10.0.0.11:8080 -m -w 1
-A -t ${VIP}:81 -s rr
-a -t ${VIP}:81 -r 10.0.0.12:81 -g -w 1
-A -u ${VIP}:82 -s rr
-a -u ${VIP}:82 -r 10.0.0.13:8082 --fullnat -w 1
-P -u ${VIP}:82 -z 10.0.0.3
`;
      const frames = [
        tcpTo(40000, 80, TCP_SYN),
        tcpTo(8080, 40000, TCP_SYN | TCP_ACK, { src: '10.0.0.11', dst: CLIENT }),
        tcpTo(40000, 81, TCP_SYN),
        ipv4({ src: CLIENT, dst: VIP, l4: tcp({ sport: 40001, dport: 81, flags: TCP_SYN }), eth: { vlan: 7 } }),
        udpTo(40000, 82),
        udpTo(8082, 1025, { src: '10.0.0.13', dst: '10.0.0.3' }),
      ];
      const run = (inPlace: boolean): (string | null)[] => {
        const out = new OutputBatch(1 << 16, 4);
        out.allowInPlace = inPlace;
        const h = new Harness(rules, DIRECTOR4, {}, out);
        return frames.map((f, i) => {
          const o = h.send(f, i);
          return o === null ? null : Buffer.from(o).toString('hex');
        });
      };
      const slab = run(false);
      assert.ok(slab.every((x) => x !== null), 'every frame forwarded');
      assert.deepEqual(run(true), slab);
    });
  });
});
