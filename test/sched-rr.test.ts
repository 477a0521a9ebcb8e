/**
 * rr decisions, worked out by hand from ipvs-schedulers.md section 2 (ipvs-facts.md 2.1): the
 * list is newest first, the walk resumes after the cursor and the cursor dest is the last
 * candidate, usable = weight > 0 and no OVERLOAD, a failed walk leaves the cursor alone, and
 * deleting the cursor dest moves the cursor to its predecessor.
 */
import assert from 'node:assert/strict';
import { DEST_OVERLOAD, DestTable } from '../src/ipvs/dest-table';
import { rrScheduler } from '../src/sched/rr';
import { SchedFixture, seq } from './sched-fixture';

const rr = (): SchedFixture => new SchedFixture('rr');

describe('rr scheduler', () => {
  it('walks the list newest first: A, B, C added -> C B A C B A', () => {
    const f = rr().add('A').add('B').add('C');
    assert.deepEqual(f.order(), seq('C B A'));
    assert.deepEqual(f.picks(7), seq('C B A C B A C'));
  });

  it('ignores weights other than 0', () => {
    const f = rr().add('A', 5).add('B', 1).add('C', 100);
    assert.deepEqual(f.picks(6), seq('C B A C B A'));
  });

  it('never picks a weight-0 or OVERLOAD dest', () => {
    const f = rr().add('A').add('B', 0).add('C').add('D').overload('D');
    // list D C B A: D overloaded, B quiesced
    assert.deepEqual(f.picks(6), seq('C A C A C A'));
  });

  it('returns -1 with no dests, or none usable, and keeps the cursor then', () => {
    assert.deepEqual(rr().picks(2), seq('- -'));
    const f = rr().add('A').add('B').add('C');
    assert.deepEqual(f.picks(2), seq('C B')); // cursor on B
    f.overload('A').overload('B').overload('C');
    assert.deepEqual(f.picks(2), seq('- -'));
    f.overload('A', false).overload('B', false).overload('C', false);
    assert.deepEqual(f.picks(3), seq('A C B')); // resumes after B
  });

  it('tries the cursor dest last, so a lone usable dest is picked again', () => {
    const f = rr().add('A').add('B').add('C').overload('A').overload('C');
    assert.deepEqual(f.picks(3), seq('B B B'));
  });

  it('does not move the cursor on add: the new head dest comes when the walk wraps', () => {
    const f = rr().add('A').add('B').add('C');
    assert.deepEqual(f.picks(2), seq('C B'));
    f.add('D'); // list D C B A, cursor still B
    assert.deepEqual(f.picks(5), seq('A D C B A'));
  });

  it('after deleting the cursor dest resumes at its successor (cursor -> predecessor)', () => {
    const f = rr().add('A').add('B').add('C');
    assert.deepEqual(f.picks(2), seq('C B'));
    f.del('B'); // list C A; cursor moves to C, so A is next (an index left at 1 would give C)
    assert.deepEqual(f.picks(4), seq('A C A C'));
  });

  it('after deleting the cursor dest at the head restarts from the head', () => {
    const f = rr().add('A').add('B').add('C');
    assert.deepEqual(f.picks(1), seq('C'));
    f.del('C'); // list B A; cursor -> head, so B is next (an index left at 0 would give A)
    assert.deepEqual(f.picks(3), seq('B A B'));
  });

  it('keeps its cursor on the same dest when an earlier dest is deleted', () => {
    const f = rr().add('A').add('B').add('C');
    assert.deepEqual(f.picks(2), seq('C B'));
    f.del('C'); // list B A, cursor still B (now at index 0)
    assert.deepEqual(f.picks(3), seq('A B A'));
  });

  it('ignores a weight edit (no hook) beyond the new weight itself', () => {
    const f = rr().add('A').add('B').add('C');
    assert.deepEqual(f.picks(1), seq('C'));
    f.edit('B', 0);
    assert.deepEqual(f.picks(3), seq('A C A'));
    f.edit('B', 7);
    assert.deepEqual(f.picks(3), seq('C B A')); // cursor on A: wraps to the head
  });

  describe('randomized cross-check against a reference written from the prose', () => {
    /**
     * Reference rr, straight from ipvs-schedulers.md section 2: objects in an array, the cursor
     * is a dest object or null (head); candidates are built as an explicit array each time.
     */
    interface RefDest { id: number; weight: number; overload: boolean }
    class RefRr {
      list: RefDest[] = [];
      cursor: RefDest | null = null;
      cursorDeletes = 0;
      add(d: RefDest): void { this.list.unshift(d); }
      del(d: RefDest): void {
        const at = this.list.indexOf(d);
        this.list.splice(at, 1);
        if (this.cursor === d) this.cursorDeletes++;
        if (this.cursor === d) this.cursor = at > 0 ? this.list[at - 1] : null;
      }
      schedule(): RefDest | null {
        let candidates: RefDest[];
        if (this.cursor === null) candidates = this.list.slice();
        else {
          const c = this.list.indexOf(this.cursor);
          candidates = this.list.slice(c + 1).concat(this.list.slice(0, c + 1));
        }
        for (const d of candidates) {
          if (d.weight > 0 && !d.overload) { this.cursor = d; return d; }
        }
        return null;
      }
    }

    it('agrees on 10,000 decisions with random adds, deletes, edits and flags', () => {
      let seed = 12345;
      const rand = (n: number): number => {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        return Math.floor((seed / 2 ** 32) * n);
      };
      const dests = new DestTable(4);
      const list: number[] = [];
      const sched = rrScheduler({ dests, list, schedFlags: 0, af: 4 });
      const ref = new RefRr();
      const all: RefDest[] = [];
      const setOverload = (d: RefDest, on: boolean): void => {
        d.overload = on;
        dests.flags[d.id] = on ? dests.flags[d.id] | DEST_OVERLOAD : dests.flags[d.id] & ~DEST_OVERLOAD;
      };
      let decisions = 0;
      let nones = 0;
      while (decisions < 10000) {
        const op = rand(20);
        if (op === 0 || (op === 1 && ref.list.length < 3)) {
          const d: RefDest = { id: dests.allocate(), weight: rand(4), overload: false };
          dests.weight[d.id] = d.weight;
          all.push(d);
          list.unshift(d.id);
          ref.add(d);
          sched.update('add', d.id, -1);
        } else if (op === 1 && ref.list.length > 0) {
          const d = ref.list[rand(ref.list.length)];
          const at = list.indexOf(d.id);
          list.splice(at, 1);
          ref.del(d);
          sched.update('delete', d.id, at);
        } else if (op === 2 && ref.list.length > 0) {
          const d = ref.list[rand(ref.list.length)];
          d.weight = rand(4);
          dests.weight[d.id] = d.weight;
          sched.update('edit', d.id, -1);
        } else if (op === 3 && ref.list.length > 0) {
          setOverload(ref.list[rand(ref.list.length)], rand(3) === 0);
        } else {
          const want = ref.schedule();
          const got = sched.schedule({ srcKey: 0, dstKey: 0, sport: 0, proto: 6, now: 0 });
          assert.equal(got, want === null ? -1 : want.id, `decision ${decisions}`);
          if (want === null) nones++;
          decisions++;
        }
      }
      // The run must have exercised both outcomes, not only one.
      assert.ok(nones > 100 && nones < 9000, `nones = ${nones}`);
      assert.ok(all.length > 100, `adds = ${all.length}`);
      assert.ok(ref.cursorDeletes > 20, `cursor deletes = ${ref.cursorDeletes}`);
    });
  });
});
