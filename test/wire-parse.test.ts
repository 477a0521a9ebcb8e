/**
 * parseFrame against frames built by scapy 2.5.0 (Debian python3-scapy). The hex below was
 * printed once by this snippet and pasted here, so the tests need no python:
 *
 *   M = dict(src='02:00:00:00:00:01', dst='02:00:00:00:00:02')
 *   tcpSynV4        Ether(**M)/IP(src='10.0.0.1', dst='10.0.0.100', ttl=64, id=1, flags='DF')/TCP(sport=40000,
 *                   dport=80, flags='S', seq=1000, options=[('MSS',1460),('NOP',None),('WScale',7),('SAckOK',b''),('Timestamp',(1,0))])
 *   tcpSynV4Vlan    Ether(**M)/Dot1Q(vlan=42)/IP(src='10.0.0.1', dst='10.0.0.100', ttl=64, id=1)/TCP(sport=40000, dport=80, flags='S', seq=1000)
 *   tcpSynV4QinQ    Ether(**M, type=0x88a8)/Dot1AD(vlan=7)/Dot1Q(vlan=42)/<same IP/TCP>
 *   tcpSynV4Options Ether(**M)/IP(..., options=[IPOption_RR(routers=['1.2.3.4','5.6.7.8'])])/<same TCP>
 *   tcpV6HopByHop   Ether(**M)/IPv6(src='2001:db8::1', dst='2001:db8::100', hlim=63)/IPv6ExtHdrHopByHop(options=[RouterAlert()])
 *                   /TCP(sport=40001, dport=443, flags='PA', seq=5, ack=7)/b'hello'
 *   tcpV6Routing    Ether(**M)/IPv6(src='2001:db8::1', dst='2001:db8::100')/IPv6ExtHdrDestOpt()/IPv6ExtHdrRouting(addresses=['2001:db8::5'])
 *                   /TCP(sport=1, dport=2, flags='S')
 *   udpV4           Ether(**M)/IP(src='192.168.1.10', dst='192.168.1.200', ttl=5)/UDP(sport=5353, dport=53)/b'abcdefg'
 *   udpV6           Ether(**M)/IPv6(src='fe80::1', dst='ff02::fb', hlim=255)/UDP(sport=5353, dport=5353)/b'xyz'
 *   sctpInitV4      Ether(**M)/IP(src='10.1.0.1', dst='10.1.0.2')/SCTP(sport=2905, dport=2905, tag=0)/SCTPChunkInit(init_tag=0x11223344,
 *                   a_rwnd=65535, n_out_streams=10, n_in_streams=10, init_tsn=1)
 *   icmpEchoV4      Ether(**M)/IP(src='10.0.0.1', dst='10.0.0.100')/ICMP(type=8, code=0, id=0x1234, seq=1)/b'ping'
 *   icmpv6EchoV6    Ether(**M)/IPv6(src='2001:db8::1', dst='2001:db8::100')/ICMPv6EchoRequest(id=1, seq=2)
 *   arpRequest      Ether(src='02:00:00:00:00:01', dst='ff:ff:ff:ff:ff:ff')/ARP(op=1, hwsrc='02:00:00:00:00:01', psrc='10.0.0.1', pdst='10.0.0.100')
 *   fragFirstV4/fragLaterV4  fragment(IP(src='10.0.0.1', dst='10.0.0.100', id=77)/UDP(sport=1111, dport=2222)/(b'Q'*100), fragsize=48)[0], [1]
 *   fragFirstV6/fragLaterV6  fragment6(IPv6(src='2001:db8::1', dst='2001:db8::100')/IPv6ExtHdrFragment(id=9)/UDP(sport=1111, dport=2222)
 *                   /(b'Q'*100), 80)[0], [1]
 *   padded          Ether(**M)/IP(src='10.0.0.1', dst='10.0.0.100')/TCP(sport=40000, dport=80, flags='A')/Padding(load=b'\x00'*6)
 *   unknownEtherType Ether(**M, type=0x88cc)/(b'\x00'*46)
 */
import assert from 'node:assert/strict';
import { parseFrame, resetParsedFrame } from '../src/wire/parse';
import { DropReason, DROP_REASON_NAMES, ParsedFrame } from '../src/wire/parsed-frame';
import { setIpv4HeaderChecksum } from '../src/wire/checksum';

