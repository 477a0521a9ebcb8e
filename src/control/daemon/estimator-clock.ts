/**
 * Which clock drives the director's rate estimators (StatsBook).
 *
 * An idle director (no feed) samples on a monotonic wall clock every 2 s, as the kernel's timer
 * does. A director fed by a capture follows the capture's clock instead, so that a replay gives
 * the same rates every time, whatever the machine's speed or the replay speed: the estimators
 * read the engine's time (milliseconds since the first frame's whole second) rounded down to the
 * 2 s grid, and the feed calls sample() before the first frame (or idle clock step) at or past
 * each grid boundary. Every stats object, including real servers added mid-run, then starts and
 * samples on the same grid, as under the classic kernel's single estimation timer, and each
 * sample sees exactly the frames before its boundary.
 */
import { ESTIMATOR_PERIOD_MS } from '../rate-estimator';
import type { Engine } from '../../ipvs/engine';

/** The engine's time rounded down to the estimator grid (the StatsBook clock of a fed director). */
export function engineEstimatorClock(engine: Engine): () => number {
  return () => Math.floor(engine.now / ESTIMATOR_PERIOD_MS) * ESTIMATOR_PERIOD_MS;
}

/** The first grid boundary after `ms`. */
export function nextEstimatorBoundary(ms: number): number {
  return (Math.floor(ms / ESTIMATOR_PERIOD_MS) + 1) * ESTIMATOR_PERIOD_MS;
}
