/**
 * Shared by the test/xmit-*.test.ts specs: parse a scapy-built input vector, run the forwarding
 * method its name calls for, and compare the output byte for byte with scapy's expected frame.
 * Each vector name maps to one call (CALLS): the method specs and the tshark spec run the same.
 */
import assert from 'node:assert/strict';
import { parseIp } from '../src/control/ip-address';
import { parseFrame } from '../src/wire/parse';
import { DropReason, DROP_REASON_NAMES, ParsedFrame } from '../src/wire/parsed-frame';
import { xmitDirectRoute } from '../src/xmit/dr';
import { fullNatResult, xmitFullNatIn, xmitFullNatOut } from '../src/xmit/fullnat';
import { xmitNatIn, xmitNatOut } from '../src/xmit/nat';
import { NextHop } from '../src/xmit/next-hop';
import { xmitIpip } from '../src/xmit/tunnel';
import { MAC, PORT, V4, V6, VECTORS } from './xmit-fixtures';

export type VectorName = keyof typeof VECTORS;

export function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

function toHex(b: Uint8Array, from: number, to: number): string {
  return Buffer.from(b.subarray(Math.max(0, from), Math.min(b.length, to))).toString('hex');
}

/** Asserts actual[0..) equals expected, naming the first differing byte offset. */
export function assertSameBytes(actual: Uint8Array, expected: Uint8Array, label: string): void {
  const n = Math.min(actual.length, expected.length);
  for (let i = 0; i < n; i++) {
    if (actual[i] !== expected[i]) {
      assert.fail(
        `${label}: first difference at byte ${i}: got 0x${actual[i].toString(16)}, expected 0x${expected[i].toString(16)}\n` +
          `  got      ...${toHex(actual, i - 8, i + 8)}...\n  expected ...${toHex(expected, i - 8, i + 8)}...`,
      );
    }
  }
  if (actual.length !== expected.length) {
    assert.fail(`${label}: length ${actual.length}, expected ${expected.length} (equal up to byte ${n})`);
  }
}

/** Address bytes placed at a non-zero offset of a larger array, to prove offsets are honoured. */
export interface AddrAt {
  bytes: Uint8Array;
  off: number;
}

export function addrAt(text: string): AddrAt {
  const a = parseIp(text).bytes;
  const bytes = new Uint8Array(a.length + 5).fill(0x5a);
  bytes.set(a, 3);
  return { bytes, off: 3 };
}

export interface Input {
  /** The frame sits at offset INPUT_OFF of buf, with junk bytes around it. */
  buf: Uint8Array;
  pf: ParsedFrame;
  /** Copy of buf taken before the call, to prove the input is not modified. */
  before: Uint8Array;
}

const INPUT_OFF = 7;

export function parseInput(hex: string): Input {
  const frame = fromHex(hex);
  const buf = new Uint8Array(frame.length + INPUT_OFF + 9).fill(0xa5);
  buf.set(frame, INPUT_OFF);
  const pf = new ParsedFrame();
  const reason = parseFrame(buf, INPUT_OFF, frame.length, pf);
  // A later fragment is reported as such, with every IP field filled: the rewriters accept it.
  const ok = reason === DropReason.None || (reason === DropReason.Fragment && pf.fragment === 2);
  assert.ok(ok, `test input must parse, got ${DROP_REASON_NAMES[reason]}`);
  return { buf, pf, before: buf.slice() };
}

export function makeHop(srcAf: number, mtu = 1500): NextHop {
  const hop = new NextHop();
  hop.linkIndex = 1;
  hop.mtu = mtu;
  hop.dstMac.set(Buffer.from(MAC.hopDst.replace(/:/g, ''), 'hex'));
  hop.srcMac.set(Buffer.from(MAC.hopSrc.replace(/:/g, ''), 'hex'));
  hop.srcAf = srcAf;
  hop.srcAddr.set(parseIp(srcAf === 6 ? V6.director : V4.director).bytes);
  return hop;
}

/** How each vector is forwarded. */
export type Call =
  | { kind: 'dr' }
  /** ipIdBefore: the real server's ID counter before the call. */
  | { kind: 'tun'; rsAf: 4 | 6; ipIdBefore: number }
  | { kind: 'natIn'; rsPort: number }
  | { kind: 'natOut' }
  | { kind: 'fnatIn'; toa: boolean }
  | { kind: 'fnatOut' };

