/**
 * Hostile input (issue 7, first promise): malformed frames of every kind are dropped and counted by
 * reason, never thrown, and every frame uvs transmits is well-formed.
 *
 *   - the parser, on arbitrary and mutated frames (fast-check): never throws, reads nothing outside
 *     the frame it is given, and its fast path agrees with its general path;
 *   - the engine, for every golden scenario's rules and director and two of our own (hostile-mix,
 *     hostile-small), fed streams of arbitrary and mutated frames (fast-check): never throws; each
 *     frame is transmitted or counted under exactly one drop reason, and framesIn == framesOut +
 *     sum(drops) after every frame; every transmitted frame passes an independent structural check
 *     (test/support/hostile-validate.ts); bytes around the frame in its buffer change nothing;
 *   - the golden mutation run: every frame of every golden in.pcap mutated 12 ways, in order;
 *   - tshark: a sample of a few thousand transmitted frames, each of whose input tshark finds
 *     well-formed, must be well-formed for tshark too (checksums, malformed, error-level expert info);
 *   - the bugs this fuzzing found, each pinned by a direct test.
 * The 10-million-frame run of the same machinery is the fuzz bench: npm run bench -- --only fuzz.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { parseFrame } from '../src/wire/parse';
import { DROP_REASON_NAMES, DropReason, ParsedFrame } from '../src/wire/parsed-frame';
import { EngineHarness, frame } from './support/frames';
import { SeededRng, buildFrameInto, frameLength, MAX_FRAME, randomSpec, writeIpv4Checksum } from './support/hostile-frames';
import { FIELDS, applyMutations, randomMutations, type Mutation, type Region } from './support/hostile-mutations';
import { HostileRunner, writeSample, type SampledFrame } from './support/hostile-run';
import { loadScenarios, type HostileScenario } from './support/hostile-scenarios';
import { FRAME_ROOM, nextHostileFrame } from './support/hostile-source';
import { tsharkAvailable } from './support/tshark';
import { tsharkTransportProblems } from './support/hostile-tshark';
import { checkOutputFrame, transportStatus } from './support/hostile-validate';

// ---- arbitraries ------------------------------------------------------------------------------------

const regionArb = fc.constantFrom<Region>('frame', 'l2', 'l3', 'l3', 'l4', 'l4');

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('cut-at-boundary' as const), index: fc.nat(63), delta: fc.integer({ min: -2, max: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('cut' as const), perMille: fc.nat(1000) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('byte' as const), region: regionArb, at: fc.nat(65535), value: fc.nat(255) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('bit' as const), region: regionArb, at: fc.nat((1 << 19) - 1) }) },
  {
    weight: 8,
    arbitrary: fc.record({
      op: fc.constant('field' as const),
      field: fc.constantFrom(...FIELDS),
      value: fc.oneof(fc.nat(65535), fc.constantFrom(0, 1, 2, 4, 5, 6, 7, 8, 15, 19, 20, 39, 40, 0x2000, 0x4001, 0xffff)),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('extend' as const), n: fc.integer({ min: 1, max: 64 }), value: fc.nat(255) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('add-tag' as const), tpid: fc.constantFrom(0x8100, 0x88a8, 0x9100) }) },
  { weight: 5, arbitrary: fc.constant({ op: 'refix' as const }) },
);

/** How to make one frame: a random spec (by seed) or a golden frame, then mutations; or raw bytes. */
type Recipe =
  | { kind: 'spec'; seed: number; mutations: Mutation[] }
  | { kind: 'golden'; index: number; mutations: Mutation[] }
  | { kind: 'bytes'; bytes: Uint8Array; ipType: 0 | 4 | 6 };

function recipeArb(s: HostileScenario | null): fc.Arbitrary<Recipe> {
  // Unmutated frames too: they form connections, which the mutated ones then hit.
  const mutations = fc.oneof(
    { weight: 2, arbitrary: fc.constant<Mutation[]>([]) },
    { weight: 5, arbitrary: fc.array(mutationArb, { minLength: 1, maxLength: 4 }) },
  );
  const choices: fc.WeightedArbitrary<Recipe>[] = [
    { weight: 12, arbitrary: fc.record({ kind: fc.constant('spec' as const), seed: fc.nat(), mutations }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('bytes' as const),
        bytes: fc.uint8Array({ maxLength: 160 }),
        ipType: fc.constantFrom<0 | 4 | 6>(0, 4, 6),
      }),
    },
  ];
  if (s === null || s.golden.length > 0) {
    choices.push({ weight: 5, arbitrary: fc.record({ kind: fc.constant('golden' as const), index: fc.nat(), mutations }) });
  }
  return fc.oneof(...choices);
}

