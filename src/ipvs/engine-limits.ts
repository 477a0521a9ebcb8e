/**
 * Engine options for a connection limit (--max-connections of replay and director): each table
 * (IPv4, IPv6) holds at most that many entries, and starts no larger than the limit. When a table
 * is full a new connection is refused and counted (connection-table-full); existing entries go on
 * being forwarded and expire as usual, which makes room again (IPVS has no such limit; DPVS bounds
 * its connection pools the same way).
 */
import type { EngineOptions } from './engine';

export function engineLimits(maxConnections: number | undefined): EngineOptions {
  if (maxConnections === undefined) return {};
  return { maxConns: maxConnections, connCapacity: Math.min(maxConnections, 1 << 20) };
}
