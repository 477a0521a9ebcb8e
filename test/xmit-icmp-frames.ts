/**
 * Frame builders and independent checks for the ICMP and fragment specs (test/xmit-icmp-*.test.ts,
 * test/ipvs-fragments.test.ts): raw IPv4 / IPv6 packets with any flags, fragment offsets and
 * payloads, ICMP errors quoting a given packet, and a ones'-complement sum of our own (so that the
 * checks do not lean on src/wire/checksum.ts, which the builders may use to make inputs).
 */
import { parseIp } from '../src/control/ip-address';

export const DIRECTOR_MAC = '02:00:00:00:00:01';
export const ROUTER_MAC = '02:00:00:00:00:fe';

export function mac(text: string): Uint8Array {
  return Uint8Array.from(text.split(':').map((h) => parseInt(h, 16)));
}

export function addr(text: string): Uint8Array {
  return parseIp(text).bytes;
}

/** Ones'-complement sum of 16-bit words (an odd byte padded with zero), folded to 16 bits. */
export function onesSum(b: Uint8Array, from = 0, to = b.length, start = 0): number {
  let s = start;
  for (let i = from; i < to; i += 2) s += (b[i] << 8) | (i + 1 < to ? b[i + 1] : 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** Word sum of an IPv4 / IPv6 pseudo-header. */
export function pseudoSum(src: Uint8Array, dst: Uint8Array, proto: number, len: number): number {
  const p = new Uint8Array(src.length * 2 + 4);
  p.set(src, 0);
  p.set(dst, src.length);
  p[p.length - 3] = proto;
  p[p.length - 2] = (len >> 8) & 0xff;
  p[p.length - 1] = len & 0xff;
  let s = onesSum(p);
  s += len >>> 16;
  return s;
}

function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 8) & 0xff;
  b[at + 1] = v & 0xff;
}

function put32(b: Uint8Array, at: number, v: number): void {
  put16(b, at, (v >>> 16) & 0xffff);
  put16(b, at + 2, v & 0xffff);
}

export function eth(packet: Uint8Array, opts: { dst?: string; src?: string } = {}): Uint8Array {
  const f = new Uint8Array(14 + packet.length);
  f.set(mac(opts.dst ?? DIRECTOR_MAC), 0);
  f.set(mac(opts.src ?? ROUTER_MAC), 6);
  put16(f, 12, packet[0] >>> 4 === 6 ? 0x86dd : 0x0800);
  f.set(packet, 14);
  return f;
}

export interface Ip4 {
  src: string;
  dst: string;
  proto: number;
  payload: Uint8Array;
  ttl?: number;
  tos?: number;
  id?: number;
  /** Flags and fragment offset word (default DF). */
  frag?: number;
}

export function ip4(o: Ip4): Uint8Array {
  const p = new Uint8Array(20 + o.payload.length);
  p[0] = 0x45;
  p[1] = o.tos ?? 0;
  put16(p, 2, p.length);
  put16(p, 4, o.id ?? 0x1234);
  put16(p, 6, o.frag ?? 0x4000);
  p[8] = o.ttl ?? 64;
  p[9] = o.proto;
  p.set(addr(o.src), 12);
  p.set(addr(o.dst), 16);
  put16(p, 10, ~onesSum(p, 0, 20) & 0xffff);
  p.set(o.payload, 20);
  return p;
}

export interface Ip6 {
  src: string;
  dst: string;
  /** Next header of the last extension header (or of the fixed header). */
  proto: number;
  payload: Uint8Array;
  hlim?: number;
  /** Extension headers in front of the payload: each with its own next header byte filled here. */
  ext?: { type: number; bytes: Uint8Array }[];
}

export function ip6(o: Ip6): Uint8Array {
  const ext = o.ext ?? [];
  const extLen = ext.reduce((n, e) => n + e.bytes.length, 0);
  const p = new Uint8Array(40 + extLen + o.payload.length);
  p[0] = 0x60;
  put16(p, 4, extLen + o.payload.length);
  p[6] = ext.length > 0 ? ext[0].type : o.proto;
  p[7] = o.hlim ?? 64;
  p.set(addr(o.src), 8);
  p.set(addr(o.dst), 24);
  let at = 40;
  ext.forEach((e, i) => {
    p.set(e.bytes, at);
    p[at] = i + 1 < ext.length ? ext[i + 1].type : o.proto;
    at += e.bytes.length;
  });
  p.set(o.payload, at);
  return p;
}

