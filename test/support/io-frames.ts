/**
 * Frames for the native I/O tests (packet port, TUN, BPF filter): Ethernet with IPv4/IPv6 and
 * UDP/TCP/ICMPv6 or ARP, correct checksums, a payload that names the frame so each is distinct.
 */
import { parseIp, parseMac } from '../../src/control/ip-address';
import { setIpv4HeaderChecksum, transportChecksum, writeU16 } from '../../src/wire/checksum';

export const EXPERIMENTAL_ETHERTYPE = 0x88b5; // IEEE local experimental: the kernel ignores it

export function mac(text: string): Uint8Array {
  const m = parseMac(text);
  if (m === null) throw new Error(`bad MAC ${text}`);
  return m;
}

/** An Ethernet frame of `type` carrying payload. */
export function ether(dst: Uint8Array, src: Uint8Array, type: number, payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + payload.length);
  f.set(dst, 0);
  f.set(src, 6);
  writeU16(f, 12, type);
  f.set(payload, 14);
  return f;
}

/** A frame of the experimental EtherType whose payload is `len - 14` bytes derived from seq. */
export function numbered(dst: Uint8Array, src: Uint8Array, seq: number, len: number): Uint8Array {
  const payload = new Uint8Array(len - 14);
  for (let i = 0; i < payload.length; i++) payload[i] = (seq * 7 + i) & 0xff;
  payload[0] = seq >>> 24;
  payload[1] = (seq >>> 16) & 0xff;
  payload[2] = (seq >>> 8) & 0xff;
  payload[3] = seq & 0xff;
  return ether(dst, src, EXPERIMENTAL_ETHERTYPE, payload);
}

/** The sequence number of a numbered() frame, or -1 for any other frame. */
export function seqOf(f: Uint8Array): number {
  if (f.length < 18 || ((f[12] << 8) | f[13]) !== EXPERIMENTAL_ETHERTYPE) return -1;
  return ((f[14] << 24) | (f[15] << 16) | (f[16] << 8) | f[17]) >>> 0;
}

export interface IpSpec {
  src: string;
  dst: string;
  /** 6 tcp, 17 udp, 58 icmpv6 (type in sport), 132 sctp, or any number (no transport header). */
  proto: number;
  sport?: number;
  dport?: number;
  payload?: Uint8Array | string;
  /** IPv4 fragment offset in 8-byte units (a non-first fragment has no transport header). */
  fragOffset?: number;
}

/** An IPv4 or IPv6 packet (no Ethernet header). */
export function ipPacket(spec: IpSpec): Uint8Array {
  const src = parseIp(spec.src);
  const dst = parseIp(spec.dst);
  const v6 = src.af === 6;
  const data = typeof spec.payload === 'string' ? new TextEncoder().encode(spec.payload) : (spec.payload ?? new Uint8Array(0));
  const nonFirst = (spec.fragOffset ?? 0) > 0;
  const l4Head = nonFirst ? 0 : spec.proto === 6 ? 20 : spec.proto === 17 || spec.proto === 132 || spec.proto === 58 ? 8 : 0;
  const l4Len = l4Head + data.length;
  const l3Len = v6 ? 40 : 20;
  const p = new Uint8Array(l3Len + l4Len);
  if (v6) {
    p[0] = 0x60;
    writeU16(p, 4, l4Len);
    p[6] = spec.proto;
    p[7] = 64;
    p.set(src.bytes, 8);
    p.set(dst.bytes, 24);
  } else {
    p[0] = 0x45;
    writeU16(p, 2, p.length);
    writeU16(p, 6, spec.fragOffset ?? 0);
    p[8] = 64;
    p[9] = spec.proto;
    p.set(src.bytes, 12);
    p.set(dst.bytes, 16);
    setIpv4HeaderChecksum(p, 0);
  }
  const l4 = l3Len;
  p.set(data, l4 + l4Head);
  if (nonFirst || l4Head === 0) return p;
  const srcOff = v6 ? 8 : 12;
  const dstOff = v6 ? 24 : 16;
  const alen = v6 ? 16 : 4;
  if (spec.proto === 58) {
    p[l4] = spec.sport ?? 128; // ICMPv6 type
    writeU16(p, l4 + 2, transportChecksum(p, srcOff, dstOff, alen, 58, l4, l4Len, 2));
    return p;
  }
  writeU16(p, l4, spec.sport ?? 0);
  writeU16(p, l4 + 2, spec.dport ?? 0);
  if (spec.proto === 6) {
    p[l4 + 12] = 0x50;
    p[l4 + 13] = 0x02;
    writeU16(p, l4 + 14, 65535);
    writeU16(p, l4 + 16, transportChecksum(p, srcOff, dstOff, alen, 6, l4, l4Len, 16));
  } else if (spec.proto === 17) {
    writeU16(p, l4 + 4, l4Len);
    const c = transportChecksum(p, srcOff, dstOff, alen, 17, l4, l4Len, 6);
    writeU16(p, l4 + 6, c === 0 ? 0xffff : c);
  }
  return p;
}

/** An Ethernet frame carrying ipPacket(spec). */
export function ipFrame(dstMac: Uint8Array, srcMac: Uint8Array, spec: IpSpec): Uint8Array {
  const v6 = spec.src.includes(':');
  return ether(dstMac, srcMac, v6 ? 0x86dd : 0x0800, ipPacket(spec));
}

/** An ARP request for `target` from `sender`. */
export function arpRequest(srcMac: Uint8Array, sender: string, target: string): Uint8Array {
  const a = new Uint8Array(28);
  writeU16(a, 0, 1);
  writeU16(a, 2, 0x0800);
  a[4] = 6;
  a[5] = 4;
  writeU16(a, 6, 1);
  a.set(srcMac, 8);
  a.set(parseIp(sender).bytes, 14);
  a.set(parseIp(target).bytes, 24);
  return ether(mac('ff:ff:ff:ff:ff:ff'), srcMac, 0x0806, a);
}

/** The frame with an 802.1Q tag (VLAN id) inserted after the MAC addresses. */
export function tagged(f: Uint8Array, vid: number): Uint8Array {
  const t = new Uint8Array(f.length + 4);
  t.set(f.subarray(0, 12), 0);
  writeU16(t, 12, 0x8100);
  writeU16(t, 14, vid);
  t.set(f.subarray(12), 16);
  return t;
}

export function hex(f: Uint8Array): string {
  return Buffer.from(f.buffer, f.byteOffset, f.length).toString('hex');
}
