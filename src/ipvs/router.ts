/**
 * Routing and neighbours from the director file: longest-prefix match over the connected routes
 * (addr lines) and the route lines, then the next hop's MAC from the neigh lines. Every possible
 * answer is a NextHop built once here, so a per-packet route lookup allocates nothing.
 */
import type { DirectorConfig } from '../control/config';
import { NextHop } from '../xmit/next-hop';
import { sameBytes } from '../wire/bytes';

interface Route {
  af: number;
  words: Uint32Array;
  plen: number;
  link: number;
  /** The gateway's next hop, for a gatewayed route (null when the gateway has no neighbour entry). */
  gateway: NextHop | null;
  /** The gateway's address (null for an on-link route). */
  via: Uint8Array | null;
  onLink: boolean;
  /**
   * An on-link route on a layer-3 link (io tun or raw: IP packets, no MAC): one next hop for
   * every address it covers, so no neighbour is needed per destination. Null elsewhere.
   */
  layer3: NextHop | null;
}

/** The layer-3 next hop of a destination: the link and the address whose MAC a frame needs. */
export interface NextHopAddress {
  af: number;
  link: number;
  /** 4 or 16 bytes: the destination itself (on-link) or the route's gateway. */
  addr: Uint8Array;
}

interface Neighbour {
  af: number;
  words: Uint32Array;
  link: number;
  hop: NextHop;
}

function toWords(bytes: Uint8Array): Uint32Array {
  const w = new Uint32Array(4);
  for (let i = 0; i < bytes.length; i += 4) {
    w[i >> 2] = ((bytes[i] << 24) | (bytes[i + 1] << 16) | (bytes[i + 2] << 8) | bytes[i + 3]) >>> 0;
  }
  return w;
}

function wordAt(buf: Uint8Array, off: number): number {
  return ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0;
}

/** True when the address at buf[off] lies in words/plen. */
function inPrefix(words: Uint32Array, plen: number, buf: Uint8Array, off: number): boolean {
  let left = plen;
  for (let i = 0; left > 0; i++, left -= 32) {
    const bits = left >= 32 ? 32 : left;
    const mask = bits === 32 ? 0xffffffff : ~(0xffffffff >>> bits) >>> 0;
    if (((wordAt(buf, off + 4 * i) & mask) >>> 0) !== ((words[i] & mask) >>> 0)) return false;
  }
  return true;
}

export class Router {
  readonly linkNames: string[];
  readonly linkMtu: number[];
  private readonly routes: Route[] = [];
  private readonly neighbours: Neighbour[] = [];

  constructor(readonly config: DirectorConfig) {
    this.linkNames = config.links.map((l) => l.name);
    this.linkMtu = config.links.map((l) => l.mtu);
    const linkIndex = (name: string): number => this.linkNames.indexOf(name);
    const layer3 = (link: number, prefix: Uint8Array, af: number): NextHop | null => {
      const io = config.links[link]?.io;
      return io === 'tun' || io === 'raw' ? this.makeHop(link, new Uint8Array(6), prefix, af) : null;
    };
    for (const n of config.neighs) {
      const link = linkIndex(n.dev);
      const hop = this.makeHop(link, n.mac, n.addr.bytes, n.addr.af);
      this.neighbours.push({ af: n.addr.af, words: toWords(n.addr.bytes), link, hop });
    }
    // Connected routes first, then route lines in file order; the sort below is stable, so on
    // equal prefix lengths this order decides.
    for (const a of config.addrs) {
      const words = toWords(a.addr.bytes);
      this.routes.push({
        af: a.addr.af, words: maskWords(words, a.prefixLen), plen: a.prefixLen, link: linkIndex(a.dev), gateway: null, via: null, onLink: true,
        layer3: layer3(linkIndex(a.dev), a.addr.bytes, a.addr.af),
      });
    }
    for (const r of config.routes) {
      const link = linkIndex(r.dev);
      let gateway: NextHop | null = null;
      if (r.via) gateway = this.neighbourHop(r.via.af, r.via.bytes, 0, link);
      this.routes.push({
        af: r.prefix.af, words: toWords(r.prefix.bytes), plen: r.prefixLen, link, gateway, via: r.via?.bytes ?? null, onLink: r.via === null,
        layer3: r.via === null ? layer3(link, r.prefix.bytes, r.prefix.af) : null,
      });
    }
    this.routes.sort((x, y) => y.plen - x.plen);
  }

