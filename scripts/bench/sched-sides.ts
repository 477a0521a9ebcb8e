/**
 * The two sides of a scheduler-bench cell, built from the same scenario: uvs (the registry's
 * scheduler over a DestTable, configured the way the engine and test/sched-fixture.ts do it: the
 * service starts empty, each dest is added at the head of the list and announced with
 * update('add'), quiesced dests are then edited to weight 0) and the naive peer (dest objects in an
 * array, sched-naive.ts). Each side runs the same decision loop on its own state: fill the packet,
 * decide, bind the new connection to the chosen dest (active + 1), turn the connection bound
 * `activeFor` decisions ago inactive and end the one bound `lifetime` decisions ago. The uvs side
 * notes each count it changes with dests.touch(id), as the engine's writers do. Both sides
 * fold their decisions into a running checksum, so equal checksums mean equal decisions.
 */
import { DEST_AVAILABLE, DEST_OVERLOAD, DestTable } from '../../src/ipvs/dest-table';
import { createScheduler } from '../../src/sched/registry';
import type { SchedPacket, SchedService, Scheduler } from '../../src/sched/scheduler';
import { Prng } from './prng';
import { createNaive } from './sched-naive';
import { NaiveDest, type NaiveScheduler } from './sched-naive-dest';
import { CLOCK_SHIFT, PACKETS, type SchedScenario } from './sched-scenario';
import type { SchedVariant } from './sched-variants';

/** Seed of the random words twos draws; both sides get their own generator with it. */
const RANDOM_SEED = 0x7770;
/** Start value of the decision checksum (FNV-1a offset basis). */
export const CHECKSUM_START = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;
const PACKET_MASK = PACKETS - 1;

export interface BenchSide {
  /** Decision i is at ring[i & (ring.length - 1)] until `lifetime` decisions later. */
  readonly ring: Int32Array;
}

export class UvsSide implements BenchSide {
  readonly dests: DestTable;
  readonly list: number[] = [];
  readonly svc: SchedService;
  readonly sched: Scheduler;
  readonly pkt: SchedPacket = { srcKey: 0, dstKey: 0, sport: 0, proto: 6, now: 0 };
  readonly ring: Int32Array;

  /** `factory` defaults to the registry's scheduler of the variant (the driver calibration passes its own). */
  constructor(variant: SchedVariant, sc: SchedScenario, factory?: (svc: SchedService) => Scheduler) {
    const dests = new DestTable(sc.size);
    this.dests = dests;
    this.svc = { dests, list: this.list, schedFlags: variant.schedFlags, af: 4, random: new Prng(RANDOM_SEED) };
    this.sched = factory ? factory(this.svc) : createScheduler(variant.scheduler, this.svc);
    const ids: number[] = [];
    for (const spec of sc.dests) {
      const id = dests.allocate();
      ids.push(id);
      dests.af[id] = 4;
      dests.addr[id * 4] = spec.addr;
      dests.port[id] = spec.port;
      dests.weight[id] = spec.weight;
      dests.lastWeight[id] = spec.weight;
      dests.flags[id] = DEST_AVAILABLE;
      this.list.unshift(id);
      this.sched.update('add', id, -1);
    }
    sc.dests.forEach((spec, k) => {
      if (!spec.quiesced) return;
      dests.weight[ids[k]] = 0; // an edit to 0 keeps lastWeight
      this.sched.update('edit', ids[k], -1);
    });
    sc.dests.forEach((spec, k) => {
      const id = ids[k];
      if (spec.overload) dests.flags[id] |= DEST_OVERLOAD;
      dests.activeConns[id] = spec.active;
      dests.inactConns[id] = spec.inactive;
      dests.touch(id);
    });
    this.ring = new Int32Array(sc.lifetime).fill(-1);
  }
}

export class NaiveSide implements BenchSide {
  readonly byId: NaiveDest[] = [];
  readonly list: NaiveDest[] = [];
  readonly naive: NaiveScheduler;
  readonly ring: Int32Array;

  constructor(variant: SchedVariant, sc: SchedScenario) {
    this.naive = createNaive(variant.scheduler, { list: this.list, schedFlags: variant.schedFlags, random: new Prng(RANDOM_SEED) });
    sc.dests.forEach((spec, id) => {
      const d = new NaiveDest(id, spec.addr, spec.port, spec.weight);
      this.byId.push(d);
      this.list.unshift(d);
      this.naive.changed();
    });
    sc.dests.forEach((spec, id) => {
      if (!spec.quiesced) return;
      this.byId[id].weight = 0;
      this.naive.changed();
    });
    sc.dests.forEach((spec, id) => {
      const d = this.byId[id];
      d.overload = spec.overload;
      d.active = spec.active;
      d.inactive = spec.inactive;
    });
    this.naive.prepare();
    this.ring = new Int32Array(sc.lifetime).fill(-1);
  }
}

/** Decisions first .. first+count-1 on the uvs side; returns the checksum continued from `h`. */
export function runUvs(side: UvsSide, sc: SchedScenario, first: number, count: number, h: number): number {
  const { sched, pkt, ring, dests } = side;
  const { activeConns, inactConns } = dests;
  const { src, dst, sport, proto } = sc.packets;
  const mask = ring.length - 1;
  const activeFor = sc.activeFor;
  const end = first + count;
  for (let i = first; i < end; i++) {
    const j = i & PACKET_MASK;
    pkt.srcKey = src[j];
    pkt.dstKey = dst[j];
    pkt.sport = sport[j];
    pkt.proto = proto[j];
    pkt.now = i >>> CLOCK_SHIFT;
    const id = sched.schedule(pkt);
    h = Math.imul(h ^ id, FNV_PRIME);
    const ended = ring[i & mask];
    if (ended >= 0) {
      inactConns[ended]--;
      dests.touch(ended);
    }
    const idle = ring[(i - activeFor) & mask];
    if (idle >= 0) {
      activeConns[idle]--;
      inactConns[idle]++;
      dests.touch(idle);
    }
    ring[i & mask] = id;
    if (id >= 0) {
      activeConns[id]++;
      dests.touch(id);
    }
  }
  return h;
}

/** The same loop on the naive side. */
export function runNaive(side: NaiveSide, sc: SchedScenario, first: number, count: number, h: number): number {
  const { naive, byId, ring } = side;
  const { src, dst, sport, proto } = sc.packets;
  const mask = ring.length - 1;
  const activeFor = sc.activeFor;
  const end = first + count;
  for (let i = first; i < end; i++) {
    const j = i & PACKET_MASK;
    const id = naive.decide(src[j], dst[j], sport[j], proto[j], i >>> CLOCK_SHIFT);
    h = Math.imul(h ^ id, FNV_PRIME);
    const ended = ring[i & mask];
    if (ended >= 0) byId[ended].inactive--;
    const idle = ring[(i - activeFor) & mask];
    if (idle >= 0) {
      byId[idle].active--;
      byId[idle].inactive++;
    }
    ring[i & mask] = id;
    if (id >= 0) byId[id].active++;
  }
  return h;
}
