import assert from 'node:assert/strict';
import { TimestampResolution } from '../src/pcap';

// pcapng timestamps: a 64-bit count of 10^-k or 2^-k second units. TimestampResolution converts them with
// doubles only (BigInt for resolutions above 2^32 units per second); BigInt arithmetic is the reference here.

/** xorshift32: a small seeded generator so failures reproduce. */
function generator(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
}

function reference(tsresol: number, high: number, low: number, offsetSec: number): [number, number] {
  const units = (BigInt(high) << 32n) | BigInt(low);
  const perSecond = (tsresol & 0x80 ? 2n : 10n) ** BigInt(tsresol & 0x7f);
  return [Number(units / perSecond) + offsetSec, Number(((units % perSecond) * 1000000000n) / perSecond)];
}

/** Words worth trying for a resolution: extremes, around whole seconds, and random ones. */
function samples(tsresol: number, random: () => number): Array<[number, number]> {
  const perSecond = (tsresol & 0x80 ? 2n : 10n) ** BigInt(tsresol & 0x7f);
  const words: Array<[number, number]> = [[0, 0], [0, 1], [0xffffffff, 0xffffffff], [0, 0xffffffff], [1, 0]];
  for (const seconds of [1n, 1700000000n, 4294967295n]) {
    for (const delta of [-1n, 0n, 1n]) {
      const units = (seconds * perSecond + delta) & 0xffffffffffffffffn;
      words.push([Number(units >> 32n), Number(units & 0xffffffffn)]);
      const last = (seconds * perSecond + perSecond - 1n) & 0xffffffffffffffffn;
      words.push([Number(last >> 32n), Number(last & 0xffffffffn)]);
    }
  }
  for (let i = 0; i < 2000; i++) words.push([random(), random()]);
  return words;
}

describe('pcap timestamps: if_tsresol conversion', () => {
  const resolutions: number[] = [];
  for (let k = 0; k <= 12; k++) resolutions.push(k); // 10^-k: seconds .. picoseconds (10^10 and up take BigInt)
  for (let k = 0; k <= 40; k++) resolutions.push(0x80 | k); // 2^-k

  for (const tsresol of resolutions) {
    const label = tsresol & 0x80 ? `2^-${tsresol & 0x7f}` : `10^-${tsresol}`;
    it(`${label} s: exact seconds and truncated nanoseconds for the whole 64-bit range`, () => {
      const random = generator(tsresol * 7919 + 1);
      for (const offsetSec of [0, 1000, -3600]) {
        const clock = new TimestampResolution(tsresol, offsetSec);
        const words = new DataView(new ArrayBuffer(8));
        for (const [high, low] of samples(tsresol, random)) {
          const [sec, nsec] = reference(tsresol, high, low, offsetSec);
          // Beyond 2^53 seconds a double cannot hold the count; only coarse resolutions get there.
          if (!Number.isSafeInteger(sec)) continue;
          const littleEndian = (high & 1) === 0; // both byte orders, as a section may use either
          words.setUint32(0, high, littleEndian);
          words.setUint32(4, low, littleEndian);
          clock.convert(words, 0, littleEndian);
          assert.equal(clock.sec, sec, `${label} seconds of 0x${high.toString(16)}_${low.toString(16)}`);
          assert.equal(clock.nsec, nsec, `${label} nanoseconds of 0x${high.toString(16)}_${low.toString(16)}`);
        }
      }
    });
  }

  it('flags resolutions finer than a microsecond as nanosecond', () => {
    assert.equal(new TimestampResolution(6).nanosecond, false);
    assert.equal(new TimestampResolution(7).nanosecond, true);
    assert.equal(new TimestampResolution(9).nanosecond, true);
    assert.equal(new TimestampResolution(0x80 | 19).nanosecond, false); // 2^19 < 10^6
    assert.equal(new TimestampResolution(0x80 | 20).nanosecond, true);
    assert.equal(TimestampResolution.microseconds().unitsPerSecond, 1e6);
  });
});
