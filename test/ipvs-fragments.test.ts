/**
 * IP fragments (docs/forwarding.md, "IP fragments"): the bounded fragment table on its own, reading
 * a fragment's place in its datagram, and the engine letting later fragments follow the connection
 * their first fragment went to (counters, timeouts, limits, NAT checksums right for the whole
 * datagram). The golden `fragments` shows DR, NAT, TUN and IPv6 end to end.
 */
import assert from 'node:assert/strict';
import { FRAG_DIR_IN, FRAG_DIR_OUT, FragmentTable } from '../src/ipvs/fragment-table';
import { FragmentInfo, readFragmentInfo } from '../src/wire/fragment-info';
import { parseFrame } from '../src/wire/parse';
import { DropReason, ParsedFrame } from '../src/wire/parsed-frame';
import { loadDirector } from '../src/control/director-file';
import { loadRules } from '../src/control/rules-file';
import { buildEngine } from '../src/ipvs/engine-builder';
import { OutputBatch } from '../src/ipvs/frame-batch';
import { schedulerNames } from '../src/sched/registry';
import { EngineHarness } from './support/frames';
import {
  addr, bytes, destOpts, eth, fragHeader, ip4, ip6, ipv4HeaderOk, onesSum, pseudoSum, tcpSegment, udpDatagram,
} from './xmit-icmp-frames';

const VIP = '192.0.2.10';
const VIP6 = '2001:db8::10';

function keyBuf(src: string, dst: string): { buf: Uint8Array; srcOff: number; dstOff: number } {
  const s = addr(src);
  const d = addr(dst);
  const buf = new Uint8Array(3 + s.length + d.length);
  buf.set(s, 3);
  buf.set(d, 3 + s.length);
  return { buf, srcOff: 3, dstOff: 3 + s.length };
}

describe('FragmentTable', () => {
  it('reserve, key, bind, find: the datagram\'s entry and nothing else', () => {
    const t = new FragmentTable(64);
    const k = keyBuf('198.51.100.1', VIP);
    assert.equal(t.find(4, 17, k.buf, k.srcOff, k.dstOff, 7, 0), -1);
    const e = t.reserve(4, 17, k.buf, k.srcOff, k.dstOff, 7, 0);
    assert.ok(e >= 0);
    t.setKey(e, 4, 17, k.buf, k.srcOff, k.dstOff, 7);
    assert.equal(t.find(4, 17, k.buf, k.srcOff, k.dstOff, 7, 0), -1, 'not live before bind');
    t.bind(e, 42, FRAG_DIR_OUT, 0x12345678, 0);
    assert.equal(t.find(4, 17, k.buf, k.srcOff, k.dstOff, 7, 10), e);
    assert.deepEqual([t.slot(e), t.dir(e), t.ports(e), t.count], [42, FRAG_DIR_OUT, 0x12345678, 1]);
    assert.equal(t.find(4, 17, k.buf, k.srcOff, k.dstOff, 8, 10), -1, 'another identification');
    assert.equal(t.find(4, 6, k.buf, k.srcOff, k.dstOff, 7, 10), -1, 'another protocol');
    const other = keyBuf('198.51.100.2', VIP);
    assert.equal(t.find(4, 17, other.buf, other.srcOff, other.dstOff, 7, 10), -1, 'another source');
    assert.equal(t.reserve(4, 17, k.buf, k.srcOff, k.dstOff, 7, 10), e, 'a first fragment seen again reuses its entry');
  });

  it('IPv6 keys use all 128 bits', () => {
    const t = new FragmentTable(64);
    const a = keyBuf('2001:db8:1::5', VIP6);
    const b = keyBuf('2001:db8:2::5', VIP6);
    const e = t.reserve(6, 17, a.buf, a.srcOff, a.dstOff, -5, 0);
    t.setKey(e, 6, 17, a.buf, a.srcOff, a.dstOff, -5);
    t.bind(e, 1, FRAG_DIR_IN, 0, 0);
    assert.equal(t.find(6, 17, a.buf, a.srcOff, a.dstOff, -5, 1), e);
    assert.equal(t.find(6, 17, b.buf, b.srcOff, b.dstOff, -5, 1), -1);
  });

  it('an entry ends when every byte of the datagram was seen, whatever the order, or after 30 s', () => {
    const t = new FragmentTable(64);
    const k = keyBuf('198.51.100.1', VIP);
    const e = t.reserve(4, 17, k.buf, k.srcOff, k.dstOff, 1, 0);
    t.setKey(e, 4, 17, k.buf, k.srcOff, k.dstOff, 1);
    t.bind(e, 3, FRAG_DIR_IN, 0, 0);
    t.account(e, 0, 1480, true);
    t.account(e, 2960, 100, false);
    assert.equal(t.find(4, 17, k.buf, k.srcOff, k.dstOff, 1, 5), e, 'the middle is still to come');
    t.account(e, 1480, 1480, true);
    assert.equal(t.find(4, 17, k.buf, k.srcOff, k.dstOff, 1, 5), -1);
    assert.equal(t.count, 0);
    const e2 = t.reserve(4, 17, k.buf, k.srcOff, k.dstOff, 2, 100);
    t.setKey(e2, 4, 17, k.buf, k.srcOff, k.dstOff, 2);
    t.bind(e2, 3, FRAG_DIR_IN, 0, 100);
    assert.equal(t.find(4, 17, k.buf, k.srcOff, k.dstOff, 2, 100 + 29_999), e2);
    assert.equal(t.find(4, 17, k.buf, k.srcOff, k.dstOff, 2, 100 + 30_000), -1, 'expired after the fragment timeout');
    assert.equal(t.count, 0);
  });

  it('bounded: when every entry of a window is live, a new datagram gets -1; an expired one frees room', () => {
    const t = new FragmentTable(16, 8);
    const k = keyBuf('198.51.100.1', VIP);
    let refused = 0;
    for (let id = 0; id < 200; id++) {
      const e = t.reserve(4, 17, k.buf, k.srcOff, k.dstOff, id, 0);
      if (e < 0) {
        refused++;
        continue;
      }
      t.setKey(e, 4, 17, k.buf, k.srcOff, k.dstOff, id);
      t.bind(e, id, FRAG_DIR_IN, 0, 0);
    }
    assert.equal(t.count, 16);
    assert.equal(refused, 200 - 16);
    assert.ok(t.reserve(4, 17, k.buf, k.srcOff, k.dstOff, 999, 30_000) >= 0, 'all expired at 30 s');
  });
});

