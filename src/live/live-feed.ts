/**
 * The live director's loop: the only code that knows both the ports and the engine. Each port
 * calls back when frames are waiting; its batches run through the engine with in-place rewrites
 * (a frame that keeps its size is rewritten where it arrived, in the port's ring), what the
 * engine transmits is queued on the egress links' ports and flushed once per batch, and only then
 * is the batch's memory given back to its port (queued frames may point into it).
 *
 * Per frame the loop itself adds two byte reads (is it ARP, for the neighbour resolver?) and a
 * flag test (finish a checksum the sender left to hardware?); nothing is allocated. Before that,
 * one pass over the batch touches the memory the connection lookups will read (LookupWarmer).
 *
 * Clock: frames carry the kernel's receive time (CLOCK_REALTIME); between frames a timer moves
 * the engine's clock on the wall clock, so connections expire on an idle director too.
 */
import type { Engine } from '../ipvs/engine';
import { OutputBatch } from '../ipvs/frame-batch';
import { LookupWarmer } from '../ipvs/lookup-warmer';
import { RX_CSUM_PARTIAL, type Port, type RxBatch } from '../io/port';
import { arpMessageAt } from '../wire/arp';
import { finishPartialChecksum } from '../wire/partial-checksum';
import type { NeighbourResolver } from './neighbour-resolver';

/** Batches taken from one port per wake-up before yielding to the event loop (control, other ports). */
const BATCHES_PER_TURN = 64;
const CLOCK_TICK_MS = 50;

export interface LiveFeedOptions {
  engine: Engine;
  /** Ports by link index (the director file's link order); null for a link that is not attached. */
  ports: readonly (Port | null)[];
  resolver: NeighbourResolver | null;
  /** Runs after each wake-up's batches (e.g. the rate estimators' sampling); optional. */
  afterBatches?: () => void;
  /** Told about an error that made the loop give up a batch (a bug); optional. */
  onError?: (e: unknown) => void;
}

export interface LiveFeedStats {
  batches: number;
  framesIn: number;
  framesOut: number;
  /** Output frames no port took (queue full twice, or no port on the egress link). */
  outputDropped: number;
  checksumsFinished: number;
  /** Batches given up because processing them threw (a bug; see onError). */
  batchErrors: number;
}

export class LiveFeed {
  private readonly out = new OutputBatch();
  private readonly touched: Uint8Array;
  private readonly ports: readonly (Port | null)[];
  private readonly engine: Engine;
  private readonly warmer: LookupWarmer;
  private clock: NodeJS.Timeout | null = null;
  private readonly pending: boolean[];
  private running = false;
  readonly counters: LiveFeedStats = { batches: 0, framesIn: 0, framesOut: 0, outputDropped: 0, checksumsFinished: 0, batchErrors: 0 };

  constructor(private readonly opts: LiveFeedOptions) {
    this.engine = opts.engine;
    this.warmer = new LookupWarmer(opts.engine.conns4, opts.engine.conns6);
    this.ports = opts.ports;
    this.touched = new Uint8Array(opts.ports.length);
    this.pending = opts.ports.map(() => false);
    // Every port may send frames that lie in the output slab or in any port's receive memory.
    for (const p of this.ports) {
      if (p === null) continue;
      p.addTxRegion(this.out.buf);
      for (const q of this.ports) if (q !== null && q.rxMemory !== null) p.addTxRegion(q.rxMemory);
    }
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.ports.forEach((p, i) => p?.start(() => this.drain(i)));
    this.tickClock();
    this.clock = setInterval(() => this.tickClock(), CLOCK_TICK_MS);
    this.clock.unref();
  }

  /** Stops reading; ports stay open (their owner closes them). */
  stop(): void {
    this.running = false;
    if (this.clock !== null) clearInterval(this.clock);
    this.clock = null;
  }


  private tickClock(): void {
    const ms = Date.now();
    this.engine.advanceClock(Math.floor(ms / 1000), (ms % 1000) * 1_000_000);
  }

  /** Runs the port's waiting batches; yields after BATCHES_PER_TURN and comes back on the next turn. */
  private drain(link: number): void {
    if (!this.running) return;
    this.pending[link] = false;
    const port = this.ports[link] as Port;
    let n = 0;
    for (; n < BATCHES_PER_TURN; n++) {
      const batch = port.receive();
      if (batch === null) break;
      try {
        this.run(batch, link);
      } catch (e) {
        // A bug must not take the director down, nor stall the link: the batch is given up,
        // counted and reported, and its blocks go back to the ring below.
        this.counters.batchErrors++;
        this.out.reset();
        this.opts.onError?.(e);
      } finally {
        port.release();
      }
    }
    this.opts.afterBatches?.();
    if (n === BATCHES_PER_TURN && !this.pending[link]) {
      this.pending[link] = true;
      setImmediate(() => this.drain(link));
    }
  }

  private run(b: RxBatch, link: number): void {
    const engine = this.engine;
    const out = this.out;
    const buf = b.buf;
    out.reset();
    out.allowInPlace = true;
    this.counters.batches++;
    this.counters.framesIn += b.count;
    this.warmer.warmBatch(buf, b.off, b.len, b.count);
    for (let j = 0; j < b.count; j++) {
      const off = b.off[j];
      const len = b.len[j];
      if ((b.flags[j] & RX_CSUM_PARTIAL) !== 0 && finishPartialChecksum(buf, off, len)) this.counters.checksumsFinished++;
      if (buf[off + 12] === 0x08 && buf[off + 13] === 0x06 && this.opts.resolver !== null) {
        const a = arpMessageAt(buf, off, len);
        if (a >= 0) this.opts.resolver.observeArp(buf, a, link);
      }
      engine.processFrameAt(buf, off, len, b.sec[j], b.nsec[j], out, j);
      if (out.nearlyFull()) this.transmit();
    }
    this.transmit();
  }

  /** Queues the output batch on the egress ports, flushes them, and empties the batch. */
  private transmit(): void {
    const out = this.out;
    const ports = this.ports;
    const touched = this.touched;
    for (let k = 0; k < out.count; k++) {
      const link = out.link[k];
      const port = ports[link];
      if (port === null || port === undefined) {
        this.counters.outputDropped++;
        continue;
      }
      if (!port.queue(out.frameBuf[k], out.off[k], out.len[k])) {
        port.flush();
        if (!port.queue(out.frameBuf[k], out.off[k], out.len[k])) {
          this.counters.outputDropped++;
          continue;
        }
      }
      touched[link] = 1;
    }
    this.counters.framesOut += out.count;
    for (let i = 0; i < touched.length; i++) {
      if (touched[i] === 0) continue;
      touched[i] = 0;
      (ports[i] as Port).flush();
    }
    out.reset();
  }
}
