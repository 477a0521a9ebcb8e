import assert from 'node:assert/strict';
import { ESTIMATOR_PERIOD_MS, RateEstimator, ScaledAverage, ZeroableStats } from '../src/control/rate-estimator';
import type { ListingRates, ListingStats } from '../src/control/listing-model';

/** A stats object whose raw counters the test moves by hand. */
class Counters {
  value: ListingStats = { conns: 0, inpkts: 0, outpkts: 0, inbytes: 0, outbytes: 0 };
  readonly read = (): ListingStats => this.value;
  add(d: Partial<ListingStats>): void {
    const v = this.value;
    this.value = {
      conns: v.conns + (d.conns ?? 0),
      inpkts: v.inpkts + (d.inpkts ?? 0),
      outpkts: v.outpkts + (d.outpkts ?? 0),
      inbytes: v.inbytes + (d.inbytes ?? 0),
      outbytes: v.outbytes + (d.outbytes ?? 0),
    };
  }
}

/** The kernel's estimator on 64-bit integers (BigInt), straight from ipvs-facts.md section 7. */
class KernelAverage {
  avg = 0n;
  constructor(private readonly shift: bigint) {}
  update(delta: bigint): void {
    const rate = delta << (this.shift - 1n);
    const diff = rate - this.avg;
    // BigInt >> is an arithmetic shift (floor), like the kernel's on s64
    this.avg += diff >> 2n;
  }
  reported(): number {
    return Number((this.avg + (1n << (this.shift - 1n)) - 1n) >> this.shift);
  }
}

