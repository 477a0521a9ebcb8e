/**
 * `uvs replay` as a user runs it: the real CLI (dist/src/cli/uvs.js) spawned with node, after
 * `npx tsc -p .`. Usage and input errors (exit codes, one clear line, no stack trace, no output
 * file left behind), --summary-json / --quiet, determinism across processes and input formats
 * (pcapng, big-endian, nanosecond), pcapng output for a director with two links, and the
 * run-writing fast path of src/cli/replay.ts over a capture of many 4 MiB read chunks, checked
 * against outputs worked out here from notes/forwarding-spec.md.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CaptureReader } from '../src/pcap/capture-reader';
import { PcapWriter } from '../src/pcap/pcap-writer';
import { PcapngWriter } from '../src/pcap/pcapng-writer';
import {
  arp, drExpected, icmpEcho, ipipExpected, ipv4, ipv4Packet, ipv6, prng, TCP_ACK, TCP_SYN, tcp, timeExceededExpected, udp,
} from './fixtures/engine/frames';

const ROOT = path.resolve(__dirname, '../..');
const UVS = path.join(ROOT, 'dist/src/cli/uvs.js');
const PCAPS = path.join(ROOT, 'pcaps');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function uvs(args: string[]): Run {
  const r = spawnSync(process.execPath, [UVS, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Frame {
  bytes: Buffer;
  tsSec: number;
  tsNsec: number;
  ifIndex: number;
}

function readFrames(file: string): Frame[] {
  const r = CaptureReader.open(file);
  const frames: Frame[] = [];
  try {
    while (r.next()) frames.push({ bytes: Buffer.from(r.copyPacket()), tsSec: r.tsSec, tsNsec: r.tsNsec, ifIndex: r.ifIndex });
  } finally {
    r.close();
  }
  return frames;
}

function assertSameFrames(actual: Frame[], expected: Frame[], label: string, timestamps = true): void {
  const n = Math.min(actual.length, expected.length);
  for (let i = 0; i < n; i++) {
    if (!actual[i].bytes.equals(expected[i].bytes)) {
      assert.fail(`${label}: frame ${i + 1} differs:\n  got      ${actual[i].bytes.toString('hex')}\n  expected ${expected[i].bytes.toString('hex')}`);
    }
    if (timestamps) {
      assert.deepEqual([actual[i].tsSec, actual[i].tsNsec], [expected[i].tsSec, expected[i].tsNsec], `${label}: frame ${i + 1} timestamp`);
    }
  }
  assert.equal(actual.length, expected.length, `${label}: number of frames`);
}

/** Asserts the usual things about a failed run: exit code, one line naming the problem, no trace. */
function assertFailure(r: Run, status: number, pattern: RegExp): void {
  assert.equal(r.status, status, `exit code (stderr: ${r.stderr})`);
  assert.ok(!r.stderr.includes('    at '), `stack trace on stderr:\n${r.stderr}`);
  assert.equal(r.stdout, '', 'nothing on stdout');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  const problem = lines.filter((l) => !l.startsWith('usage:'));
  assert.equal(problem.length, 1, `one line naming the problem, got:\n${r.stderr}`);
  assert.match(problem[0], pattern);
}

