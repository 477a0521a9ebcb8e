/**
 * fo decisions, worked out by hand from ipvs-schedulers.md section 8 (ipvs-facts.md 2.7): the dest
 * without OVERLOAD with the highest weight (> 0) wins; ties go to the first in list order (the
 * newest); connection counts are ignored.
 */
import assert from 'node:assert/strict';
import { foSchedulerTreeFrom } from '../src/sched/fo';
import { crossCheck, type ModelDest, picksBinding, SchedFixture, seq } from './sched-fixture';

const fo = (): SchedFixture => new SchedFixture('fo');

describe('fo scheduler', () => {
  it('sends everything to the highest weight, whatever the counts', () => {
    // List C B A with weights 10, 10, 5: C and B tie, C is first.
    const f = fo().add('A', 5).add('B', 10).add('C', 10);
    assert.deepEqual(picksBinding(f, 3), seq('C C C'));
    f.conns('C', 100000, 100000);
    assert.deepEqual(f.picks(1), seq('C'));
  });

  it('fails over in weight order as dests get OVERLOAD, -1 when none is left', () => {
    const f = fo().add('A', 5).add('B', 10).add('C', 10);
    f.overload('C');
    assert.deepEqual(f.picks(1), seq('B'));
    f.overload('B');
    assert.deepEqual(f.picks(1), seq('A'));
    f.overload('A');
    assert.deepEqual(f.picks(1), seq('-'));
    f.overload('C', false);
    assert.deepEqual(f.picks(1), seq('C'));
  });

  it('follows weight edits; a weight-0 dest is never chosen', () => {
    const f = fo().add('A', 5).add('B', 10).add('C', 10);
    f.edit('A', 20);
    assert.deepEqual(f.picks(1), seq('A'));
    f.edit('A', 0).edit('C', 0);
    assert.deepEqual(f.picks(1), seq('B'));
    f.edit('B', 0);
    assert.deepEqual(f.picks(1), seq('-')); // only weight-0 dests
    assert.deepEqual(fo().picks(1), seq('-')); // empty service
  });

  it('gives a tie to the first dest in list order (the newest)', () => {
    // Added A, B, C, all weight 3: list C B A -> C; deleting C leaves B first; re-adding puts D first.
    const f = fo().add('A', 3).add('B', 3).add('C', 3);
    assert.deepEqual(f.picks(1), seq('C'));
    f.del('C');
    assert.deepEqual(f.picks(1), seq('B'));
    f.add('D', 3);
    assert.deepEqual(f.picks(1), seq('D'));
  });

  describe('randomized cross-check against a reference written from the prose', () => {
    /** ipvs-schedulers.md section 8. */
    function refFo(list: readonly ModelDest[]): number {
      let best: ModelDest | null = null;
      for (const d of list) {
        if (d.overload || d.weight <= 0) continue;
        if (best === null || d.weight > best.weight) best = d;
      }
      return best === null ? -1 : best.id;
    }

    // The walk (short lists) and the tree (forced from 0 dests on; count and OVERLOAD changes
    // announced by touch() alone, as the engine does) against the same reference.
    for (const [mode, factory, touchOnly] of [
      ['the walk', foSchedulerTreeFrom(Infinity), false],
      ['the tree', foSchedulerTreeFrom(0), true],
    ] as const) {
      it(`agrees on 10,000 decisions with random weights, counts and flags (${mode})`, () => {
        const { nones, edits } = crossCheck(factory, refFo, {
          touchOnly,
          seed: 1204,
          // Few distinct small weights, so ties are common.
          weight: (rand) => [0, 1 + rand(3), 1 + rand(65535), 1 + rand(2 ** 31 - 1)][rand(10) < 7 ? rand(2) : 2 + rand(2)],
          count: (rand) => rand(1000),
        });
        assert.ok(nones > 50 && nones < 5000, `nones = ${nones}`);
        assert.ok(edits > 1000, `edits = ${edits}`);
      });
    }
  });
});
