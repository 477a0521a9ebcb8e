/**
 * Frame mutations: cut a frame at a header boundary or anywhere, overwrite a byte, flip a bit, set
 * a header field to a hostile value (IHL, total length, fragment word, TCP data offset, UDP and
 * IPv6 payload lengths, SCTP chunk length, checksums...), add a VLAN tag, append garbage, and
 * "refix" (recompute the IPv4 header and transport checksums, so that a broken length or flag
 * reaches past the checksum checks instead of being dropped at the first one). Mutations are
 * plain data, so fast-check can generate and shrink them and a failure prints them.
 * The header walk here is best effort and independent of src/wire.
 */
import { Rng, writeIpv4Checksum, writeTransportChecksum } from './hostile-frames';

export type Region = 'frame' | 'l2' | 'l3' | 'l4';

export const FIELDS = [
  'ethertype', 'ip-version', 'ihl', 'ip-total', 'ip-total-delta', 'ip-frag', 'ttl', 'ip-proto', 'ip-csum',
  'ip6-plen', 'ip6-plen-delta', 'tcp-doff', 'tcp-flags', 'l4-csum', 'udp-len', 'udp-len-delta', 'sctp-chunk-type',
  'sctp-chunk-len', 'sport', 'dport',
] as const;
export type Field = (typeof FIELDS)[number];

export type Mutation =
  /** Cut the frame at one of its header boundaries (index modulo their number), moved by delta bytes. */
  | { op: 'cut-at-boundary'; index: number; delta: number }
  /** Cut the frame to perMille/1000 of its length. */
  | { op: 'cut'; perMille: number }
  | { op: 'byte'; region: Region; at: number; value: number }
  | { op: 'bit'; region: Region; at: number }
  /** Set a header field; `value` is read per field (deltas are value % 81 - 40). */
  | { op: 'field'; field: Field; value: number }
  /** Append n bytes of `value` (within the buffer's room). */
  | { op: 'extend'; n: number; value: number }
  /** Insert a VLAN tag with this TPID right after the MAC addresses. */
  | { op: 'add-tag'; tpid: number }
  /** Recompute the IPv4 header checksum and the transport checksum for the frame as it now is. */
  | { op: 'refix' };

/** Where the headers of a frame are (absolute offsets; best effort for broken frames). */
export interface Layout {
  typeOff: number;
  etherType: number;
  l3: number;
  af: 0 | 4 | 6;
  /** End of the IP packet per its length field, within the frame. */
  ipEnd: number;
  l4: number;
  proto: number;
  boundaries: number[];
}

function get16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

/** The header layout of b[off, off+len). */
export function layoutOf(b: Uint8Array, off: number, len: number): Layout {
  const end = off + len;
  const bounds = [off + 6, off + 12, off + 13, off + 14];
  let t = off + 12;
  let type = t + 2 <= end ? get16(b, t) : 0;
  while ((type === 0x8100 || type === 0x88a8) && t + 6 <= end) {
    t += 4;
    bounds.push(t, t + 2);
    type = get16(b, t);
  }
  const l3 = t + 2;
  const lay: Layout = { typeOff: t, etherType: type, l3, af: 0, ipEnd: end, l4: end, proto: -1, boundaries: bounds };
  if (type === 0x0800 && l3 + 20 <= end) {
    const ihl = Math.max(20, (b[l3] & 15) * 4);
    lay.af = 4;
    lay.l4 = Math.min(end, l3 + ihl);
    lay.ipEnd = Math.min(end, Math.max(lay.l4, l3 + get16(b, l3 + 2)));
    lay.proto = b[l3 + 9];
    bounds.push(l3 + 1, l3 + 2, l3 + 4, l3 + 10, l3 + 12, l3 + 20, l3 + ihl);
  } else if (type === 0x86dd && l3 + 40 <= end) {
    lay.af = 6;
    lay.ipEnd = Math.min(end, l3 + 40 + get16(b, l3 + 4));
    bounds.push(l3 + 1, l3 + 4, l3 + 8, l3 + 24, l3 + 40);
    let nh = b[l3 + 6];
    let p = l3 + 40;
    for (let i = 0; i < 16 && p + 8 <= lay.ipEnd; i++) {
      if (nh === 0 || nh === 43 || nh === 60) {
        const n = (b[p + 1] + 1) * 8;
        nh = b[p];
        p += n;
      } else if (nh === 44) {
        nh = b[p];
        p += 8;
      } else {
        break;
      }
      bounds.push(p);
    }
    lay.l4 = Math.min(p, end);
    lay.proto = nh;
  } else if (l3 < end) {
    bounds.push(l3 + 1, l3 + 8, l3 + 20, l3 + 28);
  }
  if (lay.af !== 0) {
    const l4 = lay.l4;
    bounds.push(l4 + 1, l4 + 2, l4 + 4, l4 + 8, l4 + 12, l4 + 13, l4 + 16, l4 + 20);
    if (lay.proto === 6 && l4 + 13 <= end) bounds.push(l4 + (b[l4 + 12] >>> 4) * 4);
    if (lay.proto === 132) bounds.push(l4 + 14, l4 + 16);
    bounds.push(lay.ipEnd, lay.ipEnd - 1);
  }
  lay.boundaries = bounds.filter((x) => x > off && x < end);
  return lay;
}

