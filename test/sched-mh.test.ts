/**
 * mh decisions. The Maglev fill is worked out by hand on a 7-slot table below, the weight
 * arithmetic (gcd, rshift, turns) by hand from ipvs-schedulers.md 13; the full 4093-slot tables
 * for 7 servers and the decisions for 1,000 clients (with and without mh-port, with
 * mh-fallback and quiesced/overloaded servers, after deletes and adds, IPv6) come from
 * test/fixtures/sched/mh.json, written by scripts/sched_reference.py from the specification
 * with its own SipHash.
 */
import assert from 'node:assert/strict';
import { SCHED_FLAG_1 } from '../src/control/config';
import { MaglevHashing, maglevOffset, maglevPopulate, maglevSkip, maglevTurns, mhScheduler } from '../src/sched/mh';
import type { SchedService } from '../src/sched/scheduler';
import { foldAddressWords } from '../src/wire/fold';
import { SchedFixture } from './sched-fixture';
import { loadHashFixture, replayCase } from './sched-hash-cases';

const mh = (flags = 0, tabIndex = 12): SchedFixture =>
  new SchedFixture((svc: SchedService) => new MaglevHashing({ ...svc, schedFlags: flags }, tabIndex));
const mhOf = (f: SchedFixture): MaglevHashing => f.sched as MaglevHashing;
const tableOf = (f: SchedFixture): string => {
  const names = new Map(f.order().map((n) => [f.id(n), n]));
  return Array.from(mhOf(f).table, (id) => (id < 0 ? '-' : (names.get(id) ?? '?'))).join('');
};
const count = (s: string, c: string): number => s.split(c).length - 1;
const at = (i: number) => ({ addr: `10.0.0.${11 + i}`, port: 80 });

