/**
 * The fuzz part of the bench (issue 7, "malformed frames ... over at least 10 million frames"):
 * hostile frames through the engine of every golden scenario's rules and director, plus
 * hostile-mix and hostile-small (test/support/hostile-scenarios.ts), taking turns (ten each).
 * The frames (test/support/hostile-source.ts) are random specs aimed at each scenario (VLAN tags,
 * IPv4 options, IPv6 extension header chains, fragments, TCP / UDP / SCTP / ICMP...) mutated up to
 * three times (cuts at every header boundary, bad IHL and lengths, checksums, flips...), the
 * golden in.pcap frames mutated, and random bytes. Every frame is checked as the tests check it
 * (test/support/hostile-run.ts): no exception, transmitted or counted under exactly one drop
 * reason with framesIn + ICMP answers + extra fragments == framesOut + sum(drops) after it (an
 * answered frame is dropped and its ICMP error sent; an IPv4 packet sent as N fragments is N frames
 * out), and a transmitted frame well-formed for
 * the independent structural validator. A reservoir sample of transmitted frames is then written
 * to .bench/ and judged by tshark: every output whose input tshark finds well-formed must be
 * well-formed too.
 *
 * Prints frames run, frames per second, transmitted, drops by reason, exceptions, accounting
 * errors, malformed outputs and the tshark verdict; any failure sets the exit code. The frame
 * count is 10,000,000, or UVS_FUZZ_FRAMES for a quicker look; the seed is fixed (UVS_FUZZ_SEED to
 * change it), so a failure is reproduced by running again.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DROP_REASON_NAMES } from '../../src/wire/parsed-frame';
import { SeededRng } from '../../test/support/hostile-frames';
import { HostileRunner, writeSample, type SampledFrame } from '../../test/support/hostile-run';
import { loadScenarios } from '../../test/support/hostile-scenarios';
import { FRAME_ROOM, nextHostileFrame, type FrameKind } from '../../test/support/hostile-source';
import { tsharkTransportProblems } from '../../test/support/hostile-tshark';
import { tsharkAvailable } from '../../test/support/tshark';
import { BENCH_DIR } from './bench-setup';
import { renderTable } from './text-table';

const DEFAULT_FRAMES = 10_000_000;
/** Every scenario gets this many turns, so all share the frames evenly whatever the total. */
const ROUNDS = 10;
/** Transmitted frames kept per scenario for tshark. */
const SAMPLE_PER_SCENARIO = 300;

export interface FuzzReport {
  frames: number;
  seed: number;
  seconds: number;
  framesPerSecond: number;
  engineFramesPerSecond: number;
  transmitted: number;
  kinds: Record<FrameKind, number>;
  drops: Record<string, number>;
  exceptions: number;
  accountingErrors: number;
  malformedOutputs: number;
  problems: string[];
  tshark: { sampled: number; wellFormedInputs: number; flaggedOutputs: number; problems: string[] } | { skipped: string };
  perScenario: { name: string; frames: number; transmitted: number }[];
  pass: boolean;
}

