/**
 * IPv6 rules that the golden scenarios cannot show on their own (issue 7):
 * - the connection table tells apart IPv6 clients that share their low 32 bits (and their XOR fold) even when
 *   they land in the same hash bucket - a golden only ever sees entries that the hash happens to spread;
 * - a zero UDP checksum over IPv6 (illegal, RFC 8200 8.1, so tshark rejects any pcap holding one) is computed
 *   in full by NAT and FULLNAT, as the kernel's udp_dnat_handler/udp_snat_handler do for either family, and a
 *   computed 0 is sent as 0xffff; DR and TUN leave the transport header alone (docs/forwarding.md).
 * Checksums are verified here with this file's own ones' complement sum, not src/wire/checksum.ts.
 */
import assert from 'node:assert/strict';
import { parseIp } from '../src/control/ip-address';
import { ConnTable, type ReplyMatcher } from '../src/ipvs/conn-table';
import { parseFrame } from '../src/wire/parse';
import { DropReason, ParsedFrame } from '../src/wire/parsed-frame';
import { xmitDirectRoute } from '../src/xmit/dr';
import { xmitFullNatIn } from '../src/xmit/fullnat';
import { xmitNatIn, xmitNatOut } from '../src/xmit/nat';
import { xmitIpip } from '../src/xmit/tunnel';
import { makeHop } from './xmit-helpers';

const ETH = 14;
const IP6 = 40;
const UDP_CHECK = ETH + IP6 + 6;

function addr(text: string): Uint8Array {
  return parseIp(text).bytes;
}

/** Client address then virtual address, as a packet carries source and destination. */
function pair(client: Uint8Array, virt: Uint8Array): Uint8Array {
  const b = new Uint8Array(32);
  b.set(client, 0);
  b.set(virt, 16);
  return b;
}

/** 16-bit ones' complement sum of data, folded. */
function onesSum(data: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < data.length; i += 2) s += (data[i] << 8) | (i + 1 < data.length ? data[i + 1] : 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** The IPv6 pseudo-header (RFC 8200 8.1) and the UDP datagram of an untagged frame without extension headers. */
function udpSumInput(frame: Uint8Array): Uint8Array {
  const ip = frame.subarray(ETH);
  const udpLen = (ip[4] << 8) | ip[5];
  const b = new Uint8Array(40 + udpLen);
  b.set(ip.subarray(8, 40), 0);
  b[34] = udpLen >> 8;
  b[35] = udpLen & 0xff;
  b[39] = 17;
  b.set(ip.subarray(IP6, IP6 + udpLen), 40);
  return b;
}

function udpCheck(frame: Uint8Array): number {
  return (frame[UDP_CHECK] << 8) | frame[UDP_CHECK + 1];
}

/** An Ethernet + IPv6 + UDP frame with UDP checksum 0 ("none": illegal on IPv6). */
function udp6ZeroChecksum(src: string, sport: number, dst: string, dport: number, payload: Uint8Array): Uint8Array {
  const udpLen = 8 + payload.length;
  const f = new Uint8Array(ETH + IP6 + udpLen);
  f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 6, 0xfe, 0x86, 0xdd], 0);
  f[ETH] = 0x60;
  f[ETH + 4] = udpLen >> 8;
  f[ETH + 5] = udpLen & 0xff;
  f[ETH + 6] = 17;
  f[ETH + 7] = 60;
  f.set(addr(src), ETH + 8);
  f.set(addr(dst), ETH + 24);
  const u = ETH + IP6;
  f[u] = sport >> 8;
  f[u + 1] = sport & 0xff;
  f[u + 2] = dport >> 8;
  f[u + 3] = dport & 0xff;
  f[u + 4] = udpLen >> 8;
  f[u + 5] = udpLen & 0xff;
  f.set(payload, u + 8);
  return f;
}

function parsed(frame: Uint8Array): ParsedFrame {
  const pf = new ParsedFrame();
  assert.equal(parseFrame(frame, 0, frame.length, pf), DropReason.None);
  return pf;
}

const CLIENT = '2001:db8:1::100';
const VIP = '2001:db8::10';
const RS = '2001:db8:10::11';
const LADDR = '2001:db8:10::2';
const QUERY = Uint8Array.from(Buffer.from('10010100000100000000000003777777076578616d706c6503636f6d0000010001', 'hex'));

