/**
 * The per-frame core: parse → connection lookup (in, NAT reply, FULLNAT reply) or schedule a new
 * connection → protocol state machine and counters → rewrite per forwarding method into the
 * output batch. It knows bytes, not devices: the caller injects frames, the clock and the output.
 * Nothing here allocates per frame.
 */
import { ForwardMethod } from '../control/config';
import type { SchedPacket } from '../sched/scheduler';
import { readU32 } from '../wire/bytes';
import { foldAddress } from '../wire/fold';
import { parseFrame } from '../wire/parse';
import {
  DROP_REASON_NAMES, DropReason, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, ParsedFrame, TCP_RST, TCP_SYN,
} from '../wire/parsed-frame';
import { xmitDirectRoute } from '../xmit/dr';
import { xmitFullNatIn, xmitFullNatOut, fullNatResult } from '../xmit/fullnat';
import { xmitNatIn, xmitNatOut } from '../xmit/nat';
import type { NextHop } from '../xmit/next-hop';
import { xmitIpip } from '../xmit/tunnel';
import {
  CONN_F_INACTIVE, CONN_F_ISN_KNOWN, CONN_F_NOOUTPUT, CONN_F_TEMPLATE, CONN_F_TIMEOUT_60, CONN_F_TOA_DONE, CONN_METHOD_MASK,
  ConnTable, type ExpiryHandler, type ReplyMatcher,
} from './conn-table';
import { DIR_IN, DIR_OUT, transition } from './conn-state';
import { bindConnection, unbindConnection } from './dest-binding';
import { DEST_AVAILABLE, DestTable } from './dest-table';
import type { OutputBatch } from './frame-batch';
import { LocalAddressPool } from './laddr-pool';
import type { Router } from './router';
import { ServiceTable } from './service-table';
import { Counters, ST_CONNS, ST_FIELDS, ST_INBYTES, ST_INPKTS, ST_OUTBYTES, ST_OUTPKTS } from './stats';
import { SCTP_CLOSED } from './sctp-states';
import { TCP_CLOSE, TCP_TIME_WAIT } from './tcp-states';
import { Timeouts } from './timeouts';
import { NO_DESTINATION, Persistence, TABLE_FULL } from './persistence';
import { MarkClassifier } from './mark-classifier';
import type { VirtualService } from './virtual-service';

/** How long a template whose timer fired while it still controlled connections lives on (each time). */
const TEMPLATE_GRACE_MS = 60_000;

export interface EngineOptions {
  /** Initial and maximum number of connections per address family table. */
  connCapacity?: number;
  maxConns?: number;
}

export class Engine implements ExpiryHandler, ReplyMatcher {
  readonly dests = new DestTable();
  readonly services = new ServiceTable();
  readonly conns4: ConnTable;
  readonly conns6: ConnTable;
  readonly laddrs = new LocalAddressPool();
  readonly timeouts = new Timeouts();
  /**
   * Counters by dest id. Only dests are counted per packet; a service's and the total counters are
   * sums over dests (dest ids are never reused, so a deleted dest's packets stay in its service's
   * sum, as in IPVS). See serviceCounter() / totalCounter().
   */
  readonly destStats = new Counters(64);
  /** Frames not transmitted, by DropReason. */
  readonly drops = new Float64Array(DROP_REASON_NAMES.length);
  framesIn = 0;
  framesOut = 0;
  connectionsCreated = 0;

  /** Next hop towards each dest (null: no route or no neighbour), its address bytes, its tunnel IP ID counter. */
  readonly destHop: (NextHop | null)[] = [];
  readonly destAddrBytes: Uint8Array[] = [];
  /** "IP:port" of each dest id, for summaries and listings. */
  readonly destNames: string[] = [];
  destIpId = new Uint16Array(64);
  /** Dest ids of NAT and FULLNAT real servers: a packet from one with no connection is an unknown reply. */
  readonly replyingDests: number[] = [];

