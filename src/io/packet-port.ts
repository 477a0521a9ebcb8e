/**
 * PacketPort: a link through an AF_PACKET socket with a TPACKET_V3 receive ring (native addon).
 *
 * Receive: the ring is mapped once into JavaScript (rxMemory, one ArrayBuffer); receive() walks
 * the ready blocks in place and describes their frames in a preallocated RxBatch (no copy, no
 * per-frame call into C++). The blocks stay ours until release(), so frames can be rewritten in
 * the ring and sent from there by any port that registered it with addTxRegion().
 * Transmit: queue() stores (region, offset, length) descriptors (copying only frames that lie in
 * no registered memory) and flush() sends them with one native sendmmsg call.
 *
 * After close() the ring is detached: rxMemory and every batch's buf read as empty arrays.
 */
import {
  loadNativeAddon,
  type BpfProgram,
  type NativePacketSocket,
  type NativePacketSocketOptions,
} from './native-addon';
import { RX_CSUM_PARTIAL, RX_TRUNCATED, RxBatch, type Port, type PortKind, type PortStats } from './port';
import {
  BLOCK_NUM_PKTS,
  BLOCK_OFFSET_TO_FIRST_PKT,
  MIN_FRAME_FOOTPRINT,
  PKT_LEN,
  PKT_MAC,
  PKT_NEXT_OFFSET,
  PKT_NSEC,
  PKT_SEC,
  PKT_SNAPLEN,
  PKT_STATUS,
  TP_STATUS_CSUMNOTREADY,
} from './tpacket-layout';
import { TxQueue } from './tx-queue';

export type FanoutMode = 'hash' | 'lb' | 'cpu' | 'rollover' | 'rnd' | 'qm' | 'cbpf';

const FANOUT_MODES: Record<FanoutMode, number> = { hash: 0, lb: 1, cpu: 2, rollover: 3, rnd: 4, qm: 5, cbpf: 6 };
const FANOUT_FLAG_ROLLOVER = 0x1000;
const FANOUT_FLAG_DEFRAG = 0x8000;
const FANOUT_FLAG_IGNORE_OUTGOING = 0x4000;

export interface FanoutOptions {
  /** Sockets with the same group id on one interface (and protocol) share its frames. */
  group: number;
  mode: FanoutMode;
  /** Reassemble IP fragments before choosing a socket, so a datagram's pieces go to one. */
  defrag?: boolean;
  /** When the chosen socket's ring is full, try the next. */
  rollover?: boolean;
  /**
   * Keep frames sent on the interface away from the group (PACKET_FANOUT_FLAG_IGNORE_OUTGOING).
   * A member's own ignoreOutgoing no longer applies once it has joined: the group's receive hook
   * replaces the socket's. Every member of a group must give the same flags.
   */
  ignoreOutgoing?: boolean;
  /**
   * For mode 'cbpf': a program whose return value picks the socket (index in joining order,
   * modulo the group's size). Unlike a socket filter it sees the frame from its network header:
   * the kernel has already pulled the Ethernet header (see bpf.ts).
   */
  program?: BpfProgram;
}

export interface PacketPortOptions {
  /** Open the socket in this network namespace (name under /var/run/netns, or a path). */
  netns?: string;
  /** Ring geometry: blockCount blocks of blockSize bytes (a page multiple). Defaults 1 MiB x 8. */
  blockSize?: number;
  blockCount?: number;
  /** Must divide blockSize; TPACKET_V3 packs frames of any size into a block. Default 2048. */
  frameSize?: number;
  /** A block with frames is handed over after this many ms at most (latency at low rates). Default 2. */
  retireMs?: number;
  /** EtherType to receive (host order), default ETH_P_ALL. */
  protocol?: number;
  /** Do not receive frames sent on this interface (own sends, other local senders). */
  ignoreOutgoing?: boolean;
  /** Send straight to the driver, skipping the qdisc. */
  qdiscBypass?: boolean;
  fanout?: FanoutOptions;
  /** A classic BPF program run on every frame before it enters the ring. */
  filter?: BpfProgram;
  /** Frames one batch may hold; raised to what one block can hold. */
  batchFrames?: number;
  /** Transmit queue: descriptors per flush (default 4096) and copy slab bytes (default 4 MiB). */
  txFrames?: number;
  txSlabBytes?: number;
  /** SO_SNDBUF bytes (default 4 MiB; 0 keeps the kernel's). */
  sndbuf?: number;
}