/** Start and length of a region of the frame. */
function region(lay: Layout, r: Region, off: number, len: number): [number, number] {
  const end = off + len;
  if (r === 'l2') return [off, Math.min(len, lay.l3 - off)];
  if (r === 'l3') {
    if (lay.l3 >= end) return [off, len];
    const n = Math.min(end, lay.l4) - lay.l3;
    return [lay.l3, n > 0 ? n : end - lay.l3];
  }
  if (r === 'l4') return lay.l4 < end ? [lay.l4, end - lay.l4] : [off, len];
  return [off, len];
}

function setField(b: Uint8Array, lay: Layout, end: number, field: Field, value: number): void {
  const l3 = lay.l3;
  const l4 = lay.l4;
  const delta = (value % 81) - 40;
  const has = (o: number, n: number): boolean => o >= 0 && o + n <= end;
  switch (field) {
    case 'ethertype':
      if (has(lay.typeOff, 2)) put16(b, lay.typeOff, value);
      return;
    case 'ip-version':
      if (has(l3, 1)) b[l3] = ((value & 15) << 4) | (b[l3] & 15);
      return;
    case 'ihl':
      if (has(l3, 1)) b[l3] = (b[l3] & 0xf0) | (value & 15);
      return;
    case 'ip-total':
      if (lay.af === 4 && has(l3 + 2, 2)) put16(b, l3 + 2, value);
      else if (lay.af === 6 && has(l3 + 4, 2)) put16(b, l3 + 4, value);
      return;
    case 'ip-total-delta':
      if (lay.af === 4 && has(l3 + 2, 2)) put16(b, l3 + 2, get16(b, l3 + 2) + delta);
      else if (lay.af === 6 && has(l3 + 4, 2)) put16(b, l3 + 4, get16(b, l3 + 4) + delta);
      return;
    case 'ip-frag':
      if (lay.af === 4 && has(l3 + 6, 2)) put16(b, l3 + 6, value);
      return;
    case 'ttl':
      if (lay.af === 4 && has(l3 + 8, 1)) b[l3 + 8] = value & 3;
      else if (lay.af === 6 && has(l3 + 7, 1)) b[l3 + 7] = value & 3;
      return;
    case 'ip-proto':
      if (lay.af === 4 && has(l3 + 9, 1)) b[l3 + 9] = value;
      else if (lay.af === 6 && has(l3 + 6, 1)) b[l3 + 6] = value;
      return;
    case 'ip-csum':
      if (lay.af === 4 && has(l3 + 10, 2)) b[l3 + 10] ^= value | 1;
      return;
    case 'ip6-plen':
      if (lay.af === 6 && has(l3 + 4, 2)) put16(b, l3 + 4, value);
      return;
    case 'ip6-plen-delta':
      if (lay.af === 6 && has(l3 + 4, 2)) put16(b, l3 + 4, get16(b, l3 + 4) + delta);
      return;
    case 'tcp-doff':
      if (has(l4 + 12, 1)) b[l4 + 12] = ((value & 15) << 4) | (b[l4 + 12] & 15);
      return;
    case 'tcp-flags':
      if (has(l4 + 13, 1)) b[l4 + 13] = value;
      return;
    case 'l4-csum': {
      const at = lay.proto === 6 ? 16 : lay.proto === 17 ? 6 : lay.proto === 132 ? 8 : 2;
      if (has(l4 + at, 2)) b[l4 + at] ^= value | 1;
      return;
    }
    case 'udp-len':
      if (has(l4 + 4, 2)) put16(b, l4 + 4, value);
      return;
    case 'udp-len-delta':
      if (has(l4 + 4, 2)) put16(b, l4 + 4, get16(b, l4 + 4) + delta);
      return;
    case 'sctp-chunk-type':
      if (has(l4 + 12, 1)) b[l4 + 12] = value;
      return;
    case 'sctp-chunk-len':
      if (has(l4 + 14, 2)) put16(b, l4 + 14, value);
      return;
    case 'sport':
      if (has(l4, 2)) put16(b, l4, value);
      return;
    case 'dport':
      if (has(l4 + 2, 2)) put16(b, l4 + 2, value);
      return;
  }
}

/** Recomputes the transport checksum (over the IP payload as the header now gives it) and the IPv4 header checksum. */
export function refix(b: Uint8Array, off: number, len: number): void {
  const lay = layoutOf(b, off, len);
  if (lay.af === 0) return;
  const l3 = lay.l3;
  if (lay.l4 < lay.ipEnd) {
    const srcOff = lay.af === 4 ? l3 + 12 : l3 + 8;
    const dstOff = lay.af === 4 ? l3 + 16 : l3 + 24;
    writeTransportChecksum(b, lay.af, srcOff, dstOff, lay.proto, lay.l4, lay.ipEnd - lay.l4);
  }
  if (lay.af === 4) {
    const ihl = (b[l3] & 15) * 4;
    if (ihl >= 20 && l3 + ihl <= off + len) writeIpv4Checksum(b, l3);
  }
}

