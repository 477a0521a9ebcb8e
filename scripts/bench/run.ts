/**
 * The replay benchmark (issue 3): uvs against tcprewrite doing the comparable rewrite, and against
 * pcap-parser only reading the file, on the same generated capture (1,000,000 TCP packets, 200,000
 * flows, one VIP), in the same run. Each program runs several times, interleaved, as a whole
 * process (spawn to exit, output written); the table shows the median. Every output is checked
 * afterwards (count, destinations, checksums, one destination per flow) outside the timing.
 *
 * Then the scheduler bench (issue 4, sched-bench.ts): decisions per second of every scheduler at 10,
 * 100 and 1,000 real servers against the kernel's algorithm run naively, decisions cross-checked;
 * then the connection table memory.
 *
 * Usage: npm run bench [-- --runs N] [--json FILE] [--regen] [--uvs FILE.js] [--only PART]
 *   --runs N     runs per program (default 3)
 *   --json FILE  also write the results as JSON (FILE must be under .bench/ or /tmp)
 *   --regen      regenerate the capture even if the cached one is current
 *   --uvs FILE   the uvs CLI script to time (default dist/src/cli/uvs.js), e.g. an older build
 *   --only PART  run one part: replay, sched (schedulers), memory (connection table) or live (live.ts:
 *                the namespace lab, uvs against nftables DNAT and kernel forwarding; needs root and trafgen)
 *                or fuzz (fuzz.ts: 10 million hostile frames through the engine, every frame and output checked)
 * Writes only under .bench/ (and /tmp if asked).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_UVS_JS, Mode, Program, benchPrograms } from './bench-programs';
import { BENCH_DIR, BENCH_PATHS, REPO_ROOT } from './bench-setup';
import { collectConditions, describeConditions, tcprewriteVersion } from './conditions';
import { KERNEL_BYTES_PER_CONNECTION, measureConnTableMemory, measureNaiveConnMemory } from './conn-memory';
import { ensureBenchFiles } from './gen-capture';
import type { CaptureCheck } from './pcap-check';
import { countPcapPackets } from './pcap-check';
import { runLiveBench } from './live';
import { runFuzzBench } from './fuzz';
import { failureOf, runTimed } from './run-timed';
import { runSchedulerBench } from './sched-bench';
import { renderTable } from './text-table';
import type { UvsSummary } from './uvs-summary';
import { verifyRun } from './verify-run';

interface ProgramResult {
  program: Program;
  seconds: number[];
  /** Packets written (or counted, for pcap-parser) in the last run. */
  packets: number | null;
  failure: string | null;
  warnings: string[];
  check: CaptureCheck | null;
  summary: UvsSummary | null;
}

interface Target {
  label: string;
  mode: 'DR' | 'NAT';
  factor: number;
}

const TARGETS: readonly Target[] = [
  { label: 'uvs DR >= 2x tcprewrite DR', mode: 'DR', factor: 2 },
  { label: 'uvs NAT >= 3x tcprewrite NAT', mode: 'NAT', factor: 3 },
];

/** A run slower than this is not repeated (keeps the whole bench near 3 minutes). */
const REPEAT_LIMIT_S = 25;
/** A run is killed after this long. */
const RUN_TIMEOUT_MS = 90_000;
/** No new round starts after this much bench time. */
const ROUNDS_BUDGET_S = 150;

/** The parts of the bench --only can pick. */
type BenchPart = 'replay' | 'sched' | 'memory' | 'live' | 'fuzz';
const BENCH_PARTS: readonly BenchPart[] = ['replay', 'sched', 'memory', 'live', 'fuzz'];

interface Options {
  runs: number;
  json: string | null;
  regen: boolean;
  uvs: string;
  /** Run only this part (default: all). */
  only: BenchPart | null;
}

/** What the JSON report keeps of the replay part. */
interface ReplayReport {
  conditions: ReturnType<typeof collectConditions>;
  capture: Record<string, unknown>;
  results: Record<string, unknown>[];
  targets: Record<string, unknown>[];
}

