/**
 * ICMP error relaying (docs/forwarding.md, "ICMP error relaying"; ipvs-facts 5.5): reading the
 * quoted packet, the NAT/FULLNAT translation byte by byte, and the engine's relay decisions (which
 * connection, which counters, what is not relayed). The golden icmp-relay shows every method end to
 * end; these pin the rules one at a time.
 */
import assert from 'node:assert/strict';
import { icmpChecksumOk, parseQuotedPacket, QuotedPacket } from '../src/wire/icmp-quote';
import { parseFrame } from '../src/wire/parse';
import { DropReason, ParsedFrame } from '../src/wire/parsed-frame';
import { IcmpRewrite, xmitIcmpTranslated } from '../src/xmit/icmp-relay';
import { NextHop } from '../src/xmit/next-hop';
import { EngineHarness, SYN, SYN_ACK, frame } from './support/frames';
import {
  addr, bytes, destOpts, fragHeader, icmpErrorFrame, icmpOk, ip4, ip6, ipv4HeaderOk, mac, tcpSegment, udpDatagram,
} from './xmit-icmp-frames';

const VIP = '192.0.2.10';
const VIP6 = '2001:db8::10';
const CLIENT = '198.51.100.7';

function parsed(f: Uint8Array): ParsedFrame {
  const pf = new ParsedFrame();
  assert.equal(parseFrame(f, 0, f.length, pf), DropReason.None);
  return pf;
}

function quoteOf(f: Uint8Array, pf: ParsedFrame): QuotedPacket | null {
  const q = new QuotedPacket();
  return parseQuotedPacket(f, pf.l4Off + 8, pf.l3Off + pf.ipTotalLen, pf.af, q) ? q : null;
}

describe('parseQuotedPacket', () => {
  const reply = ip4({ src: VIP, dst: CLIENT, proto: 6, payload: tcpSegment(VIP, 80, CLIENT, 40000, 0x18, bytes(20)) });

  it('finds the quoted addresses, protocol and ports in an IP header + 8 bytes quote', () => {
    const f = icmpErrorFrame('198.51.100.254', VIP, 11, 0, reply);
    const q = quoteOf(f, parsed(f));
    assert.ok(q !== null);
    assert.deepEqual([q.proto, q.sport, q.dport, q.hdrLen], [6, 80, 40000, 20]);
    assert.deepEqual([...f.subarray(q.srcOff, q.srcOff + 4)], [...addr(VIP)]);
    assert.deepEqual([...f.subarray(q.dstOff, q.dstOff + 4)], [...addr(CLIENT)]);
  });

  it('refuses a quote cut before the ports, a later fragment, another protocol, another family', () => {
    const cut = icmpErrorFrame('198.51.100.254', VIP, 11, 0, reply, { quoteLen: 23 });
    assert.equal(quoteOf(cut, parsed(cut)), null);
    const later = reply.slice();
    later[6] = 0;
    later[7] = 185;
    const lf = icmpErrorFrame('198.51.100.254', VIP, 11, 0, later);
    assert.equal(quoteOf(lf, parsed(lf)), null);
    const icmpQuoted = ip4({ src: VIP, dst: CLIENT, proto: 1, payload: bytes(16) });
    const qf = icmpErrorFrame('198.51.100.254', VIP, 11, 0, icmpQuoted);
    assert.equal(quoteOf(qf, parsed(qf)), null);
    const q = new QuotedPacket();
    const f = icmpErrorFrame('198.51.100.254', VIP, 11, 0, reply);
    const pf = parsed(f);
    assert.equal(parseQuotedPacket(f, pf.l4Off + 8, pf.l3Off + pf.ipTotalLen, 6, q), false, 'ICMPv6 must quote IPv6');
  });

  it('IPv6: walks destination options and a first-fragment header; refuses a later fragment', () => {
    const payload = udpDatagram(VIP6, 53, '2001:db8:1::7', 5001, bytes(30));
    const quoted = ip6({ src: VIP6, dst: '2001:db8:1::7', proto: 17, payload, ext: [destOpts(), fragHeader(0, true, 9)] });
    const f = icmpErrorFrame('2001:db8:1::7', VIP6, 1, 4, quoted, { quoteLen: quoted.length });
    const q = quoteOf(f, parsed(f));
    assert.ok(q !== null);
    assert.deepEqual([q.proto, q.sport, q.dport, q.hdrLen], [17, 53, 5001, 56]);
    const later = ip6({ src: VIP6, dst: '2001:db8:1::7', proto: 17, payload, ext: [fragHeader(1448, false, 9)] });
    const lf = icmpErrorFrame('2001:db8:1::7', VIP6, 1, 4, later, { quoteLen: later.length });
    assert.equal(quoteOf(lf, parsed(lf)), null);
  });

  it('icmpChecksumOk: ICMPv4 over the message, ICMPv6 over the pseudo-header too', () => {
    const f = icmpErrorFrame('198.51.100.254', VIP, 11, 0, reply);
    assert.ok(icmpChecksumOk(f, parsed(f)));
    f[14 + 20 + 10] ^= 1;
    assert.equal(icmpChecksumOk(f, parsed(f)), false);
    const q6 = ip6({ src: VIP6, dst: '2001:db8:1::7', proto: 17, payload: udpDatagram(VIP6, 53, '2001:db8:1::7', 5, bytes(8)) });
    const f6 = icmpErrorFrame('2001:db8:1::7', VIP6, 1, 4, q6);
    assert.ok(icmpChecksumOk(f6, parsed(f6)));
    f6[14 + 8 + 15] ^= 1; // the source address: only the pseudo-header sees it
    assert.equal(icmpChecksumOk(f6, parsed(f6)), false);
  });
});

