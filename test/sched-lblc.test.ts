/**
 * lblc decisions, worked out by hand from ipvs-schedulers.md section 14 and ipvs-facts.md 2.12:
 * a cache of destination address -> dest; a cached dest is kept while it is AVAILABLE, has
 * weight > 0 and is not locality-overloaded (active > weight AND some dest of the list has
 * 2 * active < weight; the OVERLOAD flag is not looked at); otherwise wlc over the list picks
 * (overhead = active * 256 + inactive, ties keep the earlier = newer dest) and the entry is
 * replaced. A 60 s timer (first run at 60 s) makes a full pass every 30th run (counter starting at
 * 1: at 1800 s, 3600 s, ...) dropping entries unused >= the expiration, and between full passes,
 * only while the kernel's entry count exceeds max_size, drops entries unused >= 360 s bucket by
 * bucket (bucket = hash_32(key, 10)) from after a rover, until min((count - max) * 4/3, max/2).
 */
import assert from 'node:assert/strict';
import { parseIp } from '../src/control/ip-address';
import { createLblcScheduler, type LocalityLeastConnection } from '../src/sched/lblc';
import type { LocalityCacheOptions } from '../src/sched/locality-cache';
import { setSchedDestination, type SchedPacket } from '../src/sched/scheduler';
import { foldAddress } from '../src/wire/fold';
import { SchedFixture } from './sched-fixture';
import { LocalityWorld, RefLblc } from './sched-locality-reference';
import { dstMac, EngineHarness, frame, SYN } from './support/frames';

const X = 0x0a000001; // 10.0.0.1
const Y = 0x0a000002; // 10.0.0.2
const DAY = 86_400_000;

function lblc(options: LocalityCacheOptions = {}): { f: SchedFixture; s: LocalityLeastConnection } {
  let s: LocalityLeastConnection | undefined;
  const f = new SchedFixture((svc) => (s = createLblcScheduler(svc, options)));
  if (s === undefined) throw new Error('factory not called');
  return { f, s };
}

/** The decision for a packet to `key` at engine time `now` (ms), as a dest name or '-'. */
function to(f: SchedFixture, key: number, now: number): string {
  f.pkt.dstKey = key;
  f.pkt.now = now;
  return f.picks(1)[0];
}

/** lblc on an IPv6 service (the fixture's service with af 6). */
function lblc6(): { f: SchedFixture; s: LocalityLeastConnection } {
  let s: LocalityLeastConnection | undefined;
  const f = new SchedFixture((svc) => (s = createLblcScheduler({ ...svc, af: 6 })));
  if (s === undefined) throw new Error('factory not called');
  f.pkt.dstAddr = new Uint32Array(4);
  return { f, s };
}

/** An IPv6 destination as the engine hands it to a scheduler: its fold and its four words. */
function dest6(text: string): { key: number; words: Uint32Array } {
  const pkt: SchedPacket = { srcKey: 0, dstKey: 0, dstAddr: new Uint32Array(4), sport: 0, proto: 6, now: 0 };
  setSchedDestination(pkt, parseIp(text).bytes, 0, 6);
  return { key: pkt.dstKey, words: pkt.dstAddr! };
}

/** The decision for a packet to IPv6 address `text` at `now`. */
function to6(f: SchedFixture, text: string, now: number): string {
  const d = dest6(text);
  f.pkt.dstKey = d.key;
  f.pkt.dstAddr!.set(d.words);
  f.pkt.now = now;
  return f.picks(1)[0];
}

/** The dest name cached for IPv6 address `text`, '-' when none. */
function cached6(f: SchedFixture, s: LocalityLeastConnection, text: string): string {
  const d = dest6(text);
  const id = s.cachedDest(d.key, d.words);
  return id < 0 ? '-' : (['A', 'B', 'C'].find((n) => f.id(n) === id) ?? `#${id}`);
}

// Three IPv6 destinations with one fold (the XOR of the four words): P's words are 2001:0db8,
// 0000:0000, 0000:0001, 0000:0001; Q XORs 3 into words 2 and 3; R XORs 0x100 into words 0 and 1.
const P = '2001:db8::1:0:1';
const Q = '2001:db8::2:0:2';
const R = '2001:cb8:0:100:0:1:0:1';

