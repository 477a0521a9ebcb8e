/**
 * What a worker reports to its master: its engine's counters (copied, by dest id) and a bounded
 * copy of its connection entries, built the way engine-snapshot.ts lists them. Runs every
 * REPORT_INTERVAL_MS between batches, never per packet.
 */
import type { IpAddress } from '../../control/config';
import { connStateName } from '../../control/engine-snapshot';
import { ipFromBytes } from '../../control/ip-address';
import type { ListingConnection } from '../../control/listing-model';
import { CONN_F_TEMPLATE, type ConnTable } from '../../ipvs/conn-table';
import type { Engine } from '../../ipvs/engine';
import { ST_FIELDS } from '../../ipvs/stats';
import type { EngineCounters } from './worker-protocol';

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

/** At most `cap` entries of the engine's tables (IPv4 first), templates included. */
export function someConnections(engine: Engine, cap: number): ListingConnection[] {
  const out: ListingConnection[] = [];
  for (const conns of [engine.conns4, engine.conns6]) {
    conns.forEach((slot) => {
      if (out.length < cap) out.push(entry(engine, conns, slot));
    });
  }
  return out;
}

function entry(engine: Engine, conns: ConnTable, slot: number): ListingConnection {
  const words = conns.words;
  const n = conns.addrWords;
  const protocol = conns.proto(slot);
  const template = (conns.flags(slot) & CONN_F_TEMPLATE) !== 0;
  return {
    protocol,
    client: { addr: addressAt(words, conns.caddrAt(slot), n), port: conns.cport(slot) },
    virtual: { addr: addressAt(words, conns.vaddrAt(slot), n), port: conns.vport(slot) },
    dest: { addr: ipFromBytes(engine.destAddrBytes[conns.dest(slot)]), port: conns.dport(slot) },
    state: connStateName(protocol, conns.state(slot), template),
    expiresIn: Math.max(0, Math.floor((conns.expires(slot) - conns.now) / 1000)),
    pe: null,
  };
}

function addressAt(words: Uint32Array, at: number, count: number): IpAddress {
  const bytes = new Uint8Array(count * 4);
  for (let i = 0; i < count; i++) {
    const v = words[at + i];
    bytes[4 * i] = v >>> 24;
    bytes[4 * i + 1] = (v >>> 16) & 0xff;
    bytes[4 * i + 2] = (v >>> 8) & 0xff;
    bytes[4 * i + 3] = v & 0xff;
  }
  return ipFromBytes(bytes);
}
