/**
 * twos decisions and its random numbers, worked out by hand from ipvs-schedulers.md section 10
 * (ipvs-facts.md 2.14):
 *   usable = weight > 0 and no OVERLOAD; none usable -> none (nothing drawn);
 *   total = sum of usable weights + 1; r1 then r2 = get_random_u32_below(total): x a word,
 *   m = total * x; if (m mod 2^32) < total, bound = 2^32 mod total and new words are drawn while
 *   (m mod 2^32) < bound; r = m >> 32;
 *   walking the usable dests, each weight is subtracted from r1 and r2; choice 1 (2) is the first
 *   dest where r1 (r2) <= 0; choice 2 wins only if weight2 * overhead1 > weight1 * overhead2
 *   (32-bit signed products), overhead = active * 256 + inactive.
 * Random words come from a scripted RandomSource (a test double), so every draw is known.
 */
import assert from 'node:assert/strict';
import type { RandomSource } from '../src/sched/scheduler';
import { DEFAULT_RANDOM_SEED, randomBelow, SeededRandom } from '../src/sched/seeded-random';
import { twosSchedulerTreeFrom } from '../src/sched/twos';
import { crossCheck, type ModelDest, picksBinding, SchedFixture, seq } from './sched-fixture';

/** A RandomSource that returns the given words in order and counts how many were taken. */
class ScriptedWords implements RandomSource {
  taken = 0;
  constructor(private readonly words: number[]) {}
  nextU32(): number {
    if (this.taken >= this.words.length) throw new Error(`script of ${this.words.length} words exhausted`);
    return this.words[this.taken++];
  }

  /** The same script, at the same place. */
  clone(): ScriptedWords {
    const copy = new ScriptedWords(this.words);
    copy.taken = this.taken;
    return copy;
  }
}

const PKT = { srcKey: 0, dstKey: 0, sport: 0, proto: 6, now: 0 };

/**
 * A twos scheduler on the fixture's service (walking the list), drawing from `words`; returns a
 * picker of names. Each pick is made again by a twos that uses its prefix sums from 0 dests on,
 * from a copy of the words, and must agree (dest and words taken): every hand-worked case below
 * holds for both paths.
 */
function twosWith(f: SchedFixture, words: ScriptedWords): () => string {
  const sched = twosSchedulerTreeFrom(Infinity)({ ...f.svc, random: words });
  return () => {
    const copy = words.clone();
    const tree = twosSchedulerTreeFrom(0)({ ...f.svc, random: copy });
    const id = sched.schedule(PKT);
    assert.equal(tree.schedule(PKT), id, 'the prefix sums pick what the walk picks');
    assert.equal(copy.taken, words.taken, 'both take the same words');
    return id < 0 ? '-' : f.order()[f.list.indexOf(id)];
  };
}

/** Weights A 1, B 2, C 3: list C B A, sum 6, total 7; r 0..3 -> C, 4..5 -> B, 6 -> A. */
const abc = (): SchedFixture => new SchedFixture('twos').add('A', 1).add('B', 2).add('C', 3);

