/**
 * lc decisions, worked out by hand from ipvs-schedulers.md section 4 (ipvs-facts.md 2.3):
 * candidates are the dests without OVERLOAD and with weight != 0; the smallest overhead
 * (active * 256 + inactive, compared as an unsigned 32-bit number) wins; strict "<", so ties go
 * to the first dest in list order (the newest). Weights matter only as "0 or not".
 */
import assert from 'node:assert/strict';
import { lcSchedulerTreeFrom } from '../src/sched/lc';
import { crossCheck, type ModelDest, picksBinding, SchedFixture, seq } from './sched-fixture';

const lc = (): SchedFixture => new SchedFixture('lc');

describe('lc scheduler', () => {
  it('picks the smallest overhead whatever the weights', () => {
    // List C B A. Overheads A 1*256 = 256, B 300, C 256 + 10 = 266 -> A (weights 1, 5, 100 ignored).
    const f = lc().add('A', 1).add('B', 5).add('C', 100).conns('A', 1, 0).conns('B', 0, 300).conns('C', 1, 10);
    assert.deepEqual(f.picks(2), seq('A A'));
    f.conns('A', 1, 20); // A 276 > C 266
    assert.deepEqual(f.picks(1), seq('C'));
  });

  it('weighs an active connection as 256 inactive ones', () => {
    const f = lc().add('A').add('B').add('C').conns('C', 1, 0).conns('B', 0, 255).conns('A', 0, 300);
    assert.deepEqual(f.picks(1), seq('B')); // 255 < 256 < 300
    f.conns('B', 0, 256);
    assert.deepEqual(f.picks(1), seq('C')); // C 256 and B 256 tie: C comes first
  });

  it('breaks ties by list order (the newest dest first)', () => {
    const f = lc().add('A').add('B').add('C');
    assert.deepEqual(f.picks(1), seq('C')); // all idle
    f.conns('C', 0, 7).conns('B', 0, 5).conns('A', 0, 5);
    assert.deepEqual(f.picks(1), seq('B')); // B 5 and A 5 tie, B is earlier in C B A
  });

  it('spreads a sequence of new connections by the counts (each pick binds one active)', () => {
    // List C B A, overheads C 0, B 1 (one inactive), A 0.
    // 1: C 0 (first), B 1, A 0 (tie) -> C; C 256.   2: B 1, then A 0 < 1 -> A; A 256.
    // 3: C 256, B 1 -> B; A 256 not < 1 -> B; B 257. 4: C 256, B 257, A 256 (tie) -> C; C 512.
    // 5: C 512, B 257, A 256 -> A; A 512.           6: C 512, B 257, A 512 -> B; B 513.
    const f = lc().add('A').add('B').add('C').conns('B', 0, 1);
    assert.deepEqual(picksBinding(f, 6), seq('C A B C A B'));
  });

  it('skips weight-0 dests, even idle ones', () => {
    // List C B A: C quiesced and idle; B 512, A 768 -> B. Quiescing B too leaves A.
    const f = lc().add('A').add('B').add('C', 0).conns('B', 2, 0).conns('A', 3, 0);
    assert.deepEqual(f.picks(1), seq('B'));
    f.edit('B', 0);
    assert.deepEqual(f.picks(1), seq('A'));
    f.edit('A', 0);
    assert.deepEqual(f.picks(1), seq('-'));
  });

  it('skips OVERLOAD dests, -1 when none is usable', () => {
    const f = lc().add('A').add('B').add('C').conns('A', 3, 0).conns('B', 2, 0).overload('C');
    assert.deepEqual(f.picks(1), seq('B')); // C idle but overloaded
    f.overload('B');
    assert.deepEqual(f.picks(1), seq('A'));
    f.overload('A');
    assert.deepEqual(f.picks(1), seq('-'));
    f.overload('C', false);
    assert.deepEqual(f.picks(1), seq('C'));
    assert.deepEqual(lc().picks(1), seq('-')); // empty service
  });

  it('compares overheads as unsigned 32-bit numbers, as the kernel does', () => {
    // C: 2^23 active -> 2^31, which an int holds as -2^31; unsigned it is 2147483648, far above
    // B's 100 * 256 = 25600, so B wins (a signed comparison would pick C).
    const f = lc().add('A', 0).add('B').add('C').conns('C', 2 ** 23, 0).conns('B', 100, 0);
    assert.deepEqual(f.picks(1), seq('B'));
  });

  it('follows deletes and adds (no state)', () => {
    const f = lc().add('A').add('B').add('C').conns('C', 1, 0).conns('A', 1, 0);
    assert.deepEqual(f.picks(1), seq('B'));
    f.del('B');
    assert.deepEqual(f.picks(1), seq('C')); // C 256 and A 256 tie
    f.add('D').conns('D', 2, 0);
    assert.deepEqual(f.picks(1), seq('C')); // list D C A
  });

  describe('randomized cross-check against a reference written from the prose', () => {
    /** ipvs-schedulers.md section 4, with BigInt arithmetic. */
    function refLc(list: readonly ModelDest[]): number {
      let least: ModelDest | null = null;
      let leastOverhead = 0n;
      for (const d of list) {
        if (d.overload || d.weight === 0) continue;
        const overhead = BigInt.asUintN(32, BigInt(d.active) * 256n + BigInt(d.inactive));
        if (least === null || overhead < leastOverhead) {
          least = d;
          leastOverhead = overhead;
        }
      }
      return least === null ? -1 : least.id;
    }

    // The walk (short lists) and the tree (forced from 0 dests on; count and OVERLOAD changes
    // announced by touch() alone, as the engine does) against the same reference.
    for (const [mode, factory, touchOnly] of [
      ['the walk', lcSchedulerTreeFrom(Infinity), false],
      ['the tree', lcSchedulerTreeFrom(0), true],
    ] as const) {
      it(`agrees on 10,000 decisions with random weights, counts and flags (${mode})`, () => {
        const { nones, edits } = crossCheck(factory, refLc, {
          touchOnly,
          seed: 1201,
          weight: (rand) => [0, 1 + rand(3), 1 + rand(65535), 1 + rand(2 ** 31 - 1)][rand(4)],
          // Mostly tiny counts (many ties), sometimes large, rarely past the 32-bit wrap.
          count: (rand) => [rand(3), rand(100000), rand(2 ** 31)][rand(10) < 8 ? rand(2) : 2],
        });
        assert.ok(nones > 50 && nones < 5000, `nones = ${nones}`);
        assert.ok(edits > 1000, `edits = ${edits}`);
      });
    }
  });
});
