/**
 * Touches, for a batch of frames, the connection-table memory their lookups will read, before the
 * engine processes them. A lookup reads a hash bucket and then the record it points to: two
 * dependent loads that, with tens of thousands of connections, miss the caches. Done frame by frame
 * inside the engine, each miss is waited for in turn; done here for the whole batch first, the
 * loads of different frames do not depend on each other, so the CPU keeps many in flight at once,
 * and the engine then finds the lines in cache. The frames' own headers (written into a receive
 * ring by another core) come in the same way.
 *
 * Only a quick look at the headers (Ethernet, one optional VLAN tag, IPv4 or IPv6 without
 * extension headers, TCP/UDP/SCTP source port): a frame it does not recognise is skipped, and
 * nothing here changes any state, so a wrong guess costs a few loads and nothing else.
 */
import { ETH_P_8021Q, ETH_P_IP, ETH_P_IPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP } from '../wire/parsed-frame';
import type { ConnTable } from './conn-table';

export class LookupWarmer {
  /** Where the loaded words go, so the compiler cannot drop the loads. */
  private sink = 0;

  constructor(
    private readonly conns4: ConnTable,
    private readonly conns6: ConnTable,
  ) {}

  /** Touches the "in" lookup of the frame at buf[off, off + len). */
  warm(buf: Uint8Array, off: number, len: number): void {
    let l3 = off + 14;
    if (len < 14 + 20 + 4) return;
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
      if (ihl < 20 || l4 + 2 > end || !balanced(proto)) return;
      this.sink ^= this.conns4.touchIn(proto, buf, l3 + 12, (buf[l4] << 8) | buf[l4 + 1]);
    } else if (type === ETH_P_IPV6) {
      const proto = buf[l3 + 6];
      const l4 = l3 + 40;
      if (l4 + 2 > end || !balanced(proto)) return;
      this.sink ^= this.conns6.touchIn(proto, buf, l3 + 8, (buf[l4] << 8) | buf[l4 + 1]);
    }
  }

  /** The folded loads (meaningless; read only so that they happen). */
  get folded(): number {
    return this.sink;
  }
}

function balanced(proto: number): boolean {
  return proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === IPPROTO_SCTP;
}
