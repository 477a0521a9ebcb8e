/**
 * Touches, for a batch of frames, the memory the engine's connection lookups will read, before the
 * engine processes them (the live director's batches; a replay reads its frames in file order from
 * memory it just filled, and measured slower with it). A lookup reads the frame's headers (written into the receive ring by
 * another core), then a hash bucket, then the record it points to: three dependent loads that, with
 * tens of thousands of connections, miss the caches. Done frame by frame inside the engine, each
 * miss is waited for in turn. Here each kind of load is made for the whole batch in its own short
 * loop, whose iterations do not depend on each other, so the CPU keeps many misses in flight at
 * once; the engine then finds the lines in cache.
 *
 * Only a quick look at the headers (Ethernet, one optional VLAN tag, IPv4 or IPv6 without extension
 * headers, TCP/UDP/SCTP source port): a frame it does not recognise is skipped, and nothing here
 * changes any state, so a wrong guess costs a few loads and nothing else.
 */
import { ETH_P_8021Q, ETH_P_IP, ETH_P_IPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP } from '../wire/parsed-frame';
import type { ConnTable } from './conn-table';

/** The largest batch warmed in one go (a larger one is warmed in pieces of this size). */
const MAX_BATCH = 4096;

export class LookupWarmer {
  /** Where the loaded words go, so the compiler cannot drop the loads. */
  private sink = 0;
  /** Per frame of the batch: the chain head found, tagged with its table (see warmBatch). */
  private readonly heads = new Int32Array(MAX_BATCH);
  private readonly v6 = new Uint8Array(MAX_BATCH);

  constructor(
    private readonly conns4: ConnTable,
    private readonly conns6: ConnTable,
  ) {}

  /** Touches the "in" lookups of frames [0, count) at buf[off[i], off[i] + len[i]). */
  warmBatch(buf: Uint8Array, off: Int32Array, len: Int32Array, count: number): void {
    for (let start = 0; start < count; start += MAX_BATCH) {
      const end = Math.min(count, start + MAX_BATCH);
      let sink = this.sink;
      // 1. The headers: one load per frame (the start of the transport header is in the same or the next line).
      for (let i = start; i < end; i++) sink ^= buf[off[i] + 12] ^ buf[off[i] + 36];
      // 2. The bucket of each frame.
      for (let i = start; i < end; i++) this.heads[i - start] = this.head(buf, off[i], len[i], i - start);
      // 3. The record each bucket points to.
      for (let i = start; i < end; i++) {
        const h = this.heads[i - start];
        if (h >= 0) sink ^= (this.v6[i - start] === 0 ? this.conns4 : this.conns6).touchSlot(h);
      }
      this.sink = sink;
    }
  }

  /** The folded loads (meaningless; read only so that they happen). */
  get folded(): number {
    return this.sink;
  }

  /** The chain head of the frame's "in" lookup, or -1; v6[k] says which table. */
  private head(buf: Uint8Array, off: number, len: number, k: number): number {
    if (len < 14 + 20 + 4) return -1;
    let l3 = off + 14;
    let type = (buf[off + 12] << 8) | buf[off + 13];
    if (type === ETH_P_8021Q) {
      type = (buf[off + 16] << 8) | buf[off + 17];
      l3 += 4;
    }
    const end = off + len;
    if (type === ETH_P_IP) {
      const ihl = (buf[l3] & 0x0f) << 2;
      const proto = buf[l3 + 9];
      const l4 = l3 + ihl;
      if (ihl < 20 || l4 + 2 > end || !balanced(proto)) return -1;
      this.v6[k] = 0;
      return this.conns4.chainHead(proto, buf, l3 + 12, (buf[l4] << 8) | buf[l4 + 1]);
    }
    if (type === ETH_P_IPV6) {
      const proto = buf[l3 + 6];
      const l4 = l3 + 40;
      if (l4 + 2 > end || !balanced(proto)) return -1;
      this.v6[k] = 1;
      return this.conns6.chainHead(proto, buf, l3 + 8, (buf[l4] << 8) | buf[l4 + 1]);
    }
    return -1;
  }
}

function balanced(proto: number): boolean {
  return proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === IPPROTO_SCTP;
}