const DR: Call = { kind: 'dr' };
const NAT_IN: Call = { kind: 'natIn', rsPort: PORT.rs };
const NAT_OUT: Call = { kind: 'natOut' };
const FNAT_IN: Call = { kind: 'fnatIn', toa: false };
const FNAT_IN_TOA: Call = { kind: 'fnatIn', toa: true };
const FNAT_OUT: Call = { kind: 'fnatOut' };

export const CALLS: Record<VectorName, Call> = {
  drTcp4: DR,
  drTcp6: DR,
  drUdp4: DR,
  drUdp6: DR,
  drTagged4: DR,
  drQinq6: DR,
  ttl1v4: DR,
  ttl1v6: DR,
  drPadded4: DR,
  tun44CeDf: { kind: 'tun', rsAf: 4, ipIdBefore: 0 },
  tun44NoDf1: { kind: 'tun', rsAf: 4, ipIdBefore: 0 },
  tun44NoDf2: { kind: 'tun', rsAf: 4, ipIdBefore: 1 },
  tun66Ce: { kind: 'tun', rsAf: 6, ipIdBefore: 0 },
  tun66Udp: { kind: 'tun', rsAf: 6, ipIdBefore: 0 },
  tun46: { kind: 'tun', rsAf: 6, ipIdBefore: 0 },
  tun64: { kind: 'tun', rsAf: 4, ipIdBefore: 0 },
  natInTcp4: NAT_IN,
  natInTcp6: NAT_IN,
  natInUdp4: NAT_IN,
  natInUdp6: NAT_IN,
  natInSctp4: NAT_IN,
  natInSctp6: NAT_IN,
  natInPort0: { kind: 'natIn', rsPort: 0 },
  natInUdp4Zero: NAT_IN,
  natInUdp4FfffInc: NAT_IN,
  natInUdp4FfffFull: NAT_IN,
  natInUdp6Ffff: NAT_IN,
  natOutTcp4: NAT_OUT,
  natOutTcp6: NAT_OUT,
  natOutUdp4: NAT_OUT,
  natOutUdp6: NAT_OUT,
  natOutSctp4: NAT_OUT,
  fnatInTcp4: FNAT_IN,
  fnatInTcp6: FNAT_IN,
  fnatInNoToa4: FNAT_IN,
  fnatInToa4: FNAT_IN_TOA,
  fnatInToa4Data: FNAT_IN_TOA,
  fnatInToa6: FNAT_IN_TOA,
  fnatInUdp4: FNAT_IN,
  fnatInUdp6: FNAT_IN,
  fnatInUdp4Zero: FNAT_IN,
  fnatInSctp4: FNAT_IN,
  // The engine asks for the TOA; the rewriter finds it does not fit and leaves it out.
  fnatInToa4Opt32: FNAT_IN_TOA,
  fnatInToa4Opt36: FNAT_IN_TOA,
  fnatInToa6Opt20: FNAT_IN_TOA,
  fnatInToa6Opt24: FNAT_IN_TOA,
  natInLaterFrag4: NAT_IN,
  natInLaterFrag6: NAT_IN,
  natInFirstFrag4: NAT_IN,
  natInFirstFragUdpZero4: NAT_IN,
  fnatInToaFrag4: FNAT_IN_TOA,
  natInExt6: NAT_IN,
  fnatInToa6Ext: FNAT_IN_TOA,
  fnatInToa4IpOpts: FNAT_IN_TOA,
  tun44IpOpts: { kind: 'tun', rsAf: 4, ipIdBefore: 0 },
  fnatOutTcp4: FNAT_OUT,
  fnatOutTcp4Data: FNAT_OUT,
  fnatOutTcp6: FNAT_OUT,
  fnatOutUdp4: FNAT_OUT,
  fnatOutUdp6: FNAT_OUT,
};

export interface RunOptions {
  mtu?: number;
  /** Bytes available to the rewriter (default: all of the output buffer after outOff). */
  room?: number;
  /** Overrides the hop's source family (tunnel: a link without an address of the RS family). */
  hopSrcAf?: number;
}

export interface RunResult {
  /** Return value of the rewriter. */
  n: number;
  /** The output frame (n > 0) or an empty array. */
  frame: Uint8Array;
  /** TUN: the counter after the call. */
  ipIdAfter: number;
  /** FULLNAT in: fullNatResult.toaInserted after the call. */
  toaInserted: boolean;
}

const OUT_OFF = 5;
const OUT_FILL = 0xee;

/**
 * Runs the vector's call on its parsed input into an output buffer pre-filled with 0xEE at a
 * non-zero offset; asserts the input was not modified and nothing outside the frame was written.
 */