const VECTORS = {
  tcpSynV4:
    '02000000000202000000000108004500003c00014000400626570a0000010a0000649c400050000003e800000000a002200073220000020405b4010303070402080a0000000100000000',
  tcpSynV4Vlan:
    '0200000000020200000000018100002a080045000028000100004006666b0a0000010a0000649c400050000003e80000000050022000db050000',
  tcpSynV4QinQ:
    '02000000000202000000000188a800078100002a080045000028000100004006666b0a0000010a0000649c400050000003e80000000050022000db050000',
  tcpSynV4Options:
    '02000000000202000000000108004800003400010000400644440a0000010a000064070b040102030405060708009c400050000003e80000000050022000db050000',
  tcpV6HopByHop:
    '02000000000202000000000186dd600000000021003f20010db800000000000000000000000120010db800000000000000000000010006000502000001009c4101bb000000050000000750182000517a000068656c6c6f',
  tcpV6Routing:
    '02000000000202000000000186dd6000000000343c4020010db800000000000000000000000120010db80000000000000000000001002b00010400000000060200010000000020010db80000000000000000000000050001000200000000000000005002200034680000',
  udpV4: '02000000000202000000000108004500002300010000051131a7c0a8010ac0a801c814e90035000fd56161626364656667',
  udpV6:
    '02000000000202000000000186dd60000000000b11fffe800000000000000000000000000001ff0200000000000000000000000000fb14e914e9000be50c78797a',
  sctpInitV4:
    '02000000000202000000000108004500003400010000408466410a0100010a0100020b590b59000000001ae9f7c101000014112233440000ffff000a000a00000001',
  icmpEchoV4: '02000000000202000000000108004500002000010000400166780a0000010a000064080006fa1234000170696e67',
  icmpv6EchoV6:
    '02000000000202000000000186dd6000000000083a4020010db800000000000000000000000120010db80000000000000000000001008000234700010002',
  arpRequest: 'ffffffffffff020000000001080600010800060400010200000000010a0000010000000000000a000064',
  fragFirstV4:
    '020000000002020000000001080045000044004d2000401145f80a0000010a000064045708ae006cfbca51515151515151515151515151515151515151515151515151515151515151515151515151515151',
  fragLaterV4:
    '020000000002020000000001080045000044004d2006401145f20a0000010a000064515151515151515151515151515151515151515151515151515151515151515151515151515151515151515151515151',
  fragFirstV6:
    '02000000000202000000000186dd6000000000282c4020010db800000000000000000000000120010db80000000000000000000001001100000100000009045708ae006cb3bc515151515151515151515151515151515151515151515151',
  fragLaterV6:
    '02000000000202000000000186dd6000000000282c4020010db800000000000000000000000120010db800000000000000000000010011000021000000095151515151515151515151515151515151515151515151515151515151515151',
  padded: '020000000002020000000001080045000028000100004006666b0a0000010a0000649c400050000000000000000050102000dedf0000000000000000',
  unknownEtherType:
    '02000000000202000000000188cc00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
} as const;
type VectorName = keyof typeof VECTORS;

function bytes(name: VectorName): Uint8Array {
  return new Uint8Array(Buffer.from(VECTORS[name], 'hex'));
}

function hexAt(buf: Uint8Array, off: number, n: number): string {
  return Buffer.from(buf.subarray(off, off + n)).toString('hex');
}

/** Every field of a ParsedFrame, as a plain record for deepEqual. */
function snapshot(pf: ParsedFrame): Record<string, number | boolean> {
  return { ...pf } as unknown as Record<string, number | boolean>;
}

const RESET = snapshot(new ParsedFrame());

/** Parses a whole vector and asserts the reason and the listed fields; other fields must be at their reset values. */
function expectParse(
  name: VectorName | Uint8Array,
  reason: DropReason,
  fields: Partial<Record<keyof ParsedFrame, number | boolean>>,
): ParsedFrame {
  const buf = typeof name === 'string' ? bytes(name) : name;
  const pf = new ParsedFrame();
  const got = parseFrame(buf, 0, buf.length, pf);
  assert.equal(DROP_REASON_NAMES[got], DROP_REASON_NAMES[reason]);
  const expected = { ...RESET, frameLen: buf.length, ...fields };
  assert.deepEqual(snapshot(pf), expected);
  return pf;
}

const OFFSET_FIELDS = ['l3Off', 'srcOff', 'dstOff', 'l4Off'] as const;

/**
 * Parses buf[0, len) twice: as an exact-length copy, and embedded at offset 7 of a larger
 * buffer whose other bytes are garbage. Same reason and same fields (offsets shifted by 7) prove
 * the parser read nothing outside [off, off+len).
 */
