/**
 * FULLNAT local addresses and ports. Each local address has one port cursor (1025..65535,
 * wrapping) and, per transport protocol, a 65,536-entry array from local port to the
 * connection slot using it, which is both the "in use" check of allocation and the lookup of
 * replies (a reply is addressed to laddr:lport). Choices are deterministic, so a replay gives
 * the same ports every time.
 */
import type { IpAddress } from '../control/config';
import type { VirtualService } from './virtual-service';

export const LPORT_MIN = 1025;
export const LPORT_MAX = 65535;

function protoIndex(proto: number): number {
  return proto === 6 ? 0 : proto === 17 ? 1 : 2;
}

export class LocalAddressPool {
  readonly addrs: IpAddress[] = [];
  private readonly words: Uint32Array[] = [];
  private readonly nextPort: number[] = [];
  /** [laddr][protoIndex]: slot + 1 of the connection using each port, 0 = free. */
  private readonly owners: Int32Array[][] = [];
  /** Result of the last allocate(). */
  chosenAddr = -1;
  chosenPort = 0;

  /** Registers a local address (once per distinct address) and returns its index. */
  add(addr: IpAddress): number {
    const found = this.addrs.findIndex((a) => a.text === addr.text && a.af === addr.af);
    if (found >= 0) return found;
    this.addrs.push(addr);
    const w = new Uint32Array(4);
    for (let i = 0; i < addr.bytes.length; i += 4) {
      w[i >> 2] = ((addr.bytes[i] << 24) | (addr.bytes[i + 1] << 16) | (addr.bytes[i + 2] << 8) | addr.bytes[i + 3]) >>> 0;
    }
    this.words.push(w);
    this.nextPort.push(LPORT_MIN);
    this.owners.push([new Int32Array(65536), new Int32Array(65536), new Int32Array(65536)]);
    return this.addrs.length - 1;
  }

  /** Index of the local address at buf[off], or -1. */
  find(af: number, buf: Uint8Array, off: number): number {
    const w0 = ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0;
    for (let i = 0; i < this.words.length; i++) {
      const w = this.words[i];
      if (this.addrs[i].af !== af || w[0] !== w0) continue;
      if (af === 4) return i;
      let same = true;
      for (let k = 1; k < 4 && same; k++) {
        const o = off + 4 * k;
        same = w[k] === (((buf[o] << 24) | (buf[o + 1] << 16) | (buf[o + 2] << 8) | buf[o + 3]) >>> 0);
      }
      if (same) return i;
    }
    return -1;
  }

  /**
   * Picks a local address (round robin over the service's list, trying the others when one has
   * no free port) and a free port on it, records `slot` as its user, and leaves the choice in
   * chosenAddr / chosenPort. Returns false when every pair is in use.
   */
  allocate(svc: VirtualService, proto: number, slot: number): boolean {
    const n = svc.laddrs.length;
    if (n === 0) return false;
    const start = svc.laddrCursor % n;
    svc.laddrCursor = (start + 1) % n;
    const p = protoIndex(proto);
    for (let k = 0; k < n; k++) {
      const la = svc.laddrs[(start + k) % n];
      const owners = this.owners[la][p];
      let port = this.nextPort[la];
      for (let tries = LPORT_MAX - LPORT_MIN + 1; tries > 0; tries--) {
        const next = port === LPORT_MAX ? LPORT_MIN : port + 1;
        if (owners[port] === 0) {
          owners[port] = slot + 1;
          this.nextPort[la] = next;
          this.chosenAddr = la;
          this.chosenPort = port;
          return true;
        }
        port = next;
      }
    }
    return false;
  }

  release(laddr: number, proto: number, port: number): void {
    this.owners[laddr][protoIndex(proto)][port] = 0;
  }

  /** The connection slot using laddr:port for `proto`, or -1. */
  owner(laddr: number, proto: number, port: number): number {
    return this.owners[laddr][protoIndex(proto)][port] - 1;
  }

  /** Network-order bytes of a local address (for the rewriters). */
  bytes(laddr: number): Uint8Array {
    return this.addrs[laddr].bytes;
  }
}
