/**
 * Keeps the running Engine in step with the configuration: after rules-model.ts has applied a
 * command to the RulesConfig (so the command was accepted, with the kernel's checks), the same
 * change is made to the engine through engine-control.ts. The mirror also remembers which engine
 * service stands for which configured service.
 *
 * The kernel's `none` scheduler (a service with no scheduler bound: new connections find no real
 * server) has no file in src/sched; the mirror gives such a service a scheduler that never
 * chooses.
 */
import { type DestConfig, type DirectorConfig, type RulesConfig, type ServiceConfig } from '../config';
import { ipEquals } from '../ip-address';
import type { ConfigCommand } from '../rules-model';
import {
  addDest, addLocalAddress, addService, deleteDest, deleteService, editDest, editService, findDest,
} from '../../ipvs/engine-control';
import { Engine, type EngineOptions } from '../../ipvs/engine';
import { Router } from '../../ipvs/router';
import type { VirtualService } from '../../ipvs/virtual-service';
import { schedulerNames } from '../../sched/registry';
import type { Scheduler } from '../../sched/scheduler';

export const NO_SCHEDULER = 'none';

/** The scheduler names -A/-E accept on the director: every one of src/sched, and `none`. */
export function directorSchedulers(): string[] {
  return [...schedulerNames(), NO_SCHEDULER];
}

const neverChooses: Scheduler = {
  name: NO_SCHEDULER,
  schedule: () => -1,
  update: () => undefined,
};

export class EngineMirror {
  private readonly services = new Map<ServiceConfig, VirtualService>();

  private constructor(readonly engine: Engine) {}

  /**
   * An engine built from `config` as engine-builder.ts builds one (services in creation order,
   * real servers added oldest first, so lists and schedulers are as the kernel has them).
   */
  static build(config: RulesConfig, director: DirectorConfig, options: EngineOptions = {}): EngineMirror {
    const engine = new Engine(new Router(director), options);
    engine.timeouts.apply(config.timeouts);
    const mirror = new EngineMirror(engine);
    for (const sc of config.services) {
      const svc = mirror.addService(sc);
      for (let i = sc.dests.length - 1; i >= 0; i--) addDest(engine, svc, sc.dests[i]);
    }
    return mirror;
  }

  private addService(sc: ServiceConfig): VirtualService {
    const none = sc.scheduler === NO_SCHEDULER;
    const svc = addService(this.engine, none ? { ...sc, scheduler: 'rr' } : sc);
    if (none) {
      svc.schedulerName = NO_SCHEDULER;
      svc.scheduler = neverChooses;
    }
    this.services.set(sc, svc);
    return svc;
  }

  private editService(svc: VirtualService, sc: ServiceConfig): void {
    if (sc.scheduler !== NO_SCHEDULER) {
      editService(svc, sc);
      return;
    }
    editService(svc, { ...sc, scheduler: svc.schedulerName === NO_SCHEDULER ? 'rr' : svc.schedulerName });
    svc.schedulerName = NO_SCHEDULER;
    svc.scheduler = neverChooses;
  }

  /** The engine's service for a configured one. */
  serviceOf(sc: ServiceConfig): VirtualService {
    const svc = this.services.get(sc);
    if (svc === undefined) throw new Error('internal error: a configured service has no engine service');
    return svc;
  }

  /** The engine's dest id of a configured real server, or -1. */
  destOf(sc: ServiceConfig, d: Pick<DestConfig, 'addr' | 'port'>): number {
    return findDest(this.engine, this.serviceOf(sc), d.addr, d.port);
  }

  /**
   * Applies to the engine a command that rules-model.ts has just applied to the configuration.
   * `before` is the configuration's service list as it was before (what flush and delete
   * removed); `touched` is what applyCommand returned.
   */
  apply(cmd: ConfigCommand, before: readonly ServiceConfig[], touched: ServiceConfig | null): void {
    const engine = this.engine;
    switch (cmd.kind) {
      case 'flush':
        for (const sc of before) this.deleteService(sc);
        return;
      case 'set':
        engine.timeouts.apply(cmd.timeouts);
        return;
    }
    const sc = touched as ServiceConfig;
    switch (cmd.kind) {
      case 'add-service':
        this.addService(sc);
        return;
      case 'edit-service':
        this.editService(this.serviceOf(sc), sc);
        return;
      case 'delete-service':
        this.deleteService(sc);
        return;
      case 'add-server':
        addDest(engine, this.serviceOf(sc), cmd.dest);
        return;
      case 'edit-server': {
        const svc = this.serviceOf(sc);
        const d = findDest(engine, svc, cmd.dest.addr, cmd.dest.port);
        editDest(engine, svc, d, cmd.dest);
        return;
      }
      case 'delete-server': {
        const svc = this.serviceOf(sc);
        deleteDest(engine, svc, findDest(engine, svc, cmd.dest.addr, cmd.dest.port));
        return;
      }
      case 'add-laddr':
        addLocalAddress(engine, this.serviceOf(sc), cmd.laddr);
        return;
      case 'del-laddr': {
        const svc = this.serviceOf(sc);
        const index = engine.laddrs.addrs.findIndex((a) => ipEquals(a, cmd.laddr));
        const at = svc.laddrs.indexOf(index);
        // Connections already using the address keep it (and its ports) until they end.
        if (at >= 0) svc.laddrs.splice(at, 1);
        if (svc.laddrCursor >= svc.laddrs.length) svc.laddrCursor = 0;
        return;
      }
    }
  }

  private deleteService(sc: ServiceConfig): void {
    deleteService(this.engine, this.serviceOf(sc));
    this.services.delete(sc);
  }
}
