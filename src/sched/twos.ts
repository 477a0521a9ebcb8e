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
 * State: only the random stream. Words come from svc.random (read on every call, so the engine
 * may attach one later); without it, from this scheduler's own SeededRandom(DEFAULT_RANDOM_SEED),
 * so a replay is deterministic. No configuration hook.
 */
import { DEST_OVERLOAD } from '../ipvs/dest-table';
import { destOverhead } from './overhead';
import type { RandomSource, SchedService, Scheduler, SchedulerFactory } from './scheduler';
import { randomBelow, SeededRandom } from './seeded-random';

class TwoRandomChoices implements Scheduler {
  readonly name = 'twos';
  private readonly ownRandom: RandomSource = new SeededRandom();

  constructor(private readonly svc: SchedService) {}

  schedule(): number {
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

  update(): void {
    // twos keeps no per-dest state: configuration changes need no hook.
  }
}

export const twosScheduler: SchedulerFactory = (svc) => new TwoRandomChoices(svc);
