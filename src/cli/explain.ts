/**
 * `uvs explain`: which service, which scheduler state and which real server a packet would get,
 * and why. The engine is built from the rules and director file, optionally warmed by replaying a
 * capture, then the packet is run through the real engine; what the explanation shows around it
 * (mark, service, existing connection, persistence template, the scheduler's inputs per real
 * server) is read from the engine's tables before and after, so the answer is the engine's own.
 */
import { loadDirectorFile, requireLinkMacs } from '../control/director-file';
import { parseIp } from '../control/ip-address';
import { loadRulesFile } from '../control/rules-file';
import { ConnTable } from '../ipvs/conn-table';
import { DEST_AVAILABLE, DEST_OVERLOAD } from '../ipvs/dest-table';
import { buildEngine, type BuiltEngine } from '../ipvs/engine-builder';
import { OutputBatch } from '../ipvs/frame-batch';
import { SCTP_STATE_NAMES } from '../ipvs/sctp-states';
import { TCP_STATE_NAMES } from '../ipvs/tcp-states';
import type { VirtualService } from '../ipvs/virtual-service';
import { CaptureReader } from '../pcap/capture-reader';
import { schedulerNames } from '../sched/registry';
import { setIpv4HeaderChecksum, transportChecksum, writeU16 } from '../wire/checksum';
import { parseFrame } from '../wire/parse';
import { DROP_REASON_NAMES, ParsedFrame } from '../wire/parsed-frame';

export interface ExplainOptions {
  rules: string;
  director: string;
  /** Capture replayed first to warm the connection table and scheduler state. */
  warm?: string;
  protocol: 'tcp' | 'udp';
  client: { addr: string; port: number };
  virtual: { addr: string; port: number };
  /** TCP flags of the packet (default SYN). */
  tcpFlags?: number;
  /** Seconds after the last warm-up frame (default 0). */
  after?: number;
}

export interface DestLine {
  server: string;
  method: string;
  weight: number;
  activeConns: number;
  inactConns: number;
  persistConns: number;
  /** activeconns * 256 + inactconns, what lc/wlc compare. */
  overhead: number;
  overloaded: boolean;
  chosen: boolean;
}

export interface ExplainReport {
  packet: string;
  mark: number;
  service: string | null;
  scheduler: string | null;
  existingConnection: string | null;
  template: string | null;
  dests: DestLine[];
  decision: string;
  reason: string;
  transmitted: boolean;
  dropReason: string | null;
}

const METHODS = ['Masq', 'Local', 'Tunnel', 'Route', '', 'FullNat'];

