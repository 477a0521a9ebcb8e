/**
 * The rewriters in place (out === src, outOff === pf.l2Off, room pf.frameLen), the way the engine
 * runs same-size rewrites, with the hop prepared (NextHop.prepare: the word-store fast paths) and
 * not prepared (byte by byte): both must give scapy's expected frame, byte for byte.
 * Proposed for test/ (written by the wire/xmit performance helper; uses test/xmit-helpers.ts).
 */
import assert from 'node:assert/strict';
import { parseIp } from '../src/control/ip-address';
import { DROP_REASON_NAMES } from '../src/wire/parsed-frame';
import { xmitDirectRoute } from '../src/xmit/dr';
import { xmitFullNatIn, xmitFullNatOut } from '../src/xmit/fullnat';
import { xmitNatIn, xmitNatOut } from '../src/xmit/nat';
import { NextHop } from '../src/xmit/next-hop';
import { MAC, PORT, V4, V6, VECTORS } from './xmit-fixtures';
import { assertSameBytes, CALLS, fromHex, makeHop, parseInput, VectorName } from './xmit-helpers';

/** The vectors whose rewrite keeps the frame size (or shrinks it by dropping tags): the in-place ones. */
const IN_PLACE = (Object.keys(VECTORS) as VectorName[]).filter((name) => {
  const call = CALLS[name];
  return VECTORS[name].out !== '' && (call.kind === 'dr' || call.kind === 'natIn' || call.kind === 'natOut' ||
    (call.kind === 'fnatIn' && !call.toa) || call.kind === 'fnatOut');
});

function addr(text: string): Uint8Array {
  return parseIp(text).bytes;
}

/** Runs the vector's call on its own input buffer, in place; returns the frame written. */
function runInPlace(name: VectorName, prepared: boolean): Uint8Array {
  const { buf, pf } = parseInput(VECTORS[name].in);
  const hop = makeHop(pf.af);
  if (prepared) hop.prepare();
  const v = pf.af === 6 ? V6 : V4;
  const at = pf.l2Off;
  const room = pf.frameLen;
  const call = CALLS[name];
  let n: number;
  switch (call.kind) {
    case 'dr':
      n = xmitDirectRoute(buf, pf, hop, buf, at, room);
      break;
    case 'natIn':
      n = xmitNatIn(buf, pf, hop, addr(v.rs), 0, call.rsPort, buf, at, room);
      break;
    case 'natOut':
      n = xmitNatOut(buf, pf, hop, addr(v.vip), 0, PORT.virtual, buf, at, room);
      break;
    case 'fnatIn':
      n = xmitFullNatIn(buf, pf, hop, addr(v.laddr), 0, PORT.local, addr(v.rs), 0, PORT.rs, false, buf, at, room);
      break;
    case 'fnatOut':
      n = xmitFullNatOut(buf, pf, hop, addr(v.vip), 0, PORT.virtual, addr(v.client), 0, PORT.client, buf, at, room);
      break;
    default:
      throw new Error(`${name}: not an in-place rewrite`);
  }
  if (n < 0) assert.fail(`${name}: dropped (${DROP_REASON_NAMES[-n]}), expected a frame`);
  return buf.slice(at, at + n);
}

describe('xmit in place (the engine\'s same-size rewrites)', () => {
  it('covers DR, NAT and FULLNAT vectors, tagged and untagged, IPv4 and IPv6', () => {
    assert.ok(IN_PLACE.includes('drTagged4') && IN_PLACE.includes('natInTcp4') && IN_PLACE.includes('fnatOutTcp6'));
    assert.ok(IN_PLACE.length >= 30, `${IN_PLACE.length} vectors`);
  });

  for (const name of IN_PLACE) {
    it(`${name}: prepared and unprepared hops both give scapy's frame`, () => {
      const expected = fromHex(VECTORS[name].out);
      assertSameBytes(runInPlace(name, true), expected, `${name} (prepared hop)`);
      assertSameBytes(runInPlace(name, false), expected, `${name} (unprepared hop)`);
    });
  }

  it('NextHop.prepare packs destination and source MAC into three big-endian words', () => {
    const hop = new NextHop();
    hop.dstMac.set(fromHex(MAC.hopDst.replace(/:/g, '')));
    hop.srcMac.set(fromHex(MAC.hopSrc.replace(/:/g, '')));
    assert.equal(hop.ethPrepared, false);
    hop.prepare();
    assert.equal(hop.ethPrepared, true);
    const words = new DataView(new ArrayBuffer(12));
    words.setUint32(0, hop.ethWord0);
    words.setUint32(4, hop.ethWord1);
    words.setUint32(8, hop.ethWord2);
    assert.equal(Buffer.from(words.buffer).toString('hex'), (MAC.hopDst + MAC.hopSrc).replace(/:/g, ''));
  });
});
