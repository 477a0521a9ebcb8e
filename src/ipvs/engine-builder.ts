/**
 * Turns the configuration model (rules + director file) into a ready Engine: services with their
 * schedulers, dests added one at a time in the order the rules added them (so the list is newest
 * first and schedulers see the same sequence of adds as the kernel does), next hops resolved.
 */
import { ForwardMethod, type DirectorConfig, type IpAddress, type RulesConfig, type ServiceConfig } from '../control/config';
import { createScheduler } from '../sched/registry';
import { DEST_AVAILABLE } from './dest-table';
import { Engine, type EngineOptions } from './engine';
import { Router } from './router';
import { VirtualService } from './virtual-service';

const PROTO_NUMBERS = { tcp: 6, udp: 17, sctp: 132 } as const;

/** "10.0.0.11:80" or "[2001:db8::1]:80", as summaries and ipvsadm -n print them. */
export function endpointText(addr: IpAddress, port: number): string {
  return addr.af === 6 ? `[${addr.text}]:${port}` : `${addr.text}:${port}`;
}

export function serviceText(s: ServiceConfig): string {
  const k = s.key;
  if (k.kind === 'fwmark') return `FWM ${k.fwmark}${k.af === 6 ? ' IPv6' : ''}`;
  return `${k.protocol.toUpperCase()} ${endpointText(k.addr, k.port)}`;
}

function setWords(words: Uint32Array, at: number, bytes: Uint8Array): void {
  for (let i = 0; i < bytes.length; i += 4) {
    words[at + (i >> 2)] = ((bytes[i] << 24) | (bytes[i + 1] << 16) | (bytes[i + 2] << 8) | bytes[i + 3]) >>> 0;
  }
}

export interface BuiltEngine {
  engine: Engine;
  /** Printable names, by service index and by dest id. */
  serviceNames: string[];
  destNames: string[];
}

export function buildEngine(rules: RulesConfig, director: DirectorConfig, options: EngineOptions = {}): BuiltEngine {
  const router = new Router(director);
  const engine = new Engine(router, options);
  engine.timeouts.apply(rules.timeouts);
  const serviceNames: string[] = [];
  const destNames: string[] = [];
  const dests = engine.dests;
  for (const sc of rules.services) {
    const k = sc.key;
    const af = k.kind === 'fwmark' ? k.af : k.addr.af;
    const name = serviceText(sc);
    const svc = new VirtualService(engine.services.services.length, dests, af,
      k.kind === 'fwmark' ? 0 : PROTO_NUMBERS[k.protocol], k.kind === 'fwmark' ? 0 : k.port,
      k.kind === 'fwmark' ? k.fwmark : 0, name);
    if (k.kind === 'addr') setWords(svc.addr, 0, k.addr.bytes);
    svc.schedulerName = sc.scheduler;
    svc.schedFlags = sc.schedFlags;
    svc.persistent = sc.persistent;
    svc.timeout = sc.timeout;
    svc.netmask = sc.netmask;
    svc.ops = sc.ops;
    svc.scheduler = createScheduler(sc.scheduler, svc);
    engine.services.add(svc);
    serviceNames.push(name);
    for (const la of sc.laddrs) svc.laddrs.push(engine.laddrs.add(la));
    // The config lists dests newest first; the kernel saw them added oldest first.
    for (let i = sc.dests.length - 1; i >= 0; i--) {
      const dc = sc.dests[i];
      const d = dests.allocate();
      dests.weight[d] = dc.weight;
      dests.lastWeight[d] = dc.weight;
      dests.uThreshold[d] = dc.uThreshold;
      dests.lThreshold[d] = dc.lThreshold;
      dests.flags[d] = DEST_AVAILABLE;
      dests.af[d] = dc.addr.af;
      setWords(dests.addr, d * 4, dc.addr.bytes);
      dests.port[d] = dc.port;
      dests.method[d] = dc.method;
      dests.service[d] = svc.index;
      engine.destHop[d] = router.route(dc.addr.af, dc.addr.bytes, 0);
      engine.destAddrBytes[d] = dc.addr.bytes;
      if (dc.method === ForwardMethod.Masq || dc.method === ForwardMethod.FullNat) engine.replyingDests.push(d);
      destNames[d] = endpointText(dc.addr, dc.port);
      svc.list.unshift(d);
      svc.scheduler.update('add', d, -1);
    }
  }
  engine.destStats.ensure(dests.count + 1);
  if (engine.destIpId.length < dests.count) engine.destIpId = new Uint16Array(dests.capacity);
  return { engine, serviceNames, destNames };
}
