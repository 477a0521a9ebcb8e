/**
 * rr - round robin (kernel ip_vs_rr.c). Walks the list from the dest after the cursor to the end,
 * then from the first dest up to and including the cursor dest itself; the first usable dest
 * (weight > 0, no OVERLOAD) is chosen and becomes the cursor. Weights other than 0 are ignored.
 */
import { DEST_OVERLOAD } from '../ipvs/dest-table';
import { AT_HEAD, cursorPosition } from './list-cursor';
import type { DestChange, SchedService, Scheduler, SchedulerFactory } from './scheduler';

class RoundRobin implements Scheduler {
  readonly name = 'rr';
  /** Cursor: the dest chosen last (AT_HEAD when none), and its index in svc.list. */
  private cursorId = AT_HEAD;
  private cursorIndex = AT_HEAD;

  constructor(private readonly svc: SchedService) {}

  schedule(): number {
    const list = this.svc.list;
    const { weight, flags } = this.svc.dests;
    const n = list.length;
    // From AT_HEAD (-1) this visits 0..n-1; from a dest at c it visits c+1..n-1, 0..c, so the
    // cursor dest is the last candidate.
    let i = cursorPosition(list, this.cursorIndex, this.cursorId);
    for (let tried = 0; tried < n; tried++) {
      i = i + 1 === n ? 0 : i + 1;
      const id = list[i];
      if (weight[id] > 0 && (flags[id] & DEST_OVERLOAD) === 0) {
        this.cursorId = id;
        this.cursorIndex = i;
        return id;
      }
    }
    return -1; // nothing usable: the cursor stays where it was
  }

  update(change: DestChange, destId: number, oldIndex: number): void {
    if (this.cursorId === AT_HEAD) return;
    if (change === 'add') {
      // The kernel's cursor is a pointer and does not move; the new dest went in at the head,
      // so the cursor's index shifts by one.
      this.cursorIndex++;
    } else if (change === 'delete') {
      if (destId === this.cursorId) {
        // The kernel moves the cursor to the deleted dest's predecessor (or the head), so the
        // walk resumes at the deleted dest's successor.
        const predecessor = oldIndex - 1;
        const inList = predecessor >= 0 && predecessor < this.svc.list.length;
        this.cursorIndex = inList ? predecessor : AT_HEAD;
        this.cursorId = inList ? this.svc.list[predecessor] : AT_HEAD;
      } else if (oldIndex < this.cursorIndex) {
        this.cursorIndex--;
      }
    }
    // 'edit': rr has no hook for it.
  }
}

export const rrScheduler: SchedulerFactory = (svc) => new RoundRobin(svc);
