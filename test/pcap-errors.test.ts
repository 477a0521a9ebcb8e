import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { CaptureFormatError, CaptureReader } from '../src/pcap';

// Every kind of damage must give a CaptureFormatError that names the file and the byte offset of the bad
// field, whatever the chunk size (so also when the damage straddles a read boundary), and never a RangeError.

const FIXTURES = path.resolve(__dirname, '../../test/fixtures/pcap');
const original = (name: string): Buffer => fs.readFileSync(path.join(FIXTURES, name));

let dir = '';
let serial = 0;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uvs-pcap-errors-'));
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function writeTemp(bytes: Uint8Array): string {
  const file = path.join(dir, `case-${serial++}.cap`);
  fs.writeFileSync(file, bytes);
  return file;
}

/** Reads the whole file; returns the number of packets. */
function readToEnd(file: string, chunkSize?: number): number {
  const r = CaptureReader.open(file, chunkSize === undefined ? {} : { chunkSize });
  try {
    while (r.next()) { /* just read */ }
    return r.packets;
  } finally {
    r.close();
  }
}

function expectFormatError(bytes: Uint8Array, byteOffset: number, detail: RegExp): void {
  const file = writeTemp(bytes);
  for (const chunkSize of [64, 100, 1000, undefined]) {
    assert.throws(() => readToEnd(file, chunkSize), (err: unknown) => {
      assert.ok(err instanceof CaptureFormatError, `chunk ${chunkSize}: ${String(err)}`);
      assert.equal(err.file, file);
      assert.equal(err.byteOffset, byteOffset, `chunk ${chunkSize}: ${err.message}`);
      assert.ok(err.message.startsWith(`${file}: byte ${byteOffset}: `), err.message);
      assert.match(err.detail, detail);
      return true;
    });
  }
}

/** A copy of `bytes` with a 32-bit value written at `offset`. */
function patch32(bytes: Buffer, offset: number, value: number, littleEndian: boolean): Buffer {
  const copy = Buffer.from(bytes);
  if (littleEndian) copy.writeUInt32LE(value, offset);
  else copy.writeUInt32BE(value, offset);
  return copy;
}

describe('pcap errors: not a capture', () => {
  const pcap = original('le-us.pcap');
  it('empty file', () => expectFormatError(Buffer.alloc(0), 0, /^empty file \(not a pcap or pcapng file\)$/));
  it('shorter than a magic', () => expectFormatError(pcap.subarray(0, 3), 0, /^not a pcap or pcapng file \(only 3 bytes\)$/));
  it('bad magic', () => expectFormatError(patch32(pcap, 0, 0x12345678, false), 0,
    /^not a pcap or pcapng file \(magic 0x12345678 at byte 0\)$/));
  it('a gzip-compressed capture gets a hint', () => expectFormatError(zlib.gzipSync(pcap), 0, /gzip-compressed\? decompress it first/));
  it('a missing file is the file system error, not a format error', () => {
    assert.throws(() => CaptureReader.open(path.join(dir, 'nope.pcap')), /ENOENT/);
  });
});

describe('pcap errors: classic pcap', () => {
  // le-us.pcap: 24-byte file header, then records at 24 (54 bytes), 94 (54 bytes), 164 ... the last at 901 (375 bytes).
  const le = original('le-us.pcap');
  const be = original('be-us.pcap');

  it('truncated file header', () => expectFormatError(le.subarray(0, 10), 0,
    /^truncated pcap file header \(24 bytes needed, 10 present\)$/));
  it('unsupported version', () => {
    const bad = Buffer.from(le);
    bad.writeUInt16LE(3, 4);
    bad.writeUInt16LE(0, 6);
    expectFormatError(bad, 4, /^unsupported pcap version 3\.0 \(2\.4 expected\)$/);
  });
  it('truncated record header', () => expectFormatError(le.subarray(0, 94 + 5), 94,
    /^truncated record header \(16 bytes needed, 5 left\)$/));
  it('truncated record data', () => expectFormatError(le.subarray(0, 94 + 16 + 10), 94,
    /^truncated record \(header says 54 bytes, 10 left\)$/));
  it('record length past the end of the file', () => expectFormatError(patch32(le, 901 + 8, 5000, true), 901,
    /^truncated record \(header says 5000 bytes, 375 left\)$/));
  it('absurd record length, little endian', () => expectFormatError(patch32(le, 94 + 8, 0xffffffff, true), 94,
    /^record length 4294967295 exceeds the 262144-byte limit$/));
  it('absurd record length, big endian', () => expectFormatError(patch32(be, 94 + 8, 262145, false), 94,
    /^record length 262145 exceeds the 262144-byte limit$/));
  it('a file that is only a header has no packets and no error', () => {
    assert.equal(readToEnd(writeTemp(le.subarray(0, 24))), 0);
  });
});