function hopTo(macText: string): NextHop {
  const h = new NextHop();
  h.mtu = 1500;
  h.dstMac.set(mac(macText));
  h.srcMac.set(mac('02:00:00:00:00:01'));
  h.prepare();
  return h;
}

describe('xmitIcmpTranslated (NAT / FULLNAT relays)', () => {
  it('IPv4 client side of NAT: outer destination and quoted source/port rewritten; IP, quoted IP and ICMP checksums redone; quoted TCP checksum kept', () => {
    const reply = ip4({ src: VIP, dst: CLIENT, proto: 6, payload: tcpSegment(VIP, 8080, CLIENT, 40000, 0x18, bytes(60)) });
    const f = icmpErrorFrame('198.51.100.254', VIP, 3, 1, reply, { quoteLen: reply.length, ttl: 200 });
    const pf = parsed(f);
    const q = quoteOf(f, pf);
    assert.ok(q !== null);
    const rw = new IcmpRewrite().clear();
    const rs = addr('10.0.0.12');
    rw.outerDst = rs;
    rw.quotedSrc = rs;
    rw.quotedSport = 80;
    const out = new Uint8Array(400);
    const n = xmitIcmpTranslated(f, pf, q, rw, hopTo('02:00:00:00:01:12'), out, 3, 397);
    assert.equal(n, f.length);
    const o = out.subarray(3, 3 + n);
    assert.deepEqual([...o.subarray(0, 6)], [...mac('02:00:00:00:01:12')]);
    assert.equal(o[22], 199, 'TTL - 1');
    assert.deepEqual([...o.subarray(26, 30)], [...addr('198.51.100.254')], 'outer source kept');
    assert.deepEqual([...o.subarray(30, 34)], [...rs]);
    assert.ok(ipv4HeaderOk(o, 14));
    const ql3 = 14 + 20 + 8;
    assert.deepEqual([...o.subarray(ql3 + 12, ql3 + 16)], [...rs]);
    assert.deepEqual([...o.subarray(ql3 + 16, ql3 + 20)], [...addr(CLIENT)]);
    assert.ok(ipv4HeaderOk(o, ql3), 'quoted header checksum redone');
    assert.deepEqual([o[ql3 + 20], o[ql3 + 21], o[ql3 + 22], o[ql3 + 23]], [0, 80, 40000 >> 8, 40000 & 0xff]);
    assert.deepEqual([o[ql3 + 36], o[ql3 + 37]], [reply[36], reply[37]], 'quoted TCP checksum not updated');
    assert.ok(icmpOk(o, 14));
    assert.deepEqual([...o.subarray(ql3 + 24)], [...reply.subarray(24)], 'everything else as it came');
  });

  it('IPv6 server side: outer source and quoted destination/port rewritten, ICMPv6 checksum over the new pseudo-header', () => {
    const toRs = ip6({ src: '2001:db8:1::7', dst: '2001:db8:10::11', proto: 17, payload: udpDatagram('2001:db8:1::7', 5001, '2001:db8:10::11', 5353, bytes(20)) });
    const f = icmpErrorFrame('2001:db8:10::11', '2001:db8:1::7', 1, 1, toRs, { quoteLen: toRs.length, ttl: 64 });
    const pf = parsed(f);
    const q = quoteOf(f, pf);
    assert.ok(q !== null);
    const rw = new IcmpRewrite().clear();
    rw.outerSrc = addr(VIP6);
    rw.quotedDst = addr(VIP6);
    rw.quotedDport = 53;
    const out = new Uint8Array(400);
    const n = xmitIcmpTranslated(f, pf, q, rw, hopTo('02:00:00:00:06:fe'), out, 0, 400);
    const o = out.subarray(0, n);
    assert.equal(o[21], 63);
    assert.deepEqual([...o.subarray(22, 38)], [...addr(VIP6)]);
    assert.deepEqual([...o.subarray(62 + 24, 62 + 40)], [...addr(VIP6)]);
    assert.deepEqual([o[62 + 42], o[62 + 43]], [0, 53]);
    assert.ok(icmpOk(o, 14));
  });

  it('an ICMP error arriving with TTL 1 is dropped as ttl-exceeded, nothing written', () => {
    const reply = ip4({ src: VIP, dst: CLIENT, proto: 6, payload: tcpSegment(VIP, 8080, CLIENT, 40000, 0x18, bytes(8)) });
    const f = icmpErrorFrame('198.51.100.254', VIP, 11, 0, reply, { ttl: 1 });
    const pf = parsed(f);
    const q = quoteOf(f, pf);
    assert.ok(q !== null);
    const out = new Uint8Array(200);
    assert.equal(xmitIcmpTranslated(f, pf, q, new IcmpRewrite().clear(), hopTo('02:00:00:00:01:12'), out, 0, 200), -DropReason.TtlExceeded);
    assert.ok(out.every((b) => b === 0));
  });
});

