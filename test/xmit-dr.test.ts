import assert from 'node:assert/strict';
import { DropReason, ParsedFrame } from '../src/wire/parsed-frame';
import { xmitDirectRoute } from '../src/xmit/dr';
import { VECTORS } from './xmit-fixtures';
import { expectDrop, expectVector, inputIpLen, makeHop, parseInput, vectorsOf } from './xmit-helpers';

describe('xmit DR (direct routing)', () => {
  for (const name of vectorsOf('dr')) {
    if (VECTORS[name].out === '') continue;
    it(`${name}: ${VECTORS[name].desc} (scapy's expected frame, byte for byte)`, () => {
      expectVector(name);
    });
  }

  it('TTL 1 (IPv4) and hop limit 1 (IPv6) on arrival are dropped as ttl-exceeded', () => {
    expectDrop('ttl1v4', DropReason.TtlExceeded);
    expectDrop('ttl1v6', DropReason.TtlExceeded);
  });

  it('a packet one byte longer than the egress MTU is too-big; exactly the MTU is forwarded', () => {
    const len = inputIpLen('drTcp4');
    expectDrop('drTcp4', DropReason.TooBig, { mtu: len - 1 });
    expectVector('drTcp4', { mtu: len });
    const len6 = inputIpLen('drUdp6');
    expectDrop('drUdp6', DropReason.TooBig, { mtu: len6 - 1 });
    expectVector('drUdp6', { mtu: len6 });
  });

  it('output room one byte short of the frame is output-full; the exact room is enough', () => {
    const frameLen = 14 + inputIpLen('drTcp6');
    expectDrop('drTcp6', DropReason.OutputFull, { room: frameLen - 1 });
    expectVector('drTcp6', { room: frameLen });
  });

  it('a room claimed past the end of the output buffer is output-full, not a short write', () => {
    const { buf, pf } = parseInput(VECTORS.drTcp4.in);
    const out = new Uint8Array(40);
    assert.equal(xmitDirectRoute(buf, pf, makeHop(4), out, 0, 1 << 20), -DropReason.OutputFull);
    assert.ok(out.every((b) => b === 0), 'nothing written');
    assert.equal(xmitDirectRoute(buf, pf, makeHop(4), out, -1, 1 << 20), -DropReason.OutputFull);
  });

  it('a frame that is not IP (ParsedFrame af 0) is refused as unknown-ethertype', () => {
    const pf = new ParsedFrame();
    pf.ttl = 64;
    assert.equal(xmitDirectRoute(new Uint8Array(64), pf, makeHop(4), new Uint8Array(100), 0, 100), -DropReason.UnknownEtherType);
  });
});
