/**
 * Feeds hostile frames to an engine one at a time and checks, for every frame, what issue 7
 * promises: processFrameAt never throws; the frame is either transmitted (framesOut + 1, one
 * output frame), or counted under exactly one drop reason (one drop counter + 1) with no output
 * or with the director's ICMP answer as the one output; framesIn + icmp.sent == framesOut +
 * sum(drops) after it; and a transmitted frame passes checkOutputFrame.
 * Problems are counted and the first few described (with the input frame in hex); a reservoir
 * keeps a sample of transmitted frames for tshark. Used by test/hostile-input.test.ts and by the
 * fuzz bench (scripts/bench/fuzz.ts).
 */
import { performance } from 'node:perf_hooks';
import type { BuiltEngine } from '../../src/ipvs/engine-builder';
import { OutputBatch } from '../../src/ipvs/frame-batch';
import { PcapWriter } from '../../src/pcap/pcap-writer';
import { SeededRng } from './hostile-frames';
import { buildScenarioEngine, type HostileScenario } from './hostile-scenarios';
import { checkOutputFrame, transportStatus } from './hostile-validate';

export interface RunnerOptions {
  /** Transmitted frames kept for tshark (reservoir sampling); 0 keeps none. */
  sampleSize?: number;
  /** Let the engine rewrite some frames in their own buffer (OutputBatch.allowInPlace), one in `inPlaceEvery`. */
  inPlaceEvery?: number;
  /** Problems described in full (the rest are only counted). */
  maxProblems?: number;
  seed?: number;
  /** Time each processFrameAt call (adds two clock reads per frame). */
  timeEngine?: boolean;
}

/** A transmitted frame kept for tshark, with the input frame that caused it. */
export interface SampledFrame {
  input: Uint8Array;
  output: Uint8Array;
  tsSec: number;
  tsNsec: number;
}

const START_SEC = 1_700_000_000;
const HEX_LIMIT = 256;

function hex(b: Uint8Array, off: number, len: number): string {
  const n = Math.min(len, HEX_LIMIT);
  return Buffer.from(b.buffer, b.byteOffset + off, n).toString('hex') + (len > n ? `... (${len} bytes)` : '');
}

export class HostileRunner {
  readonly built: BuiltEngine;
  readonly out = new OutputBatch(1 << 18, 4);
  frames = 0;
  transmitted = 0;
  exceptions = 0;
  malformed = 0;
  /** Frames after which the counters did not add up (or more than one moved). */
  accounting = 0;
  /** Milliseconds spent inside processFrameAt (only with RunnerOptions.timeEngine). */
  engineMs = 0;
  readonly problems: string[] = [];
  readonly sample: SampledFrame[] = [];
  private readonly maxProblems: number;
  private readonly sampleSize: number;
  private readonly inPlaceEvery: number;
  private readonly timeEngine: boolean;
  /** Drives the clock: runners with the same seed see the same times. */
  private readonly clockRng: SeededRng;
  private readonly sampleRng: SeededRng;
  private sec = START_SEC;
  private nsec = 0;
  /** Input copy, for the description of a problem found after an in-place rewrite. */
  private readonly inputCopy = new Uint8Array(1 << 17);

  constructor(readonly scenario: HostileScenario, options: RunnerOptions = {}) {
    this.built = buildScenarioEngine(scenario);
    this.maxProblems = options.maxProblems ?? 5;
    this.sampleSize = options.sampleSize ?? 0;
    this.inPlaceEvery = options.inPlaceEvery ?? 0;
    this.timeEngine = options.timeEngine ?? false;
    this.clockRng = new SeededRng(options.seed ?? 1);
    this.sampleRng = new SeededRng((options.seed ?? 1) + 1);
  }

  /** Sum of the engine's drop counters. */
  dropsTotal(): number {
    const d = this.built.engine.drops;
    let n = 0;
    for (let i = 0; i < d.length; i++) n += d[i];
    return n;
  }

  /** Moves the engine clock: a millisecond per frame, now and then minutes (so that entries expire). */
  private tick(): void {
    if (this.clockRng.int(2000) === 0) {
      this.sec += 60 + this.clockRng.int(1000);
    } else {
      this.nsec += 1_000_000;
      if (this.nsec >= 1e9) {
        this.nsec -= 1e9;
        this.sec++;
      }
    }
  }

  private problem(what: string, buf: Uint8Array, off: number, len: number): void {
    if (this.problems.length < this.maxProblems) {
      this.problems.push(`${this.scenario.name}, frame ${this.frames}: ${what}; input ${hex(buf, off, len)}`);
    }
  }

