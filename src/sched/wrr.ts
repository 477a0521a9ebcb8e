/**
 * wrr - weighted round robin (kernel ip_vs_wrr.c). Passes over the list with a current weight cw
 * that steps down from mw by di (the gcd of the positive weights) to its last positive value;
 * in each pass every non-OVERLOAD dest with weight >= cw is picked in list order. So a dest of
 * weight k*di is picked k times per cycle, and weight 0 never (cw is always >= 1).
 *
 * The state survives configuration changes in the kernel's peculiar way: every add, delete and
 * edit sends the walk back to the head but keeps cw (clamped or realigned, see update()). As a
 * service starts empty (cw = 0) and sees its dests added one by one, the first add sets cw to 1
 * and the later ones keep it, so the first picks are a cw = 1 "warm-up" pass over the whole list.
 */
import { DEST_OVERLOAD } from '../ipvs/dest-table';
import { AT_HEAD, cursorPosition } from './list-cursor';
import type { SchedService, Scheduler, SchedulerFactory } from './scheduler';

/** No stop dest set in this call (list indexes are >= 0, AT_HEAD is -1). */
const NO_STOP = -2;

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const r = a % b;
    a = b;
    b = r;
  }
  return a;
}

class WeightedRoundRobin implements Scheduler {
  readonly name = 'wrr';
  /** Cursor `cl`: the dest where the last walk ended (AT_HEAD for the list head), and its index. */
  private cursorId = AT_HEAD;
  private cursorIndex = AT_HEAD;
  /** Current weight `cw`, maximum `mw` (largest weight - (di - 1)), step `di` (gcd). */
  private cw = 0;
  private mw = 0;
  private di = 1;

  constructor(private readonly svc: SchedService) {
    // Kernel init: cl = head, cw = mw (0 for the usual empty list).
    this.recompute();
    this.cw = this.mw;
  }

  /** di and mw from the current list, as the kernel's gcd/max walks compute them. */
  private recompute(): void {
    const list = this.svc.list;
    const weight = this.svc.dests.weight;
    let g = 0;
    let max = 0;
    for (let i = 0; i < list.length; i++) {
      const w = weight[list[i]];
      if (w > 0) g = g > 0 ? gcd(w, g) : w;
      if (w > max) max = w;
    }
    this.di = g > 0 ? g : 1;
    this.mw = max - (this.di - 1);
  }

  schedule(): number {
    if (this.mw === 0) return -1; // no positive weight: nothing changes
    const list = this.svc.list;
    const { weight, flags } = this.svc.dests;
    const n = list.length;
    const start = cursorPosition(list, this.cursorIndex, this.cursorId);
    let stop = NO_STOP;
    let lastPass = false;
    let restarted = false;
    let i = start + 1;
    for (;;) {
      for (; i < n; i++) {
        const id = list[i];
        if ((flags[id] & DEST_OVERLOAD) === 0 && weight[id] >= this.cw) {
          this.cursorId = id;
          this.cursorIndex = i;
          return id;
        }
        if (i === stop) {
          // Every dest was tried at the lowest cw: fail, leaving the cursor on the stop dest.
          this.cursorId = id;
          this.cursorIndex = i;
          return -1;
        }
      }
      // End of the list: next pass with a lower cw, from the first dest.
      i = 0;
      this.cw -= this.di;
      if (this.cw <= 0) {
        this.cw = this.mw;
        // A full pass at the lowest cw already happened: either a last pass in this call, or
        // the walk began at the head so its first pass covered every dest. Fail at the head
        // (cw stays reset to mw).
        if (lastPass || start === AT_HEAD) {
          this.cursorId = AT_HEAD;
          this.cursorIndex = AT_HEAD;
          return -1;
        }
        restarted = true;
      }
      lastPass = this.cw <= this.di;
      // The lowest pass after wrapping around: it must end at the dest we started after.
      if (lastPass && restarted && start !== AT_HEAD) stop = start;
    }
  }

  update(): void {
    // Same for add, delete and edit: back to the head; cw clamped to the new mw (or set from 0),
    // else realigned to the new step so that it lands on a pass value (k * di + 1).
    this.cursorId = AT_HEAD;
    this.cursorIndex = AT_HEAD;
    this.recompute();
    if (this.cw > this.mw || this.cw === 0) this.cw = this.mw;
    else if (this.di > 1) this.cw = Math.trunc(this.cw / this.di) * this.di + 1;
  }
}

export const wrrScheduler: SchedulerFactory = (svc) => new WeightedRoundRobin(svc);
