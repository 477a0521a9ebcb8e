import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { describeFrameDifference, frameFields, ipv6Address } from './support/frame-diff';
import { tsharkAvailable, tsharkChecksumProblems } from './support/tshark';

const PCAPS = resolve(__dirname, '..', '..', 'pcaps');

/** Minimal classic-pcap reader (little-endian, microseconds): enough for our own goldens. */
function readPcap(path: string): { ts: number; off: number; data: Uint8Array }[] {
  const buf = readFileSync(path);
  assert.equal(buf.readUInt32LE(0), 0xa1b2c3d4, `${path}: not a little-endian microsecond pcap`);
  const records: { ts: number; off: number; data: Uint8Array }[] = [];
  for (let off = 24; off < buf.length; ) {
    const incl = buf.readUInt32LE(off + 8);
    records.push({
      ts: buf.readUInt32LE(off) * 1e6 + buf.readUInt32LE(off + 4),
      off: off + 16,
      data: new Uint8Array(buf.subarray(off + 16, off + 16 + incl)),
    });
    off += 16 + incl;
  }
  return records;
}

const scenarios = existsSync(PCAPS)
  ? readdirSync(PCAPS, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort()
  : [];

// ---- hand-built frames (checksums are irrelevant to the differ) ----

const hexToBytes = (h: string): number[] => (h.replace(/[\s:]/g, '').match(/../g) ?? []).map((x) => parseInt(x, 16));

function ethernet(type: number, payload: number[], vlan?: number): Uint8Array {
  const head = [...hexToBytes('02:00:00:00:01:11'), ...hexToBytes('02:00:00:00:00:01')];
  const tag = vlan === undefined ? [] : [0x81, 0x00, vlan >> 8, vlan & 0xff];
  return Uint8Array.from([...head, ...tag, type >> 8, type & 0xff, ...payload]);
}

function ipv4(proto: number, l4: number[], opts: { ttl?: number; df?: boolean } = {}): number[] {
  const total = 20 + l4.length;
  return [
    0x45, 0x00, total >> 8, total & 0xff, 0x12, 0x34, opts.df === false ? 0 : 0x40, 0x00, opts.ttl ?? 63, proto,
    0xab, 0xcd, 198, 51, 100, 1, 192, 0, 2, 10, ...l4,
  ];
}

function tcp(flags: number, payload: number[], options: number[] = []): number[] {
  const doff = (20 + options.length) / 4;
  return [
    0x9c, 0x41, 0x00, 0x50, 0x10, 0x00, 0x00, 0x01, 0x90, 0x00, 0x00, 0x01, doff << 4, flags, 0x01, 0xf6, 0x12,
    0x34, 0x00, 0x00, ...options, ...payload,
  ];
}

function udp(payload: number[]): number[] {
  const len = 8 + payload.length;
  return [0x13, 0x89, 0x00, 0x35, len >> 8, len & 0xff, 0xbe, 0xef, ...payload];
}

function ipv6(next: number, l4: number[], hlim = 59): number[] {
  const src = hexToBytes('20010db8000100000000000000000100');
  const dst = hexToBytes('20010db8000000000000000000000010');
  return [0x60, 0x01, 0x23, 0x45, l4.length >> 8, l4.length & 0xff, next, hlim, ...src, ...dst, ...l4];
}

const TCP_FRAME = ethernet(0x0800, ipv4(6, tcp(0x18, [0x47, 0x45, 0x54]), {}));

function mutate(frame: Uint8Array, off: number, value: number): Uint8Array {
  const copy = Uint8Array.from(frame);
  copy[off] = value;
  return copy;
}

describe('describeFrameDifference', () => {
  it('returns null for identical frames', () => {
    assert.equal(describeFrameDifference(TCP_FRAME, Uint8Array.from(TCP_FRAME)), null);
    assert.equal(describeFrameDifference(new Uint8Array(0), new Uint8Array(0)), null);
  });

  it('names the IPv4 TTL with both values', () => {
    assert.equal(describeFrameDifference(TCP_FRAME, mutate(TCP_FRAME, 14 + 8, 64)), 'IPv4 ttl: expected 63, got 64');
  });

  it('names Ethernet, IPv4 and TCP header fields', () => {
    const cases: [number, number, string][] = [
      [0, 0x04, 'Ethernet destination: expected 02:00:00:00:01:11, got 04:00:00:00:01:11'],
      [11, 0x02, 'Ethernet source: expected 02:00:00:00:00:01, got 02:00:00:00:00:02'],
      [12, 0x86, 'Ethernet type: expected 0x0800, got 0x8600'],
      [14, 0x46, 'IPv4 version/ihl: expected 0x45 (version 4, ihl 20), got 0x46 (version 4, ihl 24)'],
      [15, 0x02, 'IPv4 tos: expected 0x00, got 0x02'],
      [17, 0x00, 'IPv4 total length: expected 43, got 0'],
      [19, 0x00, 'IPv4 id: expected 4660, got 4608'],
      [20, 0x00, 'IPv4 flags/fragment offset: expected 0x4000 (DF, offset 0), got 0x0000 (no flags, offset 0)'],
      [23, 17, 'IPv4 protocol: expected 6, got 17'],
      [25, 0xce, 'IPv4 checksum: expected 0xabcd, got 0xabce'],
      [29, 2, 'IPv4 source: expected 198.51.100.1, got 198.51.100.2'],
      [33, 11, 'IPv4 destination: expected 192.0.2.10, got 192.0.2.11'],
      [34 + 1, 0x42, 'TCP source port: expected 40001, got 40002'],
      [34 + 3, 0x51, 'TCP destination port: expected 80, got 81'],
      [34 + 7, 0x02, 'TCP seq: expected 268435457, got 268435458'],
      [34 + 8, 0x91, 'TCP ack: expected 2415919105, got 2432696321'],
      [34 + 12, 0x70, 'TCP data offset: expected 20 bytes, got 28 bytes'],
      [34 + 13, 0x10, 'TCP flags: expected 0x018 (PSH,ACK), got 0x010 (ACK)'],
      [34 + 15, 0xf7, 'TCP window: expected 502, got 503'],
      [34 + 17, 0x35, 'TCP checksum: expected 0x1234, got 0x1235'],
      [34 + 19, 0x01, 'TCP urgent pointer: expected 0, got 1'],
      [34 + 21, 0x46, 'TCP payload byte 1: expected 0x45, got 0x46'],
    ];
    for (const [off, value, message] of cases) {
      assert.equal(describeFrameDifference(TCP_FRAME, mutate(TCP_FRAME, off, value)), message, `byte ${off}`);
    }
  });

  it('reports the first differing field when several differ', () => {
    const actual = mutate(mutate(TCP_FRAME, 14 + 8, 64), 34 + 17, 0);
    assert.equal(describeFrameDifference(TCP_FRAME, actual), 'IPv4 ttl: expected 63, got 64');
  });

  it('compares TCP options as a block and IPv4 options', () => {
    const withOpts = ethernet(0x0800, ipv4(6, tcp(0x10, [], [0xfe, 0x08, 0x9c, 0x41, 198, 51, 100, 1])));
    assert.equal(
      describeFrameDifference(withOpts, mutate(withOpts, 34 + 20 + 7, 2)),
      'TCP options: expected fe089c41c6336401, got fe089c41c6336402',
    );
    const ipOpts = Uint8Array.from([...withOpts.subarray(0, 34), 1, 1, 1, 0, ...withOpts.subarray(34)]);
    ipOpts[14] = 0x46;
    assert.equal(describeFrameDifference(ipOpts, mutate(ipOpts, 34 + 3, 1)), 'IPv4 options: expected 01010100, got 01010101');
  });

  it('reports length differences: padding, truncation, extra bytes', () => {
    const padded = Uint8Array.from([...TCP_FRAME, 0, 0, 0]);
    assert.equal(describeFrameDifference(TCP_FRAME, padded), `frame length: expected ${TCP_FRAME.length}, got ${TCP_FRAME.length + 3}`);
    assert.equal(
      describeFrameDifference(padded, TCP_FRAME),
      `frame length: expected ${TCP_FRAME.length + 3}, got ${TCP_FRAME.length} (the actual frame ends inside Ethernet padding byte 0)`,
    );
    assert.match(
      describeFrameDifference(TCP_FRAME, TCP_FRAME.subarray(0, 30)) ?? '',
      /^frame length: expected 57, got 30 \(the actual frame ends inside IPv4 destination\)$/,
    );
  });

  it('walks VLAN tags', () => {
    const tagged = ethernet(0x0800, ipv4(6, tcp(0x10, [])), 100);
    assert.equal(describeFrameDifference(tagged, mutate(tagged, 15, 101)), 'VLAN tci: expected 0x0064 (vlan 100), got 0x0065 (vlan 101)');
    assert.equal(describeFrameDifference(tagged, mutate(tagged, 18 + 8, 1)), 'IPv4 ttl: expected 63, got 1');
    const untagged = ethernet(0x0800, ipv4(6, tcp(0x10, [])));
    assert.equal(describeFrameDifference(tagged, untagged), 'Ethernet type: expected 0x8100, got 0x0800');
  });

  it('walks UDP', () => {
    const f = ethernet(0x0800, ipv4(17, udp([1, 2, 3, 4]), { df: false }));
    assert.equal(describeFrameDifference(f, mutate(f, 34 + 6, 0)), 'UDP checksum: expected 0xbeef, got 0x00ef');
    assert.equal(describeFrameDifference(f, mutate(f, 34 + 5, 9)), 'UDP length: expected 12, got 9');
    assert.equal(describeFrameDifference(f, mutate(f, 34 + 11, 9)), 'UDP payload byte 3: expected 0x04, got 0x09');
  });

  it('walks IPv6 fields, bit fields included', () => {
    const f = ethernet(0x86dd, ipv6(6, tcp(0x02, [])));
    assert.equal(describeFrameDifference(f, mutate(f, 14 + 7, 60)), 'IPv6 hop limit: expected 59, got 60');
    assert.equal(describeFrameDifference(f, mutate(f, 14 + 3, 0x46)), 'IPv6 flow label: expected 0x12345, got 0x12346');
    assert.equal(describeFrameDifference(f, mutate(f, 14 + 1, 0x21)), 'IPv6 traffic class: expected 0x00, got 0x02');
    assert.equal(describeFrameDifference(f, mutate(f, 14 + 0, 0x70)), 'IPv6 version: expected 6, got 7');
    assert.equal(describeFrameDifference(f, mutate(f, 14 + 6, 17)), 'IPv6 next header: expected 6, got 17');
    assert.equal(
      describeFrameDifference(f, mutate(f, 14 + 39, 0x11)),
      'IPv6 destination: expected 2001:db8::10, got 2001:db8::11',
    );
    assert.equal(describeFrameDifference(f, mutate(f, 54 + 13, 0x12)), 'TCP flags: expected 0x002 (SYN), got 0x012 (SYN,ACK)');
  });

  it('walks an inner IPIP header and its transport', () => {
    const inner = ipv4(6, tcp(0x10, [0x61]));
    const outerHeader = ipv4(4, inner);
    const f = ethernet(0x0800, outerHeader);
    assert.equal(describeFrameDifference(f, mutate(f, 34 + 8, 62)), 'inner IPv4 ttl: expected 63, got 62');
    assert.equal(describeFrameDifference(f, mutate(f, 34 + 1, 0x03)), 'inner IPv4 tos: expected 0x00, got 0x03');
    assert.equal(describeFrameDifference(f, mutate(f, 54 + 13, 0x11)), 'inner TCP flags: expected 0x010 (ACK), got 0x011 (FIN,ACK)');
    assert.equal(describeFrameDifference(f, mutate(f, 54 + 20, 0x62)), 'inner TCP payload byte 0: expected 0x61, got 0x62');
    assert.equal(describeFrameDifference(f, mutate(f, 14 + 5, 1)), 'IPv4 id: expected 4660, got 4609');
  });

  it('walks ICMP and the packet quoted in an ICMP error', () => {
    const quoted = ipv4(6, tcp(0x02, [])).slice(0, 28);
    const f = ethernet(0x0800, ipv4(1, [3, 4, 0x11, 0x22, 0, 0, 0x05, 0xdc, ...quoted]));
    assert.equal(describeFrameDifference(f, mutate(f, 34 + 1, 3)), 'ICMP code: expected 4, got 3');
    assert.equal(describeFrameDifference(f, mutate(f, 34 + 7, 0xdd)), 'ICMP rest of header: expected 000005dc, got 000005dd');
    assert.equal(describeFrameDifference(f, mutate(f, 42 + 8, 1)), 'ICMP quoted IPv4 ttl: expected 63, got 1');
    assert.equal(describeFrameDifference(f, mutate(f, 42 + 23, 0x51)), 'ICMP quoted TCP destination port: expected 80, got 81');
    const echo = ethernet(0x0800, ipv4(1, [8, 0, 0x11, 0x22, 0, 7, 0, 1, 0x70, 0x69]));
    assert.equal(describeFrameDifference(echo, mutate(echo, 42 + 1, 0x6a)), 'ICMP payload byte 1: expected 0x69, got 0x6a');
  });

  it('formats IPv6 addresses as RFC 5952 text', () => {
    const a = (h: string): string => ipv6Address(Uint8Array.from(hexToBytes(h)), 0);
    assert.equal(a('20010db8000000000000000000000010'), '2001:db8::10');
    assert.equal(a('00000000000000000000000000000000'), '::');
    assert.equal(a('20010db8000000010000000000000000'), '2001:db8:0:1::');
    assert.equal(a('20010db8000100010001000100010001'), '2001:db8:1:1:1:1:1:1');
    assert.equal(a('20010db8000000010000000000000001'), '2001:db8:0:1::1');
  });

  describe('on every golden frame', () => {
    for (const scenario of scenarios) {
      for (const file of ['in.pcap', 'expected.pcap']) {
        it(`${scenario}/${file}: every byte belongs to a named field, and a change there is reported`, () => {
          for (const [n, { data }] of readPcap(join(PCAPS, scenario, file)).entries()) {
            assert.equal(describeFrameDifference(data, Uint8Array.from(data)), null);
            const covered = new Uint8Array(data.length);
            for (const f of frameFields(data)) covered.fill(1, f.off, f.off + f.len);
            assert.equal(covered.indexOf(0), -1, `frame ${n + 1}: byte ${covered.indexOf(0)} is in no field`);
            for (let i = 0; i < data.length; i++) {
              const message = describeFrameDifference(data, mutate(data, i, data[i] ^ 0x01));
              assert.ok(message !== null && !message.startsWith('frame '), `frame ${n + 1} byte ${i}: ${message}`);
            }
          }
        });
      }
    }
  });
});

describe('tsharkChecksumProblems', function () {
  before(function () {
    if (!tsharkAvailable()) this.skip();
  });

  it('finds the goldens', () => {
    assert.ok(scenarios.length >= 12, `expected the golden scenarios under ${PCAPS}, found ${scenarios.length}`);
  });

  for (const scenario of scenarios) {
    it(`${scenario}: in.pcap and expected.pcap have no bad checksum and nothing malformed`, () => {
      assert.deepEqual(tsharkChecksumProblems(join(PCAPS, scenario, 'expected.pcap')), []);
      assert.deepEqual(tsharkChecksumProblems(join(PCAPS, scenario, 'in.pcap')), []);
    });
  }

  it('catches deliberately corrupted copies of the goldens', () => {
    const dir = mkdtempSync(join(tmpdir(), 'uvs-tshark-'));
    try {
      const corrupt = (scenario: string, edits: [frame: number, offset: number][]): string => {
        const src = join(PCAPS, scenario, 'expected.pcap');
        const dst = join(dir, `${scenario}.pcap`);
        copyFileSync(src, dst);
        const buf = readFileSync(dst);
        const records = readPcap(src);
        for (const [frame, offset] of edits) buf[records[frame - 1].off + offset] ^= 0x01;
        writeFileSync(dst, buf);
        return dst;
      };
      // nat-tcp: frame 1 IPv4 header checksum, frame 2 TCP checksum (14 + 20 + 16)
      assert.deepEqual(
        tsharkChecksumProblems(corrupt('nat-tcp', [[1, 14 + 11], [2, 14 + 20 + 17]])).map((l) => l.split(':')[0] + ':' + l.split(':')[1].split(';')[0]),
        ['frame 1: bad ip checksum', 'frame 2: bad tcp checksum'],
      );
      // nat-udp: frame 1 UDP checksum
      const udpProblems = tsharkChecksumProblems(corrupt('nat-udp', [[1, 14 + 20 + 7]]));
      assert.equal(udpProblems.length, 1);
      assert.match(udpProblems[0], /^frame 1: bad udp checksum/);
      // tun-tcp: the inner IPv4 header checksum of frame 1 (outer header 20 bytes)
      const tunProblems = tsharkChecksumProblems(corrupt('tun-tcp', [[1, 14 + 20 + 11]]));
      assert.equal(tunProblems.length, 1);
      assert.match(tunProblems[0], /^frame 1: bad ip checksum/);
      // ipv6-nat: a TCP payload byte of frame 5 (the checksum no longer matches)
      const v6Problems = tsharkChecksumProblems(corrupt('ipv6-nat', [[5, 14 + 40 + 20 + 3]]));
      assert.equal(v6Problems.length, 1);
      assert.match(v6Problems[0], /^frame 5: bad tcp checksum/);
      // dr-tcp-rr: IPv4 total length larger than the frame
      const lenProblems = tsharkChecksumProblems(corrupt('dr-tcp-rr', [[2, 14 + 2]]));
      assert.equal(lenProblems.length, 1);
      assert.match(lenProblems[0], /^frame 2: /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('throws on an unreadable file', () => {
    assert.throws(() => tsharkChecksumProblems('/nonexistent/uvs.pcap'), /tshark failed/);
  });
});