describe('lblc scheduler', () => {
  it('keeps an address on its cached dest until the locality-overload rule moves it', () => {
    const { f, s } = lblc();
    f.add('A', 2).add('B', 2); // list B A
    // X is new: wlc over idle dests, tie -> B (first in list). X -> B cached.
    assert.equal(to(f, X, 0), 'B');
    // B active 2: not > weight 2, so B stays for X although wlc would now pick A (512*2 > 0*2).
    f.conns('B', 2, 0);
    assert.equal(to(f, X, 1000), 'B');
    assert.equal(to(f, Y, 1000), 'A'); // Y is new: wlc -> A, cached
    // B active 3 > 2, and A has 2*0 < 2: B is locality-overloaded -> wlc: B 768, A 0 -> A. X -> A.
    f.conns('B', 3, 0);
    assert.equal(to(f, X, 2000), 'A');
    assert.equal(s.cachedDest(X), f.id('A'));
    // Both idle again: wlc would say B (tie, first), but X stays on A.
    f.conns('B', 0, 0);
    assert.equal(to(f, X, 3000), 'A');
    // A active 3 > 2, B active 1: 2*1 < 2 is false, 2*3 < 2 is false -> nowhere clearly less busy: A stays.
    f.conns('A', 3, 0).conns('B', 1, 0);
    assert.equal(to(f, X, 4000), 'A');
    // B active 0: 0 < 2 -> A is locality-overloaded; wlc: B 0 seeds, A: 0*2 > 768*2 is false -> B.
    f.conns('B', 0, 0);
    assert.equal(to(f, X, 5000), 'B');
    // Inactive connections do not count for the rule: B active 0, inactive 1000 -> B stays for X
    // (wlc would pick A: 1000*2 > 0*2 after A's connections are gone).
    f.conns('A', 0, 0).conns('B', 0, 1000);
    assert.equal(to(f, X, 6000), 'B');
    assert.equal(to(f, Y, 6000), 'A'); // Y still cached on A
    assert.equal(s.cache.entries, 2);
    // The kernel's entry counter: X and Y made 2, and X's two replacements (B -> A -> B) each
    // counted one more without uncounting the old entry (see the over-size tests).
    assert.equal(s.cache.kernelEntries, 4);
  });

  it('ignores the OVERLOAD flag for the cached dest, but wlc skips it', () => {
    const { f } = lblc();
    f.add('A', 1).add('B', 1); // list B A
    assert.equal(to(f, X, 0), 'B');
    f.overload('B');
    assert.equal(to(f, X, 1), 'B'); // cached: the flag is not consulted
    assert.equal(to(f, Y, 1), 'A'); // new: wlc skips the OVERLOAD-flagged B
    // B active 2 > 1 and A has 0 < 1 -> locality-overloaded; wlc skips B (flag) -> A.
    f.conns('B', 2, 0);
    assert.equal(to(f, X, 2), 'A');
  });

  it('treats weight 0 and deleted dests as unusable, and keeps the entry when nothing is usable', () => {
    const { f, s } = lblc();
    f.add('A', 1).add('B', 1); // list B A
    assert.equal(to(f, X, 0), 'B');
    // B weight 0: the cached dest is unusable; wlc: B cannot seed -> A. X -> A.
    f.edit('B', 0);
    assert.equal(to(f, X, 1), 'A');
    // B back to 1: X stays on A (usable), though wlc would pick B on the tie.
    f.edit('B', 1);
    assert.equal(to(f, X, 2), 'A');
    // Nothing usable: none, and the entry is left as it is.
    f.edit('A', 0).edit('B', 0);
    assert.equal(to(f, X, 3), '-');
    assert.equal(s.cachedDest(X), f.id('A'));
    // A usable again with active 1 (= weight, not overloaded); wlc would pick idle B; X -> A shows
    // the entry survived the failed decision.
    f.edit('A', 1).edit('B', 1).conns('A', 1, 0);
    assert.equal(to(f, X, 4), 'A');
    // A deleted: its entry is unusable (not AVAILABLE) -> wlc over the list [B] -> B.
    f.del('A');
    assert.equal(to(f, X, 5), 'B');
    // The same server added again is a new dest id in uvs; X stays on B.
    f.add('A2', 1);
    assert.equal(to(f, X, 6), 'B');
    assert.equal(to(new SchedFixture('lblc'), X, 0), '-'); // empty service
  });

  describe('IPv6 destinations: the whole address is the key', () => {
    it('setSchedDestination fills the fold and the four words, IPv4 with zeros after an IPv6 packet', () => {
      const pkt: SchedPacket = { srcKey: 0, dstKey: 0, dstAddr: new Uint32Array(4), sport: 0, proto: 6, now: 0 };
      setSchedDestination(pkt, parseIp(R).bytes, 0, 6);
      assert.deepEqual([pkt.dstKey, ...pkt.dstAddr!], [0x20010db8, 0x20010cb8, 0x00000100, 0x00000001, 0x00000001]);
      // At an offset inside a frame, as the engine calls it: 2 bytes before 10.0.0.1.
      setSchedDestination(pkt, Uint8Array.of(0xff, 0xff, 10, 0, 0, 1), 2, 4);
      assert.deepEqual([pkt.dstKey, ...pkt.dstAddr!], [0x0a000001, 0x0a000001, 0, 0, 0]);
      const bare: SchedPacket = { srcKey: 0, dstKey: 0, sport: 0, proto: 6, now: 0 };
      setSchedDestination(bare, parseIp(P).bytes, 0, 6); // no dstAddr: only the fold
      assert.equal(bare.dstKey, 0x20010db8);
    });

    it('gives addresses with the same fold their own entries and their own dests', () => {
      // The premise, with the wire's fold (not the scheduler's helper): one fold, hence one bucket.
      const folds = [P, Q, R].map((t) => foldAddress(parseIp(t).bytes, 0, 6));
      assert.deepEqual(folds, [0x20010db8, 0x20010db8, 0x20010db8]);
      assert.deepEqual([...dest6(Q).words], [0x20010db8, 0, 2, 2]);
      assert.equal(dest6(Q).key, 0x20010db8);
      const { f, s } = lblc6();
      f.add('A', 1).add('B', 1); // list B A
      assert.equal(to6(f, P, 0), 'B'); // new: wlc tie -> B
      f.conns('B', 1, 0); // wlc would now pick A; B (1 <= 1) stays usable for P
      // Q is not P: a new entry, wlc -> A (a cache keyed on the fold would have answered B).
      assert.equal(to6(f, Q, 1000), 'A');
      assert.equal(to6(f, P, 2000), 'B');
      f.conns('A', 1, 0).add('C', 1); // list C B A; C idle
      // R differs from P in its upper words only: new, wlc -> C.
      assert.equal(to6(f, R, 3000), 'C');
      assert.deepEqual([P, Q, R].map((t) => cached6(f, s, t)), ['B', 'A', 'C']);
      assert.equal(to6(f, '2001:db8::3:0:3', 4000), 'C'); // a fourth with that fold: not cached yet -> wlc -> C
      assert.equal(s.cache.entries, 4);
      assert.equal(s.cache.kernelEntries, 4); // no replacement happened
    });

    it('replaces and expires one of them without touching the others in the shared bucket', () => {
      const { f, s } = lblc6();
      f.add('A', 1).add('B', 1); // list B A
      assert.equal(to6(f, P, 0), 'B');
      assert.equal(to6(f, Q, 1000), 'B'); // B has no connections yet: the tie still goes to B
      // B active 2 > 1 while A has 0 < 1: B is locality-overloaded, Q moves to A; P is not looked up.
      f.conns('B', 2, 0);
      assert.equal(to6(f, Q, 2000), 'A');
      assert.deepEqual([P, Q].map((t) => cached6(f, s, t)), ['B', 'A']);
      assert.equal(s.cache.kernelEntries, 3); // P, Q, and Q's replacement
      // Keep Q alive until 50000 s; P was last used at 0. The full pass at 86400 s drops P only
      // (86400 s - 0 >= 24 h) and leaves Q, its neighbour in the bucket.
      f.conns('B', 0, 0);
      assert.equal(to6(f, Q, 50_000_000), 'A');
      s.cache.advance(86_400_000 - 1);
      assert.equal(s.cache.entries, 2);
      s.cache.advance(86_400_000);
      assert.deepEqual([P, Q].map((t) => cached6(f, s, t)), ['-', 'A']);
      assert.equal(s.cache.entries, 1);
    });

    it('is filled in by the engine: an IPv6 firewall-mark service sends the two addresses apart', () => {
      const h = new EngineHarness(
        '-A -f 7 -6 -s lblc\n-a -f 7 -6 -r fd00::11 -g -w 1\n-a -f 7 -6 -r fd00::12 -g -w 1\n',
        `link eth0 mac 02:00:00:00:00:01
addr fd00::1/64 dev eth0
neigh fd00::11 lladdr 02:00:00:00:06:11 dev eth0
neigh fd00::12 lladdr 02:00:00:00:06:12 dev eth0
mark 7 proto tcp dst 2001:db8::/32
`);
      const syn = (dst: string, sport: number, at: number): string => {
        const out = h.send(frame({ src: '2001:db8:c::7', dst, sport, dport: 80, flags: SYN }), at);
        assert.ok(out, `SYN to ${dst} forwarded`);
        return dstMac(out);
      };
      const RS11 = '02:00:00:00:06:11';
      const RS12 = '02:00:00:00:06:12';
      // P: both idle, the tie goes to fd00::12 (first in the list). Its connection makes fd00::11
      // the wlc pick for any new address; Q (P's fold) is one, and P stays on fd00::12.
      assert.deepEqual([syn(P, 40000, 0), syn(Q, 40001, 1), syn(P, 40002, 2)], [RS12, RS11, RS12]);
    });
  });

  describe('expiry on the engine clock', () => {
    /** List B A, both weight 1; X cached on B at `usedAt`; then A is what wlc would pick. */
    function cachedOnB(usedAt: number): { f: SchedFixture; s: LocalityLeastConnection } {
      const r = lblc();
      r.f.add('A', 1).add('B', 1);
      assert.equal(to(r.f, X, usedAt), 'B');
      r.f.conns('B', 1, 0); // B 256 vs A 0: wlc -> A, but B (1 <= 1) stays usable for X
      return r;
    }

    it('drops an entry unused for 86400 s at the full pass (every 30th 60-s run)', () => {
      // Full passes at 1800 s * k. Used at 0: the pass at 84600 s keeps it (84600 < 86400), the
      // pass at 86400 s drops it (86400 >= 0 + 86400).
      assert.equal(to(cachedOnB(0).f, X, DAY - 1), 'B');
      const { f, s } = cachedOnB(0);
      assert.equal(to(f, X, DAY), 'A');
      assert.equal(s.cachedDest(X), f.id('A')); // a new entry
    });

    it('waits for the next full pass when the 24 h end between two passes', () => {
      // Used at 100 s: expired from 86500 s on; the next full pass is at 88200 s (1800 * 49).
      assert.equal(to(cachedOnB(100_000).f, X, 88_200_000 - 1), 'B');
      assert.equal(to(cachedOnB(100_000).f, X, 88_200_000), 'A');
    });

    it('refreshes the last use on every lookup', () => {
      const { f } = cachedOnB(0);
      assert.equal(to(f, X, 80_000_000), 'B'); // last use 80000 s: expires at the pass at 167400 s
      assert.equal(to(f, Y, DAY + 1), 'A'); // a packet for another address drives the timer
      assert.equal(to(f, X, 167_400_000 - 1), 'B');
      const g = cachedOnB(0).f;
      to(g, X, 80_000_000);
      assert.equal(to(g, X, 167_400_000), 'A');
    });

    it('keeps the full-pass phase across a long idle gap', () => {
      // 10 years (a multiple of 1800 s) with an empty cache, then X used 1 ms later: its full
      // passes still fall on multiples of 1800 s, so it goes at T + 88200 s, not T + 86401 s.
      const T = 3650 * DAY;
      const a = lblc();
      a.f.add('A', 1).add('B', 1);
      assert.equal(to(a.f, X, T + 1), 'B');
      a.f.conns('B', 1, 0);
      assert.equal(to(a.f, X, T + 88_200_000 - 1), 'B'); // the pass at T + 86400 s kept it
      const b = lblc();
      b.f.add('A', 1).add('B', 1);
      assert.equal(to(b.f, X, T + 1), 'B');
      b.f.conns('B', 1, 0);
      assert.equal(to(b.f, X, T + 88_200_000), 'A');
    });
  });

  describe('the over-size pass', () => {
    // Keys 10.0.0.1 .. 10.0.0.9 and their buckets hash_32(key, 10) (top 10 bits of key * 0x61C88647):
    //   .1 -> 159, .2 -> 550, .3 -> 941, .4 -> 308, .5 -> 699, .6 -> 66, .7 -> 457, .8 -> 849, .9 -> 216
    const ip = (n: number): number => 0x0a000000 + n;

    it('drops entries idle >= 360 s from the rover on, whole buckets, until the goal', () => {
      const { f, s } = lblc({ maxSize: 4 });
      f.add('A', 1);
      for (let n = 1; n <= 7; n++) assert.equal(to(f, ip(n), 0), 'A');
      assert.equal(s.cache.entries, 7);
      // Runs at 60..300 s: 7 > 4, goal min((7-4)*4/3 = 4, 4/2 = 2) = 2, nothing idle 360 s yet:
      // every bucket is walked, the rover comes back to 0.
      s.cache.advance(359_999);
      assert.equal(s.cache.entries, 7);
      // Run at 360 s: from bucket 1: .6 (66), .1 (159) -> goal reached, rover 159.
      s.cache.advance(360_000);
      assert.deepEqual([1, 2, 3, 4, 5, 6, 7].filter((n) => s.cachedDest(ip(n)) < 0), [1, 6]);
      // Run at 420 s: 5 > 4, goal min(1*4/3 = 1, 2) = 1: from bucket 160: .4 (308). Rover 308.
      s.cache.advance(420_000);
      assert.deepEqual([1, 2, 3, 4, 5, 6, 7].filter((n) => s.cachedDest(ip(n)) < 0), [1, 4, 6]);
      // Run at 480 s: 4 <= 4, nothing dropped.
      s.cache.advance(480_000);
      assert.equal(s.cache.entries, 4);
      // .8 (849) and .9 (216) at 500 s: 6 entries. Run at 540 s: goal min(2*4/3 = 2, 2) = 2; from
      // bucket 309: .7 (457, idle 540 s), .2 (550) -> goal reached. .9 at 216 lies behind the
      // rover and is fresh anyway; .5 (699) and .3 (941) are not reached.
      assert.equal(to(f, ip(8), 500_000), 'A');
      assert.equal(to(f, ip(9), 500_000), 'A');
      s.cache.advance(540_000);
      assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 9].filter((n) => s.cachedDest(ip(n)) >= 0), [3, 5, 8, 9]);
    });

    it('delays the full pass: an over-size run does not count', () => {
      // maxSize 2, expiration 10 min, X Y Z = .1 .2 .3 cached at 0 (3 > 2). Runs 60..300 s drop
      // nothing (goal min(1*4/3, 1) = 1, nothing idle 360 s) and leave the counter at 1; the run at
      // 360 s drops .1 (bucket 159, first after rover 0); from 420 s on the counter counts again:
      // after the run at 60k s it is k - 5, so the 30th count is the run at 2160 s (not 1800 s).
      const { f, s } = lblc({ maxSize: 2, expirationMs: 600_000 });
      f.add('A', 1);
      for (let n = 1; n <= 3; n++) to(f, ip(n), 0);
      s.cache.advance(360_000);
      assert.deepEqual([1, 2, 3].map((n) => s.cachedDest(ip(n)) >= 0), [false, true, true]);
      s.cache.advance(2_160_000 - 1);
      assert.equal(s.cache.entries, 2); // idle 36 min > 10 min, but no full pass yet
      s.cache.advance(2_160_000);
      assert.equal(s.cache.entries, 0);
    });

    it('counts every replacement as one more entry, as the kernel does', () => {
      // The kernel's lblc frees a replaced entry without decrementing its entry counter. maxSize 2.
      const { f, s } = lblc({ maxSize: 2 });
      f.add('A', 1).add('B', 1); // list B A
      assert.equal(to(f, X, 0), 'B');
      f.conns('B', 2, 0); // B 2 > 1 and A 0 < 1: overloaded -> wlc -> A (replacement 1)
      assert.equal(to(f, X, 0), 'A');
      f.conns('B', 0, 0).conns('A', 2, 0); // -> B (replacement 2)
      assert.equal(to(f, X, 0), 'B');
      f.conns('A', 0, 0).conns('B', 2, 0); // -> A (replacement 3)
      assert.equal(to(f, X, 0), 'A');
      assert.equal(s.cache.entries, 1);
      assert.equal(s.cache.kernelEntries, 4);
      // The counter (4) exceeds max_size (2), so the over-size pass runs although only one entry
      // exists: X, idle since 0, is dropped by the run at 360 s (goal min(2*4/3, 1) = 1).
      s.cache.advance(359_999);
      assert.equal(s.cachedDest(X), f.id('A'));
      s.cache.advance(360_000);
      assert.equal(s.cachedDest(X), -1);
      assert.equal(s.cache.kernelEntries, 3);
      // Without replacements one entry never triggers it: X would live 24 h.
      const plain = lblc({ maxSize: 2 });
      plain.f.add('A', 1);
      to(plain.f, X, 0);
      plain.s.cache.advance(DAY - 1);
      assert.equal(plain.s.cachedDest(X), plain.f.id('A'));
    });

    it('decides without caching when every preallocated entry is taken', () => {
      const { f, s } = lblc({ capacity: 2 });
      f.add('A', 1).add('B', 1);
      assert.deepEqual([to(f, ip(1), 0), to(f, ip(2), 0), to(f, ip(3), 0)], ['B', 'B', 'B']);
      assert.equal(s.cachedDest(ip(3)), -1);
      assert.equal(s.cache.entries, 2);
    });
  });

  it('rejects bad cache options with a clear error', () => {
    assert.throws(() => lblc({ maxSize: 1 }), /maxSize must be an integer >= 2, got 1/);
    assert.throws(() => lblc({ capacity: 0 }), /capacity must be an integer >= 1, got 0/);
    assert.throws(() => lblc({ expirationMs: -1 }), /expirationMs must be a number >= 0, got -1/);
  });

  describe('randomized cross-check against a naive model', () => {
    type Config = LocalityCacheOptions & { expirationMs: number; maxSize: number; capacity: number };
    const configs: { name: string; af: 4 | 6; options: Config }[] = [
      { name: 'default sizes, 2 h expiration', af: 4, options: { expirationMs: 7_200_000, maxSize: 16384, capacity: 65536 } },
      { name: 'max_size 8, 24 entries, 24 h', af: 4, options: { expirationMs: DAY, maxSize: 8, capacity: 24 } },
      { name: 'max_size 4, 10 entries, 15 min', af: 4, options: { expirationMs: 900_000, maxSize: 4, capacity: 10 } },
      { name: 'IPv6 pairs of equal folds, default sizes, 2 h', af: 6, options: { expirationMs: 7_200_000, maxSize: 16384, capacity: 65536 } },
      { name: 'IPv6 pairs of equal folds, max_size 8, 24 entries, 24 h', af: 6, options: { expirationMs: DAY, maxSize: 8, capacity: 24 } },
    ];
    for (const { name, af, options } of configs) {
      it(`agrees on 10,000 decisions (${name})`, () => {
        const world = new LocalityWorld(0x5eed1 + options.maxSize, af);
        const s = createLblcScheduler(world.svc, options);
        const ref = new RefLblc(world.dests, world.list, {
          expiration: options.expirationMs,
          maxSize: options.maxSize,
          capacity: options.capacity,
        });
        let nones = 0;
        /** Decisions after which an address and its equal-fold partner were both cached, on different dests. */
        let pairsApart = 0;
        for (let i = 0; i < 10_000; i++) {
          const a = world.next(s);
          const want = ref.schedule(a.ref, world.now);
          const got = s.schedule({ srcKey: 0, dstKey: a.key, dstAddr: a.words, sport: 0, proto: 6, now: world.now });
          assert.equal(got, want, `decision ${i} at ${world.now} ms`);
          assert.equal(s.cache.entries, ref.cache.entries.size, `entries after decision ${i}`);
          assert.equal(s.cache.kernelEntries, ref.cache.count, `kernel count after decision ${i}`);
          assert.equal(s.cachedDest(a.key, a.words), ref.destOf(a.ref), `cached dest after decision ${i}`);
          if (a.partner >= 0) {
            const b = world.pool[a.partner];
            const other = ref.destOf(b.ref);
            assert.equal(s.cachedDest(b.key, b.words), other, `partner's cached dest after decision ${i}`);
            if (other >= 0 && ref.destOf(a.ref) >= 0 && other !== ref.destOf(a.ref)) pairsApart++;
          }
          if (want < 0) nones++;
        }
        // The walk went through every path.
        assert.ok(nones > 50, `nones ${nones}`);
        assert.ok(ref.seen.hits > 1000 && ref.seen.replaced > 100, JSON.stringify(ref.seen));
        assert.ok(ref.cache.dropped > 20, `dropped ${ref.cache.dropped}`);
        if (options.capacity < 30) assert.ok(ref.seen.uncached > 0, 'capacity never reached');
        if (af === 6) assert.ok(pairsApart > 500, `pairs cached apart ${pairsApart}`);
      });
    }
  });
});
