/**
 * IPv4 fragmentation on output (docs/forwarding.md, "Fragmentation on output"; src/xmit/ipv4-fragmenter.ts):
 * the fragment writer byte by byte against the kernel's ip_do_fragment rules, and the engine's use of it per
 * forwarding method, with its counters. Every check here is worked out independently: our own ones'-complement
 * sums (test/xmit-icmp-frames.ts), reassembly of the fragments, and sizes computed from the rule in the text.
 */
import assert from 'node:assert/strict';
import { loadDirector } from '../src/control/director-file';
import { loadRules } from '../src/control/rules-file';
import { buildEngine, type BuiltEngine } from '../src/ipvs/engine-builder';
import { OutputBatch } from '../src/ipvs/frame-batch';
import { summarize, type EngineSummary } from '../src/ipvs/summary';
import { schedulerNames } from '../src/sched/registry';
import { DropReason } from '../src/wire/parsed-frame';
import { ipv4FragmentCount, writeIpv4Fragments } from '../src/xmit/ipv4-fragmenter';
import {
  addr, bytes, eth, ip4, ip6, ipv4HeaderOk, mac, onesSum, pseudoSum, tcpSegment, udpDatagram,
} from './xmit-icmp-frames';

const VIP = '192.0.2.10';
const VIP6 = '2001:db8::10';
const CLIENT = '198.51.100.7';
const DF = 0x4000;
const MF = 0x2000;

function u16(b: Uint8Array, at: number): number {
  return (b[at] << 8) | b[at + 1];
}

/** A frame's fragments as the writer left them in a batch (copies). */
function framesOf(out: OutputBatch): Uint8Array[] {
  const r: Uint8Array[] = [];
  for (let i = 0; i < out.count; i++) r.push(out.frameBuf[i].slice(out.off[i], out.off[i] + out.len[i]));
  return r;
}

interface Piece {
  hlen: number;
  offset: number;
  more: boolean;
  data: Uint8Array;
}

/** The IPv4 fragment in an Ethernet frame: header length, byte offset, MF, data (checks its total length). */
function piece(f: Uint8Array): Piece {
  const hlen = (f[14] & 15) * 4;
  const total = u16(f, 16);
  assert.equal(f.length, 14 + total, 'frame = Ethernet + IP total length');
  const word = u16(f, 20);
  return { hlen, offset: (word & 0x1fff) * 8, more: (word & MF) !== 0, data: f.subarray(14 + hlen) };
}

/** IPv4 options as bytes (padded with End of Options to a multiple of 4) in front of a payload. */
function ip4WithOptions(src: string, dst: string, proto: number, options: number[], payload: Uint8Array, frag = 0, id = 0x4242): Uint8Array {
  const optLen = Math.ceil(options.length / 4) * 4;
  const hlen = 20 + optLen;
  const p = new Uint8Array(hlen + payload.length);
  p[0] = 0x40 | (hlen / 4);
  p[2] = p.length >> 8;
  p[3] = p.length & 0xff;
  p[4] = id >> 8;
  p[5] = id & 0xff;
  p[6] = frag >> 8;
  p[7] = frag & 0xff;
  p[8] = 64;
  p[9] = proto;
  p.set(addr(src), 12);
  p.set(addr(dst), 16);
  p.set(options, 20);
  const c = ~onesSum(p, 0, hlen) & 0xffff;
  p[10] = c >> 8;
  p[11] = c & 0xff;
  p.set(payload, hlen);
  return p;
}

/** An output frame as a forwarding method leaves it: Ethernet towards 02:..:02:31 from 02:..:00:02. */
function outputFrame(packet: Uint8Array): Uint8Array {
  return eth(packet, { dst: '02:00:00:00:02:31', src: '02:00:00:00:00:02' });
}

