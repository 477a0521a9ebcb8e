/**
 * The engine's connection tables as a compact binary snapshot, so that a director stopped on
 * purpose and started again keeps its established connections (what IPVS's sync daemon does for a
 * failover, ipvs-facts section 8, done through a file across a restart).
 *
 * Carried per entry, as the sync daemon carries it: protocol, client and virtual address and port,
 * the real server (by identity: service and address:port, since dest ids are not stable across a
 * restart) and its port, flags (forwarding method, inactive, no-output, template, FULLNAT ISN
 * known / TOA done, 60 s template grace), protocol state, the remaining timeout, the controlling
 * template; FULLNAT entries also their local address (by address) and port, reserved again at
 * load, and the real server's ISN. NAT and FULLNAT replies find the same entry (there are no
 * separate reverse entries in uvs), so nothing else is needed for them.
 *
 * File layout (numbers little-endian, addresses in network order so that ConnTable.create reads
 * them from the file as it reads them from a packet):
 *   header   48 bytes: magic "UVSCONNS", version, header size, wall-clock ms at writing (f64),
 *            IPv4 entries, IPv6 entries, dictionary bytes, 12 bytes reserved
 *   dictionary  JSON {dests: [[service, "addr:port"] | null by old dest id], laddrs: [text]},
 *            padded to 4 bytes
 *   records  IPv4 then IPv6; each: client address, virtual address (4 or 16 bytes each), then 8
 *            words: ports, meta (proto | state << 8 | flags << 16), old dest id, dport | lport
 *            << 16, aux (FULLNAT ISN), controlling template (index of a template record earlier
 *            in the same family, or 0xffffffff), remaining ms, old laddr index (FULLNAT) or the
 *            template's own timeout in ms (templates). Templates come first in each family.
 *   trailer  8 bytes: checksum (CRC32c over the per-MiB CRC32c values of everything before),
 *            file length.
 *
 * Memory: the writer walks the tables slot by slot through one 1 MiB staging buffer handed to a
 * sink; the reader checks the whole file (length, checksum, every index) before it inserts
 * anything, so a damaged file gives an error and an empty table, never half a table. No object
 * is made per entry on either side.
 */
import { ForwardMethod } from '../control/config';
import { crc32c } from '../wire/crc32c';
import {
  CONN_F_INACTIVE, CONN_F_TEMPLATE, CONN_F_TIMEOUT_60, CONN_METHOD_MASK, type ConnTable,
} from './conn-table';
import { bindConnection } from './dest-binding';
import { DEST_AVAILABLE } from './dest-table';
import type { Engine } from './engine';
import { SCTP_CLOSED, SCTP_STATE_COUNT } from './sctp-states';
import { TCP_CLOSE, TCP_LAST_ACK, TCP_NONE, TCP_STATE_COUNT, TCP_TIME_WAIT } from './tcp-states';

export const SNAPSHOT_VERSION = 1;
const MAGIC = 'UVSCONNS';
const HEADER_BYTES = 48;
const TRAILER_BYTES = 8;
/** Bytes per checksum piece (the writer's staging size too). */
const PIECE = 1 << 20;
const RECORD_WORDS = 8;
const NO_CONTROL = 0xffffffff;
/** The grace a template gets, each time its timer fires while it still controls connections (engine.ts). */
const TEMPLATE_GRACE_MS = 60_000;

// Word offsets after the two addresses.
const R_PORTS = 0;
const R_META = 1;
const R_DEST = 2;
const R_DPORT = 3;
const R_AUX = 4;
const R_CONTROL = 5;
const R_REMAINING = 6;
const R_LADDR = 7;

const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const IPPROTO_SCTP = 132;
const METHODS = new Set<number>([ForwardMethod.Masq, ForwardMethod.Local, ForwardMethod.Tunnel, ForwardMethod.Route, ForwardMethod.FullNat]);

/** A snapshot that can not be used: the message names the file's fault. Nothing was inserted. */
export class ConnSnapshotError extends Error {}

