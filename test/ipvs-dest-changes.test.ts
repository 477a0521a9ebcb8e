/**
 * Real servers quiesced (weight 0), removed, re-added and overloaded (-x/-y) while traffic flows,
 * with and without persistence: what the kernel does (ipvs-facts 1.2, 3, 4.6 "Weight 0 vs deleted
 * dest"). Lists are newest first: with -a .11 then -a .12, rr picks .12, .11, .12, ...
 */
import assert from 'node:assert/strict';
import { ForwardMethod, type DestConfig } from '../src/control/config';
import { parseIp } from '../src/control/ip-address';
import { addDest, deleteDest, editDest, findDest } from '../src/ipvs/engine-control';
import { DEST_OVERLOAD } from '../src/ipvs/dest-table';
import { ACK, EngineHarness, frame, ipv4Dst, SYN } from './support/frames';

const VIP = '192.0.2.10';
const DIRECTOR = `
link eth0 mac 02:00:00:00:00:01
addr 10.0.0.1/24 dev eth0
neigh 10.0.0.11 lladdr 02:00:00:00:01:11 dev eth0
neigh 10.0.0.12 lladdr 02:00:00:00:01:12 dev eth0
`;

function dest(addr: string, weight = 1, x = 0, y = 0): DestConfig {
  return { addr: parseIp(addr), port: 80, method: ForwardMethod.Masq, weight, uThreshold: x, lThreshold: y, tunType: 'ipip', tunPort: 0, tunChecksum: 'nocsum' };
}

function setup(serviceOptions: string, thresholds = ''): { h: EngineHarness; syn: (src: string, sport: number, t: number) => string | null; pkt: (src: string, sport: number, flags: number, t: number) => string | null } {
  const h = new EngineHarness(`-A -t ${VIP}:80 ${serviceOptions}\n-a -t ${VIP}:80 -r 10.0.0.11:80 -m ${thresholds}\n-a -t ${VIP}:80 -r 10.0.0.12:80 -m ${thresholds}\n`, DIRECTOR);
  const pkt = (src: string, sport: number, flags: number, t: number): string | null => {
    const f = h.send(frame({ src, dst: VIP, sport, dport: 80, flags }), t);
    return f && ipv4Dst(f);
  };
  return { h, syn: (src, sport, t) => pkt(src, sport, SYN, t), pkt };
}