/**
 * Applies m to the frame b[off, off+len), where b has room up to off + cap; returns the new
 * length (a cut shortens the frame; extend and add-tag lengthen it within cap).
 */
export function applyMutation(m: Mutation, b: Uint8Array, off: number, len: number, cap: number): number {
  const lay = layoutOf(b, off, len);
  switch (m.op) {
    case 'cut-at-boundary': {
      if (lay.boundaries.length === 0) return len;
      const at = lay.boundaries[m.index % lay.boundaries.length] + m.delta - off;
      return Math.max(0, Math.min(len, at));
    }
    case 'cut':
      return Math.floor((len * (m.perMille % 1001)) / 1000);
    case 'byte':
    case 'bit': {
      const [start, n] = region(lay, m.region, off, len);
      if (n <= 0) return len;
      if (m.op === 'byte') b[start + (m.at % n)] = m.value;
      else b[start + ((m.at >>> 3) % n)] ^= 1 << (m.at & 7);
      return len;
    }
    case 'field':
      setField(b, lay, off + len, m.field, m.value);
      return len;
    case 'extend': {
      const n = Math.max(0, Math.min(m.n, cap - len));
      b.fill(m.value, off + len, off + len + n);
      return len + n;
    }
    case 'add-tag': {
      if (len < 12 || len + 4 > cap) return len;
      b.copyWithin(off + 16, off + 12, off + len);
      put16(b, off + 12, m.tpid);
      put16(b, off + 14, 7);
      return len + 4;
    }
    case 'refix':
      refix(b, off, len);
      return len;
  }
}

export function applyMutations(ms: readonly Mutation[], b: Uint8Array, off: number, len: number, cap: number): number {
  for (const m of ms) len = applyMutation(m, b, off, len, cap);
  return len;
}

const REGIONS: readonly Region[] = ['frame', 'l2', 'l3', 'l3', 'l4', 'l4'];

/** Hostile values per field, with a random one now and then. */
function fieldValue(rng: Rng, field: Field): number {
  const r = rng.int(65536);
  if (rng.int(4) === 0) return r;
  switch (field) {
    case 'ihl':
    case 'tcp-doff':
    case 'ip-version':
      return rng.int(16);
    case 'ip-total':
    case 'ip6-plen':
    case 'udp-len':
    case 'sctp-chunk-len':
      return [0, 1, 4, 7, 8, 19, 20, 39, 40, 60, 0xffff, rng.int(1600)][rng.int(12)];
    case 'ip-frag':
      return [0x2000, 0x2001, 0x0001, 0x4000, 0x6000, 0x1fff, 0x3fff][rng.int(7)];
    case 'ethertype':
      return [0x0800, 0x86dd, 0x0806, 0x8100, 0x88a8, 0x9100, 0][rng.int(7)];
    case 'ip-proto':
      return [1, 4, 6, 17, 41, 43, 44, 58, 59, 60, 132, 0][rng.int(12)];
    case 'sctp-chunk-type':
      return [0, 1, 2, 6, 7, 10, 14, 255][rng.int(8)];
    case 'tcp-flags':
      return [0x02, 0x12, 0x10, 0x04, 0x06, 0x03, 0x11, 0xff, 0][rng.int(9)];
    case 'sport':
    case 'dport':
      return [0, 20, 53, 80, 443, 1025, 8080, 5353][rng.int(8)];
    default:
      return r;
  }
}

/** One random mutation. */
export function randomMutation(rng: Rng): Mutation {
  const k = rng.int(100);
  if (k < 12) return { op: 'cut-at-boundary', index: rng.int(64), delta: rng.int(5) - 2 };
  if (k < 15) return { op: 'cut', perMille: rng.int(1001) };
  if (k < 32) return { op: 'byte', region: REGIONS[rng.int(REGIONS.length)], at: rng.int(1 << 16), value: rng.int(256) };
  if (k < 47) return { op: 'bit', region: REGIONS[rng.int(REGIONS.length)], at: rng.int(1 << 19) };
  if (k < 88) {
    const field = FIELDS[rng.int(FIELDS.length)];
    return { op: 'field', field, value: fieldValue(rng, field) };
  }
  if (k < 93) return { op: 'extend', n: 1 + rng.int(64), value: rng.int(256) };
  return { op: 'add-tag', tpid: [0x8100, 0x88a8, 0x9100][rng.int(3)] };
}

/**
 * `min` to 3 random mutations, usually followed by a refix (so that most reach the layers
 * behind the IPv4 header checksum).
 */
export function randomMutations(rng: Rng, min = 0): Mutation[] {
  const n = min === 0 && rng.int(5) === 0 ? 0 : min + rng.int(4 - min);
  const list: Mutation[] = [];
  for (let i = 0; i < n; i++) list.push(randomMutation(rng));
  if (n > 0 && rng.int(100) < 60) list.push({ op: 'refix' });
  return list;
}
