/**
 * The kernel's global ICMP rate limit (icmp_global_allow: net.ipv4.icmp_msgs_per_sec = 1000,
 * icmp_msgs_burst = 50), one token bucket per director: it starts full (50), gains 1000 tokens a
 * second (added only once 20 ms have passed since the last refill, counting at most one second),
 * holds at most 50, and each ICMP error the director sends takes one. The kernel takes 0, 1 or 2
 * at random (1 on average) to blur a side channel; uvs takes exactly 1 so that replays are
 * deterministic. As in the kernel, Fragmentation Needed and Packet Too Big are never limited
 * (path MTU discovery must not starve). The kernel's further per-destination limit
 * (icmp_ratelimit, inet_peer) is not modelled.
 */
export const ICMP_MSGS_PER_SEC = 1000;
export const ICMP_MSGS_BURST = 50;
/** HZ / 50: the smallest refill step, in milliseconds. */
const MIN_REFILL_MS = 20;

export class IcmpRateLimiter {
  private credit = ICMP_MSGS_BURST;
  /** Engine time (ms) of the last refill; -Infinity until the first. */
  private stamp = -Infinity;
  /** Errors not sent because the bucket was empty. */
  limited = 0;

  constructor(readonly perSecond = ICMP_MSGS_PER_SEC, readonly burst = ICMP_MSGS_BURST) {
    this.credit = burst;
  }

  /** True (and a token taken) when an error may be sent at engine time `now` (ms). */
  allow(now: number): boolean {
    const delta = Math.min(now - this.stamp, 1000);
    if (delta >= MIN_REFILL_MS) {
      const incr = Math.floor((this.perSecond * delta) / 1000);
      if (incr > 0) {
        this.stamp = now;
        this.credit = Math.min(this.credit + incr, this.burst);
      }
    }
    if (this.credit > 0) {
      this.credit--;
      return true;
    }
    this.limited++;
    return false;
  }
}