const DIRECTOR = `
link eth0 mac 02:00:00:00:00:01 mtu 1500
addr 10.0.0.1/24 dev eth0
neigh 10.0.0.254 lladdr 02:00:00:00:00:fe dev eth0
neigh 10.0.0.11 lladdr 02:00:00:00:01:11 dev eth0
neigh 10.0.0.12 lladdr 02:00:00:00:01:12 dev eth0
route default via 10.0.0.254 dev eth0
`;
const RULES = `
-A -t ${VIP}:80 -s rr
-a -t ${VIP}:80 -r 10.0.0.11:80 -g -w 1
-A -t ${VIP}:8080 -s rr
-a -t ${VIP}:8080 -r 10.0.0.12:80 -m -w 1
`;

describe('engine: relaying', () => {
  function natConnection(): EngineHarness {
    const h = new EngineHarness(RULES, DIRECTOR);
    assert.ok(h.send(frame({ src: CLIENT, dst: VIP, sport: 40000, dport: 8080, flags: SYN }), 0));
    assert.ok(h.send(frame({ src: '10.0.0.12', dst: CLIENT, sport: 80, dport: 40000, flags: SYN_ACK }), 0.001));
    return h;
  }
  const reply = ip4({ src: VIP, dst: CLIENT, proto: 6, payload: tcpSegment(VIP, 8080, CLIENT, 40000, 0x10, bytes(8)) });

  it('a relayed error counts as one in-packet of its connection (its IP length in bytes) and changes nothing else', () => {
    const h = natConnection();
    const e = h.built.engine;
    const before = h.summary().perRealServer['10.0.0.12:80'];
    let slot = -1;
    e.conns4.forEach((s) => { slot = s; });
    const expires = e.conns4.expires(slot);
    const state = e.conns4.state(slot);
    const f = icmpErrorFrame('198.51.100.254', VIP, 11, 0, reply);
    const o = h.send(f, 10);
    assert.ok(o !== null);
    assert.deepEqual([...o.subarray(30, 34)], [...addr('10.0.0.12')]);
    const after = h.summary().perRealServer['10.0.0.12:80'];
    assert.equal(after.inPackets, before.inPackets + 1);
    assert.equal(after.inBytes, before.inBytes + (f.length - 14));
    assert.equal(after.outPackets, before.outPackets);
    assert.equal(e.conns4.expires(slot), expires, 'the timer is not re-armed');
    assert.equal(e.conns4.state(slot), state, 'the state machine does not run');
  });

  it('from the real server\'s side: counted as an out-packet', () => {
    const h = natConnection();
    const before = h.summary().perRealServer['10.0.0.12:80'];
    const toRs = ip4({ src: CLIENT, dst: '10.0.0.12', proto: 6, payload: tcpSegment(CLIENT, 40000, '10.0.0.12', 80, 0x10, bytes(8)) });
    const o = h.send(icmpErrorFrame('10.0.0.12', CLIENT, 3, 13, toRs, { ttl: 64, srcMac: '02:00:00:00:01:12' }), 10);
    assert.ok(o !== null);
    assert.deepEqual([...o.subarray(26, 30)], [...addr(VIP)]);
    assert.equal(h.summary().perRealServer['10.0.0.12:80'].outPackets, before.outPackets + 1);
  });

  it('a bad ICMP checksum on an error for a connection: bad-icmp-checksum, not relayed', () => {
    const h = natConnection();
    const f = icmpErrorFrame('198.51.100.254', VIP, 11, 0, reply);
    f[14 + 20 + 2] ^= 0x10;
    assert.equal(h.send(f, 10), null);
    assert.equal(h.built.engine.drops[DropReason.BadIcmpChecksum], 1);
  });

  it('no connection, a fragmented error: not relayed; a relayed error with TTL 1 gets no answer', () => {
    const h = natConnection();
    const e = h.built.engine;
    const stranger = ip4({ src: VIP, dst: '198.51.100.99', proto: 6, payload: tcpSegment(VIP, 8080, '198.51.100.99', 40000, 0x10, bytes(8)) });
    assert.equal(h.send(icmpErrorFrame('198.51.100.254', VIP, 11, 0, stranger), 10), null);
    assert.equal(e.drops[DropReason.IcmpNoConnection], 1);
    const frag = icmpErrorFrame('198.51.100.254', VIP, 11, 0, reply);
    frag[14 + 6] = 0x20; // MF: a first fragment of an error
    frag[14 + 10] = 0;
    frag[14 + 11] = 0;
    const sum = (() => { let s = 0; for (let i = 14; i < 34; i += 2) s += (frag[i] << 8) | frag[i + 1]; while (s > 0xffff) s = (s & 0xffff) + (s >>> 16); return ~s & 0xffff; })();
    frag[14 + 10] = sum >> 8;
    frag[14 + 11] = sum & 0xff;
    assert.equal(h.send(frag, 10), null);
    assert.equal(e.drops[DropReason.IcmpNoConnection], 2);
    assert.equal(h.send(icmpErrorFrame('198.51.100.254', VIP, 11, 0, reply, { ttl: 1 }), 10), null);
    assert.equal(e.drops[DropReason.TtlExceeded], 1);
    assert.equal(e.icmp.sent, 0, 'never an error about an error');
  });

  it('DR: the error goes to the real server\'s MAC unchanged but for TTL - 1 and the header checksum', () => {
    const h = new EngineHarness(RULES, DIRECTOR);
    assert.ok(h.send(frame({ src: CLIENT, dst: VIP, sport: 40001, dport: 80, flags: SYN }), 0));
    const drReply = ip4({ src: VIP, dst: CLIENT, proto: 6, payload: tcpSegment(VIP, 80, CLIENT, 40001, 0x10, bytes(8)) });
    const f = icmpErrorFrame('198.51.100.254', VIP, 3, 1, drReply, { ttl: 100 });
    const o = h.send(f, 1);
    assert.ok(o !== null);
    assert.deepEqual([...o.subarray(0, 6)], [...mac('02:00:00:00:01:11')]);
    assert.equal(o[22], 99);
    assert.ok(ipv4HeaderOk(o, 14));
    const expected = f.slice(14);
    expected[8] = 99;
    assert.deepEqual([...o.subarray(14, 22)], [...expected.subarray(0, 8)]);
    assert.deepEqual([...o.subarray(26)], [...expected.subarray(12)]);
  });
});
