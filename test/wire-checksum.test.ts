/**
 * src/wire/checksum.ts (and the checksum-keeping setters of ipv4.ts) against checksums scapy
 * 2.5.0 computed for the frames below (see test/wire-parse.test.ts for how they were built),
 * and incremental updates against full recomputation over randomized packets.
 */
import assert from 'node:assert/strict';
import {
  adjust16,
  adjust32,
  adjustBytes,
  finish,
  fold,
  ipv4HeaderChecksumOk,
  pseudoHeaderSum,
  readU16,
  setIpv4HeaderChecksum,
  sumWords,
  transportChecksum,
  writeU16,
} from '../src/wire/checksum';
import { readU32, writeU32 } from '../src/wire/bytes';
import { setIpv4Ttl, setIpv4TotalLen } from '../src/wire/ipv4';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

// Ether/IPv4/TCP SYN: scapy's IP chksum 0x2657, TCP chksum 0x7322.
const TCP_SYN_V4 = hex(
  '02000000000202000000000108004500003c00014000400626570a0000010a0000649c400050000003e800000000a002200073220000020405b4010303070402080a0000000100000000',
);
// Ether/IPv6/hop-by-hop/TCP + 'hello': TCP chksum 0x517a (pseudo-header uses the final destination).
const TCP_V6_HBH = hex(
  '02000000000202000000000186dd600000000021003f20010db800000000000000000000000120010db800000000000000000000010006000502000001009c4101bb000000050000000750182000517a000068656c6c6f',
);
// Ether/IPv4/UDP + 7 bytes (odd length): UDP chksum 0xd561.
const UDP_V4 = hex('02000000000202000000000108004500002300010000051131a7c0a8010ac0a801c814e90035000fd56161626364656667');
// Ether/IPv4/ICMP echo: ICMP chksum 0x06fa (no pseudo-header).
const ICMP_V4 = hex('02000000000202000000000108004500002000010000400166780a0000010a000064080006fa1234000170696e67');
// Ether/IPv6/ICMPv6 echo request: chksum 0x2347 (with pseudo-header).
const ICMPV6 = hex(
  '02000000000202000000000186dd6000000000083a4020010db800000000000000000000000120010db80000000000000000000001008000234700010002',
);

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('wire checksum: full sums against scapy', () => {
  it('IPv4 header checksum: sumWords + finish with the field zeroed', () => {
    const b = TCP_SYN_V4.slice();
    writeU16(b, 24, 0);
    assert.equal(finish(sumWords(b, 14, 20, 0)), 0x2657);
    assert.ok(ipv4HeaderChecksumOk(TCP_SYN_V4, 14, 20));
    assert.ok(!ipv4HeaderChecksumOk(b, 14, 20));
    setIpv4HeaderChecksum(b, 14);
    assert.deepEqual(b, TCP_SYN_V4);
  });

  it('TCP over IPv4 and IPv6, UDP with an odd length, ICMPv6: transportChecksum', () => {
    assert.equal(transportChecksum(TCP_SYN_V4, 26, 30, 4, 6, 34, 40, 16), 0x7322);
    assert.equal(transportChecksum(TCP_V6_HBH, 22, 38, 16, 6, 62, 25, 16), 0x517a);
    assert.equal(transportChecksum(UDP_V4, 26, 30, 4, 17, 34, 15, 6), 0xd561);
    assert.equal(transportChecksum(ICMPV6, 22, 38, 16, 58, 54, 8, 2), 0x2347);
    // The stored checksum is left in place.
    assert.equal(readU16(TCP_SYN_V4, 50), 0x7322);
  });

  it('pseudoHeaderSum + sumWords over a segment with its checksum verifies to 0xffff', () => {
    assert.equal(fold(sumWords(TCP_SYN_V4, 34, 40, pseudoHeaderSum(TCP_SYN_V4, 26, 30, 4, 6, 40))), 0xffff);
    assert.equal(fold(sumWords(UDP_V4, 34, 15, pseudoHeaderSum(UDP_V4, 26, 30, 4, 17, 15))), 0xffff);
  });

  it('ICMPv4 checksum has no pseudo-header', () => {
    const b = ICMP_V4.slice();
    writeU16(b, 36, 0);
    assert.equal(finish(sumWords(b, 34, 12, 0)), 0x06fa);
  });

  it('sumWords pads an odd trailing byte with zero; fold handles large sums', () => {
    assert.equal(sumWords(new Uint8Array([0x12, 0x34, 0x56]), 0, 3, 0), 0x1234 + 0x5600);
    assert.equal(fold(0x1fffe), 0xffff);
    assert.equal(fold(0xffff * 100000), 0xffff);
    assert.equal(fold(0x12345678), (0x1234 + 0x5678) & 0xffff);
  });
});

