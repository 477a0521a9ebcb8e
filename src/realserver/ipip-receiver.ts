/**
 * Receives IP-in-IPv4 packets addressed to this host through raw sockets for protocols 4 and 41
 * and hands each inner packet to a layer-3 sink (the decap TUN device).
 *
 * A raw socket bound to a protocol gets a copy of every packet of that protocol the host accepts
 * for local delivery (reassembled, outer header included). It also means the kernel no longer
 * answers such packets with ICMP "protocol unreachable" when it has no handler of its own (no
 * ipip/sit module), since a raw socket took them. With a device given, the sockets are bound to it
 * (SO_BINDTODEVICE): packets that arrived on other interfaces are not ours, and the kernel treats
 * them as before (protocol unreachable where no module handles them).
 *
 * Per wake-up: read until the socket is empty (the last read fails with EAGAIN, which raw-socket
 * throws: one Error per wake-up), decapsulate each packet in place and queue it on the sink, then
 * flush the sink once. Per packet raw-socket allocates the source address string it passes to the
 * callback (unused here); the receive buffer and everything else is preallocated.
 */
import { SocketLevel, SocketOption, type Socket } from 'raw-socket';
import { bindRawSocketToDevice, openRawSocket } from '../io/raw-port';
import { DECAP_DELIVER, DecapCounters, DecapSpan, decapIpip, IPPROTO_IPIP, IPPROTO_IPV6 } from './ipip-decap';

/** Where inner packets go: queue() takes a frame with a 14-byte Ethernet header in front (a layer-3 Port). */
export interface DecapSink {
  queue(buf: Uint8Array, off: number, len: number): boolean;
  flush(): number;
}

export interface IpipReceiverOptions {
  /** Only packets that arrived on this interface. */
  device?: string;
  /** Largest inner packet delivered (default 65535). */
  maxInner?: number;
  /** Reads per wake-up before yielding to the event loop (default 256). */
  maxPerWakeup?: number;
  /** SO_RCVBUF of each socket (default 4 MiB; the kernel caps it at net.core.rmem_max). */
  receiveBufferBytes?: number;
  /** Called when a socket reports an error on its poll handle (raw-socket then closes that socket). */
  onError?: (message: string) => void;
}

const ETH_HLEN = 14;

export class IpipReceiver {
  readonly counters = new DecapCounters();
  private readonly sockets: Socket[] = [];
  private readonly buf = Buffer.alloc(65536);
  private readonly span = new DecapSpan();
  private readonly maxInner: number;
  private readonly maxPerWakeup: number;
  private lastBytes = 0;
  private readonly onMessage = (_buf: Uint8Array, bytes: number): void => {
    this.lastBytes = bytes;
  };
  private closed = false;

  constructor(
    private readonly sink: DecapSink,
    options: IpipReceiverOptions = {},
  ) {
    this.maxInner = options.maxInner ?? 65535;
    this.maxPerWakeup = options.maxPerWakeup ?? 256;
    const what = 'realserver decap';
    try {
      for (const protocol of [IPPROTO_IPIP, IPPROTO_IPV6]) {
        const socket = openRawSocket(protocol, false, what);
        this.sockets.push(socket);
        if (options.device !== undefined) bindRawSocketToDevice(socket, options.device, what);
        try {
          socket.setOption(SocketLevel.SOL_SOCKET, SocketOption.SO_RCVBUF, options.receiveBufferBytes ?? 4 << 20);
        } catch {
          // A smaller buffer only means drops under bursts.
        }
        // Replace raw-socket's own reader (one Buffer slice and 'message' event per packet) with ours.
        socket.wrap.removeAllListeners('recvReady');
        socket.wrap.on('recvReady', () => this.drain(socket));
        const onError = options.onError;
        if (onError !== undefined) socket.on('error', (e) => onError(`protocol ${protocol} socket: ${e.message}`));
      }
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** Stops receiving and closes the sockets. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.sockets) s.close();
  }

  private drain(socket: Socket): void {
    if (this.closed) return;
    const buf = this.buf;
    const span = this.span;
    const counters = this.counters;
    let queued = 0;
    for (let i = 0; i < this.maxPerWakeup; i++) {
      try {
        socket.wrap.recv(buf, this.onMessage);
      } catch {
        break; // EAGAIN: nothing more waiting (or a receive error: the next wake-up retries)
      }
      counters.received++;
      const verdict = decapIpip(buf, 0, this.lastBytes, this.maxInner, span);
      if (verdict !== DECAP_DELIVER) {
        counters.count(verdict);
        continue;
      }
      // The sink wants an Ethernet header in front: the outer IPv4 header (>= 20 bytes) has room for it.
      const at = span.off - ETH_HLEN;
      buf[at + 12] = span.version === 6 ? 0x86 : 0x08;
      buf[at + 13] = span.version === 6 ? 0xdd : 0x00;
      if (!this.sink.queue(buf, at, span.len + ETH_HLEN)) {
        this.flush(queued);
        queued = 0;
        if (!this.sink.queue(buf, at, span.len + ETH_HLEN)) {
          counters.tunRefused++;
          continue;
        }
      }
      queued++;
    }
    this.flush(queued);
  }

  private flush(queued: number): void {
    if (queued === 0) return;
    const sent = this.sink.flush();
    this.counters.delivered += sent;
    this.counters.tunRefused += queued - sent;
  }
}