  private readonly pf = new ParsedFrame();
  /** Persistence templates (explain peeks at them). */
  readonly persistence = new Persistence();
  private readonly sched: SchedPacket = { srcKey: 0, dstKey: 0, sport: 0, proto: 0, now: 0 };
  private readonly scratchA = new Uint8Array(16);
  private readonly scratchB = new Uint8Array(16);
  /** Whole second of the first frame: the clock counts milliseconds from it. */
  private epochSec = -1;
  private tick = 0;

  /** Packet marks for firewall-mark services (director file `mark` lines). */
  readonly classifier: MarkClassifier;

  constructor(readonly router: Router, options: EngineOptions = {}) {
    this.classifier = new MarkClassifier(router.config.marks ?? []);
    // Typed arrays are zero pages until touched: a large initial capacity costs address space,
    // not memory, and saves rehashing while a busy table fills.
    const cap = options.connCapacity ?? 1 << 20;
    const max = options.maxConns ?? 1 << 22;
    this.conns4 = new ConnTable(1, Math.min(cap, max), max);
    this.conns6 = new ConnTable(4, Math.min(cap, 4096, max), max);
  }

  /** Milliseconds of engine time since the first frame. */
  get now(): number {
    return this.tick;
  }

  /**
   * Moves the clock to (sec, nsec) and expires what is due. Time never goes back. Seconds and
   * nanoseconds stay small integers (no floating-point millisecond timestamps are boxed per frame).
   */
  advanceClock(sec: number, nsec: number): void {
    if (this.epochSec < 0) this.epochSec = sec;
    const t = (sec - this.epochSec) * 1000 + ((nsec / 1000000) | 0);
    if (t <= this.tick) return;
    this.tick = t;
    this.conns4.advance(t, this);
    this.conns6.advance(t, this);
  }

  /** processFrameAt with the time in milliseconds since 1970 (convenient for tests and callers with a ms clock). */
  processFrame(buf: Uint8Array, off: number, len: number, nowMs: number, out: OutputBatch, cause: number): boolean {
    const sec = Math.floor(nowMs / 1000);
    return this.processFrameAt(buf, off, len, sec, Math.round((nowMs - sec * 1000) * 1e6), out, cause);
  }

  /**
   * Runs one frame (buf[off, off+len)) arriving at time (sec, nsec) through the engine. A
   * transmitted frame is written into `out` tagged with `cause`. Returns true when a frame was
   * transmitted.
   */
  processFrameAt(buf: Uint8Array, off: number, len: number, sec: number, nsec: number, out: OutputBatch, cause: number): boolean {
    this.framesIn++;
    this.advanceClock(sec, nsec);
    const pf = this.pf;
    const parsed = parseFrame(buf, off, len, pf);
    if (parsed !== DropReason.None) return this.drop(parsed);
    const proto = pf.proto;
    if (proto !== IPPROTO_TCP && proto !== IPPROTO_UDP && proto !== IPPROTO_SCTP) {
      return this.drop(DropReason.NotBalancedProtocol);
    }
    const conns = pf.af === 4 ? this.conns4 : this.conns6;
    let slot = conns.lookupIn(proto, buf, pf.srcOff, pf.sport, pf.dstOff, pf.dport);
    if (slot >= 0 && this.startsConnection(pf) && this.reusable(conns, slot)) {
      // conn_reuse_mode: a new connection on a closed entry is scheduled afresh.
      this.expireNow(conns, slot);
      slot = -1;
    }
    if (slot >= 0) return this.forwardIn(conns, slot, buf, out, cause);

    // Replies cross the director only for NAT and FULLNAT real servers.
    if (this.replyingDests.length !== 0) {
      slot = conns.lookupOut(proto, buf, pf.dstOff, pf.dport, this, pf.srcOff, pf.sport);
      if (slot >= 0) return this.forwardOut(conns, slot, buf, out, cause);
      if (this.laddrs.addrs.length !== 0) {
        slot = this.fullNatReply(conns, buf);
        if (slot >= 0) return this.forwardOut(conns, slot, buf, out, cause);
      }
    }

    // A packet that may start a connection: its firewall mark (director file `mark` rules) picks a
    // fwmark service first, as IPVS looks up by skb->mark before the address.
    let svc: VirtualService | null = null;
    if (this.classifier.count !== 0) {
      const mark = this.classifier.classify(buf, pf);
      if (mark !== 0) svc = this.services.lookupFwmark(pf.af, mark);
    }
    if (svc === null) svc = this.services.lookup(pf.af, proto, buf, pf.dstOff, pf.dport);
    if (svc === null) {
      return this.drop(this.fromReplyingDest(buf) ? DropReason.UnknownReply : DropReason.NoService);
    }
    if (!this.startsConnection(pf)) return this.drop(DropReason.NotConnectionStart);
    if (pf.sport === 20) return this.drop(DropReason.FtpDataSourcePort);
    // A non-persistent service only schedules packets for its own port (port 0 needs -p, issue 4).
    if (svc.fwmark === 0 && svc.port !== pf.dport && !svc.persistent) return this.drop(DropReason.NoDestination);
    slot = this.schedule(conns, svc, buf);
    if (slot < 0) return this.drop(-slot);
    const sent = this.forwardIn(conns, slot, buf, out, cause);
    // One-packet scheduling (-o, UDP): every datagram is its own connection, gone at once.
    if (svc.ops) this.expireNow(conns, slot);
    return sent;
  }

