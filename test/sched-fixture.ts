/**
 * A hand-built service for scheduler tests. It changes the list the way the engine must (and the
 * kernel does): a new dest goes to the head of the list, then update('add') is called; delete
 * unlinks, then update('delete', id, oldIndex); edit changes the weight in place, then
 * update('edit'). The scheduler is created on the empty service, so it sees every add.
 */
import assert from 'node:assert/strict';
import { ipWord, parseIp } from '../src/control/ip-address';
import { DEST_AVAILABLE, DEST_OVERLOAD, DestTable } from '../src/ipvs/dest-table';
import { createScheduler } from '../src/sched/registry';
import type { RandomSource, SchedPacket, SchedService, Scheduler, SchedulerFactory } from '../src/sched/scheduler';

export class SchedFixture {
  readonly dests = new DestTable(4);
  readonly list: number[] = [];
  readonly svc: SchedService = { dests: this.dests, list: this.list, schedFlags: 0, af: 4 };
  readonly sched: Scheduler;
  private readonly ids = new Map<string, number>();
  private readonly names: string[] = [];
  /** The packet every pick schedules; tests set its fields (dstKey, now, ...) between picks. */
  readonly pkt: SchedPacket = { srcKey: 0, dstKey: 0, sport: 0, proto: 6, now: 0 };

  /** A scheduler name from the registry, or a factory (e.g. one binding non-default options). */
  constructor(scheduler: string | SchedulerFactory) {
    this.sched = typeof scheduler === 'string' ? createScheduler(scheduler, this.svc) : scheduler(this.svc);
  }

  id(name: string): number {
    const id = this.ids.get(name);
    if (id === undefined) throw new Error(`no dest ${name}`);
    return id;
  }

  /**
   * Adds one dest (at the head of the list, as the kernel does). Chain calls to add several.
   * `endpoint` gives its address and port (the hashing schedulers read them); default 0.0.0.0:0.
   */
  add(name: string, weight = 1, endpoint?: { addr: string; port: number }): this {
    if (this.ids.has(name)) throw new Error(`dest ${name} exists`);
    const id = this.dests.allocate();
    this.ids.set(name, id);
    this.names[id] = name;
    if (endpoint !== undefined) {
      const ip = parseIp(endpoint.addr);
      this.dests.af[id] = ip.af;
      for (let w = 0; w < 4; w++) this.dests.addr[id * 4 + w] = w * 4 < ip.bytes.length ? ipWord(ip, w) : 0;
      this.dests.port[id] = endpoint.port;
    }
    this.dests.weight[id] = weight;
    if (weight > 0) this.dests.lastWeight[id] = weight;
    this.dests.flags[id] = DEST_AVAILABLE;
    this.dests.touch(id);
    this.list.unshift(id);
    this.sched.update('add', id, -1);
    return this;
  }

  edit(name: string, weight: number): this {
    const id = this.id(name);
    this.dests.weight[id] = weight;
    if (weight > 0) this.dests.lastWeight[id] = weight;
    this.dests.touch(id);
    this.sched.update('edit', id, -1);
    return this;
  }

  del(name: string): this {
    const id = this.id(name);
    const index = this.list.indexOf(id);
    this.list.splice(index, 1);
    this.dests.flags[id] &= ~DEST_AVAILABLE;
    this.dests.touch(id);
    this.sched.update('delete', id, index);
    return this;
  }

  conns(name: string, active: number, inactive: number): this {
    const id = this.id(name);
    this.dests.activeConns[id] = active;
    this.dests.inactConns[id] = inactive;
    this.dests.touch(id); // as the engine's writers do: schedulers index the list by these notes
    return this;
  }

