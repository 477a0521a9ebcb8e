/**
 * Prefix sums of the usable weights (weight > 0, no OVERLOAD; 0 for any other dest) over a
 * service's list positions, as a Fenwick tree: what twos needs for its weighted random picks in
 * O(log n) instead of walking the list.
 *
 * twos's walk subtracts each usable weight from r and picks the first usable dest at which r <= 0,
 * i.e. the first usable position whose prefix sum is >= r. For r >= 1 that is simply the first
 * position (usable or not) whose prefix sum reaches r, because the prefix only grows at usable
 * positions; for r = 0 the walk picks the first usable dest, which is the first position whose
 * prefix reaches 1 (usable weights are >= 1). So firstReaching(max(r, 1)) is the walk's pick for
 * any r in [0, total]. The walk's int arithmetic never wraps while total <= 2^31 - 2 (the
 * scheduler checks that); sums here are doubles, exact up to 2^53.
 *
 * Kept in step like DestTournament: positions touched since the last call are refreshed (an O(1)
 * compare when only connection counts moved, O(log n) when a usable weight changed), a list change
 * rebuilds in O(n) at the next call.
 */
import { DEST_OVERLOAD } from '../ipvs/dest-table';
import { ListTracker, type TouchVisitor } from './list-tracker';
import type { SchedService } from './scheduler';

export class WeightPrefixTree implements TouchVisitor {
  readonly tracker: ListTracker;
  /** Positions covered (a power of two >= list length). */
  private size = 1;
  /** Fenwick array, 1-based: fen[i] = sum of usable weights of positions (i - lowbit(i), i]. */
  private fen = new Float64Array(2);
  /** The usable weight each position contributes now. */
  private value = new Float64Array(1);
  /** Sum of the usable weights. */
  total = 0;

  constructor(private readonly svc: SchedService) {
    this.tracker = new ListTracker(svc);
  }

  /** The list changed (add/delete): the next sync() rebuilds (arrays grown now). */
  listChanged(): void {
    this.tracker.listChanged();
    this.reserve(this.svc.list.length);
  }

  /** Grows the arrays to cover n positions (contents are rebuilt, not kept). */
  private reserve(n: number): void {
    let size = 1;
    while (size < n) size *= 2;
    if (this.value.length >= size) return;
    this.fen = new Float64Array(size + 1);
    this.value = new Float64Array(size);
  }

  destChanged(id: number): void {
    if (this.tracker.needsRebuild()) return;
    const p = this.tracker.position(id);
    if (p >= 0) this.refresh(p);
  }

  /** Brings the sums up to date with the list and the DestTable. */
  sync(): void {
    const tracker = this.tracker;
    if (tracker.needsRebuild()) this.rebuild();
    else tracker.drain(this);
  }

  /** The dest id at list position p (as of the last sync). */
  idAt(p: number): number {
    return this.tracker.ids[p];
  }

  /** The first list position whose prefix sum of usable weights is >= r; needs 1 <= r <= total. */
  firstReaching(r: number): number {
    const fen = this.fen;
    let pos = 0;
    let rest = r;
    for (let step = this.size; step > 0; step >>= 1) {
      const next = pos + step;
      if (next <= this.size && fen[next] < rest) {
        pos = next;
        rest -= fen[next];
      }
    }
    return pos;
  }

  private usableWeight(p: number): number {
    const dests = this.svc.dests;
    const id = this.tracker.ids[p];
    const w = dests.weight[id];
    return w > 0 && (dests.flags[id] & DEST_OVERLOAD) === 0 ? w : 0;
  }

  /** TouchVisitor: position p's dest was touched. */
  touched(p: number): void {
    this.refresh(p);
  }

  private refresh(p: number): void {
    const v = this.usableWeight(p);
    const delta = v - this.value[p];
    if (delta === 0) return;
    this.value[p] = v;
    this.total += delta;
    const fen = this.fen;
    for (let i = p + 1; i <= this.size; i += i & -i) fen[i] += delta;
  }

  private rebuild(): void {
    const tracker = this.tracker;
    tracker.reindex();
    const n = tracker.length;
    let size = 1;
    while (size < n) size *= 2;
    this.reserve(n);
    this.size = size;
    const fen = this.fen;
    fen.fill(0, 0, size + 1);
    let total = 0;
    for (let p = 0; p < size; p++) {
      const v = p < n ? this.usableWeight(p) : 0;
      this.value[p] = v;
      total += v;
      // Linear-time build: add each node into its parent once its own sum is complete.
      const i = p + 1;
      fen[i] += v;
      const parent = i + (i & -i);
      if (parent <= size) fen[parent] += fen[i];
    }
    this.total = total;
  }
}
