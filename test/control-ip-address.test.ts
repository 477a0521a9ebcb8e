import assert from 'node:assert/strict';
import {
  formatMac,
  hasHostBits,
  HOST_NAMES_NOT_RESOLVED,
  ipEquals,
  ipFromBytes,
  ipv4FromNumber,
  ipWord,
  networkOf,
  parseInetAton,
  parseIp,
  parseIpv4,
  parseIpv6,
  parseMac,
  parsePrefix,
  tryParseIp,
} from '../src/control/ip-address';

const v6text = (t: string): string | undefined => parseIpv6(t)?.text;

describe('control/ip-address', () => {
  describe('IPv4', () => {
    it('parses dotted quads into network-order bytes', () => {
      const a = parseIpv4('192.168.1.200');
      assert.ok(a);
      assert.equal(a.af, 4);
      assert.deepEqual([...a.bytes], [192, 168, 1, 200]);
      assert.equal(a.text, '192.168.1.200');
      assert.equal(ipWord(a), 0xc0a801c8);
    });
    it('refuses anything but four decimal numbers 0..255 without leading zeros', () => {
      for (const bad of ['1.2.3', '1.2.3.4.5', '1.2.3.256', '01.2.3.4', '1.2.3.-4', '1.2.3.4 ', 'a.b.c.d', '', '1..3.4', '0x1.2.3.4']) {
        assert.equal(parseIpv4(bad), null, bad);
      }
      assert.equal(parseIpv4('0.0.0.0')?.text, '0.0.0.0');
      assert.equal(parseIpv4('255.255.255.255')?.text, '255.255.255.255');
    });
    it('builds addresses from host-order numbers', () => {
      assert.equal(ipv4FromNumber(0x0a000001).text, '10.0.0.1');
      assert.equal(ipv4FromNumber(0xffffffff).text, '255.255.255.255');
    });
  });

  describe('IPv6', () => {
    it('parses every RFC 4291 text form to the same bytes', () => {
      const forms = ['2001:db8:0:0:0:0:0:1', '2001:DB8::1', '2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8:0::0:1'];
      const first = parseIpv6(forms[0]);
      assert.ok(first);
      for (const f of forms) assert.ok(ipEquals(parseIpv6(f) ?? ipv4FromNumber(0), first), f);
      assert.equal(parseIpv6('::')?.bytes.every((b) => b === 0), true);
      assert.deepEqual([...(parseIpv6('::ffff:1.2.3.4')?.bytes ?? [])], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 1, 2, 3, 4]);
      assert.equal(parseIpv6('1:2:3:4:5:6:7::')?.text, '1:2:3:4:5:6:7:0');
      assert.equal(parseIpv6('::2:3:4:5:6:7:8')?.text, '0:2:3:4:5:6:7:8');
    });
    it('refuses malformed text', () => {
      for (const bad of [
        '', ':', ':::', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', ':1::2', '1::2:', '12345::', 'g::1',
        '1:2:3:4:5:6:7:8::', '::1.2.3', '::1.2.3.4:5', 'fe80::1%eth0', '::01.2.3.4', '1:2:3:4:5:6:7:1.2.3.4',
      ]) {
        assert.equal(parseIpv6(bad), null, bad);
      }
    });
    it('prints canonical text as inet_ntop does', () => {
      const cases: [string, string][] = [
        ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
        ['0:0:0:0:0:0:0:0', '::'],
        ['0:0:0:0:0:0:0:1', '::1'],
        ['1:0:0:0:0:0:0:0', '1::'],
        ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'], // a single zero group is not compressed
        ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // the longest run wins
        ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // on a tie, the first
        ['::ffff:10.1.2.3', '::ffff:10.1.2.3'], // v4-mapped keeps its dotted tail
        ['::ffff:0:0', '::ffff:0.0.0.0'],
        ['::1.2.3.4', '::1.2.3.4'], // v4-compatible (first 96 bits zero, 7th group non-zero)
        ['::0.0.1.2', '::102'],
        ['0:0:0:0:0:1:0:0', '::1:0:0'],
        ['fe80::aBcD', 'fe80::abcd'],
      ];
      for (const [input, text] of cases) assert.equal(v6text(input), text, input);
    });
    it('round-trips canonical text', () => {
      for (const t of ['2001:db8::1', '::', '::ffff:1.2.3.4', 'ff02::1:ff00:1', '1:2:3:4:5:6:7:8']) {
        const a = parseIpv6(t);
        assert.ok(a);
        assert.equal(ipFromBytes(a.bytes).text, t);
      }
    });
  });

  describe('parseIp', () => {
    it('takes either family and refuses names with the uvs message', () => {
      assert.equal(parseIp('10.0.0.1').af, 4);
      assert.equal(parseIp('2001:db8::1').af, 6);
      assert.throws(() => parseIp('web1.example.com'), (e: Error) => e.message.includes(HOST_NAMES_NOT_RESOLVED));
      assert.throws(() => parseIp('localhost'), (e: Error) => e.message.includes(HOST_NAMES_NOT_RESOLVED));
      assert.throws(() => parseIp('1.2.3.999'), /not an IPv4 or IPv6 address/);
      assert.equal(tryParseIp('nope'), null);
    });
  });

  describe('inet_aton (ipvsadm host syntax)', () => {
    it('accepts the legacy forms', () => {
      const cases: [string, number][] = [
        ['10.0.0.1', 0x0a000001],
        ['10.1', 0x0a000001],
        ['1.2.65535', 0x0102ffff],
        ['4294967295', 0xffffffff],
        ['0x0a.1', 0x0a000001],
        ['010.0.0.1', 0x08000001],
        ['0xffffff00', 0xffffff00],
        ['1.2.3.4 trailing', 0x01020304],
      ];
      for (const [t, v] of cases) assert.equal(parseInetAton(t), v, t);
    });
    it('refuses what inet_aton refuses', () => {
      for (const bad of ['1.2.3.256', '08.1.1.1', '1.2.3.4.', '1.2.3.4.5', '4294967296', '1.16777216', '0x', 'a', '', ' 1.2.3.4', '1.2.3.4x']) {
        assert.equal(parseInetAton(bad), null, bad);
      }
    });
  });

  describe('prefixes', () => {
    it('parses ADDR/PLEN and checks the length against the family', () => {
      const p = parsePrefix('10.0.0.0/24');
      assert.equal(p.addr.text, '10.0.0.0');
      assert.equal(p.prefixLen, 24);
      assert.equal(parsePrefix('2001:db8::/32').prefixLen, 32);
      assert.equal(parsePrefix('10.0.0.1').prefixLen, 32);
      assert.equal(parsePrefix('::1').prefixLen, 128);
      assert.throws(() => parsePrefix('10.0.0.0/33'), /bad prefix length "33"/);
      assert.throws(() => parsePrefix('2001:db8::/129'), /bad prefix length "129"/);
      assert.throws(() => parsePrefix('10.0.0.0/'), /bad prefix length/);
      assert.throws(() => parsePrefix('10.0.0.0/024'), /bad prefix length/);
      assert.throws(() => parsePrefix('10.0.0.0/x'), /bad prefix length/);
    });
    it('finds host bits and the network', () => {
      assert.equal(hasHostBits(parseIp('10.0.0.1'), 24), true);
      assert.equal(hasHostBits(parseIp('10.0.0.0'), 24), false);
      assert.equal(hasHostBits(parseIp('10.0.0.128'), 25), false);
      assert.equal(hasHostBits(parseIp('10.0.0.128'), 24), true);
      assert.equal(networkOf(parseIp('10.1.2.3'), 12).text, '10.0.0.0');
      assert.equal(networkOf(parseIp('2001:db8:1:2::5'), 48).text, '2001:db8:1::');
      assert.equal(hasHostBits(parseIp('0.0.0.0'), 0), false);
      assert.equal(hasHostBits(parseIp('2001:db8::'), 32), false);
    });
  });

  describe('MAC', () => {
    it('parses and formats six hex pairs', () => {
      const m = parseMac('02:AA:bb:0c:dd:ee');
      assert.ok(m);
      assert.deepEqual([...m], [2, 0xaa, 0xbb, 0x0c, 0xdd, 0xee]);
      assert.equal(formatMac(m), '02:aa:bb:0c:dd:ee');
      for (const bad of ['02:aa:bb:cc:dd', '02:aa:bb:cc:dd:ee:ff', '2:aa:bb:cc:dd:ee', '02-aa-bb-cc-dd-ee', '02:aa:bb:cc:dd:eg', '']) {
        assert.equal(parseMac(bad), null, bad);
      }
    });
  });
});