describe('mh scheduler', () => {
  describe('the Maglev fill (hand-worked, M = 7)', () => {
    const fill = (turns: number[]): string => {
      // X: offset 3, skip 2 -> prefers 3, 5, 0, 2, 4, 6, 1; Y: offset 0, skip 3 -> 0, 3, 6, 2, 5, 1, 4
      const table = new Int32Array(7).fill(-1);
      maglevPopulate(table, new Uint8Array(7), [0, 1], 2, Int32Array.of(3, 0), Int32Array.of(2, 3), Int32Array.from(turns));
      return Array.from(table, (id) => 'XY'[id]).join('');
    };

    it('one turn each: X 3, Y 0, X 5, Y 6 (0, 3 taken), X 2 (0 taken), Y 1 (2, 5 taken), X 4', () => {
      assert.equal(fill([1, 1]), 'YYXXXXY');
    });

    it('X two turns: X 3, 5; Y 0; X 2, 4; Y 6; X 1 - the last claim ends mid-turns', () => {
      assert.equal(fill([2, 1]), 'YXXXXXY');
    });

    it('a dest with 0 turns takes no slot', () => {
      assert.equal(fill([0, 1]), 'YYYYYYY');
    });
  });

  describe('weights', () => {
    it('turns = (last_weight / gcd) >> rshift, at least 1, 0 for last_weight 0', () => {
      assert.equal(maglevTurns(4500, 15, 7), 2); // 300 >> 7
      assert.equal(maglevTurns(300, 15, 7), 1); // 20 >> 7 = 0 -> 1
      assert.equal(maglevTurns(65535, 15, 7), 34); // 4369 >> 7
      assert.equal(maglevTurns(0, 15, 7), 0);
      assert.equal(maglevTurns(6, 2, 0), 3);
    });

    it('gcd and rshift: 300, 1200, 65535, 150, 4500 -> gcd 15, 65535/15 = 4369 (13 bits) -> rshift 7', () => {
      const f = mh();
      [300, 1200, 65535, 150, 4500].forEach((w, i) => f.add('ABCDE'[i], w, at(i)));
      assert.equal(mhOf(f).gcd, 15);
      assert.equal(mhOf(f).rshift, 7);
      f.edit('C', 3000); // gcd 150, 4500 / 150 = 30: 5 bits <= 6
      assert.equal(mhOf(f).gcd, 150);
      assert.equal(mhOf(f).rshift, 0);
      f.edit('C', 0); // last_weight stays 3000: nothing changes
      assert.equal(mhOf(f).gcd, 150);
    });

    it('7 equal servers share 4093 slots as 584 or 585 each', () => {
      const f = mh();
      for (let i = 0; i < 7; i++) f.add('ABCDEFG'[i], 1, at(i));
      const t = tableOf(f);
      assert.equal(t.length, 4093);
      const counts = [...'ABCDEFG'].map((c) => count(t, c));
      assert.equal(counts.reduce((a, b) => a + b, 0), 4093);
      assert.ok(counts.every((c) => c === 584 || c === 585), String(counts));
    });

    it('quiescing keeps the table (last_weight), deleting rebuilds it; no positive weight empties it', () => {
      const f = mh();
      for (let i = 0; i < 3; i++) f.add('ABC'[i], 2, at(i));
      const before = tableOf(f);
      f.edit('B', 0);
      assert.equal(tableOf(f), before);
      f.del('B');
      assert.equal(count(tableOf(f), 'B'), 0);
      assert.equal(count(tableOf(f), '-'), 0);
      f.del('A').del('C');
      assert.equal(tableOf(f), '-'.repeat(4093));
      f.add('D', 0, at(3)); // added at weight 0: last_weight 0, no slot
      assert.equal(tableOf(f), '-'.repeat(4093));
      Object.assign(f.pkt, { srcKey: 0x0a010203 });
      assert.deepEqual(f.picks(1), ['-']);
    });

    it('more dests than slots: the rebuild is refused and the table stays (M = 251)', () => {
      const f = mh(0, 8);
      assert.equal(mhOf(f).size, 251);
      for (let i = 0; i < 251; i++) f.add(`d${i}`, 1, { addr: `10.1.${i >> 8}.${i & 255}`, port: 80 });
      const full = Int32Array.from(mhOf(f).table);
      assert.equal(new Set(full).size, 251); // 251 dests of weight 1: one slot each
      f.add('extra', 1, { addr: '10.2.0.1', port: 80 });
      assert.deepEqual(mhOf(f).table, full);
      assert.ok(!mhOf(f).table.includes(f.id('extra')));
      f.del('d0'); // back to 251 dests: rebuilt, now with the extra one
      assert.ok(mhOf(f).table.includes(f.id('extra')));
      assert.ok(!mhOf(f).table.includes(f.id('d0')));
    });
  });

  describe('lookups', () => {
    it('mh-fallback re-hashes with the probe offset; a usable first choice wins', () => {
      const f = mh(SCHED_FLAG_1);
      for (let i = 0; i < 7; i++) f.add('ABCDEFG'[i], 1, at(i));
      Object.assign(f.pkt, { srcKey: 0x0a010203, sport: 0, proto: 6 });
      const [first] = f.picks(1);
      assert.notEqual(first, '-');
      f.overload(first);
      const [second] = f.picks(1);
      assert.notEqual(second, '-');
      assert.notEqual(second, first);
      for (const c of 'ABCDEFG') f.overload(c);
      assert.deepEqual(f.picks(1), ['-']);
    });

    it('rejects table indexes outside CONFIG_IP_VS_MH_TAB_INDEX 8..17', () => {
      const svc = new SchedFixture('rr').svc;
      assert.throws(() => new MaglevHashing(svc, 7), /mh table index must be an integer in 8\.\.17 .*not 7/);
      assert.throws(() => new MaglevHashing(svc, 18), /not 18/);
      assert.equal(new MaglevHashing(svc, 17).size, 131071);
      assert.equal(new SchedFixture('mh').sched.name, 'mh');
    });
  });

  describe('agrees with the independent reference (test/fixtures/sched/mh.json)', () => {
    const fixture = loadHashFixture('mh.json');
    for (const c of fixture.cases) {
      it(`${c.name}: ${c.why}`, () =>
        replayCase(fixture, c, mhScheduler, (f, step) => {
          const s = mhOf(f);
          if (step.gcd !== undefined) assert.equal(s.gcd, step.gcd, 'gcd');
          if (step.rshift !== undefined) assert.equal(s.rshift, step.rshift, 'rshift');
          for (const [name, want] of Object.entries(step.setup ?? {})) {
            const id = f.id(name);
            const v = (f.dests.port[id] + foldAddressWords(f.dests.addr, id * 4, c.af)) >>> 0;
            assert.equal(maglevOffset(v, s.size), want.offset, `${name} offset`);
            assert.equal(maglevSkip(v, s.size), want.skip, `${name} skip`);
            assert.equal(maglevTurns(f.dests.lastWeight[id], s.gcd, s.rshift), want.turns, `${name} turns`);
          }
        }));
    }
  });
});
