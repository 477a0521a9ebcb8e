/**
 * sh decisions. The small cases are worked out by hand below from ipvs-schedulers.md 11 and
 * ipvs-facts.md 2.9; the bulk cases (1,000 clients over 5 weighted servers, with and without
 * sh-port, fallback with a quiesced/overloaded server, edits and deletes, IPv6) come from
 * test/fixtures/sched/sh.json, written by scripts/sched_reference.py from the specification.
 */
import assert from 'node:assert/strict';
import { SCHED_FLAG_1, SCHED_FLAG_2 } from '../src/control/config';
import { SourceHashing, shScheduler } from '../src/sched/sh';
import type { SchedService } from '../src/sched/scheduler';
import { SchedFixture } from './sched-fixture';
import { loadHashFixture, replayCase } from './sched-hash-cases';

/** An sh fixture with service flags and a table size (default 8 bits). */
const sh = (flags = 0, bits = 8): SchedFixture =>
  new SchedFixture((svc: SchedService) => new SourceHashing({ ...svc, schedFlags: flags }, bits));
const tableOf = (f: SchedFixture): string => {
  const names = new Map(f.order().map((n) => [f.id(n), n]));
  return Array.from((f.sched as SourceHashing).table, (id) => (id < 0 ? '-' : (names.get(id) ?? '?'))).join('');
};
const count = (s: string, c: string): number => s.split(c).length - 1;
/** One decision for a client key (host-order address), source port and protocol. */
const pick = (f: SchedFixture, srcKey: number, sport = 0, proto = 6): string => {
  Object.assign(f.pkt, { srcKey, sport, proto });
  return f.picks(1)[0];
};

