/**
 * The input of one scheduler-bench cell, the same for uvs and for the naive peer: the real servers
 * (in the order they are added, with weights, the quiesced and OVERLOAD ones and their starting
 * connection counts), the stream of new-connection packets, and how long a bound connection stays
 * active and then inactive. Everything comes from a seeded PRNG, so every run and machine sees the
 * same state; the seed depends only on the number of real servers, so all schedulers of one size
 * share it.
 */
import { Prng } from './prng';

/** One real server as configured: added with `weight`, then (if quiesced) edited to weight 0. */
export interface DestSpec {
  /** IPv4 address, host order (10.1.x.y). */
  addr: number;
  port: number;
  /** Weight given when added (> 0). */
  weight: number;
  /** Edited to weight 0 after all adds (draining: keeps last_weight, so mh keeps its slots). */
  quiesced: boolean;
  /** OVERLOAD flag set (a connection threshold reached), fixed for the whole run. */
  overload: boolean;
  /** Long-lived connections present from the start (they never end during the run). */
  active: number;
  inactive: number;
}

export interface PacketStream {
  /** Folded source address (client), host order, unsigned. */
  src: Uint32Array;
  /** Folded destination address, unsigned: one of DESTINATION_ADDRESSES, popular ones more often. */
  dst: Uint32Array;
  sport: Uint16Array;
  proto: Uint8Array;
}

export interface SchedScenario {
  size: number;
  /** In add order: dests[0] is added first, so it ends up last in the kernel's list. */
  dests: DestSpec[];
  packets: PacketStream;
  /**
   * Decisions between binding a connection and its end; a power of two, the length of the ring of
   * past decisions each side keeps. A connection is active for the first eighth of its life.
   */
  lifetime: number;
  activeFor: number;
}

/** Packets in the stream (a power of two); decision i uses packet i mod PACKETS. */
export const PACKETS = 1 << 16;
/** Distinct destination addresses (dh, lblc and lblcr hash or cache them). */
export const DESTINATION_ADDRESSES = 4096;
/** Engine clock: decision i happens at i >> CLOCK_SHIFT ms (1024 new connections per ms). */
export const CLOCK_SHIFT = 10;
/**
 * The naive lblc/lblcr keep no expiry timer; that is exact only while no entry can expire: the
 * kernel's timer drops entries idle 6 min (over max_size) or 24 h (full pass), so a run must stay
 * below 6 min of engine clock, i.e. below this many decisions.
 */
export const MAX_DECISIONS = 360_000 << CLOCK_SHIFT;

const WEIGHTS = [1, 2, 3, 4, 5, 8, 10, 16, 20, 32, 50, 64, 100];
const QUIESCED_SHARE = 0.05;
const OVERLOAD_SHARE = 0.03;

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** `count` distinct indexes below `n`. */
function pickDistinct(rng: Prng, n: number, count: number): Set<number> {
  const chosen = new Set<number>();
  while (chosen.size < count) chosen.add(rng.intIn(0, n - 1));
  return chosen;
}

export function buildScenario(size: number): SchedScenario {
  if (!Number.isInteger(size) || size < 2 || size > 60000) throw new Error(`scheduler bench: bad real-server count ${size}`);
  const rng = new Prng(0x5c4ed000 + size);
  const quiesced = pickDistinct(rng, size, Math.max(1, Math.round(size * QUIESCED_SHARE)));
  const overloaded = pickDistinct(rng, size, Math.max(1, Math.round(size * OVERLOAD_SHARE)));
  const dests: DestSpec[] = [];
  for (let i = 0; i < size; i++) {
    const weight = WEIGHTS[rng.intIn(0, WEIGHTS.length - 1)];
    const q = quiesced.has(i);
    // Connections in proportion to weight, below it on average (weight doubles as a connection
    // budget for ovf and the locality-overload test of lblc/lblcr); a quiesced one is draining.
    const active = Math.floor(weight * (q ? 0.25 : 1) * rng.nextFloat());
    const inactive = Math.floor(active * 3 * rng.nextFloat());
    dests.push({
      addr: (0x0a010000 + i + 1) >>> 0,
      port: i % 4 === 0 ? 8080 : 80,
      weight,
      quiesced: q,
      overload: overloaded.has(i),
      active,
      inactive,
    });
  }

  const packets: PacketStream = {
    src: new Uint32Array(PACKETS),
    dst: new Uint32Array(PACKETS),
    sport: new Uint16Array(PACKETS),
    proto: new Uint8Array(PACKETS),
  };
  for (let j = 0; j < PACKETS; j++) {
    // Clients: 70% in 10.0.0.0/8, 30% in 100.64.0.0/10.
    packets.src[j] = rng.nextFloat() < 0.7 ? 0x0a000000 + (rng.nextU32() & 0x00ffffff) : 0x64400000 + (rng.nextU32() & 0x003fffff);
    // Destinations: 198.18.0.0/20, skewed towards the low (popular) addresses.
    const u = rng.nextFloat();
    packets.dst[j] = 0xc6120000 + Math.floor(DESTINATION_ADDRESSES * u * u);
    const p = rng.nextFloat();
    const proto = p < 0.88 ? 6 : p < 0.97 ? 17 : p < 0.99 ? 132 : 1;
    packets.proto[j] = proto;
    packets.sport[j] = proto === 1 ? 0 : rng.intIn(1024, 65535);
  }

  const lifetime = nextPowerOfTwo(32 * size);
  return { size, dests, packets, lifetime, activeFor: lifetime / 8 };
}

/** One line describing the state, for the conditions block. */
export function describeScenario(): string {
  return (
    `weights from {${WEIGHTS.join(',')}}, ${QUIESCED_SHARE * 100}% quiesced (edited to 0 after the adds), ` +
    `${OVERLOAD_SHARE * 100}% OVERLOAD; starting counts active = weight x U[0,1), inactive = active x U[0,3); ` +
    `each decision binds a connection (active+1), which turns inactive after L/8 decisions and ends after L ` +
    `(L = next power of two >= 32 x real servers); ${PACKETS} packets: clients in 10/8 and 100.64/10, random ` +
    `source ports, 88% TCP 9% UDP 2% SCTP 1% ICMP, ${DESTINATION_ADDRESSES} destination addresses (skewed); ` +
    `clock ${1 << CLOCK_SHIFT} new connections per ms`
  );
}
