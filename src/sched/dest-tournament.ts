/**
 * A tournament (segment) tree over a service's list positions that gives the kernel's choice of
 * lc, wlc, sed, nq, fo and ovf in O(1) per decision plus O(log n) per dest whose state changed,
 * instead of the kernel's walk over the whole list.
 *
 * Why a tournament gives exactly the walk's answer. Each of those walks keeps a running choice:
 * the first candidate seeds it and a later candidate replaces it only when STRICTLY better under
 * the scheduler's comparison. When that comparison is "key(q) < key(p)" for a key drawn from a
 * total preorder, the walk ends on the candidate of minimal key, ties to the LOWEST list position
 * (the first in list order, i.e. the newest): by induction, after position i the choice is the
 * minimum of the candidates in [0, i] under the total order (key, position), since a later equal
 * key never replaces. A tournament computes the same minimum: a leaf holds its position; an
 * internal node holds the winner of its two children, better(l, r) = r only when key(r) < key(l)
 * strictly, else l; every position under l is lower than every position under r, so a tie goes
 * to the lower position, and the minimum of a union is the minimum of the two minimums.
 *
 * The key of a position is (rank, num / den) with den > 0: a smaller rank wins outright; within a
 * rank, num/den is compared as a rational by exact cross products (moreLoadedPerWeight, i.e.
 * num_l * den_r > num_r * den_l, the kernel's own 64-bit comparison). With den > 0 the cross
 * product test is exactly the rational order, which is total, so the argument above holds.
 * Non-candidates get rank RANK_NONE (they lose to any candidate; if the root has it, no dest is
 * usable). With den = 1, moreLoadedPerWeight takes its plain-product path, exact for any num
 * below 2^53. The rules, each checked against the scheduler's walk:
 *
 * - lc: candidates !OVERLOAD and weight != 0; replaced on a strictly smaller overhead compared as
 *   the kernel's unsigned int. Key: rank 1, num = overhead >>> 0, den = 1 (an integer below 2^32,
 *   so num * 1 is exact). Always a total order: no fallback.
 * - wlc (load = overhead) and sed (load = active + 1, as the kernel's int): the seed is the first
 *   dest with weight > 0 and no OVERLOAD; every later non-OVERLOAD dest replaces the choice when
 *   load_c * w_d > load_d * w_c. While every non-OVERLOAD dest has weight >= 0 and no weight-0 one
 *   has a negative load, the choice always has w_c > 0, and a weight-0 dest d never replaces it
 *   (the test becomes 0 > load_d * w_c, false for load_d >= 0); for w_d > 0 the test divides by
 *   w_c * w_d > 0 into load_c / w_c > load_d / w_d. So the walk is the running strict minimum of
 *   load / weight over the dests with weight > 0 and no OVERLOAD, from the first of them. Key:
 *   rank 1, num = load, den = weight. Outside that regime (a weight-0 dest whose load wrapped
 *   negative - 2^23 or more active connections for wlc, 2^31 - 1 for sed - or a negative weight,
 *   which ipvsadm refuses) the comparison is not a total order, so the tree reports NEEDS_WALK
 *   for as long as such a dest is in the list, and the scheduler walks.
 * - nq: candidates !OVERLOAD and weight != 0. The walk returns the first candidate with no active
 *   connection; else the running strict minimum of (active + 1) / weight from the first
 *   candidate, as sed. Key: idle candidates rank 0 (num 0, den 1: all equal, so the lowest
 *   position, i.e. the first idle one, wins), busy ones rank 1 with (active + 1) / weight. A
 *   negative weight (a candidate for nq) means NEEDS_WALK.
 * - fo: the choice starts at "none" with weight 0 and is replaced by a !OVERLOAD dest of strictly
 *   greater weight, so the answer is the first dest of maximal weight among !OVERLOAD with weight
 *   > 0. Key: rank 1, num = -weight, den = 1.
 * - ovf: candidates !OVERLOAD, active <= weight and weight != 0; the first seeds, a strictly greater
 *   weight replaces. Key: rank 1, num = -weight, den = 1 (a weight may be any int32: -weight is
 *   exact and num * 1 too).
 *
 * Comparing fast: each position keeps its key as one double, num / den for rank 1, -Infinity for
 * rank 0, +Infinity for RANK_NONE (so rank needs no array of its own). Rounding is monotonic (x <= y implies fl(x) <= fl(y)), so fl(y) <
 * fl(x) proves y < x and fl(y) > fl(x) proves y > x; only equal doubles fall back to the exact
 * cross products, which then decide (equal ratios keep the lower position).
 *
 * The tree keeps each position's key in typed arrays; winner() first refreshes the positions
 * whose dests were touched since the last decision (ListTracker over the DestTable's change log),
 * each in O(log n) and stopping as soon as a node's winner is unchanged and is not the refreshed
 * position, then reads the root. A list change (add/delete) rebuilds it in O(n) at the next
 * decision; so does a change log that overran the tracker. Lists shorter than TREE_FROM are walked
 * instead (cheaper there). No allocation outside rebuilds.
 */
