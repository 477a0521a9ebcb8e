/**
 * A Port is one link of a live director: frames come in as batches (views into memory the port
 * owns, no copy where the backend allows it) and go out through a transmit queue flushed once per
 * batch. Backends: AF_PACKET (TPACKET_V3 ring + sendmmsg), TUN/TAP, cap (libpcap), raw-socket
 * (layer 3 output). The director loop is the only code that knows both ports and the engine.
 *
 * The loop, per ready port:
 *   batch = port.receive()            frames, valid until port.release()
 *   engine over batch (in place)      rewritten frames may stay where they arrived
 *   egressPort.queue(buf, off, len)   for each output frame, onto its link's port
 *   egressPort.flush()                for each port that got frames
 *   port.release()                    the receive memory goes back (only after the flush,
 *                                     since queued frames may point into it)
 */

/** The frame's TCP/UDP checksum holds only the pseudo-header sum (TP_STATUS_CSUMNOTREADY): finish it. */
export const RX_CSUM_PARTIAL = 1;
/** Fewer bytes were captured than the frame had on the wire (snaplen < len, e.g. a GSO frame). */
export const RX_TRUNCATED = 2;

/** Frames received in one go. The arrays are preallocated by the port and refilled per batch. */
export class RxBatch {
  /** The buffer every frame of this batch lies in (a ring, or the port's read buffer). */
  buf: Uint8Array;
  readonly off: Int32Array;
  /** Captured bytes of each frame. */
  readonly len: Int32Array;
  /** Arrival time: whole seconds and nanoseconds (CLOCK_REALTIME, as the kernel stamps frames). */
  readonly sec: Uint32Array;
  readonly nsec: Uint32Array;
  /** RX_* bits per frame. */
  readonly flags: Uint8Array;
  count = 0;

  constructor(readonly capacity: number, buf: Uint8Array = new Uint8Array(0)) {
    this.buf = buf;
    this.off = new Int32Array(capacity);
    this.len = new Int32Array(capacity);
    this.sec = new Uint32Array(capacity);
    this.nsec = new Uint32Array(capacity);
    this.flags = new Uint8Array(capacity);
  }
}

export interface PortStats {
  /** Frames handed to the director. */
  rxFrames: number;
  /** Frames the kernel dropped before we could read them (ring full: the overload signal). */
  rxDropped: number;
  /** Frames the kernel accepted for transmission. */
  txFrames: number;
  /** Frames queued but not sent (queue full, EAGAIN/ENOBUFS, oversize). */
  txDropped: number;
}

export type PortKind = 'packet' | 'cap' | 'tun' | 'raw';

export interface Port {
  /** The link's name (the interface name, or the TUN device's). */
  readonly name: string;
  readonly kind: PortKind;
  /**
   * Frames written by transmit carry an Ethernet header (false: the port sends IP packets, and
   * drops the 14-byte header the engine wrote; TUN and raw ports).
   */
  readonly layer2: boolean;
  /**
   * The memory receive() hands out, when it is stable for the port's life (a mapped ring), so
   * other ports can send frames rewritten in it without a copy; null when it is not.
   */
  readonly rxMemory: Uint8Array | null;
  /** Lets queue() reference frames in `memory` (another port's rxMemory, an output slab) without a copy. */
  addTxRegion(memory: Uint8Array): void;
  /** Starts watching for frames: onReadable runs on the event loop when receive() may return frames. */
  start(onReadable: () => void): void;
  /** The next batch of received frames, or null when none is waiting. Call release() before the next receive(). */
  receive(): RxBatch | null;
  /** Gives the last batch's memory back to the port. */
  release(): void;
  /**
   * Queues one frame for transmission (referenced when it lies in a tx region, else copied);
   * false when the queue is full: flush() and try again, or count a drop.
   */
  queue(buf: Uint8Array, off: number, len: number): boolean;
  /** Sends everything queued; returns how many frames the kernel took (the rest count as txDropped). */
  flush(): number;
  stats(): PortStats;
  /** Stops watching and closes the device or socket. Safe to call twice. */
  close(): void;
}