describe('sh scheduler', () => {
  describe('table fill (hand-worked)', () => {
    it('A:3, B:2, C:1 added in order -> C,B,B,A,A,A,... with A 127, B 86, C 43 buckets', () => {
      const f = sh().add('A', 3).add('B', 2).add('C', 1);
      const t = tableOf(f);
      // 256 = 42 laps of 6 + 4: the last lap is cut after C,B,B,A
      assert.equal(t, 'CBBAAA'.repeat(42) + 'CBBA');
      assert.deepEqual([count(t, 'A'), count(t, 'B'), count(t, 'C')], [127, 86, 43]);
    });

    it('weights 1..5 added in order: laps of 5xE 4xD 3xC 2xB 1xA, counts 86, 68, 51, 34, 17', () => {
      const f = sh().add('A', 1).add('B', 2).add('C', 3).add('D', 4).add('E', 5);
      const t = tableOf(f);
      assert.equal(t, 'EEEEEDDDDCCCBBA'.repeat(17) + 'E'); // 17 laps of 15 = 255, then one bucket
      assert.deepEqual(['E', 'D', 'C', 'B', 'A'].map((c) => count(t, c)), [86, 68, 51, 34, 17]);
    });

    it('weight 0 still takes one bucket per lap; no gcd reduction; weight >= 256 fills the table', () => {
      assert.equal(tableOf(sh().add('A', 2).add('B', 0)), 'BAA'.repeat(85) + 'B');
      const big = tableOf(sh().add('A', 100).add('B', 200)); // list B, A
      assert.deepEqual([count(big, 'B'), count(big, 'A')], [200, 56]); // 200 + 56, not 1:2
      assert.equal(tableOf(sh().add('A', 1).add('B', 256)), 'B'.repeat(256));
    });

    it('an empty service has empty buckets and schedules nothing', () => {
      const f = sh();
      assert.equal(tableOf(f), '-'.repeat(256));
      assert.equal(pick(f, 0x0a010203), '-');
      f.add('A').del('A');
      assert.equal(tableOf(f), '-'.repeat(256));
      assert.equal(pick(f, 0x0a010203), '-');
    });

    it('rebuilds on add, delete and edit', () => {
      const f = sh(0, 4).add('A', 3).add('B', 2).add('C', 1); // 16 buckets
      assert.equal(tableOf(f), 'CBBAAACBBAAACBBA');
      f.edit('A', 1);
      assert.equal(tableOf(f), 'CBBACBBACBBACBBA');
      f.del('B');
      assert.equal(tableOf(f), 'CACACACACACACACA');
      f.add('D', 5);
      assert.equal(tableOf(f), 'DDDDDCADDDDDCADD');
    });
  });

  describe('lookups (hand-worked)', () => {
    // list C:1, B:2, A:3 -> bucket b holds 'CBBAAA'[b mod 6] for b < 252
    const cba = (flags = 0): SchedFixture => sh(flags).add('A', 3).add('B', 2).add('C', 1);

    it('ipvs-facts 2.9 clients: 10.1.2.3 -> bucket 2 (B), 192.0.2.10 -> 162 (C), 203.0.113.7 -> 124 (A)', () => {
      const f = cba();
      assert.equal(pick(f, 0x0a010203), 'B'); // 2 mod 6 = 2
      assert.equal(pick(f, 0xc000020a), 'C'); // 162 = 27 * 6
      assert.equal(pick(f, 0xcb007107), 'A'); // 124 = 20 * 6 + 4
      // without sh-port the source port is ignored
      assert.equal(pick(f, 0x0a010203, 40000), 'B');
    });

    it('sh-port adds the TCP/UDP/SCTP source port: buckets 166 (A), 70 (A), 32 (B) for port 40000', () => {
      const f = cba(SCHED_FLAG_2);
      assert.equal(pick(f, 0x0a010203, 40000, 6), 'A'); // 166 = 27 * 6 + 4
      assert.equal(pick(f, 0xc000020a, 40000, 17), 'A'); // 70 = 11 * 6 + 4
      assert.equal(pick(f, 0xcb007107, 40000, 132), 'B'); // 32 = 5 * 6 + 2
      assert.equal(pick(f, 0x0a010203, 40000, 1), 'B'); // ICMP: port 0, bucket 2
    });

    it('without sh-fallback an unusable bucket dest means none', () => {
      const f = cba().overload('B');
      assert.equal(pick(f, 0x0a010203), '-'); // bucket 2: B overloaded
      f.overload('B', false).edit('C', 0); // C at 0 still owns buckets 0, 6, ... (same layout)
      assert.equal(tableOf(f), 'CBBAAA'.repeat(42) + 'CBBA');
      assert.equal(pick(f, 0xc000020a), '-');
      assert.equal(pick(f, 0x0a010203), 'B');
    });

    it('sh-fallback probes (k + 2*bucket) mod size, not from the bucket itself', () => {
      // 16 buckets: C B B A A A C B B A A A C B B A. Key 6: 6 * 0x61C88647 = 0x4AB325AA -> bucket 4 (A).
      const f = sh(SCHED_FLAG_1, 4).add('A', 3).add('B', 2).add('C', 1);
      assert.equal(pick(f, 6), 'A');
      f.overload('A');
      // probes start at 2*4 = 8: B. (Probing from 4 would give A, A (5), then C (6).)
      assert.equal(pick(f, 6), 'B');
      // key 1: 0x61C88647 -> bucket 6 (C). C overloaded: probes 12 (C), 13 (B) -> B
      f.overload('A', false).overload('C');
      assert.equal(pick(f, 1), 'B');
      // key 13: 0xF72ED19B -> bucket 15 (A); A overloaded: probes (0 + 30) mod 16 = 14 -> B
      f.overload('C', false).overload('A');
      assert.equal(pick(f, 13), 'B');
      f.overload('B').overload('C'); // nothing usable: all 16 probes fail
      assert.equal(pick(f, 13), '-');
      f.overload('C', false);
      assert.equal(pick(f, 13), 'C'); // probes 14 B, 15 A, 0 C
    });

    it('a usable bucket dest wins even with sh-fallback', () => {
      const f = cba(SCHED_FLAG_1 | SCHED_FLAG_2);
      assert.equal(pick(f, 0x0a010203, 40000), 'A');
      assert.equal(pick(f, 0xc000020a, 0, 6), 'C');
    });
  });

  it('rejects table sizes outside CONFIG_IP_VS_SH_TAB_BITS 4..20', () => {
    const svc: SchedService = new SchedFixture('rr').svc;
    assert.throws(() => new SourceHashing(svc, 3), /sh table bits must be an integer in 4\.\.20 .*not 3/);
    assert.throws(() => new SourceHashing(svc, 21), /not 21/);
    assert.equal(new SourceHashing(svc, 20).table.length, 1 << 20);
    assert.equal(new SchedFixture('sh').sched.name, 'sh');
  });

  describe('agrees with the independent reference (test/fixtures/sched/sh.json)', () => {
    const fixture = loadHashFixture('sh.json');
    for (const c of fixture.cases) {
      it(`${c.name}: ${c.why}`, () => replayCase(fixture, c, shScheduler));
    }
  });
});