function parseOptions(argv: readonly string[]): Options {
  const options: Options = { runs: 3, json: null, regen: false, uvs: DEFAULT_UVS_JS, only: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--runs') {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1 || n > 15) throw new Error('--runs needs a whole number from 1 to 15');
      options.runs = n;
    } else if (arg === '--json') {
      const file = argv[++i];
      if (!file) throw new Error('--json needs a file name');
      options.json = allowedOutputPath(file);
    } else if (arg === '--regen') {
      options.regen = true;
    } else if (arg === '--uvs') {
      const file = argv[++i];
      if (!file) throw new Error('--uvs needs the path of the uvs CLI script');
      options.uvs = path.resolve(file);
    } else if (arg === '--only') {
      const part = BENCH_PARTS.find((p) => p === argv[i + 1]);
      if (!part) throw new Error(`--only needs one of ${BENCH_PARTS.join(', ')}`);
      options.only = part;
      i++;
    } else {
      throw new Error(`unknown argument ${arg} (expected --runs N, --json FILE, --regen, --uvs FILE, --only PART)`);
    }
  }
  return options;
}

/** The bench writes only under .bench/ and /tmp. */
function allowedOutputPath(file: string): string {
  const resolved = path.resolve(file);
  const inside = (dir: string): boolean => resolved.startsWith(dir + path.sep);
  if (!inside(BENCH_DIR) && !inside(fs.realpathSync('/tmp'))) {
    throw new Error(`--json ${file}: the bench writes only under ${BENCH_DIR}/ or /tmp/`);
  }
  return resolved;
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function fmt(n: number, digits: number): string {
  return n.toFixed(digits);
}

/** The replay bench (issue 3): its table and targets printed; what the JSON report keeps of it. */
async function replayBench(options: Options, elapsed: () => number): Promise<ReplayReport> {
  const { manifest, generated } = ensureBenchFiles(options.regen);
  console.log(
    `capture: ${path.relative(REPO_ROOT, BENCH_PATHS.capture)}, ${manifest.packets} packets, ${manifest.flows} flows, ` +
      `${(manifest.captureBytes / 1e6).toFixed(1)} MB, ${generated ? 'generated now' : 'cached'} ` +
      `(generation ${manifest.generationSeconds.toFixed(2)} s, ${manifest.version})`,
  );
  // Reading the capture once checks it and puts it in the page cache, so no timed run pays the disk.
  const inputPackets = countPcapPackets(BENCH_PATHS.capture);
  if (inputPackets !== manifest.packets) throw new Error(`capture has ${inputPackets} packets, manifest says ${manifest.packets}`);

  const tcprewrite = tcprewriteVersion();
  const conditions = collectConditions(tcprewrite, options.runs);
  console.log(describeConditions(conditions));

  const results: ProgramResult[] = benchPrograms(options.uvs, tcprewrite).map((program) => ({
    program,
    seconds: [],
    packets: null,
    failure: program.unavailable,
    warnings: [],
    check: null,
    summary: null,
  }));

  for (let round = 0; round < options.runs; round++) {
    if (round > 0 && elapsed() > ROUNDS_BUDGET_S) {
      console.log(`time budget reached after ${round} round(s); not starting more`);
      break;
    }
    for (const r of results) {
      const p = r.program;
      if (r.failure) continue;
      if (round > 0 && r.seconds[0] > REPEAT_LIMIT_S) continue;
      for (const file of [p.output, p.summary]) if (file) fs.rmSync(file, { force: true });
      const run = await runTimed(p.command, p.args, REPO_ROOT, RUN_TIMEOUT_MS);
      const failure = failureOf(run);
      if (failure) {
        r.failure = failure;
        console.log(`  ${p.name} ${p.mode}: FAILED ${failure}`);
        continue;
      }
      r.seconds.push(run.seconds);
      const verdict = verifyRun(p, inputPackets, run.stdout);
      r.packets = verdict.packets;
      r.check = verdict.check;
      r.summary = verdict.summary;
      for (const w of verdict.warnings) if (!r.warnings.includes(w)) r.warnings.push(w);
      const flag = verdict.warnings.length ? ' (check failed)' : '';
      console.log(`  round ${round + 1}: ${p.name} ${p.mode} ${fmt(run.seconds, 3)} s${flag}`);
    }
  }

  const medianOf = (r: ProgramResult | undefined): number | null => (r && r.seconds.length > 0 ? median(r.seconds) : null);
  const find = (name: Program['name'], mode: Mode): ProgramResult | undefined =>
    results.find((r) => r.program.name === name && r.program.mode === mode);
  const parserSeconds = medianOf(find('pcap-parser', 'read'));

  const rows = results.map((r) => {
    const p = r.program;
    const s = medianOf(r);
    if (s === null) return [p.name, p.mode, '-', '-', '-', '-', '-', '-', r.failure ?? 'no run'];
    const peerSeconds = p.mode === 'read' ? null : medianOf(find('tcprewrite', p.mode));
    const spread = r.seconds.length > 1 ? ` (${fmt(Math.min(...r.seconds), 3)}-${fmt(Math.max(...r.seconds), 3)})` : '';
    return [
      p.name,
      p.mode,
      String(r.packets ?? '?'),
      String(r.seconds.length),
      fmt(s, 3) + spread,
      fmt(inputPackets / s / 1e6, 2),
      peerSeconds === null ? '-' : fmt(peerSeconds / s, 2) + 'x',
      parserSeconds === null ? '-' : fmt(parserSeconds / s, 2) + 'x',
      r.warnings.length ? `WARNING: see below; ${p.note}` : p.note,
    ];
  });
  console.log('');
  console.log(`Replay: ${inputPackets} packets, ${manifest.flows} flows, one VIP; whole process, median of runs`);
  console.log(
    renderTable(
      ['program', 'mode', 'packets out', 'runs', 'seconds (min-max)', 'Mpps', 'vs tcprewrite', 'vs pcap-parser', 'notes'],
      rows,
      new Set([2, 3, 4, 5, 6, 7]),
    ),
  );
  console.log('Mpps = input packets / median seconds. "vs" = that program\'s time / this one\'s (higher is faster).');
  console.log('tcprewrite cannot balance per flow: its DR row rewrites every frame to one real server\'s MAC, its NAT row');
  console.log('maps every packet to 10.0.0.11:8080 (with --fixcsum); uvs schedules each flow (rr over 4 real servers).');

  for (const r of results) {
    if (r.check && r.program.name === 'uvs' && r.check.flowsPer.length > 1) {
      const p = r.program;
      console.log(`${p.name} ${p.mode}: flows per real server ${r.check.flowsPer.join(' / ')}, packets ${r.check.packetsPer.join(' / ')}`);
    }
  }
  const warningLines = results.flatMap((r) => r.warnings.map((w) => `WARNING ${r.program.name} ${r.program.mode}: ${w}`));
  if (warningLines.length) console.log('\n' + warningLines.join('\n'));

  const targetResults = TARGETS.map((t) => {
    const uvs = find('uvs', t.mode);
    const uvsS = medianOf(uvs);
    const peerS = medianOf(find('tcprewrite', t.mode));
    if (uvsS === null || peerS === null) {
      const why = uvsS === null ? `uvs ${uvs?.failure ?? 'no run'}` : 'tcprewrite did not run';
      return { ...t, ratio: null, status: `n/a (${why})` };
    }
    const ratio = peerS / uvsS;
    let status = ratio >= t.factor ? 'PASS' : 'MISS';
    if (uvs && uvs.warnings.length) status += ' (output check failed, see warnings)';
    const bareS = medianOf(find('bare-loop', t.mode));
    return { ...t, ratio, status, bareLoopRatio: bareS === null ? null : peerS / bareS };
  });
  console.log('');
  console.log(
    renderTable(
      ['target (issue 3)', 'measured', 'result', 'bare-loop, same run'],
      targetResults.map((t) => [
        t.label,
        t.ratio === null ? '-' : fmt(t.ratio, 2) + 'x',
        t.status,
        !('bareLoopRatio' in t) || t.bareLoopRatio === null ? '-' : fmt(t.bareLoopRatio, 2) + 'x',
      ]),
      new Set([1, 3]),
    ),
  );
  console.log('bare-loop: the plainest JavaScript doing the same rewrite (no validation, states, timers, counters).');

  return {
    conditions,
    capture: { ...manifest, file: path.relative(REPO_ROOT, BENCH_PATHS.capture), generatedThisRun: generated },
    results: results.map((r) => ({
      program: r.program.name,
      mode: r.program.mode,
      command: [path.basename(r.program.command), ...r.program.args.map((a) => a.replace(REPO_ROOT + path.sep, ''))].join(' '),
      runsSeconds: r.seconds,
      medianSeconds: medianOf(r),
      mpps: medianOf(r) === null ? null : inputPackets / (medianOf(r) as number) / 1e6,
      packetsOut: r.packets,
      flowsPerDestination: r.check?.flowsPer ?? null,
      summary: r.summary,
      failure: r.failure,
      warnings: r.warnings,
      note: r.program.note,
    })),
    targets: targetResults,
  };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const benchStart = process.hrtime.bigint();
  const elapsed = (): number => Number(process.hrtime.bigint() - benchStart) / 1e9;
  const wants = (part: BenchPart): boolean => options.only === null || options.only === part;

  const replay = wants('replay') ? await replayBench(options, elapsed) : null;

  // ---- Scheduler decisions per second, uvs against the kernel's algorithm run naively (issue 4) ----
  // scripts/bench/sched-bench.ts; a decision that differs from the naive peer's prints MISMATCH and
  // makes the bench exit non-zero.
  const schedulers = wants('sched') ? await runSchedulerBench() : null;
  if (schedulers && schedulers.mismatches > 0) {
    console.log(`\nMISMATCH: ${schedulers.mismatches} scheduler cell(s) disagree with the naive peer (see above)`);
    process.exitCode = 1;
  }
  // ---- end of the scheduler section ---------------------------------------------------------------

  // ---- HOOK (lead): connection table bytes per connection at 1M and 10M --------------------------
  // measureConnTableMemory() lives in scripts/bench/conn-memory.ts; the lead replaces its placeholder.
  let connTableMemory: Awaited<ReturnType<typeof measureConnTableMemory>> = null;
  if (wants('memory')) {
    console.log('\nConnection table memory');
    connTableMemory = await measureConnTableMemory();
    if (connTableMemory) {
      for (const m of connTableMemory) {
        const result = m.bytesPerConnection <= 64 ? 'PASS' : 'MISS';
        console.log(`  uvs connection table, ${m.connections} IPv4 connections: ${fmt(m.bytesPerConnection, 1)} bytes per connection (arrays; process ArrayBuffer growth ${fmt(m.arrayBufferBytesPerConnection, 1)}), filled in ${fmt(m.fillSeconds, 2)} s; target <= 64: ${result}`);
      }
      const naive = measureNaiveConnMemory();
      const uvs1m = connTableMemory[0].bytesPerConnection;
      console.log(`  naive peer (Map of string key -> object), ${naive.connections} connections: ${fmt(naive.bytesPerConnection, 1)} bytes per connection (V8 heap growth${global.gc ? ', after GC' : ', no --expose-gc: includes garbage'}): uvs uses ${fmt(naive.bytesPerConnection / uvs1m, 1)}x less`);
      console.log(`  kernel IPVS (documented): about ${KERNEL_BYTES_PER_CONNECTION} bytes per connection plus 8 per hash bucket: uvs uses ${fmt(KERNEL_BYTES_PER_CONNECTION / uvs1m, 1)}x less`);
    }
  }
  // ---- end of HOOK --------------------------------------------------------------------------------

  // Live forwarding in the namespace lab (issue 6): scripts/bench/live.ts (skips itself without root or trafgen).
  const live = wants('live') ? await runLiveBench(options.runs) : null;

  // Hostile input (issue 7): scripts/bench/fuzz.ts; any exception, count error or malformed output fails the bench.
  const fuzz = wants('fuzz') ? runFuzzBench() : null;
  if (fuzz && !fuzz.pass) process.exitCode = 1;

  console.log(`\nbench took ${fmt(elapsed(), 1)} s`);

  if (options.json) {
    const report = { ...replay, schedulers, connTableMemory, live, fuzz };
    fs.writeFileSync(options.json, JSON.stringify(report, null, 2) + '\n');
    console.log(`results written to ${options.json}`);
  }
}

main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
