/**
 * sed decisions, worked out by hand from ipvs-schedulers.md section 6 (ipvs-facts.md 2.5): wlc's
 * walk with load = active + 1 (inactive ignored). The first dest with weight > 0 and no OVERLOAD
 * seeds the choice; a later non-OVERLOAD dest d replaces it only when
 * load(choice) * weight(d) > load(d) * weight(choice) (64-bit products). Ties keep the earlier
 * (newer) dest; a later weight-0 dest cannot win (its side is 0).
 */
import assert from 'node:assert/strict';
import { sedSchedulerTreeFrom } from '../src/sched/sed';
import { crossCheck, type ModelDest, picksBinding, SchedFixture, seq } from './sched-fixture';

const sed = (): SchedFixture => new SchedFixture('sed');

describe('sed scheduler', () => {
  it('spreads new connections by (active + 1) / weight (each pick binds one active)', () => {
    // Weights A 1, B 2, C 3; list C B A; loads written load/weight, "x > y" is the replace test.
    // 1: C 1/3 seeds; B 1*2 > 1*3 no; A 1*1 > 1*3 no -> C.
    // 2: C 2/3; B 2*2 > 1*3 yes -> B 1/2; A 1*1 > 1*2 no -> B.
    // 3: C 2/3; B 2*2 > 2*3 no; A 2*1 > 1*3 no -> C.
    // 4: C 3/3; B 3*2 > 2*3 no (tie); A 3*1 > 1*3 no (tie) -> C.
    // 5: C 4/3; B 4*2 > 2*3 yes -> B 2/2; A 2*1 > 1*2 no -> B.
    // 6: C 4/3; B 4*2 > 3*3 no; A 4*1 > 1*3 yes -> A.
    // 7: C 4/3; B 8 > 9 no; A 4*1 > 2*3 no -> C.
    const f = sed().add('A', 1).add('B', 2).add('C', 3);
    assert.deepEqual(picksBinding(f, 7), seq('C B C C B A C'));
  });

  it('ignores inactive connections (unlike wlc)', () => {
    // List B A. A: 0 active, 500 inactive, load 1; B: 1 active, load 2. Seed B; A: 2*1 > 1*1 -> A.
    // (wlc would keep B: its overhead 256 is below A's 500.)
    const f = sed().add('A').add('B').conns('A', 0, 500).conns('B', 1, 0);
    assert.deepEqual(f.picks(1), seq('A'));
    assert.deepEqual(new SchedFixture('wlc').add('A').add('B').conns('A', 0, 500).conns('B', 1, 0).picks(1), seq('B'));
    f.conns('A', 0, 1000000);
    assert.deepEqual(f.picks(1), seq('A'));
  });

  it('keeps the earlier (newest) dest on a tie', () => {
    const f = sed().add('A').add('B').add('C').conns('A', 1, 0).conns('B', 1, 0).conns('C', 1, 0);
    assert.deepEqual(f.picks(1), seq('C'));
    // C 4/2 against B 2/1: 4*1 > 2*2 is false -> C stays; A 3/1: 4*1 > 3*2 false.
    f.edit('C', 2).conns('C', 3, 0).conns('A', 2, 0);
    assert.deepEqual(f.picks(1), seq('C'));
  });

  it('never lets a weight-0 dest win, not even an idle one', () => {
    // List C B A: C (weight 0) cannot seed; B 5/1 seeds; A (weight 0, idle): 5*0 > 1*1 is false.
    const f = sed().add('A', 0).add('B', 1).add('C', 0).conns('B', 4, 0);
    assert.deepEqual(f.picks(1), seq('B'));
    f.edit('B', 0);
    assert.deepEqual(f.picks(1), seq('-'));
  });

  it('skips OVERLOAD dests, -1 when none is usable', () => {
    const f = sed().add('A').add('B').add('C').conns('A', 3, 0).conns('B', 5, 0).overload('C');
    assert.deepEqual(f.picks(1), seq('A')); // C idle but overloaded; A 4 < B 6
    f.overload('A');
    assert.deepEqual(f.picks(1), seq('B'));
    f.overload('B');
    assert.deepEqual(f.picks(1), seq('-'));
    assert.deepEqual(sed().picks(1), seq('-'));
  });

  it('compares 64-bit products (a 32-bit product would wrap past 2^31)', () => {
    // Weights 50000. C load 44000 seeds; B load 40000: 44000*50000 = 2.2e9 > 40000*50000 = 2.0e9
    // -> B. In 32-bit arithmetic 2.2e9 wraps negative and C would stay.
    const f = sed().add('A', 0).add('B', 50000).add('C', 50000).conns('C', 43999, 0).conns('B', 39999, 0);
    assert.deepEqual(f.picks(1), seq('B'));
  });

  it('wraps active + 1 like the kernel int (absurd counts only)', () => {
    // A: 2^31 - 1 active -> load -2^31. List B A: B 6/1 seeds; A: 6*1 > -2^31*1 -> A.
    const f = sed().add('A').add('B').conns('B', 5, 0).conns('A', 2 ** 31 - 1, 0);
    assert.deepEqual(f.picks(1), seq('A'));
  });

  describe('randomized cross-check against a reference written from the prose', () => {
    /** ipvs-schedulers.md sections 5 and 6, with BigInt products and an int load. */
    function refSed(list: readonly ModelDest[]): number {
      const load = (d: ModelDest): bigint => BigInt.asIntN(32, BigInt(d.active) + 1n);
      let choice: ModelDest | null = null;
      for (const d of list) {
        if (choice === null) {
          if (d.weight > 0 && !d.overload) choice = d;
        } else if (!d.overload && load(choice) * BigInt(d.weight) > load(d) * BigInt(choice.weight)) {
          choice = d;
        }
      }
      return choice === null ? -1 : choice.id;
    }

    // The walk (short lists) and the tree (forced from 0 dests on; count and OVERLOAD changes
    // announced by touch() alone, as the engine does) against the same reference.
    for (const [mode, factory, touchOnly] of [
      ['the walk', sedSchedulerTreeFrom(Infinity), false],
      ['the tree', sedSchedulerTreeFrom(0), true],
    ] as const) {
      it(`agrees on 10,000 decisions with random weights, counts and flags (${mode})`, () => {
        const { nones, edits } = crossCheck(factory, refSed, {
          touchOnly,
          seed: 1202,
          weight: (rand) => [0, 1 + rand(3), 1 + rand(65535), 1 + rand(2 ** 31 - 1)][rand(4)],
          count: (rand) => [rand(3), rand(100000), rand(2 ** 31)][rand(10) < 8 ? rand(2) : 2],
        });
        assert.ok(nones > 50 && nones < 5000, `nones = ${nones}`);
        assert.ok(edits > 1000, `edits = ${edits}`);
      });
    }
  });
});
