/**
 * wlc decisions, worked out by hand from ipvs-schedulers.md section 5 (ipvs-facts.md 2.4):
 * overhead = active * 256 + inactive; the first usable dest (weight > 0, no OVERLOAD) in list
 * order seeds the choice; a later non-OVERLOAD dest d replaces it only when
 * overhead(choice) * weight(d) > overhead(d) * weight(choice) (64-bit products).
 */
import assert from 'node:assert/strict';
import { DEST_OVERLOAD, DestTable } from '../src/ipvs/dest-table';
import { wlcSchedulerTreeFrom } from '../src/sched/wlc';
import { SchedFixture, seq } from './sched-fixture';

const wlc = (): SchedFixture => new SchedFixture('wlc');

describe('wlc scheduler', () => {
  it('picks the least loaded per weight (worked example)', () => {
    // List C B A. Overheads: A 1*256 = 256 (w1), B 2*256+10 = 522 (w2), C 3*256+100 = 868 (w3).
    // Seed C. B: 868*2 = 1736 > 522*3 = 1566 -> B. A: 522*1 = 522 > 256*2 = 512 -> A.
    const f = wlc().add('A', 1).add('B', 2).add('C', 3).conns('A', 1, 0).conns('B', 2, 10).conns('C', 3, 100);
    assert.deepEqual(f.picks(2), seq('A A')); // no state: same answer until the counts change
    // A 1*256 + 10 = 266: 522 > 266*2 = 532 is false -> B stays.
    f.conns('A', 1, 10);
    assert.deepEqual(f.picks(1), seq('B'));
  });

  it('weighs an active connection as 256 inactive ones', () => {
    const f = wlc().add('A').add('B').add('C').conns('A', 2, 0).conns('C', 1, 0).conns('B', 0, 255);
    assert.deepEqual(f.picks(1), seq('B')); // 255 < 256
    f.conns('B', 0, 256);
    assert.deepEqual(f.picks(1), seq('C')); // 256 ties with C: the earlier (newest) dest stays
  });

  it('keeps the earlier (newest) dest on a tie', () => {
    const f = wlc().add('A', 1).add('B', 1).add('C', 2);
    assert.deepEqual(f.picks(1), seq('C')); // all idle
    // C 512/2, B 256/1, A 256/1: 512*1 > 256*2 is false twice -> C.
    f.conns('C', 2, 0).conns('B', 1, 0).conns('A', 1, 0);
    assert.deepEqual(f.picks(1), seq('C'));
  });

  it('never lets a weight-0 dest win, not even an idle one', () => {
    // C (weight 0) cannot seed; B seeds with 1024; A (weight 0, idle): 1024*0 > 0*1 is false.
    const f = wlc().add('A', 0).add('B', 1).add('C', 0).conns('B', 4, 0);
    assert.deepEqual(f.picks(1), seq('B'));
  });

  it('skips OVERLOAD dests, -1 when none is usable', () => {
    const f = wlc().add('A').add('B').add('C').conns('A', 3, 0).conns('B', 5, 0).overload('C');
    assert.deepEqual(f.picks(1), seq('A')); // C idle but overloaded
    f.overload('A');
    assert.deepEqual(f.picks(1), seq('B'));
    f.overload('B');
    assert.deepEqual(f.picks(1), seq('-'));
    assert.deepEqual(wlc().picks(1), seq('-'));
    assert.deepEqual(wlc().add('A', 0).add('B', 0).picks(1), seq('-'));
  });

  it('compares 64-bit products (a 32-bit product would wrap past 2^31)', () => {
    // Overheads 40000 = 156*256 + 64 and 44000 = 171*256 + 224, weights 50000.
    // C 44000 seeds; B: 44000*50000 = 2.2e9 > 40000*50000 = 2.0e9 -> B. In 32-bit arithmetic
    // 2.2e9 wraps to a negative number and C would stay.
    const f = wlc().add('A', 0).add('B', 50000).add('C', 50000).conns('C', 171, 224).conns('B', 156, 64);
    assert.deepEqual(f.picks(1), seq('B'));
    f.conns('C', 156, 64).conns('B', 171, 224);
    assert.deepEqual(f.picks(1), seq('C'));
  });

  it('ignores list changes beyond the list itself (no state)', () => {
    const f = wlc().add('A').add('B').add('C').conns('C', 1, 0);
    assert.deepEqual(f.picks(1), seq('B'));
    f.del('B');
    assert.deepEqual(f.picks(1), seq('A'));
    f.edit('A', 0);
    assert.deepEqual(f.picks(1), seq('C'));
  });

  describe('randomized cross-check against a reference written from the prose', () => {
    interface RefDest { id: number; weight: number; active: number; inactive: number; overload: boolean }
    /** ipvs-schedulers.md section 5, with BigInt products and the int32 overhead of the preamble. */
    function refWlc(list: RefDest[]): RefDest | null {
      const overhead = (d: RefDest): bigint => BigInt.asIntN(32, BigInt(d.active) * 256n + BigInt(d.inactive));
      let choice: RefDest | null = null;
      for (const d of list) {
        if (choice === null) {
          if (d.weight > 0 && !d.overload) choice = d;
        } else if (!d.overload && overhead(choice) * BigInt(d.weight) > overhead(d) * BigInt(choice.weight)) {
          choice = d;
        }
      }
      return choice;
    }

    // The walk (short lists) and the tree (forced from 0 dests on) against the same reference.
    for (const [mode, factory] of [
      ['the walk', wlcSchedulerTreeFrom(Infinity)],
      ['the tree', wlcSchedulerTreeFrom(0)],
    ] as const) {
      it(`agrees on 10,000 decisions with random weights, counts and flags (${mode})`, () => {
        let seed = 4242;
        const rand = (n: number): number => {
          seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
          return Math.floor((seed / 2 ** 32) * n);
        };
        const dests = new DestTable(4);
        const list: number[] = [];
        const sched = factory({ dests, list, schedFlags: 0, af: 4 });
        const ref: RefDest[] = [];
        const pkt = { srcKey: 0, dstKey: 0, sport: 0, proto: 6, now: 0 };
        const randomWeight = (): number => [0, 1 + rand(3), 1 + rand(65535), 1 + rand(2 ** 31 - 1)][rand(4)];
        // Mostly small counts (many ties), sometimes large, rarely past the int32 wrap of the overhead.
        const randomCount = (): number => [rand(4), rand(100000), rand(2 ** 31)][rand(10) < 8 ? rand(2) : 2];
        let nones = 0;
        let changes = 0;
        for (let decisions = 0; decisions < 10000; ) {
          const op = rand(10);
          if (op === 0 && ref.length < 12) {
            const d: RefDest = { id: dests.allocate(), weight: randomWeight(), active: 0, inactive: 0, overload: false };
            dests.weight[d.id] = d.weight;
            ref.unshift(d);
            list.unshift(d.id);
            sched.update('add', d.id, -1);
          } else if (op === 1 && ref.length > 0) {
            const at = rand(ref.length);
            const [d] = ref.splice(at, 1);
            list.splice(at, 1);
            sched.update('delete', d.id, at);
          } else if (op <= 5 && ref.length > 0) {
            const d = ref[rand(ref.length)];
            d.weight = rand(3) === 0 ? randomWeight() : d.weight;
            d.active = randomCount();
            d.inactive = randomCount();
            d.overload = rand(5) === 0;
            dests.weight[d.id] = d.weight;
            dests.activeConns[d.id] = d.active;
            dests.inactConns[d.id] = d.inactive;
            dests.flags[d.id] = d.overload ? DEST_OVERLOAD : 0;
            sched.update('edit', d.id, -1);
            changes++;
          } else {
            const want = refWlc(ref);
            assert.equal(sched.schedule(pkt), want === null ? -1 : want.id, `decision ${decisions}`);
            if (want === null) nones++;
            decisions++;
          }
        }
        assert.ok(nones > 50 && nones < 5000, `nones = ${nones}`);
        assert.ok(changes > 1000);
      });
    }
  });
});
