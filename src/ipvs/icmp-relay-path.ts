/**
 * ICMP error relaying (ip_vs_in_icmp / ip_vs_out_icmp; docs/forwarding.md "ICMP error relaying"):
 * an error whose quoted packet belongs to a connection goes to the other side of that connection,
 * through the connection's transmitter (DR, TUN) or translated (NAT, FULLNAT: xmit/icmp-relay.ts).
 * The engine's per-frame path for ICMP errors; it allocates nothing per frame.
 */
import { ForwardMethod } from '../control/config';
import { ICMP_HLEN } from '../wire/icmp';
import { icmpChecksumOk, parseQuotedPacket, QuotedPacket } from '../wire/icmp-quote';
import { DropReason, type ParsedFrame } from '../wire/parsed-frame';
import { xmitDirectRoute } from '../xmit/dr';
import { IcmpRewrite, xmitIcmpTranslated } from '../xmit/icmp-relay';
import type { NextHop } from '../xmit/next-hop';
import { xmitIpip } from '../xmit/tunnel';
import { CONN_METHOD_MASK, type ConnTable } from './conn-table';
import { DEST_AVAILABLE } from './dest-table';
import type { Engine } from './engine';
import type { OutputBatch } from './frame-batch';
import { ST_INBYTES, ST_INPKTS, ST_OUTBYTES, ST_OUTPKTS } from './stats';

export class IcmpRelayPath {
  private readonly quote = new QuotedPacket();
  private readonly rewrite = new IcmpRewrite();
  private readonly vaddr = new Uint8Array(16);
  private readonly caddr = new Uint8Array(16);

  /** pf: the engine's ParsedFrame, filled for the frame being relayed. */
  constructor(private readonly engine: Engine, private readonly pf: ParsedFrame) {}

