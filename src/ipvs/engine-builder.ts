/**
 * Turns the configuration model (rules + director file) into a ready Engine: services with their
 * schedulers, dests added one at a time in the order the rules added them (so the list is newest
 * first and schedulers see the same sequence of adds as the kernel does), next hops resolved.
 */
import type { DirectorConfig, RulesConfig } from '../control/config';
import { addDest, addService } from './engine-control';
import { Engine, type EngineOptions } from './engine';
import { Router } from './router';

export { endpointText, serviceText } from './engine-control';

export interface BuiltEngine {
  engine: Engine;
  /** Printable names, by service index and by dest id. */
  serviceNames: string[];
  destNames: string[];
}

export function buildEngine(rules: RulesConfig, director: DirectorConfig, options: EngineOptions = {}): BuiltEngine {
  const engine = new Engine(new Router(director), options);
  engine.timeouts.apply(rules.timeouts);
  for (const sc of rules.services) {
    const svc = addService(engine, sc);
    // The config lists dests newest first; the kernel saw them added oldest first.
    for (let i = sc.dests.length - 1; i >= 0; i--) addDest(engine, svc, sc.dests[i]);
  }
  return {
    engine,
    serviceNames: engine.services.services.map((s) => s.name),
    destNames: engine.destNames,
  };
}
