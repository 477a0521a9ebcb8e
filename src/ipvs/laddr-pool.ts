/**
 * FULLNAT local addresses and ports. Each local address has one port cursor (1025..65535,
 * wrapping) and, per transport protocol, a 65,536-entry array from local port to the
 * connection slot using it, which is both the "in use" check of allocation and the lookup of
 * replies (a reply is addressed to laddr:lport). Choices are deterministic, so a replay gives
 * the same ports every time.
 *
 * A port stride (setPortStride) makes the pool use only ports p with p % stride == offset: worker k
 * of N director processes allocates p % N == k, so a reply to a local address tells by its port
 * which worker holds the connection. The default stride 1 uses every port, in the same order.
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
  private stride = 1;
  private offset = 0;
  /** The first and last ports of the stride, and how many there are. */
  private firstPort = LPORT_MIN;
  private lastPort = LPORT_MAX;
  private portCount = LPORT_MAX - LPORT_MIN + 1;
  /** Where the cursor of an address added from now on starts. */
  private startPort = LPORT_MIN;

  /**
   * Uses only ports p with p % stride == offset from now on: each address's cursor moves up to
   * the next such port from `startAt` (default: from where it is). Ports already allocated stay
   * with their connections. A worker restarted by its master starts elsewhere than its previous
   * life did, so its first connections do not meet that life's TIME_WAIT entries on the real servers.
   */
  setPortStride(stride: number, offset: number, startAt?: number): void {
    if (!Number.isInteger(stride) || stride < 1 || stride > LPORT_MAX - LPORT_MIN + 1) {
      throw new RangeError(`port stride ${stride} is not 1 to ${LPORT_MAX - LPORT_MIN + 1}`);
    }
    if (!Number.isInteger(offset) || offset < 0 || offset >= stride) throw new RangeError(`port offset ${offset} is not 0 to ${stride - 1}`);
    this.stride = stride;
    this.offset = offset;
    this.firstPort = this.alignUp(LPORT_MIN);
    this.portCount = Math.floor((LPORT_MAX - this.firstPort) / stride) + 1;
    this.lastPort = this.firstPort + (this.portCount - 1) * stride;
    if (startAt !== undefined && (!Number.isInteger(startAt) || startAt < LPORT_MIN || startAt > LPORT_MAX)) {
      throw new RangeError(`start port ${startAt} is not ${LPORT_MIN} to ${LPORT_MAX}`);
    }
    this.startPort = startAt === undefined ? this.firstPort : this.alignUp(startAt);
    if (this.startPort > LPORT_MAX) this.startPort = this.firstPort;
    for (let i = 0; i < this.nextPort.length; i++) {
      const p = this.alignUp(startAt ?? this.nextPort[i]);
      this.nextPort[i] = p > LPORT_MAX ? this.firstPort : p;
    }
  }

  /** The smallest port >= p in the stride. */
  private alignUp(p: number): number {
    return p + ((this.offset - (p % this.stride) + this.stride) % this.stride);
  }

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
    this.nextPort.push(this.startPort);
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
      for (let tries = this.portCount; tries > 0; tries--) {
        const next = port === this.lastPort ? this.firstPort : port + this.stride;
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

  /**
   * Records `slot` as the user of laddr:port for `proto` without moving the cursor (a connection
   * restored from a snapshot keeps the pair it had). False when the pair is taken or out of range.
   */
  reserve(laddr: number, proto: number, port: number, slot: number): boolean {
    if (laddr < 0 || laddr >= this.owners.length || port < LPORT_MIN || port > LPORT_MAX) return false;
    const owners = this.owners[laddr][protoIndex(proto)];
    if (owners[port] !== 0) return false;
    owners[port] = slot + 1;
    return true;
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