  /** Runs one frame b[off, off+len) through the engine and checks it. Returns true when it was transmitted. */
  feed(b: Uint8Array, off: number, len: number): boolean {
    const e = this.built.engine;
    const out = this.out;
    this.tick();
    this.frames++;
    const status = transportStatus(b, off, len);
    const keep = Math.min(len, this.inputCopy.length);
    this.inputCopy.set(b.subarray(off, off + keep));
    out.reset();
    out.allowInPlace = this.inPlaceEvery > 0 && this.frames % this.inPlaceEvery === 0;
    const inBefore = e.framesIn;
    const outBefore = e.framesOut;
    const dropsBefore = this.dropsTotal();
    const answersBefore = e.icmp.sent;
    const extraBefore = e.fragmenter.extraFrames;
    let sent: boolean;
    const t0 = this.timeEngine ? performance.now() : 0;
    try {
      sent = e.processFrameAt(b, off, len, this.sec, this.nsec, out, 0);
      if (this.timeEngine) this.engineMs += performance.now() - t0;
    } catch (err) {
      this.exceptions++;
      const msg = err instanceof Error ? (err.stack ?? err.message).split('\n').slice(0, 4).join(' | ') : String(err);
      this.problem(`processFrameAt threw ${msg}`, this.inputCopy, 0, keep);
      return false;
    }
    const drops = this.dropsTotal();
    // drops[0] is DropReason.None: a frame dropped "for no reason" would hide there.
    // A frame the director answers with an ICMP error (TTL expired, too big, no destination) is
    // dropped and counted by reason, and the answer is transmitted: in + answers = out + dropped.
    const answered = e.icmp.sent - answersBefore;
    // A packet sent as IPv4 fragments is one frame per fragment: extra counts those beyond the first.
    const extra = e.fragmenter.extraFrames - extraBefore;
    const ok =
      e.drops[0] === 0 &&
      e.framesIn === inBefore + 1 &&
      e.framesIn + e.icmp.sent + e.fragmenter.extraFrames === e.framesOut + drops &&
      (answered === 1
        ? sent && e.framesOut === outBefore + 1 && drops === dropsBefore + 1 && out.count === 1
        : answered === 0 &&
          (sent
            ? e.framesOut === outBefore + 1 + extra && drops === dropsBefore && out.count === 1 + extra
            : e.framesOut === outBefore && drops === dropsBefore + 1 && out.count === 0));
    if (!ok) {
      this.accounting++;
      this.problem(
        `counts do not add up: sent ${sent}, in ${inBefore}->${e.framesIn}, out ${outBefore}->${e.framesOut}, ` +
          `drops ${dropsBefore}->${drops}, output frames ${out.count}`,
        this.inputCopy, 0, keep,
      );
    }
    if (!sent || out.count === 0) return sent;
    this.transmitted++;
    for (let i = 1; i < out.count; i++) {
      const fragmentBad = checkOutputFrame(out.frameBuf[i], out.off[i], out.len[i], status);
      if (fragmentBad !== null) {
        this.malformed++;
        this.problem(`malformed output frame ${i + 1} (${fragmentBad}): ${hex(out.frameBuf[i], out.off[i], out.len[i])}`, this.inputCopy, 0, keep);
      }
    }
    const ob = out.frameBuf[0];
    const oo = out.off[0];
    const ol = out.len[0];
    const bad = checkOutputFrame(ob, oo, ol, status);
    if (bad !== null) {
      this.malformed++;
      this.problem(`malformed output (${bad}): ${hex(ob, oo, ol)}`, this.inputCopy, 0, keep);
    } else if (this.sampleSize > 0 && status !== 'bad') {
      this.keepSample(ob, oo, ol, keep);
    }
    return true;
  }

  /** Reservoir sampling over the well-formed outputs of inputs whose transport checksum was not wrong. */
  private keepSample(b: Uint8Array, off: number, len: number, inputLen: number): void {
    const s = this.sample;
    const seen = this.transmitted;
    const frame = (): SampledFrame => ({
      input: this.inputCopy.slice(0, inputLen),
      output: b.slice(off, off + len),
      tsSec: this.sec,
      tsNsec: this.nsec,
    });
    if (s.length < this.sampleSize) s.push(frame());
    else {
      const j = this.sampleRng.int(seen);
      if (j < this.sampleSize) s[j] = frame();
    }
  }
}

/** Writes the inputs or the outputs of sampled frames to a classic pcap (Ethernet) at file, in order. */
export function writeSample(file: string, frames: readonly SampledFrame[], which: 'input' | 'output'): void {
  const w = new PcapWriter(file, 1, { nanosecond: true });
  try {
    for (const f of frames) w.writePacket(0, f[which], 0, f[which].length, f.tsSec, f.tsNsec);
    w.close();
  } catch (err) {
    w.abort();
    throw err;
  }
}
