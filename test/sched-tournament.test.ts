/**
 * The indexes that spare the dynamic schedulers their walk: the tournament tree (lc, wlc, sed, nq,
 * fo, ovf), the prefix sums (twos) and the DestTable change log they follow. Every answer is
 * checked against the kernel's walk written out here from ipvs-schedulers.md, with BigInt
 * arithmetic (the kernel's int where it has one), independently of src/sched/overhead.ts:
 *   lc   first dest (!OVERLOAD, weight != 0) of least overhead as an unsigned 32-bit int, strict <;
 *   wlc  seed = first dest with weight > 0 and !OVERLOAD; a later !OVERLOAD dest replaces the choice
 *        when load(choice) * weight(dest) > load(dest) * weight(choice), load = active * 256 +
 *        inactive as an int; sed the same with load = active + 1 as an int;
 *   nq   first !OVERLOAD dest with weight != 0 and no active connection, else sed's rule over them;
 *   fo   first !OVERLOAD dest of the highest weight > 0; ovf the same among !OVERLOAD dests with
 *        weight != 0 and active <= weight.
 * Changes reach the indexes the way the engine makes them: counts and OVERLOAD by dests.touch()
 * alone, weights by touch() plus update('edit'), list changes by update('add'/'delete').
 */
import assert from 'node:assert/strict';
import { CHANGE_LOG_SIZE, DEST_AVAILABLE, DEST_OVERLOAD, DestTable } from '../src/ipvs/dest-table';
import { DestTournament, NEEDS_WALK, TournamentRule, TREE_FROM } from '../src/sched/dest-tournament';
import { createScheduler } from '../src/sched/registry';
import type { SchedPacket, SchedService } from '../src/sched/scheduler';
import { randomBelow, SeededRandom } from '../src/sched/seeded-random';
import { twosSchedulerTreeFrom } from '../src/sched/twos';
import { WeightPrefixTree } from '../src/sched/weight-prefix-tree';

type Reference = (d: DestTable, list: readonly number[]) => number;

const int32 = (v: bigint): bigint => BigInt.asIntN(32, v);
const overloaded = (d: DestTable, id: number): boolean => (d.flags[id] & DEST_OVERLOAD) !== 0;
const overhead = (d: DestTable, id: number): bigint => int32(BigInt(d.activeConns[id]) * 256n + BigInt(d.inactConns[id]));
const activePlusOne = (d: DestTable, id: number): bigint => int32(BigInt(d.activeConns[id]) + 1n);

const refLc: Reference = (d, list) => {
  let least = -1;
  let leastOverhead = 0n;
  for (const id of list) {
    if (overloaded(d, id) || d.weight[id] === 0) continue;
    const o = BigInt.asUintN(32, overhead(d, id));
    if (least < 0 || o < leastOverhead) {
      least = id;
      leastOverhead = o;
    }
  }
  return least;
};

const refPerWeight = (load: (d: DestTable, id: number) => bigint): Reference => (d, list) => {
  let i = 0;
  while (i < list.length && (d.weight[list[i]] <= 0 || overloaded(d, list[i]))) i++;
  if (i === list.length) return -1;
  let least = list[i];
  for (i++; i < list.length; i++) {
    const id = list[i];
    if (overloaded(d, id)) continue;
    if (load(d, least) * BigInt(d.weight[id]) > load(d, id) * BigInt(d.weight[least])) least = id;
  }
  return least;
};
const refWlc = refPerWeight(overhead);
const refSed = refPerWeight(activePlusOne);

const refNq: Reference = (d, list) => {
  let least = -1;
  for (const id of list) {
    if (overloaded(d, id) || d.weight[id] === 0) continue;
    if (d.activeConns[id] === 0) return id;
    if (least < 0 || activePlusOne(d, least) * BigInt(d.weight[id]) > activePlusOne(d, id) * BigInt(d.weight[least])) least = id;
  }
  return least;
};

const refHighestWeight = (candidate: (d: DestTable, id: number) => boolean): Reference => (d, list) => {
  let best = -1;
  for (const id of list) {
    if (!candidate(d, id)) continue;
    if (best < 0 || d.weight[id] > d.weight[best]) best = id;
  }
  return best;
};
const refFo = refHighestWeight((d, id) => !overloaded(d, id) && d.weight[id] > 0);
const refOvf = refHighestWeight((d, id) => !overloaded(d, id) && d.weight[id] !== 0 && d.activeConns[id] <= d.weight[id]);