/** A small deterministic generator (xorshift) for random deltas. */
function randoms(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

describe('control/rate-estimator', () => {
  it('a steady 100 conn/s reads 25, 44, 58, 68, 76, 82, 87, 90, 92, 94, 96, 97 at successive samples (ipvs-facts 7)', () => {
    const c = new Counters();
    const est = new RateEstimator(c.read, 0);
    const cps: number[] = [];
    const inbps: number[] = [];
    for (let t = ESTIMATOR_PERIOD_MS; t <= 12 * ESTIMATOR_PERIOD_MS; t += ESTIMATOR_PERIOD_MS) {
      c.add({ conns: 200, inpkts: 200, outpkts: 200, inbytes: 200, outbytes: 200 });
      assert.equal(est.sample(t), 1);
      const r = est.rates();
      cps.push(r.cps);
      inbps.push(r.inbps);
      assert.equal(r.inpps, r.cps);
      assert.equal(r.outpps, r.cps);
      assert.equal(r.outbps, r.inbps);
    }
    assert.deepEqual(cps, [25, 44, 58, 68, 76, 82, 87, 90, 92, 94, 96, 97]);
    // bytes use 5 fraction bits instead of 10, and may round differently
    const ref = new KernelAverage(5n);
    assert.deepEqual(
      inbps,
      inbps.map(() => {
        ref.update(200n);
        return ref.reported();
      }),
    );
  });

  it('rounds a fraction of exactly one half down and anything above it up', () => {
    const a = new ScaledAverage(10);
    a.update(4); // avg = (4 << 9) >> 2 = 512 = 0.5 * 1024
    assert.equal(a.reported(), 0);
    const b = new ScaledAverage(10);
    b.update(5); // 640 = 0.625 * 1024
    assert.equal(b.reported(), 1);
    const c = new ScaledAverage(5);
    c.update(4); // (4 << 4) >> 2 = 16 = 0.5 * 32
    assert.equal(c.reported(), 0);
    c.update(0); // 16 + ((0 - 16) >> 2) = 12
    assert.equal(c.reported(), 0);
  });

  it('equals the kernel formula on 64-bit integers for random deltas up to 2^53 (no BigInt in the estimator)', () => {
    for (const [shift, seed] of [
      [10, 1],
      [5, 2],
      [10, 3],
      [5, 4],
    ]) {
      const next = randoms(seed);
      const ours = new ScaledAverage(shift);
      const ref = new KernelAverage(BigInt(shift));
      for (let i = 0; i < 3000; i++) {
        // mostly small, sometimes huge, sometimes idle: the average climbs and decays
        const r = next();
        const magnitude = r < 0.3 ? 0 : r < 0.6 ? 2 ** Math.floor(next() * 20) : r < 0.9 ? 2 ** Math.floor(next() * 53) : 2 ** 53;
        const delta = Math.min(2 ** 53, Math.floor(next() * magnitude));
        ours.update(delta);
        ref.update(BigInt(delta));
        assert.equal(ours.reported(), ref.reported(), `shift ${shift} step ${i} delta ${delta}`);
      }
    }
  });

  it('samples only on 2 s boundaries from its start, and catches up every boundary passed', () => {
    const c = new Counters();
    const est = new RateEstimator(c.read, 1000);
    assert.equal(est.nextSampleMs, 3000);
    c.add({ conns: 200 });
    assert.equal(est.sample(2999), 0);
    assert.equal(est.rates().cps, 0);
    // five boundaries (3000 .. 11000) at once: the growth lands in the first, the others are idle
    assert.equal(est.sample(11500), 5);
    assert.equal(est.nextSampleMs, 13000);
    const ref = new KernelAverage(10n);
    [200n, 0n, 0n, 0n, 0n].forEach((d) => ref.update(d));
    assert.equal(est.rates().cps, ref.reported());
    assert.equal(est.rates().cps, 8); // 25, 19, 14, 11, 8 (avg 25600 -> 19200 -> 14400 -> 10800 -> 8100)

    // the same history one boundary at a time gives the same numbers
    const c2 = new Counters();
    const one = new RateEstimator(c2.read, 1000);
    c2.add({ conns: 200 });
    for (let t = 3000; t <= 11000; t += 2000) assert.equal(one.sample(t), 1);
    assert.deepEqual(one.rates(), est.rates());
  });

  it('an idle gap of years costs a bounded number of steps and decays every rate to 0', () => {
    const c = new Counters();
    const est = new RateEstimator(c.read, 0);
    c.add({ conns: 2 ** 52, inpkts: 2 ** 53, outpkts: 1, inbytes: 2 ** 53, outbytes: 12345 });
    est.sample(2000);
    assert.equal(est.rates().inpps, 2 ** 53 / 8); // a quarter of 2^53 per 2 s
    const start = process.hrtime.bigint();
    est.sample(100 * 365 * 86400 * 1000);
    assert.ok(process.hrtime.bigint() - start < 50_000_000n, 'catching up took over 50 ms');
    assert.deepEqual(est.rates(), { cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0 });
    assert.equal(est.nextSampleMs, 100 * 365 * 86400 * 1000 + 2000);
  });

  it('-Z: rates restart from 0 and only growth after the zeroing counts', () => {
    const c = new Counters();
    const stats = new ZeroableStats(c.read, 0);
    for (let t = 2000; t <= 20000; t += 2000) {
      c.add({ conns: 200, inbytes: 1e6 });
      stats.sample(t);
    }
    assert.ok(stats.rates().cps > 90);
    c.add({ conns: 1000, inbytes: 1e9 }); // counted before the zeroing: must not show as a rate
    stats.zero();
    const zeroRates: ListingRates = { cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0 };
    assert.deepEqual(stats.rates(), zeroRates);
    assert.deepEqual(stats.stats(), { conns: 0, inpkts: 0, outpkts: 0, inbytes: 0, outbytes: 0 });
    c.add({ conns: 200, inbytes: 2000 });
    stats.sample(22000);
    assert.equal(stats.rates().cps, 25);
    assert.equal(stats.rates().inbps, 250);
    assert.deepEqual(stats.stats(), { conns: 200, inpkts: 0, outpkts: 0, inbytes: 2000, outbytes: 0 });
  });

  it('a counter that goes back is a new baseline, not negative growth', () => {
    const c = new Counters();
    const est = new RateEstimator(c.read, 0);
    c.add({ conns: 200 });
    est.sample(2000);
    c.value = { ...c.value, conns: 0 };
    est.sample(4000);
    assert.equal(est.rates().cps, 19); // one idle sample after 25
    c.add({ conns: 200 });
    est.sample(6000);
    const ref = new KernelAverage(10n);
    [200n, 0n, 200n].forEach((d) => ref.update(d));
    assert.equal(est.rates().cps, ref.reported());
  });

  it('starts from the counters it is given (a revived object keeps its old totals out of the rate)', () => {
    const c = new Counters();
    c.add({ conns: 1e9 });
    const est = new RateEstimator(c.read, 0);
    c.add({ conns: 200 });
    est.sample(2000);
    assert.equal(est.rates().cps, 25);
  });
});
