/**
 * lblcr decisions, worked out by hand from ipvs-schedulers.md section 15 and ipvs-facts.md 2.13.
 * An address maps to a set of dests, newest member first, with a lastmod time. With an entry:
 * last use = now; m = set_min (skip OVERLOAD; seed = first member with weight > 0 and AVAILABLE;
 * a later non-OVERLOAD AVAILABLE member replaces it when strictly less loaded per weight); if the
 * set has > 1 member and now > lastmod + expiration, remove set_max (seed = first member with
 * weight > 0; a later member with weight > 0 replaces it when strictly more loaded), lastmod = now;
 * if m exists and is not locality-overloaded (active > weight AND some dest has 2 * active <
 * weight) return m; else wlc over the list, added at the front of the set if not a member
 * (lastmod = now). Without an entry: wlc, entry [pick]. overhead = active * 256 + inactive.
 * Entry expiry is lblc's timer (full pass every 30th 60-s run, at 1800 s multiples).
 */
import assert from 'node:assert/strict';
import { parseIp } from '../src/control/ip-address';
import { createLblcrScheduler, type LblcrOptions, type LocalityReplicatedLeastConnection } from '../src/sched/lblcr';
import { setSchedDestination, type SchedPacket } from '../src/sched/scheduler';
import { SchedFixture } from './sched-fixture';
import { LocalityWorld, RefLblcr } from './sched-locality-reference';

const X = 0x0a000001; // 10.0.0.1
const Y = 0x0a000002; // 10.0.0.2
const DAY = 86_400_000;
const HOUR = 3_600_000;

function lblcr(options: LblcrOptions = {}): { f: SchedFixture; s: LocalityReplicatedLeastConnection } {
  let s: LocalityReplicatedLeastConnection | undefined;
  const f = new SchedFixture((svc) => (s = createLblcrScheduler(svc, options)));
  if (s === undefined) throw new Error('factory not called');
  return { f, s };
}

function to(f: SchedFixture, key: number, now: number): string {
  f.pkt.dstKey = key;
  f.pkt.now = now;
  return f.picks(1)[0];
}

/** The set of `key` as dest names, newest first ('null' when not cached). */
function members(f: SchedFixture, s: LocalityReplicatedLeastConnection, key: number): string {
  const set = s.members(key);
  if (set === null) return 'null';
  const named = (id: number): string => ['A', 'B', 'C'].find((n) => safeId(f, n) === id) ?? `#${id}`;
  return set.map(named).join(' ');
}

/** The id of dest `name`, -1 when the fixture has none (deleted dests keep theirs). */
function safeId(f: SchedFixture, name: string): number {
  try {
    return f.id(name);
  } catch {
    return -1;
  }
}

/** Lookups of `key` every hour from `from` (exclusive) while before `until`, each expected to give `name`. */
function keepAlive(f: SchedFixture, key: number, from: number, until: number, name: string): void {
  for (let t = from + HOUR; t < until; t += HOUR) assert.equal(to(f, key, t), name, `lookup at ${t}`);
}

/**
 * List B A (weight 1 each). X at 0 -> B, set [B]. B active 2 at 1000: set_min = B, B is
 * locality-overloaded (2 > 1, A has 0 < 1) -> wlc: B 512 vs A 0 -> A, set [A B], lastmod 1000.
 */
function replicated(options: LblcrOptions = {}): { f: SchedFixture; s: LocalityReplicatedLeastConnection } {
  const r = lblcr(options);
  r.f.add('A', 1).add('B', 1);
  assert.equal(to(r.f, X, 0), 'B');
  assert.equal(members(r.f, r.s, X), 'B');
  r.f.conns('B', 2, 0);
  assert.equal(to(r.f, X, 1000), 'A');
  assert.equal(members(r.f, r.s, X), 'A B');
  assert.equal(r.s.lastModified(X), 1000);
  return r;
}

/** An IPv6 destination as the engine hands it to a scheduler: its fold and its four words. */
function dest6(text: string): { key: number; words: Uint32Array } {
  const pkt: SchedPacket = { srcKey: 0, dstKey: 0, dstAddr: new Uint32Array(4), sport: 0, proto: 6, now: 0 };
  setSchedDestination(pkt, parseIp(text).bytes, 0, 6);
  return { key: pkt.dstKey, words: pkt.dstAddr! };
}

