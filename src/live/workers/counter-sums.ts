/**
 * The master's view of its workers' counters. The master's engine reads no packets; its counters
 * are set to the sums of the workers' last reports, so listings (-L --stats / --rate, the rate
 * estimators), -Z and the metrics read them as they would a single engine's. Dest ids are the
 * same in every engine (each worker replays the master's changes in order).
 *
 * Counters never go back: when a worker ends, its last report is kept (retired) and added to
 * every later sum, and the link counters of worker k stay monotonic across its restarts. What
 * a worker counted after its last report (at most REPORT_INTERVAL_MS) is lost with it. Gauges
 * (connection counts per dest, live entries) are the live workers' only. Connection entries (for
 * -L -c) come with every CONNECTIONS_EVERY_REPORTS-th report; the last copy stands in between.
 */
import type { ListingConnection } from '../../control/listing-model';
import type { Engine } from '../../ipvs/engine';
import type { PortStats } from '../../io/port';
import { unpackConnections } from './worker-counters';
import type { EngineCounters, WorkerReport } from './worker-protocol';

export interface WorkerLinkSample {
  worker: number;
  name: string;
  io: string;
  stats: PortStats;
}

interface Retired {
  destStats: Float64Array;
  drops: Float64Array;
  framesIn: number;
  framesOut: number;
  connectionsCreated: number;
  checksumsFinished: number;
  outputDropped: number;
  /** Per worker, per link name: what ended incarnations of the worker counted. */
  links: Map<string, PortStats>[];
}

const PORT_FIELDS = ['rxFrames', 'rxDropped', 'txFrames', 'txDropped'] as const;

export class CounterSums {
  private readonly latest: (WorkerReport | null)[];
  /** Each live worker's connection entries, from its last report that carried them (packed). */
  private readonly conns: Uint32Array[];
  private readonly retired: Retired;

  constructor(private readonly engine: Engine, readonly workers: number) {
    this.latest = new Array<WorkerReport | null>(workers).fill(null);
    this.conns = Array.from({ length: workers }, () => new Uint32Array(0));
    this.retired = {
      destStats: new Float64Array(0),
      drops: new Float64Array(engine.drops.length),
      framesIn: 0,
      framesOut: 0,
      connectionsCreated: 0,
      checksumsFinished: 0,
      outputDropped: 0,
      links: Array.from({ length: workers }, () => new Map<string, PortStats>()),
    };
  }

  /** Worker k's latest report: the master's engine counters become the sums. */
  report(k: number, r: WorkerReport): void {
    this.latest[k] = r;
    if (r.connections !== null) this.conns[k] = r.connections;
    this.writeEngine();
  }

  /** Worker k ended: its last counters are kept in the sums, its gauges leave them. */
  retire(k: number): void {
    const r = this.latest[k];
    this.latest[k] = null;
    this.conns[k] = new Uint32Array(0);
    if (r !== null) {
      const t = this.retired;
      const e = r.engine;
      if (t.destStats.length < e.destStats.length) {
        const grown = new Float64Array(e.destStats.length);
        grown.set(t.destStats);
        t.destStats = grown;
      }
      for (let i = 0; i < e.destStats.length; i++) t.destStats[i] += e.destStats[i];
      for (let i = 0; i < t.drops.length && i < e.drops.length; i++) t.drops[i] += e.drops[i];
      t.framesIn += e.framesIn;
      t.framesOut += e.framesOut;
      t.connectionsCreated += e.connectionsCreated;
      t.checksumsFinished += r.feed.checksumsFinished;
      t.outputDropped += r.feed.outputDropped;
      for (const l of r.links) {
        const base = t.links[k].get(l.name) ?? { rxFrames: 0, rxDropped: 0, txFrames: 0, txDropped: 0 };
        for (const f of PORT_FIELDS) base[f] += l.stats[f];
        t.links[k].set(l.name, base);
      }
    }
    this.writeEngine();
  }

  /** Whether worker k has reported since it (re)started. */
  hasReport(k: number): boolean {
    return this.latest[k] !== null;
  }

  liveEntries(): number {
    return this.live().reduce((n, r) => n + r.engine.liveEntries, 0);
  }

  feed(): { checksumsFinished: number; outputDropped: number } {
    let checksumsFinished = this.retired.checksumsFinished;
    let outputDropped = this.retired.outputDropped;
    for (const r of this.live()) {
      checksumsFinished += r.feed.checksumsFinished;
      outputDropped += r.feed.outputDropped;
    }
    return { checksumsFinished, outputDropped };
  }

  /** Per worker and link: frames read, dropped and sent, across the worker's restarts. */
  links(): WorkerLinkSample[] {
    const out: WorkerLinkSample[] = [];
    for (let k = 0; k < this.workers; k++) {
      const names = new Map<string, WorkerLinkSample>();
      for (const [name, stats] of this.retired.links[k]) names.set(name, { worker: k, name, io: 'packet', stats: { ...stats } });
      for (const l of this.latest[k]?.links ?? []) {
        const s = names.get(l.name) ?? { worker: k, name: l.name, io: l.io, stats: { rxFrames: 0, rxDropped: 0, txFrames: 0, txDropped: 0 } };
        s.io = l.io;
        for (const f of PORT_FIELDS) s.stats[f] += l.stats[f];
        names.set(l.name, s);
      }
      out.push(...names.values());
    }
    return out;
  }

  /** The live workers' reported connection entries (each at most REPORTED_CONNECTIONS, as of its last report with them). */
  connections(): ListingConnection[] {
    return this.conns.flatMap((packed, k) => (this.latest[k] !== null ? unpackConnections(packed) : []));
  }

  private live(): WorkerReport[] {
    return this.latest.filter((r): r is WorkerReport => r !== null);
  }

  /** Sets the master's engine counters to retired + the live workers' last reports. */
  private writeEngine(): void {
    const engine = this.engine;
    const n = engine.dests.count;
    const reports = this.live().map((r) => r.engine);
    engine.destStats.ensure(n);
    const values = engine.destStats.values;
    const retired = this.retired;
    for (let i = 0; i < values.length; i++) values[i] = i < retired.destStats.length ? retired.destStats[i] : 0;
    for (const e of reports) add(values, e.destStats);
    const dests = engine.dests;
    for (let d = 0; d < n; d++) {
      dests.activeConns[d] = sumAt(reports, 'activeConns', d);
      dests.inactConns[d] = sumAt(reports, 'inactConns', d);
      dests.persistConns[d] = sumAt(reports, 'persistConns', d);
    }
    engine.drops.set(retired.drops);
    for (const e of reports) add(engine.drops, e.drops);
    engine.framesIn = retired.framesIn + reports.reduce((s, e) => s + e.framesIn, 0);
    engine.framesOut = retired.framesOut + reports.reduce((s, e) => s + e.framesOut, 0);
    engine.connectionsCreated = retired.connectionsCreated + reports.reduce((s, e) => s + e.connectionsCreated, 0);
  }
}

function add(into: Float64Array, from: Float64Array): void {
  const n = Math.min(into.length, from.length);
  for (let i = 0; i < n; i++) into[i] += from[i];
}

function sumAt(reports: readonly EngineCounters[], field: 'activeConns' | 'inactConns' | 'persistConns', d: number): number {
  let s = 0;
  for (const e of reports) if (d < e[field].length) s += e[field][d];
  return s;
}