describe('writeIpv4Fragments (ip_do_fragment\'s cut)', () => {
  it('cuts a DF-clear packet: (MTU - 20) & ~7 bytes a piece, the last the rest; MF, offsets, lengths, checksums, Ethernet', () => {
    const packet = ip4({ src: CLIENT, dst: VIP, proto: 17, frag: 0, id: 0x1357, tos: 0x28, ttl: 63,
      payload: udpDatagram(CLIENT, 5000, VIP, 53, bytes(1372)) });
    assert.equal(packet.length, 1400);
    const f = outputFrame(packet);
    const out = new OutputBatch(1 << 16, 16);
    out.used = 100; // fragments go where the batch's slab is free
    out.count = 1;
    assert.equal(writeIpv4Fragments(f, 0, f.length, 1000, out, 3, 42), 2);
    assert.equal(out.count, 3);
    const frames = framesOf(out).slice(1);
    assert.deepEqual(frames.map((x) => x.length), [14 + 20 + 976, 14 + 20 + 404]);
    assert.equal(out.off[1], 100);
    assert.equal(out.used, 100 + frames[0].length + frames[1].length);
    assert.deepEqual([out.link[1], out.link[2], out.cause[1], out.cause[2]], [3, 3, 42, 42]);
    const p = frames.map(piece);
    assert.deepEqual(p.map((x) => [x.offset, x.more]), [[0, true], [976, false]]);
    for (const x of frames) {
      assert.deepEqual([...x.subarray(0, 14)], [...f.subarray(0, 14)], 'Ethernet header copied');
      assert.ok(ipv4HeaderOk(x, 14), 'header checksum');
      assert.deepEqual([x[14], x[15], u16(x, 18), x[22], x[23]], [0x45, 0x28, 0x1357, 63, 17], 'IHL, TOS, ID, TTL, protocol');
      assert.deepEqual([...x.subarray(26, 34)], [...packet.subarray(12, 20)], 'addresses');
    }
    assert.deepEqual([...p[0].data, ...p[1].data], [...packet.subarray(20)], 'the data, in order');
  });

  it('a packet of exactly the MTU is one frame, unchanged; one byte more makes 976 + 5', () => {
    const exact = outputFrame(ip4({ src: CLIENT, dst: VIP, proto: 17, frag: 0, payload: udpDatagram(CLIENT, 1, VIP, 2, bytes(972)) }));
    const out = new OutputBatch(1 << 16, 16);
    assert.equal(writeIpv4Fragments(exact, 0, exact.length, 1000, out, 0, 0), 1);
    assert.deepEqual([...framesOf(out)[0]], [...exact]);
    const over = outputFrame(ip4({ src: CLIENT, dst: VIP, proto: 17, frag: 0, payload: udpDatagram(CLIENT, 1, VIP, 2, bytes(973)) }));
    out.reset();
    assert.equal(writeIpv4Fragments(over, 0, over.length, 1000, out, 0, 0), 2);
    assert.deepEqual(framesOf(out).map((x) => piece(x).data.length), [976, 5]);
  });

  it('any size, MTU and header length: every piece fits, all but the last are multiples of 8, and they put back the packet', () => {
    let seed = 0x5eed;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const out = new OutputBatch(1 << 20, 4096);
    for (let run = 0; run < 300; run++) {
      const optWords = rnd(3) === 0 ? rnd(11) : 0;
      const options = new Array<number>(optWords * 4).fill(1); // NOPs
      const hlen = 20 + optWords * 4;
      const mtu = hlen + 8 + rnd(1500);
      const packet = ip4WithOptions(CLIENT, VIP, 17, options, bytes(1 + rnd(4000), run));
      const f = outputFrame(packet);
      out.reset();
      const n = writeIpv4Fragments(f, 0, f.length, mtu, out, 0, 0);
      const room = mtu - hlen;
      // The count from the rule: full pieces of (room & ~7) while more than `room` bytes are left, then the rest.
      let left = packet.length - hlen;
      let count = 1;
      while (left > room) {
        left -= room & ~7;
        count++;
      }
      assert.equal(n, count, `run ${run}: ${packet.length} bytes, header ${hlen}, MTU ${mtu}`);
      assert.equal(ipv4FragmentCount(packet.length, hlen, mtu), count);
      const pieces = framesOf(out).map(piece);
      const data: number[] = [];
      pieces.forEach((x, i) => {
        assert.ok(x.hlen + x.data.length <= mtu, 'fits the MTU');
        assert.equal(x.hlen, hlen);
        assert.equal(x.offset, data.length);
        assert.equal(x.more, i < pieces.length - 1);
        if (i < pieces.length - 1) assert.equal(x.data.length % 8, 0);
        data.push(...x.data);
      });
      assert.deepEqual(data, [...packet.subarray(hlen)]);
    }
  });

  it('options: the first fragment keeps them all; later ones keep only copied options (others become NOPs), same header length', () => {
    const options = [
      7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, // record route: copied bit clear
      1, // NOP
      148, 4, 0, 0, // router alert: copied bit set
      130, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, // security: copied bit set
      68, 8, 5, 0, 0, 0, 0, 0, // timestamp: copied bit clear
      0, // end of options; what follows is padding and stays as it is
      7, 3, 4, // record-route-looking bytes after the end
    ];
    assert.equal(options.length, 39);
    const packet = ip4WithOptions(CLIENT, VIP, 6, options, tcpSegment(CLIENT, 4000, VIP, 80, 0x18, bytes(900)));
    const hlen = 20 + 40;
    const f = outputFrame(packet);
    const out = new OutputBatch(1 << 16, 16);
    assert.equal(writeIpv4Fragments(f, 0, f.length, 500, out, 0, 0), 3);
    const frames = framesOf(out);
    assert.deepEqual([...frames[0].subarray(14 + 20, 14 + hlen)], [...packet.subarray(20, hlen)], 'first: as it came');
    const later = [
      ...new Array<number>(11).fill(1), 1, 148, 4, 0, 0, 130, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...new Array<number>(8).fill(1),
      0, 7, 3, 4, 0,
    ];
    for (const x of frames.slice(1)) {
      assert.equal(x[14], 0x4f, 'IHL 15 in every fragment');
      assert.deepEqual([...x.subarray(14 + 20, 14 + hlen)], later);
      assert.ok(ipv4HeaderOk(x, 14));
    }
    assert.deepEqual(frames.map((x) => piece(x).data.length), [440, 440, 920 - 880]);
  });

  it('a packet that is itself a fragment: offsets continue from its own, and its MF stays on the last piece', () => {
    const data = bytes(1480, 9);
    const middle = outputFrame(ip4({ src: CLIENT, dst: VIP, proto: 17, frag: MF | 185, payload: data }));
    const out = new OutputBatch(1 << 16, 16);
    assert.equal(writeIpv4Fragments(middle, 0, middle.length, 1000, out, 0, 0), 2);
    assert.deepEqual(framesOf(out).map(piece).map((x) => [x.offset, x.more, x.data.length]), [[1480, true, 976], [2456, true, 504]]);
    const last = outputFrame(ip4({ src: CLIENT, dst: VIP, proto: 17, frag: 370, payload: data }));
    out.reset();
    assert.equal(writeIpv4Fragments(last, 0, last.length, 1000, out, 0, 0), 2);
    assert.deepEqual(framesOf(out).map(piece).map((x) => [x.offset, x.more]), [[2960, true], [3936, false]]);
  });

  it('refuses without writing: DF set, a link with room for less than 8 data bytes, no room in the batch, not IPv4', () => {
    const payload = udpDatagram(CLIENT, 1, VIP, 2, bytes(200));
    const out = new OutputBatch(1 << 16, 16);
    const dfSet = outputFrame(ip4({ src: CLIENT, dst: VIP, proto: 17, frag: DF, payload }));
    assert.equal(writeIpv4Fragments(dfSet, 0, dfSet.length, 100, out, 0, 0), -DropReason.TooBig);
    const withOptions = outputFrame(ip4WithOptions(CLIENT, VIP, 17, new Array<number>(40).fill(1), payload));
    assert.equal(writeIpv4Fragments(withOptions, 0, withOptions.length, 67, out, 0, 0), -DropReason.TooBig, '60-byte header, MTU 67');
    assert.equal(out.count, 0);
    const many = new OutputBatch(1 << 16, 64);
    assert.equal(writeIpv4Fragments(withOptions, 0, withOptions.length, 68, many, 0, 0), 26, 'MTU 68: 8 bytes a piece (208 = 26 x 8)');

    const plain = outputFrame(ip4({ src: CLIENT, dst: VIP, proto: 17, frag: 0, payload }));
    const need = 3 * 34 + 208; // 208 data bytes in 3 pieces (80 + 80 + 48) on a 100-byte link
    const slots = new OutputBatch(1 << 16, 2);
    assert.equal(writeIpv4Fragments(plain, 0, plain.length, 100, slots, 0, 0), -DropReason.OutputFull, 'two frame slots for three');
    assert.deepEqual([slots.count, slots.used], [0, 0]);
    const short = new OutputBatch(need - 1, 16);
    assert.equal(writeIpv4Fragments(plain, 0, plain.length, 100, short, 0, 0), -DropReason.OutputFull, 'one byte short');
    assert.deepEqual([short.count, short.used], [0, 0]);
    const exact = new OutputBatch(need, 16);
    assert.equal(writeIpv4Fragments(plain, 0, plain.length, 100, exact, 0, 0), 3);
    assert.equal(exact.used, need);

    const v6 = eth(ip6({ src: '2001:db8::1', dst: VIP6, proto: 17, payload }));
    assert.equal(writeIpv4Fragments(v6, 0, v6.length, 100, out, 0, 0), -DropReason.UnknownEtherType);
    assert.equal(writeIpv4Fragments(plain, 0, plain.length - 1, 100, out, 0, 0), -DropReason.BadIpTotalLength);
  });
});