function parseBothWays(buf: Uint8Array, len: number, garbage: number): { reason: DropReason; pf: ParsedFrame } {
  const exact = buf.slice(0, len);
  const pf = new ParsedFrame();
  const reason = parseFrame(exact, 0, len, pf);
  const shift = 7;
  const big = new Uint8Array(len + 2 * shift + 64).fill(garbage);
  big.set(exact, shift);
  const pf2 = new ParsedFrame();
  const reason2 = parseFrame(big, shift, len, pf2);
  assert.equal(DROP_REASON_NAMES[reason2], DROP_REASON_NAMES[reason], `len ${len}`);
  const a = snapshot(pf);
  const b = snapshot(pf2);
  assert.equal(b.l2Off, shift);
  for (const f of OFFSET_FIELDS) if (a[f] !== 0) a[f] = (a[f] as number) + shift;
  a.l2Off = shift;
  assert.deepEqual(b, a, `len ${len}`);
  return { reason, pf };
}

/** What must hold whenever parseFrame accepts a frame. */
function assertAcceptedInvariants(pf: ParsedFrame): void {
  const end = pf.l2Off + pf.frameLen;
  assert.ok(pf.af === 4 || pf.af === 6);
  assert.ok(pf.l3Off >= pf.l2Off + 14);
  assert.ok(pf.l3Off + pf.ipTotalLen <= end);
  assert.equal(pf.l4Off, pf.l3Off + pf.ipHeaderLen);
  assert.equal(pf.l4Len, pf.ipTotalLen - pf.ipHeaderLen);
  assert.ok(pf.l4Len >= 0);
  const addrLen = pf.af === 4 ? 4 : 16;
  assert.ok(pf.srcOff >= pf.l3Off && pf.srcOff + addrLen <= pf.l4Off);
  assert.ok(pf.dstOff >= pf.l3Off && pf.dstOff + addrLen <= pf.l4Off);
  assert.notEqual(pf.fragment, 2);
  if (pf.proto === 6) assert.ok(pf.tcpHeaderLen >= 20 && pf.tcpHeaderLen <= pf.l4Len);
  if (pf.proto === 17) assert.ok(pf.l4Len >= 8);
  if (pf.proto === 132) assert.ok(pf.l4Len >= 12);
}

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

