/**
 * The kernel's neighbour table (ARP and NDP entries) as `ip -j neigh show` prints it: the first
 * place a live director looks for a real server's or a gateway's MAC when the director file has
 * no static entry. Runs in the director's own network namespace.
 */
import { execFileSync } from 'node:child_process';
import { parseIp, parseMac } from '../control/ip-address';

export interface KernelNeighbour {
  af: number;
  addr: Uint8Array;
  dev: string;
  mac: Uint8Array;
}

interface IpNeighJson {
  dst?: string;
  dev?: string;
  lladdr?: string;
  state?: string[];
}

/** States whose MAC is usable: INCOMPLETE and FAILED entries have none worth using. */
const USABLE = new Set(['REACHABLE', 'STALE', 'DELAY', 'PROBE', 'PERMANENT', 'NOARP']);

/** Parses `ip -j neigh show` output. */
export function parseIpNeighJson(text: string): KernelNeighbour[] {
  let rows: IpNeighJson[];
  try {
    rows = JSON.parse(text) as IpNeighJson[];
  } catch {
    return [];
  }
  const out: KernelNeighbour[] = [];
  for (const r of Array.isArray(rows) ? rows : []) {
    if (r.dst === undefined || r.dev === undefined || r.lladdr === undefined) continue;
    if (!(r.state ?? []).some((s) => USABLE.has(s))) continue;
    const mac = parseMac(r.lladdr);
    if (mac === null) continue;
    let addr;
    try {
      addr = parseIp(r.dst);
    } catch {
      continue;
    }
    out.push({ af: addr.af, addr: addr.bytes, dev: r.dev, mac });
  }
  return out;
}

/** The usable entries of this namespace's table; empty when `ip` fails (the caller then probes by ARP). */
export function readKernelNeighbours(): KernelNeighbour[] {
  try {
    return parseIpNeighJson(execFileSync('ip', ['-j', 'neigh', 'show'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    return [];
  }
}
