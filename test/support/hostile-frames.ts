/**
 * Hostile frames for the fuzz tests and the fuzz bench: a frame is described by a FrameSpec
 * (Ethernet with any VLAN tags, IPv4 with options or IPv6 with extension headers, fragments,
 * TCP / UDP / SCTP / ICMP / anything, payload and padding), built with every length and checksum
 * right (buildFrameInto), then broken by mutations (hostile-mutations.ts). randomSpec draws specs
 * aimed at a scenario (its VIPs, real servers, local addresses and a small pool of clients, so
 * that connections form and later frames hit them) from a seeded Rng, so a failure is replayed
 * from its seed. Nothing here uses src/wire: the frames are built independently of the parser.
 */

/** A source of uniform integers: int(n) in [0, n). */
export interface Rng {
  int(n: number): number;
}

/** sfc32 (as scripts/bench/prng.ts), seeded: the same seed gives the same frames everywhere. */
export class SeededRng implements Rng {
  private a = 0x9e3779b9;
  private b = 0x243f6a88;
  private c = 0xb7e15162;
  private d: number;

  constructor(seed: number) {
    this.d = seed >>> 0;
    for (let i = 0; i < 16; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  int(n: number): number {
    return Math.floor((this.u32() / 4294967296) * n);
  }
}

/** An address and port of a scenario: a virtual service, a real server, a local (FULLNAT) address. */
export interface Endpoint {
  af: 4 | 6;
  addr: Uint8Array;
  port: number;
  /** Transport protocol number (0: any of TCP, UDP, SCTP). */
  proto: number;
}

/** What randomSpec aims at: taken from a scenario's rules and director files (see hostile-scenarios.ts). */
export interface AddressBook {
  services: Endpoint[];
  dests: Endpoint[];
  /** FULLNAT local addresses (port 0). */
  laddrs: Endpoint[];
}

export interface Ipv6ExtSpec {
  /** 0 hop-by-hop, 43 routing, 60 destination options, 44 fragment, or anything as garbage. */
  type: number;
  /** Size in units of 8 bytes beyond the first 8 (ignored for a fragment header). */
  len8: number;
  /** A Hdr Ext Len that lies about the size (-1: the true len8). */
  lengthField: number;
  /** Routing: segments left. Fragment: offset in 8-byte units. */
  value: number;
  /** Fragment: M flag. */
  more: boolean;
}

export interface SctpChunkSpec {
  type: number;
  flags: number;
  /** Body bytes (the chunk length field is 4 + body unless lengthField >= 0). */
  body: number;
  lengthField: number;
}

export interface FrameSpec {
  /** TPIDs (0x8100 / 0x88a8 / anything) of the VLAN tags, outermost first. */
  tags: number[];
  /** A tag list cut after its TPID (no TCI, no EtherType). */
  cutTag: boolean;
  etherType: number;
  /** IPv4 / IPv6 packet when etherType is IP; otherwise `rawL3` random bytes follow (ARP is built properly). */
  ip: IpSpec | null;
  rawL3: number;
  /** Ethernet padding after the packet. */
  trailer: number;
  /** Byte seed for payloads and garbage. */
  fill: number;
}

export interface IpSpec {
  af: 4 | 6;
  src: Uint8Array;
  dst: Uint8Array;
  ttl: number;
  tos: number;
  df: boolean;
  /** IPv4 MF flag and fragment offset (8-byte units). */
  mf: boolean;
  fragOffset: number;
  /** IPv4 option bytes (padded with EOL to a multiple of 4, at most 40). */
  options: number[];
  /** IPv6 extension headers in order. */
  ext: Ipv6ExtSpec[];
  proto: number;
  sport: number;
  dport: number;
  tcpFlags: number;
  seq: number;
  ack: number;
  /** TCP option bytes (padded with EOL to a multiple of 4, at most 40). */
  tcpOptions: number[];
  chunks: SctpChunkSpec[];
  /** SCTP: bytes of a last chunk header cut short (0..3). */
  chunkTail: number;
  icmpType: number;
  icmpCode: number;
  /** ICMP errors: the packet quoted in the message (an IP packet, cut as the sender chose). */
  quoted: IpSpec | null;
  quotedLen: number;
  payload: number;
  /** UDP sent without a checksum (0: "none" in IPv4, illegal in IPv6). */
  udpNoChecksum: boolean;
}

export const ETH_P_IP = 0x0800;
export const ETH_P_IPV6 = 0x86dd;
export const ETH_P_ARP = 0x0806;
export const IPPROTO = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58, sctp: 132 } as const;

const DIRECTOR_MAC = [2, 0, 0, 0, 0, 1];
const CLIENT_MAC = [2, 0, 0, 0, 0xc, 1];

/** Largest frame buildFrame writes (headers, options, a quoted packet, payload, padding). */
export const MAX_FRAME = 2400;

function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

function sum16(b: Uint8Array, off: number, len: number, sum: number): number {
  let i = off;
  const end = off + (len & ~1);
  for (; i < end; i += 2) sum += (b[i] << 8) | b[i + 1];
  if (len & 1) sum += b[i] << 8;
  return sum;
}

function csum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** Stores the SCTP CRC32c of b[l4, l4+len) (least significant byte first). */
export function writeSctpCrc(b: Uint8Array, l4: number, len: number): void {
  if (len < 12) return;
  b.fill(0, l4 + 8, l4 + 12);
  let c = 0xffffffff;
  for (let i = l4; i < l4 + len; i++) c = CRC_TABLE[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  c = (c ^ 0xffffffff) >>> 0;
  b[l4 + 8] = c & 0xff;
  b[l4 + 9] = (c >>> 8) & 0xff;
  b[l4 + 10] = (c >>> 16) & 0xff;
  b[l4 + 11] = c >>> 24;
}

/** Stores the IPv4 header checksum of the header at l3 (IHL from the header). */
export function writeIpv4Checksum(b: Uint8Array, l3: number): void {
  const ihl = (b[l3] & 15) * 4;
  put16(b, l3 + 10, 0);
  put16(b, l3 + 10, csum(sum16(b, l3, ihl, 0)));
}

/**
 * Stores the transport checksum (TCP, UDP, ICMP, ICMPv6, SCTP) of the segment b[l4, l4+len)
 * of an IP packet whose addresses are at srcOff / dstOff. UDP covers its own length field's bytes
 * when that is shorter, as a receiver sums it.
 */
export function writeTransportChecksum(
  b: Uint8Array, af: number, srcOff: number, dstOff: number, proto: number, l4: number, len: number,
): void {
  const addrLen = af === 6 ? 16 : 4;
  const pseudo = (n: number): number => sum16(b, srcOff, addrLen, sum16(b, dstOff, addrLen, 0)) + proto + n;
  if (proto === IPPROTO.tcp && len >= 18) {
    put16(b, l4 + 16, 0);
    put16(b, l4 + 16, csum(sum16(b, l4, len, pseudo(len))));
  } else if (proto === IPPROTO.udp && len >= 8) {
    const ulen = (b[l4 + 4] << 8) | b[l4 + 5];
    const n = ulen >= 8 && ulen <= len ? ulen : len;
    put16(b, l4 + 6, 0);
    const c = csum(sum16(b, l4, n, pseudo(n)));
    put16(b, l4 + 6, c === 0 ? 0xffff : c);
  } else if (proto === IPPROTO.sctp) {
    writeSctpCrc(b, l4, len);
  } else if (proto === IPPROTO.icmp && af === 4 && len >= 4) {
    put16(b, l4 + 2, 0);
    put16(b, l4 + 2, csum(sum16(b, l4, len, 0)));
  } else if (proto === IPPROTO.icmpv6 && af === 6 && len >= 4) {
    put16(b, l4 + 2, 0);
    put16(b, l4 + 2, csum(sum16(b, l4, len, pseudo(len))));
  }
}

function padTo4(bytes: number[]): number {
  return Math.min(40, (bytes.length + 3) & ~3);
}

/** Bytes of the transport part of ip (header, chunks, quoted packet, payload). */
function transportLength(ip: IpSpec): number {
  switch (ip.proto) {
    case IPPROTO.tcp:
      return 20 + padTo4(ip.tcpOptions) + ip.payload;
    case IPPROTO.udp:
      return 8 + ip.payload;
    case IPPROTO.sctp:
      return 12 + ip.chunks.reduce((n, c) => n + ((4 + c.body + 3) & ~3), 0) + ip.chunkTail;
    case IPPROTO.icmp:
    case IPPROTO.icmpv6:
      return 8 + (ip.quoted ? Math.min(ip.quotedLen, ipLength(ip.quoted)) : ip.payload);
    default:
      return ip.payload;
  }
}

function extLength(e: Ipv6ExtSpec): number {
  return e.type === 44 ? 8 : (e.len8 + 1) * 8;
}

function headerLength(ip: IpSpec): number {
  return ip.af === 4 ? 20 + padTo4(ip.options) : 40 + ip.ext.reduce((n, e) => n + extLength(e), 0);
}

/** Length of the IP packet ip describes. */
export function ipLength(ip: IpSpec): number {
  return headerLength(ip) + transportLength(ip);
}

/** Length of the frame spec describes. */
export function frameLength(spec: FrameSpec): number {
  const tags = spec.cutTag ? 14 + 4 * spec.tags.length - 2 : 14 + 4 * spec.tags.length;
  if (spec.cutTag) return tags;
  const l3 = spec.ip ? ipLength(spec.ip) : spec.etherType === ETH_P_ARP ? 28 : spec.rawL3;
  return tags + l3 + spec.trailer;
}

/** Fills b[off, off+n) with bytes from `seed` (a cheap deterministic pattern, not all zero). */
function fillBytes(b: Uint8Array, off: number, n: number, seed: number): void {
  let x = (seed | 1) >>> 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[off + i] = x & 0xff;
  }
}

/**
 * Writes the IP packet ip at b[l3..] with every length and checksum right (for its own bytes;
 * a fragment's transport checksum covers only what it holds). Returns its length.
 */
export function writeIpPacket(ip: IpSpec, b: Uint8Array, l3: number, fill: number): number {
  const hlen = headerLength(ip);
  const total = hlen + transportLength(ip);
  let srcOff: number;
  let dstOff: number;
  if (ip.af === 4) {
    const optLen = padTo4(ip.options);
    b[l3] = 0x40 | (hlen >>> 2);
    b[l3 + 1] = ip.tos;
    put16(b, l3 + 2, total);
    put16(b, l3 + 4, fill & 0xffff);
    put16(b, l3 + 6, (ip.df ? 0x4000 : 0) | (ip.mf ? 0x2000 : 0) | (ip.fragOffset & 0x1fff));
    b[l3 + 8] = ip.ttl;
    b[l3 + 9] = ip.proto;
    srcOff = l3 + 12;
    dstOff = l3 + 16;
    b.set(ip.src.subarray(0, 4), srcOff);
    b.set(ip.dst.subarray(0, 4), dstOff);
    b.fill(0, l3 + 20, l3 + 20 + optLen);
    for (let i = 0; i < optLen && i < ip.options.length; i++) b[l3 + 20 + i] = ip.options[i];
  } else {
    b[l3] = 0x60 | (ip.tos >>> 4);
    b[l3 + 1] = ((ip.tos & 15) << 4) | (fill & 15);
    put16(b, l3 + 2, fill & 0xffff);
    put16(b, l3 + 4, total - 40);
    b[l3 + 6] = ip.ext.length > 0 ? ip.ext[0].type : ip.proto;
    b[l3 + 7] = ip.ttl;
    srcOff = l3 + 8;
    dstOff = l3 + 24;
    b.set(ip.src.subarray(0, 16), srcOff);
    b.set(ip.dst.subarray(0, 16), dstOff);
    let p = l3 + 40;
    ip.ext.forEach((e, i) => {
      const next = i + 1 < ip.ext.length ? ip.ext[i + 1].type : ip.proto;
      const n = extLength(e);
      b.fill(0, p, p + n);
      b[p] = next;
      if (e.type === 44) {
        put16(b, p + 2, ((e.value & 0x1fff) << 3) | (e.more ? 1 : 0));
        put32(b, p + 4, fill);
      } else {
        b[p + 1] = e.lengthField >= 0 ? e.lengthField : e.len8;
        if (e.type === 43) {
          b[p + 2] = 0;
          b[p + 3] = e.value;
        } else {
          // PadN over the rest of the options area.
          b[p + 2] = 1;
          b[p + 3] = n - 4;
        }
      }
      p += n;
    });
  }
  const l4 = l3 + hlen;
  const l4Len = total - hlen;
  writeTransport(ip, b, l4, l4Len, fill);
  const laterFragment = ip.af === 4 ? ip.fragOffset !== 0 : ip.ext.some((e) => e.type === 44 && e.value !== 0);
  if (!laterFragment) writeTransportChecksum(b, ip.af, srcOff, dstOff, ip.proto, l4, l4Len);
  if (ip.proto === IPPROTO.udp && ip.udpNoChecksum) put16(b, l4 + 6, 0);
  if (ip.af === 4) writeIpv4Checksum(b, l3);
  return total;
}

function writeTransport(ip: IpSpec, b: Uint8Array, l4: number, l4Len: number, fill: number): void {
  switch (ip.proto) {
    case IPPROTO.tcp: {
      const optLen = padTo4(ip.tcpOptions);
      put16(b, l4, ip.sport);
      put16(b, l4 + 2, ip.dport);
      put32(b, l4 + 4, ip.seq);
      put32(b, l4 + 8, ip.ack);
      b[l4 + 12] = ((20 + optLen) >>> 2) << 4;
      b[l4 + 13] = ip.tcpFlags;
      put16(b, l4 + 14, 65535);
      put32(b, l4 + 16, 0);
      b.fill(0, l4 + 20, l4 + 20 + optLen);
      for (let i = 0; i < optLen && i < ip.tcpOptions.length; i++) b[l4 + 20 + i] = ip.tcpOptions[i];
      fillBytes(b, l4 + 20 + optLen, ip.payload, fill);
      return;
    }
    case IPPROTO.udp:
      put16(b, l4, ip.sport);
      put16(b, l4 + 2, ip.dport);
      put16(b, l4 + 4, l4Len);
      put16(b, l4 + 6, 0);
      fillBytes(b, l4 + 8, ip.payload, fill);
      return;
    case IPPROTO.sctp: {
      put16(b, l4, ip.sport);
      put16(b, l4 + 2, ip.dport);
      put32(b, l4 + 4, fill);
      put32(b, l4 + 8, 0);
      let p = l4 + 12;
      for (const c of ip.chunks) {
        const n = (4 + c.body + 3) & ~3;
        b[p] = c.type;
        b[p + 1] = c.flags;
        put16(b, p + 2, c.lengthField >= 0 ? c.lengthField : 4 + c.body);
        fillBytes(b, p + 4, n - 4, fill + p);
        p += n;
      }
      fillBytes(b, p, ip.chunkTail, fill);
      return;
    }
    case IPPROTO.icmp:
    case IPPROTO.icmpv6: {
      b[l4] = ip.icmpType;
      b[l4 + 1] = ip.icmpCode;
      put16(b, l4 + 2, 0);
      put32(b, l4 + 4, ip.icmpType === 3 && ip.icmpCode === 4 ? 1400 : fill);
      if (ip.quoted) {
        const full = ipLength(ip.quoted);
        const tmp = new Uint8Array(full);
        writeIpPacket(ip.quoted, tmp, 0, fill + 1);
        b.set(tmp.subarray(0, l4Len - 8), l4 + 8);
      } else {
        fillBytes(b, l4 + 8, l4Len - 8, fill);
      }
      return;
    }
    default:
      fillBytes(b, l4, l4Len, fill);
  }
}

/** Writes the frame spec describes at b[off..] (b must have frameLength(spec) bytes there); returns its length. */
export function buildFrameInto(spec: FrameSpec, b: Uint8Array, off: number): number {
  for (let i = 0; i < 6; i++) {
    b[off + i] = DIRECTOR_MAC[i];
    b[off + 6 + i] = CLIENT_MAC[i];
  }
  let t = off + 12;
  for (let i = 0; i < spec.tags.length; i++) {
    put16(b, t, spec.tags[i]);
    if (spec.cutTag && i === spec.tags.length - 1) return t + 2 - off;
    put16(b, t + 2, (spec.fill + i) & 0x0fff);
    t += 4;
  }
  put16(b, t, spec.etherType);
  const l3 = t + 2;
  let n: number;
  if (spec.ip) {
    n = writeIpPacket(spec.ip, b, l3, spec.fill);
  } else if (spec.etherType === ETH_P_ARP) {
    // Ethernet / IPv4 ARP request.
    put16(b, l3, 1);
    put16(b, l3 + 2, ETH_P_IP);
    b[l3 + 4] = 6;
    b[l3 + 5] = 4;
    put16(b, l3 + 6, 1 + (spec.fill & 1));
    fillBytes(b, l3 + 8, 20, spec.fill);
    n = 28;
  } else {
    fillBytes(b, l3, spec.rawL3, spec.fill);
    n = spec.rawL3;
  }
  fillBytes(b, l3 + n, spec.trailer, spec.fill ^ 0x5a5a);
  return l3 + n + spec.trailer - off;
}

// ---- random specs aimed at a scenario ------------------------------------------------------------

const CLIENTS_V4 = [0, 1, 2, 3, 4, 5].map((i) => Uint8Array.of(198, 51, 100, 1 + i));
const CLIENTS_V6 = [0, 1, 2, 3, 4, 5].map((i) => Uint8Array.of(0x20, 1, 0xd, 0xb8, 0, 0xc, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 + i));
/** Client ports: a few, so that connections recur; 20 is FTP data (never starts a connection). */
const CLIENT_PORTS = [1025, 1026, 1027, 40000, 40001, 20];
/** The first local ports a FULLNAT pool hands out. */
const LOCAL_PORTS = [1025, 1026, 1027, 1028];
/** Sequence numbers of replies, and the acks of clients that may acknowledge them (TOA trigger). */
const SERVER_ISNS = [5000, 70000];

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)];
}

