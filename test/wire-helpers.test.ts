/**
 * The thin per-protocol helpers: byte access, MACs, IPv4/IPv6 header writers (against headers
 * scapy 2.5.0 built), the TCP option walk, address folding and address helpers.
 */
import assert from 'node:assert/strict';
import { bytesEqual, copyBytes, fillBytes, readU32, writeU32 } from '../src/wire/bytes';
import {
  formatMac,
  isMulticastMac,
  macToNumber,
  parseMac,
  readMac,
  writeEthernetHeader,
  writeMac,
} from '../src/wire/ethernet';
import { ipv4HeaderLen, ipv4TotalLen, writeIpv4Header } from '../src/wire/ipv4';
import { ipv6PayloadLen, ipv6TrafficClass, writeIpv6Header } from '../src/wire/ipv6';
import {
  findTcpOption,
  tcpHeaderLen,
  TCPOPT_MSS,
  TCPOPT_NOP,
  TCPOPT_SACK_PERM,
  TCPOPT_TIMESTAMP,
  TCPOPT_TOA,
  TCPOPT_WSCALE,
} from '../src/wire/tcp';
import { foldAddress, foldAddressWords } from '../src/wire/fold';
import { addrEquals, addrEqualsWords, addrLen, copyAddr, readAddrWords, writeAddrWords } from '../src/wire/address';
import { isIcmpRelayedError, isIcmpv6Error } from '../src/wire/icmp';
import { ipv4HeaderChecksumOk } from '../src/wire/checksum';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// scapy: Ether(**M)/IP(src='10.0.0.1', dst='10.0.0.100', ttl=64, id=1, flags='DF')/TCP(sport=40000, dport=80, flags='S',
// seq=1000, options=[('MSS',1460),('NOP',None),('WScale',7),('SAckOK',b''),('Timestamp',(1,0))]); TCP at 34, 40-byte header.
const TCP_SYN_V4 = hex(
  '02000000000202000000000108004500003c00014000400626570a0000010a0000649c400050000003e800000000a002200073220000020405b4010303070402080a0000000100000000',
);

describe('wire bytes', () => {
  it('readU32 is unsigned big-endian; writeU32 stores it back', () => {
    const b = hex('deadbeef0a000001');
    assert.equal(readU32(b, 0), 0xdeadbeef);
    assert.equal(readU32(b, 4), 0x0a000001);
    const c = new Uint8Array(4);
    writeU32(c, 0, 0xfedcba98);
    assert.equal(toHex(c), 'fedcba98');
    writeU32(c, 0, -1);
    assert.equal(toHex(c), 'ffffffff');
  });

  it('copyBytes between buffers and overlapping within one (both directions)', () => {
    const dst = new Uint8Array(6);
    copyBytes(hex('0102030405'), 1, dst, 2, 3);
    assert.equal(toHex(dst), '000002030400');
    const fwd = hex('0102030405060708');
    copyBytes(fwd, 0, fwd, 2, 5);
    assert.equal(toHex(fwd), '0102010203040508');
    const back = hex('0102030405060708');
    copyBytes(back, 2, back, 0, 5);
    assert.equal(toHex(back), '0304050607060708');
  });

  it('bytesEqual and fillBytes', () => {
    assert.ok(bytesEqual(hex('aabbcc'), 1, hex('00bbcc'), 1, 2));
    assert.ok(!bytesEqual(hex('aabbcc'), 0, hex('00bbcc'), 0, 3));
    assert.ok(bytesEqual(hex('aa'), 0, hex('bb'), 0, 0));
    const f = new Uint8Array(5);
    fillBytes(f, 1, 3, 0x7f);
    assert.equal(toHex(f), '007f7f7f00');
  });
});

