/**
 * A feed for the director before live packet I/O exists: `uvs director ... --replay IN
 * [--replay-speed N|max] [--replay-out OUT] [--replay-loop]`.
 *
 * Frames are read from the capture and run through the director's own engine in batches; between
 * batches the event loop serves uvsadm and /metrics, so a command such as `uvsadm -e ... -w 0`
 * takes effect mid-run, between two frames. Pacing follows the capture's timestamps divided by
 * the speed (1 = real time); `max` runs as fast as the engine goes, still yielding every batch.
 * What the engine transmits is written to OUT when asked (pcap; pcapng when the director has
 * several links), under a temporary name renamed into place when the feed ends.
 *
 * Clock: the engine runs on the capture's clock, which also drives the rate estimators (see
 * estimator-clock.ts): before a frame at or past a 2 s boundary of engine time, `sample()` runs.
 * While a paced replay waits for its next frame the engine clock follows the paced capture time
 * (never past that frame), so rates decay and connections expire across gaps as they would live.
 * When the feed ends, the engine clock stops where the capture did (the rates stay as the capture
 * left them: a replay gives the same figures every time).
 *
 * Bounded: the feed stops at the end of the capture, or with --replay-loop runs it again with
 * every timestamp shifted by the capture's span plus its mean frame gap (so time keeps moving
 * forward), until stop(). A bad record or link type ends the feed with an error logged; the
 * director goes on serving.
 */
import type { Engine } from '../../ipvs/engine';
import { OutputBatch } from '../../ipvs/frame-batch';
import { CaptureReader } from '../../pcap/capture-reader';
import type { CaptureWriter } from '../../pcap/capture-writer';
import { PcapWriter } from '../../pcap/pcap-writer';
import { PcapngWriter } from '../../pcap/pcapng-writer';
import { nextEstimatorBoundary } from './estimator-clock';
import type { Logger } from './logger';

const LINKTYPE_ETHERNET = 1;
const NS_PER_SEC = 1e9;
/** A paced feed waiting for a frame wakes at least this often, so the engine clock follows the capture's through gaps. */
const MAX_IDLE_WAIT_MS = 100;

export interface ReplayFeedOptions {
  input: string;
  /** Capture seconds per wall-clock second; Infinity: as fast as possible. */
  speed: number;
  /** Where to write what the engine transmits, or null. */
  output: string | null;
  loop: boolean;
  engine: Engine;
  /** Names of the director's links (output interfaces of a pcapng OUT when there are several). */
  links: readonly string[];
  /** Runs the rate estimators' samples due by the engine's time (StatsBook.sample). */
  sample: () => void;
  logger: Logger;
  /** Most frames run in one turn of the event loop (default 4096). */
  batchFrames?: number;
  /** Wall clock for pacing, in ms (default performance.now). */
  wallClock?: () => number;
}

export interface ReplayFeedResult {
  reason: 'end of capture' | 'stopped' | 'error';
  frames: number;
  /** Passes over the capture started (1 without --replay-loop). */
  passes: number;
  error?: string;
}

export class ReplayFeedError extends Error {}

export class ReplayFeed {
  private reader: CaptureReader;
  private writer: CaptureWriter | null = null;
  private readonly out = new OutputBatch();
  private readonly batch: number;
  private readonly wallClock: () => number;
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private result: ReplayFeedResult | null = null;
  private resolveDone: (r: ReplayFeedResult) => void = () => undefined;
  /** Resolves when the feed has ended (end of capture, stop() or an error), output closed. */
  readonly done: Promise<ReplayFeedResult>;

  /** Frames run through the engine so far. */
  frames = 0;
  passes = 1;
  private passFrames = 0;
  private nextBoundary: number;
  private started = false;

  // The frame loaded from the reader and not yet run: its time after the loop shift.
  private hasFrame = false;
  private frameSec = 0;
  private frameNsec = 0;
  /** Its time in ns since `baseSec` (exact below 2^53 ns, 104 days). */
  private frameRelNs = 0;

  private baseSec = -1;
  private shiftNs = 0;
  private passFirstNs = 0;
  private passLastNs = 0;
  // Pacing: wall time and capture time of the first frame run.
  private wall0 = 0;
  private capture0Ns = -1;

