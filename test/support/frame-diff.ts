/**
 * Says where two Ethernet frames differ, in words a person can act on: the first differing header FIELD with
 * both values (`IPv4 ttl: expected 63, got 64`), walking Ethernet, VLAN tags, IPv4 / IPv6 (and an inner
 * IPIP / IPv6-in-IP header, and the packet quoted in an ICMP error), TCP, UDP, ICMP and the payload bytes.
 *
 * Deliberately its own tiny byte walker: it imports nothing from src/, so a bug in the engine's parser cannot
 * hide the engine's own mistakes. The walk follows the EXPECTED frame's layout; a field that decides the layout
 * (IHL, data offset, next header, ...) is compared before anything that depends on it, so a layout difference
 * is reported at the field that causes it.
 */

interface Field {
  name: string;
  off: number;
  len: number;
  /** The field's value as text; two frames differ in this field when the texts differ. */
  show: (b: Uint8Array, off: number) => string;
}

const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;
const ETH_P_ARP = 0x0806;
const VLAN_TYPES = new Set([0x8100, 0x88a8, 0x9100]);
const IPV6_EXTENSION_HEADERS = new Set([0, 43, 60]); // hop-by-hop, routing, destination options
const IPV6_FRAGMENT = 44;
const ICMP_ERROR_TYPES = new Set([3, 4, 5, 11, 12]);
const TCP_FLAG_NAMES = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR', 'NS'];

const u8 = (b: Uint8Array, o: number): number => b[o];
const u16 = (b: Uint8Array, o: number): number => (b[o] << 8) | b[o + 1];
const u32 = (b: Uint8Array, o: number): number => ((b[o] << 24) >>> 0) + ((b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]);
const hex = (v: number, digits: number): string => '0x' + v.toString(16).padStart(digits, '0');
const hexBytes = (b: Uint8Array, o: number, n: number): string =>
  n === 0 ? '(none)' : Array.from(b.subarray(o, o + n), (x) => x.toString(16).padStart(2, '0')).join('');

function mac(b: Uint8Array, o: number): string {
  return Array.from(b.subarray(o, o + 6), (x) => x.toString(16).padStart(2, '0')).join(':');
}