// ---------------------------------------------------------------------------------------------------------
// The engine

const DIRECTOR = `
link eth0 mac 02:00:00:00:00:01 mtu 1500
link eth1 mac 02:00:00:00:00:02 mtu 1000
addr 10.0.0.1/24 dev eth0
addr 10.0.1.1/24 dev eth1
addr 2001:db8:10::1/64 dev eth0
neigh 10.0.0.254 lladdr 02:00:00:00:00:fe dev eth0
neigh 10.0.0.21 lladdr 02:00:00:00:01:21 dev eth0
neigh 10.0.1.11 lladdr 02:00:00:00:02:11 dev eth1
neigh 10.0.1.12 lladdr 02:00:00:00:02:12 dev eth1
neigh 10.0.1.13 lladdr 02:00:00:00:02:13 dev eth1
neigh 2001:db8:10::fe lladdr 02:00:00:00:06:fe dev eth0
neigh 2001:db8:10::11 lladdr 02:00:00:00:06:11 dev eth0
neigh 2001:db8:10::21 lladdr 02:00:00:00:06:21 dev eth0
route default via 10.0.0.254 dev eth0
route default via 2001:db8:10::fe dev eth0
`;
const RULES = `
-A -u ${VIP}:9000 -s rr
-a -u ${VIP}:9000 -r 10.0.1.11:9000 -g -w 1
-A -u ${VIP}:9001 -s rr
-a -u ${VIP}:9001 -r 10.0.1.12:9100 -m -w 1
-A -u ${VIP}:9002 -s rr
-a -u ${VIP}:9002 -r 10.0.0.21:9002 -i -w 1 --tun-type ipip
-A -u ${VIP}:9003 -s rr
-a -u ${VIP}:9003 -r 10.0.1.13:9300 --fullnat -w 1
-P -u ${VIP}:9003 -z 10.0.1.5
-A -u ${VIP}:9004 -s rr
-a -u ${VIP}:9004 -r [2001:db8:10::21]:9004 -i -w 1 --tun-type ipip
-A -u [${VIP6}]:9000 -s rr
-a -u [${VIP6}]:9000 -r [2001:db8:10::11]:9000 -g -w 1
-A -u [${VIP6}]:9002 -s rr
-a -u [${VIP6}]:9002 -r 10.0.0.21:9002 -i -w 1 --tun-type ipip
`;