describe('readFragmentInfo', () => {
  it('IPv4: identification, byte offset, data length, more flag', () => {
    const f = eth(ip4({ src: '198.51.100.1', dst: VIP, proto: 17, id: 0xbeef, frag: 0x2000 | 185, payload: bytes(64) }));
    const pf = new ParsedFrame();
    assert.equal(parseFrame(f, 0, f.length, pf), DropReason.Fragment);
    const fi = new FragmentInfo();
    assert.ok(readFragmentInfo(f, pf, fi));
    assert.deepEqual([fi.id, fi.offset, fi.dataLen, fi.more], [0xbeef, 1480, 64, true]);
  });

  it('IPv6: the Fragment header after a destination options header, 32-bit identification', () => {
    const f = eth(ip6({ src: '2001:db8:1::5', dst: VIP6, proto: 17, payload: bytes(40), ext: [destOpts(), fragHeader(2896, false, 0x89abcdef)] }));
    const pf = new ParsedFrame();
    assert.equal(parseFrame(f, 0, f.length, pf), DropReason.Fragment);
    const fi = new FragmentInfo();
    assert.ok(readFragmentInfo(f, pf, fi));
    assert.deepEqual([fi.id, fi.offset, fi.dataLen, fi.more], [0x89abcdef | 0, 2896, 40, false]);
  });
});

const DIRECTOR = `
link eth0 mac 02:00:00:00:00:01 mtu 1500
addr 10.0.0.1/24 dev eth0
addr 2001:db8:10::1/64 dev eth0
neigh 10.0.0.254 lladdr 02:00:00:00:00:fe dev eth0
neigh 10.0.0.11 lladdr 02:00:00:00:01:11 dev eth0
neigh 10.0.0.12 lladdr 02:00:00:00:01:12 dev eth0
neigh 2001:db8:10::11 lladdr 02:00:00:00:06:11 dev eth0
route default via 10.0.0.254 dev eth0
`;
const RULES = `
-A -u ${VIP}:9000 -s rr
-a -u ${VIP}:9000 -r 10.0.0.11:9000 -g -w 1
-A -t ${VIP}:8080 -s rr
-a -t ${VIP}:8080 -r 10.0.0.12:80 -m -w 1
-A -u ${VIP}:9001 -s rr -o
-a -u ${VIP}:9001 -r 10.0.0.11:9001 -g -w 1
-A -u [${VIP6}]:9000 -s rr
-a -u [${VIP6}]:9000 -r [2001:db8:10::11]:9000 -g -w 1
`;

/** The fragments of a datagram whose transport part is `data`, cut at `cuts` (byte offsets). */
function fragments4(src: string, data: Uint8Array, cuts: number[], id: number, proto = 17): Uint8Array[] {
  const bounds = [0, ...cuts, data.length];
  return bounds.slice(0, -1).map((from, i) => {
    const to = bounds[i + 1];
    const more = i < bounds.length - 2;
    return eth(ip4({ src, dst: VIP, proto, id, frag: (more ? 0x2000 : 0) | (from / 8), payload: data.subarray(from, to) }));
  });
}