export interface SnapshotWritten {
  /** Entries written (templates included), and of them templates. */
  entries: number;
  templates: number;
  /**
   * Connections that may still carry data (TCP not closing or closed, SCTP not closed, UDP): the
   * ones a kernel answering in the gap would harm.
   */
  live: number;
  bytes: number;
}

export interface SnapshotRestored {
  /** Wall-clock ms at which the snapshot was written, and how long the director was down. */
  writtenAt: number;
  downtimeMs: number;
  restored: { connections: number; templates: number };
  skipped: {
    /** The entry's time ran out while the director was down. */
    expired: number;
    /** Its service or real server is not in the configuration any more. */
    destGone: number;
    /** FULLNAT: its local address is not in the configuration any more (or the pair is taken). */
    localAddressGone: number;
    /** The table is full (a lower --max-connections than before). */
    tableFull: number;
  };
}

function recordBytes(addrWords: number): number {
  return 8 * addrWords + 4 * RECORD_WORDS;
}

/** A live TCP/SCTP connection, or a UDP one: what an RST or a stray reply would hurt. */
function carriesTraffic(proto: number, state: number, flags: number): boolean {
  if ((flags & CONN_F_TEMPLATE) !== 0) return false;
  if (proto === IPPROTO_TCP) return state !== TCP_NONE && state !== TCP_TIME_WAIT && state !== TCP_CLOSE && state !== TCP_LAST_ACK;
  if (proto === IPPROTO_SCTP) return state !== SCTP_CLOSED;
  return proto === IPPROTO_UDP;
}

/** Identity of each dest id, and of each local address, as the dictionary keeps them. */
function dictionary(engine: Engine): { dests: ([string, string] | null)[]; laddrs: string[] } {
  const dests: ([string, string] | null)[] = [];
  for (let d = 0; d < engine.dests.count; d++) {
    const svc = engine.services.services[engine.dests.service[d]];
    const name = engine.destNames[d];
    dests.push(svc === undefined || name === undefined ? null : [svc.name, name]);
  }
  return { dests, laddrs: engine.laddrs.addrs.map((a) => a.text) };
}

/**
 * Writes the engine's connection tables through `sink` (called with views valid only during the
 * call, in file order). `wallClockMs` is the time the remaining timeouts are counted from.
 */
export function writeConnSnapshot(engine: Engine, wallClockMs: number, sink: (bytes: Uint8Array) => void): SnapshotWritten {
  const out = new SnapshotStream(sink);
  const dict = new TextEncoder().encode(JSON.stringify(dictionary(engine)));
  const h = out.reserve(HEADER_BYTES);
  for (let i = 0; i < MAGIC.length; i++) out.buf[h + i] = MAGIC.charCodeAt(i);
  out.view.setUint32(h + 8, SNAPSHOT_VERSION, true);
  out.view.setUint32(h + 12, HEADER_BYTES, true);
  out.view.setFloat64(h + 16, wallClockMs, true);
  out.view.setUint32(h + 24, engine.conns4.count, true);
  out.view.setUint32(h + 28, engine.conns6.count, true);
  out.view.setUint32(h + 32, dict.length, true);
  out.bytes(dict);
  out.reserve((4 - (dict.length & 3)) & 3);
  const sum: SnapshotWritten = { entries: 0, templates: 0, live: 0, bytes: 0 };
  for (const conns of [engine.conns4, engine.conns6]) writeTable(conns, out, sum);
  sum.bytes = out.finish();
  return sum;
}

