/**
 * The scheduler interface. A scheduler is created per virtual service and picks a real server
 * (dest id) for a packet that starts a new connection. It reads per-dest state from the
 * DestTable (weights, flags, connection counts) and walks the service's list in IPVS list
 * order: the most recently added dest first.
 */
import type { DestTable } from '../ipvs/dest-table';

/** A source of random 32-bit words (twos). The engine gives a seeded one, so replays are deterministic. */
export interface RandomSource {
  /** A uniformly distributed integer in [0, 2^32). */
  nextU32(): number;
}

/** The service as a scheduler sees it. `list` is mutated only by the control plane, between batches. */
export interface SchedService {
  readonly dests: DestTable;
  /** Dest ids in list order (newest first). */
  readonly list: number[];
  /** Service scheduler flags (SCHED_FLAG_* of src/control/config). */
  readonly schedFlags: number;
  /** Service address family (4 or 6): decides how addresses fold into 32-bit hash keys. */
  readonly af: number;
  /** Random words for schedulers that draw (twos); absent: each scheduler uses its own SeededRandom with the default seed. */
  readonly random?: RandomSource;
}

/** What a scheduler may read of the packet. Filled by the engine in a reused object. */
export interface SchedPacket {
  /** Source address folded to 32 bits in host order (IPv4 as is; IPv6 XOR of its four words). */
  srcKey: number;
  /** Destination address folded the same way. */
  dstKey: number;
  /** Source port (host order), 0 when the protocol has none. */
  sport: number;
  /** Transport protocol number. */
  proto: number;
  /** Engine clock, milliseconds. */
  now: number;
}

export type DestChange = 'add' | 'delete' | 'edit';

export interface Scheduler {
  readonly name: string;
  /**
   * Returns the chosen dest id, or -1 when no dest is usable.
   * Must not allocate.
   */
  schedule(pkt: SchedPacket): number;
  /**
   * Called after the service's list or a dest's weight/thresholds changed. For 'delete',
   * `destId` is the removed dest and `oldIndex` its position in the list before removal
   * (rr moves its cursor to the predecessor); otherwise oldIndex is -1.
   */
  update(change: DestChange, destId: number, oldIndex: number): void;
}

export type SchedulerFactory = (svc: SchedService) => Scheduler;