/**
 * When the tree may answer NEEDS_WALK besides a short list: some !OVERLOAD dest with a negative
 * weight (wlc, sed, nq), or with weight 0 and a negative load (wlc, sed). Outside these the
 * comparisons are a total order and the tree must answer itself.
 */
const mayDecline = (rule: TournamentRule, d: DestTable, list: readonly number[]): boolean =>
  list.some((id) => {
    if (overloaded(d, id)) return false;
    if (rule === TournamentRule.Wlc) return d.weight[id] < 0 || (d.weight[id] === 0 && overhead(d, id) < 0n);
    if (rule === TournamentRule.Sed) return d.weight[id] < 0 || (d.weight[id] === 0 && activePlusOne(d, id) < 0n);
    if (rule === TournamentRule.Nq) return d.weight[id] < 0;
    return false;
  });

const RULES: { name: string; rule: TournamentRule; ref: Reference }[] = [
  { name: 'lc', rule: TournamentRule.Lc, ref: refLc },
  { name: 'wlc', rule: TournamentRule.Wlc, ref: refWlc },
  { name: 'sed', rule: TournamentRule.Sed, ref: refSed },
  { name: 'nq', rule: TournamentRule.Nq, ref: refNq },
  { name: 'fo', rule: TournamentRule.Fo, ref: refFo },
  { name: 'ovf', rule: TournamentRule.Ovf, ref: refOvf },
];

function lcg(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return Math.floor((s / 2 ** 32) * n);
  };
}

/** A service over a (possibly shared) DestTable, changed the way the engine changes it. */
class Service {
  readonly list: number[] = [];
  readonly svc: SchedService;
  /** Called after add/delete (update('add'/'delete')) and after a weight edit (update('edit')). */
  onList: () => void = () => {};
  onEdit: (id: number) => void = () => {};

  constructor(readonly dests: DestTable) {
    this.svc = { dests, list: this.list, schedFlags: 0, af: 4 };
  }

  add(weight: number): number {
    const d = this.dests;
    const id = d.allocate();
    d.weight[id] = weight;
    d.activeConns[id] = 0;
    d.inactConns[id] = 0;
    d.flags[id] = DEST_AVAILABLE;
    d.touch(id);
    this.list.unshift(id);
    this.onList();
    return id;
  }

  deleteAt(at: number): void {
    const [id] = this.list.splice(at, 1);
    this.dests.flags[id] &= ~DEST_AVAILABLE;
    this.dests.touch(id);
    this.onList();
  }

  setWeight(id: number, weight: number): void {
    this.dests.weight[id] = weight;
    this.dests.touch(id);
    this.onEdit(id);
  }

  /** Counts and OVERLOAD: a touch, nothing else (what bind/unbind/state changes do). */
  setCounts(id: number, active: number, inactive: number, overload: boolean): void {
    const d = this.dests;
    d.activeConns[id] = active;
    d.inactConns[id] = inactive;
    d.flags[id] = overload ? d.flags[id] | DEST_OVERLOAD : d.flags[id] & ~DEST_OVERLOAD;
    d.touch(id);
  }
}

function tournamentOn(s: Service, rule: TournamentRule, treeFrom = 0): DestTournament {
  const tree = new DestTournament(s.svc, rule, treeFrom);
  s.onList = () => tree.listChanged();
  s.onEdit = (id) => tree.destChanged(id);
  return tree;
}

/** Mostly tiny (ties everywhere), sometimes large, rarely past the int wraps (2^23 active, 2^31 - 1). */
function randomCount(rand: (n: number) => number): number {
  const k = rand(100);
  if (k < 85) return rand(4);
  if (k < 95) return rand(100000);
  if (k < 99) return rand(2 ** 31);
  return 2 ** 31 - 1;
}

/** 0, small, up to 65535, up to 2^31 - 1; rarely negative (the kernel refuses those, the table can hold them). */
function randomWeight(rand: (n: number) => number): number {
  const k = rand(100);
  if (k < 15) return 0;
  if (k < 60) return 1 + rand(3);
  if (k < 85) return 1 + rand(65535);
  if (k < 98) return 1 + rand(2 ** 31 - 1);
  return -1 - rand(5);
}

/**
 * One random step on `s`: add, delete, weight edit, counts/OVERLOAD; returns false for "decide
 * now". Growing, adds are twice as likely as deletes; shrinking, the other way round.
 */