function writeTable(conns: ConnTable, out: SnapshotStream, sum: SnapshotWritten): void {
  const w = conns.addrWords;
  const size = recordBytes(w);
  const words = conns.words;
  const now = conns.now;
  // Templates first (their file index is what a controlled entry names): slot → file index.
  const end = conns.highWater;
  const index = new Int32Array(end).fill(-1);
  let written = 0;
  for (let pass = 0; pass < 2; pass++) {
    const wantTemplate = pass === 0;
    for (let slot = 0; slot < end; slot++) {
      if (!conns.isLive(slot)) continue;
      const flags = conns.flags(slot);
      const template = (flags & CONN_F_TEMPLATE) !== 0;
      if (template !== wantTemplate) continue;
      const at = out.reserve(size);
      const v = out.view;
      const ca = conns.caddrAt(slot);
      for (let i = 0; i < 2 * w; i++) v.setUint32(at + 4 * i, words[ca + i], false);
      const r = at + 8 * w;
      v.setUint32(r + 4 * R_PORTS, (conns.cport(slot) << 16 | conns.vport(slot)) >>> 0, true);
      const proto = conns.proto(slot);
      const state = conns.state(slot);
      v.setUint32(r + 4 * R_META, (proto | (state << 8) | (flags << 16)) >>> 0, true);
      v.setUint32(r + 4 * R_DEST, conns.dest(slot), true);
      v.setUint32(r + 4 * R_DPORT, (conns.dport(slot) | (conns.lport(slot) << 16)) >>> 0, true);
      v.setUint32(r + 4 * R_AUX, template ? 0 : conns.aux(slot), true);
      const c = template ? -1 : conns.control(slot);
      v.setUint32(r + 4 * R_CONTROL, c >= 0 && index[c] >= 0 ? index[c] : NO_CONTROL, true);
      v.setUint32(r + 4 * R_REMAINING, Math.max(0, Math.min(0xffffffff, conns.expires(slot) - now)), true);
      // laddr() and templateTimeout() share the word: either is what the entry holds.
      v.setUint32(r + 4 * R_LADDR, conns.laddr(slot), true);
      if (template) {
        index[slot] = written;
        sum.templates++;
      } else if (carriesTraffic(proto, state, flags)) {
        sum.live++;
      }
      written++;
      sum.entries++;
    }
  }
}

/** Output through one staging buffer; checksums each PIECE of the file as it is handed on. */
class SnapshotStream {
  readonly buf = new Uint8Array(PIECE + 4096);
  readonly view = new DataView(this.buf.buffer);
  private used = 0;
  private total = 0;
  /** CRC32c of each full piece, in order (4 bytes each). */
  private crcs = new Uint8Array(256);
  private pieces = 0;

  constructor(private readonly sink: (bytes: Uint8Array) => void) {}

  /** Room for n more bytes (zeroed); returns where they start. n is at most 4096, or any n via bytes(). */
  reserve(n: number): number {
    if (this.used + n > this.buf.length) this.flushPieces();
    const at = this.used;
    this.buf.fill(0, at, at + n);
    this.used += n;
    return at;
  }

  bytes(b: Uint8Array): void {
    for (let i = 0; i < b.length; i += 4096) {
      const part = b.subarray(i, Math.min(b.length, i + 4096));
      this.buf.set(part, this.reserve(part.length));
    }
  }

  /** Hands on every full piece, keeping the rest at the front. */
  private flushPieces(): void {
    let start = 0;
    while (this.used - start >= PIECE) {
      this.emit(start, PIECE);
      start += PIECE;
    }
    this.buf.copyWithin(0, start, this.used);
    this.used -= start;
  }

  private emit(start: number, n: number): void {
    const piece = this.buf.subarray(start, start + n);
    this.addCrc(crc32c(piece, 0, n));
    this.sink(piece);
    this.total += n;
  }

  private addCrc(c: number): void {
    if (4 * (this.pieces + 1) > this.crcs.length) {
      const grown = new Uint8Array(this.crcs.length * 2);
      grown.set(this.crcs);
      this.crcs = grown;
    }
    new DataView(this.crcs.buffer).setUint32(4 * this.pieces++, c, true);
  }

  /** Writes the rest and the trailer; returns the file's length. */
  finish(): number {
    this.flushPieces();
    if (this.used > 0) this.emit(0, this.used);
    this.used = 0;
    const length = this.total + TRAILER_BYTES;
    const trailer = new Uint8Array(TRAILER_BYTES);
    const v = new DataView(trailer.buffer);
    v.setUint32(0, crc32c(this.crcs, 0, 4 * this.pieces), true);
    v.setUint32(4, length >>> 0, true);
    this.sink(trailer);
    return length;
  }
}

