/**
 * dh decisions. Small cases are worked out by hand from ipvs-schedulers.md 12 and ipvs-facts.md
 * 2.10; the bulk cases (1,000 destination addresses over 5 weighted servers, quiesce/overload,
 * edits that do not rebuild, deletes that do, IPv6) come from test/fixtures/sched/dh.json,
 * written by scripts/sched_reference.py from the specification.
 */
import assert from 'node:assert/strict';
import { DEST_AVAILABLE } from '../src/ipvs/dest-table';
import { DestinationHashing, dhScheduler } from '../src/sched/dh';
import { SchedFixture } from './sched-fixture';
import { loadHashFixture, replayCase } from './sched-hash-cases';

const tableOf = (f: SchedFixture): string => {
  const names = new Map(f.order().map((n) => [f.id(n), n]));
  return Array.from((f.sched as DestinationHashing).table, (id) => (id < 0 ? '-' : (names.get(id) ?? '?'))).join('');
};
/** One decision for a destination key (host-order address). */
const pick = (f: SchedFixture, dstKey: number, srcKey = 0, sport = 0): string => {
  Object.assign(f.pkt, { dstKey, srcKey, sport });
  return f.picks(1)[0];
};

describe('dh scheduler', () => {
  it('one bucket per dest in list order, whatever the weights', () => {
    const f = new SchedFixture('dh').add('A', 1).add('B', 5).add('C', 100);
    assert.equal(tableOf(f), 'CBA'.repeat(85) + 'C'); // 256 = 85 * 3 + 1
  });

  it('hashes the destination address only: 10.0.0.1 -> bucket 39 -> C', () => {
    const f = new SchedFixture('dh').add('A').add('B').add('C');
    // hash_32(0x0A000001, 8) = 39 and 39 = 13 * 3 -> list position 0, C
    assert.equal(pick(f, 0x0a000001), 'C');
    assert.equal(pick(f, 0x0a000001, 0x12345678, 40000), 'C'); // source and port do not matter
    // hash_32(1, 8) = 97 = 32 * 3 + 1 -> B; hash_32(2, 8) = 195 = 65 * 3 -> C
    assert.equal(pick(f, 1), 'B');
    assert.equal(pick(f, 2), 'C');
  });

  it('edits do not rebuild; weight 0 or OVERLOAD make the bucket answer none', () => {
    const f = new SchedFixture('dh').add('A').add('B').add('C');
    const before = tableOf(f);
    f.edit('C', 0);
    assert.equal(tableOf(f), before);
    assert.equal(pick(f, 0x0a000001), '-');
    assert.equal(pick(f, 1), 'B'); // other buckets unaffected: no fallback, no re-layout
    f.edit('C', 7).overload('B');
    assert.equal(tableOf(f), before);
    assert.equal(pick(f, 0x0a000001), 'C');
    assert.equal(pick(f, 1), '-');
  });

  it('add and delete rebuild', () => {
    const f = new SchedFixture('dh').add('A').add('B').add('C');
    f.del('B');
    assert.equal(tableOf(f), 'CA'.repeat(128));
    assert.equal(pick(f, 1), 'A'); // bucket 97 is odd
    f.add('D');
    assert.equal(tableOf(f), 'DCA'.repeat(85) + 'D');
    f.del('D').del('C').del('A');
    assert.equal(tableOf(f), '-'.repeat(256));
    assert.equal(pick(f, 1), '-');
  });

  it('a dest that is not AVAILABLE is never returned', () => {
    // The kernel checks the flag too; with the table rebuilt on delete it is belt and braces.
    const f = new SchedFixture('dh').add('A');
    f.dests.flags[f.id('A')] &= ~DEST_AVAILABLE;
    assert.equal(pick(f, 1), '-');
  });

  describe('agrees with the independent reference (test/fixtures/sched/dh.json)', () => {
    const fixture = loadHashFixture('dh.json');
    for (const c of fixture.cases) {
      it(`${c.name}: ${c.why}`, () => replayCase(fixture, c, dhScheduler));
    }
  });
});
