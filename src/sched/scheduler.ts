/**
 * The scheduler interface. A scheduler is created per virtual service and picks a real server
 * (dest id) for a packet that starts a new connection. It reads per-dest state from the
 * DestTable (weights, flags, connection counts) and walks the service's list in IPVS list
 * order: the most recently added dest first.
 */
import type { DestTable } from '../ipvs/dest-table';
import { readU32 } from '../wire/bytes';

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
  /** Service address family (4 or 6): decides how addresses fold into 32-bit hash keys (and that lblc/lblcr match 128-bit dstAddr). */
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
  /**
   * The whole destination address as four host-order 32-bit words (IPv6: the address's words in
   * order; IPv4: the address in word 0, words 1-3 zero), for schedulers that must tell apart
   * addresses with the same fold (lblc, lblcr compare it as the kernel's ip_vs_addr_equal does).
   * The engine fills a preallocated one for every packet (setSchedDestination). Optional so that
   * hand-built packets stay valid: without it an IPv6 service's lblc/lblcr can only match on dstKey.
   */
  dstAddr?: Uint32Array;
  /** Source port (host order), 0 when the protocol has none. */
  sport: number;
  /** Transport protocol number. */
  proto: number;
  /** Engine clock, milliseconds. */
  now: number;
}

/**
 * Fills the destination fields of `pkt` from the af-family (4 or 6) address at buf[off]: dstKey
 * (the fold) and, when the packet has one, dstAddr. Allocation-free.
 */
export function setSchedDestination(pkt: SchedPacket, buf: Uint8Array, off: number, af: number): void {
  const words = pkt.dstAddr;
  if (af !== 6) {
    const a = readU32(buf, off);
    pkt.dstKey = a;
    if (words !== undefined) {
      words[0] = a;
      words[1] = 0;
      words[2] = 0;
      words[3] = 0;
    }
    return;
  }
  const w0 = readU32(buf, off);
  const w1 = readU32(buf, off + 4);
  const w2 = readU32(buf, off + 8);
  const w3 = readU32(buf, off + 12);
  pkt.dstKey = (w0 ^ w1 ^ w2 ^ w3) >>> 0;
  if (words !== undefined) {
    words[0] = w0;
    words[1] = w1;
    words[2] = w2;
    words[3] = w3;
  }
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