function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive whole number, not '${v}'`);
  return n;
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** Runs the fuzz bench, prints its section, and returns the report (pass false on any failure). */
export function runFuzzBench(): FuzzReport {
  const total = envInt('UVS_FUZZ_FRAMES', DEFAULT_FRAMES);
  const seed = envInt('UVS_FUZZ_SEED', 0x15507);
  const scenarios = loadScenarios();
  console.log(`\nFuzz: hostile frames through the engine (issue 7), ${count(total)} frames over ${scenarios.length} scenarios, seed ${seed}`);
  const runners = scenarios.map((s, i) => new HostileRunner(s, {
    inPlaceEvery: 2, sampleSize: SAMPLE_PER_SCENARIO, seed: seed + i, timeEngine: true, maxProblems: 3,
  }));
  const rngs = scenarios.map((_, i) => new SeededRng(seed * 31 + i));
  const kinds: Record<FrameKind, number> = { spec: 0, golden: 0, random: 0, 'random-ip': 0 };
  const buf = new Uint8Array(FRAME_ROOM + 64);
  const turn = Math.ceil(total / (ROUNDS * scenarios.length));
  const start = process.hrtime.bigint();
  const elapsed = (): number => Number(process.hrtime.bigint() - start) / 1e9;
  let done = 0;
  let nextReport = 1_000_000;
  while (done < total) {
    for (let i = 0; i < runners.length && done < total; i++) {
      const r = runners[i];
      const rng = rngs[i];
      const s = scenarios[i];
      const n = Math.min(turn, total - done);
      for (let k = 0; k < n; k++) {
        const f = nextHostileFrame(rng, s, buf, 0);
        kinds[f.kind]++;
        r.feed(buf, 0, f.len);
      }
      done += n;
      if (done >= nextReport) {
        console.log(`  ${count(done)} frames, ${elapsed().toFixed(1)} s`);
        nextReport += 1_000_000;
      }
    }
  }
  const seconds = elapsed();
  const engineSeconds = runners.reduce((t, r) => t + r.engineMs, 0) / 1000;

  const drops = new Float64Array(DROP_REASON_NAMES.length);
  for (const r of runners) r.built.engine.drops.forEach((v, i) => (drops[i] += v));
  const sum = (f: (r: HostileRunner) => number): number => runners.reduce((t, r) => t + f(r), 0);
  const transmitted = sum((r) => r.transmitted);
  const exceptions = sum((r) => r.exceptions);
  const accountingErrors = sum((r) => r.accounting);
  const malformedOutputs = sum((r) => r.malformed);
  const problems = runners.flatMap((r) => r.problems).slice(0, 10);
  // The engines' own totals must agree with what the runners saw.
  const framesIn = sum((r) => r.built.engine.framesIn);
  const framesOut = sum((r) => r.built.engine.framesOut);
  // ICMP errors the director sent in answer to dropped frames (TTL expired, too big, no destination).
  const answers = sum((r) => r.built.engine.icmp.sent);
  // Frames beyond the first of every packet sent as IPv4 fragments (src/xmit/ipv4-fragmenter.ts).
  const extraFragments = sum((r) => r.built.engine.fragmenter.extraFrames);
  const dropsTotal = drops.reduce((a, b) => a + b, 0);
  const addsUp = framesIn + answers + extraFragments === framesOut + dropsTotal;

  const pct = (n: number): string => `${((100 * n) / Math.max(1, done)).toFixed(2)}%`;
  console.log(renderTable(['', 'value', 'note'], [
    ['frames run', count(done), `spec ${count(kinds.spec)}, golden ${count(kinds.golden)}, random ${count(kinds.random)}, random behind an IP EtherType ${count(kinds['random-ip'])}`],
    ['frames/s', count(Math.round(done / seconds)), `${seconds.toFixed(1)} s: generating, engine, checking every frame`],
    ['engine frames/s', count(Math.round(done / engineSeconds)), `${engineSeconds.toFixed(1)} s inside processFrameAt`],
    ['transmitted', count(transmitted), pct(transmitted)],
    ['dropped', count(dropsTotal), `engines: in ${count(framesIn)} + ICMP answers ${count(answers)} + extra fragments ${count(extraFragments)} = out ${count(framesOut)} + dropped ${count(dropsTotal)}: ${addsUp ? 'adds up' : 'DOES NOT ADD UP'}`],
    ['exceptions', count(exceptions), 'must be 0'],
    ['accounting errors', count(accountingErrors), 'frames after which in + answers + extra fragments != out + drops, or not exactly one counter moved; must be 0'],
    ['malformed outputs', count(malformedOutputs), 'structural validator (test/support/hostile-validate.ts); must be 0'],
  ], new Set([1])));
  const reasonRows = DROP_REASON_NAMES.map((name, i) => [name, count(drops[i]), pct(drops[i])]).filter((_, i) => i !== 0 && drops[i] > 0);
  console.log('  drops by reason');
  console.log(renderTable(['reason', 'frames', 'share'], reasonRows, new Set([1, 2])));
  for (const p of problems) console.log(`  PROBLEM ${p}`);

  const tshark = tsharkCheck(runners.flatMap((r) => r.sample));
  const pass =
    exceptions === 0 && accountingErrors === 0 && malformedOutputs === 0 && framesIn === done &&
    addsUp && ('skipped' in tshark || tshark.flaggedOutputs === 0);
  console.log(`  fuzz: ${pass ? 'PASS' : 'FAIL'}`);
  const dropRecord: Record<string, number> = {};
  DROP_REASON_NAMES.forEach((name, i) => {
    if (drops[i] > 0) dropRecord[name] = drops[i];
  });
  return {
    frames: done, seed, seconds, framesPerSecond: done / seconds, engineFramesPerSecond: done / engineSeconds,
    transmitted, kinds, drops: dropRecord, exceptions, accountingErrors, malformedOutputs, problems, tshark,
    perScenario: runners.map((r) => ({ name: r.scenario.name, frames: r.frames, transmitted: r.transmitted })),
    pass,
  };
}

/** tshark on the sampled inputs and outputs: an output of an input tshark finds well-formed must be well-formed. */
function tsharkCheck(sample: SampledFrame[]): FuzzReport['tshark'] {
  if (!tsharkAvailable()) {
    console.log('  tshark sample: skipped (no tshark)');
    return { skipped: 'tshark not found' };
  }
  fs.mkdirSync(BENCH_DIR, { recursive: true });
  const inputs = path.join(BENCH_DIR, 'fuzz-sample-inputs.pcap');
  const outputs = path.join(BENCH_DIR, 'fuzz-sample-outputs.pcap');
  writeSample(inputs, sample, 'input');
  writeSample(outputs, sample, 'output');
  const badIn = tsharkTransportProblems(inputs);
  const badOut = tsharkTransportProblems(outputs);
  const problems: string[] = [];
  for (const [n, what] of badOut) if (!badIn.has(n)) problems.push(`output frame ${n}: ${what}`);
  const wellFormedInputs = sample.length - badIn.size;
  console.log(
    `  tshark sample: ${count(sample.length)} transmitted frames (${path.relative(process.cwd(), outputs)}), ` +
      `${count(wellFormedInputs)} of them from inputs tshark finds well-formed: ${problems.length} flagged after uvs (must be 0); ` +
      `${badIn.size} inputs already flagged (bad TCP checksums, garbage SCTP chunks...) are left to the structural validator`,
  );
  for (const p of problems.slice(0, 10)) console.log(`  TSHARK ${p}`);
  return { sampled: sample.length, wellFormedInputs, flaggedOutputs: problems.length, problems: problems.slice(0, 10) };
}
