/**
 * The director's counters as ipvsadm shows them: one ZeroableStats (rate-estimator.ts) per real
 * server, per service and for the total, reading the engine's raw counters (engine.destStats;
 * a service's and the total's are sums over real servers, engine.serviceCounter / totalCounter),
 * shown relative to the last -Z and with rates estimated every 2 s.
 *
 * Stats belong to the engine's objects, as in IPVS: a real server revived from the trash into
 * the same service keeps its counters and zero point (same dest id); one re-added after its
 * service was deleted and re-created is a new dest id and starts from 0.
 */
import type { ListingRates, ListingStats } from '../listing-model';
import { ZeroableStats } from '../rate-estimator';
import type { Engine } from '../../ipvs/engine';
import { ST_CONNS, ST_INBYTES, ST_INPKTS, ST_OUTBYTES, ST_OUTPKTS } from '../../ipvs/stats';
import type { VirtualService } from '../../ipvs/virtual-service';

export interface StatsAndRates {
  stats: ListingStats;
  rates: ListingRates;
}

function counters(get: (field: number) => number): ListingStats {
  return {
    conns: get(ST_CONNS),
    inpkts: get(ST_INPKTS),
    outpkts: get(ST_OUTPKTS),
    inbytes: get(ST_INBYTES),
    outbytes: get(ST_OUTBYTES),
  };
}

export class StatsBook {
  private readonly dests: ZeroableStats[] = [];
  /** By engine service index (indexes are never reused). */
  private readonly services: ZeroableStats[] = [];
  private readonly total: ZeroableStats;

  constructor(
    private readonly engine: Engine,
    /** Milliseconds on a fixed origin (the estimator's clock). */
    private readonly clock: () => number,
  ) {
    this.total = new ZeroableStats(() => counters((f) => engine.totalCounter(f)), clock());
    this.sync();
  }

  /** Starts the stats of real servers and services the engine has gained since the last call. */
  sync(): void {
    const engine = this.engine;
    const now = this.clock();
    for (let d = this.dests.length; d < engine.dests.count; d++) {
      this.dests.push(new ZeroableStats(() => counters((f) => engine.destStats.get(d, f)), now));
    }
    for (let i = this.services.length; i < engine.services.services.length; i++) {
      this.services.push(new ZeroableStats(() => counters((f) => engine.serviceCounter(i, f)), now));
    }
  }

  /** Runs the estimator samples due by now (call every ESTIMATOR_PERIOD_MS or more often). */
  sample(): void {
    this.sync();
    const now = this.clock();
    for (const s of this.dests) s.sample(now);
    for (const s of this.services) s.sample(now);
    this.total.sample(now);
  }

  dest(d: number): StatsAndRates {
    this.sync();
    return read(this.dests[d]);
  }

  service(svc: VirtualService): StatsAndRates {
    this.sync();
    return read(this.services[svc.index]);
  }

  totals(): StatsAndRates {
    return read(this.total);
  }

  /** ipvsadm -Z: every service, the real servers in their lists (not the trash) and the total. */
  zeroAll(): void {
    for (const svc of this.engine.services.services) this.zeroService(svc);
    this.total.zero();
  }

  /** ipvsadm -Z -t|-u|-f ...: the service and the real servers in its list (not the total). */
  zeroService(svc: VirtualService): void {
    this.sync();
    this.services[svc.index].zero();
    for (const d of svc.list) this.dests[d].zero();
  }
}

function read(s: ZeroableStats): StatsAndRates {
  return { stats: s.stats(), rates: s.rates() };
}
