/**
 * The per-frame core: parse → connection lookup (in, NAT reply, FULLNAT reply) or schedule a new
 * connection → protocol state machine and counters → rewrite per forwarding method into the
 * output batch. It knows bytes, not devices: the caller injects frames, the clock and the output.
 * Nothing here allocates per frame.
 */
import { ForwardMethod } from '../control/config';
import { setSchedDestination, type SchedPacket } from '../sched/scheduler';
import { readU32 } from '../wire/bytes';
import { foldAddress } from '../wire/fold';
import { FragmentInfo, readFragmentInfo } from '../wire/fragment-info';
import { isIcmpRelayedError, isIcmpv6Error } from '../wire/icmp';
import { IPV4_MIN_HLEN } from '../wire/ipv4';
import { IPV6_HLEN } from '../wire/ipv6';
import { parseFrame } from '../wire/parse';
import {
  DROP_REASON_NAMES, DropReason, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, ParsedFrame, TCP_RST, TCP_SYN,
} from '../wire/parsed-frame';
import { xmitDirectRoute } from '../xmit/dr';
import { xmitFullNatIn, xmitFullNatOut, fullNatResult } from '../xmit/fullnat';
import { Ipv4Fragmenter } from '../xmit/ipv4-fragmenter';
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
import { FRAG_DIR_IN, FRAG_DIR_OUT, FragmentTable } from './fragment-table';
import { IcmpRelayPath } from './icmp-relay-path';
import { IcmpResponder } from './icmp-responder';
import { LocalAddressPool } from './laddr-pool';
import type { Router } from './router';
import { ServiceTable } from './service-table';
import { Counters, ST_CONNS, ST_FIELDS, ST_INBYTES, ST_INPKTS, ST_OUTBYTES, ST_OUTPKTS } from './stats';
import { SCTP_CLOSED } from './sctp-states';
import { TCP_CLOSE, TCP_TIME_WAIT } from './tcp-states';
import { Timeouts } from './timeouts';
import { NO_DESTINATION, Persistence, TABLE_FULL } from './persistence';
import { resolveSysctls, type Sysctls } from './sysctls';
import { MarkClassifier } from './mark-classifier';
import type { VirtualService } from './virtual-service';

/** How long a template whose timer fired while it still controlled connections lives on (each time). */
const TEMPLATE_GRACE_MS = 60_000;

/** The largest --max-connections accepted: 64 Mi entries per table (about 3.8 GB of IPv4 entries). */
export const MAX_CONNECTIONS_LIMIT = 1 << 26;

export interface EngineOptions {
  /** Initial and maximum number of connections per address family table. */
  connCapacity?: number;
  maxConns?: number;
  /** Datagrams whose later fragments the engine can follow at once (fragment-table.ts; default 4096). */
  fragmentCapacity?: number;
  /** net.ipv4.vs.* values over the director file's `sysctl` lines (src/ipvs/sysctls.ts); checked. */
  sysctls?: Partial<Sysctls>;
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
  /** Later fragments find their first fragment's connection here. */
  readonly fragments: FragmentTable;
  /** The ICMP errors the director sends itself (and their rate limit). */
  readonly icmp: IcmpResponder;
  /**
   * IPv4 packets longer than their egress MTU with DF clear leave as fragments (ipv4-fragmenter.ts):
   * framesOut counts every fragment, fragmenter.extraFrames the frames beyond one per such packet.
   */
  readonly fragmenter = new Ipv4Fragmenter();
  private readonly fragInfo = new FragmentInfo();
  private readonly icmpRelay: IcmpRelayPath;
  /** The connection (and direction) the last forwardIn/forwardOut transmitted for; -1 when it did not. */
  private forwardedSlot = -1;
  private forwardedDir = FRAG_DIR_IN;
  /** Persistence templates (explain peeks at them). */
  readonly persistence = new Persistence();
  private readonly sched: SchedPacket = { srcKey: 0, dstKey: 0, dstAddr: new Uint32Array(4), sport: 0, proto: 0, now: 0 };
  private readonly scratchA = new Uint8Array(16);
  private readonly scratchB = new Uint8Array(16);
  /** Whole second of the first frame: the clock counts milliseconds from it. */
  private epochSec = -1;
  private tick = 0;