/** The checksum the trailer holds, over file[0, n). */
function fileChecksum(file: Uint8Array, n: number): number {
  const pieces = Math.ceil(n / PIECE);
  const crcs = new Uint8Array(4 * pieces);
  const v = new DataView(crcs.buffer);
  for (let i = 0; i < pieces; i++) {
    const start = i * PIECE;
    v.setUint32(4 * i, crc32c(file, start, Math.min(PIECE, n - start)), true);
  }
  return crc32c(crcs, 0, crcs.length);
}

interface Parsed {
  writtenAt: number;
  counts: [number, number];
  /** Byte offsets of the IPv4 and IPv6 records. */
  starts: [number, number];
  dests: ([string, string] | null)[];
  laddrs: string[];
}

/** Checks everything about the file; throws ConnSnapshotError naming the first fault. */
function parse(file: Uint8Array): Parsed {
  if (file.length < HEADER_BYTES + TRAILER_BYTES) throw new ConnSnapshotError(`truncated: ${file.length} bytes, not even a header`);
  for (let i = 0; i < MAGIC.length; i++) {
    if (file[i] !== MAGIC.charCodeAt(i)) throw new ConnSnapshotError('not a uvs connection snapshot (bad magic)');
  }
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const version = v.getUint32(8, true);
  if (version !== SNAPSHOT_VERSION) {
    throw new ConnSnapshotError(`version ${version}, but this uvs reads version ${SNAPSHOT_VERSION}`);
  }
  if (v.getUint32(12, true) !== HEADER_BYTES) throw new ConnSnapshotError(`header size ${v.getUint32(12, true)}, not ${HEADER_BYTES}`);
  const writtenAt = v.getFloat64(16, true);
  const counts: [number, number] = [v.getUint32(24, true), v.getUint32(28, true)];
  const dictLen = v.getUint32(32, true);
  const dictEnd = HEADER_BYTES + dictLen + ((4 - (dictLen & 3)) & 3);
  const start6 = dictEnd + counts[0] * recordBytes(1);
  const expected = start6 + counts[1] * recordBytes(4) + TRAILER_BYTES;
  if (file.length < expected) throw new ConnSnapshotError(`truncated: ${file.length} of ${expected} bytes`);
  if (file.length > expected) throw new ConnSnapshotError(`${file.length - expected} bytes more than the header accounts for`);
  if (!Number.isFinite(writtenAt)) throw new ConnSnapshotError('the time it was written is not a number');
  const body = file.length - TRAILER_BYTES;
  if (v.getUint32(body + 4, true) !== (file.length >>> 0)) throw new ConnSnapshotError('the trailer names another length');
  if (fileChecksum(file, body) !== v.getUint32(body, true)) throw new ConnSnapshotError('checksum mismatch (the file is damaged)');
  let dict: unknown;
  try {
    dict = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(file.subarray(HEADER_BYTES, HEADER_BYTES + dictLen)));
  } catch {
    throw new ConnSnapshotError('the dictionary is not JSON');
  }
  const d = dict as { dests?: unknown; laddrs?: unknown };
  const isPair = (x: unknown): boolean => x === null || (Array.isArray(x) && x.length === 2 && x.every((s) => typeof s === 'string'));
  if (typeof d !== 'object' || d === null || !Array.isArray(d.dests) || !d.dests.every(isPair) ||
    !Array.isArray(d.laddrs) || !d.laddrs.every((s) => typeof s === 'string')) {
    throw new ConnSnapshotError('the dictionary does not list dests and local addresses');
  }
  const parsed: Parsed = {
    writtenAt, counts, starts: [dictEnd, start6], dests: d.dests as ([string, string] | null)[], laddrs: d.laddrs as string[],
  };
  checkRecords(v, parsed, 0);
  checkRecords(v, parsed, 1);
  return parsed;
}

