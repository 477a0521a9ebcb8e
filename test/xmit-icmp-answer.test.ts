/**
 * The ICMP errors the director sends itself (docs/forwarding.md, "ICMP errors the director sends"):
 * the frame writer byte by byte, the global rate limit, and the engine's choices (when, from which
 * address, and that a forwarded NAT reply refused by the IP layer leaves its connection alone).
 */
import assert from 'node:assert/strict';
import { IcmpRateLimiter } from '../src/ipvs/icmp-limiter';
import { parseFrame } from '../src/wire/parse';
import { DropReason, ParsedFrame } from '../src/wire/parsed-frame';
import { writeIcmpError } from '../src/xmit/icmp-answer';
import { NextHop } from '../src/xmit/next-hop';
import { EngineHarness, SYN, SYN_ACK, frame } from './support/frames';
import {
  addr, bytes, eth, fragHeader, icmpOk, ip4, ip6, ipv4HeaderOk, mac, udpDatagram,
} from './xmit-icmp-frames';

function hop(af: 4 | 6, mtu = 1500): NextHop {
  const h = new NextHop();
  h.linkIndex = 0;
  h.mtu = mtu;
  h.dstMac.set(mac('02:00:00:00:00:fe'));
  h.srcMac.set(mac('02:00:00:00:00:01'));
  h.srcAf = af;
  h.srcAddr.set(addr(af === 4 ? '10.0.0.1' : '2001:db8:10::1'));
  h.prepare();
  return h;
}

function parsed(f: Uint8Array): ParsedFrame {
  const pf = new ParsedFrame();
  const r = parseFrame(f, 0, f.length, pf);
  assert.ok(r === DropReason.None || r === DropReason.Fragment, `input parses (${r})`);
  return pf;
}

const VIP = '192.0.2.10';
const VIP6 = '2001:db8::10';