class Director {
  readonly built: BuiltEngine;

  constructor(readonly out = new OutputBatch()) {
    this.built = buildEngine(loadRules(RULES, 'rules', { schedulers: schedulerNames() }), loadDirector(DIRECTOR, 'director'));
  }

  /** Runs one frame; returns the frames transmitted for it (copies), and checks the summary's arithmetic. */
  send(f: Uint8Array, seconds = 0): Uint8Array[] {
    this.out.reset();
    const sent = this.built.engine.processFrameAt(f, 0, f.length, 1_700_000_000 + seconds, 0, this.out, 7);
    const frames = framesOf(this.out);
    assert.equal(sent, frames.length > 0, 'processFrameAt says whether frames went out');
    const s = this.summary();
    assert.equal(s.in + s.icmpSent + s.fragmentsExtra, s.out + s.droppedTotal, 'in + icmpSent + fragmentsExtra = out + dropped');
    return frames;
  }

  summary(): EngineSummary {
    return summarize(this.built);
  }
}

function udp4(dport: number, ipLen: number, frag = 0, src = CLIENT, sport = 5000, zeroChecksum = false): Uint8Array {
  return eth(ip4({ src, dst: VIP, proto: 17, frag, id: 0x2468, ttl: 60,
    payload: udpDatagram(src, sport, VIP, dport, bytes(ipLen - 28, dport), zeroChecksum) }));
}

