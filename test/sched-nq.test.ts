/**
 * nq decisions, worked out by hand from ipvs-schedulers.md section 7 (ipvs-facts.md 2.6): walk the
 * list skipping OVERLOAD and weight-0 dests; the first dest met with no active connection is
 * returned at once; otherwise sed's running choice: load = active + 1, the first candidate seeds
 * it, a later one replaces it only when load(choice) * weight(d) > load(d) * weight(choice).
 */
import assert from 'node:assert/strict';
import { nqSchedulerTreeFrom } from '../src/sched/nq';
import { crossCheck, type ModelDest, picksBinding, SchedFixture, seq } from './sched-fixture';

const nq = (): SchedFixture => new SchedFixture('nq');

describe('nq scheduler', () => {
  it('fills idle dests first, then spreads by (active + 1) / weight (each pick binds one active)', () => {
    // Weights A 1, B 5, C 10; list C B A; loads as load/weight.
    // 1: C idle -> C.  2: C busy (seeds 2/10), B idle -> B.  3: A idle -> A.
    // 4: C 2/10; B 2*5 > 2*10 no; A 2*1 > 2*10 no -> C.   5: C 3/10; B 15 > 20 no; A no -> C.
    // 6: C 4/10; B 4*5 > 2*10 no (tie); A no -> C.        7: C 5/10; B 25 > 20 -> B 2/5; A 2*1 > 2*5 no -> B.
    const f = nq().add('A', 1).add('B', 5).add('C', 10);
    assert.deepEqual(picksBinding(f, 7), seq('C B A C C C B'));
  });

  it('prefers an idle dest to a busy one with a better ratio (unlike sed)', () => {
    // List C A. C: weight 100, 1 active (2/100); A: weight 1, idle (1/1).
    const f = nq().add('A', 1).add('C', 100).conns('C', 1, 0);
    assert.deepEqual(f.picks(1), seq('A'));
    assert.deepEqual(new SchedFixture('sed').add('A', 1).add('C', 100).conns('C', 1, 0).picks(1), seq('C'));
  });

  it('returns the first idle dest in list order', () => {
    // List D C B A: D busy, C and B idle -> C; inactive connections do not make a dest busy.
    const f = nq().add('A').add('B').add('C').add('D').conns('D', 2, 0).conns('C', 0, 50).conns('A', 1, 0);
    assert.deepEqual(f.picks(1), seq('C'));
  });

  it('skips weight-0 and OVERLOAD dests, even idle ones', () => {
    // List C B A: C weight 0 and idle, B OVERLOAD and idle, A busy -> A.
    const f = nq().add('A').add('B').add('C', 0).overload('B').conns('A', 3, 0);
    assert.deepEqual(f.picks(1), seq('A'));
    f.overload('A');
    assert.deepEqual(f.picks(1), seq('-'));
    assert.deepEqual(nq().picks(1), seq('-'));
  });

  it('keeps the earlier (newest) dest on a tie between busy dests', () => {
    // List C B A, all busy: C 4/2 and B 2/1 tie (4*1 > 2*2 is false), A 4/2 ties too
    // (4*2 > 4*2 is false) -> C.
    const f = nq().add('A', 2).add('B', 1).add('C', 2).conns('C', 3, 0).conns('B', 1, 0).conns('A', 3, 0);
    assert.deepEqual(f.picks(1), seq('C'));
    f.conns('B', 0, 9); // B idle now
    assert.deepEqual(f.picks(1), seq('B'));
  });

  it('compares 64-bit products (a 32-bit product would wrap past 2^31)', () => {
    const f = nq().add('A', 0).add('B', 50000).add('C', 50000).conns('C', 43999, 0).conns('B', 39999, 0);
    assert.deepEqual(f.picks(1), seq('B')); // 44000*50000 > 40000*50000
  });

  describe('randomized cross-check against a reference written from the prose', () => {
    /** ipvs-schedulers.md section 7, with BigInt products and an int load. */
    function refNq(list: readonly ModelDest[]): number {
      const load = (d: ModelDest): bigint => BigInt.asIntN(32, BigInt(d.active) + 1n);
      let choice: ModelDest | null = null;
      for (const d of list) {
        if (d.overload || d.weight === 0) continue;
        if (d.active === 0) return d.id;
        if (choice === null || load(choice) * BigInt(d.weight) > load(d) * BigInt(choice.weight)) choice = d;
      }
      return choice === null ? -1 : choice.id;
    }

    // The walk (short lists) and the tree (forced from 0 dests on; count and OVERLOAD changes
    // announced by touch() alone, as the engine does) against the same reference.
    for (const [mode, factory, touchOnly] of [
      ['the walk', nqSchedulerTreeFrom(Infinity), false],
      ['the tree', nqSchedulerTreeFrom(0), true],
    ] as const) {
      it(`agrees on 10,000 decisions with random weights, counts and flags (${mode})`, () => {
        const { nones, edits } = crossCheck(factory, refNq, {
          touchOnly,
          seed: 1203,
          weight: (rand) => [0, 1 + rand(3), 1 + rand(65535), 1 + rand(2 ** 31 - 1)][rand(4)],
          // Zero active often (the idle shortcut), else small, large or past the int wrap.
          count: (rand) => [0, rand(3), rand(100000), rand(2 ** 31)][rand(10) < 8 ? rand(3) : 3],
        });
        assert.ok(nones > 50 && nones < 5000, `nones = ${nones}`);
        assert.ok(edits > 1000, `edits = ${edits}`);
      });
    }
  });
});
