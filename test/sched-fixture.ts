/**
 * A hand-built service for scheduler tests. It changes the list the way the engine must (and the
 * kernel does): a new dest goes to the head of the list, then update('add') is called; delete
 * unlinks, then update('delete', id, oldIndex); edit changes the weight in place, then
 * update('edit'). The scheduler is created on the empty service, so it sees every add.
 */
import { DEST_AVAILABLE, DEST_OVERLOAD, DestTable } from '../src/ipvs/dest-table';
import { createScheduler } from '../src/sched/registry';
import type { SchedPacket, SchedService, Scheduler } from '../src/sched/scheduler';

export class SchedFixture {
  readonly dests = new DestTable(4);
  readonly list: number[] = [];
  readonly svc: SchedService = { dests: this.dests, list: this.list, schedFlags: 0, af: 4 };
  readonly sched: Scheduler;
  private readonly ids = new Map<string, number>();
  private readonly names: string[] = [];
  private readonly pkt: SchedPacket = { srcKey: 0, dstKey: 0, sport: 0, proto: 6, now: 0 };

  constructor(scheduler: string) {
    this.sched = createScheduler(scheduler, this.svc);
  }

  id(name: string): number {
    const id = this.ids.get(name);
    if (id === undefined) throw new Error(`no dest ${name}`);
    return id;
  }

  /** Adds one dest (at the head of the list, as the kernel does). Chain calls to add several. */
  add(name: string, weight = 1): this {
    if (this.ids.has(name)) throw new Error(`dest ${name} exists`);
    const id = this.dests.allocate();
    this.ids.set(name, id);
    this.names[id] = name;
    this.dests.weight[id] = weight;
    if (weight > 0) this.dests.lastWeight[id] = weight;
    this.dests.flags[id] = DEST_AVAILABLE;
    this.list.unshift(id);
    this.sched.update('add', id, -1);
    return this;
  }

  edit(name: string, weight: number): this {
    const id = this.id(name);
    this.dests.weight[id] = weight;
    if (weight > 0) this.dests.lastWeight[id] = weight;
    this.sched.update('edit', id, -1);
    return this;
  }

  del(name: string): this {
    const id = this.id(name);
    const index = this.list.indexOf(id);
    this.list.splice(index, 1);
    this.dests.flags[id] &= ~DEST_AVAILABLE;
    this.sched.update('delete', id, index);
    return this;
  }

  conns(name: string, active: number, inactive: number): this {
    const id = this.id(name);
    this.dests.activeConns[id] = active;
    this.dests.inactConns[id] = inactive;
    return this;
  }

  overload(name: string, on = true): this {
    const id = this.id(name);
    if (on) this.dests.flags[id] |= DEST_OVERLOAD;
    else this.dests.flags[id] &= ~DEST_OVERLOAD;
    return this;
  }

  /** The next `count` decisions as dest names, '-' for "none". */
  picks(count: number): string[] {
    const out: string[] = [];
    for (let k = 0; k < count; k++) {
      const id = this.sched.schedule(this.pkt);
      out.push(id < 0 ? '-' : this.names[id]);
    }
    return out;
  }

  /** The list in order, as names. */
  order(): string[] {
    return this.list.map((id) => this.names[id]);
  }
}

/** 'C B A C' -> ['C', 'B', 'A', 'C'] (expected sequences read better as strings). */
export function seq(s: string): string[] {
  return s.split(/\s+/).filter((x) => x.length > 0);
}
