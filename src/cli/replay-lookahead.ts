/**
 * Replay's look-ahead: while the input is little-endian classic pcap, the records after the
 * current one lie right behind it in the read buffer, so the connection-table memory their lookups
 * will need can be touched (LookupWarmer) a few dozen frames before the engine gets to them: the
 * misses of those frames then overlap instead of stalling the engine one by one.
 *
 * It only reads: a record that runs past the buffer, or a length no capture has, ends the look.
 */
import type { LookupWarmer } from '../ipvs/lookup-warmer';
import { PCAP_RECORD_HEADER_LENGTH } from '../pcap/capture-format';

/** Frames touched ahead at a time (every LOOKAHEAD frames, the next LOOKAHEAD). */
export const LOOKAHEAD = 64;
const MAX_SANE_CAPLEN = 262_144;

/** Touches up to LOOKAHEAD records starting at data[pos] (a record header). */
export function warmRecordsAhead(warmer: LookupWarmer, data: Uint8Array, pos: number): void {
  const limit = data.length;
  for (let k = 0; k < LOOKAHEAD; k++) {
    const frame = pos + PCAP_RECORD_HEADER_LENGTH;
    if (frame > limit) return;
    const capLen = data[pos + 8] | (data[pos + 9] << 8) | (data[pos + 10] << 16) | (data[pos + 11] << 24);
    if (capLen < 0 || capLen > MAX_SANE_CAPLEN || frame + capLen > limit) return;
    warmer.warm(data, frame, capLen);
    pos = frame + capLen;
  }
}
