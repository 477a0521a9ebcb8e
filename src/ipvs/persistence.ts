/**
 * Persistence (ipvs-facts section 3): a template entry remembers "this client network goes to
 * that real server" for the service's timeout. Keys, as ip_vs_sched_persist() builds them:
 *   packet dport == service port (not 21):  (proto, masked client, 0, VIP, service port), dport = dest port
 *   FTP (21), port-0 service, other ports:  (proto, masked client, 0, VIP, 0),            dport = 0
 *   fwmark service:                          (0 "IP", masked client, 0, fwmark as an address, 0)
 * A template whose dest is gone is invalidated and a new one made; one whose dest has weight 0
 * or is overloaded still holds (expire_quiescent_template = 0).
 */
import type { ParsedFrame } from '../wire/parsed-frame';
import { CONN_F_TEMPLATE, type ConnTable } from './conn-table';
import { DEST_AVAILABLE, type DestTable } from './dest-table';
import type { SchedPacket } from '../sched/scheduler';
import type { VirtualService } from './virtual-service';

const FTP_PORT = 21;
/** Offsets in the key scratch: masked client address, then the template's virtual address. */
const CLIENT = 0;
const VIRTUAL = 16;

/** Result codes besides a template slot. */
export const NO_DESTINATION = -1;
export const TABLE_FULL = -2;

export class Persistence {
  private readonly key = new Uint8Array(32);
  private keyProto = 0;
  private keyVport = 0;
  private keyPortIsService = false;

  /**
   * The usable template for the packet's client on `svc`, found or created (scheduling a dest for a
   * new one). Returns the template slot, NO_DESTINATION or TABLE_FULL.
   */
  template(conns: ConnTable, svc: VirtualService, dests: DestTable, buf: Uint8Array, pf: ParsedFrame,
    sp: SchedPacket, now: number): number {
    this.buildKey(svc, buf, pf);
    const key = this.key;
    const proto = this.keyProto;
    const vport = this.keyVport;
    let t = conns.lookupTemplate(proto, key, CLIENT, VIRTUAL, vport);
    if (t >= 0 && (dests.flags[conns.dest(t)] & DEST_AVAILABLE) === 0) {
      // Its real server was deleted: never match it again, let it expire, schedule afresh.
      conns.invalidateTemplate(t);
      t = -1;
    }
    if (t >= 0) return t;
    const d = svc.scheduler.schedule(sp);
    if (d < 0) return NO_DESTINATION;
    const timeout = svc.timeout * 1000;
    t = conns.create(proto, key, CLIENT, 0, VIRTUAL, vport, d, this.keyPortIsService ? dests.port[d] : 0,
      CONN_F_TEMPLATE | dests.method[d], now + timeout);
    if (t < 0) return TABLE_FULL;
    conns.setTemplateTimeout(t, timeout);
    dests.persistConns[d]++;
    dests.touch(d);
    return t;
  }

  /** The template that would hold the packet's client (usable or not), without changing anything; -1 if none. */
  peek(conns: ConnTable, svc: VirtualService, buf: Uint8Array, pf: ParsedFrame): number {
    this.buildKey(svc, buf, pf);
    return conns.lookupTemplate(this.keyProto, this.key, CLIENT, VIRTUAL, this.keyVport);
  }

  /**
   * Fills the key scratch for the packet (masked client, virtual address) and keyProto, keyVport,
   * keyPortIsService.
   */
  private buildKey(svc: VirtualService, buf: Uint8Array, pf: ParsedFrame): void {
    const key = this.key;
    const af = pf.af;
    this.maskClient(buf, pf.srcOff, af, svc.netmask);
    let proto = pf.proto;
    let vport = 0;
    let portIsService = false;
    if (pf.dport === svc.port && svc.fwmark === 0) {
      if (svc.port !== FTP_PORT) {
        vport = svc.port;
        portIsService = true;
      }
      this.copyVirtual(buf, pf.dstOff, af);
    } else if (svc.fwmark !== 0) {
      proto = 0;
      key.fill(0, VIRTUAL, VIRTUAL + 16);
      key[VIRTUAL] = svc.fwmark >>> 24;
      key[VIRTUAL + 1] = (svc.fwmark >>> 16) & 0xff;
      key[VIRTUAL + 2] = (svc.fwmark >>> 8) & 0xff;
      key[VIRTUAL + 3] = svc.fwmark & 0xff;
    } else {
      this.copyVirtual(buf, pf.dstOff, af);
    }
    this.keyProto = proto;
    this.keyVport = vport;
    this.keyPortIsService = portIsService;
  }

  private maskClient(buf: Uint8Array, off: number, af: number, netmask: number): void {
    const key = this.key;
    if (af === 4) {
      key[CLIENT] = buf[off] & (netmask >>> 24);
      key[CLIENT + 1] = buf[off + 1] & ((netmask >>> 16) & 0xff);
      key[CLIENT + 2] = buf[off + 2] & ((netmask >>> 8) & 0xff);
      key[CLIENT + 3] = buf[off + 3] & (netmask & 0xff);
      return;
    }
    // IPv6: keep the first `netmask` bits (a prefix length, 1..128).
    for (let i = 0; i < 16; i++) {
      const bits = netmask - 8 * i;
      const mask = bits >= 8 ? 0xff : bits <= 0 ? 0 : (0xff << (8 - bits)) & 0xff;
      key[CLIENT + i] = buf[off + i] & mask;
    }
  }

  private copyVirtual(buf: Uint8Array, off: number, af: number): void {
    const n = af === 4 ? 4 : 16;
    for (let i = 0; i < n; i++) this.key[VIRTUAL + i] = buf[off + i];
  }
}
