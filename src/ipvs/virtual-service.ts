/**
 * A virtual service as the data path holds it: identity, scheduling and persistence settings,
 * its destination list (dest ids, newest first) and its scheduler. Built by the control plane;
 * the data path reads it once per new connection.
 */
import type { RandomSource, Scheduler, SchedService } from '../sched/scheduler';
import { DEFAULT_RANDOM_SEED, SeededRandom } from '../sched/seeded-random';
import type { DestTable } from './dest-table';

export class VirtualService implements SchedService {
  /** IPv4 address in word 0, IPv6 in words 0..3 (big-endian words). */
  readonly addr = new Uint32Array(4);
  readonly list: number[] = [];
  scheduler!: Scheduler;
  schedulerName = 'wlc';
  schedFlags = 0;
  persistent = false;
  timeout = 0;
  netmask = 0xffffffff;
  ops = false;
  /** FULLNAT local address indexes (into the engine's LocalAddressPool), in the order added. */
  readonly laddrs: number[] = [];
  /** Round-robin cursor over laddrs: the next one to try. */
  laddrCursor = 0;
  /** Next service in the same lookup bucket. */
  bucketNext = -1;
  /**
   * Random words for twos: a stream per service, seeded from its index, so that a replay makes
   * the same random choices every time.
   */
  readonly random: RandomSource;

  constructor(
    readonly index: number,
    readonly dests: DestTable,
    readonly af: number,
    /** Transport protocol number; 0 for a fwmark service. */
    readonly proto: number,
    readonly port: number,
    readonly fwmark: number,
    /** Printable identity, e.g. "TCP 192.0.2.10:80". */
    readonly name: string,
  ) {
    this.random = new SeededRandom(DEFAULT_RANDOM_SEED + index);
  }
}