describe('wire ethernet', () => {
  it('readMac / writeMac / writeEthernetHeader', () => {
    const mac = new Uint8Array(6);
    readMac(TCP_SYN_V4, 6, mac);
    assert.equal(toHex(mac), '020000000001');
    const frame = new Uint8Array(14);
    writeEthernetHeader(frame, 0, hex('aabbccddeeff'), mac, 0x86dd);
    assert.equal(toHex(frame), 'aabbccddeeff02000000000186dd');
    const out = new Uint8Array(8);
    writeMac(out, 1, hex('00112233445566'), 1);
    assert.equal(toHex(out), '0011223344556600');
  });

  it('macToNumber, isMulticastMac, formatMac, parseMac', () => {
    assert.equal(macToNumber(hex('ffffffffffff'), 0), 2 ** 48 - 1);
    assert.equal(macToNumber(hex('020000000001'), 0), 0x020000000001);
    assert.ok(isMulticastMac(hex('01005e000001'), 0));
    assert.ok(!isMulticastMac(hex('020000000001'), 0));
    assert.equal(formatMac(hex('0a1b2c3d4e5f')), '0a:1b:2c:3d:4e:5f');
    const m = new Uint8Array(6);
    assert.ok(parseMac('0A-1b-2c-3d-4e-5F', m));
    assert.equal(toHex(m), '0a1b2c3d4e5f');
    assert.ok(!parseMac('0a:1b:2c:3d:4e', m));
    assert.ok(!parseMac('0a:1b:2c:3d:4e:zz', m));
    assert.ok(!parseMac('0a:1b:2c:3d:4e:5f0', m));
    assert.equal(toHex(m), '0a1b2c3d4e5f');
  });
});

describe('wire ipv4 / ipv6 header writers', () => {
  it('writeIpv4Header equals scapy IP(tos=0x10, len=100, id=0x1234, flags=DF, ttl=64, proto=4, 192.0.2.1 -> 198.51.100.7)', () => {
    const b = new Uint8Array(22).fill(0xee);
    writeIpv4Header(b, 1, 0x10, 100, 0x1234, 0x4000, 64, 4, hex('c0000201'), 0, hex('00c6336407'), 1);
    assert.equal(toHex(b.subarray(1, 21)), '451000641234400040043c16c0000201c6336407');
    assert.equal(b[0], 0xee);
    assert.equal(b[21], 0xee);
    assert.ok(ipv4HeaderChecksumOk(b, 1, 20));
    assert.equal(ipv4HeaderLen(b, 1), 20);
    assert.equal(ipv4TotalLen(b, 1), 100);
  });

  it('writeIpv6Header equals scapy IPv6(tc=0xb8, fl=0x12345, plen=60, nh=41, hlim=64)', () => {
    const b = new Uint8Array(40);
    const src = hex('20010db8000000000000000000000001');
    const dst = hex('20010db8000100020003000400050006');
    writeIpv6Header(b, 0, 0xb8, 0x12345, 60, 41, 64, src, 0, dst, 0);
    assert.equal(toHex(b), '6b812345003c294020010db800000000000000000000000120010db8000100020003000400050006');
    assert.equal(ipv6TrafficClass(b, 0), 0xb8);
    assert.equal(ipv6PayloadLen(b, 0), 60);
  });
});

describe('wire tcp options', () => {
  const L4 = 34;
  it('finds each option of the scapy SYN at its offset', () => {
    assert.equal(tcpHeaderLen(TCP_SYN_V4, L4), 40);
    assert.equal(findTcpOption(TCP_SYN_V4, L4, 40, TCPOPT_MSS), L4 + 20);
    assert.equal(findTcpOption(TCP_SYN_V4, L4, 40, TCPOPT_NOP), L4 + 24);
    assert.equal(findTcpOption(TCP_SYN_V4, L4, 40, TCPOPT_WSCALE), L4 + 25);
    assert.equal(findTcpOption(TCP_SYN_V4, L4, 40, TCPOPT_SACK_PERM), L4 + 28);
    assert.equal(findTcpOption(TCP_SYN_V4, L4, 40, TCPOPT_TIMESTAMP), L4 + 30);
    assert.equal(findTcpOption(TCP_SYN_V4, L4, 40, TCPOPT_TOA), -1);
  });

  it('no options, End of List, malformed lengths, an option running past the header', () => {
    assert.equal(findTcpOption(TCP_SYN_V4, L4, 20, TCPOPT_MSS), -1);
    const opts = (o: string): Uint8Array => hex('00'.repeat(20) + o);
    assert.equal(findTcpOption(opts('0000000002040000'), 0, 28, TCPOPT_MSS), -1); // after EOL
    assert.equal(findTcpOption(opts('0301000002040000'), 0, 28, TCPOPT_MSS), -1); // length 1
    assert.equal(findTcpOption(opts('0300000002040000'), 0, 28, TCPOPT_MSS), -1); // length 0
    assert.equal(findTcpOption(opts('01010101080c0000'), 0, 28, TCPOPT_TIMESTAMP), -1); // past the header
    assert.equal(findTcpOption(opts('0101010101010102'), 0, 28, TCPOPT_MSS), -1); // kind in the last byte
    assert.equal(findTcpOption(opts('0101fe0800509a0a0000010101010101'), 0, 36, TCPOPT_TOA), 22);
  });
});