function endpoint(addr: string, port: number): string {
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

/** One packet of the flow, with correct checksums. */
function buildFrame(o: ExplainOptions): Uint8Array {
  const src = parseIp(o.client.addr);
  const dst = parseIp(o.virtual.addr);
  if (src.af !== dst.af) throw new Error(`client ${src.text} and virtual address ${dst.text} are of different families`);
  const v6 = src.af === 6;
  const tcp = o.protocol === 'tcp';
  const l4Len = tcp ? 20 : 8;
  const ipLen = (v6 ? 40 : 20) + l4Len;
  const f = new Uint8Array(14 + ipLen);
  writeU16(f, 12, v6 ? 0x86dd : 0x0800);
  f[0] = 2; // locally administered destination MAC: the director's is not needed by the engine
  let srcOff: number;
  let dstOff: number;
  if (v6) {
    f[14] = 0x60;
    writeU16(f, 18, l4Len);
    f[20] = tcp ? 6 : 17;
    f[21] = 64;
    f.set(src.bytes, 22);
    f.set(dst.bytes, 38);
    srcOff = 22;
    dstOff = 38;
  } else {
    f[14] = 0x45;
    writeU16(f, 16, ipLen);
    writeU16(f, 20, 0x4000);
    f[22] = 64;
    f[23] = tcp ? 6 : 17;
    f.set(src.bytes, 26);
    f.set(dst.bytes, 30);
    setIpv4HeaderChecksum(f, 14);
    srcOff = 26;
    dstOff = 30;
  }
  const l4 = 14 + (v6 ? 40 : 20);
  writeU16(f, l4, o.client.port);
  writeU16(f, l4 + 2, o.virtual.port);
  if (tcp) {
    f[l4 + 12] = 0x50;
    f[l4 + 13] = o.tcpFlags ?? 0x02;
    writeU16(f, l4 + 14, 65535);
    writeU16(f, l4 + 16, transportChecksum(f, srcOff, dstOff, v6 ? 16 : 4, 6, l4, l4Len, 16));
  } else {
    writeU16(f, l4 + 4, l4Len);
    writeU16(f, l4 + 6, transportChecksum(f, srcOff, dstOff, v6 ? 16 : 4, 17, l4, l4Len, 6) || 0xffff);
  }
  return f;
}

/** Replays the warm-up capture; returns the time of its last frame (sec, nsec). */
function warm(built: BuiltEngine, path: string): [number, number] {
  const reader = CaptureReader.open(path);
  const out = new OutputBatch();
  let last: [number, number] = [0, 0];
  try {
    while (reader.next()) {
      out.reset();
      built.engine.processFrameAt(reader.data, reader.offset, reader.capLen, reader.tsSec, reader.tsNsec, out, 0);
      last = [reader.tsSec, reader.tsNsec];
    }
  } finally {
    reader.close();
  }
  return last;
}

function stateName(conns: ConnTable, slot: number): string {
  const proto = conns.proto(slot);
  if (proto === 6) return TCP_STATE_NAMES[conns.state(slot)];
  if (proto === 132) return SCTP_STATE_NAMES[conns.state(slot)];
  return 'UDP';
}

function reasonFor(svc: VirtualService, dests: DestLine[], chosen: DestLine | undefined): string {
  if (chosen === undefined) return 'no usable real server (all weight 0, overloaded or none)';
  const name = svc.schedulerName;
  const usable = dests.filter((d) => d.weight > 0 && !d.overloaded);
  switch (name) {
    case 'rr':
      return `round robin: the next usable server after the last pick, in list order (${usable.length} usable)`;
    case 'wrr':
      return 'weighted round robin: the next server whose weight reaches the current weight of the walk';
    case 'lc':
      return `least connections: lowest overhead (active*256 + inactive) = ${chosen.overhead}; ties go to the newest`;
    case 'wlc':
      return `weighted least connections: lowest overhead/weight = ${chosen.overhead}/${chosen.weight}; ties go to the newest`;
    case 'sed':
    case 'nq':
      return `shortest expected delay: lowest (active+1)/weight = ${chosen.activeConns + 1}/${chosen.weight}${name === 'nq' ? ', an idle server first' : ''}`;
    case 'fo':
      return `failover: the highest weight (${chosen.weight}) among usable servers`;
    case 'ovf':
      return `overflow: the highest weight (${chosen.weight}) among servers with active <= weight`;
    case 'sh':
      return 'source hashing: the bucket of the client address (and port with sh-port) names this server';
    case 'dh':
      return 'destination hashing: the bucket of the destination address names this server';
    case 'mh':
      return 'Maglev hashing: the lookup table slot of the client address (and port with mh-port) names this server';
    case 'lblc':
    case 'lblcr':
      return 'locality-based: the server cached for this destination address, or the least loaded one when none is cached or it is overloaded';
    case 'twos':
      return 'power of two choices: two weighted random picks, the less loaded per weight wins';
    default:
      return `chosen by ${name}`;
  }
}

export function explainFlow(o: ExplainOptions): ExplainReport {
  const director = loadDirectorFile(o.director);
  requireLinkMacs(director, o.director, 'explain');
  const built = buildEngine(loadRulesFile(o.rules, { schedulers: schedulerNames() }), director);
  const { engine } = built;
  let [sec, nsec] = o.warm !== undefined ? warm(built, o.warm) : [0, 0];
  const after = o.after ?? 0;
  sec += Math.floor(after);
  nsec += Math.round((after - Math.floor(after)) * 1e9);
  if (nsec >= 1e9) {
    sec++;
    nsec -= 1e9;
  }
  const frame = buildFrame(o);
  const pf = new ParsedFrame();
  const parsed = parseFrame(frame, 0, frame.length, pf);
  if (parsed !== 0) throw new Error(`the packet does not parse: ${DROP_REASON_NAMES[parsed]}`);
  engine.advanceClock(sec, nsec);
  const conns = pf.af === 4 ? engine.conns4 : engine.conns6;
  const packet = `${o.protocol.toUpperCase()} ${endpoint(o.client.addr, o.client.port)} -> ${endpoint(o.virtual.addr, o.virtual.port)}`;

  const mark = engine.classifier.count !== 0 ? engine.classifier.classify(frame, pf) : 0;
  let svc = mark !== 0 ? engine.services.lookupFwmark(pf.af, mark) : null;
  if (svc === null) svc = engine.services.lookup(pf.af, pf.proto, frame, pf.dstOff, pf.dport);
  const existing = conns.lookupIn(pf.proto, frame, pf.srcOff, pf.sport, pf.dstOff, pf.dport);
  const existingConnection = existing >= 0
    ? `${stateName(conns, existing)} to ${engine.destNames[conns.dest(existing)]}, expires in ${((conns.expires(existing) - conns.now) / 1000).toFixed(1)} s`
    : null;
  let template: string | null = null;
  if (svc !== null && svc.persistent && existing < 0) {
    const t = engine.persistence.peek(conns, svc, frame, pf);
    if (t >= 0) {
      const d = conns.dest(t);
      const usable = (engine.dests.flags[d] & DEST_AVAILABLE) !== 0;
      template = `${engine.destNames[d]}, expires in ${((conns.expires(t) - conns.now) / 1000).toFixed(1)} s${usable ? '' : ' (its server was removed: rescheduled)'}`;
    }
  }
  const dests: DestLine[] = svc === null ? [] : svc.list.map((d) => ({
    server: engine.destNames[d],
    method: METHODS[engine.dests.method[d]] ?? String(engine.dests.method[d]),
    weight: engine.dests.weight[d],
    activeConns: engine.dests.activeConns[d],
    inactConns: engine.dests.inactConns[d],
    persistConns: engine.dests.persistConns[d],
    overhead: engine.dests.activeConns[d] * 256 + engine.dests.inactConns[d],
    overloaded: (engine.dests.flags[d] & DEST_OVERLOAD) !== 0,
    chosen: false,
  }));

  const dropsBefore = Float64Array.from(engine.drops);
  const out = new OutputBatch();
  const transmitted = engine.processFrameAt(frame, 0, frame.length, sec, nsec, out, 0);
  const dropIndex = engine.drops.findIndex((n, i) => n !== dropsBefore[i]);
  const after1 = conns.lookupIn(pf.proto, frame, pf.srcOff, pf.sport, pf.dstOff, pf.dport);
  const destId = after1 >= 0 ? conns.dest(after1) : -1;
  const chosen = dests.find((d) => destId >= 0 && d.server === engine.destNames[destId]);
  if (chosen) chosen.chosen = true;

  let decision: string;
  let reason: string;
  if (svc === null) {
    decision = 'not balanced';
    reason = 'no virtual service matches (protocol, address, port)' + (mark !== 0 ? ` and no fwmark service has mark ${mark}` : '');
  } else if (existing >= 0) {
    decision = engine.destNames[conns.dest(existing)];
    reason = 'the packet belongs to an existing connection: no scheduling';
  } else if (template !== null && chosen !== undefined) {
    decision = chosen.server;
    reason = 'the client\'s persistence template names this server (weight and load are not consulted)';
  } else if (destId < 0) {
    decision = 'none';
    reason = dropIndex >= 0 ? `not scheduled: ${DROP_REASON_NAMES[dropIndex]}` : reasonFor(svc, dests, undefined);
  } else {
    decision = engine.destNames[destId];
    reason = reasonFor(svc, dests, chosen);
  }
  return {
    packet,
    mark,
    service: svc === null ? null : svc.name,
    scheduler: svc === null ? null : svc.schedulerName + (svc.persistent ? ` persistent ${svc.timeout}` : ''),
    existingConnection,
    template,
    dests,
    decision,
    reason,
    transmitted,
    dropReason: dropIndex >= 0 ? DROP_REASON_NAMES[dropIndex] : null,
  };
}

export function formatExplain(r: ExplainReport): string {
  const lines: string[] = [];
  lines.push(`packet     ${r.packet}`);
  lines.push(`mark       ${r.mark === 0 ? 'none' : r.mark}`);
  lines.push(`service    ${r.service ?? 'none'}${r.scheduler ? ` (${r.scheduler})` : ''}`);
  lines.push(`connection ${r.existingConnection ?? 'none: a new connection'}`);
  if (r.template !== null) lines.push(`template   ${r.template}`);
  if (r.dests.length > 0) {
    lines.push('servers    in list order (newest first), before the decision:');
    lines.push('             RemoteAddress:Port           Forward Weight ActiveConn InActConn PersistConn Overhead');
    for (const d of r.dests) {
      lines.push(`  ${d.chosen ? '=>' : '  '}         ${d.server.padEnd(28)} ${d.method.padEnd(7)} ${String(d.weight).padEnd(6)} ${String(d.activeConns).padEnd(10)} ${String(d.inactConns).padEnd(9)} ${String(d.persistConns).padEnd(11)} ${d.overhead}${d.overloaded ? ' OVERLOADED' : ''}${d.weight === 0 ? ' quiesced' : ''}`);
    }
  }
  lines.push(`decision   ${r.decision}`);
  lines.push(`why        ${r.reason}`);
  lines.push(`result     ${r.transmitted ? 'transmitted' : `not transmitted${r.dropReason ? ` (${r.dropReason})` : ''}`}`);
  return lines.join('\n') + '\n';
}
