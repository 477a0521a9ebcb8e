import assert from 'node:assert/strict';
import { DropReason } from '../src/wire/parsed-frame';
import { xmitNatIn } from '../src/xmit/nat';
import { PORT, V4, VECTORS } from './xmit-fixtures';
import { addrAt, expectDrop, expectVector, fromHex, inputIpLen, makeHop, parseInput, vectorsOf } from './xmit-helpers';

/** The UDP checksum field of an untagged IPv4 frame without IP options. */
function udp4Check(frame: Uint8Array): number {
  return (frame[14 + 20 + 6] << 8) | frame[14 + 20 + 7];
}

describe('xmit NAT (masquerading)', () => {
  for (const name of vectorsOf('natIn', 'natOut')) {
    it(`${name}: ${VECTORS[name].desc} (scapy's expected frame, byte for byte)`, () => {
      expectVector(name);
    });
  }

  it('UDP over IPv4 without a checksum gets a computed one', () => {
    assert.equal(udp4Check(fromHex(VECTORS.natInUdp4Zero.in)), 0);
    assert.notEqual(udp4Check(expectVector('natInUdp4Zero').frame), 0);
  });

  it('a UDP checksum that comes out 0 is sent as 0xFFFF, on the incremental and the full path', () => {
    assert.notEqual(udp4Check(fromHex(VECTORS.natInUdp4FfffInc.in)), 0);
    assert.equal(udp4Check(expectVector('natInUdp4FfffInc').frame), 0xffff);
    assert.equal(udp4Check(fromHex(VECTORS.natInUdp4FfffFull.in)), 0);
    assert.equal(udp4Check(expectVector('natInUdp4FfffFull').frame), 0xffff);
  });

  it('SCTP: the port change recomputes the CRC32c (and the bytes differ from the input CRC)', () => {
    const inp = fromHex(VECTORS.natInSctp4.in);
    const out = expectVector('natInSctp4').frame;
    const crcAt = 14 + 20 + 8;
    assert.notDeepEqual(Array.from(out.subarray(crcAt, crcAt + 4)), Array.from(inp.subarray(crcAt, crcAt + 4)));
  });

  it('TTL 1 is ttl-exceeded; one byte over the MTU is too-big; one byte short of room is output-full', () => {
    const rs = addrAt(V4.rs);
    const ttl1 = parseInput(VECTORS.ttl1v4.in);
    const out = new Uint8Array(256);
    assert.equal(xmitNatIn(ttl1.buf, ttl1.pf, makeHop(4), rs.bytes, rs.off, PORT.rs, out, 0, out.length), -DropReason.TtlExceeded);
    const len = inputIpLen('natInTcp4');
    expectDrop('natInTcp4', DropReason.TooBig, { mtu: len - 1 });
    expectVector('natInTcp4', { mtu: len });
    expectDrop('natOutUdp6', DropReason.OutputFull, { room: 14 + inputIpLen('natOutUdp6') - 1 });
    expectVector('natOutUdp6', { room: 14 + inputIpLen('natOutUdp6') });
  });
});