  /**
   * An ICMP error (ip_vs_in_icmp / ip_vs_out_icmp): relayed to the other side of the connection
   * its quoted packet belongs to, counted as a packet of that connection (without touching its
   * state or timer). From the client's side the quote is a packet towards the client (VIP:vport ->
   * client:cport, what the real server or the director sent): the in lookup with the quote's
   * addresses reversed. From a NAT / FULLNAT real server's side the quote is a packet it received
   * (client -> RS, laddr -> RS): the reply lookups with them reversed. A quote that is cut before
   * its ports, is a later fragment, or matches nothing: not relayed.
   */
  relay(buf: Uint8Array, out: OutputBatch, cause: number): boolean {
    const e = this.engine;
    const pf = this.pf;
    const q = this.quote;
    // uvs does not reassemble: a fragmented error can not be checked.
    if (pf.fragment !== 0 || !parseQuotedPacket(buf, pf.l4Off + ICMP_HLEN, pf.l3Off + pf.ipTotalLen, pf.af, q)) {
      return e.drop(DropReason.IcmpNoConnection);
    }
    const conns = pf.af === 4 ? e.conns4 : e.conns6;
    let fromClient = true;
    let slot = conns.lookupIn(q.proto, buf, q.dstOff, q.dport, q.srcOff, q.sport);
    if (slot < 0 && e.replyingDests.length !== 0) {
      fromClient = false;
      slot = conns.lookupOut(q.proto, buf, q.srcOff, q.sport, e, q.dstOff, q.dport);
      if (slot < 0 && e.laddrs.addrs.length !== 0) slot = this.fullNatQuoteOwner(conns, buf);
    }
    if (slot < 0) return e.drop(DropReason.IcmpNoConnection);
    if (!icmpChecksumOk(buf, pf)) return e.drop(DropReason.BadIcmpChecksum);
    const d = conns.dest(slot);
    const dests = e.dests;
    // Neither ip_vs_in_icmp nor ip_vs_out_icmp asks whether the real server is still there: an
    // error about a deleted one's connection is relayed all the same (whatever expire_nodest_conn
    // says), and counted only while the server is available or drain_nodest_conn keeps it going.
    const counted = (dests.flags[d] & DEST_AVAILABLE) !== 0 || e.sysctls.drain_nodest_conn !== 0;
    if (!out.hasSlot()) return e.drop(DropReason.OutputFull);
    const method = conns.flags(slot) & CONN_METHOD_MASK;
    const rw = this.rewrite.clear();
    let hop: NextHop | null;
    let n: number;
    if (fromClient) {
      if (counted) e.countPacket(d, ST_INPKTS, ST_INBYTES, pf.ipTotalLen);
      hop = e.destHop[d];
      if (hop === null) return e.drop(DropReason.NoRoute);
      const rs = e.destAddrBytes[d];
      switch (method) {
        case ForwardMethod.Route:
        case ForwardMethod.Local:
          n = xmitDirectRoute(buf, pf, hop, out.buf, out.used, out.room());
          break;
        case ForwardMethod.Tunnel:
          n = xmitIpip(buf, pf, hop, rs, 0, dests.af[d], e.destIpId, d, out.buf, out.used, out.room());
          break;
        case ForwardMethod.Masq:
          // Outer destination VIP -> RS; the quote (VIP:vport -> client) becomes RS:rport -> client.
          rw.outerDst = rs;
          rw.quotedSrc = rs;
          rw.quotedSport = conns.dport(slot);
          n = xmitIcmpTranslated(buf, pf, q, rw, hop, out.buf, out.used, out.room());
          break;
        case ForwardMethod.FullNat: {
          // Both sides, as DPVS does: outer laddr -> RS, the quote RS:rport -> laddr:lport.
          const laddr = e.laddrs.bytes(conns.laddr(slot));
          rw.outerSrc = laddr;
          rw.outerDst = rs;
          rw.quotedSrc = rs;
          rw.quotedSport = conns.dport(slot);
          rw.quotedDst = laddr;
          rw.quotedDport = conns.lport(slot);
          n = xmitIcmpTranslated(buf, pf, q, rw, hop, out.buf, out.used, out.room());
          break;
        }
        default:
          n = -DropReason.NoRoute;
      }
    } else {
      if (counted) e.countPacket(d, ST_OUTPKTS, ST_OUTBYTES, pf.ipTotalLen);
      const vaddr = this.vaddr;
      conns.copyAddr(conns.vaddrAt(slot), vaddr);
      rw.outerSrc = vaddr;
      rw.quotedDst = vaddr;
      rw.quotedDport = conns.vport(slot);
      if (method === ForwardMethod.FullNat) {
        // Outer VIP -> client, the quote client:cport -> VIP:vport (what the client sent).
        const client = this.caddr;
        conns.copyAddr(conns.caddrAt(slot), client);
        rw.outerDst = client;
        rw.quotedSrc = client;
        rw.quotedSport = conns.cport(slot);
        hop = e.router.route(pf.af, client, 0);
      } else {
        // Outer source RS -> VIP (whoever sent it), the quote client -> VIP:vport.
        hop = e.router.route(pf.af, buf, pf.dstOff);
      }
      if (hop === null) return e.drop(DropReason.NoRoute);
      n = xmitIcmpTranslated(buf, pf, q, rw, hop, out.buf, out.used, out.room());
    }
    return e.emit(n, hop, out, cause, null, 0);
  }

  /** The FULLNAT connection whose local address:port sent the quoted packet (laddr:lport -> RS:rport). */
  private fullNatQuoteOwner(conns: ConnTable, buf: Uint8Array): number {
    const e = this.engine;
    const q = this.quote;
    const la = e.laddrs.find(this.pf.af, buf, q.srcOff);
    if (la < 0) return -1;
    const slot = e.laddrs.owner(la, q.proto, q.sport);
    if (slot < 0 || conns.proto(slot) !== q.proto) return -1;
    return e.destIs(conns.dest(slot), buf, q.dstOff) && conns.dport(slot) === q.dport ? slot : -1;
  }
}