/** Every record of one family names things that exist in the file and holds a known state. */
function checkRecords(v: DataView, p: Parsed, family: number): void {
  const w = family === 0 ? 1 : 4;
  const size = recordBytes(w);
  let templates = true;
  for (let i = 0; i < p.counts[family]; i++) {
    const r = p.starts[family] + i * size + 8 * w;
    const what = `IPv${family === 0 ? 4 : 6} entry ${i}`;
    const meta = v.getUint32(r + 4 * R_META, true);
    const proto = meta & 0xff;
    const state = (meta >>> 8) & 0xff;
    const flags = meta >>> 16;
    const template = (flags & CONN_F_TEMPLATE) !== 0;
    if (template && !templates) throw new ConnSnapshotError(`${what}: a template after the connections`);
    templates = template;
    if (!METHODS.has(flags & CONN_METHOD_MASK)) throw new ConnSnapshotError(`${what}: unknown forwarding method ${flags & CONN_METHOD_MASK}`);
    if (!(proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === IPPROTO_SCTP || (template && proto === 0))) {
      throw new ConnSnapshotError(`${what}: protocol ${proto}`);
    }
    const states = proto === IPPROTO_TCP ? TCP_STATE_COUNT : proto === IPPROTO_SCTP ? SCTP_STATE_COUNT : 1;
    if (state >= states) throw new ConnSnapshotError(`${what}: state ${state}`);
    if (v.getUint32(r + 4 * R_DEST, true) >= p.dests.length) throw new ConnSnapshotError(`${what}: unknown real server`);
    const control = v.getUint32(r + 4 * R_CONTROL, true);
    if (control !== NO_CONTROL) {
      const cflags = control < i ? v.getUint32(p.starts[family] + control * size + 8 * w + 4 * R_META, true) >>> 16 : 0;
      if (template || (cflags & CONN_F_TEMPLATE) === 0) throw new ConnSnapshotError(`${what}: its template is not a template before it`);
    }
    if (!template && (flags & CONN_METHOD_MASK) === ForwardMethod.FullNat && v.getUint32(r + 4 * R_LADDR, true) >= p.laddrs.length) {
      throw new ConnSnapshotError(`${what}: unknown local address`);
    }
  }
}

/**
 * Puts the snapshot's entries into `engine`, whose configuration must be restored first and whose
 * tables should be empty. `wallClockMs` is now: the time since the snapshot was written is taken
 * off every remaining timeout, and the engine's clock is set to it. Entries whose time ran out,
 * whose real server or local address is gone, or that find the table full are skipped and
 * counted. Throws ConnSnapshotError (before inserting anything) for a damaged or foreign file.
 */
export function restoreConnSnapshot(engine: Engine, file: Uint8Array, wallClockMs: number): SnapshotRestored {
  const p = parse(file);
  const sec = Math.floor(wallClockMs / 1000);
  engine.advanceClock(sec, Math.round((wallClockMs - sec * 1000) * 1e6));
  const result: SnapshotRestored = {
    writtenAt: p.writtenAt,
    downtimeMs: Math.max(0, Math.round(wallClockMs - p.writtenAt)),
    restored: { connections: 0, templates: 0 },
    skipped: { expired: 0, destGone: 0, localAddressGone: 0, tableFull: 0 },
  };
  const dests = destMap(engine, p.dests);
  const laddrs = Int32Array.from(p.laddrs, (text) => engine.laddrs.addrs.findIndex((a) => a.text === text));
  insertFamily(engine, engine.conns4, file, p, 0, dests, laddrs, result);
  insertFamily(engine, engine.conns6, file, p, 1, dests, laddrs, result);
  return result;
}

/** Old dest id → the id of the same service's same address:port in this engine (in its list), or -1. */
function destMap(engine: Engine, names: readonly ([string, string] | null)[]): Int32Array {
  const byName = new Map<string, number>();
  const dests = engine.dests;
  for (let d = 0; d < dests.count; d++) {
    if ((dests.flags[d] & DEST_AVAILABLE) === 0) continue;
    const svc = engine.services.services[dests.service[d]];
    if (svc !== undefined) byName.set(`${svc.name}\n${engine.destNames[d]}`, d);
  }
  return Int32Array.from(names, (n) => (n === null ? -1 : byName.get(`${n[0]}\n${n[1]}`) ?? -1));
}

