/**
 * What a worker reports to its master: its engine's counters (copied, by dest id) and a bounded
 * copy of its connection entries, packed into one typed array (the master turns them into
 * listing entries, as engine-snapshot.ts lists them, only when -L -c asks). Runs every
 * REPORT_INTERVAL_MS between batches, never per packet.
 */
import { addressAt, connStateName } from '../../control/engine-snapshot';
import type { ListingConnection } from '../../control/listing-model';
import { CONN_F_TEMPLATE, type ConnTable } from '../../ipvs/conn-table';
import type { Engine } from '../../ipvs/engine';
import { ST_FIELDS } from '../../ipvs/stats';
import { PACKED_CONNECTION_WORDS, type EngineCounters } from './worker-protocol';

export function engineCounters(engine: Engine): EngineCounters {
  const n = engine.dests.count;
  return {
    destStats: engine.destStats.values.slice(0, n * ST_FIELDS),
    activeConns: engine.dests.activeConns.slice(0, n),
    inactConns: engine.dests.inactConns.slice(0, n),
    persistConns: engine.dests.persistConns.slice(0, n),
    drops: engine.drops.slice(),
    framesIn: engine.framesIn,
    framesOut: engine.framesOut,
    connectionsCreated: engine.connectionsCreated,
    liveEntries: engine.conns4.count + engine.conns6.count,
  };
}

/** Bits of a packed entry's flags word. */
const PACKED_TEMPLATE = 1;
const CONN = PACKED_CONNECTION_WORDS;

/**
 * At most `cap` entries of the engine's tables (IPv4 first), templates included, packed
 * (worker-protocol.ts, PACKED_CONNECTION_WORDS each). `scratch`, when given and large enough,
 * is filled instead of a new array; the result is a copy of the used part either way.
 */
export function packConnections(engine: Engine, cap: number, scratch?: Uint32Array): Uint32Array {
  const out = scratch !== undefined && scratch.length >= cap * CONN ? scratch : new Uint32Array(cap * CONN);
  let n = 0;
  for (const conns of [engine.conns4, engine.conns6]) {
    conns.forEach((slot) => {
      if (n < cap) packEntry(engine, conns, slot, out, n++ * CONN);
    });
  }
  return out.slice(0, n * CONN);
}

function packEntry(engine: Engine, conns: ConnTable, slot: number, out: Uint32Array, at: number): void {
  const words = conns.words;
  const n = conns.addrWords;
  const dest = engine.destAddrBytes[conns.dest(slot)];
  const destWords = dest.length / 4;
  out[at] = conns.proto(slot);
  out[at + 1] = conns.state(slot);
  out[at + 2] = ((conns.flags(slot) & CONN_F_TEMPLATE) !== 0 ? PACKED_TEMPLATE : 0) | (n << 8) | (destWords << 16);
  out[at + 3] = conns.cport(slot);
  out[at + 4] = conns.vport(slot);
  out[at + 5] = conns.dport(slot);
  out[at + 6] = Math.max(0, Math.floor((conns.expires(slot) - conns.now) / 1000));
  const caddr = conns.caddrAt(slot);
  const vaddr = conns.vaddrAt(slot);
  for (let i = 0; i < n; i++) {
    out[at + 7 + i] = words[caddr + i];
    out[at + 11 + i] = words[vaddr + i];
  }
  for (let i = 0; i < destWords; i++) {
    out[at + 15 + i] = ((dest[4 * i] << 24) | (dest[4 * i + 1] << 16) | (dest[4 * i + 2] << 8) | dest[4 * i + 3]) >>> 0;
  }
}

/** The entries of packConnections as the listing shows them (on the master, when -L -c asks). */
export function unpackConnections(packed: Uint32Array): ListingConnection[] {
  const out: ListingConnection[] = [];
  for (let at = 0; at + CONN <= packed.length; at += CONN) {
    const protocol = packed[at];
    const flags = packed[at + 2];
    const n = (flags >>> 8) & 0xff;
    const destWords = (flags >>> 16) & 0xff;
    out.push({
      protocol,
      client: { addr: addressAt(packed, at + 7, n), port: packed[at + 3] },
      virtual: { addr: addressAt(packed, at + 11, n), port: packed[at + 4] },
      dest: { addr: addressAt(packed, at + 15, destWords), port: packed[at + 5] },
      state: connStateName(protocol, packed[at + 1], (flags & PACKED_TEMPLATE) !== 0),
      expiresIn: packed[at + 6],
      pe: null,
    });
  }
  return out;
}