  private drop(reason: number): false {
    this.drops[reason]++;
    return false;
  }

  /** TCP SYN without RST, SCTP INIT first, any UDP packet: may create a connection. */
  private startsConnection(pf: ParsedFrame): boolean {
    if (pf.proto === IPPROTO_TCP) return (pf.tcpFlags & (TCP_SYN | TCP_RST)) === TCP_SYN;
    if (pf.proto === IPPROTO_SCTP) return pf.sctpChunk === 1;
    return pf.proto === IPPROTO_UDP;
  }

  /** conn_reuse_mode = 1: an uncontrolled TCP entry in TIME_WAIT/CLOSE (SCTP CLOSED) is replaced. UDP never. */
  private reusable(conns: ConnTable, slot: number): boolean {
    if (conns.control(slot) >= 0) return false;
    const proto = conns.proto(slot);
    const st = conns.state(slot);
    if (proto === IPPROTO_TCP) return st === TCP_TIME_WAIT || st === TCP_CLOSE;
    if (proto === IPPROTO_SCTP) return st === SCTP_CLOSED;
    return false;
  }

  /** Schedules and creates a connection; returns its slot or -DropReason. */
  private schedule(conns: ConnTable, svc: VirtualService, buf: Uint8Array): number {
    const pf = this.pf;
    const sp = this.sched;
    sp.srcKey = foldAddress(buf, pf.srcOff, pf.af);
    sp.dstKey = foldAddress(buf, pf.dstOff, pf.af);
    sp.sport = pf.sport;
    sp.proto = pf.proto;
    sp.now = this.tick;
    const dests = this.dests;
    let d: number;
    let template = -1;
    let dport: number;
    if (svc.persistent) {
      template = this.persistence.template(conns, svc, dests, buf, pf, sp, conns.now);
      if (template === NO_DESTINATION) return -DropReason.NoDestination;
      if (template === TABLE_FULL) return -DropReason.ConnectionTableFull;
      d = conns.dest(template);
      // The packet's port, mapped to the dest port only when it is the service port.
      dport = pf.dport === svc.port && dests.port[d] !== 0 ? dests.port[d] : pf.dport;
    } else {
      d = svc.scheduler.schedule(sp);
      if (d < 0) return -DropReason.NoDestination;
      dport = dests.port[d] !== 0 ? dests.port[d] : pf.dport;
    }
    const method = dests.method[d];
    const flags = method | CONN_F_INACTIVE | (method === ForwardMethod.Masq || method === ForwardMethod.FullNat ? 0 : CONN_F_NOOUTPUT);
    // NONE state lives 3 s until the first transition sets the real timeout (ip_vs_conn_new).
    const slot = conns.create(pf.proto, buf, pf.srcOff, pf.sport, pf.dstOff, pf.dport, d, dport, flags, conns.now + 3000);
    if (slot < 0) return -DropReason.ConnectionTableFull;
    if (template >= 0) {
      // Controlled by the template, which each new connection re-arms for its whole timeout.
      conns.setControl(slot, template);
      conns.setAux(template, conns.aux(template) + 1);
      conns.rearm(template, conns.now + conns.templateTimeout(template));
    }
    if (method === ForwardMethod.FullNat) {
      if (!this.laddrs.allocate(svc, pf.proto, slot)) {
        conns.remove(slot);
        return -DropReason.LocalPortsExhausted;
      }
      conns.setLocal(slot, this.laddrs.chosenAddr, this.laddrs.chosenPort);
    }
    bindConnection(dests, d);
    this.connectionsCreated++;
    this.destStats.values[d * ST_FIELDS + ST_CONNS]++;
    return slot;
  }

