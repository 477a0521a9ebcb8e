/**
 * The fanout groups a multi-worker director's links share: the flags every member gives (every
 * member of a group must give the same), and how the master replaces a group's program.
 *
 * Any socket that joins a PACKET_FANOUT_CBPF group sets the program of the whole group
 * (PACKET_FANOUT_DATA). The master, which reads no packets, replaces it by joining each link's
 * group with a socket whose filter takes nothing and closing it at once: the new member sits at
 * the last position, which the program never returns, so it receives nothing and its leaving
 * moves no other member.
 */
import type { LinkConfig } from '../../control/config';
import { BpfAssembler } from '../../io/bpf';
import { PacketPort, type FanoutOptions } from '../../io/packet-port';

export function fanoutOptions(group: number, program: Uint8Array): FanoutOptions {
  return { group, mode: 'cbpf', program, defrag: true, ignoreOutgoing: true };
}

const TAKE_NOTHING = new BpfAssembler().ret(0).assemble();

/**
 * Sets `program` on the groups of every link (link i: group groupBase + i); `netns`: in that
 * network namespace rather than this process's. Throws what the kernel refused.
 */
export function installFanoutProgram(links: readonly Pick<LinkConfig, 'name'>[], groupBase: number, program: Uint8Array, netns?: string): void {
  links.forEach((link, i) => {
    const port = PacketPort.open(link.name, {
      ...(netns !== undefined ? { netns } : {}),
      fanout: fanoutOptions(groupBase + i, program), filter: TAKE_NOTHING,
      blockSize: 1 << 16, blockCount: 1, batchFrames: 1, txFrames: 1, txSlabBytes: 4096, sndbuf: 0,
    });
    port.close();
  });
}