import { DEST_OVERLOAD } from '../ipvs/dest-table';
import { ListTracker, type TouchVisitor } from './list-tracker';
import { destOverhead, moreLoadedPerWeight } from './overhead';
import type { SchedService } from './scheduler';

export const enum TournamentRule {
  Lc,
  Wlc,
  Sed,
  Nq,
  Fo,
  Ovf,
}

/**
 * winner() result: walk the list instead - the list is short (the walk is faster than keeping the
 * tree), or the state is outside the regime where the tree is exact.
 */
export const NEEDS_WALK = -2;

/**
 * Below this many dests the kernel's walk costs less than refreshing the tree for each touched
 * dest, so the schedulers walk and the tree stays idle (it rebuilds once the list grows). Measured
 * with the scheduler bench's decision loop (three touched dests per decision) on Node 20: the
 * walk and the tree cost the same at about 16 (nq, ovf) to 24 (lc) dests.
 */
export const TREE_FROM = 20;

/** Rank of a dest that cannot be chosen (and of padding leaves past the list). */
const RANK_NONE = 2;

export class DestTournament implements TouchVisitor {
  private readonly tracker: ListTracker;
  /** Leaves in the tree (a power of two >= list length). */
  private size = 1;
  /** node[k] = winning list position of node k's range; leaves at size + position. */
  private node = new Int32Array(2);
  /**
   * The key as one double: num / den for a candidate (-Infinity for nq's idle rank), +Infinity for
   * a dest that cannot be chosen. Division rounds monotonically, so a strict < or > between these
   * doubles is the same strict order between the exact ratios; only equal doubles need the exact
   * cross-product test on num and den.
   */
  private key = new Float64Array(1);
  private num = new Float64Array(1);
  private den = new Float64Array(1);
  /** 1 where the position's dest is outside the exact regime (see NEEDS_WALK). */
  private exotic = new Uint8Array(1);
  private exoticCount = 0;

  /** `treeFrom`: the list length from which the tree answers (tests pass 0 to use it always). */
  constructor(private readonly svc: SchedService, private readonly rule: TournamentRule, private readonly treeFrom = TREE_FROM) {
    this.tracker = new ListTracker(svc);
  }

  /** The list changed (add/delete): positions shift, so the next winner() rebuilds (arrays grown now). */
  listChanged(): void {
    this.tracker.listChanged();
    this.reserve(this.svc.list.length);
  }

  /** Grows the arrays to hold a tree over n positions (contents are rebuilt, not kept). */
  private reserve(n: number): void {
    let size = 1;
    while (size < n) size *= 2;
    if (this.key.length >= size) return;
    this.node = new Int32Array(2 * size);
    this.key = new Float64Array(size);
    this.num = new Float64Array(size);
    this.den = new Float64Array(size);
    this.exotic = new Uint8Array(size);
  }

  /** Dest `id` changed (an edit): refresh it now (a no-op for dests not in the list). */
  destChanged(id: number): void {
    if (this.tracker.needsRebuild()) return;
    const p = this.tracker.position(id);
    if (p >= 0) this.refresh(p);
  }

  /** The dest the scheduler's walk would choose, -1 when none is usable, or NEEDS_WALK. */
  winner(): number {
    // A short list: walk. The tree is stale then (the list changed since it was last built), so
    // it rebuilds when the list grows back.
    if (this.svc.list.length < this.treeFrom) return NEEDS_WALK;
    const tracker = this.tracker;
    if (tracker.needsRebuild()) this.rebuild();
    else tracker.drain(this);
    if (this.exoticCount > 0) return NEEDS_WALK;
    const best = this.node[1];
    return this.key[best] === Infinity ? -1 : tracker.ids[best];
  }