  private makeHop(link: number, dstMac: Uint8Array, nextHopAddr: Uint8Array, af: number): NextHop {
    const hop = new NextHop();
    hop.linkIndex = link;
    const l = this.config.links[link];
    hop.mtu = l.mtu;
    hop.srcMac.set(l.mac);
    hop.dstMac.set(dstMac);
    hop.srcAf = af;
    const src = this.sourceAddress(link, af, nextHopAddr);
    if (src) hop.srcAddr.set(src);
    hop.prepare();
    return hop;
  }

  /** The director's address on `link` for talking to `peer`: one whose network holds it, else the first. */
  sourceAddress(link: number, af: number, peer: Uint8Array): Uint8Array | null {
    let first: Uint8Array | null = null;
    for (const a of this.config.addrs) {
      if (a.dev !== this.linkNames[link] || a.addr.af !== af) continue;
      if (first === null) first = a.addr.bytes;
      if (inPrefix(maskWords(toWords(a.addr.bytes), a.prefixLen), a.prefixLen, peer, 0)) return a.addr.bytes;
    }
    return first;
  }

  private neighbourHop(af: number, buf: Uint8Array, off: number, link: number): NextHop | null {
    for (const n of this.neighbours) {
      if (n.af !== af || n.link !== link) continue;
      if (inPrefix(n.words, af === 4 ? 32 : 128, buf, off)) return n.hop;
    }
    return null;
  }

  /**
   * Where a packet to `addr` goes at layer 3, whether or not its neighbour is known yet: what a
   * live director resolves (from the kernel's table or by ARP) before the engine needs it.
   */
  nextHopAddress(af: number, addr: Uint8Array): NextHopAddress | null {
    for (const r of this.routes) {
      if (r.af !== af || !inPrefix(r.words, r.plen, addr, 0)) continue;
      return { af, link: r.link, addr: r.onLink ? addr.slice(0, af === 4 ? 4 : 16) : (r.via as Uint8Array) };
    }
    return null;
  }

  /** The MAC known for `addr` on `link` (static or learned), or null. */
  neighbourMac(af: number, addr: Uint8Array, link: number): Uint8Array | null {
    return this.neighbourHop(af, addr, 0, link)?.dstMac ?? null;
  }

  /**
   * A neighbour learned at run time (kernel table, ARP reply). An entry already known is updated
   * in place, so every dest and route holding its NextHop sends to the new MAC at once; a new one
   * also completes the routes through it as gateway. Returns true when anything changed: the
   * caller then re-resolves dests whose hop was missing (engine-control's refreshDestHops).
   */
  learnNeighbour(af: number, addr: Uint8Array, link: number, mac: Uint8Array): boolean {
    const known = this.neighbourHop(af, addr, 0, link);
    if (known !== null) {
      if (sameBytes(known.dstMac, mac)) return false;
      known.dstMac.set(mac);
      known.prepare();
      return true;
    }
    const hop = this.makeHop(link, mac, addr, af);
    this.neighbours.push({ af, words: toWords(addr), link, hop });
    for (const r of this.routes) {
      if (r.via !== null && r.gateway === null && r.link === link && r.af === af && sameBytes(r.via, addr)) r.gateway = hop;
    }
    return true;
  }

  /** The next hop for a packet to the address at buf[off] (4 or 16 bytes by af), or null (no route / no neighbour). */
  route(af: number, buf: Uint8Array, off: number): NextHop | null {
    const routes = this.routes;
    for (let i = 0; i < routes.length; i++) {
      const r = routes[i];
      if (r.af !== af || !inPrefix(r.words, r.plen, buf, off)) continue;
      if (!r.onLink) return r.gateway;
      return r.layer3 ?? this.neighbourHop(af, buf, off, r.link);
    }
    return null;
  }
}

function maskWords(words: Uint32Array, plen: number): Uint32Array {
  const out = new Uint32Array(4);
  let left = plen;
  for (let i = 0; i < 4 && left > 0; i++, left -= 32) {
    const bits = left >= 32 ? 32 : left;
    const mask = bits === 32 ? 0xffffffff : ~(0xffffffff >>> bits) >>> 0;
    out[i] = (words[i] & mask) >>> 0;
  }
  return out;
}