  private countPacket(d: number, pktField: number, byteField: number, bytes: number): void {
    const dv = this.destStats.values;
    dv[d * ST_FIELDS + pktField]++;
    dv[d * ST_FIELDS + byteField] += bytes;
  }

  /** A service's counter (ST_*): the sum over every dest it ever had. */
  serviceCounter(svcIndex: number, field: number): number {
    let n = 0;
    for (let d = 0; d < this.dests.count; d++) if (this.dests.service[d] === svcIndex) n += this.destStats.get(d, field);
    return n;
  }

  /** The global counter (ST_*): the sum over every dest. */
  totalCounter(field: number): number {
    let n = 0;
    for (let d = 0; d < this.dests.count; d++) n += this.destStats.get(d, field);
    return n;
  }

  /** Client → real server. */
  private forwardIn(conns: ConnTable, slot: number, buf: Uint8Array, out: OutputBatch, cause: number): boolean {
    const pf = this.pf;
    const d = conns.dest(slot);
    const dests = this.dests;
    if ((dests.flags[d] & DEST_AVAILABLE) === 0) return this.drop(DropReason.DestinationGone);
    this.countPacket(d, ST_INPKTS, ST_INBYTES, pf.ipTotalLen);
    const timeout = transition(conns, slot, pf, DIR_IN, dests, this.timeouts);
    conns.rearm(slot, conns.now + timeout);
    const hop = this.destHop[d];
    if (hop === null) return this.drop(DropReason.NoRoute);
    if (!out.hasSlot()) return this.drop(DropReason.OutputFull);
    const method = conns.flags(slot) & CONN_METHOD_MASK;
    // Tunnelling and TOA insertion grow the frame: those go to the batch's slab; every other
    // rewrite keeps the size and may happen where the frame lies.
    const toa = method === ForwardMethod.FullNat && this.wantsToa(conns, slot, buf);
    const inPlace = out.allowInPlace && method !== ForwardMethod.Tunnel && !toa;
    const dst = inPlace ? buf : out.buf;
    const at = inPlace ? pf.l2Off : out.used;
    const room = inPlace ? pf.frameLen : out.room();
    let n: number;
    switch (method) {
      case ForwardMethod.Route:
      case ForwardMethod.Local:
        n = xmitDirectRoute(buf, pf, hop, dst, at, room);
        break;
      case ForwardMethod.Tunnel:
        n = xmitIpip(buf, pf, hop, this.destAddrBytes[d], 0, dests.af[d], this.destIpId, d, dst, at, room);
        break;
      case ForwardMethod.Masq:
        n = xmitNatIn(buf, pf, hop, this.destAddrBytes[d], 0, conns.dport(slot), dst, at, room);
        break;
      case ForwardMethod.FullNat:
        n = xmitFullNatIn(buf, pf, hop, this.laddrs.bytes(conns.laddr(slot)), 0, conns.lport(slot),
          this.destAddrBytes[d], 0, conns.dport(slot), toa, dst, at, room);
        if (toa && n > 0 && fullNatResult.toaInserted) conns.setFlags(slot, conns.flags(slot) | CONN_F_TOA_DONE);
        break;
      default:
        n = -DropReason.NoRoute;
    }
    return this.emit(n, hop, out, cause, inPlace ? buf : null, at);
  }

