/**
 * Finds the virtual service of a packet by (family, protocol, destination address, port),
 * through a small chained hash over the services, without allocating.
 */
import type { VirtualService } from './virtual-service';

const BUCKETS = 256;

function addrWord(buf: Uint8Array, off: number): number {
  return ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0;
}

export class ServiceTable {
  readonly services: VirtualService[] = [];
  /** Firewall-mark services (few: looked up by a plain walk). */
  private readonly fwmarkServices: VirtualService[] = [];
  private readonly heads = new Int32Array(BUCKETS).fill(-1);
  /** Number of services with port 0 (the lookup then also tries port 0). */
  private portZero = 0;

  private static bucket(proto: number, fold: number, port: number): number {
    const h = Math.imul((fold ^ (proto << 24) ^ port) >>> 0, 0x9e3779b1) >>> 0;
    return h >>> 24;
  }

  private static foldWords(words: Uint32Array, af: number): number {
    return af === 4 ? words[0] : (words[0] ^ words[1] ^ words[2] ^ words[3]) >>> 0;
  }

  add(svc: VirtualService): void {
    this.services.push(svc);
    if (svc.fwmark !== 0) {
      this.fwmarkServices.push(svc);
      return;
    }
    const b = ServiceTable.bucket(svc.proto, ServiceTable.foldWords(svc.addr, svc.af), svc.port);
    svc.bucketNext = this.heads[b];
    this.heads[b] = svc.index;
    if (svc.port === 0) this.portZero++;
  }

  /** The service for a packet to (daddr at buf[dstOff], dport), or null. Exact port first, then port 0. */
  lookup(af: number, proto: number, buf: Uint8Array, dstOff: number, dport: number): VirtualService | null {
    const hit = this.find(af, proto, buf, dstOff, dport);
    if (hit !== null || this.portZero === 0 || dport === 0) return hit;
    return this.find(af, proto, buf, dstOff, 0);
  }

  /** Stops a service from matching packets (ipvsadm -D). Its index stays reserved. */
  remove(svc: VirtualService): void {
    const fw = this.fwmarkServices.indexOf(svc);
    if (fw >= 0) {
      this.fwmarkServices.splice(fw, 1);
      return;
    }
    const b = ServiceTable.bucket(svc.proto, ServiceTable.foldWords(svc.addr, svc.af), svc.port);
    if (this.heads[b] === svc.index) {
      this.heads[b] = svc.bucketNext;
    } else {
      for (let i = this.heads[b]; i >= 0; i = this.services[i].bucketNext) {
        const s = this.services[i];
        if (s.bucketNext === svc.index) {
          s.bucketNext = svc.bucketNext;
          break;
        }
      }
    }
    svc.bucketNext = -1;
    if (svc.port === 0) this.portZero--;
  }

  /** The firewall-mark service for (family, mark), or null. */
  lookupFwmark(af: number, mark: number): VirtualService | null {
    const list = this.fwmarkServices;
    for (let i = 0; i < list.length; i++) if (list[i].fwmark === mark && list[i].af === af) return list[i];
    return null;
  }

  private find(af: number, proto: number, buf: Uint8Array, dstOff: number, port: number): VirtualService | null {
    const w0 = addrWord(buf, dstOff);
    const fold = af === 4 ? w0 : (w0 ^ addrWord(buf, dstOff + 4) ^ addrWord(buf, dstOff + 8) ^ addrWord(buf, dstOff + 12)) >>> 0;
    for (let i = this.heads[ServiceTable.bucket(proto, fold, port)]; i >= 0; ) {
      const s = this.services[i];
      if (s.proto === proto && s.port === port && s.af === af && s.addr[0] === w0 &&
        (af === 4 || (s.addr[1] === addrWord(buf, dstOff + 4) && s.addr[2] === addrWord(buf, dstOff + 8) &&
          s.addr[3] === addrWord(buf, dstOff + 12)))) {
        return s;
      }
      i = s.bucketNext;
    }
    return null;
  }
}
