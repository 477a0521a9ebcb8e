/**
 * pcapng timestamps are 64-bit counts of units of the interface's resolution (if_tsresol: 10^-k or 2^-k
 * seconds), plus an optional whole-second offset (if_tsoffset). This turns them into (seconds, nanoseconds)
 * exactly, without BigInt per packet: for a resolution of at most 2^32 units per second (every decimal one up
 * to nanoseconds and every binary one up to 2^-32) the 64-bit count is divided by long division in 16-bit
 * digits, where every intermediate stays below 2^53. Finer resolutions (rare: picoseconds and such) fall
 * back to BigInt. Sub-nanosecond parts are truncated, as Wireshark does.
 */
export class TimestampResolution {
  /** Results of the last convert(). */
  sec = 0;
  nsec = 0;
  /** Units per second (as a double; exact up to 2^53). */
  readonly unitsPerSecond: number;
  /** True when the resolution is finer than a microsecond. */
  readonly nanosecond: boolean;

  private readonly divisor: number;
  private readonly bigDivisor: bigint;
  private readonly wide: boolean;

  /**
   * @param tsresol the if_tsresol byte: bit 7 clear = 10^-k seconds, set = 2^-k seconds, k in bits 0-6.
   * @param offsetSec if_tsoffset in seconds (0 when absent).
   */
  constructor(readonly tsresol: number, readonly offsetSec: number = 0) {
    const binary = (tsresol & 0x80) !== 0;
    const k = tsresol & 0x7f;
    this.bigDivisor = (binary ? 2n : 10n) ** BigInt(k);
    this.unitsPerSecond = Number(this.bigDivisor);
    this.nanosecond = this.bigDivisor > 1000000n;
    this.wide = this.bigDivisor > 0x100000000n;
    this.divisor = this.wide ? 0 : Number(this.bigDivisor);
  }

  /** The default resolution (microseconds) of an interface without if_tsresol. */
  static microseconds(): TimestampResolution {
    return new TimestampResolution(6);
  }

  /**
   * Converts the 64-bit timestamp at `offset` in `view` (pcapng order: the high 32-bit word first, each word
   * in the section's byte order) into `sec` and `nsec`. It reads the words itself rather than taking them as
   * arguments: a word of 2^31 or more passed to a call would be boxed, an allocation per packet.
   */
  convert(view: DataView, offset: number, littleEndian: boolean): void {
    const high = view.getUint32(offset, littleEndian);
    const low = view.getUint32(offset + 4, littleEndian);
    if (this.wide) {
      this.convertWide(high, low);
      return;
    }
    const d = this.divisor;
    const q1 = Math.floor(high / d);
    let r = high - q1 * d;
    let t = r * 65536 + (low >>> 16);
    const q2 = Math.floor(t / d);
    r = t - q2 * d;
    t = r * 65536 + (low & 0xffff);
    const q3 = Math.floor(t / d);
    r = t - q3 * d;
    this.sec = q1 * 4294967296 + q2 * 65536 + q3 + this.offsetSec;
    // r < 2^32, so r * 10^9 = (r * 5^9) * 2^9 is exact (r * 5^9 < 2^53); dividing by 10^k (k <= 9) gives an
    // integer and dividing by 2^k only moves the exponent, so both quotients are exact before the floor.
    this.nsec = Math.floor((r * 1e9) / d);
  }

  private convertWide(high: number, low: number): void {
    const units = (BigInt(high) << 32n) | BigInt(low);
    const d = this.bigDivisor;
    const rem = units % d;
    this.sec = Number(units / d) + this.offsetSec;
    this.nsec = Number((rem * 1000000000n) / d);
  }
}