describe('IPv6: connections keyed on all 128 bits, even inside one hash bucket', () => {
  // 64 clients 2001:db8:K::5 that differ only in their second 32-bit word (same low 64 bits, same port).
  // In a table of 64 slots there are 32 buckets, so several of them must share a bucket.
  const vip = addr(VIP);
  const clients = Array.from({ length: 64 }, (_, k) => addr(`2001:db8:${k.toString(16)}::5`));

  it('finds each client its own connection (in and out lookups)', () => {
    const t = new ConnTable(4, 16, 1024);
    const slots = clients.map((c, k) => t.create(17, pair(c, vip), 0, 5000, 16, 53, k, 5353, 0, 1000));
    assert.ok(slots.every((s) => s >= 0));
    const anyServer: ReplyMatcher = { replyMatches: () => true };
    clients.forEach((c, k) => {
      const inSlot = t.lookupIn(17, pair(c, vip), 0, 5000, 16, 53);
      assert.equal(t.dest(inSlot), k, `in lookup of client ${k}`);
      // A reply to the client: only the client side (address, port) identifies the entry.
      const outSlot = t.lookupOut(17, pair(vip, c), 16, 5000, anyServer, 0, 53);
      assert.equal(t.dest(outSlot), k, `out lookup of client ${k}`);
    });
    // A client that shares the low 64 bits with all of them, but none of their upper words: no connection.
    assert.equal(t.lookupIn(17, pair(addr('2001:db9:0:0::5'), vip), 0, 5000, 16, 53), -1);
  });

  it('gives each /128 masked client its own persistence template', () => {
    const t = new ConnTable(4, 16, 1024);
    clients.forEach((c, k) => t.create(6, pair(c, vip), 0, 0, 16, 80, k, 80, 0x1000, 60000));
    clients.forEach((c, k) => assert.equal(t.dest(t.lookupTemplate(6, pair(c, vip), 0, 16, 80)), k, `template ${k}`));
  });
});

describe('IPv6: a zero UDP checksum', () => {
  const out = new Uint8Array(2048);

  it('NAT client -> server computes it in full (it verifies, and is not 0)', () => {
    const f = udp6ZeroChecksum(CLIENT, 5001, VIP, 53, QUERY);
    const rs = addr(RS);
    const n = xmitNatIn(f, parsed(f), makeHop(6), rs, 0, 5353, out, 0, out.length);
    assert.equal(n, f.length);
    const o = out.slice(0, n);
    assert.notEqual(udpCheck(o), 0);
    assert.equal(onesSum(udpSumInput(o)), 0xffff, 'the computed checksum verifies');
    assert.deepEqual(Array.from(o.subarray(ETH + 24, ETH + 40)), Array.from(rs), 'destination is the real server');
  });

  it('NAT server -> client (reply) computes it in full', () => {
    const f = udp6ZeroChecksum(RS, 5353, CLIENT, 5001, QUERY);
    const vip = addr(VIP);
    const n = xmitNatOut(f, parsed(f), makeHop(6), vip, 0, 53, out, 0, out.length);
    const o = out.slice(0, n);
    assert.notEqual(udpCheck(o), 0);
    assert.equal(onesSum(udpSumInput(o)), 0xffff);
  });

  it('FULLNAT client -> server computes it in full', () => {
    const f = udp6ZeroChecksum(CLIENT, 5001, VIP, 53, QUERY);
    const n = xmitFullNatIn(f, parsed(f), makeHop(6), addr(LADDR), 0, 1025, addr(RS), 0, 5353, false, out, 0, out.length);
    const o = out.slice(0, n);
    assert.notEqual(udpCheck(o), 0);
    assert.equal(onesSum(udpSumInput(o)), 0xffff);
  });

  it('sends a computed 0 as 0xffff', () => {
    // Tune the last payload word so that the rewritten datagram (CLIENT:5001 -> RS:5353) sums to 0xffff.
    const payload = new Uint8Array(QUERY.length + 1 + 2);
    payload.set(QUERY, 0);
    const probe = udp6ZeroChecksum(CLIENT, 5001, RS, 5353, payload);
    const partial = onesSum(udpSumInput(probe));
    const pad = 0xffff - partial;
    payload[payload.length - 2] = pad >> 8;
    payload[payload.length - 1] = pad & 0xff;
    const f = udp6ZeroChecksum(CLIENT, 5001, VIP, 53, payload);
    const n = xmitNatIn(f, parsed(f), makeHop(6), addr(RS), 0, 5353, out, 0, out.length);
    const o = out.slice(0, n);
    assert.equal(onesSum(udpSumInput(o)), 0xffff);
    assert.equal(udpCheck(o), 0xffff);
  });

  it('DR and TUN leave it as it came (they never touch the transport header)', () => {
    const f = udp6ZeroChecksum(CLIENT, 5001, VIP, 123, QUERY);
    const n = xmitDirectRoute(f, parsed(f), makeHop(6), out, 0, out.length);
    assert.equal(n, f.length);
    assert.equal(udpCheck(out), 0);
    const ids = new Uint16Array(1);
    const m = xmitIpip(f, parsed(f), makeHop(6), addr(RS), 0, 6, ids, 0, out, 0, out.length);
    assert.equal(m, f.length + IP6);
    assert.equal((out[UDP_CHECK + IP6] << 8) | out[UDP_CHECK + IP6 + 1], 0, 'inner UDP checksum');
  });
});
