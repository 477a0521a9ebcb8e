/**
 * A Port over libpcap through the `cap` package: the portable capture-and-inject backend, chosen
 * per link where AF_PACKET rings are unavailable or unwanted. Slower than the native ring (every
 * frame is copied twice on receive and costs one JavaScript callback and one send syscall), but it
 * needs nothing beyond libpcap.
 *
 * Receive: cap reads every waiting packet in one go on the event loop and calls emit('packet',
 * nbytes, truncated) for each, after copying it into the one receive buffer handed to open(). We
 * override emit (cap looks it up when the handle is constructed) and copy each frame into the
 * batch being filled; onReadable runs once per event-loop turn (one setImmediate per turn with
 * frames, not per packet). Two batches alternate, so frames arriving while the director holds
 * one batch go into the other.
 *
 * Memory: cap's receive buffer, both batches and the transmit slots lie in one ArrayBuffer, so a
 * frame moves inside it with copyWithin (memmove, no allocation). Frames queued from another
 * port's memory are copied byte by byte (a cross-buffer TypedArray.set would need a subarray view
 * per frame). cap.send() sends from the start of the view it is given, so each transmit slot has
 * its own view made once at open.
 *
 * Limits of cap 0.2.x: no pcap timestamps (the frames read in one event-loop turn are stamped
 * with the time they were read), no pcap_stats (rxDropped counts frames we could not take because
 * the batch being filled was full, not libpcap's ps_drop), no direction setting (the libpcap
 * filter primitive `inbound` is used), no checksum status (RX_CSUM_PARTIAL is never set: turn tx
 * offloads off on links it serves). What allocates: nothing per frame on our side; per turn with
 * frames one setImmediate and one performance.now(); inside cap, its per-packet callback into
 * JavaScript (measured: a few 1 MB scavenges per 100k packets, start-up included).
 *
 * A libpcap quirk (1.10, Linux): after a filter is set, the ring block being filled is filtered
 * again in userland, where BPF cannot read the packet type that `inbound` tests; so with
 * inboundOnly (the default) the frames of the first block after open are lost, in immediate mode
 * typically the first frame that passes the filter. Later blocks are filtered in the kernel only.
 */
import { Cap } from 'cap';
import { performance } from 'node:perf_hooks';
import { RX_TRUNCATED, RxBatch, type Port, type PortStats } from './port';

export interface CapPortOptions {
  /** libpcap filter (pcap-filter(7) syntax); empty or omitted: every frame. */
  filter?: string;
  /** Only frames the interface received (libpcap's `inbound`), not the ones the host sent. Default true. */
  inboundOnly?: boolean;
  /**
   * Frames one batch holds (default 1024). cap reads everything waiting in one go, so a burst
   * larger than a batch between two turns of the event loop is dropped (counted in rxDropped).
   */
  batchFrames?: number;
  /** Bytes one batch holds (default 1 MiB). */
  batchBytes?: number;
  /** libpcap's kernel buffer (default 4 MiB). */
  kernelBufferBytes?: number;
  /** Frames the transmit queue holds (default 256). */
  txFrames?: number;
  /** Largest frame queue() accepts (default 2048 bytes; more for jumbo frames). */
  txFrameBytes?: number;
}

/** cap's snap length (fixed in the addon) and so the size of its receive buffer. */
const CAP_SNAPLEN = 65535;

/**
 * cap handles whose open() failed. The addon leaves a half-open handle behind, and its destructor
 * (on garbage collection) or close() would then stop a poll handle that was never started and
 * crash the process; keeping a reference means they are never collected. An error path only.
 */
const failedHandles: Cap[] = [];

/** A cap handle that hands each captured packet straight to its port (no EventEmitter, no rest array). */
class CapHandle extends Cap {
  port: CapPort | null = null;
  /**
   * The memory cap copies packets into: the addon keeps only a raw pointer to it, so the handle
   * must keep it alive for as long as it may capture (a collected buffer would be written after free).
   */
  memory: Uint8Array | null = null;

  override emit(_event: string, nbytes: number, truncated: boolean): boolean {
    if (this.port !== null) this.port.takeFrame(nbytes, truncated);
    return true;
  }
}

