/**
 * The classic BPF filter a live director attaches to its AF_PACKET sockets, so the kernel copies
 * into the ring only what uvs balances: frames to a virtual service, replies from a NAT or FULLNAT
 * real server, frames to a FULLNAT local address, plus ARP (the neighbour resolver learns from
 * it) and ICMP about those addresses. It selects the same frames the kernel guard takes away from
 * the kernel (kernel-guard.ts).
 */
import { ForwardMethod, type DirectorConfig, type RulesConfig } from '../control/config';
import type { FilterRule } from '../io/bpf';
import type { RetainedReplySource } from './retained-replies';

/**
 * The filter's rules for this configuration, or null when a filter cannot express it: firewall-
 * mark services match what the director file's `mark` lines select, so with marks the sockets take
 * every frame.
 */
export function directorFilterRules(rules: RulesConfig, director: DirectorConfig, retained: readonly RetainedReplySource[] = []): FilterRule[] | null {
  if ((director.marks ?? []).length > 0 || rules.services.some((s) => s.key.kind === 'fwmark')) return null;
  const out: FilterRule[] = [];
  const seen = new Set<string>();
  const add = (r: FilterRule): void => {
    const key = `${r.af}/${r.proto}/${[...r.addr].join('.')}/${r.port}/${r.side}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push(r);
  };
  for (const svc of rules.services) {
    if (svc.key.kind !== 'addr') continue;
    const { protocol, addr, port } = svc.key;
    add({ af: addr.af, proto: protocol, addr: addr.bytes, port, side: 'dst' });
    for (const d of svc.dests) {
      if (d.method === ForwardMethod.Masq || d.method === ForwardMethod.FullNat) {
        add({ af: d.addr.af, proto: protocol, addr: d.addr.bytes, port: d.port, side: 'src' });
      }
    }
    for (const la of svc.laddrs) add({ af: la.af, proto: protocol, addr: la.bytes, port: 0, side: 'dst' });
  }
  // Deleted NAT/FULLNAT real servers: their connections' replies still belong to uvs (retained-replies.ts).
  for (const r of retained) add({ af: r.addr.af, proto: r.protocol ?? 0, addr: r.addr.bytes, port: r.protocol === null ? 0 : r.port, side: 'src' });
  return out;
}