describe('wire parseFrame: well-formed frames (scapy vectors)', () => {
  it('IPv4 TCP SYN with options, DF set', () => {
    const pf = expectParse('tcpSynV4', DropReason.None, {
      etherType: 0x0800, l3Off: 14, af: 4, ipHeaderLen: 20, ipTotalLen: 60, proto: 6, ttl: 64, df: true,
      srcOff: 26, dstOff: 30, l4Off: 34, l4Len: 40, sport: 40000, dport: 80, tcpFlags: 0x02, tcpHeaderLen: 40,
    });
    const buf = bytes('tcpSynV4');
    assert.equal(hexAt(buf, pf.srcOff, 4), '0a000001');
    assert.equal(hexAt(buf, pf.dstOff, 4), '0a000064');
  });

  it('IPv4 TCP SYN behind one 802.1Q tag', () => {
    expectParse('tcpSynV4Vlan', DropReason.None, {
      vlanCount: 1, etherType: 0x0800, l3Off: 18, af: 4, ipHeaderLen: 20, ipTotalLen: 40, proto: 6, ttl: 64,
      srcOff: 30, dstOff: 34, l4Off: 38, l4Len: 20, sport: 40000, dport: 80, tcpFlags: 0x02, tcpHeaderLen: 20,
    });
  });

  it('IPv4 TCP SYN behind 802.1ad + 802.1Q tags (QinQ)', () => {
    expectParse('tcpSynV4QinQ', DropReason.None, {
      vlanCount: 2, etherType: 0x0800, l3Off: 22, af: 4, ipHeaderLen: 20, ipTotalLen: 40, proto: 6, ttl: 64,
      srcOff: 34, dstOff: 38, l4Off: 42, l4Len: 20, sport: 40000, dport: 80, tcpFlags: 0x02, tcpHeaderLen: 20,
    });
  });

  it('IPv4 with a record-route option (IHL 8) is skipped by IHL', () => {
    expectParse('tcpSynV4Options', DropReason.None, {
      etherType: 0x0800, l3Off: 14, af: 4, ipHeaderLen: 32, ipTotalLen: 52, proto: 6, ttl: 64,
      srcOff: 26, dstOff: 30, l4Off: 46, l4Len: 20, sport: 40000, dport: 80, tcpFlags: 0x02, tcpHeaderLen: 20,
    });
  });

  it('IPv6 TCP behind a hop-by-hop header', () => {
    const pf = expectParse('tcpV6HopByHop', DropReason.None, {
      etherType: 0x86dd, l3Off: 14, af: 6, ipHeaderLen: 48, ipTotalLen: 73, proto: 6, ttl: 63,
      srcOff: 22, dstOff: 38, l4Off: 62, l4Len: 25, sport: 40001, dport: 443, tcpFlags: 0x18, tcpHeaderLen: 20,
    });
    const buf = bytes('tcpV6HopByHop');
    assert.equal(hexAt(buf, pf.srcOff, 16), '20010db8000000000000000000000001');
    assert.equal(hexAt(buf, pf.dstOff, 16), '20010db8000000000000000000000100');
  });

  it('IPv6 TCP behind destination options and a routing header', () => {
    expectParse('tcpV6Routing', DropReason.None, {
      etherType: 0x86dd, l3Off: 14, af: 6, ipHeaderLen: 72, ipTotalLen: 92, proto: 6, ttl: 64,
      srcOff: 22, dstOff: 38, l4Off: 86, l4Len: 20, sport: 1, dport: 2, tcpFlags: 0x02, tcpHeaderLen: 20,
    });
  });

  it('UDP over IPv4 and IPv6', () => {
    expectParse('udpV4', DropReason.None, {
      etherType: 0x0800, l3Off: 14, af: 4, ipHeaderLen: 20, ipTotalLen: 35, proto: 17, ttl: 5,
      srcOff: 26, dstOff: 30, l4Off: 34, l4Len: 15, sport: 5353, dport: 53,
    });
    expectParse('udpV6', DropReason.None, {
      etherType: 0x86dd, l3Off: 14, af: 6, ipHeaderLen: 40, ipTotalLen: 51, proto: 17, ttl: 255,
      srcOff: 22, dstOff: 38, l4Off: 54, l4Len: 11, sport: 5353, dport: 5353,
    });
  });

  it('SCTP INIT: ports and first chunk type', () => {
    expectParse('sctpInitV4', DropReason.None, {
      etherType: 0x0800, l3Off: 14, af: 4, ipHeaderLen: 20, ipTotalLen: 52, proto: 132, ttl: 64,
      srcOff: 26, dstOff: 30, l4Off: 34, l4Len: 32, sport: 2905, dport: 2905, sctpChunk: 1,
    });
  });

  it('ICMP and ICMPv6 echo requests: type and code, no ports', () => {
    expectParse('icmpEchoV4', DropReason.None, {
      etherType: 0x0800, l3Off: 14, af: 4, ipHeaderLen: 20, ipTotalLen: 32, proto: 1, ttl: 64,
      srcOff: 26, dstOff: 30, l4Off: 34, l4Len: 12, icmpType: 8, icmpCode: 0,
    });
    expectParse('icmpv6EchoV6', DropReason.None, {
      etherType: 0x86dd, l3Off: 14, af: 6, ipHeaderLen: 40, ipTotalLen: 48, proto: 58, ttl: 64,
      srcOff: 22, dstOff: 38, l4Off: 54, l4Len: 8, icmpType: 128, icmpCode: 0,
    });
  });

  it('ARP request: Arp with the operation', () => {
    expectParse('arpRequest', DropReason.Arp, { etherType: 0x0806, l3Off: 14, arpOp: 1 });
  });

  it('IPv4 first fragment is parsed (UDP length beyond the fragment accepted); a later one is Fragment without ports', () => {
    expectParse('fragFirstV4', DropReason.None, {
      etherType: 0x0800, l3Off: 14, af: 4, ipHeaderLen: 20, ipTotalLen: 68, proto: 17, ttl: 64, fragment: 1,
      srcOff: 26, dstOff: 30, l4Off: 34, l4Len: 48, sport: 1111, dport: 2222,
    });
    expectParse('fragLaterV4', DropReason.Fragment, {
      etherType: 0x0800, l3Off: 14, af: 4, ipHeaderLen: 20, ipTotalLen: 68, proto: 17, ttl: 64, fragment: 2,
      srcOff: 26, dstOff: 30, l4Off: 34, l4Len: 48,
    });
  });

  it('IPv6 first and later fragments (fragment header)', () => {
    expectParse('fragFirstV6', DropReason.None, {
      etherType: 0x86dd, l3Off: 14, af: 6, ipHeaderLen: 48, ipTotalLen: 80, proto: 17, ttl: 64, fragment: 1,
      srcOff: 22, dstOff: 38, l4Off: 62, l4Len: 32, sport: 1111, dport: 2222,
    });
    expectParse('fragLaterV6', DropReason.Fragment, {
      etherType: 0x86dd, l3Off: 14, af: 6, ipHeaderLen: 48, ipTotalLen: 80, proto: 17, ttl: 64, fragment: 2,
      srcOff: 22, dstOff: 38, l4Off: 62, l4Len: 32,
    });
  });

  it('Ethernet padding past the IP total length is ignored', () => {
    expectParse('padded', DropReason.None, {
      etherType: 0x0800, l3Off: 14, af: 4, ipHeaderLen: 20, ipTotalLen: 40, proto: 6, ttl: 64,
      srcOff: 26, dstOff: 30, l4Off: 34, l4Len: 20, sport: 40000, dport: 80, tcpFlags: 0x10, tcpHeaderLen: 20,
    });
  });

  it('unknown EtherType (LLDP)', () => {
    expectParse('unknownEtherType', DropReason.UnknownEtherType, { etherType: 0x88cc, l3Off: 14 });
  });

  it('a frame in the middle of a larger buffer gets absolute offsets', () => {
    const frame = bytes('udpV4');
    const big = new Uint8Array(200).fill(0xee);
    big.set(frame, 100);
    const pf = new ParsedFrame();
    assert.equal(parseFrame(big, 100, frame.length, pf), DropReason.None);
    assert.equal(pf.l2Off, 100);
    assert.equal(pf.l3Off, 114);
    assert.equal(pf.l4Off, 134);
    assert.equal(pf.frameLen, frame.length);
  });

  it('re-parsing into a used ParsedFrame resets what does not apply', () => {
    const pf = new ParsedFrame();
    assert.equal(parseFrame(bytes('tcpSynV4Vlan'), 0, 58, pf), DropReason.None);
    assert.equal(parseFrame(bytes('icmpEchoV4'), 0, 46, pf), DropReason.None);
    assert.equal(pf.vlanCount, 0);
    assert.equal(pf.sport, 0);
    assert.equal(pf.tcpFlags, 0);
    assert.equal(pf.tcpHeaderLen, 0);
    assert.equal(pf.icmpType, 8);
    assert.equal(parseFrame(bytes('arpRequest'), 0, 42, pf), DropReason.Arp);
    assert.deepEqual(snapshot(pf), { ...RESET, frameLen: 42, etherType: 0x0806, l3Off: 14, arpOp: 1 });
    resetParsedFrame(pf);
    assert.deepEqual(snapshot(pf), RESET);
  });
});

