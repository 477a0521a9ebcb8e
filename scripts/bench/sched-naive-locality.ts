/**
 * Naive peers of lblc and lblcr, written from ipvs-schedulers.md sections 14-15: the cache is a
 * Map from the folded destination address to an entry, "pick from all" is wlc's walk over the
 * whole list, and the locality-overload test walks the list too. There is no expiry timer: the
 * bench keeps its engine clock below 6 minutes (sched-scenario.ts MAX_DECISIONS), before which
 * the kernel's timer can drop no entry (idle 6 min over max_size, 24 h on the full pass), and the
 * 24 h set expiry of lblcr cannot fire either.
 */
import { NaiveDest, NaiveScheduler, NaiveService, naiveOverhead } from './sched-naive-dest';

const LBLCR_EXPIRATION_MS = 86_400_000;

/** A strictly less loaded than B per weight: overhead(A) * w(B) < overhead(B) * w(A). */
function lessLoaded(a: NaiveDest, b: NaiveDest): boolean {
  return naiveOverhead(a) * b.weight < naiveOverhead(b) * a.weight;
}

/** "Pick from all": skipping OVERLOAD dests, the first with weight > 0 seeds; strictly less loaded later ones replace. */
function pickFromAll(list: readonly NaiveDest[]): NaiveDest | null {
  let least: NaiveDest | null = null;
  for (const d of list) {
    if (d.overload) continue;
    if (least === null) {
      if (d.weight > 0) least = d;
    } else if (lessLoaded(d, least)) {
      least = d;
    }
  }
  return least;
}

/** Locality-overloaded: more active connections than weight, while some dest has 2 * active < weight. */
function localityOverloaded(d: NaiveDest, list: readonly NaiveDest[]): boolean {
  return d.active > d.weight && list.some((x) => 2 * x.active < x.weight);
}

abstract class Locality implements NaiveScheduler {
  constructor(protected readonly svc: NaiveService) {}
  changed(): void {}
  prepare(): void {}
  abstract decide(srcKey: number, dstKey: number, sport: number, proto: number, now: number): number;
}

interface LblcEntry {
  dest: NaiveDest;
  lastUse: number;
}

class NaiveLblc extends Locality {
  private readonly cache = new Map<number, LblcEntry>();

  decide(_srcKey: number, dstKey: number, _sport: number, _proto: number, now: number): number {
    const list = this.svc.list;
    const entry = this.cache.get(dstKey);
    if (entry !== undefined) {
      entry.lastUse = now;
      const d = entry.dest;
      if (d.available && d.weight > 0 && !localityOverloaded(d, list)) return d.id;
    }
    const pick = pickFromAll(list);
    if (pick === null) return -1;
    if (entry === undefined || entry.dest !== pick) this.cache.set(dstKey, { dest: pick, lastUse: now });
    return pick.id;
  }
}

interface LblcrEntry {
  /** Members, newest first. */
  set: NaiveDest[];
  lastMod: number;
  lastUse: number;
}

/** set_min: skipping OVERLOAD members, the first AVAILABLE one with weight > 0 seeds; a later AVAILABLE one replaces when strictly less loaded. */
function setMin(set: readonly NaiveDest[]): NaiveDest | null {
  let least: NaiveDest | null = null;
  for (const d of set) {
    if (d.overload) continue;
    if (least === null) {
      if (d.weight > 0 && d.available) least = d;
    } else if (lessLoaded(d, least) && d.available) {
      least = d;
    }
  }
  return least;
}

/** set_max: the first member with weight > 0 seeds; a later one with weight > 0 replaces when strictly more loaded. */
function setMax(set: readonly NaiveDest[]): NaiveDest | null {
  let most: NaiveDest | null = null;
  for (const d of set) {
    if (d.weight <= 0) continue;
    if (most === null || lessLoaded(most, d)) most = d;
  }
  return most;
}

class NaiveLblcr extends Locality {
  private readonly cache = new Map<number, LblcrEntry>();

  decide(_srcKey: number, dstKey: number, _sport: number, _proto: number, now: number): number {
    const list = this.svc.list;
    const entry = this.cache.get(dstKey);
    if (entry === undefined) {
      const pick = pickFromAll(list);
      if (pick === null) return -1;
      this.cache.set(dstKey, { set: [pick], lastMod: now, lastUse: now });
      return pick.id;
    }
    entry.lastUse = now;
    const m = setMin(entry.set);
    if (entry.set.length > 1 && now > entry.lastMod + LBLCR_EXPIRATION_MS) {
      const most = setMax(entry.set);
      if (most !== null) {
        entry.set.splice(entry.set.indexOf(most), 1);
        entry.lastMod = now;
      }
    }
    if (m !== null && !localityOverloaded(m, list)) return m.id;
    const pick = pickFromAll(list);
    if (pick === null) return -1;
    if (!entry.set.includes(pick)) {
      entry.set.unshift(pick);
      entry.lastMod = now;
    }
    return pick.id;
  }
}

/** The naive peer of lblc or lblcr, or null if `scheduler` is neither. */
export function createNaiveLocality(scheduler: string, svc: NaiveService): NaiveScheduler | null {
  if (scheduler === 'lblc') return new NaiveLblc(svc);
  if (scheduler === 'lblcr') return new NaiveLblcr(svc);
  return null;
}
