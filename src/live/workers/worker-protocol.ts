/**
 * Messages between the master of a multi-worker director and its workers (child_process IPC
 * with the structured-clone serialization, so typed arrays and addresses travel as they are).
 *
 * master -> worker: init (once, first), apply (every configuration change, in order), stop.
 * worker -> master: ready (its ports are open and its loop runs) or failed (it could not start),
 * then a report every REPORT_INTERVAL_MS and one last report when it stops.
 */
import type { ConfigCommand } from '../../control/rules-model';
import type { PortStats } from '../../io/port';
import type { LiveFeedStats } from '../live-feed';

export const REPORT_INTERVAL_MS = 500;
/** Connection entries a worker copies into a report (for `-L -c` on the master). */
export const REPORTED_CONNECTIONS = 4096;
/**
 * Every this many reports carry the connection entries (so `-L -c` on the master is at most
 * about 2 s old): a full copy costs each process a buffer of up to REPORTED_CONNECTIONS entries,
 * which the garbage collector frees only later, and the counters need no such copy.
 */
export const CONNECTIONS_EVERY_REPORTS = 4;
/**
 * Words per packed connection entry (WorkerReport.connections, worker-counters.ts): protocol,
 * state, flags (bit 0: template; bits 8..15: address words of the client and virtual addresses,
 * 1 or 4; bits 16..23: the dest's), client port, virtual port, dest port, seconds until expiry,
 * then the client, virtual and dest addresses, 4 words each (an IPv4 address in the first).
 */
export const PACKED_CONNECTION_WORDS = 19;

export interface WorkerInit {
  type: 'init';
  /** k: this worker's number, 0 .. workers - 1. */
  index: number;
  workers: number;
  directorFile: string;
  /**
   * The configuration the master started with (lossless -S text) and every change applied since,
   * in order: replayed, they give the worker's engine the master's dest ids and service indexes.
   */
  rulesText: string;
  changes: ConfigCommand[][];
  /** Link i joins fanout group groupBase + i. */
  groupBase: number;
  /** The fanout program the worker's sockets install when they join. */
  program: Uint8Array;
  /**
   * Entries each of this worker's connection tables may hold: its share of the director's
   * --max-connections (workerConnectionLimit), or null for the engine's default.
   */
  maxConnections: number | null;
}

export interface WorkerApply {
  type: 'apply';
  cmds: ConfigCommand[];
}

export interface WorkerStop {
  type: 'stop';
}

export type MasterMessage = WorkerInit | WorkerApply | WorkerStop;

/** A worker engine's counters, by the engine's dest ids (the master's too). */
export interface EngineCounters {
  /** destStats values of dests 0 .. destCount - 1 (ST_FIELDS per dest). */
  destStats: Float64Array;
  activeConns: Int32Array;
  inactConns: Int32Array;
  persistConns: Int32Array;
  /** By DropReason. */
  drops: Float64Array;
  framesIn: number;
  framesOut: number;
  connectionsCreated: number;
  liveEntries: number;
}

export interface WorkerLinkStats {
  name: string;
  io: string;
  stats: PortStats;
}

export interface WorkerReport {
  type: 'report';
  engine: EngineCounters;
  feed: LiveFeedStats;
  links: WorkerLinkStats[];
  /**
   * At most REPORTED_CONNECTIONS entries of the worker's connection tables, packed
   * (PACKED_CONNECTION_WORDS each; worker-counters.ts): one typed array travels as one copy, where
   * thousands of small objects, each address its own buffer, cost both processes tens of MB of
   * heap every few seconds once the tables are full (a SYN flood). Null in the reports between
   * (CONNECTIONS_EVERY_REPORTS): the entries of the worker's last report that had them stand.
   */
  connections: Uint32Array | null;
}

export interface WorkerReady {
  type: 'ready';
}

export interface WorkerFailed {
  type: 'failed';
  error: string;
}

export type WorkerMessage = WorkerReady | WorkerFailed | WorkerReport;