/** A random packet: 20-byte IPv4 header with checksum, then a random TCP-like segment with checksum at +16. */
function randomV4Packet(rnd: () => number): { b: Uint8Array; l4Len: number } {
  const l4Len = 20 + Math.floor(rnd() * 60);
  const b = new Uint8Array(20 + l4Len);
  for (let i = 0; i < b.length; i++) b[i] = Math.floor(rnd() * 256);
  b[0] = 0x45;
  writeU16(b, 2, b.length);
  b[9] = 6;
  setIpv4HeaderChecksum(b, 0);
  writeU16(b, 20 + 16, transportChecksum(b, 12, 16, 4, 6, 20, l4Len, 16));
  return { b, l4Len };
}

function randomV6Packet(rnd: () => number): { b: Uint8Array; l4Len: number } {
  const l4Len = 8 + Math.floor(rnd() * 61); // odd lengths included
  const b = new Uint8Array(40 + l4Len);
  for (let i = 0; i < b.length; i++) b[i] = Math.floor(rnd() * 256);
  writeU16(b, 40 + 6, transportChecksum(b, 8, 24, 16, 17, 40, l4Len, 6));
  return { b, l4Len };
}

describe('wire checksum: incremental updates equal a full recompute (seeded, randomized)', () => {
  it('adjust16 after a port change (4000 cases)', () => {
    const rnd = mulberry32(1);
    for (let i = 0; i < 4000; i++) {
      const { b, l4Len } = randomV4Packet(rnd);
      const portOff = 20 + (rnd() < 0.5 ? 0 : 2);
      const oldPort = readU16(b, portOff);
      const newPort = Math.floor(rnd() * 65536);
      writeU16(b, portOff, newPort);
      const inc = adjust16(readU16(b, 36), oldPort, newPort);
      assert.equal(inc, transportChecksum(b, 12, 16, 4, 6, 20, l4Len, 16), `case ${i}`);
    }
  });

  it('adjust32 after an IPv4 address change: IP header and TCP pseudo-header (4000 cases)', () => {
    const rnd = mulberry32(2);
    for (let i = 0; i < 4000; i++) {
      const { b, l4Len } = randomV4Packet(rnd);
      const addrOff = rnd() < 0.5 ? 12 : 16;
      const oldAddr = readU32(b, addrOff);
      const newAddr = rnd() < 0.05 ? oldAddr : Math.floor(rnd() * 0x100000000);
      writeU32(b, addrOff, newAddr);
      const ipInc = adjust32(readU16(b, 10), oldAddr, newAddr);
      const tcpInc = adjust32(readU16(b, 36), oldAddr, newAddr);
      writeU16(b, 10, ipInc);
      assert.ok(ipv4HeaderChecksumOk(b, 0, 20), `case ${i}`);
      const full = b.slice();
      setIpv4HeaderChecksum(full, 0);
      assert.equal(ipInc, readU16(full, 10), `case ${i}`);
      assert.equal(tcpInc, transportChecksum(b, 12, 16, 4, 6, 20, l4Len, 16), `case ${i}`);
    }
  });

  it('adjustBytes after an IPv6 address change, and over a run of words (4000 cases)', () => {
    const rnd = mulberry32(3);
    const newAddr = new Uint8Array(16);
    for (let i = 0; i < 4000; i++) {
      const { b, l4Len } = randomV6Packet(rnd);
      for (let j = 0; j < 16; j++) newAddr[j] = Math.floor(rnd() * 256);
      const addrOff = rnd() < 0.5 ? 8 : 24;
      const check = readU16(b, 46);
      const inc = adjustBytes(check, b, addrOff, newAddr, 0, 16); // old bytes read before overwrite
      b.set(newAddr, addrOff);
      assert.equal(inc, transportChecksum(b, 8, 24, 16, 17, 40, l4Len, 6), `case ${i}`);
    }
  });

  it('setIpv4Ttl and setIpv4TotalLen keep the header checksum equal to a full recompute (4000 cases)', () => {
    const rnd = mulberry32(4);
    for (let i = 0; i < 4000; i++) {
      const { b } = randomV4Packet(rnd);
      if (rnd() < 0.5) setIpv4Ttl(b, 0, Math.floor(rnd() * 256));
      else setIpv4TotalLen(b, 0, Math.floor(rnd() * 65536));
      const full = b.slice();
      setIpv4HeaderChecksum(full, 0);
      assert.deepEqual(b.subarray(0, 20), full.subarray(0, 20), `case ${i}`);
    }
  });

  it('setIpv4Ttl: the TTL decrement of forwarding on a scapy frame', () => {
    const b = TCP_SYN_V4.slice();
    setIpv4Ttl(b, 14, 63);
    assert.equal(b[22], 63);
    assert.ok(ipv4HeaderChecksumOk(b, 14, 20));
    assert.equal(readU16(b, 24), 0x2757); // TTL is the high byte of its word: the sum drops by 0x100
  });
});