export interface PacketPortStats extends PortStats {
  /** Frames queued by copy into the port's slab (the rest were sent from where they lay). */
  txCopied: number;
  /** PACKET_STATISTICS tp_freeze_q_cnt: times the ring was frozen full. */
  rxFreezes: number;
}

export class PacketPort implements Port {
  readonly kind: PortKind = 'packet';
  readonly layer2 = true;
  readonly rxMemory: Uint8Array;

  private readonly socket: NativePacketSocket;
  private readonly batch: RxBatch;
  private readonly words: Uint32Array;
  private readonly halves: Uint16Array;
  private readonly blockSize: number;
  private readonly blockCount: number;
  private readonly tx: TxQueue;
  private readonly statsOut = new Float64Array(3);
  private heldFirst = 0;
  private heldCount = 0;
  private rxFrames = 0;
  private txFrames = 0;
  private txDropped = 0;
  private closed = false;

  private constructor(
    readonly name: string,
    socket: NativePacketSocket,
    blockSize: number,
    blockCount: number,
    batchFrames: number,
    txFrames: number,
    txSlabBytes: number,
  ) {
    this.socket = socket;
    this.blockSize = blockSize;
    this.blockCount = blockCount;
    const ring = socket.ring();
    this.rxMemory = new Uint8Array(ring);
    this.words = new Uint32Array(ring);
    this.halves = new Uint16Array(ring);
    // A batch takes at least one whole block, so it must hold the most frames a block can.
    const perBlock = Math.ceil(blockSize / MIN_FRAME_FOOTPRINT);
    this.batch = new RxBatch(Math.max(batchFrames, perBlock), this.rxMemory);
    this.tx = new TxQueue(txFrames, txSlabBytes, (memory) => socket.addRegion(memory));
    this.tx.addRegion(this.rxMemory);
  }

  /** Opens a packet socket on interface ifname (throws with code ENODEV, EPERM, ... on failure). */
  static open(ifname: string, options: PacketPortOptions = {}): PacketPort {
    const blockSize = options.blockSize ?? 1 << 20;
    const blockCount = options.blockCount ?? 8;
    const native: NativePacketSocketOptions = {
      ifname,
      blockSize,
      blockCount,
      frameSize: options.frameSize ?? 2048,
      retireMs: options.retireMs ?? 2,
      ignoreOutgoing: options.ignoreOutgoing ?? false,
      qdiscBypass: options.qdiscBypass ?? false,
      sndbuf: options.sndbuf ?? 4 << 20,
    };
    if (options.netns !== undefined) native.netns = options.netns;
    if (options.protocol !== undefined) native.protocol = options.protocol;
    if (options.filter !== undefined) native.filter = options.filter;
    if (options.fanout !== undefined) native.fanout = fanoutArgument(options.fanout);
    const socket = new (loadNativeAddon().PacketSocket)(native);
    try {
      return new PacketPort(
        ifname,
        socket,
        blockSize,
        blockCount,
        options.batchFrames ?? 1024,
        options.txFrames ?? 4096,
        options.txSlabBytes ?? 4 << 20,
      );
    } catch (e) {
      socket.close();
      throw e;
    }
  }

  addTxRegion(memory: Uint8Array): void {
    this.tx.addRegion(memory);
  }

  start(onReadable: () => void): void {
    this.socket.startPoll(onReadable);
  }

  /** Stops calling onReadable (the socket stays open and keeps filling its ring). */
  stop(): void {
    if (!this.closed) this.socket.stopPoll();
  }