describe('engine: later fragments follow their first fragment', () => {
  it('DR: all fragments to the first fragment\'s server; counted once as a packet, in bytes as the whole datagram', () => {
    const h = new EngineHarness(RULES, DIRECTOR);
    const data = udpDatagram('198.51.100.1', 5001, VIP, 9000, bytes(3000));
    const frs = fragments4('198.51.100.1', data, [1480, 2960], 0x1111);
    frs.forEach((f, i) => {
      const o = h.send(f, i / 1000);
      assert.ok(o !== null, `fragment ${i}`);
      assert.deepEqual([...o.subarray(0, 6)], [2, 0, 0, 0, 1, 0x11]);
    });
    const rs = h.summary().perRealServer['10.0.0.11:9000'];
    assert.equal(rs.inPackets, 1);
    assert.equal(rs.inBytes, 20 + data.length, 'IP header + the whole datagram, as the kernel counts the reassembled one');
    assert.equal(h.built.engine.fragments.count, 0, 'the complete datagram freed its entry');
    assert.equal(h.built.engine.connectionsCreated, 1);
  });

  it('a later fragment without its first, or after the 30 s fragment timeout: fragment-without-first', () => {
    const h = new EngineHarness(RULES, DIRECTOR);
    const data = udpDatagram('198.51.100.1', 5001, VIP, 9000, bytes(3000));
    const frs = fragments4('198.51.100.1', data, [1480, 2960], 0x2222);
    assert.equal(h.send(frs[1], 0), null);
    assert.ok(h.send(frs[0], 1));
    assert.ok(h.send(frs[1], 30.999));
    assert.equal(h.send(frs[2], 31.001), null, '30 s after the first fragment');
    assert.equal(h.built.engine.drops[DropReason.FragmentWithoutFirst], 2);
  });

  it('one-packet scheduling (-o) ends the connection with the first fragment: the rest can not follow', () => {
    const h = new EngineHarness(RULES, DIRECTOR);
    const data = udpDatagram('198.51.100.1', 5001, VIP, 9001, bytes(2000));
    const frs = fragments4('198.51.100.1', data, [1480], 0x3333);
    assert.ok(h.send(frs[0], 0));
    assert.equal(h.send(frs[1], 0.001), null);
    assert.equal(h.built.engine.drops[DropReason.FragmentWithoutFirst], 1);
  });

  it('a full fragment table drops the first fragment of a new datagram (fragment-table-full), never throws', () => {
    const built = buildEngine(loadRules(RULES, 'rules', { schedulers: schedulerNames() }), loadDirector(DIRECTOR, 'director'),
      { fragmentCapacity: 16 });
    const e = built.engine;
    const out = new OutputBatch();
    let sent = 0;
    for (let id = 0; id < 300; id++) {
      const data = udpDatagram('198.51.100.1', 5001, VIP, 9000, bytes(16));
      const f = fragments4('198.51.100.1', data, [8], id)[0];
      out.reset();
      if (e.processFrameAt(f, 0, f.length, 1_700_000_001, 0, out, 0)) sent++;
    }
    assert.equal(e.fragments.capacity, 16);
    assert.equal(e.fragments.count, 16, 'every entry holds an unfinished datagram');
    assert.equal(sent, 16);
    assert.equal(e.drops[DropReason.FragmentTableFull], 300 - 16);
  });

  it('NAT: a fragmented TCP segment reassembles at the real server with a right checksum (incremental update in the first fragment)', () => {
    const h = new EngineHarness(RULES, DIRECTOR);
    const seg = tcpSegment('198.51.100.1', 40000, VIP, 8080, 0x02, bytes(2500));
    const frs = fragments4('198.51.100.1', seg, [1000, 2000], 0x4444, 6);
    const outs = frs.map((f, i) => h.send(f, i / 1000));
    const whole = new Uint8Array(seg.length);
    for (const o of outs) {
      assert.ok(o !== null);
      assert.deepEqual([...o.subarray(30, 34)], [...addr('10.0.0.12')], 'every fragment to the real server');
      assert.ok(ipv4HeaderOk(o, 14));
      const off = (((o[20] << 8) | o[21]) & 0x1fff) * 8;
      whole.set(o.subarray(34), off);
    }
    assert.deepEqual([whole[2], whole[3]], [0, 80], 'port 8080 -> 80 in the first fragment');
    const sum = onesSum(whole, 0, whole.length, pseudoSum(addr('198.51.100.1'), addr('10.0.0.12'), 6, whole.length));
    assert.equal(sum, 0xffff, 'TCP checksum right over the reassembled segment');
  });

  it('IPv6 fragments follow on all 128 bits of the source', () => {
    const h = new EngineHarness(RULES, DIRECTOR);
    const data = udpDatagram('2001:db8:1::5', 5001, VIP6, 9000, bytes(2000));
    const first = eth(ip6({ src: '2001:db8:1::5', dst: VIP6, proto: 17, payload: data.subarray(0, 1448), ext: [fragHeader(0, true, 77)] }));
    const later = eth(ip6({ src: '2001:db8:1::5', dst: VIP6, proto: 17, payload: data.subarray(1448), ext: [fragHeader(1448, false, 77)] }));
    const stranger = eth(ip6({ src: '2001:db8:2::5', dst: VIP6, proto: 17, payload: data.subarray(1448), ext: [fragHeader(1448, false, 77)] }));
    assert.ok(h.send(first, 0));
    assert.equal(h.send(stranger, 0.001), null, 'same identification, another source');
    const o = h.send(later, 0.002);
    assert.ok(o !== null);
    assert.equal(o[21], 63, 'hop limit - 1');
  });
});