export function runVector(name: VectorName, opts: RunOptions = {}): RunResult {
  const vec = VECTORS[name];
  const call = CALLS[name];
  const input = parseInput(vec.in);
  const { buf, pf } = input;
  const v = pf.af === 6 ? V6 : V4;
  const out = new Uint8Array(OUT_OFF + 2048 + 11).fill(OUT_FILL);
  const room = opts.room ?? out.length - OUT_OFF;
  const mtu = opts.mtu ?? 1500;
  let n: number;
  let ipIdAfter = -1;
  let toaInserted = false;
  switch (call.kind) {
    case 'dr':
      n = xmitDirectRoute(buf, pf, makeHop(pf.af, mtu), out, OUT_OFF, room);
      break;
    case 'tun': {
      const rs = addrAt(call.rsAf === 6 ? V6.rs : V4.rs);
      const ids = new Uint16Array(4).fill(999);
      ids[2] = call.ipIdBefore;
      const hop = makeHop(opts.hopSrcAf ?? call.rsAf, mtu);
      n = xmitIpip(buf, pf, hop, rs.bytes, rs.off, call.rsAf, ids, 2, out, OUT_OFF, room);
      assert.deepEqual([ids[0], ids[1], ids[3]], [999, 999, 999], 'other ID counters untouched');
      ipIdAfter = ids[2];
      break;
    }
    case 'natIn': {
      const rs = addrAt(v.rs);
      n = xmitNatIn(buf, pf, makeHop(pf.af, mtu), rs.bytes, rs.off, call.rsPort, out, OUT_OFF, room);
      break;
    }
    case 'natOut': {
      const vip = addrAt(v.vip);
      n = xmitNatOut(buf, pf, makeHop(pf.af, mtu), vip.bytes, vip.off, PORT.virtual, out, OUT_OFF, room);
      break;
    }
    case 'fnatIn': {
      const l = addrAt(v.laddr);
      const rs = addrAt(v.rs);
      fullNatResult.toaInserted = !call.toa; // a stale value the call must overwrite
      n = xmitFullNatIn(buf, pf, makeHop(pf.af, mtu), l.bytes, l.off, PORT.local, rs.bytes, rs.off, PORT.rs,
        call.toa, out, OUT_OFF, room);
      toaInserted = fullNatResult.toaInserted;
      break;
    }
    case 'fnatOut': {
      const vip = addrAt(v.vip);
      const c = addrAt(v.client);
      n = xmitFullNatOut(buf, pf, makeHop(pf.af, mtu), vip.bytes, vip.off, PORT.virtual, c.bytes, c.off, PORT.client,
        out, OUT_OFF, room);
      break;
    }
  }
  assertSameBytes(buf, input.before, `${name}: input buffer`);
  const written = n > 0 ? n : 0;
  for (let i = 0; i < out.length; i++) {
    if (i >= OUT_OFF && i < OUT_OFF + written) continue;
    if (out[i] !== OUT_FILL) assert.fail(`${name}: output byte ${i} written outside the frame [${OUT_OFF}, ${OUT_OFF + written})`);
  }
  return { n, frame: out.slice(OUT_OFF, OUT_OFF + written), ipIdAfter, toaInserted };
}

/** Runs the vector and asserts its output equals scapy's expected frame. */
export function expectVector(name: VectorName, opts: RunOptions = {}): RunResult {
  const r = runVector(name, opts);
  if (r.n < 0) assert.fail(`${name}: dropped (${DROP_REASON_NAMES[-r.n]}), expected a frame`);
  assertSameBytes(r.frame, fromHex(VECTORS[name].out), name);
  return r;
}

/** Runs the vector and asserts it is dropped for `reason`. */
export function expectDrop(name: VectorName, reason: DropReason, opts: RunOptions = {}): void {
  const r = runVector(name, opts);
  assert.equal(r.n > 0 ? `frame of ${r.n} bytes` : DROP_REASON_NAMES[-r.n], DROP_REASON_NAMES[reason], name);
}

/** Names of the vectors forwarded by `kinds`, in fixture order. */
export function vectorsOf(...kinds: Call['kind'][]): VectorName[] {
  return (Object.keys(VECTORS) as VectorName[]).filter((n) => kinds.includes(CALLS[n].kind));
}

/** IP total length of the vector's input packet (what the MTU bounds for DR and NAT). */
export function inputIpLen(name: VectorName): number {
  return parseInput(VECTORS[name].in).pf.ipTotalLen;
}
