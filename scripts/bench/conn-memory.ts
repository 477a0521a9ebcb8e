/**
 * Connection table memory: fills an IPv4 table sized for N live connections (as a director would
 * configure it with --max-conns) with N distinct TCP connections and reports the bytes per
 * connection, two ways: the table's own accounting of its typed arrays, and the growth of the
 * process's ArrayBuffer memory (what the OS actually had to give). Kernel IPVS is the peer:
 * its ip_vs_conn entry is about 128 bytes plus 8 per hash bucket (peers.md, Kconfig help).
 */
import { ConnTable } from '../../src/ipvs/conn-table';

export interface ConnTableMemoryFigure {
  /** Live connections in the table when measured (e.g. 1_000_000, 10_000_000). */
  connections: number;
  bytesPerConnection: number;
  /** Growth of process ArrayBuffer memory over the fill, per connection. */
  arrayBufferBytesPerConnection: number;
  fillSeconds: number;
}

function measure(n: number): ConnTableMemoryFigure {
  if (global.gc) global.gc();
  const before = process.memoryUsage().arrayBuffers;
  const t0 = process.hrtime.bigint();
  const table = new ConnTable(1, n, n);
  // One reusable "packet": client address at 0, VIP at 4.
  const pkt = Uint8Array.of(0, 0, 0, 0, 192, 0, 2, 10);
  for (let i = 0; i < n; i++) {
    // Distinct (client, port) pairs spread over 10.0.0.0/8 and ports 1024..(1024+15).
    const host = i >>> 4;
    pkt[1] = (host >>> 16) & 255;
    pkt[2] = (host >>> 8) & 255;
    pkt[3] = host & 255;
    pkt[0] = 10;
    if (table.create(6, pkt, 0, 1024 + (i & 15), 4, 80, i & 3, 80, 0x83, 900_000) < 0) {
      throw new Error(`table refused connection ${i} of ${n}`);
    }
  }
  const fillSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const grown = process.memoryUsage().arrayBuffers - before;
  if (table.count !== n) throw new Error(`expected ${n} live connections, table has ${table.count}`);
  return {
    connections: n,
    bytesPerConnection: table.byteSize() / n,
    arrayBufferBytesPerConnection: grown / n,
    fillSeconds,
  };
}

/**
 * The naive peer: what a straightforward JavaScript table costs, a Map from a string key
 * "proto|caddr|cport|vaddr|vport" to an object holding the same fields. Measured as the growth of
 * the V8 heap (after a full GC when --expose-gc is on).
 */
function measureNaiveMap(n: number): ConnTableMemoryFigure {
  if (global.gc) global.gc();
  const before = process.memoryUsage().heapUsed;
  const t0 = process.hrtime.bigint();
  const table = new Map<string, { dest: number; dport: number; state: number; flags: number; expires: number; laddr: number; lport: number; control: number }>();
  for (let i = 0; i < n; i++) {
    const host = i >>> 4;
    const key = `6|10.${(host >>> 16) & 255}.${(host >>> 8) & 255}.${host & 255}|${1024 + (i & 15)}|192.0.2.10|80`;
    table.set(key, { dest: i & 3, dport: 80, state: 3, flags: 0x83, expires: 900_000, laddr: 0, lport: 0, control: -1 });
  }
  const fillSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (global.gc) global.gc();
  const grown = process.memoryUsage().heapUsed - before;
  if (table.size !== n) throw new Error('naive table lost entries');
  return { connections: n, bytesPerConnection: grown / n, arrayBufferBytesPerConnection: 0, fillSeconds };
}

export function measureConnTableMemory(): ConnTableMemoryFigure[] | null {
  return [measure(1_000_000), measure(10_000_000)];
}

/** The peer, at 1M connections (10M strings and objects would take minutes and gigabytes). */
export function measureNaiveConnMemory(): ConnTableMemoryFigure {
  return measureNaiveMap(1_000_000);
}

/** Kernel IPVS, as documented (Kconfig help of CONFIG_IP_VS_TAB_BITS): about 128 bytes per connection plus 8 per bucket. */
export const KERNEL_BYTES_PER_CONNECTION = 128;
