/**
 * Opens the port a director file's link asks for (`io` on its link line). Each backend is loaded
 * only when a link uses it, so a director on AF_PACKET links never loads libpcap or raw-socket.
 */
import { existsSync } from 'node:fs';
import type { LinkConfig } from '../control/config';
import type { Port } from '../io/port';

type PacketModule = typeof import('../io/packet-port');
type TunModule = typeof import('../io/tun-port');
type CapModule = typeof import('../io/cap-port');
type RawModule = typeof import('../io/raw-port');

/**
 * The director's receive rings. A TPACKET_V3 block reaches JavaScript when it is full or when its
 * retire timer fires: at low rates that timer is the latency uvs adds, so it is the shortest the
 * kernel takes (1 ms). Under load a block then often retires a millisecond's worth of frames, so
 * the ring has many smaller blocks (64 x 256 KiB) to stay tens of milliseconds deep.
 */
export const DIRECTOR_RING = { retireMs: 1, blockSize: 256 << 10, blockCount: 64 } as const;

export function openPortFor(link: LinkConfig): Port {
  switch (link.io) {
    case 'packet':
      // Our own transmissions must not come back as input on the same link.
      return (require('../io/packet-port') as PacketModule).PacketPort.open(link.name, { ignoreOutgoing: true, ...DIRECTOR_RING });
    case 'cap':
      return new (require('../io/cap-port') as CapModule).CapPort(link.name, { inboundOnly: true });
    case 'tun':
    case 'tap':
      return (require('../io/tun-port') as TunModule).TunPort.open(link.name, {
        tap: link.io === 'tap',
        up: true,
        ...(link.mtuGiven ? { mtu: link.mtu } : {}),
      });
    case 'raw': {
      // A raw link hands IP packets to the kernel's routing; named after an interface, it sends only through it.
      const device = existsSync(`/sys/class/net/${link.name}`) ? link.name : undefined;
      return new (require('../io/raw-port') as RawModule).RawPort(link.name, device === undefined ? {} : { device });
    }
  }
}