/** A copy of a vector with a mutation; the IPv4 header checksum is recomputed unless told not to. */
function mutated(name: VectorName, edit: (b: Uint8Array) => void, fixIpChecksum = true): Uint8Array {
  const b = bytes(name);
  edit(b);
  let t = 12;
  while ((b[t] === 0x81 && b[t + 1] === 0x00) || (b[t] === 0x88 && b[t + 1] === 0xa8)) t += 4;
  if (fixIpChecksum && b[t] === 0x08 && b[t + 1] === 0x00 && b[t + 2] >>> 4 === 4 && (b[t + 2] & 15) >= 5) {
    setIpv4HeaderChecksum(b, t + 2);
  }
  return b;
}

function reasonOf(buf: Uint8Array, len = buf.length): string {
  return DROP_REASON_NAMES[parseFrame(buf, 0, len, new ParsedFrame())];
}

describe('wire parseFrame: malformed frames', () => {
  it('Ethernet and VLAN tags cut short', () => {
    assert.equal(reasonOf(bytes('tcpSynV4'), 13), 'truncated-ethernet');
    assert.equal(reasonOf(bytes('tcpSynV4Vlan'), 17), 'truncated-ethernet');
    assert.equal(reasonOf(bytes('tcpSynV4QinQ'), 21), 'truncated-ethernet');
    assert.equal(reasonOf(new Uint8Array(0)), 'truncated-ethernet');
  });

  it('a VLAN tag followed by an unknown EtherType', () => {
    const b = mutated('tcpSynV4Vlan', (x) => { x[16] = 0x88; x[17] = 0xcc; });
    expectParse(b, DropReason.UnknownEtherType, { vlanCount: 1, etherType: 0x88cc, l3Off: 18 });
  });

  it('ARP cut short is TruncatedEthernet without arpOp', () => {
    expectParse(bytes('arpRequest').slice(0, 41), DropReason.TruncatedEthernet, { etherType: 0x0806, l3Off: 14 });
  });

  it('bad IP version', () => {
    assert.equal(reasonOf(mutated('tcpSynV4', (x) => { x[14] = 0x55; })), 'bad-ip-version');
    assert.equal(reasonOf(mutated('udpV6', (x) => { x[14] = 0x40; })), 'bad-ip-version');
    // IPv6 bytes under the IPv4 EtherType
    assert.equal(reasonOf(mutated('udpV6', (x) => { x[12] = 0x08; x[13] = 0x00; }, false)), 'bad-ip-version');
  });

  it('bad IHL: below 5, or beyond the captured bytes', () => {
    assert.equal(reasonOf(mutated('tcpSynV4', (x) => { x[14] = 0x44; }, false)), 'bad-ip-header-length');
    assert.equal(reasonOf(mutated('tcpSynV4', (x) => { x[14] = 0x40; }, false)), 'bad-ip-header-length');
    assert.equal(reasonOf(mutated('udpV4', (x) => { x[14] = 0x4f; }, false)), 'truncated-ip');
  });

  it('bad total length: below IHL*4, or beyond the captured bytes', () => {
    assert.equal(reasonOf(mutated('tcpSynV4', (x) => { x[16] = 0; x[17] = 19; })), 'bad-ip-total-length');
    assert.equal(reasonOf(mutated('tcpSynV4', (x) => { x[16] = 0; x[17] = 61; })), 'bad-ip-total-length');
    assert.equal(reasonOf(mutated('tcpSynV4Options', (x) => { x[16] = 0; x[17] = 31; })), 'bad-ip-total-length');
    assert.equal(reasonOf(mutated('udpV6', (x) => { x[19] = 12; })), 'bad-ip-total-length');
  });

  it('bad IPv4 header checksum', () => {
    assert.equal(reasonOf(mutated('tcpSynV4', (x) => { x[24] ^= 0x01; }, false)), 'bad-ip-checksum');
    assert.equal(reasonOf(mutated('tcpSynV4', (x) => { x[22] = 63; }, false)), 'bad-ip-checksum');
    assert.equal(reasonOf(mutated('tcpSynV4Options', (x) => { x[40] ^= 0x80; }, false)), 'bad-ip-checksum');
    // The same change with a recomputed checksum is fine.
    assert.equal(reasonOf(mutated('tcpSynV4', (x) => { x[22] = 63; })), 'none');
  });

  it('IPv6 extension headers: past the payload, hop-by-hop not first, two fragment headers', () => {
    // hop-by-hop length 1 (16 bytes): runs into the TCP header but still fits; length 9 does not.
    assert.equal(reasonOf(mutated('tcpV6HopByHop', (x) => { x[55] = 9; })), 'bad-ipv6-extension-header');
    // payload length shortened so that the hop-by-hop header does not fit
    assert.equal(reasonOf(mutated('tcpV6HopByHop', (x) => { x[18] = 0; x[19] = 7; })), 'bad-ipv6-extension-header');
    // destination options now says "next: hop-by-hop"
    assert.equal(reasonOf(mutated('tcpV6Routing', (x) => { x[54] = 0; })), 'bad-ipv6-extension-header');
    // fragment header now says "next: fragment": the UDP header is read as a second one
    assert.equal(reasonOf(mutated('fragFirstV6', (x) => { x[54] = 44; })), 'bad-ipv6-extension-header');
    // payload length 0 with extension headers present
    assert.equal(reasonOf(mutated('tcpV6HopByHop', (x) => { x[18] = 0; x[19] = 0; })), 'bad-ipv6-extension-header');
  });

  it('IPv6 atomic fragment (offset 0, no M) is a whole packet: its UDP length must then fit', () => {
    const b = mutated('fragFirstV6', (x) => { x[57] = 0x00; });
    expectParse(b, DropReason.BadTransportHeader, {
      etherType: 0x86dd, l3Off: 14, af: 6, ipHeaderLen: 48, ipTotalLen: 80, proto: 17, ttl: 64,
      srcOff: 22, dstOff: 38, l4Off: 62, l4Len: 32,
    });
  });

  it('AH / No Next Header end the chain and become the protocol', () => {
    const b = mutated('tcpV6HopByHop', (x) => { x[54] = 51; });
    const pf = expectParse(b, DropReason.None, {
      etherType: 0x86dd, l3Off: 14, af: 6, ipHeaderLen: 48, ipTotalLen: 73, proto: 51, ttl: 63,
      srcOff: 22, dstOff: 38, l4Off: 62, l4Len: 25,
    });
    assert.equal(pf.sport, 0);
    assert.equal(reasonOf(mutated('udpV6', (x) => { x[20] = 59; })), 'none');
  });

  it('TCP: segment shorter than 20 bytes, data offset below 20 or past the segment', () => {
    assert.equal(reasonOf(mutated('tcpSynV4Vlan', (x) => { x[20] = 0; x[21] = 39; })), 'truncated-transport');
    assert.equal(reasonOf(mutated('tcpSynV4Vlan', (x) => { x[50] = 0x40; })), 'bad-transport-header');
    assert.equal(reasonOf(mutated('tcpSynV4Vlan', (x) => { x[50] = 0x60; })), 'bad-transport-header');
    assert.equal(reasonOf(mutated('tcpSynV4', (x) => { x[46] = 0xf0; })), 'bad-transport-header');
  });

  it('UDP: length field below 8 or past the datagram; datagram shorter than 8', () => {
    assert.equal(reasonOf(mutated('udpV4', (x) => { x[39] = 7; })), 'bad-transport-header');
    assert.equal(reasonOf(mutated('udpV4', (x) => { x[39] = 16; })), 'bad-transport-header');
    assert.equal(reasonOf(mutated('udpV4', (x) => { x[39] = 8; })), 'none');
    assert.equal(reasonOf(mutated('udpV4', (x) => { x[17] = 27; })), 'truncated-transport');
    assert.equal(reasonOf(mutated('udpV6', (x) => { x[59] = 12; })), 'bad-transport-header');
  });

  it('SCTP: common header needed; first chunk type only when 4 chunk bytes are there', () => {
    assert.equal(reasonOf(mutated('sctpInitV4', (x) => { x[17] = 31; })), 'truncated-transport');
    const noChunk = mutated('sctpInitV4', (x) => { x[17] = 35; });
    assert.equal(reasonOf(noChunk), 'none');
    const pf = new ParsedFrame();
    parseFrame(noChunk, 0, noChunk.length, pf);
    assert.equal(pf.sctpChunk, -1);
    assert.equal(pf.sport, 2905);
    const chunk = mutated('sctpInitV4', (x) => { x[17] = 36; });
    parseFrame(chunk, 0, chunk.length, pf);
    assert.equal(pf.sctpChunk, 1);
  });

  it('ICMP shorter than 4 bytes; ICMP protocol number inside IPv6 is not ICMPv6', () => {
    assert.equal(reasonOf(mutated('icmpEchoV4', (x) => { x[17] = 23; })), 'truncated-transport');
    assert.equal(reasonOf(mutated('icmpEchoV4', (x) => { x[17] = 24; })), 'none');
    const b = mutated('icmpv6EchoV6', (x) => { x[20] = 1; });
    const pf = new ParsedFrame();
    assert.equal(parseFrame(b, 0, b.length, pf), DropReason.None);
    assert.equal(pf.proto, 1);
    assert.equal(pf.icmpType, -1);
  });

  it('other transport protocols are passed on with proto set and no ports', () => {
    const b = mutated('udpV4', (x) => { x[23] = 47; });
    expectParse(b, DropReason.None, {
      etherType: 0x0800, l3Off: 14, af: 4, ipHeaderLen: 20, ipTotalLen: 35, proto: 47, ttl: 5,
      srcOff: 26, dstOff: 30, l4Off: 34, l4Len: 15,
    });
  });

  it('invalid arguments never throw: negative offset, offset past the end, length past the end (clamped)', () => {
    const b = bytes('udpV4');
    const pf = new ParsedFrame();
    assert.equal(parseFrame(b, -1, 10, pf), DropReason.TruncatedEthernet);
    assert.equal(parseFrame(b, b.length + 1, 0, pf), DropReason.TruncatedEthernet);
    assert.equal(parseFrame(b, 0, Number.NaN, pf), DropReason.TruncatedEthernet);
    assert.equal(parseFrame(b, 0, b.length + 100, pf), DropReason.None);
    assert.equal(pf.frameLen, b.length);
  });
});

