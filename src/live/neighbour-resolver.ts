/**
 * Neighbours for a live director: every real server the engine may send to directly and every
 * gateway of a route needs a MAC. The director file's static entries come first; what they miss
 * is taken from the kernel's neighbour table, and what the kernel does not know is asked for by
 * an ARP request sent out of the link (IPv4; an IPv6 neighbour must be in the kernel's table or
 * the director file). ARP frames seen on a link keep learned entries fresh (a real server that
 * changed its MAC is followed at its next ARP). Links that carry IP packets without an Ethernet
 * header (TUN, raw) need no MAC: their neighbours are learned as all-zero at once.
 *
 * Not on the per-packet path: the director loop hands over only ARP frames, and the timer runs
 * every second while something is missing, every 30 s otherwise.
 */
import type { Logger } from '../control/daemon/logger';
import { formatMac } from '../control/ip-address';
import { refreshDestHops } from '../ipvs/engine-control';
import type { Engine } from '../ipvs/engine';
import type { NextHopAddress } from '../ipvs/router';
import type { Port } from '../io/port';
import { ARP_SHA, ARP_SPA, writeArpRequest } from '../wire/arp';
import { readKernelNeighbours, type KernelNeighbour } from './kernel-neighbours';
import { sameBytes } from '../wire/bytes';

const PROBE_INTERVAL_MS = 1000;
const MISSING_RETRY_MS = 1000;
const REFRESH_MS = 30_000;

function addrText(af: number, a: Uint8Array): string {
  if (af === 4) return `${a[0]}.${a[1]}.${a[2]}.${a[3]}`;
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(((a[i] << 8) | a[i + 1]).toString(16));
  return parts.join(':');
}

export interface NeighbourResolverOptions {
  engine: Engine;
  /** Ports by link index (null: a link without a port). */
  ports: readonly (Port | null)[];
  logger: Logger;
  readKernel?: () => KernelNeighbour[];
  clock?: () => number;
}

export class NeighbourResolver {
  private wanted: NextHopAddress[] = [];
  private readonly lastProbe = new Map<string, number>();
  private readonly probeFrame = new Uint8Array(64);
  private readonly senderMac = new Uint8Array(6);
  private readonly senderIp = new Uint8Array(4);
  private timer: NodeJS.Timeout | null = null;
  private readonly readKernel: () => KernelNeighbour[];
  private readonly clock: () => number;

  constructor(private readonly opts: NeighbourResolverOptions) {
    this.readKernel = opts.readKernel ?? readKernelNeighbours;
    this.clock = opts.clock ?? (() => performance.now());
  }

  /** Addresses still without a MAC. */
  missing(): NextHopAddress[] {
    const router = this.opts.engine.router;
    return this.wanted.filter((w) => router.neighbourMac(w.af, w.addr, w.link) === null);
  }

  /** Starts the periodic refresh (and runs one now). */
  start(): void {
    this.refresh();
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /**
   * Recomputes what is wanted (call after every configuration change) and resolves what it can:
   * layer-3 links at once, then the kernel's table, then ARP requests for what is left.
   */
  refresh(): void {
    this.wanted = this.collectWanted();
    let changed = false;
    const router = this.opts.engine.router;
    for (const w of this.wanted) {
      const port = this.opts.ports[w.link];
      if (port !== null && port !== undefined && !port.layer2 && router.neighbourMac(w.af, w.addr, w.link) === null) {
        changed = router.learnNeighbour(w.af, w.addr, w.link, new Uint8Array(6)) || changed;
      }
    }
    let missing = this.missing();
    if (missing.length !== 0) {
      const kernel = this.readKernel();
      for (const w of missing) {
        const dev = router.linkNames[w.link];
        const k = kernel.find((n) => n.af === w.af && n.dev === dev && sameBytes(n.addr, w.addr));
        if (k !== undefined) changed = this.learn(w, k.mac, 'kernel') || changed;
      }
      missing = this.missing();
    }
    if (changed) refreshDestHops(this.opts.engine);
    for (const w of missing) this.probe(w);
    this.schedule(missing.length !== 0 ? MISSING_RETRY_MS : REFRESH_MS);
  }

  /** An ARP message (request or reply) at buf[a] seen on `link`: learns its sender if we want it. */
  observeArp(buf: Uint8Array, a: number, link: number): void {
    const spa = a + ARP_SPA;
    for (const w of this.wanted) {
      if (w.af !== 4 || w.link !== link) continue;
      if (buf[spa] !== w.addr[0] || buf[spa + 1] !== w.addr[1] || buf[spa + 2] !== w.addr[2] || buf[spa + 3] !== w.addr[3]) continue;
      const mac = buf.slice(a + ARP_SHA, a + ARP_SHA + 6);
      if (this.learn(w, mac, 'arp')) refreshDestHops(this.opts.engine);
      return;
    }
  }

  private learn(w: NextHopAddress, mac: Uint8Array, source: string): boolean {
    const changed = this.opts.engine.router.learnNeighbour(w.af, w.addr, w.link, mac);
    if (changed) {
      this.opts.logger.log('info', 'neighbour learned', {
        addr: addrText(w.af, w.addr), link: this.opts.engine.router.linkNames[w.link], mac: formatMac(mac), source,
      });
    }
    return changed;
  }

  private collectWanted(): NextHopAddress[] {
    const engine = this.opts.engine;
    const router = engine.router;
    const seen = new Set<string>();
    const out: NextHopAddress[] = [];
    const add = (h: NextHopAddress | null): void => {
      if (h === null || h.link < 0) return;
      const key = `${h.link}/${addrText(h.af, h.addr)}`;
      if (seen.has(key)) return;
      seen.add(key);
      out.push(h);
    };
    for (let d = 0; d < engine.dests.count; d++) {
      const addr = engine.destAddrBytes[d];
      if (addr !== undefined) add(router.nextHopAddress(engine.dests.af[d], addr));
    }
    for (const r of router.config.routes) {
      if (r.via !== null) add({ af: r.via.af, link: router.linkNames.indexOf(r.dev), addr: r.via.bytes });
    }
    return out;
  }

  private probe(w: NextHopAddress): void {
    const port = this.opts.ports[w.link];
    if (port === null || port === undefined || !port.layer2) return;
    const key = `${w.link}/${addrText(w.af, w.addr)}`;
    const now = this.clock();
    const last = this.lastProbe.get(key);
    if (last !== undefined && now - last < PROBE_INTERVAL_MS) return;
    this.lastProbe.set(key, now);
    if (w.af !== 4) {
      if (last === undefined) {
        this.opts.logger.log('warn', 'no MAC for an IPv6 neighbour: add it to the director file or let the kernel resolve it', {
          addr: addrText(w.af, w.addr), link: port.name,
        });
      }
      return;
    }
    const router = this.opts.engine.router;
    const src = router.sourceAddress(w.link, 4, w.addr);
    if (src === null) {
      if (last === undefined) this.opts.logger.log('warn', 'cannot ARP: the director has no IPv4 address on the link', { link: port.name });
      return;
    }
    this.senderMac.set(router.config.links[w.link].mac);
    this.senderIp.set(src.subarray(0, 4));
    const n = writeArpRequest(this.probeFrame, 0, this.senderMac, this.senderIp, w.addr);
    if (port.queue(this.probeFrame, 0, n)) port.flush();
  }

  private schedule(ms: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), ms);
    this.timer.unref();
  }
}