  /** FULLNAT TOA goes into the first client packet without SYN/RST that acknowledges the real server's ISN. */
  private wantsToa(conns: ConnTable, slot: number, buf: Uint8Array): boolean {
    const pf = this.pf;
    if (pf.proto !== IPPROTO_TCP) return false;
    const f = conns.flags(slot);
    if ((f & CONN_F_ISN_KNOWN) === 0 || (f & CONN_F_TOA_DONE) !== 0) return false;
    if ((pf.tcpFlags & (TCP_SYN | TCP_RST)) !== 0) return false;
    return readU32(buf, pf.l4Off + 8) === ((conns.aux(slot) + 1) >>> 0);
  }

  /** Real server → client (NAT and FULLNAT replies). */
  private forwardOut(conns: ConnTable, slot: number, buf: Uint8Array, out: OutputBatch, cause: number): boolean {
    const pf = this.pf;
    const d = conns.dest(slot);
    const dests = this.dests;
    if ((dests.flags[d] & DEST_AVAILABLE) === 0) return this.drop(DropReason.DestinationGone);
    this.countPacket(d, ST_OUTPKTS, ST_OUTBYTES, pf.ipTotalLen);
    conns.setFlags(slot, conns.flags(slot) & ~CONN_F_NOOUTPUT);
    const timeout = transition(conns, slot, pf, DIR_OUT, dests, this.timeouts);
    conns.rearm(slot, conns.now + timeout);
    const method = conns.flags(slot) & CONN_METHOD_MASK;
    if (method === ForwardMethod.FullNat && pf.proto === IPPROTO_TCP && (pf.tcpFlags & 0x12) === 0x12) {
      // The real server's SYN-ACK: its ISN decides which client packet carries the TOA.
      conns.setAux(slot, readU32(buf, pf.l4Off + 4));
      conns.setFlags(slot, conns.flags(slot) | CONN_F_ISN_KNOWN);
    }
    // Replies go back towards the client: the packet's destination for NAT; for FULLNAT the
    // packet is addressed to us, so the client comes from the entry.
    const w = conns.addrWords;
    let hop: NextHop | null;
    if (method === ForwardMethod.FullNat) {
      writeWords(conns.words, conns.caddrAt(slot), w, this.scratchB);
      hop = this.router.route(pf.af, this.scratchB, 0);
    } else {
      hop = this.router.route(pf.af, buf, pf.dstOff);
    }
    if (hop === null) return this.drop(DropReason.NoRoute);
    const vaddr = this.scratchA;
    writeWords(conns.words, conns.vaddrAt(slot), w, vaddr);
    const vport = conns.vport(slot);
    if (!out.hasSlot()) return this.drop(DropReason.OutputFull);
    const inPlace = out.allowInPlace;
    const dst = inPlace ? buf : out.buf;
    const at = inPlace ? pf.l2Off : out.used;
    const room = inPlace ? pf.frameLen : out.room();
    let n: number;
    if (method === ForwardMethod.FullNat) {
      n = xmitFullNatOut(buf, pf, hop, vaddr, 0, vport, this.scratchB, 0, conns.cport(slot), dst, at, room);
    } else {
      n = xmitNatOut(buf, pf, hop, vaddr, 0, vport, dst, at, room);
    }
    return this.emit(n, hop, out, cause, inPlace ? buf : null, at);
  }

  private emit(n: number, hop: NextHop, out: OutputBatch, cause: number, inPlaceBuf: Uint8Array | null, at: number): boolean {
    if (n <= 0) return this.drop(n === 0 ? DropReason.OutputFull : -n);
    if (inPlaceBuf !== null) out.commitInPlace(inPlaceBuf, at, n, hop.linkIndex, cause);
    else out.commit(n, hop.linkIndex, cause);
    this.framesOut++;
    return true;
  }