describe('twos scheduler', () => {
  describe('randomBelow (the kernel get_random_u32_below)', () => {
    const below = (ceil: number, words: number[]): [number, number] => {
      const src = new ScriptedWords(words);
      return [randomBelow(src, ceil), src.taken];
    };

    it('is the high half of ceil * x when no rejection applies', () => {
      // ceil 7: floor(7x / 2^32); low halves 7, 2^31 * 7 mod 2^32 etc. are >= 7.
      assert.deepEqual(below(7, [1]), [0, 1]); // m = 7: low 7 is not < 7
      assert.deepEqual(below(7, [0x40000000]), [1, 1]); // 1.75
      assert.deepEqual(below(7, [0x80000000]), [3, 1]); // 3.5
      assert.deepEqual(below(7, [0xc0000000]), [5, 1]); // 5.25
      assert.deepEqual(below(7, [0xffffffff]), [6, 1]); // low = 2^32 - 7
    });

    it('checks the bound only when the low half is below ceil, and rejects below 2^32 mod ceil', () => {
      // ceil 7: bound = 2^32 mod 7 = 4 (7 * 613566756 = 4294967292).
      // 0x92492493 * 7 = 4 * 2^32 + 5: low 5 < 7, but 5 >= 4 -> accepted, r = 4.
      assert.deepEqual(below(7, [0x92492493]), [4, 1]);
      // 0x24924925 * 7 = 2^32 + 3: low 3 < 4 -> rejected; 0xffffffff then gives 6.
      assert.deepEqual(below(7, [0x24924925, 0xffffffff]), [6, 2]);
      // 0: low 0 < 4, rejected twice; 1: low 7 >= 4 -> 0.
      assert.deepEqual(below(7, [0, 0, 1]), [0, 3]);
      // ceil 258: bound = 2^32 mod 258 = 16 (258 * 16647160 = 4294967280); 2^31 * 258 has low 0.
      assert.deepEqual(below(258, [0x80000000, 5]), [0, 2]); // 5 * 258 = 1290 >= 16
    });

    it('never rejects for a power of two (bound 0) and gives 0 below 1', () => {
      assert.deepEqual(below(8, [0]), [0, 1]);
      assert.deepEqual(below(4, [0xffffffff]), [3, 1]);
      assert.deepEqual(below(1, [0xffffffff]), [0, 1]);
    });

    it('treats ceil as unsigned 32-bit and keeps the 64-bit product exact', () => {
      // ceil 0xffffffff (passed as the int -1): bound = 2^32 mod (2^32 - 1) = 1.
      // x = 0xffffffff: m = 2^64 - 2^33 + 1, high 0xfffffffe, low 1 (not < 1).
      assert.deepEqual(below(-1, [0xffffffff]), [0xfffffffe, 1]);
      // x = 0: low 0 < 1 rejected; x = 2^31: m = 2^63 - 2^31, high 2^31 - 1.
      assert.deepEqual(below(0xffffffff, [0, 0x80000000]), [0x7fffffff, 2]);
      // ceil 0: the word itself (the kernel's convention for get_random_u32_inclusive).
      assert.deepEqual(below(0, [12345]), [12345, 1]);
    });
  });

  it('draws r1 then r2 and keeps choice 1 unless choice 2 is strictly less loaded per weight', () => {
    // r1 = 3 -> C (3 - 3 = 0 <= 0), r2 = 5 -> B (5 - 3 = 2, 2 - 2 = 0).
    const words = [0x80000000, 0xc0000000];
    const f = abc();
    // All idle: 2 * 0 > 3 * 0 is false -> choice 1, C.
    assert.equal(twosWith(f, new ScriptedWords(words))(), 'C');
    // C 1 active (256): weight2 * overhead1 = 2 * 256 > weight1 * overhead2 = 3 * 0 -> B.
    f.conns('C', 1, 0);
    assert.equal(twosWith(f, new ScriptedWords(words))(), 'B');
    // C 3 active (768), B 2 active (512): 2 * 768 = 1536 > 3 * 512 = 1536 is false -> C (tie).
    f.conns('C', 3, 0).conns('B', 2, 0);
    assert.equal(twosWith(f, new ScriptedWords(words))(), 'C');
    // C 769: 1538 > 1536 -> B.
    f.conns('C', 3, 1);
    assert.equal(twosWith(f, new ScriptedWords(words))(), 'B');
  });

  it('maps r = 0 to the first usable dest and r = sum to the last', () => {
    // All idle, so the answer is always choice 1 (0 > 0 is false) and shows where r1 lands.
    const f = abc();
    // r1 = 6 -> A (6-3 = 3, 3-2 = 1, 1-1 = 0).
    assert.equal(twosWith(f, new ScriptedWords([0xffffffff, 1]))(), 'A');
    // r1 = 0 -> C (0-3 <= 0).
    assert.equal(twosWith(f, new ScriptedWords([1, 0xffffffff]))(), 'C');
    // r1 = 4 -> B (4-3 = 1, 1-2 = -1); r1 = 3 -> C (3-3 = 0): the boundary between C and B.
    assert.equal(twosWith(f, new ScriptedWords([0x92492493, 0x80000000]))(), 'B');
    assert.equal(twosWith(f, new ScriptedWords([0x80000000, 0x92492493]))(), 'C');
  });

  it('runs the rejection loop for each draw, in order', () => {
    // r1: words 0, 0 rejected, 0xffffffff -> 6 -> A. r2: 0x92492493 -> 4 -> B. 4 words taken.
    const f = abc();
    const words = new ScriptedWords([0, 0, 0xffffffff, 0x92492493]);
    assert.equal(twosWith(f, words)(), 'A'); // idle: choice 1
    assert.equal(words.taken, 4);
    // Same draws with A busy: 2 * 256 > 1 * 0 -> B.
    f.conns('A', 1, 0);
    assert.equal(twosWith(f, new ScriptedWords([0, 0, 0xffffffff, 0x92492493]))(), 'B');
    // r1 rejects 0x24924925 (low 3 < 4) and takes 0x40000000 -> 1 -> C; r2 = 1 too -> C.
    assert.equal(twosWith(f, new ScriptedWords([0x24924925, 0x40000000, 1]))(), 'C');
  });

  it('leaves weight-0 and OVERLOAD dests out of the total and the walk', () => {
    // List D C B A: D weight 4 OVERLOAD, C weight 0, B 2, A 1 -> sum 3, total 4 (bound 0).
    // 0xffffffff -> 3 -> A (3-2 = 1, 1-1 = 0); 0 -> 0 -> B.
    const f = new SchedFixture('twos').add('A', 1).add('B', 2).add('C', 0).add('D', 4).overload('D');
    assert.equal(twosWith(f, new ScriptedWords([0xffffffff, 0]))(), 'A'); // idle: choice 1
    f.conns('A', 1, 0); // 2 * 256 > 1 * 0 -> B
    assert.equal(twosWith(f, new ScriptedWords([0xffffffff, 0]))(), 'B');
    // Only A usable: total 2, r in {0, 1} -> A both times, whatever the words; 2 words taken.
    f.edit('B', 0);
    const words = new ScriptedWords([0x12345678, 0xfedcba98]);
    assert.equal(twosWith(f, words)(), 'A');
    assert.equal(words.taken, 2);
  });

  it('returns -1 without drawing when no dest is usable', () => {
    const words = new ScriptedWords([]);
    assert.equal(twosWith(new SchedFixture('twos'), words)(), '-');
    const f = new SchedFixture('twos').add('A', 0).add('B', 3).overload('B');
    assert.equal(twosWith(f, words)(), '-');
    assert.equal(words.taken, 0);
  });

  it('multiplies in 32-bit signed arithmetic, as the kernel int does', () => {
    // List C A: C weight 256, A weight 1; sum 257, total 258. 0xffffffff -> 257 -> A (choice 1);
    // 0x40000000 -> 64 -> C (choice 2, idle, overhead 0).
    const f = new SchedFixture('twos').add('A', 1).add('C', 256);
    // A 32767 active: overhead 8388352; 256 * 8388352 = 2147418112 < 2^31 -> > 0 -> C.
    f.conns('A', 32767, 0);
    assert.equal(twosWith(f, new ScriptedWords([0xffffffff, 0x40000000]))(), 'C');
    // A 32768 active: overhead 2^23; 256 * 2^23 = 2^31 wraps to -2^31, not > 0 -> A.
    f.conns('A', 32768, 0);
    assert.equal(twosWith(f, new ScriptedWords([0xffffffff, 0x40000000]))(), 'A');
  });

  it('uses a total past 2^31 as the kernel does: an unsigned ceil', () => {
    // List B A, both weight 2^31 - 1, idle (the answer is choice 1): the int total is
    // 2^32 - 2 + 1 = -1, i.e. ceil 0xffffffff, bound 2^32 mod (2^32 - 1) = 1.
    const w = 2 ** 31 - 1;
    const f = new SchedFixture('twos').add('A', w).add('B', w);
    // r1: word 0 rejected (low 0 < 1), then 2^31 -> 0x7fffffff: at B r1 - w = 0 -> B.
    let words = new ScriptedWords([0, 0x80000000, 0xffffffff]);
    assert.equal(twosWith(f, words)(), 'B');
    assert.equal(words.taken, 3);
    // r1 = 0xfffffffe (the sum) = -2 as an int: -2 - w wraps to 2^31 - 1 at B, then 0 at A -> A.
    words = new ScriptedWords([0xffffffff, 0, 0x80000000]);
    assert.equal(twosWith(f, words)(), 'A');
    assert.equal(words.taken, 3);
  });

  describe('seeded default stream', () => {
    it('SeededRandom matches the reference C xoshiro128** seeded by SplitMix64', () => {
      // Words printed by the published C code (xoshiro128** 1.1, state from two splitmix64()
      // outputs, low word first), compiled with gcc.
      const words = (seed: number): number[] => {
        const r = new SeededRandom(seed);
        return Array.from({ length: 6 }, () => r.nextU32());
      };
      assert.deepEqual(words(0x69707673), [0x94287163, 0xc74ea4f7, 0x9787cc18, 0x5724fc1d, 0xc9324ef6, 0x2bade595]);
      assert.deepEqual(words(0), [0xdec9045d, 0x9a089d75, 0xab77d362, 0xc3e16405, 0x5c95a8da, 0x60dea056]);
      assert.deepEqual(words(1), [0x650941ba, 0x54d30301, 0x25d2f321, 0x3fabdca9, 0x2ab8e0a6, 0xf9890067]);
      assert.equal(DEFAULT_RANDOM_SEED, 0x69707673);
      assert.equal(new SeededRandom().seed, DEFAULT_RANDOM_SEED);
    });

    it('rejects a seed that is not an integer in [0, 2^53)', () => {
      for (const bad of [-1, 1.5, 2 ** 53, Number.NaN]) {
        assert.throws(() => new SeededRandom(bad), /random seed must be an integer in \[0, 2\^53\)/);
      }
    });

    it('twos without svc.random draws from SeededRandom(DEFAULT_RANDOM_SEED)', () => {
      // Default words give r = floor(7x / 2^32): (4, 5), (4, 2), (5, 1) for A 1, B 2, C 3.
      // 1: B, B -> B (B now 256).  2: B (256, w2) vs C (0, w3): 3 * 256 > 2 * 0 -> C (C 256).
      // 3: B (256) vs C (256): 3 * 256 > 2 * 256 -> C.
      assert.deepEqual(picksBinding(abc(), 3), seq('B C C'));
      // Each scheduler has its own stream: a second service starts from the same words.
      const a = abc();
      const b = abc();
      assert.deepEqual(a.picks(1), b.picks(1));
      assert.deepEqual(picksBinding(a, 5), picksBinding(b, 5));
    });
  });

  describe('randomized cross-check against a reference written from the prose', () => {
    /** get_random_u32_below as section 10 step 3 describes it, in BigInt. */
    let rejections = 0;
    function refBelow(next: () => number, total: number): number {
      const t = BigInt(total);
      let m = t * BigInt(next());
      if (m % 2n ** 32n < t) {
        const bound = 2n ** 32n % t;
        while (m % 2n ** 32n < bound) {
          rejections++;
          m = t * BigInt(next());
        }
      }
      return Number(m >> 32n);
    }

    /** Section 10 with an independent word stream (the same seed as the scheduler's). */
    function refTwos(next: () => number): (list: readonly ModelDest[]) => number {
      return (list) => {
        const usable = list.filter((d) => d.weight > 0 && !d.overload);
        if (usable.length === 0) return -1;
        const total = usable.reduce((s, d) => s + d.weight, 0) + 1;
        let r1 = refBelow(next, total);
        let r2 = refBelow(next, total);
        let c1: ModelDest | null = null;
        let c2: ModelDest | null = null;
        for (const d of usable) {
          r1 -= d.weight;
          r2 -= d.weight;
          if (c1 === null && r1 <= 0) c1 = d;
          if (c2 === null && r2 <= 0) c2 = d;
        }
        if (c1 === null || c2 === null) throw new Error('reference: r beyond the sum');
        const overhead = (d: ModelDest): bigint => BigInt.asIntN(32, BigInt(d.active) * 256n + BigInt(d.inactive));
        const p2 = BigInt.asIntN(32, BigInt(c2.weight) * overhead(c1));
        const p1 = BigInt.asIntN(32, BigInt(c1.weight) * overhead(c2));
        return p2 > p1 ? c2.id : c1.id;
      };
    }

    // The walk (short lists) and the tree (forced from 0 dests on; count and OVERLOAD changes
    // announced by touch() alone, as the engine does) against the same reference.
    for (const [mode, factory, touchOnly] of [
      ['the walk', twosSchedulerTreeFrom(Infinity), false],
      ['the tree', twosSchedulerTreeFrom(0), true],
    ] as const) {
      it(`agrees on 10,000 decisions with random weights, counts, flags and words (${mode})`, () => {
        const mine = new SeededRandom(77);
        const theirs = new SeededRandom(77);
        rejections = 0;
        const { nones, edits } = crossCheck(factory, refTwos(() => theirs.nextU32()), {
          touchOnly,
          seed: 1206,
          random: mine,
          // Weights up to 2^27 keep the sum of 12 below 2^31 (the prose's unbounded arithmetic then
          // equals the kernel's int); large totals make the rejection loop frequent.
          weight: (rand) => [0, 1 + rand(3), 1 + rand(65535), 1 + rand(2 ** 27)][rand(4)],
          count: (rand) => [rand(3), rand(100000), rand(2 ** 31)][rand(10) < 8 ? rand(2) : 2],
        });
        assert.ok(nones > 50 && nones < 5000, `nones = ${nones}`);
        assert.ok(edits > 1000, `edits = ${edits}`);
        assert.ok(rejections > 20, `rejections = ${rejections}`);
        assert.equal(mine.nextU32(), theirs.nextU32()); // both consumed the same number of words
      });
    }
  });
});