/** Neither OUT nor OUT.tmp-* exists. */
function assertNoOutput(out: string): void {
  const base = path.basename(out);
  const left = fs.readdirSync(path.dirname(out)).filter((f) => f === base || f.startsWith(`${base}.tmp-`));
  assert.deepEqual(left, [], 'output files left behind');
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** File offsets of the records of a little-endian classic pcap. */
function recordOffsets(file: Buffer): number[] {
  const offs: number[] = [];
  for (let p = 24; p + 16 <= file.length; p += 16 + file.readUInt32LE(p + 8)) offs.push(p);
  return offs;
}

/** The same capture as a big-endian classic pcap (µs). */
function toBigEndian(file: Buffer): Buffer {
  const out = Buffer.from(file);
  out.writeUInt32BE(0xa1b2c3d4, 0);
  out.writeUInt16BE(file.readUInt16LE(4), 4);
  out.writeUInt16BE(file.readUInt16LE(6), 6);
  out.writeInt32BE(file.readInt32LE(8), 8);
  for (const at of [12, 16, 20]) out.writeUInt32BE(file.readUInt32LE(at), at);
  for (const p of recordOffsets(file)) {
    for (let k = 0; k < 16; k += 4) out.writeUInt32BE(file.readUInt32LE(p + k), p + k);
  }
  return out;
}

// A scenario with a `changes` file (pcaps/nodest-*) needs its uvsadm commands applied between
// frames, which `uvs replay` does not do: test/ipvs-nodest.test.ts replays those.
const SCENARIO_NAMES = fs.existsSync(PCAPS)
  ? fs.readdirSync(PCAPS)
    .filter((d) => fs.existsSync(path.join(PCAPS, d, 'in.pcap')) && !fs.existsSync(path.join(PCAPS, d, 'changes')))
    .sort()
  : [];

function scenario(name: string): { input: string; rules: string; director: string; expected: string } {
  const dir = path.join(PCAPS, name);
  return {
    input: path.join(dir, 'in.pcap'),
    rules: path.join(dir, 'rules'),
    director: path.join(dir, 'director'),
    expected: path.join(dir, 'expected.json'),
  };
}

function replayArgs(input: string, out: string, rules: string, director: string, ...more: string[]): string[] {
  return ['replay', input, '-o', out, '--rules', rules, '--director', director, ...more];
}

describe('uvs replay (the CLI, spawned)', function () {
  this.timeout(120000);
  let tmp: string;
  before(function () {
    if (!fs.existsSync(UVS)) throw new Error(`${UVS} is missing: run npx tsc -p . first`);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'uvs-cli-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const DR = scenario('dr-tcp-rr');

  describe('usage errors: exit 2, one line naming the problem, no stack trace', () => {
    const cases: [string, () => string[], RegExp][] = [
      ['no arguments', () => ['replay'], /^uvs replay: missing input capture$/],
      ['an unknown option', () => replayArgs(DR.input, path.join(tmp, 'u1.pcap'), DR.rules, DR.director, '--frobnicate'),
        /^uvs replay: unknown option --frobnicate$/],
      ['missing -o', () => ['replay', DR.input, '--rules', DR.rules, '--director', DR.director], /^uvs replay: missing -o\b/],
      ['missing --rules', () => ['replay', DR.input, '-o', path.join(tmp, 'u2.pcap'), '--director', DR.director], /^uvs replay: missing --rules\b/],
      ['missing --director', () => ['replay', DR.input, '-o', path.join(tmp, 'u3.pcap'), '--rules', DR.rules], /^uvs replay: missing --director\b/],
      ['-o given twice', () => [...replayArgs(DR.input, path.join(tmp, 'u4.pcap'), DR.rules, DR.director), '-o', path.join(tmp, 'u5.pcap')],
        /^uvs replay: option -o given twice$/],
      ['--output= after -o', () => [...replayArgs(DR.input, path.join(tmp, 'u6.pcap'), DR.rules, DR.director), `--output=${path.join(tmp, 'u7.pcap')}`],
        /^uvs replay: option --output given twice$/],
      ['--rules given twice', () => [...replayArgs(DR.input, path.join(tmp, 'u8.pcap'), DR.rules, DR.director), '--rules', DR.rules],
        /^uvs replay: option --rules given twice$/],
      ['an option without its value', () => ['replay', DR.input, '--rules', DR.rules, '--director', DR.director, '-o'],
        /^uvs replay: option -o needs a value$/],
      ['two inputs', () => [...replayArgs(DR.input, path.join(tmp, 'u9.pcap'), DR.rules, DR.director), DR.input],
        /^uvs replay: unexpected argument /],
    ];
    for (const [what, args, pattern] of cases) {
      it(what, () => {
        const r = uvs(args());
        assertFailure(r, 2, pattern);
        assert.match(r.stderr, /\nusage: uvs replay IN -o OUT/);
      });
    }

    it('no output file is created by a usage error', () => {
      for (const n of ['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7', 'u8', 'u9']) assertNoOutput(path.join(tmp, `${n}.pcap`));
    });

    it('`uvs` alone and an unknown command: exit 2, usage, no stack trace', () => {
      const bare = uvs([]);
      assert.equal(bare.status, 2);
      assert.match(bare.stderr, /^usage: uvs <command>/);
      const unknown = uvs(['frobnicate']);
      assert.equal(unknown.status, 2);
      assert.match(unknown.stderr, /^uvs: unknown command 'frobnicate'\n/);
      for (const r of [bare, unknown]) assert.ok(!r.stderr.includes('    at '));
    });
  });

  describe('bad captures: exit 1, file and byte offset named, no output left behind', () => {
    const run = (input: string, out: string) => uvs(replayArgs(input, out, DR.rules, DR.director));
    const original = (): Buffer => fs.readFileSync(DR.input);

    it('a missing input file', () => {
      const input = path.join(tmp, 'does-not-exist.pcap');
      const out = path.join(tmp, 'b1.pcap');
      assertFailure(run(input, out), 1, new RegExp(`^uvs replay: .*${escapeRe(input)}`));
      assertNoOutput(out);
    });

    it('a capture cut in the middle of a record', () => {
      const file = original();
      const recs = recordOffsets(file);
      const at = recs[5];
      const input = path.join(tmp, 'cut-record.pcap');
      fs.writeFileSync(input, file.subarray(0, at + 16 + 10));
      const out = path.join(tmp, 'b2.pcap');
      assertFailure(run(input, out), 1, new RegExp(`^uvs replay: ${escapeRe(input)}: byte ${at}: truncated record\\b`));
      assertNoOutput(out);
    });

    it('a capture cut in the middle of a record header', () => {
      const file = original();
      const at = recordOffsets(file)[7];
      const input = path.join(tmp, 'cut-header.pcap');
      fs.writeFileSync(input, file.subarray(0, at + 9));
      const out = path.join(tmp, 'b3.pcap');
      assertFailure(run(input, out), 1, new RegExp(`^uvs replay: ${escapeRe(input)}: byte ${at}: truncated record header\\b`));
      assertNoOutput(out);
    });

    it('garbage bytes', () => {
      const input = path.join(tmp, 'garbage.pcap');
      fs.writeFileSync(input, Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 37 + 11) & 0xff)));
      const out = path.join(tmp, 'b4.pcap');
      assertFailure(run(input, out), 1, new RegExp(`^uvs replay: ${escapeRe(input)}: byte 0: not a pcap or pcapng file`));
      assertNoOutput(out);
    });

    it('an empty file', () => {
      const input = path.join(tmp, 'empty.pcap');
      fs.writeFileSync(input, '');
      const out = path.join(tmp, 'b5.pcap');
      assertFailure(run(input, out), 1, new RegExp(`^uvs replay: ${escapeRe(input)}: byte 0: empty file`));
      assertNoOutput(out);
    });

    it('a capture of another link type (101, raw IP)', () => {
      const input = path.join(tmp, 'raw-ip.pcap');
      const w = new PcapWriter(input, 101);
      const pkt = ipv4Packet({ src: '203.0.113.7', dst: '192.0.2.10', l4: udp({ sport: 1000, dport: 80 }) });
      w.writePacket(0, pkt, 0, pkt.length, 1_700_000_000, 0);
      w.close();
      const out = path.join(tmp, 'b6.pcap');
      assertFailure(run(input, out), 1, new RegExp(`^uvs replay: ${escapeRe(input)}: byte 24: link type 101 is not supported`));
      assertNoOutput(out);
    });

    it('a pcapng cut in the middle of a block, replayed to a pcapng output (two links)', () => {
      const ng = path.join(tmp, 'cut.pcapng');
      const w = new PcapngWriter(ng, [{ name: 'eth0', linkType: 1 }], false);
      const r = CaptureReader.open(DR.input);
      try {
        while (r.next()) w.writePacket(0, r.data, r.offset, r.capLen, r.tsSec, r.tsNsec);
      } finally {
        r.close();
      }
      w.close();
      const whole = fs.readFileSync(ng);
      fs.writeFileSync(ng, whole.subarray(0, whole.length - 30));
      const director = path.join(tmp, 'cut-two-links.director');
      fs.writeFileSync(director, `${fs.readFileSync(DR.director, 'utf8')}\nlink eth1 mac 02:00:00:00:00:02\n`);
      const out = path.join(tmp, 'b8.pcapng');
      assertFailure(uvs(replayArgs(ng, out, DR.rules, director)), 1, new RegExp(`^uvs replay: ${escapeRe(ng)}: byte \\d+: `));
      assertNoOutput(out);
    });

    it('a failed replay leaves an existing OUT untouched', () => {
      const file = original();
      const input = path.join(tmp, 'cut-late.pcap');
      fs.writeFileSync(input, file.subarray(0, file.length - 3));
      const out = path.join(tmp, 'b7.pcap');
      fs.writeFileSync(out, 'precious');
      assertFailure(run(input, out), 1, /truncated record/);
      assert.equal(fs.readFileSync(out, 'utf8'), 'precious');
      assert.deepEqual(fs.readdirSync(tmp).filter((f) => f.startsWith('b7.pcap.tmp-')), []);
    });
  });

  describe('configuration errors: exit 1, FILE:LINE: reason, no output', () => {
    it('a rules file with a mistake on line 3', () => {
      const rules = path.join(tmp, 'bad.rules');
      fs.writeFileSync(rules, [
        '-A -t 192.0.2.10:80 -s rr',
        '-a -t 192.0.2.10:80 -r 10.0.0.11:80 -g -w 1',
        '-a -t 192.0.2.10:80 -r 10.0.0.12:80 -g -w banana',
        '',
      ].join('\n'));
      const out = path.join(tmp, 'c1.pcap');
      assertFailure(uvs(replayArgs(DR.input, out, rules, DR.director)), 1, new RegExp(`^uvs replay: ${escapeRe(rules)}:3: \\S`));
      assertNoOutput(out);
    });

    it('a rules file naming a scheduler that does not exist: the message names it and the known ones', () => {
      const rules = path.join(tmp, 'sched.rules');
      fs.writeFileSync(rules, '# comment\n-A -t 192.0.2.10:80 -s bogus\n');
      const out = path.join(tmp, 'c2.pcap');
      assertFailure(uvs(replayArgs(DR.input, out, rules, DR.director)), 1,
        new RegExp(`^uvs replay: ${escapeRe(rules)}:2: Scheduler or persistence engine not found: 'bogus' \\(known: .*rr.*wlc`));
      assertNoOutput(out);
    });

    it('a director file with a mistake on line 2', () => {
      const director = path.join(tmp, 'bad.director');
      fs.writeFileSync(director, 'link eth0 mac 02:00:00:00:00:01\naddr 10.0.0.1 dev eth0\n');
      const out = path.join(tmp, 'c3.pcap');
      assertFailure(uvs(replayArgs(DR.input, out, DR.rules, director)), 1, new RegExp(`^uvs replay: ${escapeRe(director)}:2: .*prefix length`));
      assertNoOutput(out);
    });

    it('a missing rules file', () => {
      const rules = path.join(tmp, 'nope.rules');
      const out = path.join(tmp, 'c4.pcap');
      assertFailure(uvs(replayArgs(DR.input, out, rules, DR.director)), 1, new RegExp(`^uvs replay: ${escapeRe(rules)}\\b.*cannot read`));
      assertNoOutput(out);
    });
  });

  describe('summaries', () => {
    interface ExpectedJson {
      in: number;
      out: number;
      dropped: Record<string, number>;
      connections: number;
      perRealServer: Record<string, { connections: number }>;
      fragmentedPackets?: number;
      fragmentsExtra?: number;
    }

    for (const name of SCENARIO_NAMES) {
      it(`${name}: --summary-json matches expected.json; stdout names every drop reason`, () => {
        const s = scenario(name);
        const out = path.join(tmp, `s-${name}.pcap`);
        const json = path.join(tmp, `s-${name}.json`);
        const r = uvs(replayArgs(s.input, out, s.rules, s.director, '--summary-json', json));
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stderr, '');
        const got = JSON.parse(fs.readFileSync(json, 'utf8')) as ExpectedJson;
        const want = JSON.parse(fs.readFileSync(s.expected, 'utf8')) as ExpectedJson;
        assert.equal(got.in, want.in, 'in');
        assert.equal(got.out, want.out, 'out');
        assert.deepEqual(got.dropped, want.dropped, 'dropped');
        assert.equal(got.connections, want.connections, 'connections');
        if (want.fragmentedPackets !== undefined) assert.equal(got.fragmentedPackets, want.fragmentedPackets, 'fragmentedPackets');
        if (want.fragmentsExtra !== undefined) assert.equal(got.fragmentsExtra, want.fragmentsExtra, 'fragmentsExtra');
        for (const [rs, c] of Object.entries(want.perRealServer)) assert.equal(got.perRealServer[rs]?.connections, c.connections, rs);
        assert.match(r.stdout, new RegExp(`frames in ${want.in}, out ${want.out}\\b`));
        for (const [reason, n] of Object.entries(want.dropped)) {
          assert.match(r.stdout, new RegExp(`\\b${escapeRe(reason)}\\s+${n}\\b`), `stdout mentions ${reason}`);
        }
        assert.deepEqual(fs.readdirSync(tmp).filter((f) => f.startsWith(`s-${name}.json.tmp`)), []);
      });
    }

    it('--quiet prints nothing (and still writes the output and the JSON)', () => {
      const out = path.join(tmp, 'quiet.pcap');
      const json = path.join(tmp, 'quiet.json');
      const r = uvs(replayArgs(DR.input, out, DR.rules, DR.director, '--quiet', '--summary-json', json));
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, '');
      assert.ok(fs.statSync(out).size > 24);
      assert.equal((JSON.parse(fs.readFileSync(json, 'utf8')) as { in: number }).in, 22);
    });
  });

  describe('determinism across processes and input formats', () => {
    const reference = new Map<string, string>();
    const ref = (name: string): string => {
      let out = reference.get(name);
      if (out === undefined) {
        const s = scenario(name);
        out = path.join(tmp, `ref-${name}.pcap`);
        const r = uvs(replayArgs(s.input, out, s.rules, s.director, '--quiet'));
        assert.equal(r.status, 0, r.stderr);
        reference.set(name, out);
      }
      return out;
    };

    for (const name of SCENARIO_NAMES) {
      it(`${name}: two runs give the same bytes; pcapng, big-endian and nanosecond inputs give the same frames`, () => {
        const s = scenario(name);
        const a = ref(name);
        const b = path.join(tmp, `again-${name}.pcap`);
        assert.equal(uvs(replayArgs(s.input, b, s.rules, s.director, '--quiet')).status, 0);
        assert.ok(fs.readFileSync(a).equals(fs.readFileSync(b)), 'second run differs');
        const want = readFrames(a);
        const input = readFrames(s.input);

        // pcapng written by the project's own writer (µs): a pcap output with the same frames.
        const ng = path.join(tmp, `in-${name}.pcapng`);
        const w = new PcapngWriter(ng, [{ name: 'eth0', linkType: 1 }], false);
        for (const f of input) w.writePacket(0, f.bytes, 0, f.bytes.length, f.tsSec, f.tsNsec);
        w.close();
        const ngOut = path.join(tmp, `from-ng-${name}.pcap`);
        let r = uvs(replayArgs(ng, ngOut, s.rules, s.director, '--quiet'));
        assert.equal(r.status, 0, r.stderr);
        assertSameFrames(readFrames(ngOut), want, `${name} from pcapng`);

        // Big-endian classic pcap: byte-identical output (the output is always little-endian).
        const be = path.join(tmp, `in-${name}-be.pcap`);
        fs.writeFileSync(be, toBigEndian(fs.readFileSync(s.input)));
        const beOut = path.join(tmp, `from-be-${name}.pcap`);
        r = uvs(replayArgs(be, beOut, s.rules, s.director, '--quiet'));
        assert.equal(r.status, 0, r.stderr);
        assert.ok(fs.readFileSync(beOut).equals(fs.readFileSync(a)), 'big-endian input: output differs');

        // Nanosecond pcap with sub-microsecond parts: a nanosecond output keeping them.
        const ns = path.join(tmp, `in-${name}-ns.pcap`);
        const nw = new PcapWriter(ns, 1, { nanosecond: true });
        for (const f of input) nw.writePacket(0, f.bytes, 0, f.bytes.length, f.tsSec, f.tsNsec + 789);
        nw.close();
        const nsOut = path.join(tmp, `from-ns-${name}.pcap`);
        r = uvs(replayArgs(ns, nsOut, s.rules, s.director, '--quiet'));
        assert.equal(r.status, 0, r.stderr);
        const nsReader = CaptureReader.open(nsOut);
        try {
          assert.equal(nsReader.nanosecond, true, 'nanosecond output for a nanosecond input');
        } finally {
          nsReader.close();
        }
        assertSameFrames(readFrames(nsOut), want.map((f) => ({ ...f, tsNsec: f.tsNsec + 789 })), `${name} from ns pcap`);
      });
    }

    it('a pcapng made by editcap gives the same frames', function () {
      const probe = spawnSync('editcap', ['-h'], { encoding: 'utf8' });
      if (probe.error) this.skip();
      for (const name of ['dr-udp-wrr', 'fullnat-tcp', 'expiry']) {
        if (!SCENARIO_NAMES.includes(name)) continue;
        const s = scenario(name);
        const ng = path.join(tmp, `editcap-${name}.pcapng`);
        const e = spawnSync('editcap', ['-F', 'pcapng', s.input, ng], { encoding: 'utf8' });
        assert.equal(e.status, 0, e.stderr);
        const out = path.join(tmp, `from-editcap-${name}.pcap`);
        const r = uvs(replayArgs(ng, out, s.rules, s.director, '--quiet'));
        assert.equal(r.status, 0, r.stderr);
        assertSameFrames(readFrames(out), readFrames(ref(name)), `${name} from editcap pcapng`);
      }
    });
  });

  describe('a director with two links', () => {
    const DIRECTOR = [
      'link eth0 mac 02:00:00:00:00:01',
      'link eth1 mac 02:00:00:00:00:02',
      'addr 10.0.0.1/24 dev eth0',
      'addr 10.0.1.1/24 dev eth1',
      'neigh 10.0.0.254 lladdr 02:00:00:00:00:fe dev eth0',
      'neigh 10.0.0.11 lladdr 02:00:00:00:01:11 dev eth0',
      'neigh 10.0.1.12 lladdr 02:00:00:00:02:12 dev eth1',
      'route default via 10.0.0.254 dev eth0',
      '',
    ].join('\n');
    // NAT, rr; the list is 10.0.1.12 (eth1), 10.0.0.11 (eth0).
    const RULES = [
      '-A -t 192.0.2.10:80 -s rr',
      '-a -t 192.0.2.10:80 -r 10.0.0.11:8080 -m -w 1',
      '-a -t 192.0.2.10:80 -r 10.0.1.12:8080 -m -w 1',
      '',
    ].join('\n');
    const frames = [
      ipv4({ src: '203.0.113.1', dst: '192.0.2.10', l4: tcp({ sport: 40001, dport: 80, flags: TCP_SYN }) }),
      ipv4({ src: '203.0.113.2', dst: '192.0.2.10', l4: tcp({ sport: 40002, dport: 80, flags: TCP_SYN }) }),
      arp('10.0.0.254', '10.0.0.1'),
      ipv4({ src: '10.0.1.12', dst: '203.0.113.1', l4: tcp({ sport: 8080, dport: 40001, flags: TCP_SYN | TCP_ACK }), eth: { src: '02:00:00:00:02:12', dst: '02:00:00:00:00:02' } }),
      ipv4({ src: '10.0.0.11', dst: '203.0.113.2', l4: tcp({ sport: 8080, dport: 40002, flags: TCP_SYN | TCP_ACK }), eth: { src: '02:00:00:00:01:11' } }),
      ipv4({ src: '203.0.113.1', dst: '192.0.2.10', l4: tcp({ sport: 40001, dport: 80, flags: TCP_ACK }) }),
    ];
    // egress link index, source MAC (the link's), destination MAC (next hop)
    const expected: [number, string, string][] = [
      [1, '02:00:00:00:00:02', '02:00:00:00:02:12'],
      [0, '02:00:00:00:00:01', '02:00:00:00:01:11'],
      [0, '02:00:00:00:00:01', '02:00:00:00:00:fe'],
      [0, '02:00:00:00:00:01', '02:00:00:00:00:fe'],
      [1, '02:00:00:00:00:02', '02:00:00:00:02:12'],
    ];
    const causes = [0, 1, 3, 4, 5];

    for (const nanosecond of [false, true]) {
      it(`writes pcapng with one interface per link and each frame on its egress link (${nanosecond ? 'ns' : 'µs'} input)`, () => {
        const input = path.join(tmp, `two-links-${nanosecond}.pcap`);
        const w = new PcapWriter(input, 1, { nanosecond });
        frames.forEach((f, i) => w.writePacket(0, f, 0, f.length, 1_700_000_000 + i, nanosecond ? 123_456_789 : 123_456_000));
        w.close();
        const rules = path.join(tmp, 'two-links.rules');
        const director = path.join(tmp, 'two-links.director');
        fs.writeFileSync(rules, RULES);
        fs.writeFileSync(director, DIRECTOR);
        const out = path.join(tmp, `two-links-${nanosecond}.pcapng`);
        const r = uvs(replayArgs(input, out, rules, director, '--quiet'));
        assert.equal(r.status, 0, r.stderr);
        const reader = CaptureReader.open(out);
        try {
          assert.equal(reader.format, 'pcapng');
          assert.deepEqual(reader.interfaces.map((i) => [i.name, i.linkType, i.nanosecond]), [['eth0', 1, nanosecond], ['eth1', 1, nanosecond]]);
        } finally {
          reader.close();
        }
        const got = readFrames(out);
        assert.equal(got.length, expected.length);
        got.forEach((f, i) => {
          const [link, src, dst] = expected[i];
          assert.equal(f.ifIndex, link, `frame ${i + 1}: interface`);
          assert.equal(Buffer.from(f.bytes.subarray(6, 12)).toString('hex').replace(/(..)(?!$)/g, '$1:'), src, `frame ${i + 1}: source MAC`);
          assert.equal(Buffer.from(f.bytes.subarray(0, 6)).toString('hex').replace(/(..)(?!$)/g, '$1:'), dst, `frame ${i + 1}: destination MAC`);
          assert.deepEqual([f.tsSec, f.tsNsec], [1_700_000_000 + causes[i], nanosecond ? 123_456_789 : 123_456_000], `frame ${i + 1}: timestamp`);
        });
      });
    }
  });

  describe('frames caught in the middle (runs written from the read buffer)', () => {
    const LINK = '02:00:00:00:00:01';
    const RS11 = '02:00:00:00:01:11';
    const RS21 = '02:00:00:00:01:21';
    const RS6 = '02:00:00:00:06:11';
    const DIRECTOR = [
      `link eth0 mac ${LINK}`,
      'addr 10.0.0.1/24 dev eth0',
      'addr fd00::1/64 dev eth0',
      'neigh 10.0.0.254 lladdr 02:00:00:00:00:fe dev eth0',
      `neigh 10.0.0.11 lladdr ${RS11} dev eth0`,
      `neigh 10.0.0.21 lladdr ${RS21} dev eth0`,
      `neigh fd00::11 lladdr ${RS6} dev eth0`,
      'route default via 10.0.0.254 dev eth0',
      '',
    ].join('\n');
    const RULES = [
      '-A -u 192.0.2.10:53 -s rr',
      '-a -u 192.0.2.10:53 -r 10.0.0.11:53 -g -w 1',
      '-A -t 192.0.2.10:80 -s rr',
      '-a -t 192.0.2.10:80 -r 10.0.0.11:80 -g -w 1',
      '-A -u 192.0.2.10:54 -s rr',
      '-a -u 192.0.2.10:54 -r 10.0.0.21:54 -i -w 1',
      '-A -u [2001:db8:f::10]:53 -s rr',
      '-a -u [2001:db8:f::10]:53 -r [fd00::11]:53 -g -w 1',
      '',
    ].join('\n');
    const BASE_SEC = 1_700_000_000;

    interface Generated {
      input: string;
      /** Expected output frames with the index of the input frame that caused each. */
      out: { bytes: Buffer; cause: number }[];
      count: number;
      dropped: Record<string, number>;
    }

    const tsOf = (i: number): [number, number] => [BASE_SEC + Math.floor(i / 1000), (i % 1000) * 1_000_000 + ((i * 7) % 1000) * 1000];

    /**
     * Writes a capture of `n` frames chosen by `kindOf(i, rand)` and returns what the spec says
     * the director transmits for it.
     */
    function generate(file: string, n: number, kindOf: (i: number, rand: () => number) => string, seed: number): Generated {
      const rand = prng(seed);
      const w = new PcapWriter(file, 1);
      const out: { bytes: Buffer; cause: number }[] = [];
      const dropped: Record<string, number> = {};
      const drop = (reason: string) => {
        dropped[reason] = (dropped[reason] ?? 0) + 1;
      };
      const tcpStarted = new Set<number>();
      let tcpPort = 0;
      let tunId = 0;
      let icmpId = 0;
      const size = () => (rand() < 0.75 ? Math.floor(rand() * 160) : 160 + Math.floor(rand() * 1240));
      for (let i = 0; i < n; i++) {
        const kind = kindOf(i, rand);
        const client = `203.0.113.${1 + (i % 200)}`;
        const sport = 1024 + (i % 3000);
        let frame: Uint8Array;
        let expected: Uint8Array | null = null;
        switch (kind) {
          case 'dr': // same size, rewritten in place
            frame = ipv4({ src: client, dst: '192.0.2.10', l4: udp({ sport, dport: 53, payload: size(), seed: i }) });
            expected = drExpected(frame, RS11, LINK);
            break;
          case 'tcp': {
            const p = 20000 + (tcpPort++ % 500);
            const flags = tcpStarted.has(p) ? TCP_ACK : TCP_SYN;
            tcpStarted.add(p);
            frame = ipv4({ src: '198.51.100.9', dst: '192.0.2.10', l4: tcp({ sport: p, dport: 80, flags, payload: flags === TCP_SYN ? 0 : size() }) });
            expected = drExpected(frame, RS11, LINK);
            break;
          }
          case 'dr6':
            frame = ipv6({ src: '2001:db8:c::7', dst: '2001:db8:f::10', l4: udp({ sport, dport: 53, payload: size(), seed: i }) });
            expected = drExpected(frame, RS6, LINK);
            break;
          case 'vlan': // shrinks by the 4-byte tag
            frame = ipv4({ src: client, dst: '192.0.2.10', l4: udp({ sport, dport: 53, payload: size(), seed: i }), eth: { vlan: 100 + (i % 7) } });
            expected = drExpected(frame, RS11, LINK);
            break;
          case 'padded': // shrinks: Ethernet padding is not carried over
            frame = ipv4({ src: client, dst: '192.0.2.10', l4: udp({ sport, dport: 53, payload: i % 6 }), eth: { padTo: 60 } });
            expected = drExpected(frame, RS11, LINK);
            break;
          case 'tun': { // grows by the outer header; DF set (ID 0) or clear (per-server counter 1, 2, ...)
            const df = (i & 1) === 0;
            frame = ipv4({ src: client, dst: '192.0.2.10', df, tos: i % 4, l4: udp({ sport, dport: 54, payload: size(), seed: i }) });
            expected = ipipExpected(frame, RS21, LINK, '10.0.0.1', '10.0.0.21', df ? 0 : ++tunId);
            break;
          }
          case 'no-service':
            frame = ipv4({ src: client, dst: '192.0.2.10', l4: udp({ sport, dport: 9, payload: size() }) });
            drop('no-service');
            break;
          case 'icmp':
            frame = ipv4({ src: client, dst: '192.0.2.10', l4: icmpEcho(i & 0xffff) });
            drop('not-balanced-protocol');
            break;
          case 'arp':
            frame = arp('10.0.0.254', '10.0.0.1');
            drop('arp');
            break;
          case 'ttl1':
            // Dropped and answered with ICMP Time Exceeded from the VIP (a slab frame, not in place). At
            // one every 8 ms or less often, the director's 1000/s rate limit never holds one back.
            frame = ipv4({ src: client, dst: '192.0.2.10', ttl: 1, l4: udp({ sport, dport: 53, payload: size() }) });
            drop('ttl-exceeded');
            expected = timeExceededExpected(frame, '02:00:00:00:00:fe', LINK, '192.0.2.10', ++icmpId);
            break;
          default:
            throw new Error(kind);
        }
        const [sec, nsec] = tsOf(i);
        w.writePacket(0, frame, 0, frame.length, sec, nsec);
        if (expected !== null) out.push({ bytes: Buffer.from(expected), cause: i });
      }
      w.close();
      return { input: file, out, count: n, dropped };
    }

    function replayAndCheck(g: Generated, label: string): void {
      const rules = path.join(tmp, 'mid.rules');
      const director = path.join(tmp, 'mid.director');
      fs.writeFileSync(rules, RULES);
      fs.writeFileSync(director, DIRECTOR);
      const out = `${g.input}.out.pcap`;
      const json = `${g.input}.json`;
      try {
        const r = uvs(replayArgs(g.input, out, rules, director, '--quiet', '--summary-json', json));
        assert.equal(r.status, 0, r.stderr);
        const s = JSON.parse(fs.readFileSync(json, 'utf8')) as { in: number; out: number; dropped: Record<string, number> };
        assert.deepEqual([s.in, s.out], [g.count, g.out.length], `${label}: frames in/out`);
        assert.deepEqual(s.dropped, g.dropped, `${label}: drops`);
        const reader = CaptureReader.open(out);
        try {
          let k = 0;
          while (reader.next()) {
            assert.ok(k < g.out.length, `${label}: more output frames than expected`);
            const e = g.out[k];
            const got = Buffer.from(reader.data.buffer, reader.data.byteOffset + reader.offset, reader.capLen);
            if (!got.equals(e.bytes)) {
              assert.fail(`${label}: output frame ${k + 1} (input frame ${e.cause + 1}) differs:\n  got      ${got.toString('hex')}\n  expected ${e.bytes.toString('hex')}`);
            }
            const [sec, nsec] = tsOf(e.cause);
            if (reader.tsSec !== sec || reader.tsNsec !== nsec || reader.origLen !== reader.capLen) {
              assert.fail(`${label}: output frame ${k + 1}: ts ${reader.tsSec}.${reader.tsNsec} orig ${reader.origLen}, expected ${sec}.${nsec} orig ${reader.capLen}`);
            }
            k++;
          }
          assert.equal(k, g.out.length, `${label}: number of output frames`);
        } finally {
          reader.close();
        }
      } finally {
        for (const f of [g.input, out, json]) fs.rmSync(f, { force: true });
      }
    }

    it('frames alternating forwarded / dropped: the output is frames 1, 3, 5, ... rewritten (several read chunks)', () => {
      const drops = ['no-service', 'icmp', 'arp', 'ttl1'];
      const g = generate(path.join(tmp, 'alternate.pcap'), 60_000,
        (i) => (i % 2 === 0 ? 'dr' : drops[(i >> 1) % drops.length]), 1);
      assert.ok(fs.statSync(g.input).size > 3 * 4 * 1024 * 1024, `the capture spans several chunks (${fs.statSync(g.input).size} bytes)`);
      // 30 000 forwarded frames, and an ICMP Time Exceeded for each of the 7 500 TTL-1 ones.
      assert.equal(g.out.length, 30_000 + 7_500);
      replayAndCheck(g, 'alternating');
    });

    it('~200k frames over many 4 MiB chunks: runs break at drops, chunk ends, growing (TUN) and shrinking (VLAN, padding) frames', function () {
      this.timeout(300000);
      const g = generate(path.join(tmp, 'mixed.pcap'), 200_000, (i, rand) => {
        // A long unbroken stretch of in-place frames, so one run spans a chunk boundary.
        if (i >= 50_000 && i < 70_000) return 'dr';
        const x = rand();
        if (x < 0.55) return 'dr';
        if (x < 0.65) return 'tcp';
        if (x < 0.70) return 'dr6';
        if (x < 0.75) return 'vlan';
        if (x < 0.78) return 'padded';
        if (x < 0.83) return 'tun';
        if (x < 0.90) return 'no-service';
        if (x < 0.94) return 'icmp';
        if (x < 0.97) return 'arp';
        return 'ttl1';
      }, 7);
      assert.ok(fs.statSync(g.input).size > 10 * 4 * 1024 * 1024, `the capture spans many chunks (${fs.statSync(g.input).size} bytes)`);
      replayAndCheck(g, 'mixed');
    });
  });
});
