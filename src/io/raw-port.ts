/**
 * A Port that sends IP packets through raw sockets (the `raw-socket` package): layer-3 output
 * for traffic the kernel should route and resolve neighbours for itself, e.g. IPIP outer packets
 * to real servers behind a router, or NAT replies toward a gateway that has no static neighbour
 * entry. Output only: receive() never has frames.
 *
 * Frames arrive with the Ethernet header the engine wrote; the port sends the IP packet after it
 * with the header included (IPv4: IPPROTO_RAW, which implies IP_HDRINCL; IPv6: IPPROTO_RAW, which
 * Linux treats as IPV6_HDRINCL), to the packet's own destination address, which decides the route.
 * What the kernel still does to an included IPv4 header: sets total length to the bytes sent (so
 * we send exactly the header's total length, never Ethernet padding) and recomputes the header
 * checksum; fills the source when it is 0 and the ID when it is 0 and DF is clear.
 *
 * Per packet, raw-socket costs one sendto() and wants the destination as a string: strings are
 * made once per address and cached by the address bytes (address-string-cache.ts). Inside the
 * addon each send also parses that string and creates and frees one persistent handle for the
 * completion callback (C++ side, no JavaScript garbage). A failed send throws, which allocates an
 * Error: the error path only (a counted drop).
 */
import { createSocket, AddressFamily, SocketLevel, SocketOption, type Socket } from 'raw-socket';
import { Ipv4StringCache, Ipv6StringCache } from './address-string-cache';
import { RxBatch, type Port, type PortStats } from './port';

export interface RawPortOptions {
  /** Send only through this interface (SO_BINDTODEVICE); omitted: wherever the route points. */
  device?: string;
  /** Also open an IPv6 raw socket (default true); an IPv6 frame on a port without one is a counted drop. */
  ipv6?: boolean;
  /** Frames the transmit queue holds (default 256). */
  txFrames?: number;
  /** Bytes for copies of frames that lie outside the tx regions (default 512 KiB). */
  txBytes?: number;
}

const IPPROTO_RAW = 255;
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const FAMILY_V4 = 4;
const FAMILY_V6 = 6;

/** Opens a raw socket for `protocol`, with an error that says what to check when it fails. */
export function openRawSocket(protocol: number, ipv6: boolean, what: string): Socket {
  try {
    const socket = createSocket({ protocol, addressFamily: ipv6 ? AddressFamily.IPv6 : AddressFamily.IPv4 });
    // Errors reported on the poll handle are emitted on the Socket; without a listener they would throw.
    socket.on('error', () => undefined);
    return socket;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const hint = /permitted|permission/i.test(msg)
      ? ' (raw sockets need root or CAP_NET_RAW)'
      : ipv6 && /family|protocol not supported/i.test(msg)
        ? ' (IPv6 is disabled on this host)'
        : '';
    throw new Error(`${what}: cannot open a raw ${ipv6 ? 'IPv6' : 'IPv4'} socket for protocol ${protocol}: ${msg}${hint}`);
  }
}

/** Binds a raw socket to one interface (Linux SO_BINDTODEVICE), with a clear error. */
export function bindRawSocketToDevice(socket: Socket, device: string, what: string): void {
  const option = SocketOption.SO_BINDTODEVICE;
  if (option === undefined) throw new Error(`${what}: binding to device ${device} needs Linux (SO_BINDTODEVICE)`);
  const name = Buffer.from(`${device}\0`, 'latin1');
  try {
    socket.setOption(SocketLevel.SOL_SOCKET, option, name, name.length);
  } catch (e) {
    throw new Error(`${what}: cannot bind to device '${device}': ${e instanceof Error ? e.message : String(e)}`);
  }
}

export class RawPort implements Port {
  readonly kind = 'raw' as const;
  readonly layer2 = false;
  readonly rxMemory: Uint8Array | null = null;

  private readonly v4: Socket;
  private readonly v6: Socket | null;
  private readonly v4Names = new Ipv4StringCache();
  private readonly v6Names = new Ipv6StringCache();
  private readonly regions: Uint8Array[] = [];
  private readonly slab: Uint8Array;
  private slabUsed = 0;

  /** The queue: each packet's buffer (a tx region or the slab), IP header offset, length, family. */
  private readonly txBuf: Uint8Array[];
  private readonly txOff: Int32Array;
  private readonly txLen: Int32Array;
  private readonly txFamily: Uint8Array;
  private txCount = 0;

  private onReadable: (() => void) | null = null;
  private readonly afterSend = (): void => undefined;
  private closed = false;

  private txFrames = 0;
  private txDropped = 0;
  /** The text of the last failed send (diagnostics; null when none failed). */
  lastSendError: string | null = null;

