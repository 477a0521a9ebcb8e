/**
 * Receiving in tests: run a port's poll until enough frames of interest arrived (or a deadline),
 * copying each frame out (tests may allocate; the ports do not).
 */
import type { RxBatch } from '../../src/io/port';

export interface PollablePort {
  start(onReadable: () => void): void;
  stop(): void;
  receive(): RxBatch | null;
  release(): void;
}

export interface Collected {
  frames: Uint8Array[];
  sec: number[];
  nsec: number[];
  flags: number[];
  /** Frames per receive() call that returned a batch (all frames, wanted or not). */
  batchSizes: number[];
  /** Poll callbacks that ran. */
  wakeups: number;
}

/** Copies every frame of a batch that `want` accepts into `into`. */
export function take(batch: RxBatch, want: (f: Uint8Array) => boolean, into: Collected): void {
  into.batchSizes.push(batch.count);
  for (let i = 0; i < batch.count; i++) {
    const f = batch.buf.slice(batch.off[i], batch.off[i] + batch.len[i]);
    if (!want(f)) continue;
    into.frames.push(f);
    into.sec.push(batch.sec[i]);
    into.nsec.push(batch.nsec[i]);
    into.flags.push(batch.flags[i]);
  }
}

export function emptyCollected(): Collected {
  return { frames: [], sec: [], nsec: [], flags: [], batchSizes: [], wakeups: 0 };
}

/**
 * Polls `port` until `count` wanted frames arrived (then `settleMs` more, to catch frames that
 * should not come) or `timeoutMs` passed. Resolves with what arrived; the caller asserts.
 * `onBatch` (if given) sees each batch before release, e.g. to forward it.
 */
export function collect(
  port: PollablePort,
  want: (f: Uint8Array) => boolean,
  count: number,
  timeoutMs: number,
  settleMs = 0,
  onBatch?: (batch: RxBatch) => void,
): Promise<Collected> {
  const got = emptyCollected();
  return new Promise((resolve) => {
    let done = false;
    let settle: NodeJS.Timeout | null = null;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      if (settle !== null) clearTimeout(settle);
      port.stop();
      resolve(got);
    };
    const deadline = setTimeout(finish, timeoutMs);
    port.start(() => {
      got.wakeups++;
      // Drain every ready batch per wake-up, as the director does; bounded in case of a flood.
      for (let n = 0; n < 1000; n++) {
        const batch = port.receive();
        if (batch === null) break;
        take(batch, want, got);
        if (onBatch !== undefined) onBatch(batch);
        port.release();
      }
      if (!done && settle === null && got.frames.length >= count) {
        if (settleMs === 0) finish();
        else settle = setTimeout(finish, settleMs);
      }
    });
  });
}
