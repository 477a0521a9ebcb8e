/**
 * IPVS's rate estimator (ipvs-facts.md section 7, the classic ip_vs_est.c): every 2 seconds each
 * stats object turns the growth of its five counters into exponentially weighted averages,
 *
 *   rate  = delta << 9 (conns, packets: per second x 1024) or delta << 4 (bytes: per second x 32)
 *   avg  += (rate - avg) >> 2            (arithmetic shift: floor)
 *   shown = (avg + 0x1FF) >> 10  or  (avg + 0xF) >> 5
 *
 * computed exactly for counters up to 2^53 without BigInt: an average is kept as a whole part
 * (the per-second value) and the fraction below it (10 or 5 bits), so no intermediate value
 * exceeds 2^54, where a plain double would need 2^62.
 *
 * Time comes from the caller (milliseconds on any fixed origin). Samples fall on the boundaries
 * start + 2000 k; `sample(now)` runs every boundary up to `now` with the counters as they are.
 * That is exact when the owner calls it before counting anything that happens at `now`: nothing
 * was counted between the boundaries, so the first one sees the whole growth and the others none.
 */
import type { ListingRates, ListingStats } from './listing-model';

export const ESTIMATOR_PERIOD_MS = 2000;

/** Fraction bits of the averages: 10 for connections and packets, 5 for bytes. */
const PACKET_SHIFT = 10;
const BYTE_SHIFT = 5;

/** One average, avg = whole * 2^shift + frac with 0 <= frac < 2^shift, updated exactly. */
export class ScaledAverage {
  private whole = 0;
  private frac = 0;
  private readonly unit: number;
  private readonly quarterUnit: number;

  constructor(readonly shift: number) {
    this.unit = 2 ** shift;
    this.quarterUnit = 2 ** (shift - 2);
  }

  /** One sample: avg += ((delta << (shift - 1)) - avg) >> 2, for `delta` counted over 2 s. */
  update(delta: number): void {
    // rate - avg = (delta * 2^(shift-1)) - (whole * 2^shift + frac)
    //            = (delta - 2 whole) * 2^(shift-1) - frac           (d2 = delta - 2 whole)
    // >> 2       = d2 * 2^(shift-3) - ceil(frac / 4)                 (2^(shift-1) divisible by 4)
    // d2 * 2^(shift-3) = floor(d2 / 8) * 2^shift + (d2 mod 8) * 2^(shift-3)
    const d2 = delta - 2 * this.whole;
    const eighths = Math.floor(d2 / 8);
    const rest = d2 - eighths * 8; // 0..7
    this.whole += eighths;
    let frac = this.frac - Math.ceil(this.frac / 4) + rest * (this.quarterUnit / 2);
    while (frac >= this.unit) {
      frac -= this.unit;
      this.whole += 1;
    }
    this.frac = frac;
  }

  /** The value ipvsadm shows: (avg + 2^(shift-1) - 1) >> shift. */
  reported(): number {
    return this.whole + (this.frac > this.unit / 2 ? 1 : 0);
  }

  isZero(): boolean {
    return this.whole === 0 && this.frac === 0;
  }

  reset(): void {
    this.whole = 0;
    this.frac = 0;
  }
}

const FIELDS = ['conns', 'inpkts', 'outpkts', 'inbytes', 'outbytes'] as const;

/** The estimator of one stats object, reading its raw (never zeroed) counters through `read`. */
export class RateEstimator {
  private readonly averages = [
    new ScaledAverage(PACKET_SHIFT),
    new ScaledAverage(PACKET_SHIFT),
    new ScaledAverage(PACKET_SHIFT),
    new ScaledAverage(BYTE_SHIFT),
    new ScaledAverage(BYTE_SHIFT),
  ];
  private readonly last: number[];
  private next: number;

  /** Starts at `startMs` with the counters as they are then (a new object: all zero). */
  constructor(
    private readonly read: () => Readonly<ListingStats>,
    startMs: number,
  ) {
    const now = read();
    this.last = FIELDS.map((f) => now[f]);
    this.next = startMs + ESTIMATOR_PERIOD_MS;
  }

  /** The time of the next sample. */
  get nextSampleMs(): number {
    return this.next;
  }

  /** Runs every sample due at or before `nowMs`; returns how many boundaries passed. */
  sample(nowMs: number): number {
    if (nowMs < this.next) return 0;
    const passed = Math.floor((nowMs - this.next) / ESTIMATOR_PERIOD_MS) + 1;
    const now = this.read();
    // A counter that went back was reset by its owner: it is a new baseline, not growth.
    const deltas = FIELDS.map((f, i) => Math.max(0, now[f] - this.last[i]));
    FIELDS.forEach((f, i) => (this.last[i] = now[f]));
    for (let k = 0; k < passed; k++) {
      for (let i = 0; i < FIELDS.length; i++) this.averages[i].update(k === 0 ? deltas[i] : 0);
      // Once every average has decayed to zero, further idle samples change nothing.
      if (this.averages.every((a) => a.isZero())) break;
    }
    this.next += passed * ESTIMATOR_PERIOD_MS;
    return passed;
  }

  /** The five rates as ipvsadm --rate shows them (bytes per second for the last two). */
  rates(): ListingRates {
    const [cps, inpps, outpps, inbps, outbps] = this.averages.map((a) => a.reported());
    return { cps, inpps, outpps, inbps, outbps };
  }

  /** -Z: rates to zero and the baseline moved to the current counters (the schedule stays). */
  zero(): void {
    const now = this.read();
    FIELDS.forEach((f, i) => (this.last[i] = now[f]));
    for (const a of this.averages) a.reset();
  }
}

/**
 * A stats object as ipvsadm sees it: raw counters read through `read`, shown relative to the
 * last zeroing, with their estimated rates.
 */
export class ZeroableStats {
  private readonly estimator: RateEstimator;
  private readonly base: number[];

  constructor(
    private readonly read: () => Readonly<ListingStats>,
    startMs: number,
  ) {
    this.estimator = new RateEstimator(read, startMs);
    this.base = FIELDS.map(() => 0);
  }

  sample(nowMs: number): number {
    return this.estimator.sample(nowMs);
  }

  /** -Z: the current counters become the zero point; rates restart from 0. */
  zero(): void {
    const now = this.read();
    FIELDS.forEach((f, i) => (this.base[i] = now[f]));
    this.estimator.zero();
  }

  stats(): ListingStats {
    const now = this.read();
    const [conns, inpkts, outpkts, inbytes, outbytes] = FIELDS.map((f, i) => now[f] - this.base[i]);
    return { conns, inpkts, outpkts, inbytes, outbytes };
  }

  rates(): ListingRates {
    return this.estimator.rates();
  }
}
