import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { CaptureReader, type CaptureReaderOptions } from '../src/pcap';

// Fixtures (built once by a scapy script, see test/fixtures/pcap): the same ten frames as little-endian
// microsecond, big-endian microsecond and little-endian nanosecond pcap; scapy's pcapng of the same frames;
// editcap's pcapng conversion of the nanosecond pcap; and a hand-built two-section pcapng with its expected
// packets in multi.pcapng.json.
const FIXTURES = path.resolve(__dirname, '../../test/fixtures/pcap');
const fixture = (name: string): string => path.join(FIXTURES, name);

interface Frame {
  tsSec: number;
  tsNsec: number;
  capLen: number;
  origLen: number;
  data: Buffer;
  ifIndex: number;
  linkType: number;
}

function readAll(file: string, options?: CaptureReaderOptions): Frame[] {
  const r = CaptureReader.open(file, options);
  const frames: Frame[] = [];
  try {
    while (r.next()) {
      frames.push({
        tsSec: r.tsSec, tsNsec: r.tsNsec, capLen: r.capLen, origLen: r.origLen,
        data: Buffer.from(r.copyPacket()), ifIndex: r.ifIndex, linkType: r.linkType,
      });
    }
  } finally {
    r.close();
  }
  return frames;
}

// The reference reader: the npm package pcap-parser (classic pcap only, microsecond magics only).
interface ParserPacket {
  header: { timestampSeconds: number; timestampMicroseconds: number; capturedLength: number; originalLength: number };
  data: Buffer;
}
interface ParserEmitter {
  on(event: 'packet', listener: (p: ParserPacket) => void): ParserEmitter;
  on(event: 'end', listener: () => void): ParserEmitter;
  on(event: 'error', listener: (e: Error) => void): ParserEmitter;
}
const pcapParser: { parse(input: string | Readable): ParserEmitter } = require('pcap-parser');

/**
 * Frames as pcap-parser sees them. `fractionScale` turns its "microseconds" field into nanoseconds; for a
 * nanosecond file the magic is swapped for the microsecond one first (pcap-parser knows only that one), so
 * the field then carries nanoseconds and the scale is 1.
 */
function readWithPcapParser(file: string): Promise<Frame[]> {
  let bytes = fs.readFileSync(file);
  let fractionScale = 1000;
  if (bytes.readUInt32LE(0) === 0xa1b23c4d) {
    bytes = Buffer.from(bytes);
    bytes.writeUInt32LE(0xa1b2c3d4, 0);
    fractionScale = 1;
  }
  return new Promise((resolve, reject) => {
    const frames: Frame[] = [];
    pcapParser.parse(Readable.from([bytes]))
      .on('packet', (p) => frames.push({
        tsSec: p.header.timestampSeconds,
        tsNsec: p.header.timestampMicroseconds * fractionScale,
        capLen: p.header.capturedLength,
        origLen: p.header.originalLength,
        data: Buffer.from(p.data),
        ifIndex: 0,
        linkType: 1,
      }))
      .on('error', reject)
      .on('end', () => resolve(frames));
  });
}