  /** Packet marks for firewall-mark services (director file `mark` lines). */
  readonly classifier: MarkClassifier;
  /**
   * The sysctls in force: the director file's `sysctl` lines (which every engine built from it, a
   * live director's workers included, reads through its router), then options.sysctls.
   */
  readonly sysctls: Sysctls;

  constructor(readonly router: Router, options: EngineOptions = {}) {
    this.classifier = new MarkClassifier(router.config.marks ?? []);
    this.sysctls = resolveSysctls({ ...router.config.sysctls, ...options.sysctls });
    // Typed arrays are zero pages until touched: a large initial capacity costs address space,
    // not memory, and saves rehashing while a busy table fills.
    const cap = options.connCapacity ?? 1 << 20;
    const max = options.maxConns ?? 1 << 22;
    this.conns4 = new ConnTable(1, Math.min(cap, max), max);
    this.conns6 = new ConnTable(4, Math.min(cap, 4096, max), max);
    this.fragments = new FragmentTable(options.fragmentCapacity ?? 4096);
    this.icmp = new IcmpResponder(router);
    this.icmpRelay = new IcmpRelayPath(this, this.pf);
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
   * transmitted: the frame forwarded (or an ICMP error relayed), or, for a frame dropped as
   * ttl-exceeded, too-big or no-destination, the ICMP error the director sends about it (the drop
   * is counted all the same; icmp.sent counts those errors). One frame per call, except a packet
   * sent as IPv4 fragments (one frame each, in order). So framesIn + icmp.sent +
   * fragmenter.extraFrames = framesOut + the drops.
   */
  processFrameAt(buf: Uint8Array, off: number, len: number, sec: number, nsec: number, out: OutputBatch, cause: number): boolean {
    this.framesIn++;
    this.advanceClock(sec, nsec);
    const pf = this.pf;
    const parsed = parseFrame(buf, off, len, pf);
    if (parsed !== DropReason.None) {
      return parsed === DropReason.Fragment ? this.laterFragment(buf, out, cause) : this.drop(parsed);
    }
    const proto = pf.proto;
    if (proto !== IPPROTO_TCP && proto !== IPPROTO_UDP && proto !== IPPROTO_SCTP) {
      // pf.icmpType is set only for ICMP in IPv4 and ICMPv6 in IPv6.
      if (pf.icmpType >= 0 && (pf.af === 4 ? isIcmpRelayedError(pf.icmpType) : isIcmpv6Error(pf.icmpType))) {
        return this.icmpRelay.relay(buf, out, cause);
      }
      return this.drop(DropReason.NotBalancedProtocol);
    }
    return pf.fragment === 0 ? this.dispatch(buf, out, cause) : this.firstFragment(buf, out, cause);
  }

  /**
   * A first fragment goes like a whole packet (it has the ports), and the connection it went to is
   * recorded for the later fragments of its datagram. With no room to record that, the datagram
   * can not be followed: its first fragment is dropped.
   */
  private firstFragment(buf: Uint8Array, out: OutputBatch, cause: number): boolean {
    const pf = this.pf;
    const fi = this.fragInfo;
    if (!readFragmentInfo(buf, pf, fi)) return this.drop(DropReason.Fragment);
    const e = this.fragments.reserve(pf.af, pf.proto, buf, pf.srcOff, pf.dstOff, fi.id, this.tick);
    if (e < 0) return this.drop(DropReason.FragmentTableFull);
    // Keyed now: rewriting in place changes the addresses in buf.
    this.fragments.setKey(e, pf.af, pf.proto, buf, pf.srcOff, pf.dstOff, fi.id);
    this.forwardedSlot = -1;
    const sent = this.dispatch(buf, out, cause);
    const slot = this.forwardedSlot;
    if (slot >= 0) {
      const conns = pf.af === 4 ? this.conns4 : this.conns6;
      this.fragments.bind(e, slot, this.forwardedDir, (conns.cport(slot) << 16) | conns.vport(slot), this.tick);
      this.fragments.account(e, fi.offset, fi.dataLen, fi.more);
    }
    return sent;
  }

  /**
   * A later fragment (no ports) follows the connection its first fragment went to, in the same
   * direction; without one (first fragment never forwarded, or the entry ended) it is dropped.
   */
  private laterFragment(buf: Uint8Array, out: OutputBatch, cause: number): boolean {
    const pf = this.pf;
    const proto = pf.proto;
    if (proto !== IPPROTO_TCP && proto !== IPPROTO_UDP && proto !== IPPROTO_SCTP) return this.drop(DropReason.Fragment);
    const fi = this.fragInfo;
    if (!readFragmentInfo(buf, pf, fi)) return this.drop(DropReason.Fragment);
    const frags = this.fragments;
    const e = frags.find(pf.af, proto, buf, pf.srcOff, pf.dstOff, fi.id, this.tick);
    if (e < 0) return this.drop(DropReason.FragmentWithoutFirst);
    const conns = pf.af === 4 ? this.conns4 : this.conns6;
    const slot = frags.slot(e);
    const dir = frags.dir(e);
    // The connection may have ended since (and its slot been reused by another one).
    if (!conns.isLive(slot) || conns.proto(slot) !== proto || ((conns.cport(slot) << 16) | conns.vport(slot)) !== frags.ports(e) ||
      !this.fragmentStillFits(conns, slot, dir, buf)) {
      frags.free(e);
      return this.drop(DropReason.FragmentWithoutFirst);
    }
    frags.account(e, fi.offset, fi.dataLen, fi.more);
    return dir === FRAG_DIR_IN ? this.forwardIn(conns, slot, buf, out, cause) : this.forwardOut(conns, slot, buf, out, cause);
  }

  /** The connection in `slot` still has the fragment's client (in), or its client / local address (out). */
  private fragmentStillFits(conns: ConnTable, slot: number, dir: number, buf: Uint8Array): boolean {
    const pf = this.pf;
    if (dir === FRAG_DIR_IN) return this.connClientIs(conns, slot, buf, pf.srcOff);
    if ((conns.flags(slot) & CONN_METHOD_MASK) === ForwardMethod.FullNat) {
      return this.laddrs.find(pf.af, buf, pf.dstOff) === conns.laddr(slot);
    }
    return this.connClientIs(conns, slot, buf, pf.dstOff);
  }

  private connClientIs(conns: ConnTable, slot: number, buf: Uint8Array, off: number): boolean {
    const words = conns.words;
    const at = conns.caddrAt(slot);
    for (let i = 0; i < conns.addrWords; i++) {
      const o = off + 4 * i;
      if (words[at + i] !== (((buf[o] << 24) | (buf[o + 1] << 16) | (buf[o + 2] << 8) | buf[o + 3]) >>> 0)) return false;
    }
    return true;
  }

  /** A whole packet or first fragment of TCP, UDP or SCTP: its connection, or a new one. */
  private dispatch(buf: Uint8Array, out: OutputBatch, cause: number): boolean {
    const pf = this.pf;
    const proto = pf.proto;
    const conns = pf.af === 4 ? this.conns4 : this.conns6;
    let slot = conns.lookupIn(proto, buf, pf.srcOff, pf.sport, pf.dstOff, pf.dport);
    if (slot >= 0 && this.startsConnection(pf) && (this.reusable(conns, slot) || this.quiescedRestart(conns, slot))) {
      // conn_reuse_mode: a new connection on a closed entry is scheduled afresh.
      this.expireNow(conns, slot);
      slot = -1;
    }
    if (slot >= 0 && this.sysctls.expire_nodest_conn !== 0 && (this.dests.flags[conns.dest(slot)] & DEST_AVAILABLE) === 0) {
      // expire_nodest_conn = 1 (Linux >= 5.9): the entry of a deleted real server ends here and the
      // packet is handled as new (a TCP non-SYN is then not scheduled).
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
    if (slot < 0) {
      this.drop(-slot);
      // ip_vs_leave: no server for a new connection -> port unreachable (not for another port of an FTP service).
      if (-slot !== DropReason.NoDestination || (svc.port === 21 && pf.dport !== 21)) return false;
      return this.answered(this.icmp.portUnreachable(buf, pf, this.tick, out, cause));
    }
    const sent = this.forwardIn(conns, slot, buf, out, cause);
    // One-packet scheduling (-o, UDP): every datagram is its own connection, gone at once.
    if (svc.ops) this.expireNow(conns, slot);
    return sent;
  }

  /** Counts a frame not transmitted under `reason` (also for the engine's own paths, e.g. icmp-relay-path.ts). */
  drop(reason: number): false {
    this.drops[reason]++;
    return false;
  }

  /** TCP SYN without RST, SCTP INIT first, any UDP packet: may create a connection. */
  private startsConnection(pf: ParsedFrame): boolean {
    if (pf.proto === IPPROTO_TCP) return (pf.tcpFlags & (TCP_SYN | TCP_RST)) === TCP_SYN;
    if (pf.proto === IPPROTO_SCTP) return pf.sctpChunk === 1;
    return pf.proto === IPPROTO_UDP;
  }

  /**
   * expire_nodest_conn = 1: a TCP SYN or SCTP INIT (not UDP: the kernel's is_new_conn) meeting an
   * entry whose real server has weight 0 ends it and is scheduled afresh, controlled or not.
   */
  private quiescedRestart(conns: ConnTable, slot: number): boolean {
    return this.sysctls.expire_nodest_conn !== 0 && this.pf.proto !== IPPROTO_UDP && this.dests.weight[conns.dest(slot)] === 0;
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
    setSchedDestination(sp, buf, pf.dstOff, pf.af); // dstKey (the fold) and dstAddr (all 128 bits)
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

  /** One packet of `bytes` bytes for dest d in the given ST_* fields (also for icmp-relay-path.ts). */
  countPacket(d: number, pktField: number, byteField: number, bytes: number): void {
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
    // A deleted real server's connection: dropped (expire_nodest_conn = 0; with 1 only a later
    // fragment gets here, dispatch() ended the entry) unless drain_nodest_conn lets it finish.
    if ((dests.flags[d] & DEST_AVAILABLE) === 0 && this.sysctls.drain_nodest_conn === 0) return this.drop(DropReason.DestinationGone);
    if (pf.fragment === 2) {
      // The rest of a datagram its first fragment counted, state machine and timer included:
      // bytes only (IPVS counts the reassembled datagram as one packet).
      this.destStats.values[d * ST_FIELDS + ST_INBYTES] += this.fragInfo.dataLen;
    } else {
      this.countPacket(d, ST_INPKTS, ST_INBYTES, pf.ipTotalLen);
      const timeout = transition(conns, slot, pf, DIR_IN, dests, this.timeouts);
      conns.rearm(slot, conns.now + timeout);
    }
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
    let n = this.xmitIn(method, conns, slot, d, buf, hop, toa, dst, at, room);
    // Too long for the link with DF clear: sent as IPv4 fragments, as the kernel's output does
    // (a tunnel's outer IPv4 header copies the inner DF; an IPv6 packet, inner or outer, never is).
    if (n === -DropReason.TooBig && pf.af === 4 && !pf.df && (method !== ForwardMethod.Tunnel || dests.af[d] === 4)) {
      const frag = this.fragmenter;
      n = this.xmitIn(method, conns, slot, d, buf, frag.unbounded(hop), false, frag.frame, 0, frag.frame.length);
      return this.sendFragments(n, hop, out, cause, slot, FRAG_DIR_IN);
    }
    if (this.emit(n, hop, out, cause, inPlace ? buf : null, at)) {
      this.forwardedSlot = slot;
      this.forwardedDir = FRAG_DIR_IN;
      return true;
    }
    if (n === -DropReason.TtlExceeded) return this.answerTtl(buf, true, out, cause);
    if (n !== -DropReason.TooBig) return false;
    // The usable MTU: the link's, less the outer header for a tunnel (ip_vs_xmit.c __ip_vs_get_out_rt).
    let mtu = hop.mtu;
    if (method === ForwardMethod.Tunnel) {
      mtu -= dests.af[d] === 4 ? IPV4_MIN_HLEN : IPV6_HLEN;
      if (mtu < (dests.af[d] === 4 ? 68 : 1280)) return false;
    }
    // IPVS decrements the TTL before its MTU check, so its error quotes the decremented packet;
    // DPVS's FULLNAT checks the MTU first.
    return this.answerTooBig(buf, mtu, method !== ForwardMethod.FullNat, true, out, cause);
  }

  /**
   * Writes the client → real server frame of the connection in `slot` (dest d, `method`) towards
   * hop into dst[at, at + room): its length or -DropReason (see the xmit functions).
   */
  private xmitIn(method: number, conns: ConnTable, slot: number, d: number, buf: Uint8Array, hop: NextHop, toa: boolean,
    dst: Uint8Array, at: number, room: number): number {
    const pf = this.pf;
    switch (method) {
      case ForwardMethod.Route:
      case ForwardMethod.Local:
        return xmitDirectRoute(buf, pf, hop, dst, at, room);
      case ForwardMethod.Tunnel:
        return xmitIpip(buf, pf, hop, this.destAddrBytes[d], 0, this.dests.af[d], this.destIpId, d, dst, at, room);
      case ForwardMethod.Masq:
        return xmitNatIn(buf, pf, hop, this.destAddrBytes[d], 0, conns.dport(slot), dst, at, room);
      case ForwardMethod.FullNat: {
        const n = xmitFullNatIn(buf, pf, hop, this.laddrs.bytes(conns.laddr(slot)), 0, conns.lport(slot),
          this.destAddrBytes[d], 0, conns.dport(slot), toa, dst, at, room);
        if (toa && n > 0 && fullNatResult.toaInserted) conns.setFlags(slot, conns.flags(slot) | CONN_F_TOA_DONE);
        return n;
      }
      default:
        return -DropReason.NoRoute;
    }
  }

  /**
   * Sends as IPv4 fragments for hop's MTU the frame of length n a forwarding method wrote into the
   * fragmenter's scratch frame (n <= 0: the method's failure, counted as a drop like any other).
   * All the fragments or none: no room for them all counts output-full.
   */
  private sendFragments(n: number, hop: NextHop, out: OutputBatch, cause: number, slot: number, dir: number): boolean {
    const frames = this.fragmenter.fragment(n, hop, out, cause);
    if (frames <= 0) return this.drop(-frames);
    this.framesOut += frames;
    this.forwardedSlot = slot;
    this.forwardedDir = dir;
    return true;
  }

  /** Time Exceeded about the frame in pf (see IcmpResponder); counted as transmitted. */
  private answerTtl(buf: Uint8Array, fromDestination: boolean, out: OutputBatch, cause: number): boolean {
    return this.answered(this.icmp.timeExceeded(buf, this.pf, fromDestination, this.tick, out, cause));
  }

  /** Fragmentation Needed / Packet Too Big about the frame in pf (see IcmpResponder); counted as transmitted. */
  private answerTooBig(buf: Uint8Array, mtu: number, quoteTtlDecremented: boolean, fromDestination: boolean,
    out: OutputBatch, cause: number): boolean {
    return this.answered(this.icmp.tooBig(buf, this.pf, mtu, quoteTtlDecremented, fromDestination, this.tick, out, cause));
  }

  private answered(sent: boolean): boolean {
    if (sent) this.framesOut++;
    return sent;
  }

  /** FULLNAT TOA goes into the first client packet without SYN/RST that acknowledges the real server's ISN. */
  private wantsToa(conns: ConnTable, slot: number, buf: Uint8Array): boolean {
    const pf = this.pf;
    // Not into a fragment: the option would move every later fragment's data.
    if (pf.proto !== IPPROTO_TCP || pf.fragment !== 0) return false;
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
    // The kernel's reply path (ip_vs_out) never asks whether the real server is still there: a
    // deleted one's replies are translated and forwarded, but counted only while it is available
    // (ip_vs_out_stats) or, in uvs, while drain_nodest_conn keeps its connections going.
    const counted = (dests.flags[d] & DEST_AVAILABLE) !== 0 || this.sysctls.drain_nodest_conn !== 0;
    const method = conns.flags(slot) & CONN_METHOD_MASK;
    // Replies go back towards the client: the packet's destination for NAT; for FULLNAT the
    // packet is addressed to us, so the client comes from the entry.
    let hop: NextHop | null;
    if (method === ForwardMethod.FullNat) {
      conns.copyAddr(conns.caddrAt(slot), this.scratchB);
      hop = this.router.route(pf.af, this.scratchB, 0);
    } else {
      hop = this.router.route(pf.af, buf, pf.dstOff);
      // A NAT reply is forwarded by the kernel's IP layer, whose TTL and MTU checks (ip_forward,
      // ip6_forward) come before IPVS sees it at FORWARD: such a reply changes no counter or state,
      // and its error goes to the real server from the director's own address.
      if (hop !== null && pf.ttl <= 1) {
        this.drop(DropReason.TtlExceeded);
        return this.answerTtl(buf, false, out, cause);
      }
      if (hop !== null && pf.ipTotalLen > hop.mtu && (pf.af === 6 || pf.df)) {
        this.drop(DropReason.TooBig);
        return this.answerTooBig(buf, hop.mtu, false, false, out, cause);
      }
    }
    if (pf.fragment === 2) {
      if (counted) this.destStats.values[d * ST_FIELDS + ST_OUTBYTES] += this.fragInfo.dataLen;
    } else {
      if (counted) this.countPacket(d, ST_OUTPKTS, ST_OUTBYTES, pf.ipTotalLen);
      conns.setFlags(slot, conns.flags(slot) & ~CONN_F_NOOUTPUT);
      const timeout = transition(conns, slot, pf, DIR_OUT, dests, this.timeouts);
      conns.rearm(slot, conns.now + timeout);
      if (method === ForwardMethod.FullNat && pf.proto === IPPROTO_TCP && (pf.tcpFlags & 0x12) === 0x12) {
        // The real server's SYN-ACK: its ISN decides which client packet carries the TOA.
        conns.setAux(slot, readU32(buf, pf.l4Off + 4));
        conns.setFlags(slot, conns.flags(slot) | CONN_F_ISN_KNOWN);
      }
    }
    if (hop === null) return this.drop(DropReason.NoRoute);
    const vaddr = this.scratchA;
    conns.copyAddr(conns.vaddrAt(slot), vaddr);
    const vport = conns.vport(slot);
    if (!out.hasSlot()) return this.drop(DropReason.OutputFull);
    const inPlace = out.allowInPlace;
    const dst = inPlace ? buf : out.buf;
    const at = inPlace ? pf.l2Off : out.used;
    const room = inPlace ? pf.frameLen : out.room();
    let n = this.xmitOut(method, conns, slot, buf, hop, vaddr, vport, dst, at, room);
    // DF clear and too long: fragmented on output (a NAT reply with DF set never gets here).
    if (n === -DropReason.TooBig && pf.af === 4 && !pf.df) {
      const frag = this.fragmenter;
      n = this.xmitOut(method, conns, slot, buf, frag.unbounded(hop), vaddr, vport, frag.frame, 0, frag.frame.length);
      return this.sendFragments(n, hop, out, cause, slot, FRAG_DIR_OUT);
    }
    if (this.emit(n, hop, out, cause, inPlace ? buf : null, at)) {
      this.forwardedSlot = slot;
      this.forwardedDir = FRAG_DIR_OUT;
      return true;
    }
    // FULLNAT replies are addressed to the director (a local address): answered from it, like client packets.
    if (n === -DropReason.TtlExceeded) return this.answerTtl(buf, true, out, cause);
    if (n === -DropReason.TooBig) return this.answerTooBig(buf, hop.mtu, false, true, out, cause);
    return false;
  }

  /**
   * Writes the real server → client frame (NAT or FULLNAT reply, source := vaddr:vport; FULLNAT's
   * client address in scratchB) towards hop into dst[at, at + room): its length or -DropReason.
   */
  private xmitOut(method: number, conns: ConnTable, slot: number, buf: Uint8Array, hop: NextHop, vaddr: Uint8Array,
    vport: number, dst: Uint8Array, at: number, room: number): number {
    const pf = this.pf;
    if (method === ForwardMethod.FullNat) {
      return xmitFullNatOut(buf, pf, hop, vaddr, 0, vport, this.scratchB, 0, conns.cport(slot), dst, at, room);
    }
    return xmitNatOut(buf, pf, hop, vaddr, 0, vport, dst, at, room);
  }

  /**
   * Commits the frame of length n an xmit function wrote (in the batch's slab, or in place in
   * inPlaceBuf at `at`), or counts its failure (n = -DropReason, 0 = no room). Also for icmp-relay-path.ts.
   */
  emit(n: number, hop: NextHop, out: OutputBatch, cause: number, inPlaceBuf: Uint8Array | null, at: number): boolean {
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

  /** The dest d's address equals the one at buf[off] (also for icmp-relay-path.ts). */
  destIs(d: number, buf: Uint8Array, off: number): boolean {
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

  /** Expires an entry before its time (conn_reuse_mode, expire_nodest_conn; also engine-control.ts's sweep). */
  expireNow(conns: ConnTable, slot: number): void {
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