describe('wire fold and address helpers', () => {
  it('foldAddress: IPv4 as host-order u32, IPv6 as XOR of its words (unsigned)', () => {
    assert.equal(foldAddress(hex('0a000001'), 0, 4), 0x0a000001);
    assert.equal(foldAddress(hex('ff0000fe'), 0, 4), 0xff0000fe);
    // 0x20010db8 ^ 0x00010002 ^ 0x00030004 ^ 0x00050006
    assert.equal(foldAddress(hex('20010db8000100020003000400050006'), 0, 6), 0x20060db8);
    assert.equal(foldAddress(hex('ffffffff000000000000000000000000'), 0, 6), 0xffffffff);
  });

  it('words layout: read, write, compare, fold', () => {
    const words = new Uint32Array(8).fill(0xdead);
    readAddrWords(hex('0a000001'), 0, 4, words, 0);
    assert.deepEqual([...words.subarray(0, 4)], [0x0a000001, 0, 0, 0]);
    const v6 = hex('20010db8000100020003000400050006');
    readAddrWords(v6, 0, 6, words, 4);
    assert.deepEqual([...words.subarray(4, 8)], [0x20010db8, 0x00010002, 0x00030004, 0x00050006]);
    assert.equal(foldAddressWords(words, 4, 6), 0x20060db8);
    assert.equal(foldAddressWords(words, 0, 4), 0x0a000001);
    assert.ok(addrEqualsWords(v6, 0, 6, words, 4));
    assert.ok(addrEqualsWords(hex('0a000001'), 0, 4, words, 0));
    assert.ok(!addrEqualsWords(hex('0a000002'), 0, 4, words, 0));
    const back = new Uint8Array(16);
    writeAddrWords(words, 4, 6, back, 0);
    assert.deepEqual(back, v6);
  });

  it('addrLen, addrEquals, copyAddr', () => {
    assert.equal(addrLen(4), 4);
    assert.equal(addrLen(6), 16);
    const a = hex('0a0000010a000001');
    assert.ok(addrEquals(a, 0, a, 4, 4));
    const v6 = hex('20010db8000100020003000400050006');
    const d = new Uint8Array(17);
    copyAddr(v6, 0, d, 1, 6);
    assert.ok(addrEquals(v6, 0, d, 1, 6));
    d[16] ^= 1;
    assert.ok(!addrEquals(v6, 0, d, 1, 6));
    assert.ok(addrEquals(v6, 0, d, 1, 4)); // IPv4 compares 4 bytes only
  });
});

describe('wire icmp classification', () => {
  it('ICMPv4 errors IPVS relays are 3, 4 and 11; ICMPv6 errors are below 128', () => {
    const relayed = [];
    for (let t = 0; t < 256; t++) if (isIcmpRelayedError(t)) relayed.push(t);
    assert.deepEqual(relayed, [3, 4, 11]);
    assert.ok(isIcmpv6Error(1) && isIcmpv6Error(2) && isIcmpv6Error(127));
    assert.ok(!isIcmpv6Error(128) && !isIcmpv6Error(135));
  });
});
