/**
 * The order in which ipvsadm lists services and real servers, reproduced exactly.
 *
 * ipvsadm reads services in the kernel's hash-table order, then sorts them with glibc's qsort
 * (a stable top-down merge sort for these sizes) and a comparator that subtracts 32-bit
 * values and reads the difference as a signed int. That comparator is not transitive for
 * values 2^31 or more apart (10.0.0.1 sorts after 192.168.0.1), so the result depends on the
 * input order: to print what ipvsadm prints, both the input order and the sort must match.
 *
 * Input order: the kernel walks its 256-bucket service table, then its fwmark table, newest
 * first inside a bucket. The bucket mixes in a kernel pointer that differs per boot; like the
 * ipvsadm oracle (shared/ipvsadm-oracle) we take that pointer as 0, so our order is the
 * oracle's. Real servers come in list order (newest first) and are sorted the same way.
 */
import { PROTOCOL_NUMBER, type AddressFamily, type DestConfig, type IpAddress, type ServiceConfig } from './config';

/** What the service comparators and the hash read: only the key (a ServiceConfig or a listing's service). */
export type KeyedService = Pick<ServiceConfig, 'key'>;
/** What the real-server comparator reads: address and port. */
export type AddressedDest = Pick<DestConfig, 'addr' | 'port'>;
import { ipWord } from './ip-address';

const SVC_TAB_BITS = 8;
const SVC_TAB_MASK = (1 << SVC_TAB_BITS) - 1;
/** AF_INET and AF_INET6 as the comparator subtracts them. */
const AF_NUMBER: Readonly<Record<AddressFamily, number>> = { 4: 2, 6: 10 };

/** glibc msort: split at n/2, sort both halves, merge taking the left item while cmp <= 0. */
export function glibcMergeSort<T>(items: readonly T[], cmp: (a: T, b: T) => number): T[] {
  const out = items.slice();
  const tmp = new Array<T>(out.length);
  const sort = (lo: number, n: number): void => {
    if (n <= 1) return;
    const n1 = n >>> 1;
    const n2 = n - n1;
    sort(lo, n1);
    sort(lo + n1, n2);
    let i = lo;
    let j = lo + n1;
    const iEnd = lo + n1;
    const jEnd = lo + n;
    let k = 0;
    while (i < iEnd && j < jEnd) tmp[k++] = cmp(out[i], out[j]) <= 0 ? out[i++] : out[j++];
    while (i < iEnd) tmp[k++] = out[i++];
    for (let m = 0; m < k; m++) out[lo + m] = tmp[m];
  };
  sort(0, out.length);
  return out;
}

/** a - b of two unsigned 32-bit values, read as a signed 32-bit int (C's `int r = a - b`). */
function wrappedDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** The four host-order words of an address as the comparators see it (IPv4: one word, then zeros). */
function words(addr: IpAddress): number[] {
  return addr.af === 4 ? [ipWord(addr), 0, 0, 0] : [0, 1, 2, 3].map((w) => ipWord(addr, w));
}

function compareAddresses(af: AddressFamily, a: IpAddress, b: IpAddress): number {
  const wa = words(a);
  const wb = words(b);
  const count = af === 6 ? 4 : 1;
  for (let i = 0; i < count; i++) {
    const r = wrappedDiff(wa[i], wb[i]);
    if (r !== 0) return r;
  }
  return 0;
}

interface ServiceSortKey {
  fwmark: number;
  af: AddressFamily;
  protocol: number;
  addr: IpAddress | null;
  port: number;
}

function sortKey(s: KeyedService): ServiceSortKey {
  const k = s.key;
  if (k.kind === 'fwmark') return { fwmark: k.fwmark, af: k.af, protocol: PROTOCOL_NUMBER.tcp, addr: null, port: 0 };
  return { fwmark: 0, af: k.addr.af, protocol: PROTOCOL_NUMBER[k.protocol], addr: k.addr, port: k.port };
}

/** ipvsadm's ipvs_cmp_services: fwmark, af, protocol, address (wrapped), port. */
export function compareServices(a: KeyedService, b: KeyedService): number {
  const ka = sortKey(a);
  const kb = sortKey(b);
  let r = wrappedDiff(ka.fwmark, kb.fwmark);
  if (r !== 0) return r;
  r = AF_NUMBER[ka.af] - AF_NUMBER[kb.af];
  if (r !== 0) return r;
  r = ka.protocol - kb.protocol;
  if (r !== 0) return r;
  if (ka.addr !== null && kb.addr !== null) {
    r = compareAddresses(ka.af, ka.addr, kb.addr);
    if (r !== 0) return r;
  }
  return ka.port - kb.port;
}

/** ipvsadm's ipvs_cmp_dests: address (as wide as the first dest's family, wrapped), port. */
export function compareDests(a: AddressedDest, b: AddressedDest): number {
  const r = compareAddresses(a.addr.af, a.addr, b.addr);
  if (r !== 0) return r;
  return a.port - b.port;
}

/** The kernel's service hash bucket (ip_vs_svc_hashkey / ip_vs_svc_fwm_hashkey, pointer 0). */
export function serviceBucket(s: KeyedService): number {
  const k = s.key;
  if (k.kind === 'fwmark') return k.fwmark & SVC_TAB_MASK;
  const w = words(k.addr);
  const folded = k.addr.af === 4 ? w[0] : (w[0] ^ w[1] ^ w[2] ^ w[3]) >>> 0;
  return (PROTOCOL_NUMBER[k.protocol] ^ folded ^ (k.port >>> SVC_TAB_BITS) ^ k.port) & SVC_TAB_MASK;
}

/** Services as the kernel dumps them, given the model's creation order (oldest first). */
export function kernelServiceOrder<T extends KeyedService>(services: readonly T[]): T[] {
  const out: T[] = [];
  for (const fwmarkTable of [false, true]) {
    const buckets = new Map<number, T[]>();
    for (const s of services) {
      if ((s.key.kind === 'fwmark') !== fwmarkTable) continue;
      const b = serviceBucket(s);
      const list = buckets.get(b) ?? [];
      list.unshift(s); // newest first inside a bucket
      buckets.set(b, list);
    }
    for (const b of [...buckets.keys()].sort((x, y) => x - y)) out.push(...(buckets.get(b) as T[]));
  }
  return out;
}

/** Services in the order `ipvsadm -L` / `-S` prints them. */
export function ipvsadmServiceOrder<T extends KeyedService>(services: readonly T[]): T[] {
  return glibcMergeSort(kernelServiceOrder(services), compareServices);
}

/** A service's real servers in the order `ipvsadm -L` / `-S` prints them. */
export function ipvsadmDestOrder<T extends AddressedDest>(dests: readonly T[]): T[] {
  return glibcMergeSort(dests, compareDests);
}
