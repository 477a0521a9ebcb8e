/**
 * Naive peers of the list-walking schedulers (rr, wrr, lc, wlc, sed, nq, fo, ovf, twos), written
 * from ipvs-schedulers.md sections 2-10: every decision walks the array of dest objects as the
 * kernel walks its list. Per-weight comparisons use plain products: with the bench's weights
 * (<= 100) and counts every product stays far below 2^31, where the kernel's int and 64-bit
 * arithmetic and JavaScript numbers all agree.
 */
import { NaiveDest, NaiveScheduler, NaiveService, naiveOverhead, naiveUsable } from './sched-naive-dest';

/** Base for the schedulers without configuration hooks or tables. */
abstract class Stateless implements NaiveScheduler {
  constructor(protected readonly svc: NaiveService) {}
  changed(): void {}
  prepare(): void {}
  abstract decide(srcKey: number, dstKey: number, sport: number, proto: number, now: number): number;
}

/** rr (2): the first usable dest after the cursor, wrapping round to the cursor itself. */
class NaiveRr extends Stateless {
  /** Index in the list of the dest chosen last; -1 = the list head. */
  private cursor = -1;

  changed(): void {
    // Adds shift list indexes; the bench only configures before the first decision.
    if (this.cursor !== -1) throw new Error('naive rr: configuration change after decisions');
  }

  decide(): number {
    const list = this.svc.list;
    const n = list.length;
    for (let k = 1; k <= n; k++) {
      const i = (this.cursor + k) % n;
      const d = list[i];
      if (d.weight > 0 && !d.overload) {
        this.cursor = i;
        return d.id;
      }
    }
    return -1;
  }
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** wrr (3): passes with a current weight cw stepping down from mw by di. */
class NaiveWrr implements NaiveScheduler {
  private cl = -1;
  private cw = 0;
  private mw = 0;
  private di = 1;

  constructor(private readonly svc: NaiveService) {
    this.recompute();
    this.cw = this.mw;
  }

  private recompute(): void {
    const positive = this.svc.list.map((d) => d.weight).filter((w) => w > 0);
    this.di = positive.length > 0 ? positive.reduce(gcd) : 1;
    const max = this.svc.list.reduce((m, d) => Math.max(m, d.weight), 0);
    this.mw = max - (this.di - 1);
  }

  /** Add, delete and edit all do the same. */
  changed(): void {
    this.cl = -1;
    this.recompute();
    if (this.cw > this.mw || this.cw === 0) this.cw = this.mw;
    else if (this.di > 1) this.cw = Math.floor(this.cw / this.di) * this.di + 1;
  }

  prepare(): void {}

  decide(): number {
    if (this.mw === 0) return -1;
    const list = this.svc.list;
    const start = this.cl;
    let stop: number | null = null;
    let lastPass = false;
    let restarted = false;
    let pos = this.cl;
    for (;;) {
      for (let i = pos + 1; i < list.length; i++) {
        const d = list[i];
        if (!d.overload && d.weight >= this.cw) {
          this.cl = i;
          return d.id;
        }
        if (i === stop) {
          this.cl = i;
          return -1;
        }
      }
      pos = -1;
      this.cw -= this.di;
      if (this.cw <= 0) {
        this.cw = this.mw;
        if (lastPass || start === -1) {
          this.cl = -1;
          return -1;
        }
        restarted = true;
      }
      lastPass = this.cw <= this.di;
      if (lastPass && restarted && start !== -1) stop = start;
    }
  }
}

/** lc (4): smallest overhead, compared unsigned; weight 0 and OVERLOAD excluded; first wins ties. */
class NaiveLc extends Stateless {
  decide(): number {
    let best: NaiveDest | null = null;
    let bestOverhead = 0;
    for (const d of this.svc.list) {
      if (d.overload || d.weight === 0) continue;
      const overhead = naiveOverhead(d) >>> 0;
      if (best === null || overhead < bestOverhead) {
        best = d;
        bestOverhead = overhead;
      }
    }
    return best === null ? -1 : best.id;
  }
}

/**
 * wlc (5), sed (6): the first usable dest seeds the choice; a later non-OVERLOAD dest replaces it
 * when strictly less loaded per weight. `load` is the overhead (wlc) or active + 1 (sed).
 */
class NaiveLeastPerWeight extends Stateless {
  constructor(svc: NaiveService, private readonly load: (d: NaiveDest) => number) {
    super(svc);
  }