  /** A FULLNAT reply is addressed to one of our local address:port pairs. */
  private fullNatReply(conns: ConnTable, buf: Uint8Array): number {
    const pf = this.pf;
    const la = this.laddrs.find(pf.af, buf, pf.dstOff);
    if (la < 0) return -1;
    const slot = this.laddrs.owner(la, pf.proto, pf.dport);
    if (slot < 0 || conns.proto(slot) !== pf.proto) return -1;
    // It must come from the connection's real server.
    return this.destIs(conns.dest(slot), buf, pf.srcOff) && conns.dport(slot) === pf.sport ? slot : -1;
  }

  /** ReplyMatcher for NAT: the reply's source is the entry's real server address and port. */
  replyMatches(conns: ConnTable, slot: number, buf: Uint8Array, srcOff: number, sport: number): boolean {
    const method = conns.flags(slot) & CONN_METHOD_MASK;
    if (method !== ForwardMethod.Masq) return false;
    return conns.dport(slot) === sport && this.destIs(conns.dest(slot), buf, srcOff);
  }

  private destIs(d: number, buf: Uint8Array, off: number): boolean {
    const a = this.destAddrBytes[d];
    for (let i = 0; i < a.length; i++) if (a[i] !== buf[off + i]) return false;
    return true;
  }

  private fromReplyingDest(buf: Uint8Array): boolean {
    const pf = this.pf;
    const dests = this.dests;
    for (let i = 0; i < this.replyingDests.length; i++) {
      const d = this.replyingDests[i];
      if (dests.af[d] === pf.af && dests.port[d] === pf.sport && this.destIs(d, buf, pf.srcOff) &&
        (this.serviceProto(d) === pf.proto || this.serviceProto(d) === 0)) {
        return true;
      }
    }
    return false;
  }

  /** The protocol of the dest's service; 0 for a firewall-mark service (any protocol). */
  private serviceProto(d: number): number {
    return this.services.services[this.dests.service[d]].proto;
  }

  /** Expires an entry before its time (conn_reuse_mode) . */
  private expireNow(conns: ConnTable, slot: number): void {
    this.releaseConnection(conns, slot);
    conns.remove(slot);
  }

  /** ExpiryHandler: an entry's time has come. */
  connExpired(conns: ConnTable, slot: number): boolean {
    if ((conns.flags(slot) & CONN_F_TEMPLATE) !== 0 && conns.aux(slot) > 0) {
      // A template still controlling connections lives on, 60 s at a time from now on.
      conns.setFlags(slot, conns.flags(slot) | CONN_F_TIMEOUT_60);
      conns.setTemplateTimeout(slot, TEMPLATE_GRACE_MS);
      conns.setExpires(slot, conns.now + TEMPLATE_GRACE_MS);
      return false;
    }
    this.releaseConnection(conns, slot);
    return true;
  }

  private releaseConnection(conns: ConnTable, slot: number): void {
    const flags = conns.flags(slot);
    const d = conns.dest(slot);
    if ((flags & CONN_F_TEMPLATE) !== 0) {
      this.dests.persistConns[d]--;
      this.dests.touch(d);
      return;
    }
    unbindConnection(this.dests, d, (flags & CONN_F_INACTIVE) !== 0);
    if ((flags & CONN_METHOD_MASK) === ForwardMethod.FullNat) {
      this.laddrs.release(conns.laddr(slot), conns.proto(slot), conns.lport(slot));
    }
    const c = conns.control(slot);
    if (c >= 0) conns.setAux(c, conns.aux(c) - 1);
  }
}

function writeWords(words: Uint32Array, at: number, n: number, out: Uint8Array): void {
  for (let i = 0; i < n; i++) {
    const v = words[at + i];
    out[4 * i] = v >>> 24;
    out[4 * i + 1] = (v >>> 16) & 0xff;
    out[4 * i + 2] = (v >>> 8) & 0xff;
    out[4 * i + 3] = v & 0xff;
  }
}