/** Writes the recipe's frame at b[off..] (room FRAME_ROOM) and returns its length. */
function materialize(r: Recipe, s: HostileScenario, b: Uint8Array, off: number): number {
  if (r.kind === 'bytes') {
    const n = Math.min(r.bytes.length, FRAME_ROOM);
    b.set(r.bytes.subarray(0, n), off);
    if (r.ipType !== 0 && n >= 15) {
      b[off + 12] = r.ipType === 4 ? 0x08 : 0x86;
      b[off + 13] = r.ipType === 4 ? 0x00 : 0xdd;
      b[off + 14] = r.ipType === 4 ? 0x45 : 0x60 | (b[off + 14] & 15);
    }
    return n;
  }
  let len: number;
  if (r.kind === 'golden' && s.golden.length > 0) {
    const g = s.golden[r.index % s.golden.length];
    len = Math.min(g.length, FRAME_ROOM);
    b.set(g.subarray(0, len), off);
  } else {
    const spec = randomSpec(new SeededRng(r.kind === 'spec' ? r.seed : r.index), s.book);
    len = frameLength(spec) <= MAX_FRAME ? buildFrameInto(spec, b, off) : 0;
  }
  return applyMutations(r.mutations, b, off, len, FRAME_ROOM);
}

// ---- helpers ----------------------------------------------------------------------------------------

/** ParsedFrame fields with the offsets made relative to the frame, for comparing parses of one frame at different places. */
function relative(pf: ParsedFrame, off: number): Record<string, number | boolean> {
  const o = { ...pf } as unknown as Record<string, number | boolean>;
  // An offset the parser never set is 0 (its reset value); any other is off + something.
  for (const k of ['l2Off', 'l3Off', 'srcOff', 'dstOff', 'l4Off'] as const) {
    if (o[k] !== 0) o[k] = (o[k] as number) - off;
  }
  return o;
}

type ResizableArrayBufferCtor = new (length: number, options: { maxByteLength: number }) => ArrayBuffer;

/** A copy of bytes in a resizable ArrayBuffer: the parser's fast path refuses those, so it takes the general path. */
function inResizableBuffer(bytes: Uint8Array): Uint8Array {
  const Ctor = ArrayBuffer as unknown as ResizableArrayBufferCtor;
  const u = new Uint8Array(new Ctor(bytes.length, { maxByteLength: bytes.length + 64 }));
  u.set(bytes);
  return u;
}

function assertClean(r: HostileRunner): void {
  const summary = `${r.scenario.name}: ${r.frames} frames, ${r.exceptions} exceptions, ${r.accounting} accounting errors, ` +
    `${r.malformed} malformed outputs`;
  assert.ok(r.exceptions === 0 && r.accounting === 0 && r.malformed === 0, `${summary}\n${r.problems.join('\n')}`);
}

/** The last frame the runner's engine transmitted, as a copy. */
function lastOutput(r: HostileRunner): Uint8Array {
  const o = r.out;
  return o.frameBuf[0].slice(o.off[0], o.off[0] + o.len[0]);
}

/** An IPv4 TCP SYN to 192.0.2.10:80 whose header carries `options` (padded to a multiple of 4). */
function withOptions(options: number[]): Uint8Array {
  const base = frame({ src: '198.51.100.1', dst: '192.0.2.10', sport: 1025, dport: 80 });
  const optLen = (options.length + 3) & ~3;
  const f = new Uint8Array(base.length + optLen);
  f.set(base.subarray(0, 34));
  f.set(options, 34);
  f.set(base.subarray(34), 34 + optLen);
  f[14] = 0x45 + optLen / 4;
  const total = base.length - 14 + optLen;
  f[16] = total >> 8;
  f[17] = total & 0xff;
  writeIpv4Checksum(f, 14);
  return f;
}

