/**
 * What an index over a service's list needs to stay in step with the DestTable without walking the
 * list per decision: where each dest sits in the list (id -> position and back), and which
 * positions were touched since the index last looked. The DestTable's change log (touch()) is
 * shared by every service; each tracker keeps its own read position into it and skips dests of
 * other services (they have no position here).
 *
 * The owner (a tournament or prefix tree) rebuilds whenever needsRebuild() says so: after the list
 * changed (add/delete, announced by the scheduler's update() through listChanged()), and when the
 * log overran this reader (more than CHANGE_LOG_SIZE touches since it last read, e.g. a quiet
 * service next to a busy one). Both are rare; a rebuild is O(list length).
 */
import { CHANGE_LOG_SIZE, type DestTable } from '../ipvs/dest-table';
import type { SchedService } from './scheduler';

const LOG_MASK = CHANGE_LOG_SIZE - 1;

/** The owner of a ListTracker: refreshes what it derived from the dest at a list position. */
export interface TouchVisitor {
  touched(p: number): void;
}

export class ListTracker {
  /** Dest id at each list position, as of the last reindex(). */
  ids = new Int32Array(16);
  /** List length as of the last reindex(). */
  length = 0;
  /** List position of each dest id, -1 when not in this list (indexed by id, may be shorter than the table). */
  private positionOf = new Int32Array(16).fill(-1);
  /** Change-log entries read so far. */
  private read = 0;
  private stale = true;

  constructor(private readonly svc: SchedService) {}

  /**
   * The list was changed (a dest added or deleted): positions shift, the owner must rebuild. The
   * arrays grow here, in the control plane's update(), so that the rebuild in the next decision
   * only fills them.
   */
  listChanged(): void {
    this.stale = true;
    this.reserve();
  }

  /** Grows ids and positionOf (keeping their contents) to the list's length and the table's ids. */
  private reserve(): void {
    const length = this.svc.list.length;
    const capacity = this.svc.dests.capacity;
    if (this.ids.length < length) {
      const ids = new Int32Array(Math.max(length, this.ids.length * 2));
      ids.set(this.ids);
      this.ids = ids;
    }
    if (this.positionOf.length < capacity) {
      const positionOf = new Int32Array(Math.max(capacity, this.positionOf.length * 2)).fill(-1);
      positionOf.set(this.positionOf);
      this.positionOf = positionOf;
    }
  }

  /**
   * True when the owner must rebuild from the whole list before its next answer. A length that
   * differs from the indexed one also counts (a list changed without update(): a broken contract,
   * but cheap to catch).
   */
  needsRebuild(): boolean {
    return this.stale || this.svc.list.length !== this.length || this.svc.dests.changeCount - this.read > CHANGE_LOG_SIZE;
  }

  /**
   * Re-reads the list's positions and skips the log to its end (a rebuild reads every dest's
   * current state, so older entries are covered). Called by the owner's rebuild; allocates only
   * when the list changed without listChanged() (then the arrays may be short).
   */
  reindex(): void {
    const list = this.svc.list;
    const dests = this.svc.dests;
    for (let p = 0; p < this.length; p++) this.positionOf[this.ids[p]] = -1;
    this.reserve();
    for (let p = 0; p < list.length; p++) {
      this.ids[p] = list[p];
      this.positionOf[list[p]] = p;
    }
    this.length = list.length;
    // From now on every touch is logged (the rebuild that follows reads the current state).
    dests.changeLogOn = true;
    this.read = dests.changeCount;
    this.stale = false;
  }

  /** The list position of dest `id`, or -1 when it is not in this list. */
  position(id: number): number {
    return id >= 0 && id < this.positionOf.length ? this.positionOf[id] : -1;
  }

  /**
   * Calls visit(p) for the list position p of every dest touched since the last call (in log
   * order, repeats included). Only valid while needsRebuild() is false. The loop lives here, in
   * one place, with the log and the position index in locals: it runs for every decision.
   */
  drain(visit: TouchVisitor): void {
    const dests: DestTable = this.svc.dests;
    const log = dests.changeLog;
    const end = dests.changeCount;
    const positionOf = this.positionOf;
    const known = positionOf.length;
    let read = this.read;
    while (read < end) {
      const id = log[read & LOG_MASK];
      read++;
      if (id < known) {
        const p = positionOf[id];
        if (p >= 0) visit.touched(p);
      }
    }
    this.read = read;
  }
}
