/**
 * TunPort: a link through a TUN device (IP packets) or a TAP device (Ethernet frames), one queue
 * (one fd) of it; IFF_MULTI_QUEUE devices take one TunPort per queue.
 *
 * Receive reads every waiting packet into the port's read buffer, one slot per packet, with one
 * native call. For TUN, each packet is read 14 bytes into its slot and an Ethernet header is
 * written in front (zero MACs, EtherType from the IP version nibble), so the engine parses it like
 * any frame; transmit drops those 14 bytes again (layer2 false). The read buffer is rxMemory: it
 * stays the same for the port's life and its contents are valid until release(), so frames can be
 * sent from it (by this or another port) without a copy before then.
 * TUN packets carry no kernel timestamp: a batch is stamped with the time it was read.
 */
import { loadNativeAddon, type NativeTunDevice, type NativeTunDeviceOptions } from './native-addon';
import { RX_TRUNCATED, RxBatch, type Port, type PortKind, type PortStats } from './port';
import { TxQueue } from './tx-queue';

const ETH_HLEN = 14;

export interface TunPortOptions {
  /** A TAP device (Ethernet frames) instead of TUN (IP packets). */
  tap?: boolean;
  /** IFF_MULTI_QUEUE: every open of the name adds a queue (the kernel spreads flows over them). */
  multiQueue?: boolean;
  /** Create the device inside this network namespace (name under /var/run/netns, or a path). */
  netns?: string;
  /** Set the device up once created. */
  up?: boolean;
  /** Set the device's MTU; also sizes the read slots. */
  mtu?: number;
  /** Packets one receive() reads at most (default 256). */
  batchFrames?: number;
  /** Bytes per read slot (default: room for the MTU, or 1500, plus headers, rounded to 64). */
  slotBytes?: number;
  /** Transmit queue: descriptors per flush (default 1024) and copy slab bytes (default 1 MiB). */
  txFrames?: number;
  txSlabBytes?: number;
}

export interface TunPortStats extends PortStats {
  txCopied: number;
}

export class TunPort implements Port {
  readonly kind: PortKind = 'tun';
  readonly layer2: boolean;
  readonly rxMemory: Uint8Array;

  private readonly device: NativeTunDevice;
  private readonly batch: RxBatch;
  private readonly readLen: Int32Array;
  private readonly stride: number;
  private readonly tx: TxQueue;
  private rxFrames = 0;
  private txFrames = 0;
  private txDropped = 0;
  private closed = false;

  private constructor(
    readonly name: string,
    device: NativeTunDevice,
    tap: boolean,
    batchFrames: number,
    slotBytes: number,
    txFrames: number,
    txSlabBytes: number,
  ) {
    this.device = device;
    this.layer2 = tap;
    this.stride = slotBytes;
    this.rxMemory = new Uint8Array(batchFrames * slotBytes);
    this.batch = new RxBatch(batchFrames, this.rxMemory);
    this.readLen = new Int32Array(batchFrames);
    this.tx = new TxQueue(txFrames, txSlabBytes, (memory) => device.addRegion(memory));
    this.tx.addRegion(this.rxMemory);
  }

  /** Creates (or, for multi-queue, attaches to) device `name` (throws EPERM, EBUSY ... with code). */
  static open(name: string, options: TunPortOptions = {}): TunPort {
    const tap = options.tap ?? false;
    const native: NativeTunDeviceOptions = { name, tap, multiQueue: options.multiQueue ?? false, up: options.up ?? false };
    if (options.netns !== undefined) native.netns = options.netns;
    if (options.mtu !== undefined) native.mtu = options.mtu;
    const batchFrames = options.batchFrames ?? 256;
    // Room for the MTU plus an Ethernet header (and a VLAN tag on TAP), 64-byte aligned slots.
    const slotBytes = options.slotBytes ?? (Math.max(options.mtu ?? 1500, 1500) + ETH_HLEN + 4 + 63) & ~63;
    if (!Number.isInteger(batchFrames) || batchFrames < 1) throw new RangeError(`batchFrames ${batchFrames} must be >= 1`);
    if (!Number.isInteger(slotBytes) || slotBytes < ETH_HLEN + 64) throw new RangeError(`slotBytes ${slotBytes} is too small`);
    const device = new (loadNativeAddon().TunDevice)(native);
    try {
      return new TunPort(
        device.name(),
        device,
        tap,
        batchFrames,
        slotBytes,
        options.txFrames ?? 1024,
        options.txSlabBytes ?? 1 << 20,
      );
    } catch (e) {
      device.close();
      throw e;
    }
  }

  addTxRegion(memory: Uint8Array): void {
    this.tx.addRegion(memory);
  }

  start(onReadable: () => void): void {
    this.device.startPoll(onReadable);
  }

  stop(): void {
    if (!this.closed) this.device.stopPoll();
  }

  receive(): RxBatch | null {
    if (this.closed) return null;
    const batch = this.batch;
    if (batch.count > 0) throw new Error(`TUN port ${this.name}: release() the last batch before receive()`);
    const stride = this.stride;
    const head = this.layer2 ? 0 : ETH_HLEN;
    const room = stride - head;
    const n = this.device.readBatch(this.rxMemory, head, stride, room, batch.capacity, this.readLen);
    if (n === 0) return null;
    const buf = this.rxMemory;
    const now = Date.now();
    const sec = Math.floor(now / 1000);
    const nsec = (now - sec * 1000) * 1_000_000;
    for (let i = 0; i < n; i++) {
      const base = i * stride;
      const got = this.readLen[i];
      if (head !== 0) {
        // Zero MACs and the EtherType of the IP version: 4 -> 0x0800, 6 -> 0x86DD.
        for (let j = 0; j < 12; j++) buf[base + j] = 0;
        const version = got > 0 ? buf[base + ETH_HLEN] >>> 4 : 0;
        buf[base + 12] = version === 6 ? 0x86 : 0x08;
        buf[base + 13] = version === 6 ? 0xdd : 0x00;
      }
      batch.off[i] = base;
      batch.len[i] = got + head;
      batch.sec[i] = sec;
      batch.nsec[i] = nsec;
      // A packet that filled its slot may have been cut short by the read.
      batch.flags[i] = got >= room ? RX_TRUNCATED : 0;
    }
    batch.count = n;
    this.rxFrames += n;
    return batch;
  }

  release(): void {
    this.batch.count = 0;
  }

  /** Queues a frame; a TUN port sends what follows its 14-byte Ethernet header. */
  queue(buf: Uint8Array, off: number, len: number): boolean {
    if (this.layer2) return this.tx.queue(buf, off, len);
    return this.tx.queue(buf, off + ETH_HLEN, len - ETH_HLEN);
  }

  flush(): number {
    const tx = this.tx;
    const queued = tx.count;
    if (queued === 0 && tx.rejected === 0) return 0;
    const sent = this.closed || queued === 0 ? 0 : this.device.write(tx.region, tx.off, tx.len, 0, queued);
    this.txFrames += sent;
    this.txDropped += queued - sent + tx.rejected;
    tx.rejected = 0;
    tx.reset();
    return sent;
  }

  lastWriteErrno(): number {
    return this.device.lastWriteErrno();
  }

  /** rxDropped is 0: the kernel counts a full TUN queue on the device (ip -s link), not per fd. */
  stats(): TunPortStats {
    return {
      rxFrames: this.rxFrames,
      rxDropped: 0,
      txFrames: this.txFrames,
      txDropped: this.txDropped,
      txCopied: this.tx.copied,
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.batch.count = 0;
    this.tx.reset();
    this.device.close();
  }
}