  decide(): number {
    let least: NaiveDest | null = null;
    let leastLoad = 0;
    for (const d of this.svc.list) {
      if (least === null) {
        if (naiveUsable(d)) {
          least = d;
          leastLoad = this.load(d);
        }
        continue;
      }
      if (d.overload) continue;
      const load = this.load(d);
      if (leastLoad * d.weight > load * least.weight) {
        least = d;
        leastLoad = load;
      }
    }
    return least === null ? -1 : least.id;
  }
}

const sedLoad = (d: NaiveDest): number => d.active + 1;

/** nq (7): the first candidate with no active connection, else sed's choice. */
class NaiveNq extends Stateless {
  decide(): number {
    let least: NaiveDest | null = null;
    for (const d of this.svc.list) {
      if (d.overload || d.weight === 0) continue;
      if (d.active === 0) return d.id;
      if (least === null || (least.active + 1) * d.weight > (d.active + 1) * least.weight) least = d;
    }
    return least === null ? -1 : least.id;
  }
}

/** fo (8): the highest weight without OVERLOAD; first wins ties. */
class NaiveFo extends Stateless {
  decide(): number {
    let best: NaiveDest | null = null;
    for (const d of this.svc.list) {
      if (!d.overload && d.weight > (best === null ? 0 : best.weight)) best = d;
    }
    return best === null ? -1 : best.id;
  }
}

/** ovf (9): as fo, among dests whose active connections do not exceed their weight. */
class NaiveOvf extends Stateless {
  decide(): number {
    let best: NaiveDest | null = null;
    for (const d of this.svc.list) {
      if (d.overload || d.weight <= 0 || d.active > d.weight) continue;
      if (best === null || d.weight > best.weight) best = d;
    }
    return best === null ? -1 : best.id;
  }
}

const TWO_32 = 4294967296;

/**
 * get_random_u32_below(total) (10, step 3). total < 2^21 here, so total * x (< 2^53) is an exact
 * double and its low and high halves come out by % and /.
 */
function randomBelow(random: { nextU32(): number }, total: number): number {
  let m = total * random.nextU32();
  if (m % TWO_32 < total) {
    const bound = TWO_32 % total;
    while (m % TWO_32 < bound) m = total * random.nextU32();
  }
  return Math.floor(m / TWO_32);
}

/** twos (10): two weighted random picks over the usable dests; the less loaded per weight wins. */
class NaiveTwos extends Stateless {
  decide(): number {
    let sum = 0;
    for (const d of this.svc.list) if (naiveUsable(d)) sum += d.weight;
    if (sum === 0) return -1;
    if (sum + 1 >= 2 ** 21) throw new Error('naive twos: total weight too large for exact draws');
    let r1 = randomBelow(this.svc.random, sum + 1);
    let r2 = randomBelow(this.svc.random, sum + 1);
    let c1: NaiveDest | null = null;
    let c2: NaiveDest | null = null;
    for (const d of this.svc.list) {
      if (!naiveUsable(d)) continue;
      r1 -= d.weight;
      r2 -= d.weight;
      if (r1 <= 0 && c1 === null) c1 = d;
      if (r2 <= 0 && c2 === null) c2 = d;
    }
    if (c1 === null || c2 === null) throw new Error('naive twos: a draw above the total weight');
    return c2.weight * naiveOverhead(c1) > c1.weight * naiveOverhead(c2) ? c2.id : c1.id;
  }
}

/** The naive peer of a list-walking scheduler, or null if `scheduler` is not one. */
export function createNaiveWalk(scheduler: string, svc: NaiveService): NaiveScheduler | null {
  switch (scheduler) {
    case 'rr':
      return new NaiveRr(svc);
    case 'wrr':
      return new NaiveWrr(svc);
    case 'lc':
      return new NaiveLc(svc);
    case 'wlc':
      return new NaiveLeastPerWeight(svc, naiveOverhead);
    case 'sed':
      return new NaiveLeastPerWeight(svc, sedLoad);
    case 'nq':
      return new NaiveNq(svc);
    case 'fo':
      return new NaiveFo(svc);
    case 'ovf':
      return new NaiveOvf(svc);
    case 'twos':
      return new NaiveTwos(svc);
    default:
      return null;
  }
}