describe('wire parseFrame: every truncation of every vector', () => {
  for (const name of Object.keys(VECTORS) as VectorName[]) {
    it(`${name}: each length 0..len-1 gives a drop or the same result as the whole frame`, () => {
      const buf = bytes(name);
      const whole = new ParsedFrame();
      const wholeReason = parseFrame(buf, 0, buf.length, whole);
      // The packet ends at the IP total length (padding after it does not matter); ARP at its 28 bytes.
      const packetEnd = whole.af !== 0 ? whole.l3Off + whole.ipTotalLen : whole.etherType === 0x0806 ? whole.l3Off + 28 : 14;
      for (let len = 0; len < buf.length; len++) {
        for (const garbage of [0x00, 0xff, 0x45]) {
          const { reason, pf } = parseBothWays(buf, len, garbage);
          if (len >= packetEnd) {
            assert.equal(reason, wholeReason, `len ${len}`);
            assert.deepEqual(snapshot(pf), { ...snapshot(whole), frameLen: len }, `len ${len}`);
            continue;
          }
          assert.notEqual(reason, DropReason.None, `len ${len} accepted`);
          const avail = len - whole.l3Off;
          let expected: DropReason;
          if (len < whole.l3Off) expected = DropReason.TruncatedEthernet;
          else if (whole.af === 4) expected = avail < whole.ipHeaderLen ? DropReason.TruncatedIp : DropReason.BadIpTotalLength;
          else if (whole.af === 6) expected = avail < 40 ? DropReason.TruncatedIp : DropReason.BadIpTotalLength;
          else expected = DropReason.TruncatedEthernet; // ARP cut short
          assert.equal(DROP_REASON_NAMES[reason], DROP_REASON_NAMES[expected], `len ${len}`);
        }
      }
    });
  }
});