  /**
   * Takes every ready block (in ring order) whose frames fit the batch, at least one, and
   * describes their frames. Null when no block is ready, or the blocks held no frame.
   */
  receive(): RxBatch | null {
    if (this.closed) return null;
    if (this.heldCount > 0) throw new Error(`packet port ${this.name}: release() the last batch before receive()`);
    const batch = this.batch;
    const words = this.words;
    const halves = this.halves;
    const off = batch.off;
    const len = batch.len;
    const sec = batch.sec;
    const nsec = batch.nsec;
    const flags = batch.flags;
    const cap = batch.capacity;
    let count = 0;
    let blocks = 0;
    while (blocks < this.blockCount) {
      const b = this.socket.readyBlock(blocks);
      if (b < 0) break;
      const base = b * this.blockSize;
      const n = words[(base + BLOCK_NUM_PKTS) >>> 2];
      if (blocks > 0 && count + n > cap) break;
      if (blocks === 0) this.heldFirst = b;
      blocks++;
      const end = base + this.blockSize;
      let p = base + words[(base + BLOCK_OFFSET_TO_FIRST_PKT) >>> 2];
      for (let k = 0; k < n && count < cap && p < end; k++) {
        const w = p >>> 2;
        const snap = words[w + (PKT_SNAPLEN >>> 2)];
        const status = words[w + (PKT_STATUS >>> 2)];
        off[count] = p + halves[(p + PKT_MAC) >>> 1];
        len[count] = snap;
        sec[count] = words[w + (PKT_SEC >>> 2)];
        nsec[count] = words[w + (PKT_NSEC >>> 2)];
        flags[count] =
          ((status & TP_STATUS_CSUMNOTREADY) !== 0 ? RX_CSUM_PARTIAL : 0) |
          (snap < words[w + (PKT_LEN >>> 2)] ? RX_TRUNCATED : 0);
        count++;
        p += words[w + (PKT_NEXT_OFFSET >>> 2)];
      }
    }
    this.heldCount = blocks;
    if (count === 0) {
      if (blocks > 0) this.release();
      return null;
    }
    batch.count = count;
    this.rxFrames += count;
    return batch;
  }

  release(): void {
    if (this.closed) {
      this.heldCount = 0;
      return;
    }
    let b = this.heldFirst;
    for (let i = 0; i < this.heldCount; i++) {
      this.socket.releaseBlock(b);
      b = b + 1 === this.blockCount ? 0 : b + 1;
    }
    this.heldCount = 0;
    this.batch.count = 0;
  }

  queue(buf: Uint8Array, off: number, len: number): boolean {
    return this.tx.queue(buf, off, len);
  }

  flush(): number {
    const tx = this.tx;
    const queued = tx.count;
    if (queued === 0 && tx.rejected === 0) return 0;
    const sent = this.closed || queued === 0 ? 0 : this.socket.send(tx.region, tx.off, tx.len, 0, queued);
    this.txFrames += sent;
    this.txDropped += queued - sent + tx.rejected;
    tx.rejected = 0;
    tx.reset();
    return sent;
  }

  /** Replaces the socket's classic BPF filter (null: every frame). */
  setFilter(program: BpfProgram | null): void {
    this.socket.setFilter(program);
  }

  /** errno of the last frame the kernel refused (0: none): ENOBUFS, EAGAIN, EMSGSIZE ... */
  lastSendErrno(): number {
    return this.socket.lastSendErrno();
  }

  stats(): PacketPortStats {
    this.socket.readStats(this.statsOut);
    return {
      rxFrames: this.rxFrames,
      rxDropped: this.statsOut[1],
      txFrames: this.txFrames,
      txDropped: this.txDropped,
      txCopied: this.tx.copied,
      rxFreezes: this.statsOut[2],
    };
  }

  close(): void {
    if (this.closed) return;
    this.socket.readStats(this.statsOut); // keep the last totals for stats() after close
    this.closed = true;
    this.heldCount = 0;
    this.tx.reset();
    this.socket.close();
  }
}

function fanoutArgument(f: FanoutOptions): { group: number; type: number; program?: BpfProgram } {
  if (!Number.isInteger(f.group) || f.group < 0 || f.group > 0xffff) {
    throw new RangeError(`fanout group ${f.group} is not a 16-bit number`);
  }
  const mode = FANOUT_MODES[f.mode];
  if (mode === undefined) throw new RangeError(`unknown fanout mode '${String(f.mode)}'`);
  const type = mode | (f.defrag === true ? FANOUT_FLAG_DEFRAG : 0) | (f.rollover === true ? FANOUT_FLAG_ROLLOVER : 0) |
    (f.ignoreOutgoing === true ? FANOUT_FLAG_IGNORE_OUTGOING : 0);
  if (f.mode === 'cbpf') {
    if (f.program === undefined) throw new RangeError("fanout mode 'cbpf' needs a program");
    return { group: f.group, type, program: f.program };
  }
  return { group: f.group, type };
}