function chance(rng: Rng, percent: number): boolean {
  return rng.int(100) < percent;
}

function randomAddress(rng: Rng, af: 4 | 6): Uint8Array {
  const a = new Uint8Array(af === 4 ? 4 : 16);
  for (let i = 0; i < a.length; i++) a[i] = rng.int(256);
  return a;
}

function randomProto(rng: Rng, af: 4 | 6, wanted: number): number {
  if (wanted !== 0) return wanted;
  return pick(rng, [IPPROTO.tcp, IPPROTO.tcp, IPPROTO.udp, IPPROTO.sctp, af === 4 ? IPPROTO.icmp : IPPROTO.icmpv6]);
}

const TCP_FLAG_CHOICES = [0x02, 0x02, 0x02, 0x10, 0x10, 0x18, 0x11, 0x04, 0x14, 0x12, 0x06, 0x03, 0x00, 0xff];

/** Valid IPv4 options (NOP, router alert, record route, timestamp) or garbage. */
function ipv4Options(rng: Rng): number[] {
  switch (rng.int(6)) {
    case 0:
      return [1, 1, 1, 0];
    case 1:
      return [148, 4, 0, 0];
    case 2:
      return [7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    case 3:
      return [68, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    case 4: {
      // Garbage of any length up to 40 (lengths 0, 1, past the header...).
      const n = 1 + rng.int(40);
      return Array.from({ length: n }, () => rng.int(256));
    }
    default:
      return [rng.int(256), rng.int(4) === 0 ? 0 : rng.int(256), rng.int(256), rng.int(256)];
  }
}

function tcpOptions(rng: Rng): number[] {
  switch (rng.int(5)) {
    case 0:
      return [2, 4, 5, 0xb4];
    case 1:
      return [2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7];
    case 2:
      return Array.from({ length: 40 }, () => 1);
    case 3:
      return [254, 8, 0, 80, 10, 0, 0, 1];
    default:
      return Array.from({ length: 1 + rng.int(40) }, () => rng.int(256));
  }
}

function ipv6Ext(rng: Rng): Ipv6ExtSpec[] {
  const list: Ipv6ExtSpec[] = [];
  const kind = rng.int(8);
  if (kind === 0) {
    // A long chain of one header type ("loop"), or hop-by-hop repeated (allowed only first).
    const type = pick(rng, [60, 0, 43]);
    const n = 2 + rng.int(12);
    for (let i = 0; i < n; i++) list.push({ type, len8: 0, lengthField: -1, value: 0, more: false });
    return list;
  }
  const n = 1 + rng.int(4);
  for (let i = 0; i < n; i++) {
    const type = i === 0 && chance(rng, 40) ? 0 : pick(rng, [43, 60, 60, 44, 44, 0, 51, 59, 135]);
    const len8 = rng.int(3);
    const lengthField = chance(rng, 10) ? rng.int(256) : -1;
    const value = type === 44 ? (chance(rng, 60) ? 0 : 1 + rng.int(200)) : type === 43 ? (chance(rng, 70) ? 0 : 1 + rng.int(4)) : 0;
    list.push({ type, len8, lengthField, value, more: chance(rng, 40) });
  }
  return list;
}

function sctpChunks(rng: Rng, starting: boolean): { chunks: SctpChunkSpec[]; tail: number } {
  const chunks: SctpChunkSpec[] = [];
  const n = chance(rng, 10) ? 0 : 1 + rng.int(3);
  for (let i = 0; i < n; i++) {
    const type = i === 0 && starting ? 1 : pick(rng, [0, 1, 2, 3, 4, 6, 7, 8, 10, 11, 14, rng.int(256)]);
    const body = type === 1 || type === 2 ? 16 + rng.int(8) : rng.int(24);
    const lengthField = chance(rng, 15) ? pick(rng, [0, 1, 3, 4, 0xffff, 4 + body + 100]) : -1;
    chunks.push({ type, flags: rng.int(8), body, lengthField });
  }
  return { chunks, tail: chance(rng, 10) ? 1 + rng.int(3) : 0 };
}

function payloadLength(rng: Rng): number {
  const k = rng.int(20);
  if (k < 12) return rng.int(64);
  if (k < 17) return rng.int(600);
  // Near the 1500-byte MTU, for too-big and TOA that does not fit.
  return 1400 + rng.int(80);
}

/** A plain IP packet between src and dst (no options, extension headers or fragments yet). */
function baseIp(rng: Rng, af: 4 | 6, src: Uint8Array, dst: Uint8Array, proto: number, sport: number, dport: number): IpSpec {
  const starting = chance(rng, 50);
  const sctp = sctpChunks(rng, starting);
  return {
    af, src, dst,
    ttl: chance(rng, 5) ? pick(rng, [0, 1, 2, 255]) : 64,
    tos: chance(rng, 10) ? rng.int(256) : 0,
    df: chance(rng, 50),
    mf: false,
    fragOffset: 0,
    options: [],
    ext: [],
    proto,
    sport,
    dport,
    tcpFlags: pick(rng, TCP_FLAG_CHOICES),
    seq: chance(rng, 50) ? pick(rng, SERVER_ISNS) : rng.int(0x10000) * 0x10000 + rng.int(0x10000),
    ack: chance(rng, 50) ? pick(rng, SERVER_ISNS) + 1 : rng.int(0x10000) * 0x10000,
    tcpOptions: [],
    chunks: sctp.chunks,
    chunkTail: sctp.tail,
    icmpType: 8,
    icmpCode: 0,
    quoted: null,
    quotedLen: 0,
    payload: proto === IPPROTO.sctp ? 0 : payloadLength(rng),
    udpNoChecksum: chance(rng, 15),
  };
}

function endpointOf(rng: Rng, list: Endpoint[], af: 4 | 6 | 0): Endpoint | null {
  const fitting = af === 0 ? list : list.filter((e) => e.af === af);
  return fitting.length === 0 ? null : pick(rng, fitting);
}

function clientAddress(rng: Rng, af: 4 | 6): Uint8Array {
  return chance(rng, 90) ? pick(rng, af === 4 ? CLIENTS_V4 : CLIENTS_V6) : randomAddress(rng, af);
}

/** Client -> virtual service. */
function clientPacket(rng: Rng, book: AddressBook): IpSpec {
  const svc = endpointOf(rng, book.services, 0);
  const af: 4 | 6 = svc ? svc.af : chance(rng, 70) ? 4 : 6;
  const dst = svc ? svc.addr : randomAddress(rng, af);
  const proto = randomProto(rng, af, svc && chance(rng, 90) ? svc.proto : 0);
  const dport = svc && svc.port !== 0 && chance(rng, 90) ? svc.port : pick(rng, [80, 443, 53, 8080, rng.int(65536)]);
  return baseIp(rng, af, clientAddress(rng, af), dst, proto, pick(rng, CLIENT_PORTS), dport);
}

/** Real server -> client (NAT reply) or -> local address (FULLNAT reply). */
function replyPacket(rng: Rng, book: AddressBook): IpSpec {
  const rs = endpointOf(rng, book.dests, 0);
  if (rs === null) return clientPacket(rng, book);
  const laddr = chance(rng, 50) ? endpointOf(rng, book.laddrs, rs.af) : null;
  const dst = laddr ? laddr.addr : clientAddress(rng, rs.af);
  const dport = laddr ? pick(rng, LOCAL_PORTS) : pick(rng, CLIENT_PORTS);
  const sport = rs.port !== 0 && chance(rng, 90) ? rs.port : rng.int(65536);
  const ip = baseIp(rng, rs.af, rs.addr, dst, randomProto(rng, rs.af, chance(rng, 90) ? rs.proto : 0), sport, dport);
  if (ip.proto === IPPROTO.tcp && chance(rng, 50)) ip.tcpFlags = 0x12;
  return ip;
}

/** ICMP (v6) echo or an error quoting a packet of a (possible) connection, either direction. */
function icmpPacket(rng: Rng, book: AddressBook): IpSpec {
  const quoted = chance(rng, 50) ? clientPacket(rng, book) : replyPacket(rng, book);
  const af = quoted.af;
  const fromRs = chance(rng, 50);
  // An error about a client packet comes back towards the client from somewhere on its path, or
  // from the real server about its reply; either way it is addressed to the quoted source.
  const src = fromRs ? randomAddress(rng, af) : quoted.dst;
  const ip = baseIp(rng, af, src, quoted.src, af === 4 ? IPPROTO.icmp : IPPROTO.icmpv6, 0, 0);
  const errors4: [number, number][] = [[3, 0], [3, 1], [3, 3], [3, 4], [11, 0], [12, 0], [0, 0], [8, 0], [5, 1]];
  const errors6: [number, number][] = [[1, 0], [1, 4], [2, 0], [3, 0], [4, 0], [128, 0], [129, 0], [135, 0]];
  const [type, code] = pick(rng, af === 4 ? errors4 : errors6);
  ip.icmpType = type;
  ip.icmpCode = chance(rng, 10) ? rng.int(256) : code;
  const isError = af === 4 ? type === 3 || type === 11 || type === 12 || type === 5 : type < 128;
  if (isError) {
    quoted.payload = Math.min(quoted.payload, 64);
    ip.quoted = quoted;
    const full = ipLength(quoted);
    const hdr = headerLength(quoted);
    ip.quotedLen = pick(rng, [full, hdr + 8, hdr + 4, hdr, 12, full]);
  } else {
    ip.payload = rng.int(64);
  }
  return ip;
}

/** An IP packet with random addresses and protocol. */
function strayPacket(rng: Rng): IpSpec {
  const af: 4 | 6 = chance(rng, 60) ? 4 : 6;
  const proto = chance(rng, 70) ? randomProto(rng, af, 0) : pick(rng, [0, 4, 41, 47, 50, 51, 59, 255, rng.int(256)]);
  return baseIp(rng, af, randomAddress(rng, af), randomAddress(rng, af), proto, rng.int(65536), rng.int(65536));
}

/** Options, extension headers, fragments: the shapes a parser gets wrong. */
function shape(rng: Rng, ip: IpSpec): void {
  if (ip.proto === IPPROTO.tcp && chance(rng, 20)) ip.tcpOptions = tcpOptions(rng);
  if (ip.af === 4) {
    if (chance(rng, 15)) ip.options = ipv4Options(rng);
    if (chance(rng, 10)) {
      ip.mf = chance(rng, 70);
      ip.fragOffset = chance(rng, 50) ? 0 : 1 + rng.int(200);
    }
  } else if (chance(rng, 30)) {
    ip.ext = ipv6Ext(rng);
  }
}

/** A random frame spec aimed at book: clients, replies, ICMP, strays, non-IP and odd link layers. */
export function randomSpec(rng: Rng, book: AddressBook): FrameSpec {
  const spec: FrameSpec = {
    tags: [],
    cutTag: false,
    etherType: ETH_P_IP,
    ip: null,
    rawL3: 0,
    trailer: chance(rng, 10) ? rng.int(40) : 0,
    fill: rng.int(0x7fffffff),
  };
  if (chance(rng, 15)) {
    const n = 1 + rng.int(3);
    for (let i = 0; i < n; i++) spec.tags.push(chance(rng, 90) ? pick(rng, [0x8100, 0x88a8]) : rng.int(65536));
    spec.cutTag = chance(rng, 10);
  }
  const kind = rng.int(100);
  if (kind < 50) spec.ip = clientPacket(rng, book);
  else if (kind < 75) spec.ip = replyPacket(rng, book);
  else if (kind < 85) spec.ip = icmpPacket(rng, book);
  else if (kind < 94) spec.ip = strayPacket(rng);
  if (spec.ip) {
    shape(rng, spec.ip);
    spec.etherType = spec.ip.af === 4 ? ETH_P_IP : ETH_P_IPV6;
    // Now and then an IP packet under the other family's EtherType.
    if (chance(rng, 2)) spec.etherType = spec.ip.af === 4 ? ETH_P_IPV6 : ETH_P_IP;
  } else {
    spec.etherType = pick(rng, [ETH_P_ARP, ETH_P_ARP, 0x8035, 0x88cc, 0x8847, 0x0000, 0x05dc, 0xffff, rng.int(65536)]);
    spec.rawL3 = rng.int(120);
  }
  return spec;
}
