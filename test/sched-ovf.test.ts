/**
 * ovf decisions, worked out by hand from ipvs-schedulers.md section 9 (ipvs-facts.md 2.8):
 * candidates have no OVERLOAD, weight > 0 and active <= weight; the highest weight wins, ties to
 * the first in list order (the newest). Inactive connections are ignored.
 */
import assert from 'node:assert/strict';
import { ovfSchedulerTreeFrom } from '../src/sched/ovf';
import { crossCheck, type ModelDest, picksBinding, SchedFixture, seq } from './sched-fixture';

const ovf = (): SchedFixture => new SchedFixture('ovf');

describe('ovf scheduler', () => {
  it('fills the heaviest dest up to its weight, then overflows (each pick binds one active)', () => {
    // Weights A 1, B 2, C 3; list C B A. C is chosen while its active count (before the pick) is
    // 0..3, i.e. 4 times; at 4 > 3 it is out, and B takes 3 (0..2), A takes 2 (0..1); then none.
    const f = ovf().add('A', 1).add('B', 2).add('C', 3);
    assert.deepEqual(picksBinding(f, 10), seq('C C C C B B B A A -'));
    f.conns('C', 3, 0); // a connection to C went away: C has room again
    assert.deepEqual(f.picks(1), seq('C'));
  });

  it('counts only active connections against the weight', () => {
    const f = ovf().add('A', 1).add('B', 2).add('C', 3).conns('C', 3, 1000000);
    assert.deepEqual(f.picks(1), seq('C')); // 3 active <= 3
    f.conns('C', 4, 0);
    assert.deepEqual(f.picks(1), seq('B')); // 4 active > 3
  });

  it('gives a tie to the first dest in list order (the newest)', () => {
    // List C B A with weights 3, 3, 1 -> C; once C is over its weight, B (same weight) is next.
    const f = ovf().add('A', 1).add('B', 3).add('C', 3);
    assert.deepEqual(f.picks(1), seq('C'));
    f.conns('C', 4, 0);
    assert.deepEqual(f.picks(1), seq('B'));
  });

  it('skips weight-0 and OVERLOAD dests, -1 when none is usable', () => {
    // C weight 0 and idle (0 active is not > 0, but weight 0 excludes it), B OVERLOAD -> A.
    const f = ovf().add('A', 1).add('B', 5).add('C', 0).overload('B');
    assert.deepEqual(f.picks(1), seq('A'));
    f.conns('A', 2, 0);
    assert.deepEqual(f.picks(1), seq('-'));
    f.overload('B', false);
    assert.deepEqual(f.picks(1), seq('B'));
    assert.deepEqual(ovf().picks(1), seq('-'));
  });

  describe('randomized cross-check against a reference written from the prose', () => {
    /** ipvs-schedulers.md section 9. */
    function refOvf(list: readonly ModelDest[]): number {
      let best: ModelDest | null = null;
      for (const d of list) {
        if (d.overload || d.weight <= 0 || d.active > d.weight) continue;
        if (best === null || d.weight > best.weight) best = d;
      }
      return best === null ? -1 : best.id;
    }

    // The walk (short lists) and the tree (forced from 0 dests on; count and OVERLOAD changes
    // announced by touch() alone, as the engine does) against the same reference.
    for (const [mode, factory, touchOnly] of [
      ['the walk', ovfSchedulerTreeFrom(Infinity), false],
      ['the tree', ovfSchedulerTreeFrom(0), true],
    ] as const) {
      it(`agrees on 10,000 decisions with random weights, counts and flags (${mode})`, () => {
        const { nones, edits } = crossCheck(factory, refOvf, {
          touchOnly,
          seed: 1205,
          weight: (rand) => [0, 1 + rand(3), 1 + rand(65535), 1 + rand(2 ** 31 - 1)][rand(10) < 7 ? rand(2) : 2 + rand(2)],
          // Counts around the small weights, so active > weight, = weight and < weight all occur.
          count: (rand) => [rand(5), rand(100000), rand(2 ** 31)][rand(10) < 8 ? 0 : 1 + rand(2)],
        });
        assert.ok(nones > 50 && nones < 5000, `nones = ${nones}`);
        assert.ok(edits > 1000, `edits = ${edits}`);
      });
    }
  });
});