describe('pcap errors: pcapng', () => {
  // multi.pcapng, first section big endian: SHB at 0 (56 bytes), IDB at 56 (32), IDB at 88 (52),
  // Name Resolution Block at 140 (28), Enhanced Packet Block at 168 (108: interface 0, 54 bytes, a comment).
  const ng = original('multi.pcapng');

  it('truncated section header block', () => expectFormatError(ng.subarray(0, 10), 0,
    /^truncated section header block \(12 bytes needed, 10 left\)$/));
  it('bad byte-order magic', () => expectFormatError(patch32(ng, 8, 0x11223344, false), 8,
    /^bad byte-order magic 0x11223344 in section header block$/));
  it('unsupported version', () => {
    const bad = Buffer.from(ng);
    bad.writeUInt16BE(2, 12);
    expectFormatError(bad, 12, /^unsupported pcapng version 2\.0 \(1\.0 expected\)$/);
  });
  it('packet block length mismatch', () => expectFormatError(patch32(ng, 168 + 108 - 4, 999, false), 272,
    /^enhanced packet block length mismatch: 108 at the start of the block, 999 at its end$/));
  it('skipped block length mismatch', () => expectFormatError(patch32(ng, 140 + 28 - 4, 32, false), 164,
    /^block length mismatch: 28 at the start of the block \(type 0x00000004\), 32 at its end$/));
  it('block length not a multiple of 4', () => expectFormatError(patch32(ng, 168 + 4, 107, false), 172,
    /^bad enhanced packet block length 107 \(must be a multiple of 4 and at least 32\)$/));
  it('block length below the minimum', () => expectFormatError(patch32(ng, 140 + 4, 8, false), 144,
    /^bad block length 8 \(must be a multiple of 4 and at least 12\)$/));
  it('block length past the end of the file', () => expectFormatError(patch32(ng, 140 + 4, 0x7ffffff0, false), 140,
    /^truncated block \(block length says 2147483632 bytes, 968 left\)$/));
  it('truncated block', () => expectFormatError(ng.subarray(0, 200), 168,
    /^truncated enhanced packet block \(block length says 108 bytes, 32 left\)$/));
  it('truncated block header', () => expectFormatError(ng.subarray(0, 170), 168,
    /^truncated block header \(8 bytes needed, 2 left\)$/));
  it('enhanced packet block for an undefined interface', () => expectFormatError(patch32(ng, 168 + 8, 5, false), 176,
    /^enhanced packet block for interface 5, but only 2 interfaces are defined in this section$/));
  it('enhanced packet block before any interface description', () => {
    const bytes = Buffer.concat([ng.subarray(0, 56), ng.subarray(168, 168 + 108)]);
    expectFormatError(bytes, 64, /^enhanced packet block for interface 0, but no interface is defined in this section$/);
  });
  it('captured length larger than its block', () => expectFormatError(patch32(ng, 168 + 20, 100, false), 188,
    /^captured length 100 does not fit in the 108-byte enhanced packet block$/));
  it('absurd captured length', () => expectFormatError(patch32(ng, 168 + 20, 0xffffffff, false), 188,
    /^captured length 4294967295 exceeds the 262144-byte limit$/));
  it('interface option running past its block', () => {
    const bad = Buffer.from(ng);
    bad.writeUInt16BE(200, 56 + 16 + 2); // if_name's length
    expectFormatError(bad, 72, /^option 2 of length 200 runs past the end of its interface description block$/);
  });
  it('if_tsresol of the wrong length', () => {
    // In the IDB at 88: if_name (8 bytes) at 104, if_tsresol at 112.
    const bad = Buffer.from(ng);
    bad.writeUInt16BE(2, 112 + 2);
    expectFormatError(bad, 112, /^if_tsresol option of length 2 \(1 expected\)$/);
  });
});

describe('pcap errors: random damage', () => {
  /** xorshift32, seeded so a failure reproduces. */
  function generator(seed: number): () => number {
    let x = seed;
    return () => {
      x ^= x << 13; x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5; x >>>= 0;
      return x;
    };
  }

  for (const name of ['le-us.pcap', 'be-us.pcap', 'le-ns.pcap', 'scapy-us.pcapng', 'editcap-ns.pcapng', 'multi.pcapng']) {
    it(`${name}: flipped bytes and cut ends give packets or a CaptureFormatError, nothing else`, () => {
      const bytes = original(name);
      const random = generator(0x9e3779b9 ^ bytes.length);
      let errors = 0;
      for (let trial = 0; trial < 300; trial++) {
        const damaged = Buffer.from(bytes);
        const flips = 1 + (random() % 4);
        for (let i = 0; i < flips; i++) damaged[random() % damaged.length] = random() & 0xff;
        const cut = trial % 3 === 0 ? damaged.subarray(0, random() % damaged.length) : damaged;
        const file = writeTemp(cut);
        try {
          readToEnd(file, 64 + (random() % 512));
        } catch (err) {
          assert.ok(err instanceof CaptureFormatError, `trial ${trial}: ${err instanceof Error ? err.stack : String(err)}`);
          assert.match(err.message, /: byte \d+: /);
          errors++;
        }
        fs.rmSync(file);
      }
      assert.ok(errors > 0, 'some damage was detected');
    });
  }
});
