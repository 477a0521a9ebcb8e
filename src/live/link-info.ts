/**
 * What the kernel knows of an interface (sysfs): a live director takes a link's MAC and MTU from
 * here when the director file leaves them out, and a missing interface is reported by name.
 */
import { readFileSync } from 'node:fs';
import type { DirectorConfig } from '../control/config';
import { parseMac } from '../control/ip-address';

export class LinkInfoError extends Error {}

export interface LinkInfo {
  mac: Uint8Array;
  mtu: number;
  ifindex: number;
}

export function readLinkInfo(name: string, sysfs = '/sys/class/net'): LinkInfo {
  const read = (file: string): string => {
    try {
      return readFileSync(`${sysfs}/${name}/${file}`, 'utf8').trim();
    } catch {
      throw new LinkInfoError(`no network interface named '${name}' in this network namespace`);
    }
  };
  const mac = parseMac(read('address')) ?? new Uint8Array(6);
  return { mac, mtu: Number(read('mtu')), ifindex: Number(read('ifindex')) };
}

/**
 * Fills in each link's MAC and MTU from the interface when the director file left them out.
 * Links a uvs TUN/TAP device will create (io tun|tap) are skipped: they do not exist yet, and a
 * TUN device has no MAC.
 */
export function completeLinksFromKernel(config: DirectorConfig, sysfs?: string): void {
  for (const l of config.links) {
    if (l.io === 'tun' || l.io === 'tap' || l.io === 'raw' || (l.macGiven && l.mtuGiven)) continue;
    const info = readLinkInfo(l.name, sysfs);
    if (!l.macGiven) {
      l.mac = info.mac;
      l.macGiven = true;
    }
    if (!l.mtuGiven) {
      l.mtu = info.mtu;
      l.mtuGiven = true;
    }
  }
}
