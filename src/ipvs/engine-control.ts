/**
 * Changing a running engine's configuration, the way the kernel's ip_vs_ctl.c does it, between
 * frames: services and real servers added, edited and deleted, local addresses, timeouts. Both the
 * rules loader (at start) and the control plane (uvsadm, issue 5) go through here, so a service
 * built at start and one added live behave the same.
 *
 * Kernel semantics kept:
 * - a new dest goes to the head of its service's list; the scheduler sees the add;
 * - a deleted dest leaves the list (AVAILABLE cleared) but keeps its id while connections may
 *   still reference it; re-adding the same address:port to the same service revives that id with
 *   its counters (the kernel's dest trash); what its connections do then is the sysctls' say
 *   (src/ipvs/sysctls.ts): with expire_nodest_conn = 1 they are all removed right after the delete
 *   (Linux >= 5.9's sweep), otherwise they stay until they expire;
 * - editing a dest never moves it; its OVERLOAD flag is cleared when the new upper threshold is 0
 *   or higher than before; last_weight follows non-zero weights;
 * - editing a service replaces its scheduler (a new one sees the whole list at once), its flags and
 *   persistence, as ipvsadm -E does.
 */
import { ForwardMethod, type DestConfig, type IpAddress, type ServiceConfig } from '../control/config';
import { createScheduler } from '../sched/registry';
import { CONN_F_TEMPLATE, type ConnTable } from './conn-table';
import { DEST_AVAILABLE, DEST_OVERLOAD } from './dest-table';
import type { Engine } from './engine';
import { VirtualService } from './virtual-service';
import { sameBytes } from '../wire/bytes';

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

/** Creates a service (empty list) and returns it. */
export function addService(engine: Engine, sc: ServiceConfig): VirtualService {
  const k = sc.key;
  const af = k.kind === 'fwmark' ? k.af : k.addr.af;
  const svc = new VirtualService(engine.services.services.length, engine.dests, af,
    k.kind === 'fwmark' ? 0 : PROTO_NUMBERS[k.protocol], k.kind === 'fwmark' ? 0 : k.port,
    k.kind === 'fwmark' ? k.fwmark : 0, serviceText(sc));
  if (k.kind === 'addr') setWords(svc.addr, 0, k.addr.bytes);
  applyServiceSettings(svc, sc);
  svc.scheduler = createScheduler(sc.scheduler, svc);
  engine.services.add(svc);
  for (const la of sc.laddrs) addLocalAddress(engine, svc, la);
  return svc;
}

function applyServiceSettings(svc: VirtualService, sc: ServiceConfig): void {
  svc.schedulerName = sc.scheduler;
  svc.schedFlags = sc.schedFlags;
  svc.persistent = sc.persistent;
  svc.timeout = sc.timeout;
  svc.netmask = sc.netmask;
  svc.ops = sc.ops;
}

/**
 * ipvsadm -E: scheduler, flags, persistence, netmask replaced. A different scheduler starts afresh
 * over the current list; existing connections and templates keep their real servers.
 */
export function editService(svc: VirtualService, sc: ServiceConfig): void {
  const changed = sc.scheduler !== svc.schedulerName;
  applyServiceSettings(svc, sc);
  if (changed) svc.scheduler = createScheduler(sc.scheduler, svc);
}

/** Registers a FULLNAT local address on a service. */
export function addLocalAddress(engine: Engine, svc: VirtualService, addr: IpAddress): void {
  const index = engine.laddrs.add(addr);
  if (!svc.laddrs.includes(index)) svc.laddrs.push(index);
}

/**
 * ipvsadm -D: the service stops matching packets; its dests become unavailable, as deleteDest
 * leaves them (their connections then do what the sysctls say). Its index stays reserved.
 */
export function deleteService(engine: Engine, svc: VirtualService): void {
  for (const d of [...svc.list]) unlinkDest(engine, svc, d);
  engine.services.remove(svc);
  if (engine.sysctls.expire_nodest_conn !== 0) expireNodestConnections(engine);
}

/** ipvsadm -a: adds (or revives from the trash) a dest at the head of the list. Returns its id. */
export function addDest(engine: Engine, svc: VirtualService, dc: DestConfig): number {
  const dests = engine.dests;
  let d = findTrashed(engine, svc, dc);
  if (d < 0) {
    d = dests.allocate();
    dests.activeConns[d] = 0;
    dests.inactConns[d] = 0;
    dests.persistConns[d] = 0;
    engine.destStats.ensure(dests.capacity);
    if (engine.destIpId.length < dests.capacity) {
      const ids = new Uint16Array(dests.capacity);
      ids.set(engine.destIpId);
      engine.destIpId = ids;
    }
  }
  dests.af[d] = dc.addr.af;
  setWords(dests.addr, d * 4, dc.addr.bytes);
  dests.port[d] = dc.port;
  dests.service[d] = svc.index;
  setDest(engine, d, dc, true);
  dests.flags[d] |= DEST_AVAILABLE;
  dests.touch(d);
  engine.destHop[d] = engine.router.route(dc.addr.af, dc.addr.bytes, 0);
  engine.destAddrBytes[d] = dc.addr.bytes;
  engine.destNames[d] = endpointText(dc.addr, dc.port);
  noteReplying(engine, d, dc.method);
  svc.list.unshift(d);
  svc.scheduler.update('add', d, -1);
  return d;
}

