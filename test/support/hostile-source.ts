/**
 * One hostile frame at a time, drawn from a seeded Rng for a scenario: mostly frames built from a
 * random spec aimed at the scenario and then mutated, golden frames mutated, and pure random
 * bytes (bare, or behind a valid Ethernet header with an IP EtherType). The frame is written into
 * a caller's buffer, so a long run allocates little.
 */
import { MAX_FRAME, Rng, buildFrameInto, frameLength, randomSpec } from './hostile-frames';
import { applyMutations, randomMutations } from './hostile-mutations';
import type { HostileScenario } from './hostile-scenarios';

/** Room a frame may need: the largest built frame plus what mutations add. */
export const FRAME_ROOM = MAX_FRAME + 512;

/** Kinds of frames, for the record. */
export type FrameKind = 'spec' | 'golden' | 'random' | 'random-ip';

export interface SourcedFrame {
  len: number;
  kind: FrameKind;
}

function randomBytes(rng: Rng, b: Uint8Array, off: number, n: number): void {
  for (let i = 0; i < n; i++) b[off + i] = rng.int(256);
}

/**
 * Writes the next hostile frame for s at b[off, off + FRAME_ROOM) and returns its length and kind:
 * 4% random bytes, 4% random bytes behind an IP EtherType, 17% a golden frame mutated (when the
 * scenario has goldens), the rest a random spec, mutated 0 to 3 times.
 */
export function nextHostileFrame(rng: Rng, s: HostileScenario, b: Uint8Array, off: number): SourcedFrame {
  const k = rng.int(100);
  if (k < 4) {
    const n = rng.int(160);
    randomBytes(rng, b, off, n);
    return { len: n, kind: 'random' };
  }
  if (k < 8) {
    // Random bytes behind an Ethernet header that announces IP: reaches the IP and transport checks.
    const n = 14 + rng.int(120);
    randomBytes(rng, b, off, n);
    const v6 = rng.int(3) === 0;
    b[off + 12] = v6 ? 0x86 : 0x08;
    b[off + 13] = v6 ? 0xdd : 0x00;
    if (n > 14) b[off + 14] = v6 ? 0x60 | (b[off + 14] & 15) : 0x45;
    return { len: n, kind: 'random-ip' };
  }
  if (k < 25 && s.golden.length > 0) {
    const g = s.golden[rng.int(s.golden.length)];
    b.set(g.subarray(0, Math.min(g.length, FRAME_ROOM)), off);
    const len = applyMutations(randomMutations(rng, 1), b, off, Math.min(g.length, FRAME_ROOM), FRAME_ROOM);
    return { len, kind: 'golden' };
  }
  const spec = randomSpec(rng, s.book);
  const built = frameLength(spec) <= MAX_FRAME ? buildFrameInto(spec, b, off) : 0;
  const len = applyMutations(randomMutations(rng), b, off, built, FRAME_ROOM);
  return { len, kind: 'spec' };
}