function assertSameFrames(actual: Frame[], expected: Frame[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: packet count`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as Frame;
    const e = expected[i] as Frame;
    assert.deepEqual(
      [a.tsSec, a.tsNsec, a.capLen, a.origLen, a.ifIndex, a.linkType],
      [e.tsSec, e.tsNsec, e.capLen, e.origLen, e.ifIndex, e.linkType], `${what}: packet ${i} header`);
    assert.ok(a.data.equals(e.data), `${what}: packet ${i} bytes differ`);
  }
}

/** Chunk sizes from the minimum up to past the whole file: every record straddles a boundary somewhere. */
function chunkSizes(file: string): number[] {
  const size = fs.statSync(file).size;
  const sizes: number[] = [];
  for (let c = 64; c <= size + 64; c += 7) sizes.push(c);
  return sizes;
}

describe('pcap reader: classic pcap', () => {
  for (const name of ['le-us.pcap', 'be-us.pcap', 'le-ns.pcap']) {
    it(`${name} matches pcap-parser frame for frame`, async () => {
      const expected = await readWithPcapParser(fixture(name));
      assert.equal(expected.length, 10);
      assertSameFrames(readAll(fixture(name)), expected, name);
    });

    it(`${name} reads the same with every chunk size (records straddling chunk boundaries)`, async () => {
      const expected = await readWithPcapParser(fixture(name));
      for (const chunkSize of chunkSizes(fixture(name))) {
        assertSameFrames(readAll(fixture(name), { chunkSize }), expected, `${name} chunk ${chunkSize}`);
      }
    });
  }

  it('reports format, resolution, link type, file size and record offsets', () => {
    const file = fixture('le-us.pcap');
    const r = CaptureReader.open(file);
    try {
      assert.equal(r.format, 'pcap');
      assert.equal(r.nanosecond, false);
      assert.equal(r.linkType, 1);
      assert.equal(r.fileSize, fs.statSync(file).size);
      assert.equal(r.interfaces.length, 1);
      assert.equal(r.interfaces[0]?.snapLen, 262144);
      let expectedOffset = 24; // the first record follows the 24-byte file header
      while (r.next()) {
        assert.equal(r.bytesRead, expectedOffset);
        expectedOffset += 16 + r.capLen;
      }
      assert.equal(expectedOffset, r.fileSize);
      assert.equal(r.packets, 10);
      assert.equal(r.next(), false, 'stays at the end');
    } finally {
      r.close();
    }
    assert.throws(() => r.next(), /read after close/);
    const ns = CaptureReader.open(fixture('le-ns.pcap'));
    assert.equal(ns.nanosecond, true);
    ns.close();
  });

  it('exposes packets as views into one reused buffer (no copy per packet)', () => {
    const r = CaptureReader.open(fixture('le-us.pcap'));
    try {
      assert.ok(r.next());
      const buffer = r.data;
      const firstOffset = r.offset;
      while (r.next()) {
        assert.equal(r.data, buffer, 'same buffer for every packet');
        assert.ok(r.offset > firstOffset);
      }
    } finally {
      r.close();
    }
  });

  it('keeps a truncated capture truncated: capLen 200 of a 1514-byte frame', () => {
    const frame = readAll(fixture('be-us.pcap'))[7] as Frame;
    assert.equal(frame.capLen, 200);
    assert.equal(frame.origLen, 1514);
    assert.equal(frame.data.length, 200);
  });
});

describe('pcap reader: pcapng', () => {
  it("scapy's pcapng holds the same frames as the microsecond pcap (read by pcap-parser)", async () => {
    const expected = await readWithPcapParser(fixture('le-us.pcap'));
    assertSameFrames(readAll(fixture('scapy-us.pcapng')), expected, 'scapy-us.pcapng');
  });

  it("editcap's pcapng of the nanosecond pcap (if_tsresol 9) holds the same frames", async () => {
    const expected = await readWithPcapParser(fixture('le-ns.pcap'));
    const r = CaptureReader.open(fixture('editcap-ns.pcapng'));
    assert.equal(r.format, 'pcapng');
    assert.equal(r.interfaces[0]?.unitsPerSecond, 1e9);
    r.close();
    for (const chunkSize of [64, 100, 333, 4 * 1024 * 1024]) {
      assertSameFrames(readAll(fixture('editcap-ns.pcapng'), { chunkSize }), expected, `editcap-ns.pcapng chunk ${chunkSize}`);
    }
  });

  interface ExpectedPacket {
    ifIndex: number; linkType: number; tsSec: number; tsNsec: number; capLen: number; origLen: number; hex: string;
  }
  const multiExpected = (): Frame[] =>
    (JSON.parse(fs.readFileSync(fixture('multi.pcapng.json'), 'utf8')) as ExpectedPacket[]).map((e) => ({
      tsSec: e.tsSec, tsNsec: e.tsNsec, capLen: e.capLen, origLen: e.origLen,
      data: Buffer.from(e.hex, 'hex'), ifIndex: e.ifIndex, linkType: e.linkType,
    }));

  it('two sections (big then little endian), two interfaces each, skipped blocks, SPB, 2^-20 s and ms resolutions', () => {
    const expected = multiExpected();
    assert.equal(expected.length, 7);
    assertSameFrames(readAll(fixture('multi.pcapng')), expected, 'multi.pcapng');
  });

  it('multi.pcapng reads the same with every chunk size', () => {
    const expected = multiExpected();
    for (const chunkSize of chunkSizes(fixture('multi.pcapng'))) {
      assertSameFrames(readAll(fixture('multi.pcapng'), { chunkSize }), expected, `multi.pcapng chunk ${chunkSize}`);
    }
  });

  it('describes the interfaces of the current section', () => {
    const r = CaptureReader.open(fixture('multi.pcapng'));
    try {
      // Known at open already: the interface blocks right after the section header are read with it.
      assert.deepEqual(r.interfaces.map((i) => [i.name, i.linkType, i.snapLen, i.unitsPerSecond]),
        [['eth0', 1, 262144, 1e6], ['tun0', 101, 65535, 2 ** 20]]);
      assert.equal(r.linkType, 1);
      assert.ok(r.next());
      assert.equal(r.nanosecond, false);
      assert.ok(r.next());
      assert.equal(r.nanosecond, true, '2^-20 s is finer than a microsecond');
      while (r.next()) { /* to the second section */ }
      assert.deepEqual(r.interfaces.map((i) => [i.name, i.linkType, i.unitsPerSecond]), [['', 101, 1e9], ['', 1, 1e3]]);
    } finally {
      r.close();
    }
  });

  it('record offsets point at the packet blocks', () => {
    const file = fixture('multi.pcapng');
    const bytes = fs.readFileSync(file);
    const r = CaptureReader.open(file);
    try {
      let last = -1;
      while (r.next()) {
        assert.ok(r.bytesRead > last);
        last = r.bytesRead;
        // Type 6 (EPB) or 3 (SPB), in either byte order.
        const types = [bytes.readUInt32LE(r.bytesRead), bytes.readUInt32BE(r.bytesRead)];
        assert.ok(types.includes(6) || types.includes(3), `block type ${types[0]} at ${r.bytesRead}`);
      }
    } finally {
      r.close();
    }
  });

  it('reads an obsolete Packet Block (type 2) like an Enhanced Packet Block', () => {
    // The first EPB of multi.pcapng (big endian, at byte 168) has interface 0 as a 32-bit word, which reads
    // as interface 0 and drop count 0 in the obsolete layout: changing the type alone makes it one.
    const bytes = fs.readFileSync(fixture('multi.pcapng'));
    bytes.writeUInt32BE(2, 168);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'uvs-pcap-reader-')), 'obsolete.pcapng');
    try {
      fs.writeFileSync(file, bytes);
      assertSameFrames(readAll(file), multiExpected(), 'obsolete.pcapng');
    } finally {
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
  });
});