describe('real servers changed while traffic flows', () => {
  it('weight 0 quiesces: established connections go on, new ones go elsewhere', () => {
    const { h, syn, pkt } = setup('-s rr');
    assert.equal(syn('198.51.100.1', 1000, 0), '10.0.0.12');
    const svc = h.built.engine.services.services[0];
    const d12 = findDest(h.built.engine, svc, parseIp('10.0.0.12'), 80);
    editDest(h.built.engine, svc, d12, dest('10.0.0.12', 0));
    assert.equal(pkt('198.51.100.1', 1000, ACK, 1), '10.0.0.12', 'the existing connection continues');
    assert.deepEqual([syn('198.51.100.2', 1000, 2), syn('198.51.100.3', 1000, 3)], ['10.0.0.11', '10.0.0.11']);
  });

  it('a removed server: its connections are dropped (expire_nodest_conn = 0), new ones go elsewhere, re-adding revives its counters', () => {
    const { h, syn, pkt } = setup('-s rr');
    const e = h.built.engine;
    assert.equal(syn('198.51.100.1', 1000, 0), '10.0.0.12');
    const svc = e.services.services[0];
    const d12 = findDest(e, svc, parseIp('10.0.0.12'), 80);
    deleteDest(e, svc, d12);
    assert.equal(pkt('198.51.100.1', 1000, ACK, 1), null);
    assert.equal(h.summary().dropped['destination-gone'], 1);
    assert.equal(syn('198.51.100.2', 1000, 2), '10.0.0.11');
    // Re-added: the same dest (its connection counts and statistics) comes back at the head.
    const again = addDest(e, svc, dest('10.0.0.12'));
    assert.equal(again, d12);
    assert.equal(e.dests.activeConns[d12], 1, 'the old SYN_RECV connection still counts');
    assert.equal(pkt('198.51.100.1', 1000, ACK, 3), '10.0.0.12', 'its connection flows again');
  });

  it('persistence holds a client on a quiesced server (expire_quiescent_template = 0)', () => {
    const { h, syn } = setup('-s rr -p 300');
    assert.equal(syn('198.51.100.1', 1000, 0), '10.0.0.12');
    const e = h.built.engine;
    const svc = e.services.services[0];
    editDest(e, svc, findDest(e, svc, parseIp('10.0.0.12'), 80), dest('10.0.0.12', 0));
    assert.equal(syn('198.51.100.1', 1001, 1), '10.0.0.12', 'the template still names .12');
    assert.equal(syn('198.51.100.2', 1000, 2), '10.0.0.11', 'a new client avoids it');
  });

  it('persistence lets go of a removed server: the template is invalidated and the client rescheduled', () => {
    const { h, syn } = setup('-s rr -p 300');
    assert.equal(syn('198.51.100.1', 1000, 0), '10.0.0.12');
    const e = h.built.engine;
    const svc = e.services.services[0];
    deleteDest(e, svc, findDest(e, svc, parseIp('10.0.0.12'), 80));
    assert.equal(syn('198.51.100.1', 1001, 1), '10.0.0.11');
    assert.equal(syn('198.51.100.1', 1002, 2), '10.0.0.11', 'and a new template holds it there');
  });

  it('-x/-y thresholds: overloaded at the upper count, back below the lower one', () => {
    // Each server: OVERLOAD at 2 connections, cleared below 1.
    const { h, syn, pkt } = setup('-s rr', '-x 2 -y 1');
    const e = h.built.engine;
    const svc = e.services.services[0];
    const d12 = findDest(e, svc, parseIp('10.0.0.12'), 80);
    const d11 = findDest(e, svc, parseIp('10.0.0.11'), 80);
    // rr: .12, .11, .12 (now 2 on .12: overloaded), then .11 (2: overloaded), then nothing.
    assert.deepEqual([1, 2, 3, 4].map((i) => syn(`198.51.100.${i}`, 1000, i)), ['10.0.0.12', '10.0.0.11', '10.0.0.12', '10.0.0.11']);
    assert.ok((e.dests.flags[d12] & DEST_OVERLOAD) !== 0 && (e.dests.flags[d11] & DEST_OVERLOAD) !== 0);
    assert.equal(syn('198.51.100.5', 1000, 5), null);
    assert.equal(h.summary().dropped['no-destination'], 1);
    // One connection of .12 ends (RST after ACK: CLOSE, 10 s): 1 left, not below the lower threshold 1.
    pkt('198.51.100.1', 1000, ACK, 6);
    pkt('198.51.100.1', 1000, 0x04, 6.5);
    assert.equal(syn('198.51.100.6', 1000, 17), null, 'still overloaded at 1 connection (needs < 1)');
    // The other ends too: 0 < 1 clears OVERLOAD.
    pkt('198.51.100.3', 1000, ACK, 18);
    pkt('198.51.100.3', 1000, 0x04, 18.5);
    assert.equal(syn('198.51.100.7', 1000, 29), '10.0.0.12');
  });

  it('raising the upper threshold clears OVERLOAD at once', () => {
    const { h, syn } = setup('-s rr', '-x 1');
    const e = h.built.engine;
    const svc = e.services.services[0];
    assert.deepEqual([1, 2].map((i) => syn(`198.51.100.${i}`, 1000, i)), ['10.0.0.12', '10.0.0.11']);
    assert.equal(syn('198.51.100.3', 1000, 3), null, 'both at their threshold of 1');
    editDest(e, svc, findDest(e, svc, parseIp('10.0.0.11'), 80), dest('10.0.0.11', 1, 5));
    assert.equal(syn('198.51.100.4', 1000, 4), '10.0.0.11');
  });
});
