/**
 * Every ARP frame of a link, for one worker's neighbour resolver. The fanout group gives each
 * frame to one worker only, so the answer to a worker's ARP request could reach another worker
 * and the asker would never learn the MAC. A second packet socket per link, bound to ETH_P_ARP
 * and in no fanout group, lets every worker see every ARP frame (a few frames a second; the
 * small ring is its only cost). Frames this host sends are not read back.
 */
import type { LinkConfig } from '../../control/config';
import { PacketPort } from '../../io/packet-port';
import { arpMessageAt } from '../../wire/arp';
import type { NeighbourResolver } from '../neighbour-resolver';

const ETH_P_ARP = 0x0806;

export class ArpTap {
  private readonly ports: PacketPort[] = [];
  private resolver: NeighbourResolver | null = null;

  /**
   * Opens one ARP socket per link (throws, with nothing left open, when one cannot be opened).
   * Frames are kept in the rings from now on: open it before the resolver sends its first requests.
   */
  constructor(links: readonly LinkConfig[]) {
    try {
      for (const link of links) {
        this.ports.push(PacketPort.open(link.name, {
          protocol: ETH_P_ARP, ignoreOutgoing: true, blockSize: 1 << 16, blockCount: 2, retireMs: 10,
          batchFrames: 64, txFrames: 1, txSlabBytes: 4096, sndbuf: 0,
        }));
      }
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** Hands every ARP frame, those already waiting first, to the resolver. */
  start(resolver: NeighbourResolver): void {
    this.resolver = resolver;
    this.ports.forEach((port, link) => port.start(() => this.drain(port, link)));
  }

  close(): void {
    for (const p of this.ports.splice(0)) p.close();
  }

  private drain(port: PacketPort, link: number): void {
    for (let turn = 0; turn < 16; turn++) {
      const b = port.receive();
      if (b === null) return;
      try {
        for (let j = 0; j < b.count; j++) {
          const a = arpMessageAt(b.buf, b.off[j], b.len[j]);
          if (a >= 0) this.resolver?.observeArp(b.buf, a, link);
        }
      } finally {
        port.release();
      }
    }
  }
}