/** The decision for a packet to IPv6 address `text` at `now` (the fixture's packet gets a dstAddr). */
function to6(f: SchedFixture, text: string, now: number): string {
  const d = dest6(text);
  f.pkt.dstKey = d.key;
  f.pkt.dstAddr = d.words;
  f.pkt.now = now;
  return f.picks(1)[0];
}

describe('lblcr scheduler', () => {
  it('keeps one set per whole IPv6 address, also for addresses with the same fold', () => {
    // P and Q differ in words 2 and 3 (P: ...:1:0:1, Q: ...:2:0:2); their XOR folds are equal.
    const P = '2001:db8::1:0:1';
    const Q = '2001:db8::2:0:2';
    assert.equal(dest6(P).key, dest6(Q).key);
    let s: LocalityReplicatedLeastConnection | undefined;
    const f = new SchedFixture((svc) => (s = createLblcrScheduler({ ...svc, af: 6 })));
    if (s === undefined) throw new Error('factory not called');
    f.add('A', 1).add('B', 1); // list B A
    assert.equal(to6(f, P, 0), 'B'); // new: wlc tie -> B, set [B]
    f.conns('B', 1, 0);
    // Q has no entry (it is not P): wlc -> A, set [A]. Sharing P's entry would have given B.
    assert.equal(to6(f, Q, 1000), 'A');
    // B active 2 > 1 and A 0 < 1: P's set_min B is locality-overloaded -> wlc -> A joins P's set.
    f.conns('B', 2, 0);
    assert.equal(to6(f, P, 2000), 'A');
    const named = (set: number[] | null): string => (set ?? []).map((id) => (id === f.id('A') ? 'A' : 'B')).join(' ');
    assert.equal(named(s.members(dest6(P).key, dest6(P).words)), 'A B');
    assert.equal(named(s.members(dest6(Q).key, dest6(Q).words)), 'A');
    assert.deepEqual([P, Q].map((t) => s!.lastModified(dest6(t).key, dest6(t).words)), [2000, 1000]);
    assert.equal(s.cache.entries, 2);
  });

  it('replicates a busy address onto a second and third dest, and serves from the set', () => {
    const { f, s } = replicated();
    // set_min [A B]: A 0 seeds, B 512 is not less -> A, not overloaded. Set unchanged.
    assert.equal(to(f, X, 2000), 'A');
    assert.equal(s.lastModified(X), 1000);
    // A active 3, B active 1: set_min: A 768, B 256 (768*1 > 256*1) -> B; B 1 <= 1 -> B.
    f.conns('A', 3, 0).conns('B', 1, 0);
    assert.equal(to(f, X, 3000), 'B');
    // Both active 3: set_min A (tie keeps the first). A 3 > 1, but no dest has 2*active < 1 -> A.
    f.conns('B', 3, 0);
    assert.equal(to(f, X, 4000), 'A');
    // C added (list C B A), idle: now C has 0 < 1, so A is locality-overloaded -> wlc: C 0 seeds,
    // B and A (768) cannot beat it -> C joins at the front.
    f.add('C', 1);
    assert.equal(to(f, X, 5000), 'C');
    assert.equal(members(f, s, X), 'C A B');
    assert.equal(s.lastModified(X), 5000);
    assert.equal(to(f, X, 6000), 'C'); // set_min: C 0 seeds, A and B 768 do not beat it
    assert.equal(to(f, Y, 6000), 'C'); // a new address: wlc -> C, its own set
    assert.equal(members(f, s, Y), 'C');
  });

  it('drops the most loaded member once the set is unchanged for longer than the expiration', () => {
    const { f, s } = replicated(); // [A B], lastmod 1000, A 0 and B 2 active
    keepAlive(f, X, 1000, 1000 + DAY, 'A'); // hourly lookups keep the entry alive, set unchanged
    // At lastmod + 24 h exactly: "now > lastmod + expiration" is false -> no change.
    assert.equal(to(f, X, 1000 + DAY), 'A');
    assert.equal(members(f, s, X), 'A B');
    // 1 ms later: set_max: A 0 seeds, B 512 (0*1 < 512*1) -> B removed, lastmod = now.
    assert.equal(to(f, X, 1000 + DAY + 1), 'A');
    assert.equal(members(f, s, X), 'A');
    assert.equal(s.lastModified(X), 1000 + DAY + 1);
  });

  it('still returns set_min when it is the member just removed (m is not recomputed)', () => {
    const { f, s } = replicated();
    f.conns('B', 0, 0); // both idle: set_min and set_max are both A (ties keep the first)
    keepAlive(f, X, 1000, 1000 + DAY + 1, 'A');
    assert.equal(to(f, X, 1000 + DAY + 1), 'A'); // A removed, yet A is the answer
    assert.equal(members(f, s, X), 'B');
    assert.equal(to(f, X, 1000 + DAY + 2), 'B'); // the set is [B] now
  });

  it('removes one member per expiration, deleted members included', () => {
    const { f, s } = replicated();
    // As in the first test: A 3, B 3 active, C added and joining at 5000 -> [C A B].
    f.conns('A', 3, 0).conns('B', 3, 0).add('C', 1);
    assert.equal(to(f, X, 5000), 'C');
    // B deleted, and it still has 5 active connections (its counters live on).
    f.del('B');
    f.conns('B', 5, 0);
    keepAlive(f, X, 5000, 5000 + DAY + 1, 'C'); // set_min: C 0 (B is no longer AVAILABLE)
    // set_max over [C A B] ignores availability: C 0 seeds, A 768 > 0 -> A, B 1280 > 768 -> B.
    assert.equal(to(f, X, 5000 + DAY + 1), 'C');
    assert.equal(members(f, s, X), 'C A');
    // lastmod was just set: one member per expiration.
    assert.equal(to(f, X, 5000 + DAY + 2), 'C');
    assert.equal(members(f, s, X), 'C A');
    keepAlive(f, X, 5000 + DAY + 1, 5000 + 2 * DAY + 2, 'C');
    assert.equal(to(f, X, 5000 + 2 * DAY + 2), 'C'); // set_max: C 0, A 768 -> A goes
    assert.equal(members(f, s, X), 'C');
  });

  it('skips OVERLOAD, weight-0 and deleted members; none when nothing is usable', () => {
    const { f, s } = replicated();
    f.conns('B', 0, 0);
    // Unlike lblc's cached dest, set members with the OVERLOAD flag are skipped: set_min -> B.
    f.overload('A');
    assert.equal(to(f, X, 2000), 'B');
    f.overload('A', false);
    // A weight 0: set_min seeds with B -> B.
    f.edit('A', 0);
    assert.equal(to(f, X, 3000), 'B');
    // B weight 0 too: set_min none, wlc none -> '-', the set untouched.
    f.edit('B', 0);
    assert.equal(to(f, X, 4000), '-');
    assert.equal(members(f, s, X), 'A B');
    // B deleted (weight 1 again first): set_min none (A weight 0, B not AVAILABLE), wlc over [A] none.
    f.edit('B', 1).del('B');
    assert.equal(to(f, X, 5000), '-');
    // C added: wlc -> C, which joins the set.
    f.add('C', 1);
    assert.equal(to(f, X, 6000), 'C');
    assert.equal(members(f, s, X), 'C A B');
    assert.equal(to(new SchedFixture('lblcr'), X, 0), '-'); // empty service
  });

  it('drops an entry unused for 24 h at the next full pass, then starts a new set', () => {
    // Last use 1000: expired from 86401 s on; full passes at 1800 s multiples -> the one at 88200 s.
    const { f, s } = replicated();
    s.cache.advance(88_200_000 - 1);
    assert.equal(members(f, s, X), 'A B');
    s.cache.advance(88_200_000);
    assert.equal(members(f, s, X), 'null');
    assert.equal(to(f, X, 88_200_000), 'A'); // wlc: B 512, A 0 -> A; a fresh one-member set
    assert.equal(members(f, s, X), 'A');
    assert.equal(s.lastModified(X), 88_200_000);
  });

  it('keeps deciding when the member pool is exhausted', () => {
    // memberCapacity 1: X's set takes the only member; Y gets an entry with an empty set.
    const { f, s } = lblcr({ memberCapacity: 1 });
    f.add('A', 1).add('B', 1);
    assert.equal(to(f, X, 0), 'B');
    assert.equal(to(f, Y, 0), 'B');
    assert.equal(members(f, s, Y), '');
    // Y again: set_min of an empty set is none -> wlc -> B; it cannot be added either.
    assert.equal(to(f, Y, 1), 'B');
    assert.equal(s.cache.entries, 2);
    assert.throws(() => lblcr({ memberCapacity: 0 }), /memberCapacity must be an integer >= 1, got 0/);
  });

  describe('randomized cross-check against a naive model', () => {
    type Config = { expirationMs: number; maxSize: number; capacity: number; memberCapacity: number };
    const configs: { name: string; af: 4 | 6; options: Config }[] = [
      { name: 'default sizes, 2 h expiration', af: 4, options: { expirationMs: 2 * HOUR, maxSize: 16384, capacity: 65536, memberCapacity: 131072 } },
      { name: 'max_size 8, 24 entries, 30 members, 10 min', af: 4, options: { expirationMs: 600_000, maxSize: 8, capacity: 24, memberCapacity: 30 } },
      { name: 'max_size 4, 10 entries, 12 members, 15 min', af: 4, options: { expirationMs: 900_000, maxSize: 4, capacity: 10, memberCapacity: 12 } },
      { name: 'IPv6 pairs of equal folds, default sizes, 2 h', af: 6, options: { expirationMs: 2 * HOUR, maxSize: 16384, capacity: 65536, memberCapacity: 131072 } },
      { name: 'IPv6 pairs of equal folds, max_size 8, 24 entries, 30 members, 10 min', af: 6, options: { expirationMs: 600_000, maxSize: 8, capacity: 24, memberCapacity: 30 } },
    ];
    for (const { name, af, options } of configs) {
      it(`agrees on 10,000 decisions and sets (${name})`, () => {
        const world = new LocalityWorld(0xc0ffee + options.maxSize, af);
        const s = createLblcrScheduler(world.svc, options);
        const ref = new RefLblcr(world.dests, world.list, {
          expiration: options.expirationMs,
          maxSize: options.maxSize,
          capacity: options.capacity,
          memberCapacity: options.memberCapacity,
        });
        let nones = 0;
        /** Decisions after which an address and its equal-fold partner both had sets, and different ones. */
        let pairsApart = 0;
        for (let i = 0; i < 10_000; i++) {
          const a = world.next(s);
          const want = ref.schedule(a.ref, world.now);
          const got = s.schedule({ srcKey: 0, dstKey: a.key, dstAddr: a.words, sport: 0, proto: 6, now: world.now });
          assert.equal(got, want, `decision ${i} at ${world.now} ms`);
          assert.deepEqual(s.members(a.key, a.words), ref.setOf(a.ref), `set after decision ${i}`);
          assert.equal(s.cache.entries, ref.cache.entries.size, `entries after decision ${i}`);
          if (a.partner >= 0) {
            const b = world.pool[a.partner];
            const other = ref.setOf(b.ref);
            assert.deepEqual(s.members(b.key, b.words), other, `partner's set after decision ${i}`);
            const mine = ref.setOf(a.ref);
            if (other !== null && mine !== null && other.join() !== mine.join()) pairsApart++;
          }
          if (want < 0) nones++;
        }
        assert.ok(nones > 50, `nones ${nones}`);
        assert.ok(ref.seen.hits > 1000 && ref.seen.grown > 100 && ref.seen.shrinks > 20, JSON.stringify(ref.seen));
        assert.ok(ref.cache.dropped > 20, `dropped ${ref.cache.dropped}`);
        if (af === 6) assert.ok(pairsApart > 500, `pairs with different sets ${pairsApart}`);
      });
    }
  });
});