/** An IPv6 Fragment header (offset in bytes, a multiple of 8). */
export function fragHeader(offset: number, more: boolean, id: number): { type: number; bytes: Uint8Array } {
  const b = new Uint8Array(8);
  put16(b, 2, offset | (more ? 1 : 0));
  put32(b, 4, id);
  return { type: 44, bytes: b };
}

/** An 8-byte destination options header (PadN). */
export function destOpts(): { type: number; bytes: Uint8Array } {
  return { type: 60, bytes: Uint8Array.of(0, 0, 1, 4, 0, 0, 0, 0) };
}

/** A UDP datagram (header + payload) with its checksum over the pseudo-header of src -> dst (0 if zero). */
export function udpDatagram(src: string, sport: number, dst: string, dport: number, payload: Uint8Array, zero = false): Uint8Array {
  const u = new Uint8Array(8 + payload.length);
  put16(u, 0, sport);
  put16(u, 2, dport);
  put16(u, 4, u.length);
  u.set(payload, 8);
  if (!zero) {
    const c = ~onesSum(u, 0, u.length, pseudoSum(addr(src), addr(dst), 17, u.length)) & 0xffff;
    put16(u, 6, c === 0 ? 0xffff : c);
  }
  return u;
}

/** A TCP segment (20-byte header + payload) with its checksum. */
export function tcpSegment(src: string, sport: number, dst: string, dport: number, flags: number, payload: Uint8Array,
  seq = 1000, ack = 0): Uint8Array {
  const t = new Uint8Array(20 + payload.length);
  put16(t, 0, sport);
  put16(t, 2, dport);
  put32(t, 4, seq);
  put32(t, 8, ack);
  t[12] = 0x50;
  t[13] = flags;
  put16(t, 14, 65535);
  t.set(payload, 20);
  put16(t, 16, ~onesSum(t, 0, t.length, pseudoSum(addr(src), addr(dst), 6, t.length)) & 0xffff);
  return t;
}

export function bytes(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (seed + 13 * i) & 0xff;
  return b;
}

/**
 * An ICMP (af 4) or ICMPv6 (af 6) error message quoting `quoted` (cut to quoteLen bytes), with its
 * checksum (ICMPv6 over the pseudo-header of src -> dst).
 */
export function icmpMessage(af: 4 | 6, type: number, code: number, info: number, quoted: Uint8Array, quoteLen: number,
  src: string, dst: string): Uint8Array {
  const m = new Uint8Array(8 + Math.min(quoteLen, quoted.length));
  m[0] = type;
  m[1] = code;
  put32(m, 4, info);
  m.set(quoted.subarray(0, m.length - 8), 8);
  const start = af === 6 ? pseudoSum(addr(src), addr(dst), 58, m.length) : 0;
  put16(m, 2, ~onesSum(m, 0, m.length, start) & 0xffff);
  return m;
}

/** An ICMP error frame from src to dst quoting `quoted` (default quote: IP header + 8 bytes). */
export function icmpErrorFrame(src: string, dst: string, type: number, code: number, quoted: Uint8Array,
  opts: { quoteLen?: number; info?: number; ttl?: number; srcMac?: string } = {}): Uint8Array {
  const af = src.includes(':') ? 6 : 4;
  const quoteLen = opts.quoteLen ?? (af === 6 ? 48 : ((quoted[0] & 15) << 2) + 8);
  const msg = icmpMessage(af, type, code, opts.info ?? 0, quoted, quoteLen, src, dst);
  const packet = af === 6
    ? ip6({ src, dst, proto: 58, payload: msg, hlim: opts.ttl ?? 250 })
    : ip4({ src, dst, proto: 1, payload: msg, ttl: opts.ttl ?? 250, frag: 0, tos: 0xc0 });
  return eth(packet, { src: opts.srcMac });
}

/** True when the IPv4 header at b[at] has a right checksum. */
export function ipv4HeaderOk(b: Uint8Array, at: number): boolean {
  return onesSum(b, at, at + ((b[at] & 15) << 2)) === 0xffff;
}

/** True when the ICMP message of the IP packet at b[l3] (no IPv6 extension headers) has a right checksum. */
export function icmpOk(b: Uint8Array, l3: number): boolean {
  if (b[l3] >>> 4 === 4) {
    const ihl = (b[l3] & 15) << 2;
    const total = (b[l3 + 2] << 8) | b[l3 + 3];
    return onesSum(b, l3 + ihl, l3 + total) === 0xffff;
  }
  const plen = (b[l3 + 4] << 8) | b[l3 + 5];
  const start = pseudoSum(b.subarray(l3 + 8, l3 + 24), b.subarray(l3 + 24, l3 + 40), 58, plen);
  return onesSum(b, l3 + 40, l3 + 40 + plen, start) === 0xffff;
}