  private rebuild(): void {
    const tracker = this.tracker;
    tracker.reindex();
    const n = tracker.length;
    let size = 1;
    while (size < n) size *= 2;
    this.reserve(n);
    this.size = size;
    this.exoticCount = 0;
    for (let p = 0; p < size; p++) {
      this.exotic[p] = 0;
      if (p < n) {
        this.store(p);
      } else {
        this.key[p] = Infinity;
        this.num[p] = 0;
        this.den[p] = 1;
      }
      this.node[size + p] = p;
    }
    for (let k = size - 1; k >= 1; k--) this.node[k] = this.better(this.node[2 * k], this.node[2 * k + 1]);
  }

  /** TouchVisitor: position p's dest was touched. */
  touched(p: number): void {
    this.refresh(p);
  }

  /** Re-reads position p's dest; when its key changed, replays the matches on its way to the root. */
  private refresh(p: number): void {
    if (!this.store(p)) return;
    const node = this.node;
    const key = this.key;
    for (let k = (this.size + p) >> 1; k >= 1; k >>= 1) {
      const before = node[k];
      const l = node[2 * k];
      const r = node[2 * k + 1];
      const kl = key[l];
      const kr = key[r];
      const after = kr < kl ? r : kr > kl ? l : this.exactBetter(l, r);
      node[k] = after;
      // Same winner, and not p (whose key moved): every node above sees the same inputs.
      if (after === before && before !== p) return;
    }
  }

  /** better() for two positions whose keys are equal doubles: the exact cross-product test. */
  private exactBetter(l: number, r: number): number {
    return moreLoadedPerWeight(this.num[l], this.den[l], this.num[r], this.den[r]) ? r : l;
  }

  /** The winner of positions l < r: r only when its key is strictly smaller. */
  private better(l: number, r: number): number {
    const kl = this.key[l];
    const kr = this.key[r];
    if (kr < kl) return r;
    if (kr > kl) return l;
    return this.exactBetter(l, r);
  }

  /** Computes position p's key (see the rules above) and stores it; true when it changed. */
  private store(p: number): boolean {
    const dests = this.svc.dests;
    const id = this.tracker.ids[p];
    const w = dests.weight[id];
    const overloaded = (dests.flags[id] & DEST_OVERLOAD) !== 0;
    let rank = RANK_NONE;
    let num = 0;
    let den = 1;
    let exotic = 0;
    switch (this.rule) {
      case TournamentRule.Lc:
        if (!overloaded && w !== 0) {
          rank = 1;
          num = destOverhead(dests, id) >>> 0;
        }
        break;
      case TournamentRule.Wlc:
      case TournamentRule.Sed: {
        if (overloaded) break;
        const load = this.rule === TournamentRule.Wlc ? destOverhead(dests, id) : (dests.activeConns[id] + 1) | 0;
        if (w > 0) {
          rank = 1;
          num = load;
          den = w;
        } else if (w < 0 || load < 0) {
          exotic = 1;
        }
        break;
      }
      case TournamentRule.Nq:
        if (overloaded || w === 0) break;
        if (w < 0) {
          exotic = 1;
        } else if (dests.activeConns[id] === 0) {
          rank = 0;
        } else {
          rank = 1;
          num = (dests.activeConns[id] + 1) | 0;
          den = w;
        }
        break;
      case TournamentRule.Fo:
        if (!overloaded && w > 0) {
          rank = 1;
          num = -w;
        }
        break;
      case TournamentRule.Ovf:
        if (!overloaded && w !== 0 && dests.activeConns[id] <= w) {
          rank = 1;
          num = -w;
        }
        break;
    }
    const key = rank === 1 ? num / den : rank === 0 ? -Infinity : Infinity;
    if (key === this.key[p] && num === this.num[p] && den === this.den[p] && exotic === this.exotic[p]) return false;
    this.key[p] = key;
    this.num[p] = num;
    this.den[p] = den;
    this.exoticCount += exotic - this.exotic[p];
    this.exotic[p] = exotic;
    return true;
  }
}