  overload(name: string, on = true): this {
    const id = this.id(name);
    if (on) this.dests.flags[id] |= DEST_OVERLOAD;
    else this.dests.flags[id] &= ~DEST_OVERLOAD;
    this.dests.touch(id);
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

/** A dest as the randomized cross-checks hand it to a reference: plain values, no DestTable. */
export interface ModelDest {
  readonly id: number;
  weight: number;
  active: number;
  inactive: number;
  overload: boolean;
}

export interface CrossCheckOptions {
  /** Seed of the driver's own LCG, which decides the adds, deletes, edits and counts. */
  seed: number;
  /** Decisions to compare (default 10,000). */
  decisions?: number;
  /** A weight for a new or re-weighted dest, from `rand(n)` (uniform in [0, n)). */
  weight(rand: (n: number) => number): number;
  /** An active or inactive count. */
  count(rand: (n: number) => number): number;
  /** Random words for the scheduler's service (twos). */
  random?: RandomSource;
  /**
   * Announce count and OVERLOAD changes only through dests.touch(), as the engine does, and call
   * update('edit') only when the weight changed (default: update('edit') after every change).
   */
  touchOnly?: boolean;
}

/**
 * Drives a scheduler and a reference (written from the prose, returning a dest id or -1) through
 * the same random adds (at the head), deletes, edits of weight/counts/OVERLOAD and decisions, and
 * asserts that every decision agrees. Up to 12 dests. Returns how many decisions were "none" and
 * how many edits happened, so a test can check that both paths were exercised.
 */
export function crossCheck(
  factory: SchedulerFactory,
  reference: (list: readonly ModelDest[]) => number,
  options: CrossCheckOptions,
): { nones: number; edits: number } {
  let seed = options.seed >>> 0;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return Math.floor((seed / 2 ** 32) * n);
  };
  const dests = new DestTable(4);
  const list: number[] = [];
  const svc: SchedService = { dests, list, schedFlags: 0, af: 4, random: options.random };
  const sched = factory(svc);
  const model: ModelDest[] = [];
  const pkt: SchedPacket = { srcKey: 0, dstKey: 0, sport: 0, proto: 6, now: 0 };
  const total = options.decisions ?? 10000;
  let nones = 0;
  let edits = 0;
  for (let decisions = 0; decisions < total; ) {
    const op = rand(10);
    if (op === 0 && model.length < 12) {
      const d: ModelDest = { id: dests.allocate(), weight: options.weight(rand), active: 0, inactive: 0, overload: false };
      dests.weight[d.id] = d.weight;
      dests.flags[d.id] = DEST_AVAILABLE;
      dests.touch(d.id);
      model.unshift(d);
      list.unshift(d.id);
      sched.update('add', d.id, -1);
    } else if (op === 1 && model.length > 0) {
      const at = rand(model.length);
      const [d] = model.splice(at, 1);
      list.splice(at, 1);
      dests.flags[d.id] &= ~DEST_AVAILABLE;
      dests.touch(d.id);
      sched.update('delete', d.id, at);
    } else if (op <= 5 && model.length > 0) {
      const d = model[rand(model.length)];
      const weightBefore = d.weight;
      if (rand(3) === 0) d.weight = options.weight(rand);
      d.active = options.count(rand);
      d.inactive = options.count(rand);
      d.overload = rand(5) === 0;
      dests.weight[d.id] = d.weight;
      dests.activeConns[d.id] = d.active;
      dests.inactConns[d.id] = d.inactive;
      dests.flags[d.id] = DEST_AVAILABLE | (d.overload ? DEST_OVERLOAD : 0);
      dests.touch(d.id);
      if (options.touchOnly !== true || d.weight !== weightBefore) sched.update('edit', d.id, -1);
      edits++;
    } else {
      const want = reference(model);
      assert.equal(sched.schedule(pkt), want, `decision ${decisions}`);
      if (want < 0) nones++;
      decisions++;
    }
  }
  return { nones, edits };
}

/**
 * `count` decisions as names, where each chosen dest then gets one more active connection (what
 * binding the new connection does), so a sequence shows how a load-aware scheduler spreads.
 */
export function picksBinding(f: SchedFixture, count: number): string[] {
  const out: string[] = [];
  for (let k = 0; k < count; k++) {
    const [name] = f.picks(1);
    if (name !== '-') {
      const id = f.id(name);
      f.conns(name, f.dests.activeConns[id] + 1, f.dests.inactConns[id]);
    }
    out.push(name);
  }
  return out;
}
