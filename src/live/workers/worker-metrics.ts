/**
 * The /metrics page of a multi-worker director: the same families as a single process's
 * (metrics.ts: node_ipvs_* from the master's configuration and summed counters, uvs_* from the
 * summed engine counters), with the link counters per worker (labels io, link, worker="k") and
 * two families of the pool itself: uvs_worker_up and uvs_worker_restarts_total.
 */
import type { RulesConfig } from '../../control/config';
import type { EngineMirror } from '../../control/daemon/engine-mirror';
import { engineFamilies, engineMetricsInput, ipvsFamilies, ipvsMetricsInput } from '../../control/daemon/metrics';
import type { StatsBook } from '../../control/daemon/stats-book';
import { formatExposition, type MetricFamily } from '../../control/prometheus';
import type { PortStats } from '../../io/port';
import type { CounterSums, WorkerLinkSample } from './counter-sums';

export interface WorkerPoolState {
  /** Per worker number: running (ready) or not. */
  up: readonly boolean[];
  restarts: readonly number[];
}

export function workersMetricsPage(config: Readonly<RulesConfig>, mirror: EngineMirror, stats: StatsBook, sums: CounterSums, pool: WorkerPoolState): string {
  const feed = sums.feed();
  const one = (name: string, help: string, value: number): MetricFamily => ({ name, help, type: 'counter', samples: [{ labels: {}, value }] });
  const perWorker = (name: string, help: string, type: 'counter' | 'gauge', values: readonly number[]): MetricFamily => ({
    name, help, type, samples: values.map((value, k) => ({ labels: { worker: String(k) }, value })),
  });
  return formatExposition([
    ...ipvsFamilies(ipvsMetricsInput(config, mirror, stats)),
    ...engineFamilies({ ...engineMetricsInput(mirror.engine), liveEntries: sums.liveEntries() }),
    ...workerLinkFamilies(sums.links()),
    one('uvs_checksums_finished_total', 'TCP/UDP checksums a sender left to hardware (CHECKSUM_PARTIAL) that the director computed.', feed.checksumsFinished),
    one('uvs_output_dropped_total', 'Frames the engine transmitted that no port could take.', feed.outputDropped),
    perWorker('uvs_worker_up', 'Whether the worker process runs (1) or is being restarted (0).', 'gauge', pool.up.map((u) => (u ? 1 : 0))),
    perWorker('uvs_worker_restarts_total', 'Times the worker process was restarted after it ended.', 'counter', pool.restarts),
  ]);
}

/** uvs_link_* with a worker label: each worker's socket on each link. */
export function workerLinkFamilies(links: readonly WorkerLinkSample[]): MetricFamily[] {
  const family = (name: string, help: string, pick: (s: PortStats) => number): MetricFamily => ({
    name,
    help,
    type: 'counter',
    samples: links.map((l) => ({ labels: { link: l.name, io: l.io, worker: String(l.worker) }, value: pick(l.stats) })),
  });
  return [
    family('uvs_link_received_frames_total', 'Frames a live director read from the link.', (s) => s.rxFrames),
    family('uvs_link_receive_dropped_total', 'Frames the kernel dropped before the director read them (receive ring full).', (s) => s.rxDropped),
    family('uvs_link_transmitted_frames_total', 'Frames the kernel took for transmission on the link.', (s) => s.txFrames),
    family('uvs_link_transmit_dropped_total', 'Frames the director could not transmit on the link (queue full, EAGAIN, ENOBUFS).', (s) => s.txDropped),
  ];
}
