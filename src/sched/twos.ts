/**
 * twos - weighted random "power of two choices" (kernel ip_vs_twos.c, Linux 6.1+). Over the
 * usable dests (weight > 0, no OVERLOAD) it draws two weighted random picks and keeps the less
 * loaded one:
 *   total = sum of usable weights + 1; r1 then r2 = randomBelow(total), i.e. each in [0, sum];
 *   walking the usable dests in list order, each weight is subtracted from r1 and r2, and the
 *   first dest at which r1 (r2) is <= 0 is choice 1 (choice 2);
 *   choice 2 wins only if weight2 * overhead1 > weight1 * overhead2, else choice 1.
 * The kernel does all of this in `int`, so sums, differences and the two products wrap at 32 bits
 * (the products as soon as weight * overhead reaches 2^31, e.g. weight 256 and 32768 active
 * connections); we reproduce that with `| 0` and Math.imul. Overhead is the classic active * 256 + inactive.
 *
 * State: the random stream. Words come from svc.random (read on every call, so the engine may
 * attach one later); without it, from this scheduler's own SeededRandom(DEFAULT_RANDOM_SEED), so a
 * replay is deterministic. And, from TWOS_TREE_FROM dests on, prefix sums of the usable weights
 * over the list (weight-prefix-tree.ts), which give both picks in O(log n) without the two walks,
 * with the same two draws. The walks serve shorter lists and a total that would wrap the kernel's
 * int (sum of usable weights above 2^31 - 2, e.g. weights near 2^31), where the prefix-sum search
 * is not the walk.
 */
import { DEST_OVERLOAD } from '../ipvs/dest-table';
import { destOverhead } from './overhead';
import type { DestChange, RandomSource, SchedService, Scheduler, SchedulerFactory } from './scheduler';
import { randomBelow, SeededRandom } from './seeded-random';
import { WeightPrefixTree } from './weight-prefix-tree';

/**
 * From this many dests on the prefix sums beat the two walks (measured like TREE_FROM in
 * dest-tournament.ts: the same cost at about 12 dests; two walks per decision, so earlier).
 */
export const TWOS_TREE_FROM = 12;

/** The largest sum of usable weights for which total = sum + 1 and the walk's r - prefix stay within int32. */
const MAX_EXACT_SUM = 0x7ffffffe;

class TwoRandomChoices implements Scheduler {
  readonly name = 'twos';
  private readonly ownRandom: RandomSource = new SeededRandom();
  private readonly sums: WeightPrefixTree;

  constructor(private readonly svc: SchedService, private readonly treeFrom: number) {
    this.sums = new WeightPrefixTree(svc);
  }

  schedule(): number {
    // A short list: walk (cheaper than keeping the sums); they rebuild once the list grows.
    if (this.svc.list.length < this.treeFrom) return this.walk();
    const sums = this.sums;
    sums.sync();
    const sum = sums.total;
    if (sum === 0) return -1; // no usable dest: the kernel returns before drawing
    if (sum > MAX_EXACT_SUM) return this.walk();
    const random = this.svc.random ?? this.ownRandom;
    const r1 = randomBelow(random, sum + 1);
    const r2 = randomBelow(random, sum + 1);
    // r in [0, sum]; r = 0 picks the first usable dest, the first whose prefix reaches 1.
    const choice1 = sums.idAt(sums.firstReaching(r1 > 0 ? r1 : 1));
    const choice2 = sums.idAt(sums.firstReaching(r2 > 0 ? r2 : 1));
    const dests = this.svc.dests;
    const weight = dests.weight;
    if (Math.imul(weight[choice2], destOverhead(dests, choice1)) > Math.imul(weight[choice1], destOverhead(dests, choice2))) {
      return choice2;
    }
    return choice1;
  }

  /** The kernel's two walks, as they are (int arithmetic wrapping included): short lists and wrapped totals. */
  private walk(): number {
    const list = this.svc.list;
    const dests = this.svc.dests;
    const { weight, flags } = dests;
    const n = list.length;

    // Pass 1: the total weight; like the kernel, remember the last usable dest (it stays choice 1
    // only if a wrapped total keeps r1 from ever reaching 0).
    let total = 0;
    let choice1 = -1;
    for (let i = 0; i < n; i++) {
      const id = list[i];
      if ((flags[id] & DEST_OVERLOAD) !== 0 || weight[id] <= 0) continue;
      total = (total + weight[id]) | 0;
      choice1 = id;
    }
    if (choice1 < 0) return -1;
    total = (total + 1) | 0;

    const random = this.svc.random ?? this.ownRandom;
    let r1 = randomBelow(random, total) | 0;
    let r2 = randomBelow(random, total) | 0;

    // Pass 2: the two weighted picks.
    let weight1 = -1;
    let overhead1 = 0;
    let choice2 = -1;
    let weight2 = -1;
    let overhead2 = 0;
    for (let i = 0; i < n; i++) {
      const id = list[i];
      const w = weight[id];
      if ((flags[id] & DEST_OVERLOAD) !== 0 || w <= 0) continue;
      r1 = (r1 - w) | 0;
      r2 = (r2 - w) | 0;
      if (r1 <= 0 && weight1 === -1) {
        choice1 = id;
        weight1 = w;
        overhead1 = destOverhead(dests, id);
      }
      if (r2 <= 0 && weight2 === -1) {
        choice2 = id;
        weight2 = w;
        overhead2 = destOverhead(dests, id);
      }
      if (weight1 !== -1 && weight2 !== -1) break;
    }

    if (choice2 >= 0 && Math.imul(weight2, overhead1) > Math.imul(weight1, overhead2)) return choice2;
    return choice1;
  }

  update(change: DestChange, destId: number): void {
    if (change === 'edit') this.sums.destChanged(destId);
    else this.sums.listChanged();
  }
}

export const twosScheduler: SchedulerFactory = (svc) => new TwoRandomChoices(svc, TWOS_TREE_FROM);

/** twos that uses its prefix sums from `treeFrom` dests on (tests: 0 = always, Infinity = never). */
export const twosSchedulerTreeFrom = (treeFrom: number): SchedulerFactory => (svc) => new TwoRandomChoices(svc, treeFrom);
