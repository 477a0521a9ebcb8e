/**
 * What the replay command needs from an output capture, whichever the format. Timestamps are seconds and
 * nanoseconds within the second; a microsecond file truncates them to microseconds.
 */
export interface CaptureWriter {
  /**
   * Appends one packet: `len` bytes of `buf` from `off`. `origLen` (default `len`) is the length on the
   * wire when the packet was captured truncated. Classic pcap has a single interface and ignores ifIndex.
   */
  writePacket(ifIndex: number, buf: Uint8Array, off: number, len: number, tsSec: number, tsNsec: number, origLen?: number): void;
  /** Flushes and moves the file to its final name. */
  close(): void;
  /** Removes the partial file; the final name is never created. */
  abort(): void;
  /** Packets written so far. */
  readonly packets: number;
}

/**
 * Checks what a writer is given, so a bug upstream names the bad value instead of writing a corrupt file.
 * One combined test on the hot path (`x >>> 0 === x` holds exactly for unsigned 32-bit integers); the
 * message is built only on failure.
 */
export function checkPacketArguments(
  path: string, buf: Uint8Array, off: number, len: number, tsSec: number, tsNsec: number, origLen: number,
  maxLength: number,
): void {
  if ((off >>> 0) !== off || (len >>> 0) !== len || off + len > buf.length || len > maxLength
    || (origLen >>> 0) !== origLen || (tsSec >>> 0) !== tsSec || (tsNsec >>> 0) !== tsNsec || tsNsec >= 1e9) {
    throw new RangeError(`${path}: ${describeBadPacket(buf, off, len, tsSec, tsNsec, origLen, maxLength)}`);
  }
}

function describeBadPacket(
  buf: Uint8Array, off: number, len: number, tsSec: number, tsNsec: number, origLen: number, maxLength: number,
): string {
  if ((off >>> 0) !== off || (len >>> 0) !== len || off + len > buf.length) {
    return `packet bytes [${off}, ${off + len}) are outside the ${buf.length}-byte buffer`;
  }
  if (len > maxLength) return `packet length ${len} exceeds the ${maxLength}-byte limit`;
  if ((origLen >>> 0) !== origLen) return `original length ${origLen} is not an unsigned 32-bit integer`;
  if ((tsSec >>> 0) !== tsSec) return `timestamp seconds ${tsSec} is not an unsigned 32-bit integer`;
  return `timestamp nanoseconds ${tsNsec} is not in [0, 10^9)`;
}
