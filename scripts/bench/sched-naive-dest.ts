/**
 * The state the naive scheduler peers (sched-naive*.ts) work on: dest objects in a plain array,
 * the way the kernel keeps struct ip_vs_dest in a list, and the interface they implement.
 */

/** A real server as the naive schedulers see it (the kernel's struct ip_vs_dest, the fields they read). */
export class NaiveDest {
  weight: number;
  /** Latest non-zero weight (mh). */
  lastWeight: number;
  overload = false;
  /** In the list (no delete happens in the bench, but dh/lblc/lblcr check it). */
  available = true;
  active = 0;
  inactive = 0;

  constructor(
    /** The same id the uvs side gives this dest, so decisions compare directly. */
    readonly id: number,
    /** Folded address (IPv4: the address in host order). */
    readonly addrKey: number,
    readonly port: number,
    weight: number,
  ) {
    this.weight = weight;
    this.lastWeight = weight;
  }
}

/** active * 256 + inactive as the kernel's int. */
export function naiveOverhead(d: NaiveDest): number {
  return (d.active * 256 + d.inactive) | 0;
}

/** Usable: weight > 0 and no OVERLOAD. */
export function naiveUsable(d: NaiveDest): boolean {
  return d.weight > 0 && !d.overload;
}

/** What a naive scheduler is handed: the list (newest first) it walks, and the service flags. */
export interface NaiveService {
  readonly list: NaiveDest[];
  readonly schedFlags: number;
  /** Random words (twos), the same stream the uvs side gets. */
  readonly random: { nextU32(): number };
}

export interface NaiveScheduler {
  /** After each add (at the head of list) or edit during setup: the kernel's hooks that matter here (wrr). */
  changed(): void;
  /** After setup, before the first decision: the table schedulers build their table (see sched-naive-hash.ts). */
  prepare(): void;
  /** The chosen dest id, or -1. */
  decide(srcKey: number, dstKey: number, sport: number, proto: number, now: number): number;
}