/** Keeps engine.replyingDests (NAT and FULLNAT servers, whose replies cross the director) in step. */
function noteReplying(engine: Engine, d: number, method: ForwardMethod): void {
  const replying = method === ForwardMethod.Masq || method === ForwardMethod.FullNat;
  const at = engine.replyingDests.indexOf(d);
  if (replying && at < 0) engine.replyingDests.push(d);
  if (!replying && at >= 0) engine.replyingDests.splice(at, 1);
}

/** ipvsadm -e: weight, thresholds and method replaced in place. */
export function editDest(engine: Engine, svc: VirtualService, d: number, dc: DestConfig): void {
  setDest(engine, d, dc, false);
  noteReplying(engine, d, dc.method);
  svc.scheduler.update('edit', d, -1);
}

function setDest(engine: Engine, d: number, dc: DestConfig, adding: boolean): void {
  const dests = engine.dests;
  // OVERLOAD is cleared at once when the new upper threshold is 0 or above the old one.
  if (adding || dc.uThreshold === 0 || dc.uThreshold > dests.uThreshold[d]) dests.flags[d] &= ~DEST_OVERLOAD;
  dests.weight[d] = dc.weight;
  if (dc.weight > 0) dests.lastWeight[d] = dc.weight;
  dests.uThreshold[d] = dc.uThreshold;
  dests.lThreshold[d] = dc.lThreshold;
  dests.method[d] = dc.method;
  dests.touch(d);
}

/**
 * ipvsadm -d: unlinks the dest; its id (and counters) stay for its connections and a later re-add.
 * With expire_nodest_conn = 1 its connections are removed at once (expireNodestConnections).
 */
export function deleteDest(engine: Engine, svc: VirtualService, d: number): void {
  if (unlinkDest(engine, svc, d) && engine.sysctls.expire_nodest_conn !== 0) expireNodestConnections(engine);
}

function unlinkDest(engine: Engine, svc: VirtualService, d: number): boolean {
  const index = svc.list.indexOf(d);
  if (index < 0) return false;
  svc.list.splice(index, 1);
  engine.dests.flags[d] &= ~DEST_AVAILABLE;
  engine.dests.touch(d);
  svc.scheduler.update('delete', d, index);
  return true;
}

/**
 * The sweep expire_nodest_conn = 1 runs after a delete (ip_vs_expire_nodest_conn_flush, Linux >=
 * 5.9): every connection bound to a deleted dest is removed, its counters undone as on expiry,
 * then every persistence template of a deleted dest that controls nothing any more (the kernel
 * removes a template with the last connection it controlled). Returns the entries removed.
 */
export function expireNodestConnections(engine: Engine): number {
  return sweepGone(engine, engine.conns4) + sweepGone(engine, engine.conns6);
}

function sweepGone(engine: Engine, conns: ConnTable): number {
  const flags = engine.dests.flags;
  const gone: number[] = [];
  const templates: number[] = [];
  conns.forEach((slot) => {
    if ((flags[conns.dest(slot)] & DEST_AVAILABLE) !== 0) return;
    if ((conns.flags(slot) & CONN_F_TEMPLATE) !== 0) templates.push(slot);
    else gone.push(slot);
  });
  for (const slot of gone) engine.expireNow(conns, slot);
  let n = gone.length;
  for (const slot of templates) {
    if (conns.aux(slot) > 0) continue;
    engine.expireNow(conns, slot);
    n++;
  }
  return n;
}

/** A deleted dest of this service with the same address and port (the kernel's trash), or -1. */
function findTrashed(engine: Engine, svc: VirtualService, dc: DestConfig): number {
  const dests = engine.dests;
  for (let d = 0; d < dests.count; d++) {
    if (dests.service[d] !== svc.index || (dests.flags[d] & DEST_AVAILABLE) !== 0) continue;
    if (dests.port[d] !== dc.port || dests.af[d] !== dc.addr.af) continue;
    if (engine.destAddrBytes[d] !== undefined && sameBytes(engine.destAddrBytes[d], dc.addr.bytes)) return d;
  }
  return -1;
}


/** The id of the dest addr:port currently in the service's list, or -1. */
export function findDest(engine: Engine, svc: VirtualService, addr: IpAddress, port: number): number {
  for (const d of svc.list) {
    if (engine.dests.port[d] === port && sameBytes(engine.destAddrBytes[d], addr.bytes)) return d;
  }
  return -1;
}

/**
 * Routes every dest again: after the router learned a neighbour at run time, dests whose next
 * hop was unknown get one (hops already resolved are updated in place by the router itself).
 */
export function refreshDestHops(engine: Engine): void {
  const dests = engine.dests;
  for (let d = 0; d < dests.count; d++) {
    const addr = engine.destAddrBytes[d];
    if (addr !== undefined) engine.destHop[d] = engine.router.route(dests.af[d], addr, 0);
  }
}