  private constructor(private readonly opts: ReplayFeedOptions, reader: CaptureReader) {
    this.reader = reader;
    this.batch = opts.batchFrames ?? 4096;
    this.wallClock = opts.wallClock ?? (() => performance.now());
    this.out.allowInPlace = true; // the read buffer is ours: same-size rewrites need no copy
    this.nextBoundary = nextEstimatorBoundary(opts.engine.now);
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /**
   * Opens the capture (and the output): throws CaptureFormatError, ReplayFeedError or a file
   * system error naming the file. Nothing runs before start().
   */
  static open(opts: ReplayFeedOptions): ReplayFeed {
    if (!(opts.speed > 0)) throw new ReplayFeedError(`replay speed must be above 0, not ${opts.speed}`);
    const reader = CaptureReader.open(opts.input);
    let feed: ReplayFeed;
    try {
      checkLinkType(reader, opts.input);
      feed = new ReplayFeed(opts, reader);
      if (opts.output !== null) {
        feed.writer = opts.links.length > 1
          ? new PcapngWriter(opts.output, opts.links.map((name) => ({ name, linkType: LINKTYPE_ETHERNET })), reader.nanosecond)
          : new PcapWriter(opts.output, LINKTYPE_ETHERNET, { nanosecond: reader.nanosecond });
      }
    } catch (e) {
      reader.close();
      throw e;
    }
    return feed;
  }

  get running(): boolean {
    return this.result === null;
  }

  start(): void {
    if (this.result !== null || this.started) return;
    this.started = true;
    this.opts.logger.log('info', 'replay started', {
      input: this.opts.input,
      speed: Number.isFinite(this.opts.speed) ? this.opts.speed : 'max',
      output: this.opts.output,
      loop: this.opts.loop,
    });
    this.immediate = setImmediate(() => this.turn());
  }

  /** Ends the feed (shutdown); the output written so far is kept. */
  stop(): Promise<ReplayFeedResult> {
    this.finish({ reason: 'stopped', frames: this.frames, passes: this.passes });
    return this.done;
  }

  /** Ends a feed that never started (the director failed to start): no output file is left. */
  discard(): Promise<ReplayFeedResult> {
    if (this.result === null && this.writer !== null && !this.started) {
      this.writer.abort();
      this.writer = null;
    }
    return this.stop();
  }

  private turn(): void {
    this.immediate = null;
    this.timer = null;
    if (this.result !== null) return;
    try {
      const paced = Number.isFinite(this.opts.speed);
      if (!this.hasFrame && this.frames === 0) this.hasFrame = this.loadNext();
      const now = this.wallClock();
      let n = 0;
      while (this.hasFrame && n < this.batch) {
        if (paced && this.capture0Ns >= 0 && this.dueAt() > now) break;
        this.runFrame();
        n++;
        this.hasFrame = this.loadNext();
      }
      if (!this.hasFrame) {
        this.finish({ reason: 'end of capture', frames: this.frames, passes: this.passes });
        return;
      }
      const due = paced && this.capture0Ns >= 0 ? this.dueAt() : now;
      if (due > now) {
        this.followCaptureClock(now);
        this.timer = setTimeout(() => this.turn(), Math.min(due - now, MAX_IDLE_WAIT_MS));
      } else {
        this.immediate = setImmediate(() => this.turn());
      }
    } catch (e) {
      const message = (e as Error).message;
      this.opts.logger.log('error', 'replay stopped by an error', { input: this.opts.input, frames: this.frames, error: message });
      this.finish({ reason: 'error', frames: this.frames, passes: this.passes, error: message });
    }
  }

  /** Wall time (ms) at which the loaded frame is due. */
  private dueAt(): number {
    return this.wall0 + (this.frameRelNs - this.capture0Ns) / 1e6 / this.opts.speed;
  }

  /** Moves the estimators past every boundary the engine's clock has reached. */
  private sampleIfDue(): void {
    const now = this.opts.engine.now;
    if (now < this.nextBoundary) return;
    this.opts.sample();
    this.nextBoundary = nextEstimatorBoundary(now);
  }

  private runFrame(): void {
    const engine = this.opts.engine;
    const r = this.reader;
    const sec = this.frameSec;
    const nsec = this.frameNsec;
    if (this.capture0Ns < 0) {
      this.capture0Ns = this.frameRelNs;
      this.wall0 = this.wallClock();
    }
    // The samples due before this frame see exactly the frames before it.
    engine.advanceClock(sec, nsec);
    this.sampleIfDue();
    const out = this.out;
    engine.processFrameAt(r.data, r.offset, r.capLen, sec, nsec, out, this.frames);
    const w = this.writer;
    if (w !== null) {
      const multi = this.opts.links.length > 1;
      for (let i = 0; i < out.count; i++) w.writePacket(multi ? out.link[i] : 0, out.frameBuf[i], out.off[i], out.len[i], sec, nsec);
    }
    out.reset();
    this.frames++;
    this.passFrames++;
  }

  /** While waiting for the next frame, the engine's clock follows the paced capture time. */
  private followCaptureClock(nowWall: number): void {
    if (this.frames === 0) return; // the engine's clock starts with the first frame
    const paced = this.capture0Ns + (nowWall - this.wall0) * 1e6 * this.opts.speed;
    const target = Math.floor(Math.min(paced, this.frameRelNs));
    const whole = Math.floor(target / NS_PER_SEC);
    this.opts.engine.advanceClock(this.baseSec + whole, target - whole * NS_PER_SEC);
    this.sampleIfDue();
  }

  /** Loads the next frame (starting the next pass with --replay-loop); false at the end. */
  private loadNext(): boolean {
    for (;;) {
      const r = this.reader;
      if (r.next()) {
        checkLinkType(r, this.opts.input);
        if (this.baseSec < 0) this.baseSec = r.tsSec;
        const rel = (r.tsSec - this.baseSec) * NS_PER_SEC + r.tsNsec;
        if (this.passFrames === 0) {
          this.passFirstNs = rel;
          this.passLastNs = rel;
        } else if (rel > this.passLastNs) {
          this.passLastNs = rel;
        }
        const t = rel + this.shiftNs;
        const whole = Math.floor(t / NS_PER_SEC);
        this.frameRelNs = t;
        this.frameSec = this.baseSec + whole;
        this.frameNsec = t - whole * NS_PER_SEC;
        return true;
      }
      if (!this.opts.loop || this.passFrames === 0 || this.result !== null) return false;
      // The next pass starts one mean frame gap after this one ended.
      const span = this.passLastNs - this.passFirstNs;
      const gap = this.passFrames > 1 && span > 0 ? Math.round(span / (this.passFrames - 1)) : 1e6;
      this.shiftNs += span + Math.max(1, gap);
      this.reader.close();
      this.reader = CaptureReader.open(this.opts.input);
      this.passes++;
      this.passFrames = 0;
    }
  }

  private finish(result: ReplayFeedResult): void {
    if (this.result !== null) return;
    this.result = result;
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.immediate !== null) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
    this.hasFrame = false;
    this.reader.close();
    let error = result.error;
    if (this.writer !== null) {
      try {
        this.writer.close();
      } catch (e) {
        error = `cannot write ${this.opts.output}: ${(e as Error).message}`;
        this.opts.logger.log('error', 'replay output not written', { output: this.opts.output, error });
        try {
          this.writer.abort();
        } catch {
          // the temporary file may already be gone
        }
      }
      this.writer = null;
    }
    const engine = this.opts.engine;
    if (this.started) this.opts.logger.log(result.reason === 'error' ? 'warn' : 'info', 'replay finished', {
      input: this.opts.input,
      reason: result.reason,
      frames: this.frames,
      passes: this.passes,
      transmitted: engine.framesOut,
      engineSeconds: engine.now / 1000,
      output: this.opts.output,
    });
    this.resolveDone(error === undefined ? result : { ...result, error });
  }
}

function checkLinkType(r: CaptureReader, input: string): void {
  if (r.linkType !== LINKTYPE_ETHERNET) {
    throw new ReplayFeedError(`${input}: byte ${r.bytesRead}: link type ${r.linkType} is not supported (Ethernet, link type 1, only)`);
  }
}