  constructor(readonly name: string, options: RawPortOptions = {}) {
    const frames = options.txFrames ?? 256;
    const bytes = options.txBytes ?? 512 * 1024;
    if (!Number.isInteger(frames) || frames <= 0) throw new Error(`raw port ${name}: txFrames must be a positive integer`);
    if (!Number.isInteger(bytes) || bytes < 65536) throw new Error(`raw port ${name}: txBytes must be an integer >= 65536`);
    this.slab = new Uint8Array(bytes);
    this.txBuf = new Array<Uint8Array>(frames).fill(this.slab);
    this.txOff = new Int32Array(frames);
    this.txLen = new Int32Array(frames);
    this.txFamily = new Uint8Array(frames);

    const what = `raw port ${name}`;
    this.v4 = openRawSocket(IPPROTO_RAW, false, what);
    let v6: Socket | null = null;
    try {
      if (options.ipv6 ?? true) v6 = openRawSocket(IPPROTO_RAW, true, what);
      if (options.device !== undefined) {
        bindRawSocketToDevice(this.v4, options.device, what);
        if (v6 !== null) bindRawSocketToDevice(v6, options.device, what);
      }
    } catch (e) {
      this.v4.close();
      if (v6 !== null) v6.close();
      throw e;
    }
    this.v6 = v6;
    // Output only: stop watching the sockets (an IPPROTO_RAW socket never receives anyway), so
    // they do not keep the event loop alive and no readiness callbacks run.
    this.v4.wrap.pause(true, true);
    if (this.v6 !== null) this.v6.wrap.pause(true, true);
  }

  addTxRegion(memory: Uint8Array): void {
    this.regions.push(memory);
  }

  /** Remembers the callback only: a raw port has nothing to receive. */
  start(onReadable: () => void): void {
    this.onReadable = onReadable;
  }

  receive(): RxBatch | null {
    return null;
  }

  release(): void {
    // Nothing is ever handed out.
  }

  queue(buf: Uint8Array, off: number, len: number): boolean {
    const i = this.txCount;
    if (i === this.txLen.length) return false;
    if (off < 0 || len < 14 || off + len > buf.length) return this.drop();
    const ip = off + 14;
    const avail = len - 14;
    const type = (buf[off + 12] << 8) | buf[off + 13];
    let ipLen: number;
    let family: number;
    if (type === ETHERTYPE_IPV4) {
      if (avail < 20 || buf[ip] >> 4 !== 4) return this.drop();
      ipLen = (buf[ip + 2] << 8) | buf[ip + 3];
      if (ipLen < (buf[ip] & 15) * 4 || (buf[ip] & 15) < 5 || ipLen > avail) return this.drop();
      family = FAMILY_V4;
    } else if (type === ETHERTYPE_IPV6) {
      if (this.v6 === null || avail < 40 || buf[ip] >> 4 !== 6) return this.drop();
      const payload = (buf[ip + 4] << 8) | buf[ip + 5];
      ipLen = 40 + payload;
      if (payload === 0 || ipLen > avail) return this.drop();
      family = FAMILY_V6;
    } else {
      return this.drop();
    }

    if (this.inTxRegion(buf)) {
      this.txBuf[i] = buf;
      this.txOff[i] = ip;
    } else {
      const at = this.slabUsed;
      if (at + ipLen > this.slab.length) return false;
      const slab = this.slab;
      // A byte loop: TypedArray.set across buffers would need a subarray view (an allocation) per frame.
      for (let j = 0; j < ipLen; j++) slab[at + j] = buf[ip + j];
      this.slabUsed = at + ipLen;
      this.txBuf[i] = slab;
      this.txOff[i] = at;
    }
    this.txLen[i] = ipLen;
    this.txFamily[i] = family;
    this.txCount = i + 1;
    return true;
  }

  flush(): number {
    const n = this.txCount;
    this.txCount = 0;
    this.slabUsed = 0;
    if (this.closed) {
      this.txDropped += n;
      return 0;
    }
    let sent = 0;
    for (let i = 0; i < n; i++) {
      const buf = this.txBuf[i];
      const ip = this.txOff[i];
      try {
        if (this.txFamily[i] === FAMILY_V4) {
          this.v4.wrap.send(buf, ip, this.txLen[i], this.v4Names.get(buf, ip + 16), this.afterSend);
        } else if (this.v6 !== null) {
          this.v6.wrap.send(buf, ip, this.txLen[i], this.v6Names.get(buf, ip + 24), this.afterSend);
        }
        sent++;
      } catch (e) {
        // EAGAIN/ENOBUFS (socket buffer full), ENETUNREACH (no route), EMSGSIZE (over the route MTU).
        this.txDropped++;
        this.lastSendError = e instanceof Error ? e.message : String(e);
      }
      this.txBuf[i] = this.slab;
    }
    this.txFrames += sent;
    return sent;
  }

  stats(): PortStats {
    return { rxFrames: 0, rxDropped: 0, txFrames: this.txFrames, txDropped: this.txDropped };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onReadable = null;
    this.v4.close();
    if (this.v6 !== null) this.v6.close();
  }

  /** Whether a callback was given to start() (the port never calls it: it has nothing to receive). */
  get started(): boolean {
    return this.onReadable !== null;
  }

  private inTxRegion(buf: Uint8Array): boolean {
    const regions = this.regions;
    for (let r = 0; r < regions.length; r++) {
      const m = regions[r];
      if (buf.buffer === m.buffer && buf.byteOffset >= m.byteOffset && buf.byteOffset + buf.length <= m.byteOffset + m.length) {
        return true;
      }
    }
    return false;
  }

  /** A frame that cannot be sent as an IP packet (too short, not IPv4/IPv6, lengths wrong): counted, consumed. */
  private drop(): boolean {
    this.txDropped++;
    return true;
  }
}