export class CapPort implements Port {
  readonly kind = 'cap' as const;
  readonly layer2 = true;
  readonly rxMemory: Uint8Array | null = null;

  /** Everything: [cap's receive buffer | batch A | batch B | tx slots]. */
  private readonly memory: Uint8Array;
  private readonly handle: CapHandle;
  private readonly batches: [RxBatch, RxBatch];
  private readonly batchBase: Int32Array;
  private filling = 0;
  private fillBytes = 0;
  private handedOut = -1;

  private readonly txBase: number;
  private readonly txSlotBytes: number;
  private readonly txViews: Uint8Array[];
  private readonly txLen: Int32Array;
  private txCount = 0;

  private onReadable: (() => void) | null = null;
  /** Set while a turn has frames: onReadable runs at its end (setImmediate), once. */
  private immediate: NodeJS.Immediate | null = null;
  private stampSec = 0;
  private stampNsec = 0;
  private stamped = false;
  private readonly fire = (): void => this.fireReadable();
  private closed = false;

  private rxFrames = 0;
  private rxOverflow = 0;
  private txFrames = 0;
  private txDropped = 0;

  /** libpcap's link type name for the device (always 'ETHERNET' once open succeeded). */
  readonly linkType: string;

  constructor(readonly name: string, options: CapPortOptions = {}) {
    const batchFrames = positive(options.batchFrames ?? 1024, 'batchFrames');
    const batchBytes = positive(options.batchBytes ?? 1024 * 1024, 'batchBytes');
    const txFrames = positive(options.txFrames ?? 256, 'txFrames');
    this.txSlotBytes = positive(options.txFrameBytes ?? 2048, 'txFrameBytes');
    if (this.txSlotBytes < 14 || this.txSlotBytes > CAP_SNAPLEN) {
      throw new Error(`cap port ${name}: txFrameBytes must be 14..${CAP_SNAPLEN}, not ${this.txSlotBytes}`);
    }
    const rxBytes = CAP_SNAPLEN + 1;
    this.txBase = rxBytes + 2 * batchBytes;
    const ab = new ArrayBuffer(this.txBase + txFrames * this.txSlotBytes);
    this.memory = new Uint8Array(ab);
    this.batchBase = Int32Array.of(rxBytes, rxBytes + batchBytes);
    this.batches = [
      new RxBatch(batchFrames, new Uint8Array(ab, rxBytes, batchBytes)),
      new RxBatch(batchFrames, new Uint8Array(ab, rxBytes + batchBytes, batchBytes)),
    ];
    this.txViews = [];
    for (let i = 0; i < txFrames; i++) this.txViews.push(new Uint8Array(ab, this.txBase + i * this.txSlotBytes, this.txSlotBytes));
    this.txLen = new Int32Array(txFrames);

    const inbound = options.inboundOnly ?? true;
    const user = (options.filter ?? '').trim();
    const filter = inbound ? (user === '' ? 'inbound' : `inbound and (${user})`) : user;
    const kernelBytes = positive(options.kernelBufferBytes ?? 4 * 1024 * 1024, 'kernelBufferBytes');

    this.handle = new CapHandle();
    this.handle.memory = this.memory;
    let linkType: string;
    try {
      linkType = this.handle.open(name, filter, kernelBytes, new Uint8Array(ab, 0, CAP_SNAPLEN));
    } catch (e) {
      failedHandles.push(this.handle);
      throw new Error(`cap port ${name}: cannot open${filter === '' ? '' : ` with filter '${filter}'`}: ${explain(e)}`);
    }
    if (linkType !== 'ETHERNET') {
      this.handle.close();
      throw new Error(`cap port ${name}: link type ${linkType} is not Ethernet`);
    }
    this.linkType = linkType;
    this.handle.port = this;
  }

