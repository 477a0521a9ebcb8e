import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CaptureReader, PcapngWriter, PcapWriter, type CaptureWriter } from '../src/pcap';

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

function readAll(file: string): Frame[] {
  const r = CaptureReader.open(file);
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

/** Copies every packet of `input` through `writer`, straight from the reader's views; returns the count. */
function copyCapture(input: string, writer: CaptureWriter, ifIndexOf: (r: CaptureReader) => number = () => 0): number {
  const r = CaptureReader.open(input);
  try {
    while (r.next()) writer.writePacket(ifIndexOf(r), r.data, r.offset, r.capLen, r.tsSec, r.tsNsec, r.origLen);
    writer.close();
  } catch (err) {
    writer.abort();
    throw err;
  } finally {
    r.close();
  }
  return writer.packets;
}

function assertSameFrames(actual: Frame[], expected: Frame[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: packet count`);
  expected.forEach((e, i) => {
    const a = actual[i] as Frame;
    assert.deepEqual([a.tsSec, a.tsNsec, a.capLen, a.origLen, a.ifIndex, a.linkType],
      [e.tsSec, e.tsNsec, e.capLen, e.origLen, e.ifIndex, e.linkType], `${what}: packet ${i} header`);
    assert.ok(a.data.equals(e.data), `${what}: packet ${i} bytes differ`);
  });
}

const toMicroseconds = (frames: Frame[]): Frame[] =>
  frames.map((f) => ({ ...f, tsNsec: Math.floor(f.tsNsec / 1000) * 1000 }));

const tsharkMissing = spawnSync('tshark', ['-v'], { stdio: 'ignore' }).error !== undefined;

/** tshark's view of a file: exit status and, per packet, "epoch cap_len len interface". */
function tshark(file: string): { status: number | null; lines: string[]; stderr: string } {
  const result = spawnSync('tshark', ['-r', file, '-T', 'fields',
    '-e', 'frame.time_epoch', '-e', 'frame.cap_len', '-e', 'frame.len', '-e', 'frame.interface_id'],
  { encoding: 'utf8' });
  return { status: result.status, lines: result.stdout.split('\n').filter((l) => l !== ''), stderr: result.stderr };
}

const epoch = (f: Frame): string => `${f.tsSec}.${String(f.tsNsec).padStart(9, '0')}`;

let dir = '';
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uvs-pcap-writer-'));
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});
const out = (name: string): string => path.join(dir, name);

describe('pcap writer: classic pcap', () => {
  it('rewrites the scapy-made microsecond pcap byte for byte', () => {
    copyCapture(fixture('le-us.pcap'), new PcapWriter(out('le-us.pcap'), 1));
    assert.ok(fs.readFileSync(out('le-us.pcap')).equals(fs.readFileSync(fixture('le-us.pcap'))));
  });

  it('rewrites the scapy-made nanosecond pcap byte for byte', () => {
    copyCapture(fixture('le-ns.pcap'), new PcapWriter(out('le-ns.pcap'), 1, { nanosecond: true }));
    assert.ok(fs.readFileSync(out('le-ns.pcap')).equals(fs.readFileSync(fixture('le-ns.pcap'))));
  });

  it('round-trips the big-endian pcap and both pcapng fixtures (nanoseconds truncated in a microsecond file)', () => {
    for (const name of ['be-us.pcap', 'scapy-us.pcapng', 'editcap-ns.pcapng']) {
      for (const nanosecond of [false, true]) {
        const written = out(`${name}-${nanosecond}.pcap`);
        assert.equal(copyCapture(fixture(name), new PcapWriter(written, 1, { nanosecond })), 10);
        const original = readAll(fixture(name));
        assertSameFrames(readAll(written), nanosecond ? original : toMicroseconds(original), `${name} -> ${written}`);
      }
    }
  });

  it('gives the same file with a tiny output buffer (flushing and growing for big packets)', () => {
    copyCapture(fixture('le-us.pcap'), new PcapWriter(out('tiny-buffer.pcap'), 1, { bufferSize: 64 }));
    assert.ok(fs.readFileSync(out('tiny-buffer.pcap')).equals(fs.readFileSync(fixture('le-us.pcap'))));
  });

  it('writes and reads back a packet of the largest allowed size', () => {
    const big = new Uint8Array(262144 + 10);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    const w = new PcapWriter(out('big.pcap'), 1, { bufferSize: 4096 });
    w.writePacket(0, big, 10, 262144, 1, 2000);
    w.close();
    const [frame] = readAll(out('big.pcap'));
    assert.ok(frame !== undefined);
    assert.equal(frame.capLen, 262144);
    assert.ok(frame.data.equals(big.subarray(10)));
    assert.deepEqual([frame.tsSec, frame.tsNsec], [1, 2000]);
  });
});

describe('pcap writer: pcapng', () => {
  it('round-trips every fixture in microseconds and nanoseconds', () => {
    for (const name of ['le-us.pcap', 'le-ns.pcap', 'scapy-us.pcapng', 'editcap-ns.pcapng']) {
      for (const nanosecond of [false, true]) {
        const written = out(`${name}-${nanosecond}.pcapng`);
        copyCapture(fixture(name), new PcapngWriter(written, [{ name: 'eth0', linkType: 1 }], nanosecond));
        const original = readAll(fixture(name));
        assertSameFrames(readAll(written), nanosecond ? original : toMicroseconds(original), `${name} -> ${written}`);
      }
    }
  });

  it('keeps two interfaces with different link types apart', () => {
    const written = out('two-links.pcapng');
    const w = new PcapngWriter(written, [{ name: 'eth0', linkType: 1 }, { name: 'tun0', linkType: 101 }], true);
    copyCapture(fixture('multi.pcapng'), w, (r) => (r.linkType === 1 ? 0 : 1));
    const expected = readAll(fixture('multi.pcapng')).map((f) => ({ ...f, ifIndex: f.linkType === 1 ? 0 : 1 }));
    assertSameFrames(readAll(written), expected, written);
    const r = CaptureReader.open(written);
    assert.deepEqual(r.interfaces.map((i) => [i.name, i.linkType, i.unitsPerSecond]), [['eth0', 1, 1e9], ['tun0', 101, 1e9]]);
    r.close();
  });

  it('rejects a packet for an interface it did not declare, and bad timestamps and lengths', () => {
    const w = new PcapngWriter(out('bad.pcapng'), [{ name: 'eth0', linkType: 1 }], false);
    const data = new Uint8Array(60);
    assert.throws(() => w.writePacket(1, data, 0, 60, 0, 0), /interface 1 was not declared/);
    assert.throws(() => w.writePacket(0, data, 0, 60, 0, 1e9), /nanoseconds 1000000000 is not in \[0, 10\^9\)/);
    assert.throws(() => w.writePacket(0, data, 0, 60, -1, 0), /seconds -1 is not an unsigned 32-bit integer/);
    assert.throws(() => w.writePacket(0, data, 10, 60, 0, 0), /packet bytes \[10, 70\) are outside the 60-byte buffer/);
    assert.throws(() => w.writePacket(0, data, 0, 60, 0, 0, 2 ** 32), /original length 4294967296 is not an unsigned 32-bit/);
    assert.throws(() => w.writePacket(0, new Uint8Array(262145), 0, 262145, 0, 0), /packet length 262145 exceeds the 262144-byte limit/);
    assert.equal(w.packets, 0);
    w.abort();
  });
});

describe('pcap writer: temporary file and rename', () => {
  for (const kind of ['pcap', 'pcapng'] as const) {
    const make = (file: string): CaptureWriter =>
      kind === 'pcap' ? new PcapWriter(file, 1) : new PcapngWriter(file, [{ name: 'eth0', linkType: 1 }], false);
    const data = new Uint8Array(64).fill(0xab);

    it(`${kind}: writes under <path>.tmp-<pid> and renames on close`, () => {
      const file = out(`renamed.${kind}`);
      const w = make(file);
      w.writePacket(0, data, 0, 64, 100, 0);
      assert.equal(fs.existsSync(file), false, 'no final file while writing');
      assert.ok(fs.existsSync(`${file}.tmp-${process.pid}`));
      w.close();
      assert.ok(fs.existsSync(file));
      assert.equal(fs.existsSync(`${file}.tmp-${process.pid}`), false);
      assert.equal(readAll(file).length, 1);
      w.close(); // a second close is harmless
    });

    it(`${kind}: abort removes the temporary file and leaves an older final file alone`, () => {
      const file = out(`aborted.${kind}`);
      fs.writeFileSync(file, 'previous run');
      const w = make(file);
      w.writePacket(0, data, 0, 64, 100, 0);
      w.abort();
      assert.equal(fs.existsSync(`${file}.tmp-${process.pid}`), false);
      assert.equal(fs.readFileSync(file, 'utf8'), 'previous run');
      assert.throws(() => w.writePacket(0, data, 0, 64, 100, 0), /write after close/);
    });
  }
});

describe('pcap writer: tshark reads what we write', () => {
  const cases: Array<{ file: string; make: (file: string) => CaptureWriter; ifIndexOf?: (r: CaptureReader) => number; source: string }> = [
    { file: 'ts-us.pcap', source: 'le-ns.pcap', make: (f) => new PcapWriter(f, 1) },
    { file: 'ts-ns.pcap', source: 'le-ns.pcap', make: (f) => new PcapWriter(f, 1, { nanosecond: true }) },
    { file: 'ts-us.pcapng', source: 'le-ns.pcap', make: (f) => new PcapngWriter(f, [{ name: 'eth0', linkType: 1 }], false) },
    { file: 'ts-ns.pcapng', source: 'le-ns.pcap', make: (f) => new PcapngWriter(f, [{ name: 'eth0', linkType: 1 }], true) },
    {
      file: 'ts-two.pcapng', source: 'multi.pcapng',
      make: (f) => new PcapngWriter(f, [{ name: 'eth0', linkType: 1 }, { name: 'tun0', linkType: 101 }], true),
      ifIndexOf: (r) => (r.linkType === 1 ? 0 : 1),
    },
  ];
  for (const c of cases) {
    it(`${c.file}: tshark exits 0 and sees our packets, lengths and timestamps`, function () {
      if (tsharkMissing) {
        console.log('      (skipped: tshark is not installed, so the written files are not cross-checked)');
        this.skip();
      }
      const file = out(c.file);
      const count = copyCapture(fixture(c.source), c.make(file), c.ifIndexOf);
      const ours = readAll(file);
      assert.equal(ours.length, count);
      const seen = tshark(file);
      assert.equal(seen.status, 0, `tshark failed: ${seen.stderr}`);
      assert.equal(seen.lines.length, count, 'tshark packet count');
      ours.forEach((f, i) => {
        const fields = (seen.lines[i] as string).split('\t');
        assert.equal(fields[0], epoch(f), `packet ${i} timestamp`);
        assert.equal(fields[1], String(f.capLen), `packet ${i} captured length`);
        assert.equal(fields[2], String(f.origLen), `packet ${i} original length`);
        if (c.file.endsWith('.pcapng')) assert.equal(fields[3], String(f.ifIndex), `packet ${i} interface`);
      });
    });
  }
});