function insertFamily(engine: Engine, conns: ConnTable, file: Uint8Array, p: Parsed, family: number,
  destIds: Int32Array, laddrIds: Int32Array, result: SnapshotRestored): void {
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const w = conns.addrWords;
  const size = recordBytes(w);
  const count = p.counts[family];
  const now = conns.now;
  const down = result.downtimeMs;
  const dests = engine.dests;
  // File index of a template → its new slot (-1: not restored); templates past their time.
  const templateSlot = new Int32Array(count).fill(-1);
  const lapsed: number[] = [];
  for (let i = 0; i < count; i++) {
    const at = p.starts[family] + i * size;
    const r = at + 8 * w;
    const ports = v.getUint32(r + 4 * R_PORTS, true);
    const meta = v.getUint32(r + 4 * R_META, true);
    const proto = meta & 0xff;
    let flags = meta >>> 16;
    const template = (flags & CONN_F_TEMPLATE) !== 0;
    const d = destIds[v.getUint32(r + 4 * R_DEST, true)];
    if (d < 0) {
      result.skipped.destGone++;
      continue;
    }
    let remaining = v.getUint32(r + 4 * R_REMAINING, true) - down;
    let laddr = -1;
    let lapsedWhileDown = false;
    if (template) {
      if (remaining <= 0) {
        lapsedWhileDown = true;
        // Its timer fired while the director was down: kept (60 s at a time from then on) only
        // if a restored connection still needs it, as connExpired() would have kept it.
        remaining = TEMPLATE_GRACE_MS - ((-remaining) % TEMPLATE_GRACE_MS);
        flags |= CONN_F_TIMEOUT_60;
      }
    } else {
      if (remaining <= 0) {
        result.skipped.expired++;
        continue;
      }
      if ((flags & CONN_METHOD_MASK) === ForwardMethod.FullNat) {
        laddr = laddrIds[v.getUint32(r + 4 * R_LADDR, true)];
        if (laddr < 0) {
          result.skipped.localAddressGone++;
          continue;
        }
      }
    }
    const dp = v.getUint32(r + 4 * R_DPORT, true);
    const slot = conns.create(proto, file, at, ports >>> 16, at + 4 * w, ports & 0xffff, d, dp & 0xffff, flags, now + remaining);
    if (slot < 0) {
      result.skipped.tableFull++;
      continue;
    }
    conns.setState(slot, (meta >>> 8) & 0xff);
    if (template) {
      conns.setTemplateTimeout(slot, lapsedWhileDown ? TEMPLATE_GRACE_MS : v.getUint32(r + 4 * R_LADDR, true));
      if (lapsedWhileDown) lapsed.push(slot);
      templateSlot[i] = slot;
      dests.persistConns[d]++;
      dests.touch(d);
      result.restored.templates++;
      continue;
    }
    if (laddr >= 0) {
      const lport = dp >>> 16;
      if (!engine.laddrs.reserve(laddr, proto, lport, slot)) {
        conns.remove(slot);
        result.skipped.localAddressGone++;
        continue;
      }
      conns.setLocal(slot, laddr, lport);
    }
    conns.setAux(slot, v.getUint32(r + 4 * R_AUX, true));
    const control = v.getUint32(r + 4 * R_CONTROL, true);
    const t = control === NO_CONTROL ? -1 : templateSlot[control];
    if (t >= 0) {
      conns.setControl(slot, t);
      conns.setAux(t, conns.aux(t) + 1);
    }
    bindConnection(dests, d);
    if ((flags & CONN_F_INACTIVE) === 0) {
      dests.inactConns[d]--;
      dests.activeConns[d]++;
      dests.touch(d);
    }
    result.restored.connections++;
  }
  // A template whose time ran out while down, controlling nothing restored, has ended.
  for (const t of lapsed) {
    if (conns.aux(t) !== 0) continue;
    const d = conns.dest(t);
    dests.persistConns[d]--;
    dests.touch(d);
    conns.remove(t);
    result.restored.templates--;
    result.skipped.expired++;
  }
}