const scenarios = loadScenarios();
/** Transmitted frames kept by the engine properties and the golden run, for the tshark check. */
const samples: SampledFrame[] = [];
const SAMPLE_PER_RUNNER = 40;
const SAMPLE_GOLDEN = 80;
/** Frames the engine properties ran (each through two engines), for the record, and the drop reasons they reached. */
const totals = { frames: 0, transmitted: 0, reasons: new Set<string>() };

describe('hostile input (issue 7): malformed frames are dropped and counted, never thrown', function () {
  this.timeout(120_000);

  it('there are scenarios to attack, golden and our own', () => {
    assert.ok(scenarios.length >= 10, `${scenarios.length} scenarios`);
    assert.ok(scenarios.some((s) => s.name === 'hostile-mix') && scenarios.some((s) => s.name === 'hostile-small'));
    for (const s of scenarios) assert.ok(s.book.services.length > 0, `${s.name}: no service to aim at`);
  });

  describe('the structural validator (test/support/hostile-validate.ts)', () => {
    const tcp4 = (): Uint8Array => frame({ src: '198.51.100.1', dst: '10.0.0.11', sport: 1025, dport: 80, payload: 9 });
    const udp6 = (): Uint8Array => frame({ src: '2001:db8::1', dst: '2001:db8::2', sport: 1025, dport: 53, proto: 'udp', payload: 5 });

    it('passes well-formed frames and knows their transport checksum status', () => {
      for (const f of [tcp4(), udp6()]) {
        assert.equal(transportStatus(f, 0, f.length), 'good');
        assert.equal(checkOutputFrame(f, 0, f.length, 'good'), null);
      }
    });

    it('finds each kind of malformed output', () => {
      const broken: [string, (f: Uint8Array) => Uint8Array, 'tcp' | 'udp6'][] = [
        ['IPv4 header checksum', (f) => ((f[24] ^= 1), f), 'tcp'],
        ['IPv4 total length above the frame', (f) => ((f[17] += 1), writeIpv4Checksum(f, 14), f), 'tcp'],
        ['IPv4 padding after the packet', (f) => Uint8Array.of(...f, 0, 0), 'tcp'],
        ['IHL 4', (f) => ((f[14] = 0x44), writeIpv4Checksum(f, 14), f), 'tcp'],
        ['TTL 0', (f) => ((f[22] = 0), writeIpv4Checksum(f, 14), f), 'tcp'],
        ['IPv4 option of length 0', () => withOptions([0x44, 0, 0, 0]), 'tcp'],
        ['IPv4 source route', () => withOptions([0x83, 7, 4, 192, 0, 2, 10, 0]), 'tcp'],
        ['TCP checksum', (f) => ((f[50] ^= 0x10), f), 'tcp'],
        ['TCP data offset past the segment', (f) => ((f[46] = 0xf0), f), 'tcp'],
        ['IPv6 payload length', (f) => ((f[19] -= 1), f), 'udp6'],
        ['IPv6 UDP without checksum', (f) => ((f[60] = 0), (f[61] = 0), f), 'udp6'],
        ['UDP length past the datagram', (f) => ((f[59] += 1), f), 'udp6'],
        ['tagged output', (f) => Uint8Array.of(...f.subarray(0, 12), 0x81, 0, 0, 1, ...f.subarray(12)), 'tcp'],
      ];
      for (const [what, breakIt, kind] of broken) {
        const f = breakIt(kind === 'tcp' ? tcp4() : udp6());
        assert.notEqual(checkOutputFrame(f, 0, f.length, 'good'), null, what);
      }
      // A transport checksum that was already wrong going in may stay wrong.
      const bad = tcp4();
      bad[50] ^= 0x10;
      assert.equal(transportStatus(bad, 0, bad.length), 'bad');
      assert.equal(checkOutputFrame(bad, 0, bad.length, 'bad'), null);
    });
  });

  describe('parser', () => {
    it('never throws, reads only its frame, and its fast path agrees with its general path (fast-check, 20000 frames)', () => {
      const pf = new ParsedFrame();
      const s0 = scenarios[0];
      fc.assert(
        fc.property(recipeArb(null), fc.nat(64), fc.nat(scenarios.length - 1), (recipe, pad, si) => {
          const s = scenarios[si] ?? s0;
          const scratch = new Uint8Array(FRAME_ROOM);
          const len = materialize(recipe, s, scratch, 0);
          const frameBytes = scratch.slice(0, len);
          const results: string[] = [];
          // The frame alone, then at `pad` inside buffers of zeros and of 0xff bytes, then in a resizable buffer.
          for (const fill of [-1, 0x00, 0xff, -2]) {
            let buf: Uint8Array;
            let off = 0;
            if (fill === -1) buf = frameBytes.slice();
            else if (fill === -2) buf = inResizableBuffer(frameBytes);
            else {
              buf = new Uint8Array(pad + len + 64).fill(fill);
              buf.set(frameBytes, pad);
              off = pad;
            }
            const reason = parseFrame(buf, off, len, pf);
            results.push(JSON.stringify({ reason: DROP_REASON_NAMES[reason], ...relative(pf, off) }));
          }
          assert.ok(results.every((x) => x === results[0]), `parses differ:\n${results.join('\n')}`);
        }),
        { numRuns: 20000, seed: 0x1ec7 },
      );
    });
  });

  describe('engine, per scenario (fast-check: streams of arbitrary and mutated frames)', () => {
    const RUNS = 40;
    /** Streams of up to 200 frames; long ones where the table is small enough to fill up. */
    const streamLength = (s: HostileScenario): fc.ArrayConstraints =>
      s.maxConns !== undefined ? { minLength: 300, maxLength: 400, size: 'max' } : { minLength: 1, maxLength: 200, size: 'max' };
    for (const s of scenarios) {
      it(`${s.name}: never throws, counts add up after every frame, every output well-formed, nothing read outside the frame`, () => {
        let frames = 0;
        let transmitted = 0;
        fc.assert(
          fc.property(fc.array(recipeArb(s), streamLength(s)), fc.nat(32), (recipes, pad) => {
            // Two engines in lockstep: the same frames, one surrounded by zeros, the other by 0xff.
            const a = new HostileRunner(s, { inPlaceEvery: 3, sampleSize: SAMPLE_PER_RUNNER, seed: recipes.length });
            const b = new HostileRunner(s, { inPlaceEvery: 3, seed: recipes.length });
            const bufA = new Uint8Array(pad + FRAME_ROOM + 64);
            const bufB = new Uint8Array(pad + FRAME_ROOM + 64);
            for (const r of recipes) {
              bufA.fill(0);
              bufB.fill(0xff);
              const len = materialize(r, s, bufA, pad);
              bufB.set(bufA.subarray(pad, pad + len), pad);
              const sentA = a.feed(bufA, pad, len);
              const sentB = b.feed(bufB, pad, len);
              assert.equal(sentA, sentB, `${s.name}: bytes outside the frame changed whether it was sent`);
              if (sentA) assert.deepEqual(lastOutput(a), lastOutput(b), `${s.name}: bytes outside the frame changed the output`);
            }
            assertClean(a);
            assert.deepEqual(Array.from(a.built.engine.drops), Array.from(b.built.engine.drops));
            frames += a.frames;
            transmitted += a.transmitted;
            a.built.engine.drops.forEach((n, i) => n > 0 && totals.reasons.add(DROP_REASON_NAMES[i]));
            if (samples.length < 4000) samples.push(...a.sample.slice(0, 8));
          }),
          { numRuns: RUNS, seed: 0x7e57 + s.name.length, endOnFailure: true },
        );
        assert.ok(transmitted > 0, `${s.name}: ${frames} frames and not one transmitted: the frames do not reach the engine's core`);
        totals.frames += frames;
        totals.transmitted += transmitted;
      });
    }
    it('ran a few tens of thousands of frames through the engines, reaching every check a frame can fail', () => {
      assert.ok(totals.frames >= 20_000, `${totals.frames} frames`);
      assert.ok(totals.transmitted >= totals.frames / 20, `${totals.transmitted} of ${totals.frames} transmitted`);
      const expected = [
        'truncated-ethernet', 'unknown-ethertype', 'arp', 'truncated-ip', 'bad-ip-version', 'bad-ip-header-length',
        'bad-ip-total-length', 'bad-ip-checksum', 'bad-ip-options', 'bad-ipv6-extension-header', 'fragment',
        'truncated-transport', 'bad-transport-header', 'not-balanced-protocol', 'no-service', 'not-connection-start',
        'ftp-data-source-port', 'ttl-exceeded', 'too-big', 'unknown-reply', 'connection-table-full',
      ];
      assert.deepEqual(expected.filter((r) => !totals.reasons.has(r)), [], 'drop reasons never reached');
      console.log(`        (${totals.frames} frames, ${totals.transmitted} transmitted, ${totals.reasons.size} drop reasons)`);
    });
  });

  describe('golden mutation run', () => {
    const WAYS = 12;
    for (const s of scenarios.filter((x) => x.golden.length > 0)) {
      it(`${s.name}: each of the ${s.golden.length} frames of in.pcap mutated ${WAYS} ways, then itself`, () => {
        const r = new HostileRunner(s, { inPlaceEvery: 2, sampleSize: SAMPLE_GOLDEN, seed: 3 });
        const rng = new SeededRng(0x901d + s.golden.length);
        const buf = new Uint8Array(FRAME_ROOM);
        let sentOriginals = 0;
        for (const g of s.golden) {
          for (let k = 0; k < WAYS; k++) {
            buf.set(g.subarray(0, Math.min(g.length, FRAME_ROOM)));
            const len = applyMutations(randomMutations(rng, 1), buf, 0, Math.min(g.length, FRAME_ROOM), FRAME_ROOM);
            r.feed(buf, 0, len);
          }
          buf.set(g);
          if (r.feed(buf, 0, g.length)) sentOriginals++;
        }
        assertClean(r);
        assert.equal(r.frames, s.golden.length * (WAYS + 1));
        // The unmutated frames still get through (mutants may change the state, not break the engine).
        assert.ok(sentOriginals > 0 || s.name === 'expiry', `${s.name}: no unmutated golden frame was transmitted`);
        samples.push(...r.sample);
      });
    }
  });

  describe('tshark', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'uvs-hostile-'));
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it('a sample of transmitted frames: whatever tshark finds well-formed going in is well-formed coming out', function () {
      if (!tsharkAvailable()) this.skip();
      // Its own seeded run over every scenario, with what the runs above kept.
      const buf = new Uint8Array(FRAME_ROOM);
      for (const s of scenarios) {
        const r = new HostileRunner(s, { inPlaceEvery: 2, sampleSize: 100, seed: 11 });
        const rng = new SeededRng(0x75a4 + s.name.length);
        for (let i = 0; i < 2500; i++) r.feed(buf, 0, nextHostileFrame(rng, s, buf, 0).len);
        assertClean(r);
        samples.push(...r.sample);
      }
      assert.ok(samples.length >= 1000, `only ${samples.length} sampled frames (the engine and golden runs fill the sample)`);
      const inputs = path.join(tmp, 'inputs.pcap');
      const outputs = path.join(tmp, 'outputs.pcap');
      writeSample(inputs, samples, 'input');
      writeSample(outputs, samples, 'output');
      const badIn = tsharkTransportProblems(inputs);
      const badOut = tsharkTransportProblems(outputs);
      const clean = samples.length - badIn.size;
      assert.ok(clean >= samples.length / 2, `${clean} of ${samples.length} inputs well-formed for tshark: too few to judge`);
      const found: string[] = [];
      for (const [n, what] of badOut) {
        if (!badIn.has(n)) found.push(`output frame ${n}: ${what}; input ${Buffer.from(samples[n - 1].input).toString('hex')}`);
      }
      assert.deepEqual(found.slice(0, 10), [], `${found.length} of ${clean} outputs of well-formed inputs flagged by tshark`);
    });
  });

  describe('bugs the fuzzing found', () => {
    it('IPv4 options the kernel refuses are dropped as bad-ip-options (uvs forwarded them)', () => {
      const pf = new ParsedFrame();
      const refused: [string, number[]][] = [
        ['option length 0', [0x44, 0, 0, 0]],
        ['option length past the header', [0x07, 0x27, 4, 0]],
        ['a lone option type at the end', [1, 1, 1, 0x94]],
        ['loose source route', [0x83, 7, 4, 192, 0, 2, 10, 0]],
        ['strict source route', [0x89, 7, 4, 192, 0, 2, 10, 0]],
        ['record route pointer below 4', [0x07, 7, 3, 0, 0, 0, 0, 0]],
        ['record route twice', [0x07, 3, 4, 0x07, 3, 4, 0, 0]],
        ['timestamp pointer below 5', [0x44, 4, 4, 0]],
        ['router alert of 2 bytes', [0x94, 2, 0, 0]],
        ['CIPSO', [0x86, 8, 0, 0, 0, 1, 0, 0]],
      ];
      for (const [what, opts] of refused) {
        assert.equal(DROP_REASON_NAMES[parseFrame(withOptions(opts), 0, withOptions(opts).length, pf)], 'bad-ip-options', what);
      }
      const accepted: [string, number[]][] = [
        ['NOPs', [1, 1, 1, 0]],
        ['router alert', [0x94, 4, 0, 0]],
        ['record route with room', [0x07, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0]],
        ['record route full', [0x07, 7, 8, 10, 0, 0, 1, 0]],
        ['timestamp only', [0x44, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0]],
        ['garbage after EOL', [0, 0xff, 0xff, 0xff]],
        ['an unknown option with a sane length', [0x9e, 4, 1, 2]],
      ];
      for (const [what, opts] of accepted) {
        assert.equal(DROP_REASON_NAMES[parseFrame(withOptions(opts), 0, withOptions(opts).length, pf)], 'none', what);
      }
      // Through the engine: a DR service does not forward it, and counts it.
      const h = new EngineHarness(
        '-A -t 192.0.2.10:80 -s rr\n-a -t 192.0.2.10:80 -r 10.0.0.11:80 -g -w 1\n',
        'link eth0 mac 02:00:00:00:00:01\naddr 10.0.0.1/24 dev eth0\nneigh 10.0.0.11 lladdr 02:00:00:00:01:11 dev eth0\n',
      );
      assert.equal(h.send(withOptions([0x83, 7, 4, 192, 0, 2, 10, 0]), 1), null);
      assert.notEqual(h.send(withOptions([1, 1, 1, 0]), 2), null);
      assert.deepEqual(h.summary().dropped, { 'bad-ip-options': 1 });
      assert.equal(DropReason.BadIpOptions, DROP_REASON_NAMES.indexOf('bad-ip-options'));
    });

    it('NAT: a UDP datagram without checksum, shorter than its IP payload, gets the checksum receivers expect', () => {
      // A reply from the real server (NAT rewrites its source to the VIP and computes the checksum).
      const h = new EngineHarness(
        '-A -u 192.0.2.10:53 -s rr\n-a -u 192.0.2.10:53 -r 10.0.0.11:5353 -m -w 1\n',
        'link eth0 mac 02:00:00:00:00:01\naddr 10.0.0.1/24 dev eth0\nneigh 10.0.0.11 lladdr 02:00:00:00:01:11 dev eth0\n' +
          'neigh 10.0.0.254 lladdr 02:00:00:00:00:fe dev eth0\nroute default via 10.0.0.254 dev eth0\n',
      );
      assert.notEqual(h.send(frame({ src: '198.51.100.1', dst: '192.0.2.10', sport: 1025, dport: 53, proto: 'udp', payload: 20 }), 1), null);
      const reply = frame({ src: '10.0.0.11', dst: '198.51.100.1', sport: 5353, dport: 1025, proto: 'udp', payload: 20 });
      const l4 = 14 + 20;
      reply[l4 + 4] = 0;
      reply[l4 + 5] = 8 + 12; // UDP length: 12 of the 20 payload bytes; the rest lies past the datagram.
      reply[l4 + 6] = 0;
      reply[l4 + 7] = 0; // no checksum
      assert.equal(transportStatus(reply, 0, reply.length), 'none');
      const out = h.send(reply, 2);
      assert.notEqual(out, null);
      const o = out as Uint8Array;
      assert.notEqual((o[l4 + 6] << 8) | o[l4 + 7], 0, 'a checksum was computed');
      assert.equal(checkOutputFrame(o, 0, o.length, 'none'), null);
      assert.equal(transportStatus(o, 0, o.length), 'good');
    });
  });
});
