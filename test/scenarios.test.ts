/**
 * The golden scenarios: every pcaps/<scenario>/ is replayed through the engine and its output
 * compared frame for frame, byte for byte, with expected.pcap (built independently by scapy, see
 * scripts/make_goldens.py); the summary is compared with expected.json; every output frame must
 * pass tshark's checksum validation; and a second replay must give the same bytes.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { replay } from '../src/cli/replay';
import { CaptureReader } from '../src/pcap/capture-reader';
import { describeFrameDifference } from './support/frame-diff';
import { tsharkAvailable, tsharkChecksumProblems } from './support/tshark';

const PCAPS = path.resolve(__dirname, '../../pcaps');

interface Frame {
  bytes: Uint8Array;
  tsSec: number;
  tsNsec: number;
}

function readFrames(file: string): Frame[] {
  const r = CaptureReader.open(file);
  const frames: Frame[] = [];
  try {
    while (r.next()) frames.push({ bytes: r.copyPacket(), tsSec: r.tsSec, tsNsec: r.tsNsec });
  } finally {
    r.close();
  }
  return frames;
}

interface Expected {
  in?: number;
  out?: number;
  dropped?: Record<string, number>;
  connections?: number;
  perRealServer?: Record<string, { connections?: number }>;
  fragmentedPackets?: number;
  fragmentsExtra?: number;
}

// A scenario with a `changes` file (pcaps/nodest-*) needs its uvsadm commands applied between
// frames, which a plain replay can not do: test/ipvs-nodest.test.ts replays those.
const scenarios = fs.existsSync(PCAPS)
  ? fs.readdirSync(PCAPS)
    .filter((d) => fs.existsSync(path.join(PCAPS, d, 'in.pcap')) && !fs.existsSync(path.join(PCAPS, d, 'changes')))
    .sort()
  : [];

describe('golden scenarios (pcaps/*)', function () {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'uvs-scenarios-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('there are scenarios to run', () => {
    assert.ok(scenarios.length >= 8, `only ${scenarios.length} scenarios under ${PCAPS}`);
  });

  for (const name of scenarios) {
    describe(name, () => {
      const dir = path.join(PCAPS, name);
      const out = path.join(tmp, `${name}.pcap`);
      let result: ReturnType<typeof replay>;

      before(() => {
        result = replay({
          input: path.join(dir, 'in.pcap'),
          output: out,
          rules: path.join(dir, 'rules'),
          director: path.join(dir, 'director'),
        });
      });

      it('transmits exactly the expected frames', () => {
        const expected = readFrames(path.join(dir, 'expected.pcap'));
        const actual = readFrames(out);
        const n = Math.min(expected.length, actual.length);
        for (let i = 0; i < n; i++) {
          const diff = describeFrameDifference(expected[i].bytes, actual[i].bytes);
          assert.equal(diff, null, `${name}: output frame ${i + 1}: ${diff}`);
          assert.deepEqual([actual[i].tsSec, actual[i].tsNsec], [expected[i].tsSec, expected[i].tsNsec],
            `${name}: output frame ${i + 1}: timestamp`);
        }
        assert.equal(actual.length, expected.length, `${name}: number of output frames`);
      });

      it('reports the expected summary', function () {
        const file = path.join(dir, 'expected.json');
        if (!fs.existsSync(file)) this.skip();
        const exp = JSON.parse(fs.readFileSync(file, 'utf8')) as Expected;
        const s = result.summary;
        if (exp.in !== undefined) assert.equal(s.in, exp.in, 'frames in');
        if (exp.out !== undefined) assert.equal(s.out, exp.out, 'frames out');
        if (exp.dropped !== undefined) assert.deepEqual(s.dropped, exp.dropped, 'drops by reason');
        if (exp.connections !== undefined) assert.equal(s.connections, exp.connections, 'connections made');
        if (exp.fragmentedPackets !== undefined) assert.equal(s.fragmentedPackets, exp.fragmentedPackets, 'packets fragmented');
        if (exp.fragmentsExtra !== undefined) assert.equal(s.fragmentsExtra, exp.fragmentsExtra, 'fragments beyond the first');
        for (const [server, want] of Object.entries(exp.perRealServer ?? {})) {
          assert.ok(s.perRealServer[server], `real server ${server} missing from the summary`);
          if (want.connections !== undefined) {
            assert.equal(s.perRealServer[server].connections, want.connections, `connections of ${server}`);
          }
        }
      });

      it('passes tshark checksum validation', function () {
        if (!tsharkAvailable()) this.skip();
        assert.deepEqual(tsharkChecksumProblems(out), []);
      });

      it('is deterministic: a second replay gives the same bytes', () => {
        const again = path.join(tmp, `${name}-again.pcap`);
        replay({ input: path.join(dir, 'in.pcap'), output: again, rules: path.join(dir, 'rules'), director: path.join(dir, 'director') });
        assert.ok(Buffer.from(fs.readFileSync(out)).equals(fs.readFileSync(again)), 'outputs differ');
      });
    });
  }
});
