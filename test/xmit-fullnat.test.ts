import assert from 'node:assert/strict';
import { DropReason } from '../src/wire/parsed-frame';
import { tcpAck, tcpSeq } from '../src/xmit/tcp-seq';
import { isToaTrigger, TOA_KIND, TOA_LEN_V4, TOA_LEN_V6 } from '../src/xmit/toa';
import { VECTORS } from './xmit-fixtures';
import {
  assertSameBytes,
  expectDrop,
  expectVector,
  fromHex,
  inputIpLen,
  parseInput,
  runVector,
  vectorsOf,
  type VectorName,
} from './xmit-helpers';

/** Vectors whose output carries the TOA option (the rest either did not ask or it did not fit). */
const WITH_TOA = new Set<VectorName>([
  'fnatInToa4',
  'fnatInToa4Data',
  'fnatInToa6',
  'fnatInToa4Opt32',
  'fnatInToa6Opt20',
  'fnatInToa6Ext',
  'fnatInToa4IpOpts',
]);

describe('xmit FULLNAT', () => {
  for (const name of vectorsOf('fnatIn', 'fnatOut')) {
    it(`${name}: ${VECTORS[name].desc} (scapy's expected frame, byte for byte)`, () => {
      const r = expectVector(name);
      if (name.startsWith('fnatIn')) assert.equal(r.toaInserted, WITH_TOA.has(name), 'fullNatResult.toaInserted');
    });
  }

  it('the TOA sits right after the fixed TCP header: kind 254, length 8 (IPv4) / 20 (IPv6)', () => {
    assert.equal(TOA_KIND, 254);
    const v4 = expectVector('fnatInToa4').frame;
    assert.deepEqual([v4[14 + 20 + 20], v4[14 + 20 + 21]], [254, TOA_LEN_V4]);
    const v6 = expectVector('fnatInToa6').frame;
    assert.deepEqual([v6[14 + 40 + 20], v6[14 + 40 + 21]], [254, TOA_LEN_V6]);
  });

  it('options that would exceed 40 bytes: forwarded without the TOA, same length as the input', () => {
    for (const name of ['fnatInToa4Opt36', 'fnatInToa6Opt24'] as const) {
      const r = expectVector(name);
      assert.equal(r.toaInserted, false);
      assert.equal(r.frame.length, fromHex(VECTORS[name].in).length);
    }
  });

  it('a TOA that would take the packet past the MTU is left out; one that just fits is inserted', () => {
    const len = inputIpLen('fnatInToa4');
    const without = runVector('fnatInToa4', { mtu: len + TOA_LEN_V4 - 1 });
    assert.equal(without.toaInserted, false);
    assertSameBytes(without.frame, fromHex(VECTORS.fnatInNoToa4.out), 'forwarded without TOA');
    const fits = expectVector('fnatInToa4', { mtu: len + TOA_LEN_V4 });
    assert.equal(fits.toaInserted, true);
  });

  it('room for the frame but not for the TOA: output-full (the TOA is not silently dropped)', () => {
    const frameLen = 14 + inputIpLen('fnatInToa6') + TOA_LEN_V6;
    const r = runVector('fnatInToa6', { room: frameLen - 1 });
    assert.equal(r.n, -DropReason.OutputFull);
    assert.equal(r.toaInserted, false);
    expectVector('fnatInToa6', { room: frameLen });
  });

  it('TTL 1 and too-big are refused as for NAT', () => {
    expectDrop('fnatInTcp4', DropReason.TooBig, { mtu: inputIpLen('fnatInTcp4') - 1 });
    expectDrop('fnatOutTcp6', DropReason.TooBig, { mtu: inputIpLen('fnatOutTcp6') - 1 });
  });

  it('tcpSeq / tcpAck read the real server ISN from its SYN-ACK (seq 5000, ack 1001 in the scapy input)', () => {
    const { buf, pf } = parseInput(VECTORS.fnatOutTcp4.in);
    assert.equal(tcpSeq(buf, pf), 5000);
    assert.equal(tcpAck(buf, pf), 1001);
  });

  it('isToaTrigger: no SYN/RST and ack = ISN + 1 (mod 2^32)', () => {
    const ack = parseInput(VECTORS.fnatInToa4.in); // ACK, ack 5001
    assert.equal(isToaTrigger(ack.buf, ack.pf, 5000), true);
    assert.equal(isToaTrigger(ack.buf, ack.pf, 5001), false);
    const syn = parseInput(VECTORS.fnatInTcp4.in); // SYN, ack 0
    assert.equal(isToaTrigger(syn.buf, syn.pf, 0xffffffff), false);
    // The same ACK with ack number 0 triggers for ISN 0xFFFFFFFF (wrap-around).
    const wrapped = fromHex(VECTORS.fnatInToa4.in);
    wrapped.fill(0, 14 + 20 + 8, 14 + 20 + 12);
    const w = parseInput(Buffer.from(wrapped).toString('hex'));
    assert.equal(isToaTrigger(w.buf, w.pf, 0xffffffff), true);
    const udp = parseInput(VECTORS.fnatInUdp4.in);
    assert.equal(isToaTrigger(udp.buf, udp.pf, 0xffffffff), false);
  });
});