function randomStep(s: Service, rand: (n: number) => number, maxDests: number, grow = true): boolean {
  const op = rand(20);
  const n = s.list.length;
  const add = grow ? op < 2 : op === 2;
  const del = grow ? op === 2 : op < 2;
  if (add && n < maxDests) {
    s.add(randomWeight(rand));
  } else if (del && n > 0) {
    s.deleteAt(rand(n));
  } else if (op === 3 && n > 0) {
    s.setWeight(s.list[rand(n)], randomWeight(rand));
  } else if (op < 11 && n > 0) {
    s.setCounts(s.list[rand(n)], randomCount(rand), randomCount(rand), rand(6) === 0);
  } else {
    return false;
  }
  return true;
}

/** The tree's answer checked against the walk; returns true when the tree declined (NEEDS_WALK). */
function checkTree(tree: DestTournament, rule: TournamentRule, ref: Reference, s: Service, what: string): boolean {
  const got = tree.winner();
  if (got === NEEDS_WALK) {
    assert.ok(mayDecline(rule, s.dests, s.list), `${what}: NEEDS_WALK without an exotic dest`);
    return true;
  }
  assert.equal(got, ref(s.dests, s.list), `${what} (${s.list.length} dests)`);
  return false;
}

describe('dest tournament tree (lc wlc sed nq fo ovf without the walk)', () => {
  for (const { name, rule, ref } of RULES) {
    it(`${name}: 20,000 decisions after random adds, deletes, edits and touched counts agree with the walk`, () => {
      const rand = lcg(0x70 + rule);
      const s = new Service(new DestTable(4));
      const tree = tournamentOn(s, rule);
      for (let i = 0; i < 40; i++) s.add(randomWeight(rand));
      let nones = 0;
      let declined = 0;
      let shortest = Infinity;
      let longest = 0;
      for (let decisions = 0; decisions < 20000; ) {
        // Phases of 5,000 decisions: shrink (to empty and around), grow (to 90), and again.
        if (randomStep(s, rand, 90, Math.floor(decisions / 5000) % 2 === 1)) continue;
        shortest = Math.min(shortest, s.list.length);
        longest = Math.max(longest, s.list.length);
        if (checkTree(tree, rule, ref, s, `decision ${decisions}`)) declined++;
        else if (ref(s.dests, s.list) < 0) nones++;
        decisions++;
      }
      assert.ok(nones > 100, `nones = ${nones}`);
      assert.ok(shortest === 0 && longest > 64, `lists from ${shortest} to ${longest} dests`);
      if (rule === TournamentRule.Wlc || rule === TournamentRule.Sed || rule === TournamentRule.Nq) {
        assert.ok(declined > 0, `declined = ${declined}`);
        assert.ok(declined < 19000, `declined = ${declined}`);
      } else {
        assert.equal(declined, 0);
      }
    });
  }

  it('ties go to the first dest in list order, whichever rule', () => {
    for (const { name, rule, ref } of RULES) {
      const s = new Service(new DestTable(4));
      const tree = tournamentOn(s, rule);
      // 37 dests, all weight 2 with one active: every key is equal, the head wins.
      const ids: number[] = [];
      for (let i = 0; i < 37; i++) ids.push(s.add(2));
      for (const id of ids) s.setCounts(id, 1, 0, false);
      assert.equal(tree.winner(), s.list[0], `${name}: head of the list`);
      // The head and the next get worse (or leave): the third in list order wins, for every rule.
      s.setCounts(s.list[0], 2, 0, true);
      s.setWeight(s.list[1], 0);
      assert.equal(tree.winner(), s.list[2], `${name}: third`);
      assert.equal(tree.winner(), ref(s.dests, s.list), name);
      // The last dest becomes strictly better: it wins although it is last.
      const last = s.list[s.list.length - 1];
      if (rule === TournamentRule.Fo || rule === TournamentRule.Ovf) s.setWeight(last, 3);
      else s.setCounts(last, 0, 0, false);
      assert.equal(tree.winner(), last, `${name}: strictly better last dest`);
    }
  });

  it('leaves weight-0 and OVERLOAD dests out, and answers -1 when nothing is usable', () => {
    for (const { name, rule, ref } of RULES) {
      const s = new Service(new DestTable(4));
      const tree = tournamentOn(s, rule);
      const ids: number[] = [];
      for (let i = 0; i < 25; i++) ids.push(s.add(i % 2 === 0 ? 0 : 1));
      for (let i = 1; i < 25; i += 2) s.setCounts(ids[i], 0, 0, true);
      assert.equal(tree.winner(), -1, `${name}: all weight 0 or OVERLOAD`);
      assert.equal(ref(s.dests, s.list), -1, name);
      s.setCounts(ids[7], 0, 0, false); // one usable again
      assert.equal(tree.winner(), ids[7], name);
      s.setWeight(ids[7], 0);
      assert.equal(tree.winner(), -1, name);
    }
  });

  it('follows list changes: adds at the head, deletes anywhere, down to empty and back', () => {
    for (const { name, rule, ref } of RULES) {
      const rand = lcg(99 + rule);
      const s = new Service(new DestTable(4));
      const tree = tournamentOn(s, rule);
      assert.equal(tree.winner(), -1);
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 70; i++) {
          const id = s.add(1 + rand(4));
          s.setCounts(id, rand(3), rand(3), false);
          assert.equal(tree.winner(), ref(s.dests, s.list), `${name}: after add ${i}`);
        }
        while (s.list.length > 0) {
          s.deleteAt(rand(s.list.length));
          assert.equal(tree.winner(), ref(s.dests, s.list), `${name}: after a delete, ${s.list.length} left`);
        }
      }
    }
  });

  it('notices a list that grew or shrank without update() (a broken contract, caught cheaply)', () => {
    const s = new Service(new DestTable(4));
    const tree = new DestTournament(s.svc, TournamentRule.Lc, 0); // no update() hooks
    for (let i = 0; i < 30; i++) s.add(1);
    for (const id of s.list) s.setCounts(id, 1, 0, false);
    assert.equal(tree.winner(), s.list[0]);
    const idle = s.add(1); // at the head, counts 0
    assert.equal(tree.winner(), idle);
    s.deleteAt(0);
    assert.equal(tree.winner(), s.list[0]);
  });

  it('keeps two services on one DestTable apart', () => {
    const dests = new DestTable(4);
    const a = new Service(dests);
    const b = new Service(dests);
    const treeA = tournamentOn(a, TournamentRule.Wlc);
    const treeB = tournamentOn(b, TournamentRule.Lc);
    const rand = lcg(5);
    for (let i = 0; i < 30; i++) {
      a.add(1 + rand(5));
      b.add(1 + rand(5));
    }
    for (let k = 0; k < 5000; k++) {
      if (randomStep(rand(2) === 0 ? a : b, rand, 60)) continue;
      checkTree(treeA, TournamentRule.Wlc, refWlc, a, `a, step ${k}`);
      checkTree(treeB, TournamentRule.Lc, refLc, b, `b, step ${k}`);
    }
  });

  it('rebuilds when the change log overran it (a quiet service next to a busy one)', () => {
    const dests = new DestTable(4);
    const quiet = new Service(dests);
    const busy = new Service(dests);
    const tree = tournamentOn(quiet, TournamentRule.Wlc);
    for (let i = 0; i < 30; i++) quiet.add(5);
    const other = busy.add(1);
    assert.equal(tree.winner(), quiet.list[0]);
    // Make the 10th dest the least loaded per weight... then bury that touch under a full log.
    for (const id of quiet.list) quiet.setCounts(id, 3, 0, false);
    const favourite = quiet.list[9];
    quiet.setCounts(favourite, 0, 1, false);
    for (let i = 0; i < CHANGE_LOG_SIZE + 10; i++) busy.setCounts(other, i & 7, 0, false);
    assert.equal(tree.winner(), favourite);
    assert.equal(tree.winner(), refWlc(dests, quiet.list));
  });

  it('walks (NEEDS_WALK) below its threshold, and the schedulers agree across it both ways', () => {
    const s = new Service(new DestTable(4));
    const tree = new DestTournament(s.svc, TournamentRule.Lc); // default threshold
    for (let i = 0; i < TREE_FROM - 1; i++) s.add(1);
    assert.equal(tree.winner(), NEEDS_WALK);
    s.add(1);
    assert.equal(tree.winner(), s.list[0]);

    for (const { name, ref } of RULES) {
      const rand = lcg(31);
      const t = new Service(new DestTable(4));
      const sched = createScheduler(name, t.svc);
      t.onList = () => sched.update('add', -1, -1);
      t.onEdit = (id) => sched.update('edit', id, -1);
      const pkt: SchedPacket = { srcKey: 0, dstKey: 0, sport: 0, proto: 6, now: 0 };
      let crossings = 0;
      let wasTree = false;
      for (let k = 0; k < 6000; k++) {
        // Grow to about 2 * TREE_FROM, shrink to a few, and again, with counts moving throughout.
        const growing = Math.floor(k / 1500) % 2 === 0;
        const op = rand(10);
        if (op === 0 && growing) t.add(1 + rand(3));
        else if (op === 0 && t.list.length > 2) t.deleteAt(rand(t.list.length));
        else if (op < 5 && t.list.length > 0) t.setCounts(t.list[rand(t.list.length)], rand(4), rand(4), rand(8) === 0);
        else assert.equal(sched.schedule(pkt), ref(t.dests, t.list), `${name}, step ${k}, ${t.list.length} dests`);
        const isTree = t.list.length >= TREE_FROM;
        if (isTree !== wasTree) crossings++;
        wasTree = isTree;
      }
      assert.ok(crossings >= 2, `${name}: crossings = ${crossings}`);
    }
  });
});