describe('writeIcmpError (the director\'s own ICMP errors)', () => {
  it('IPv4 Time Exceeded: header fields, TOS mapping, checksums, and the packet quoted from its IP header', () => {
    const packet = ip4({ src: '198.51.100.7', dst: VIP, proto: 17, tos: 0xb9, ttl: 1,
      payload: udpDatagram('198.51.100.7', 5000, VIP, 53, bytes(40)) });
    const f = eth(packet);
    const out = new Uint8Array(2000);
    const n = writeIcmpError(f, parsed(f), 11, 0, 0, false, addr(VIP), 0, 0x0102, hop(4), out, 10, 1990);
    assert.equal(n, 14 + 20 + 8 + packet.length);
    const o = out.subarray(10, 10 + n);
    assert.deepEqual([...o.subarray(0, 14)], [2, 0, 0, 0, 0, 0xfe, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
    assert.equal(o[14], 0x45);
    assert.equal(o[15], (0xb9 & 0x1e) | 0xc0, 'TOS: RT_TOS | IPTOS_PREC_INTERNETCONTROL');
    assert.equal((o[16] << 8) | o[17], 28 + packet.length);
    assert.equal((o[18] << 8) | o[19], 0x0102, 'ID from the caller');
    assert.equal((o[20] << 8) | o[21], 0, 'no DF, no fragment');
    assert.deepEqual([o[22], o[23]], [64, 1]);
    assert.deepEqual([...o.subarray(26, 30)], [...addr(VIP)]);
    assert.deepEqual([...o.subarray(30, 34)], [...addr('198.51.100.7')]);
    assert.ok(ipv4HeaderOk(o, 14));
    assert.deepEqual([...o.subarray(34, 42)].map((b, i) => (i === 2 || i === 3 ? 0 : b)), [11, 0, 0, 0, 0, 0, 0, 0]);
    assert.ok(icmpOk(o, 14));
    assert.deepEqual([...o.subarray(42)], [...packet], 'quote = the IP packet as it arrived');
  });

  it('IPv4 quote is cut so the error is at most 576 bytes (548 quoted), or the MTU when smaller', () => {
    const packet = ip4({ src: '198.51.100.7', dst: VIP, proto: 17, payload: udpDatagram('198.51.100.7', 5000, VIP, 53, bytes(1200)) });
    const f = eth(packet);
    const out = new Uint8Array(2000);
    let n = writeIcmpError(f, parsed(f), 11, 0, 0, false, addr(VIP), 0, 1, hop(4), out, 0, 2000);
    assert.equal(n, 14 + 576);
    assert.deepEqual([...out.subarray(42, n)], [...packet.subarray(0, 548)]);
    assert.ok(icmpOk(out, 14) && ipv4HeaderOk(out, 14));
    n = writeIcmpError(f, parsed(f), 11, 0, 0, false, addr(VIP), 0, 1, hop(4, 300), out, 0, 2000);
    assert.equal(n, 14 + 300, 'a 300-byte egress MTU bounds the error');
    assert.equal(writeIcmpError(f, parsed(f), 11, 0, 0, false, addr(VIP), 0, 1, hop(4, 48), out, 0, 2000), -DropReason.TooBig,
      'an MTU that can not hold an IP header of quote');
  });

  it('Fragmentation Needed: MTU in the low 16 bits; the quote shows TTL - 1 with its header checksum updated', () => {
    const packet = ip4({ src: '198.51.100.7', dst: VIP, proto: 17, ttl: 60, payload: udpDatagram('198.51.100.7', 5000, VIP, 53, bytes(100)) });
    const f = eth(packet);
    const out = new Uint8Array(2000);
    const n = writeIcmpError(f, parsed(f), 3, 4, 1480, true, addr(VIP), 0, 7, hop(4), out, 0, 2000);
    const o = out.subarray(0, n);
    assert.deepEqual([o[34], o[35], o[38], o[39], o[40], o[41]], [3, 4, 0, 0, 1480 >> 8, 1480 & 0xff]);
    assert.equal(o[42 + 8], 59, 'quoted TTL decremented');
    assert.ok(ipv4HeaderOk(o, 42), 'quoted header checksum follows');
    assert.deepEqual([...o.subarray(42 + 20)], [...packet.subarray(20)], 'the rest of the quote untouched');
    assert.ok(icmpOk(o, 14));
  });

  it('IPv6 Packet Too Big: 32-bit MTU, hop limit 64, checksum over the pseudo-header, quote cut at 1232 bytes', () => {
    const payload = udpDatagram('2001:db8:1::7', 5000, VIP6, 53, bytes(1400));
    const packet = ip6({ src: '2001:db8:1::7', dst: VIP6, proto: 17, hlim: 60, payload });
    const f = eth(packet);
    const out = new Uint8Array(2000);
    const n = writeIcmpError(f, parsed(f), 2, 0, 1460, true, addr(VIP6), 0, 0, hop(6), out, 0, 2000);
    assert.equal(n, 14 + 1280);
    const o = out.subarray(0, n);
    assert.deepEqual([o[14], o[15], o[16], o[17]], [0x60, 0, 0, 0], 'traffic class and flow label 0');
    assert.deepEqual([o[20], o[21]], [58, 64]);
    assert.deepEqual([...o.subarray(22, 38)], [...addr(VIP6)]);
    assert.deepEqual([...o.subarray(38, 54)], [...addr('2001:db8:1::7')]);
    assert.deepEqual([o[54], o[55], o[58], o[59], o[60], o[61]], [2, 0, 0, 0, 1460 >> 8, 1460 & 0xff]);
    assert.ok(icmpOk(o, 14));
    assert.equal(o[62 + 7], 59, 'quoted hop limit decremented');
    assert.deepEqual([...o.subarray(62 + 8)], [...packet.subarray(8, 1232)]);
  });

  it('too little room: output-full, nothing written past the room', () => {
    const f = eth(ip4({ src: '198.51.100.7', dst: VIP, proto: 17, payload: udpDatagram('198.51.100.7', 1, VIP, 2, bytes(10)) }));
    const out = new Uint8Array(200);
    assert.equal(writeIcmpError(f, parsed(f), 11, 0, 0, false, addr(VIP), 0, 1, hop(4), out, 0, 60), -DropReason.OutputFull);
    assert.ok(out.every((b) => b === 0));
  });
});

describe('IcmpRateLimiter (icmp_msgs_per_sec 1000, burst 50)', () => {
  it('starts full, refills only in steps of 20 ms or more, never above the burst', () => {
    const l = new IcmpRateLimiter();
    let ok = 0;
    for (let i = 0; i < 60; i++) if (l.allow(1000)) ok++;
    assert.equal(ok, 50);
    assert.equal(l.limited, 10);
    assert.equal(l.allow(1019), false, '19 ms: no refill yet');
    let later = 0;
    for (let i = 0; i < 30; i++) if (l.allow(1020)) later++;
    assert.equal(later, 20, '20 ms: 20 tokens');
    let full = 0;
    for (let i = 0; i < 100; i++) if (l.allow(60_000)) full++;
    assert.equal(full, 50, 'a long pause refills the burst only');
  });
});

const DIRECTOR = `
link eth0 mac 02:00:00:00:00:01 mtu 1500
addr 10.0.0.1/24 dev eth0
addr 10.0.0.5/24 dev eth0
neigh 10.0.0.254 lladdr 02:00:00:00:00:fe dev eth0
neigh 10.0.0.11 lladdr 02:00:00:00:01:11 dev eth0
neigh 10.0.0.12 lladdr 02:00:00:00:01:12 dev eth0
neigh 10.0.0.13 lladdr 02:00:00:00:01:13 dev eth0
route default via 10.0.0.254 dev eth0
`;
const RULES = `
-A -u ${VIP}:53 -s rr
-a -u ${VIP}:53 -r 10.0.0.11:53 -g -w 1
-A -t ${VIP}:8080 -s rr
-a -t ${VIP}:8080 -r 10.0.0.12:80 -m -w 1
-A -t ${VIP}:443 -s rr
-a -t ${VIP}:443 -r 10.0.0.13:8443 --fullnat -w 1
-P -t ${VIP}:443 -z 10.0.0.5
-A -u ${VIP}:25 -s rr
-a -u ${VIP}:25 -r 10.0.0.11:25 -g -w 0
`;

function ipSrc(o: Uint8Array): string {
  return Array.from(o.subarray(26, 30)).join('.');
}

describe('engine: when and from where the director answers', () => {
  it('client side: Time Exceeded from the VIP (the packet\'s destination), to the client via its route', () => {
    const h = new EngineHarness(RULES, DIRECTOR);
    const o = h.send(frame({ src: '198.51.100.7', dst: VIP, sport: 5000, dport: 53, proto: 'udp', ttl: 1 }), 0);
    assert.ok(o !== null);
    assert.deepEqual([o[23], o[34], o[35]], [1, 11, 0]);
    assert.equal(ipSrc(o), VIP);
    assert.equal(h.built.engine.drops[DropReason.TtlExceeded], 1);
    assert.equal(h.summary().icmpSent, 1);
  });

  it('no answer about a frame sent to a multicast MAC, or from 0.0.0.0, 127/8 or multicast sources', () => {
    const h = new EngineHarness(RULES, DIRECTOR);
    const mcast = frame({ src: '198.51.100.7', dst: VIP, sport: 5000, dport: 53, proto: 'udp', ttl: 1 });
    mcast.set(mac('01:00:5e:00:00:01'), 0);
    assert.equal(h.send(mcast, 0), null);
    for (const src of ['0.0.0.0', '127.0.0.9', '224.0.0.5', '240.1.2.3']) {
      assert.equal(h.send(frame({ src, dst: VIP, sport: 5000, dport: 53, proto: 'udp', ttl: 1 }), 0), null, src);
    }
    assert.equal(h.built.engine.drops[DropReason.TtlExceeded], 5);
    assert.equal(h.summary().icmpSent, 0);
  });

  it('no destination: Port Unreachable; the rate limit holds back the 51st at one instant, not later ones', () => {
    const h = new EngineHarness(RULES, DIRECTOR);
    let answered = 0;
    for (let i = 0; i < 60; i++) {
      const o = h.send(frame({ src: `203.0.113.${i + 1}`, dst: VIP, sport: 6000, dport: 25, proto: 'udp' }), 5);
      if (o !== null) {
        answered++;
        assert.deepEqual([o[34], o[35]], [3, 3]);
        assert.equal((o[18] << 8) | o[19], answered, 'IPv4 IDs 1, 2, 3, ...');
      }
    }
    assert.equal(answered, 50);
    assert.equal(h.summary().icmpRateLimited, 10);
    assert.equal(h.built.engine.drops[DropReason.NoDestination], 60);
    assert.ok(h.send(frame({ src: '203.0.113.99', dst: VIP, sport: 6000, dport: 25, proto: 'udp' }), 5.02) !== null);
  });

  it('NAT reply with TTL 1: refused before IPVS (no counter, no state change), answered to the real server from the director', () => {
    const h = new EngineHarness(RULES, DIRECTOR);
    assert.ok(h.send(frame({ src: '198.51.100.7', dst: VIP, sport: 40000, dport: 8080, flags: SYN }), 0));
    const before = h.summary().perRealServer['10.0.0.12:80'];
    const o = h.send(frame({ src: '10.0.0.12', dst: '198.51.100.7', sport: 80, dport: 40000, flags: SYN_ACK, ttl: 1 }), 1);
    assert.ok(o !== null);
    assert.deepEqual([o[34], o[35]], [11, 0]);
    assert.equal(ipSrc(o), '10.0.0.1', 'the director\'s address towards the real server');
    assert.equal(Array.from(o.subarray(30, 34)).join('.'), '10.0.0.12');
    assert.deepEqual(h.summary().perRealServer['10.0.0.12:80'], before, 'counters untouched');
    // The connection never saw the SYN-ACK: it is still SYN_RECV-like for the engine (one in-packet, no out).
    assert.equal(before.outPackets, 0);
    const again = h.send(frame({ src: '10.0.0.12', dst: '198.51.100.7', sport: 80, dport: 40000, flags: SYN_ACK }), 2);
    assert.ok(again !== null && ipSrc(again) === VIP, 'the same reply with a TTL goes through');
  });

  it('FULLNAT reply with TTL 1: answered from the local address it was sent to', () => {
    const h = new EngineHarness(RULES, DIRECTOR);
    assert.ok(h.send(frame({ src: '198.51.100.7', dst: VIP, sport: 40001, dport: 443, flags: SYN }), 0));
    const o = h.send(frame({ src: '10.0.0.13', dst: '10.0.0.5', sport: 8443, dport: 1025, flags: SYN_ACK, ttl: 1 }), 1);
    assert.ok(o !== null);
    assert.deepEqual([o[34], o[35]], [11, 0]);
    assert.equal(ipSrc(o), '10.0.0.5');
  });

  it('never about a later fragment: a TTL-1 later fragment is dropped silently', () => {
    const h = new EngineHarness(RULES, DIRECTOR);
    const data = udpDatagram('198.51.100.7', 5000, VIP, 53, bytes(100));
    const first = eth(ip4({ src: '198.51.100.7', dst: VIP, proto: 17, id: 77, frag: 0x2000, payload: data.subarray(0, 64) }));
    const later = eth(ip4({ src: '198.51.100.7', dst: VIP, proto: 17, id: 77, ttl: 1, frag: 8, payload: data.subarray(64) }));
    assert.ok(h.send(first, 0));
    assert.equal(h.send(later, 0.001), null);
    assert.equal(h.built.engine.drops[DropReason.TtlExceeded], 1);
    assert.equal(h.summary().icmpSent, 0);
  });

  it('IPv6 first fragment too big: Packet Too Big (it carries the ports); IPv6 sources :: and ff02::1 get nothing', () => {
    const rules = `-A -u [${VIP6}]:53 -s rr\n-a -u [${VIP6}]:53 -r [2001:db8:10::21]:53 -i -w 1 --tun-type ipip\n`;
    const director = 'link eth0 mac 02:00:00:00:00:01 mtu 1500\naddr 2001:db8:10::1/64 dev eth0\n' +
      'neigh 2001:db8:10::fe lladdr 02:00:00:00:06:fe dev eth0\nneigh 2001:db8:10::21 lladdr 02:00:00:00:06:21 dev eth0\n' +
      'route default via 2001:db8:10::fe dev eth0\n';
    const h = new EngineHarness(rules, director);
    const data = udpDatagram('2001:db8:1::7', 5000, VIP6, 53, bytes(1600));
    const first = eth(ip6({ src: '2001:db8:1::7', dst: VIP6, proto: 17, payload: data.subarray(0, 1448), ext: [fragHeader(0, true, 5)] }));
    const o = h.send(first, 0);
    assert.ok(o !== null);
    assert.deepEqual([o[20], o[54], o[55]], [58, 2, 0]);
    assert.equal((o[60] << 8) | o[61], 1460);
    for (const src of ['::', 'ff02::1']) {
      assert.equal(h.send(eth(ip6({ src, dst: VIP6, proto: 17, hlim: 1, payload: udpDatagram(src, 1, VIP6, 53, bytes(8)) })), 1), null, src);
    }
  });
});
