/**
 * wrr decisions, worked out by hand from ipvs-schedulers.md section 3 (ipvs-facts.md 2.2).
 * Notation in the comments: di = gcd of positive weights, mw = max weight - (di - 1), cw = current
 * weight; a "pass" walks the list (newest first) and picks every non-OVERLOAD dest with
 * weight >= cw; at the end of the list cw -= di, and cw <= 0 wraps to mw. Every add, delete and
 * edit sends the cursor to the head, recomputes di/mw, sets cw = mw if cw > mw or cw == 0, else
 * realigns cw = (cw div di) * di + 1 when di > 1.
 */
import assert from 'node:assert/strict';
import { SchedFixture, seq } from './sched-fixture';

const wrr = (): SchedFixture => new SchedFixture('wrr');

/** Adds A:4, B:3, C:2 one by one (list C B A; di 1, mw 4; cw = 1 from the first add). */
const wrr432 = (): SchedFixture => wrr().add('A', 4).add('B', 3).add('C', 2);

describe('wrr scheduler', () => {
  it('A:3, B:2, C:1 added one by one: warm-up C B A, then A B A C B A repeating', () => {
    // add A:3 -> di 3, mw 1, cw was 0 -> 1; add B:2, C:1 -> di 1, mw 3, cw stays 1.
    // cw=1 pass: C B A; then cw=3: A; cw=2: B A; cw=1: C B A; ...
    const f = wrr().add('A', 3).add('B', 2).add('C', 1);
    assert.deepEqual(f.picks(15), seq('C B A  A B A C B A  A B A C B A'));
  });

  it('weights 6/4/2 give the same sequence (passes at cw 5, 3, 1)', () => {
    // add A:6 -> di 6, mw 1, cw 1; add B:4 -> di 2, mw 5, cw realigned (1 div 2)*2+1 = 1;
    // add C:2 -> same. cw=1: C B A; cw=5: A; cw=3: B A; cw=1: C B A.
    const f = wrr().add('A', 6).add('B', 4).add('C', 2);
    assert.deepEqual(f.picks(15), seq('C B A  A B A C B A  A B A C B A'));
  });

  it('A:1 then B:5: B A, then B B B B B A repeating', () => {
    // add A:1 -> di 1, mw 1, cw 1; add B:5 -> mw 5, cw stays 1. cw=1: B A; cw=5..2: B each; cw=1: B A.
    const f = wrr().add('A', 1).add('B', 5);
    assert.deepEqual(f.picks(14), seq('B A  B B B B B A  B B B B B A'));
  });

  it('weights 4:3:2: warm-up C B A, then the 9-pick cycle A B A C B A C B A', () => {
    // cw=4: A; cw=3: B A; cw=2: C B A; cw=1: C B A.
    assert.deepEqual(wrr432().picks(21), seq('C B A  A B A C B A C B A  A B A C B A C B A'));
  });

  it('weights 4:3:2, B edited to 6 mid-run: cw realigned to the new step', () => {
    const f = wrr432();
    assert.deepEqual(f.picks(4), seq('C B A A')); // the last pick was at cw = 4
    // Weights A4 B6 C2: di 2, mw 6 - 1 = 5; cw 4 is not > 5, di > 1 -> cw = (4 div 2)*2+1 = 5;
    // cursor at the head. cw=5: B; cw=3: B A; cw=1: C B A; then cw wraps to 5: B; cw=3: B A; ...
    // (Keeping cw = 4 would give B A first; resuming after A instead of at the head would also
    // differ.)
    f.edit('B', 6);
    assert.deepEqual(f.picks(12), seq('B B A C B A  B B A C B A'));
  });

  it('weights 4:3:2, C edited to 1 mid-run: cw kept, walk restarts at the head', () => {
    const f = wrr432();
    assert.deepEqual(f.picks(5), seq('C B A A B')); // cursor on B, cw = 3
    // Weights A4 B3 C1: di 1, mw 4, cw 3 kept; cursor to head. cw=3: B A; cw=2: B A;
    // cw=1: C B A; cw=4: A; cw=3: B A; ... (a cursor left on B would give A first)
    f.edit('C', 1);
    assert.deepEqual(f.picks(15), seq('B A B A C B A  A B A B A C B A'));
  });

  it('weights 4:3:2, A edited to 1 at cw 4: cw clamped to the new mw 3', () => {
    const f = wrr432();
    assert.deepEqual(f.picks(4), seq('C B A A'));
    // Weights A1 B3 C2: di 1, mw 3, cw 4 > 3 -> 3. cw=3: B; cw=2: C B; cw=1: C B A; ...
    f.edit('A', 1);
    assert.deepEqual(f.picks(12), seq('B C B C B A  B C B C B A'));
  });

  it('never picks a weight-0 dest', () => {
    // add A:2 -> di 2, mw 1, cw 1; add B:0 -> unchanged (cw realigned to 1); add C:1 -> di 1,
    // mw 2, cw 1. cw=1: C A; cw=2: A; cw=1: C A; ...
    const f = wrr().add('A', 2).add('B', 0).add('C', 1);
    assert.deepEqual(f.picks(9), seq('C A A C A A C A A'));
  });

  it('skips an OVERLOAD dest, and picks it again once cleared', () => {
    const f = wrr().add('A', 3).add('B', 2).add('C', 1);
    assert.deepEqual(f.picks(3), seq('C B A')); // cursor on A, cw 1
    f.overload('A');
    // From A: end of list, cw 0 -> 3 (restarted): nothing >= 3; cw=2: B. Next calls: cw=1: C B;
    // then cw 3 (nothing), 2: B; cw=1: C B.
    assert.deepEqual(f.picks(6), seq('B C B B C B')); // cursor on B, cw 1
    f.overload('A', false);
    // cw=1 continues after B: A; then cw=3: A; cw=2: B A; cw=1: C B A.
    assert.deepEqual(f.picks(7), seq('A A B A C B A'));
  });

  it('returns -1 for an empty service and when every weight is 0 (mw = 0)', () => {
    assert.deepEqual(wrr().picks(2), seq('- -'));
    const f = wrr().add('A', 0).add('B', 0);
    assert.deepEqual(f.picks(2), seq('- -'));
    // A to 2: di 2, mw 1, cw was 0 -> 1. cw=1: A; then cw 1-2 <= 0 -> 1 each time: A.
    f.edit('A', 2);
    assert.deepEqual(f.picks(3), seq('A A A'));
  });

  it('a walk from the head that finds nothing fails with cw reset to mw', () => {
    const f = wrr().add('A', 3).add('B', 2).add('C', 1); // cursor at head, cw 1
    f.overload('A').overload('B').overload('C');
    // cw=1 pass from the head finds nothing; cw 0 -> mw 3, and the walk began at the head: fail.
    assert.deepEqual(f.picks(1), seq('-'));
    f.overload('A', false).overload('B', false).overload('C', false);
    // cw is now 3, so there is no cw=1 warm-up pass any more: straight into the cycle.
    assert.deepEqual(f.picks(7), seq('A B A C B A A'));
  });

  it('a walk from a dest that finds nothing fails on that dest (the stop)', () => {
    const f = wrr().add('A', 3).add('B', 2).add('C', 1);
    assert.deepEqual(f.picks(7), seq('C B A A B A C')); // cursor on C, cw 1
    f.overload('A').overload('B').overload('C');
    // From C: B A; cw 0 -> 3 (restarted); passes at 3 and 2 find nothing; cw=1 is the last pass
    // and stops at C: fail with the cursor on C and cw 1.
    assert.deepEqual(f.picks(2), seq('- -'));
    f.overload('A', false).overload('B', false).overload('C', false);
    // cw=1 after C: B A; then cw=3: A; cw=2: B A; cw=1: C B A.
    assert.deepEqual(f.picks(8), seq('B A A B A C B A'));
  });

  it('delete: cursor to the head, cw kept', () => {
    const f = wrr().add('A', 3).add('B', 2).add('C', 1);
    assert.deepEqual(f.picks(4), seq('C B A A')); // cw 3
    // List B A, di 1, mw 3, cw 3 kept. cw=3 from the head: A (again); cw=2: B A; cw=1: B A; ...
    f.del('C');
    assert.deepEqual(f.picks(10), seq('A B A B A  A B A B A'));
  });

  it('add: cursor to the head, cw kept, the new dest joins the passes', () => {
    const f = wrr().add('A', 3).add('B', 2).add('C', 1);
    assert.deepEqual(f.picks(4), seq('C B A A')); // cw 3
    // List D C B A (D:2), di 1, mw 3, cw 3 kept. cw=3: A; cw=2: D B A; cw=1: D C B A; ...
    f.add('D', 2);
    assert.deepEqual(f.picks(16), seq('A D B A D C B A  A D B A D C B A'));
  });

  describe('randomized: sequences equal the passes described in the prose', () => {
    /**
     * ipvs-schedulers.md: after incremental adds cw is 1, so the first picks are one cw=1 pass;
     * then the steady state runs passes at cw = mw, mw - di, ..., down to the last positive
     * value, each pass picking, in list order, every dest with weight >= cw.
     */
    function expected(weightsInListOrder: number[], count: number): number[] {
      const positive = weightsInListOrder.filter((w) => w > 0);
      if (positive.length === 0) return new Array<number>(count).fill(-1);
      const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
      const di = positive.reduce(gcd);
      const mw = Math.max(...positive) - (di - 1);
      const pass = (cw: number): number[] =>
        weightsInListOrder.flatMap((w, index) => (w >= cw ? [index] : []));
      const cycle: number[] = [];
      for (let cw = mw; cw > 0; cw -= di) cycle.push(...pass(cw));
      const out = pass(1);
      while (out.length < count) out.push(...cycle);
      return out.slice(0, count);
    }

    it('agrees for 200 random weight sets (with zeros and common factors)', () => {
      let seed = 777;
      const rand = (n: number): number => {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        return Math.floor((seed / 2 ** 32) * n);
      };
      let withGcd = 0;
      for (let round = 0; round < 200; round++) {
        const factor = 1 + rand(4);
        const n = 1 + rand(6);
        const f = wrr();
        for (let k = 0; k < n; k++) {
          const w = rand(5) === 0 ? 0 : factor * (1 + rand(5));
          f.add(`d${k}`, w);
        }
        const listWeights = f.list.map((id) => f.dests.weight[id]);
        if (factor > 1) withGcd++;
        const want = expected(listWeights, 60).map((index) => (index < 0 ? '-' : f.order()[index]));
        assert.deepEqual(f.picks(60), want, `weights in list order ${listWeights.join(',')}`);
      }
      assert.ok(withGcd > 50);
    });
  });
});