  /** Called by the cap handle for each packet, which lies at the start of the memory. */
  takeFrame(nbytes: number, truncated: boolean): void {
    const b = this.batches[this.filling];
    if (b.count === b.capacity || this.fillBytes + nbytes > b.buf.length) {
      this.rxOverflow++;
      return;
    }
    if (!this.stamped) {
      // The first frame of this event-loop turn: cap reads all waiting frames in one go, so they
      // share one arrival time (performance.now() allocates, so not per frame).
      const t = performance.timeOrigin + performance.now();
      this.stampSec = Math.floor(t / 1000);
      this.stampNsec = Math.floor((t - this.stampSec * 1000) * 1e6);
      this.stamped = true;
    }
    if (this.immediate === null) this.immediate = setImmediate(this.fire);
    const i = b.count;
    this.memory.copyWithin(this.batchBase[this.filling] + this.fillBytes, 0, nbytes);
    b.off[i] = this.fillBytes;
    b.len[i] = nbytes;
    b.sec[i] = this.stampSec;
    b.nsec[i] = this.stampNsec;
    b.flags[i] = truncated ? RX_TRUNCATED : 0;
    b.count = i + 1;
    this.fillBytes += nbytes;
  }

  addTxRegion(_memory: Uint8Array): void {
    // Nothing to register: cap sends from the start of a view, so every frame is copied into a slot.
  }

  start(onReadable: () => void): void {
    this.onReadable = onReadable;
    if (this.batches[this.filling].count > 0 && this.immediate === null && !this.closed) this.immediate = setImmediate(this.fire);
  }

  receive(): RxBatch | null {
    if (this.handedOut >= 0) this.release();
    const b = this.batches[this.filling];
    if (b.count === 0) return null;
    this.handedOut = this.filling;
    this.filling ^= 1;
    this.fillBytes = 0;
    this.rxFrames += b.count;
    return b;
  }

  release(): void {
    if (this.handedOut < 0) return;
    this.batches[this.handedOut].count = 0;
    this.handedOut = -1;
  }

  queue(buf: Uint8Array, off: number, len: number): boolean {
    if (len < 14 || len > this.txSlotBytes || off < 0 || off + len > buf.length) {
      this.txDropped++;
      return true;
    }
    const i = this.txCount;
    if (i === this.txLen.length) return false;
    const dst = this.txBase + i * this.txSlotBytes;
    const mem = this.memory;
    if (buf.buffer === mem.buffer) {
      mem.copyWithin(dst, buf.byteOffset + off, buf.byteOffset + off + len);
    } else {
      for (let j = 0; j < len; j++) mem[dst + j] = buf[off + j];
    }
    this.txLen[i] = len;
    this.txCount = i + 1;
    return true;
  }

  flush(): number {
    const n = this.txCount;
    this.txCount = 0;
    if (this.closed) {
      this.txDropped += n;
      return 0;
    }
    let sent = 0;
    for (let i = 0; i < n; i++) {
      try {
        this.handle.send(this.txViews[i], this.txLen[i]);
        sent++;
      } catch {
        // pcap_sendpacket failed (EAGAIN/ENOBUFS on a full queue, the link went down): a counted drop.
        this.txDropped++;
      }
    }
    this.txFrames += sent;
    return sent;
  }

  stats(): PortStats {
    return { rxFrames: this.rxFrames, rxDropped: this.rxOverflow, txFrames: this.txFrames, txDropped: this.txDropped };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handle.port = null;
    this.handle.close();
    if (this.immediate !== null) clearImmediate(this.immediate);
    this.immediate = null;
    this.onReadable = null;
  }

  private fireReadable(): void {
    this.immediate = null;
    this.stamped = false;
    if (this.onReadable === null || this.batches[this.filling].count === 0) return;
    this.onReadable();
    // Frames the callback left waiting (it took one batch only): come back next turn.
    if (this.immediate === null && this.onReadable !== null && this.batches[this.filling].count > 0) {
      this.immediate = setImmediate(this.fire);
    }
  }
}

function positive(v: number, what: string): number {
  if (!Number.isInteger(v) || v <= 0) throw new Error(`cap port: ${what} must be a positive integer, not ${v}`);
  return v;
}

function explain(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  if (/permitted|permission/i.test(msg)) return `${msg} (capturing needs root or CAP_NET_RAW)`;
  return msg;
}