describe('weight prefix tree (twos without the walks)', () => {
  /** The first list position whose prefix sum of usable weights reaches r, by walking. */
  function firstReachingByWalk(d: DestTable, list: readonly number[], r: number): number {
    let sum = 0;
    for (let p = 0; p < list.length; p++) {
      const id = list[p];
      if (d.weight[id] > 0 && !overloaded(d, id)) sum += d.weight[id];
      if (sum >= r) return p;
    }
    return -1;
  }

  it('gives the total and the first position reaching any r after random changes', () => {
    const rand = lcg(7);
    const s = new Service(new DestTable(4));
    const sums = new WeightPrefixTree(s.svc);
    s.onList = () => sums.listChanged();
    s.onEdit = (id) => sums.destChanged(id);
    let checks = 0;
    for (let k = 0; k < 4000; k++) {
      if (randomStep(s, rand, 80)) continue;
      sums.sync();
      let total = 0;
      for (const id of s.list) if (s.dests.weight[id] > 0 && !overloaded(s.dests, id)) total += s.dests.weight[id];
      assert.equal(sums.total, total, `step ${k}`);
      if (total === 0) continue;
      const rs = [1, total, 1 + rand(total), 1 + rand(total)];
      for (const r of rs) {
        const p = sums.firstReaching(r);
        assert.equal(p, firstReachingByWalk(s.dests, s.list, r), `step ${k}, r ${r}`);
        assert.equal(sums.idAt(p), s.list[p]);
        checks++;
      }
    }
    assert.ok(checks > 1000, `checks = ${checks}`);
  });

  it('twos with its prefix sums picks what the kernel walks pick, on long lists', () => {
    // The reference: the kernel's two walks (ipvs-schedulers.md), in unbounded arithmetic with
    // weights small enough that the kernel's int never wraps, drawing with randomBelow.
    const theirs = new SeededRandom(11);
    const refTwos: Reference = (d, list) => {
      const usable = list.filter((id) => d.weight[id] > 0 && !overloaded(d, id));
      if (usable.length === 0) return -1;
      const total = usable.reduce((a, id) => a + d.weight[id], 0) + 1;
      let r1 = randomBelow(theirs, total);
      let r2 = randomBelow(theirs, total);
      let c1 = -1;
      let c2 = -1;
      for (const id of usable) {
        r1 -= d.weight[id];
        r2 -= d.weight[id];
        if (c1 < 0 && r1 <= 0) c1 = id;
        if (c2 < 0 && r2 <= 0) c2 = id;
      }
      const p2 = int32(BigInt(d.weight[c2]) * overhead(d, c1));
      const p1 = int32(BigInt(d.weight[c1]) * overhead(d, c2));
      return p2 > p1 ? c2 : c1;
    };
    const rand = lcg(12);
    const s = new Service(new DestTable(4));
    const mine = new SeededRandom(11);
    const sched = twosSchedulerTreeFrom(0)({ ...s.svc, random: mine });
    s.onList = () => sched.update('add', -1, -1);
    s.onEdit = (id) => sched.update('edit', id, -1);
    const pkt: SchedPacket = { srcKey: 0, dstKey: 0, sport: 0, proto: 6, now: 0 };
    for (let i = 0; i < 50; i++) s.add(1 + rand(100));
    for (let decisions = 0; decisions < 10000; ) {
      const op = rand(20);
      const n = s.list.length;
      if (op === 0 && n < 120) s.add(rand(10) === 0 ? 0 : 1 + rand(2 ** 20));
      else if (op === 1 && n > 0) s.deleteAt(rand(n));
      else if (op === 2 && n > 0) s.setWeight(s.list[rand(n)], rand(5) === 0 ? 0 : 1 + rand(1000));
      else if (op < 10 && n > 0) s.setCounts(s.list[rand(n)], rand(50), rand(50), rand(6) === 0);
      else {
        assert.equal(sched.schedule(pkt), refTwos(s.dests, s.list), `decision ${decisions}`);
        decisions++;
      }
    }
    assert.equal(mine.nextU32(), theirs.nextU32(), 'both took the same number of words');
  });
});