function ipv4Address(b: Uint8Array, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

/** RFC 5952 text: lower case, no leading zeros, the longest run (>= 2) of zero groups as "::". */
export function ipv6Address(b: Uint8Array, o: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(u16(b, o + 2 * i));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const text = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return text(groups);
  return `${text(groups.slice(0, bestStart))}::${text(groups.slice(bestStart + bestLen))}`;
}

function tcpFlags(v: number): string {
  const names = TCP_FLAG_NAMES.filter((_, i) => (v >> i) & 1);
  return `${hex(v, 3)} (${names.length ? names.join(',') : 'none'})`;
}

function ipv4FlagsFragment(v: number): string {
  const flags = [v & 0x8000 ? 'reserved' : '', v & 0x4000 ? 'DF' : '', v & 0x2000 ? 'MF' : ''].filter(Boolean);
  return `${hex(v, 4)} (${flags.length ? flags.join(',') : 'no flags'}, offset ${(v & 0x1fff) * 8})`;
}

/** Collects the fields of one frame, in wire order. `end` arguments bound a layer (IP length, quoted data). */
class Walker {
  readonly fields: Field[] = [];

  constructor(private readonly b: Uint8Array) {}

  private add(name: string, off: number, len: number, show: Field['show']): void {
    this.fields.push({ name, off, len, show });
  }

  private num(name: string, off: number, len: 1 | 2 | 4): void {
    const read = len === 1 ? u8 : len === 2 ? u16 : u32;
    this.add(name, off, len, (b, o) => String(read(b, o)));
  }

  private hexField(name: string, off: number, len: 1 | 2): void {
    this.add(name, off, len, len === 1 ? (b, o) => hex(u8(b, o), 2) : (b, o) => hex(u16(b, o), 4));
  }

  /** Every byte of [off, end) as its own field: `<what> byte N`. */
  bytes(what: string, off: number, end: number): void {
    for (let o = off; o < end; o++) this.add(`${what} byte ${o - off}`, o, 1, (b, x) => hex(b[x], 2));
  }

  ethernet(): void {
    const b = this.b;
    if (b.length < 14) {
      this.bytes('Ethernet', 0, b.length);
      return;
    }
    this.add('Ethernet destination', 0, 6, mac);
    this.add('Ethernet source', 6, 6, mac);
    this.hexField('Ethernet type', 12, 2);
    let type = u16(b, 12);
    let off = 14;
    while (VLAN_TYPES.has(type) && off + 4 <= b.length) {
      this.add('VLAN tci', off, 2, (x, o) => `${hex(u16(x, o), 4)} (vlan ${u16(x, o) & 0x0fff})`);
      this.hexField('VLAN type', off + 2, 2);
      type = u16(b, off + 2);
      off += 4;
    }
    let end = b.length;
    if (type === ETH_P_IP) end = this.ipv4('IPv4', off, b.length);
    else if (type === ETH_P_IPV6) end = this.ipv6('IPv6', off, b.length);
    else if (type === ETH_P_ARP) this.bytes('ARP', off, b.length);
    else this.bytes('Ethernet payload', off, b.length);
    this.bytes('Ethernet padding', end, b.length);
  }

  /** Returns where the IPv4 packet ends (its total length, bounded by `limit`). */
  ipv4(p: string, off: number, limit: number): number {
    const b = this.b;
    if (off + 20 > limit) {
      this.bytes(`${p} header`, off, limit);
      return limit;
    }
    const ihl = (b[off] & 0x0f) * 4;
    const total = u16(b, off + 2);
    this.add(`${p} version/ihl`, off, 1, (x, o) => `${hex(x[o], 2)} (version ${x[o] >> 4}, ihl ${(x[o] & 15) * 4})`);
    this.hexField(`${p} tos`, off + 1, 1);
    this.num(`${p} total length`, off + 2, 2);
    this.num(`${p} id`, off + 4, 2);
    this.add(`${p} flags/fragment offset`, off + 6, 2, (x, o) => ipv4FlagsFragment(u16(x, o)));
    this.num(`${p} ttl`, off + 8, 1);
    this.num(`${p} protocol`, off + 9, 1);
    this.hexField(`${p} checksum`, off + 10, 2);
    this.add(`${p} source`, off + 12, 4, ipv4Address);
    this.add(`${p} destination`, off + 16, 4, ipv4Address);
    const end = total >= ihl && off + total <= limit ? off + total : limit;
    const l4 = Math.min(off + Math.max(ihl, 20), end);
    if (l4 > off + 20) this.add(`${p} options`, off + 20, l4 - off - 20, (x, o) => hexBytes(x, o, l4 - off - 20));
    const laterFragment = (u16(b, off + 6) & 0x1fff) !== 0;
    if (laterFragment) this.bytes(`${p} payload`, l4, end);
    else this.transport(p, b[off + 9], l4, end);
    return end;
  }

  /** Returns where the IPv6 packet ends (40 + payload length, bounded by `limit`). */
  ipv6(p: string, off: number, limit: number): number {
    const b = this.b;
    if (off + 40 > limit) {
      this.bytes(`${p} header`, off, limit);
      return limit;
    }
    this.add(`${p} version`, off, 1, (x, o) => String(x[o] >> 4));
    this.add(`${p} traffic class`, off, 2, (x, o) => hex(((x[o] & 0x0f) << 4) | (x[o + 1] >> 4), 2));
    this.add(`${p} flow label`, off + 1, 3, (x, o) => hex(((x[o] & 0x0f) << 16) | (x[o + 1] << 8) | x[o + 2], 5));
    this.num(`${p} payload length`, off + 4, 2);
    this.num(`${p} next header`, off + 6, 1);
    this.num(`${p} hop limit`, off + 7, 1);
    this.add(`${p} source`, off + 8, 16, ipv6Address);
    this.add(`${p} destination`, off + 24, 16, ipv6Address);
    const end = Math.min(off + 40 + u16(b, off + 4), limit);
    let next = b[off + 6];
    let o = off + 40;
    while ((IPV6_EXTENSION_HEADERS.has(next) || next === IPV6_FRAGMENT) && o + 8 <= end) {
      const len = next === IPV6_FRAGMENT ? 8 : (b[o + 1] + 1) * 8;
      if (o + len > end) break;
      const name = `${p} extension header ${next}`;
      this.add(name, o, len, (x, at) => hexBytes(x, at, len));
      const laterFragment = next === IPV6_FRAGMENT && (u16(b, o + 2) & 0xfff8) !== 0;
      next = b[o];
      o += len;
      if (laterFragment) {
        this.bytes(`${p} payload`, o, end);
        return end;
      }
    }
    this.transport(p, next, o, end);
    return end;
  }

  private transport(p: string, proto: number, off: number, end: number): void {
    // 'IPv4' -> 'TCP ...', 'inner IPv4' -> 'inner TCP ...', 'ICMP quoted IPv4' -> 'ICMP quoted TCP ...'
    const inner = p.replace(/IPv[46]$/, '');
    if (proto === 4) this.ipv4(`${inner}inner IPv4`, off, end);
    else if (proto === 41) this.ipv6(`${inner}inner IPv6`, off, end);
    else if (proto === 6) this.tcp(`${inner}TCP`, off, end);
    else if (proto === 17) this.udp(`${inner}UDP`, off, end);
    else if (proto === 1) this.icmp(`${inner}ICMP`, off, end, false);
    else if (proto === 58) this.icmp(`${inner}ICMPv6`, off, end, true);
    else this.bytes(`${p} payload`, off, end);
  }

  private tcp(p: string, off: number, end: number): void {
    if (off + 20 > end) {
      // e.g. the first 8 bytes of a segment quoted in an ICMP error
      if (off + 8 <= end) {
        this.num(`${p} source port`, off, 2);
        this.num(`${p} destination port`, off + 2, 2);
        this.num(`${p} seq`, off + 4, 4);
        this.bytes(`${p} header`, off + 8, end);
      } else this.bytes(`${p} header`, off, end);
      return;
    }
    const b = this.b;
    const doff = (b[off + 12] >> 4) * 4;
    this.num(`${p} source port`, off, 2);
    this.num(`${p} destination port`, off + 2, 2);
    this.num(`${p} seq`, off + 4, 4);
    this.num(`${p} ack`, off + 8, 4);
    this.add(`${p} data offset`, off + 12, 1, (x, o) => `${(x[o] >> 4) * 4} bytes`);
    this.add(`${p} flags`, off + 12, 2, (x, o) => tcpFlags(((x[o] & 0x0f) << 8) | x[o + 1]));
    this.num(`${p} window`, off + 14, 2);
    this.hexField(`${p} checksum`, off + 16, 2);
    this.num(`${p} urgent pointer`, off + 18, 2);
    const payload = Math.min(Math.max(off + doff, off + 20), end);
    const optLen = payload - off - 20;
    if (optLen > 0) this.add(`${p} options`, off + 20, optLen, (x, o) => hexBytes(x, o, optLen));
    this.bytes(`${p} payload`, payload, end);
  }

  private udp(p: string, off: number, end: number): void {
    if (off + 8 > end) {
      this.bytes(`${p} header`, off, end);
      return;
    }
    this.num(`${p} source port`, off, 2);
    this.num(`${p} destination port`, off + 2, 2);
    this.num(`${p} length`, off + 4, 2);
    this.hexField(`${p} checksum`, off + 6, 2);
    this.bytes(`${p} payload`, off + 8, end);
  }

  private icmp(p: string, off: number, end: number, v6: boolean): void {
    if (off + 8 > end) {
      this.bytes(`${p} header`, off, end);
      return;
    }
    const type = this.b[off];
    this.num(`${p} type`, off, 1);
    this.num(`${p} code`, off + 1, 1);
    this.hexField(`${p} checksum`, off + 2, 2);
    this.add(`${p} rest of header`, off + 4, 4, (x, o) => hexBytes(x, o, 4));
    const isError = v6 ? type < 128 : ICMP_ERROR_TYPES.has(type);
    if (!isError || p.includes('quoted') || off + 8 >= end) {
      this.bytes(`${p} payload`, off + 8, end);
      return;
    }
    const quoted = off + 8;
    const version = this.b[quoted] >> 4;
    if (version === 4) this.ipv4(`${p} quoted IPv4`, quoted, end);
    else if (version === 6) this.ipv6(`${p} quoted IPv6`, quoted, end);
    else this.bytes(`${p} payload`, quoted, end);
  }
}

/** The fields of a frame in wire order (exported for tests and for printing a frame field by field). */
export function frameFields(frame: Uint8Array): ReadonlyArray<Readonly<Field>> {
  const w = new Walker(frame);
  w.ethernet();
  return w.fields;
}

/**
 * null when the two frames are byte-for-byte identical; otherwise one line naming the first field (in wire
 * order of the expected frame) whose value differs, with both values, or the frame lengths when every field
 * agrees but one frame is longer.
 */
export function describeFrameDifference(expected: Uint8Array, actual: Uint8Array): string | null {
  if (expected.length === actual.length && expected.every((v, i) => v === actual[i])) return null;
  for (const f of frameFields(expected)) {
    if (f.off + f.len > actual.length) {
      return `frame length: expected ${expected.length}, got ${actual.length} (the actual frame ends inside ${f.name})`;
    }
    const want = f.show(expected, f.off);
    const got = f.show(actual, f.off);
    if (want !== got) return `${f.name}: expected ${want}, got ${got}`;
  }
  if (expected.length !== actual.length) {
    return `frame length: expected ${expected.length}, got ${actual.length}`;
  }
  // Unreachable while the walker covers every byte; kept so a gap in the walk can never say "identical".
  const i = expected.findIndex((v, k) => v !== actual[k]);
  return `frame byte ${i}: expected ${hex(expected[i], 2)}, got ${hex(actual[i], 2)}`;
}