/** Reassembles the data of IPv4 fragments (any order) and returns it. */
function reassemble(frames: Uint8Array[]): Uint8Array {
  const pieces = frames.map(piece);
  const end = Math.max(...pieces.map((x) => x.offset + x.data.length));
  const data = new Uint8Array(end);
  for (const x of pieces) data.set(x.data, x.offset);
  return data;
}

function ip4Dst(f: Uint8Array): string {
  return Array.from(f.subarray(30, 34)).join('.');
}

describe('engine: DF-clear IPv4 packets over the egress MTU leave as fragments', () => {
  it('DR: fragments to the real server\'s MAC on its link, TTL - 1 in each; counted as one packet in, every fragment out', () => {
    const d = new Director();
    const f = udp4(9000, 1400);
    const frames = d.send(f);
    assert.equal(frames.length, 2);
    for (let i = 0; i < 2; i++) {
      assert.equal(d.out.link[i], 1, 'eth1');
      assert.equal(d.out.cause[i], 7);
      assert.deepEqual([...frames[i].subarray(0, 12)], [...mac('02:00:00:00:02:11'), ...mac('02:00:00:00:00:02')]);
      assert.equal(frames[i][22], 59, 'TTL - 1');
      assert.equal(ip4Dst(frames[i]), VIP, 'DR keeps the VIP');
      assert.ok(ipv4HeaderOk(frames[i], 14));
    }
    assert.deepEqual([...reassemble(frames)], [...f.subarray(34)], 'the datagram, unchanged');
    const s = d.summary();
    assert.deepEqual([s.in, s.out, s.droppedTotal, s.fragmentedPackets, s.fragmentsExtra], [1, 2, 0, 1, 1]);
    assert.deepEqual([s.perRealServer['10.0.1.11:9000'].inPackets, s.perRealServer['10.0.1.11:9000'].inBytes], [1, 1400]);
  });

  it('DR with DF set: still dropped (too-big) and answered with Fragmentation Needed, MTU 1000', () => {
    const d = new Director();
    const frames = d.send(udp4(9000, 1400, DF));
    assert.equal(frames.length, 1);
    const o = frames[0];
    assert.deepEqual([o[23], o[34], o[35], u16(o, 40)], [1, 3, 4, 1000]);
    assert.equal(d.built.engine.drops[DropReason.TooBig], 1);
    assert.equal(d.summary().fragmentedPackets, 0);
  });

  it('NAT: addresses in every fragment, the port in the first, the UDP checksum right for the whole datagram', () => {
    const d = new Director();
    for (const zero of [false, true]) {
      const frames = d.send(udp4(9001, 2100, 0, CLIENT, zero ? 5001 : 5000, zero));
      assert.equal(frames.length, 3);
      frames.forEach((x) => assert.equal(ip4Dst(x), '10.0.1.12'));
      const data = reassemble(frames);
      assert.equal(data.length, 2080);
      assert.equal(u16(data, 2), 9100, 'destination port');
      assert.notEqual(u16(data, 6), 0, 'a zero checksum is computed (NAT), over the whole datagram');
      assert.equal(onesSum(data, 0, data.length, pseudoSum(addr(CLIENT), addr('10.0.1.12'), 17, data.length)), 0xffff);
      assert.equal(u16(frames[1], 14 + 20 + 2), u16(bytes(2072, 9001), 976 - 8 + 2), 'later fragments: data, no port rewrite');
    }
  });

  it('NAT reply with DF clear over the client side MTU: fragmented with source VIP:vport (DF set: answered instead)', () => {
    const d = new Director();
    assert.equal(d.send(udp4(9001, 100)).length, 1);
    const reply = (frag: number): Uint8Array => eth(ip4({ src: '10.0.1.12', dst: CLIENT, proto: 17, frag, ttl: 64,
      payload: udpDatagram('10.0.1.12', 9100, CLIENT, 5000, bytes(2972, 3)) }), { src: '02:00:00:00:02:12', dst: '02:00:00:00:00:02' });
    const frames = d.send(reply(0), 1);
    assert.deepEqual(frames.map((x) => piece(x).data.length), [1480, 1480, 20]);
    const data = reassemble(frames);
    assert.equal(u16(data, 0), 9001, 'source port := vport');
    frames.forEach((x) => assert.equal(Array.from(x.subarray(26, 30)).join('.'), VIP));
    assert.equal(onesSum(data, 0, data.length, pseudoSum(addr(VIP), addr(CLIENT), 17, data.length)), 0xffff);
    assert.deepEqual(d.send(reply(DF), 2).map((x) => [x[34], x[35]]), [[3, 4]], 'DF set: Fragmentation Needed');
  });

  it('FULLNAT: fragments from the local address', () => {
    const d = new Director();
    const frames = d.send(udp4(9003, 1500));
    assert.equal(frames.length, 2);
    frames.forEach((x) => assert.deepEqual([Array.from(x.subarray(26, 30)).join('.'), ip4Dst(x)], ['10.0.1.5', '10.0.1.13']));
    const data = reassemble(frames);
    assert.deepEqual([u16(data, 0), u16(data, 2)], [1025, 9300]);
    assert.equal(onesSum(data, 0, data.length, pseudoSum(addr('10.0.1.5'), addr('10.0.1.13'), 17, data.length)), 0xffff);
  });

  it('TUN: the outer packet is fragmented (ID from the real server\'s counter in every piece); the inner packet is the data', () => {
    const d = new Director();
    assert.equal(d.send(udp4(9002, 100)).length, 1, 'outer ID 1');
    const f = udp4(9002, 3000);
    const frames = d.send(f, 1);
    assert.deepEqual(frames.map((x) => piece(x).data.length), [1480, 1480, 40]);
    for (const x of frames) {
      assert.deepEqual([x[14], u16(x, 18), x[23], ip4Dst(x)], [0x45, 2, 4, '10.0.0.21'], 'outer header, ID 2, IPIP');
      assert.equal(u16(x, 20) & DF, 0);
    }
    const inner = reassemble(frames);
    assert.equal(inner.length, 3000);
    assert.equal(inner[8], 59, 'inner TTL - 1');
    assert.deepEqual([...inner.subarray(20)], [...f.subarray(34)]);
    const dfSet = d.send(udp4(9002, 1481, DF), 2);
    assert.deepEqual(dfSet.map((x) => [x[34], x[35], u16(x, 40)]), [[3, 4, 1480]], 'inner DF set: Fragmentation Needed, tunnel MTU');
    assert.equal(d.send(udp4(9002, 100), 3).map((x) => u16(x, 18))[0], 3, 'the DF-set packet took no ID');
  });

  it('IPv6 is never fragmented: IPv6 DR and 6in4 get Packet Too Big; 4in6 with DF clear is dropped unanswered', () => {
    const d = new Director();
    const v6 = (dport: number): Uint8Array => eth(ip6({ src: '2001:db8:1::7', dst: VIP6, proto: 17,
      payload: udpDatagram('2001:db8:1::7', 5000, VIP6, dport, bytes(1600)) }));
    for (const [dport, mtu] of [[9000, 1500], [9002, 1480]]) {
      const frames = d.send(v6(dport));
      assert.deepEqual(frames.map((x) => [x[14] >> 4, x[54], Number(new DataView(x.buffer).getUint32(58))]), [[6, 2, mtu]]);
    }
    assert.deepEqual(d.send(udp4(9004, 1461)), [], '4in6: outer IPv6 1501 bytes, inner DF clear');
    assert.equal(d.built.engine.drops[DropReason.TooBig], 3);
    assert.equal(d.summary().fragmentedPackets, 0);
  });

  it('no room for every fragment: none is sent, output-full is counted', () => {
    const d = new Director(new OutputBatch(1 << 16, 2));
    assert.deepEqual(d.send(udp4(9000, 2500)), [], 'three fragments, two frame slots');
    assert.equal(d.built.engine.drops[DropReason.OutputFull], 1);
    assert.equal(d.built.engine.fragmenter.failures, 1);
    assert.equal(d.send(udp4(9000, 1400), 1).length, 2, 'two fit');
  });

  it('rewriting in place: the input frame is left as it came, the fragments go to the batch\'s slab', () => {
    const out = new OutputBatch();
    out.allowInPlace = true;
    const d = new Director(out);
    const f = udp4(9001, 1400);
    const copy = f.slice();
    const frames = d.send(f);
    assert.equal(frames.length, 2);
    assert.deepEqual([...f], [...copy]);
    assert.ok(out.frameBuf[0] === out.buf && out.frameBuf[1] === out.buf);
    assert.equal(d.send(udp4(9001, 200), 1).length, 1);
    assert.ok(out.frameBuf[0] !== out.buf, 'a packet that fits is still rewritten in place');
  });
});