describe('wire parseFrame: random mutations never throw and stay consistent', () => {
  it('20000 mutated frames (seeded), each also parsed embedded in garbage', () => {
    const rnd = mulberry32(0x5eed1);
    const names = Object.keys(VECTORS) as VectorName[];
    const seen = new Set<DropReason>();
    for (let i = 0; i < 20000; i++) {
      const buf = bytes(names[Math.floor(rnd() * names.length)]);
      const flips = 1 + Math.floor(rnd() * 4);
      for (let f = 0; f < flips; f++) {
        // Bias mutations towards the headers, where they matter.
        const pos = Math.floor(rnd() * Math.min(buf.length, rnd() < 0.8 ? 70 : buf.length));
        buf[pos] = rnd() < 0.5 ? buf[pos] ^ (1 << Math.floor(rnd() * 8)) : Math.floor(rnd() * 256);
      }
      if (rnd() < 0.7 && buf[12] === 0x08 && buf[13] === 0x00 && (buf[14] & 15) >= 5 && buf.length >= 14 + (buf[14] & 15) * 4) {
        setIpv4HeaderChecksum(buf, 14);
      }
      const len = rnd() < 0.2 ? Math.floor(rnd() * buf.length) : buf.length;
      const { reason, pf } = parseBothWays(buf, len, Math.floor(rnd() * 256));
      seen.add(reason);
      if (reason === DropReason.None) assertAcceptedInvariants(pf);
    }
    // The mutations reached deep into the parser, not just its first checks.
    for (const r of [DropReason.None, DropReason.BadIpChecksum, DropReason.BadTransportHeader, DropReason.BadIpv6ExtensionHeader]) {
      assert.ok(seen.has(r), DROP_REASON_NAMES[r]);
    }
  });

  it('random bytes never throw', () => {
    const rnd = mulberry32(42);
    const buf = new Uint8Array(128);
    const pf = new ParsedFrame();
    for (let i = 0; i < 20000; i++) {
      for (let j = 0; j < buf.length; j++) buf[j] = Math.floor(rnd() * 256);
      // Give the random bytes a chance to be IP.
      const type = Math.floor(rnd() * 4);
      if (type === 1) { buf[12] = 0x08; buf[13] = 0x00; buf[14] = 0x40 | (buf[14] & 15); }
      if (type === 2) { buf[12] = 0x86; buf[13] = 0xdd; buf[14] = 0x60; }
      const len = Math.floor(rnd() * 129);
      if (parseFrame(buf, 0, len, pf) === DropReason.None) assertAcceptedInvariants(pf);
    }
  });
});
