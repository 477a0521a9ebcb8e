import assert from 'node:assert/strict';
import { DropReason } from '../src/wire/parsed-frame';
import { xmitIpip } from '../src/xmit/tunnel';
import { V4, VECTORS } from './xmit-fixtures';
import {
  addrAt,
  assertSameBytes,
  expectDrop,
  expectVector,
  fromHex,
  inputIpLen,
  makeHop,
  parseInput,
  runVector,
  vectorsOf,
} from './xmit-helpers';

/** Outer IPv4 ID of a 4inX output frame (14 bytes of Ethernet, ID at +4). */
function outerId(frame: Uint8Array): number {
  return (frame[18] << 8) | frame[19];
}

describe('xmit TUN (ipip: 4in4, 6in6, 4in6, 6in4)', () => {
  for (const name of vectorsOf('tun')) {
    it(`${name}: ${VECTORS[name].desc} (scapy's expected frame, byte for byte)`, () => {
      expectVector(name);
    });
  }

  it('DF set: outer ID 0 and the real server counter is not advanced', () => {
    const r = expectVector('tun44CeDf');
    assert.equal(outerId(r.frame), 0);
    assert.equal(r.ipIdAfter, 0);
  });

  it('DF clear: one counter per real server gives outer ID 1, then 2', () => {
    const rs = addrAt(V4.rs);
    const ids = new Uint16Array(3);
    const first = parseInput(VECTORS.tun44NoDf1.in);
    const second = parseInput(VECTORS.tun44NoDf2.in);
    const out = new Uint8Array(2048);
    const n1 = xmitIpip(first.buf, first.pf, makeHop(4), rs.bytes, rs.off, 4, ids, 1, out, 0, out.length);
    assertSameBytes(out.subarray(0, n1), fromHex(VECTORS.tun44NoDf1.out), 'first DF-clear packet');
    assert.equal(outerId(out), 1);
    const n2 = xmitIpip(second.buf, second.pf, makeHop(4), rs.bytes, rs.off, 4, ids, 1, out, 0, out.length);
    assertSameBytes(out.subarray(0, n2), fromHex(VECTORS.tun44NoDf2.out), 'second DF-clear packet');
    assert.equal(outerId(out), 2);
    assert.deepEqual(Array.from(ids), [0, 2, 0]);
  });

  it('the counter wraps from 65535 to 0', () => {
    const rs = addrAt(V4.rs);
    const ids = Uint16Array.of(65535);
    const { buf, pf } = parseInput(VECTORS.tun44NoDf1.in);
    const out = new Uint8Array(2048).fill(0xff);
    assert.ok(xmitIpip(buf, pf, makeHop(4), rs.bytes, rs.off, 4, ids, 0, out, 0, out.length) > 0);
    assert.equal(outerId(out), 0);
    assert.equal(ids[0], 0);
  });

  it('an inner IPv6 packet in IPv4 has DF clear and takes an ID from the counter', () => {
    const r = expectVector('tun64');
    assert.equal(outerId(r.frame), 1);
    assert.equal(r.ipIdAfter, 1);
  });

  it('outer packet longer than the MTU: too-big with DF set, and (for now) with DF clear; no ID used', () => {
    const outer = 20 + inputIpLen('tun44CeDf');
    expectDrop('tun44CeDf', DropReason.TooBig, { mtu: outer - 1 });
    expectVector('tun44CeDf', { mtu: outer });
    const outerNoDf = 20 + inputIpLen('tun44NoDf1');
    const r = runVector('tun44NoDf1', { mtu: outerNoDf - 1 });
    assert.equal(r.n, -DropReason.TooBig);
    assert.equal(r.ipIdAfter, 0, 'a dropped packet does not advance the counter');
    const outer6 = 40 + inputIpLen('tun66Ce');
    expectDrop('tun66Ce', DropReason.TooBig, { mtu: outer6 - 1 });
    expectVector('tun66Ce', { mtu: outer6 });
  });

  it('inner TTL 1 is ttl-exceeded before any encapsulation', () => {
    const { buf, pf } = parseInput(VECTORS.ttl1v4.in);
    const rs = addrAt(V4.rs);
    const ids = new Uint16Array(1);
    const out = new Uint8Array(256);
    assert.equal(xmitIpip(buf, pf, makeHop(4), rs.bytes, rs.off, 4, ids, 0, out, 0, out.length), -DropReason.TtlExceeded);
    assert.equal(ids[0], 0);
  });

  it('no director address of the real server family on the egress link: no-route', () => {
    expectDrop('tun46', DropReason.NoRoute, { hopSrcAf: 4 });
    expectDrop('tun44CeDf', DropReason.NoRoute, { hopSrcAf: 6 });
  });

  it('output room one byte short is output-full and does not advance the counter', () => {
    const frameLen = 14 + 20 + inputIpLen('tun44NoDf1');
    const r = runVector('tun44NoDf1', { room: frameLen - 1 });
    assert.equal(r.n, -DropReason.OutputFull);
    assert.equal(r.ipIdAfter, 0);
    expectVector('tun44NoDf1', { room: frameLen });
  });
});
