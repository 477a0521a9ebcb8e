/**
 * TUN mode: a director that owns no NIC. Its link is a uvs TUN device (`link uvs0 io tun`); the
 * host's kernel routes the balanced traffic into the device, and takes every packet uvs writes
 * back into it as if it had come in from the device, routing it onward (to a real server, back to
 * a client, an IPIP packet to a real server). This file says what the kernel must hold for a
 * configuration; kernel-routes.ts puts it there. Pure: nothing here touches the kernel.
 *
 *   into the device (table main)   every VIP (/32, /128); the `dst` of the mark rules of each
 *                                  firewall-mark service; every FULLNAT local address (the real
 *                                  servers' replies are addressed to it); each `addr` of the TUN
 *                                  link (the source of IPIP packets and of the engine's ICMP:
 *                                  replies to it come back to uvs, and the reverse-path check
 *                                  finds its route through the device)
 *   policy rules                   the replies of NAT real servers: `from RIP ipproto P sport
 *                                  RPORT lookup T`, table T holding `default dev uvs0`, so they
 *                                  pass uvs as an LVS-NAT director routes replies through itself
 *
 * Refused: direct routing (-g) to a real server reached through a TUN link (DR rewrites only the
 * MAC; a TUN link has none), IPIP (-i) through a TUN link without an `addr` on it (the outer
 * source), and a firewall-mark service whose mark rule has no `dst` (the kernel could not tell
 * which packets to route into the device).
 */
import { ForwardMethod, type DirectorConfig, type IpAddress, type RulesConfig } from '../control/config';

/** The route protocol, rule protocol and rule table uvs marks its kernel entries with. */
export const UVS_ROUTE_PROTO = 117;
/** The routing table NAT replies are looked up in (holds `default dev <tun link>`). */
export const UVS_NAT_TABLE = 117;
/** Before the main table (32766), after local (0): replies of NAT real servers go to uvs. */
export const UVS_RULE_PRIORITY = 117;

export class TunModeError extends Error {}

/** One kernel route or policy rule, as `ip` arguments to add and to delete it. */
export interface KernelEntry {
  /** The same entry always has the same key (the diff between configurations is by key). */
  key: string;
  add: string[];
  del: string[];
}

/** An address the host must not own: the kernel would deliver it locally instead of routing it into the device. */
export interface RoutedAddress {
  addr: IpAddress;
  what: string;
}

export interface TunKernelPlan {
  entries: KernelEntry[];
  routed: RoutedAddress[];
  /** Address families that need forwarding on. */
  families: (4 | 6)[];
  /** NAT real servers exist: packets uvs writes into the device keep the client's source. */
  natDests: number;
}

export interface TunPlanOptions {
  /** The link the kernel routes into (the director's first `io tun` link). */
  link: string;
  /** The director's TUN links (io tun). */
  tunLinks: readonly string[];
  /** The link through which the engine reaches an address (its router), or null without a route. */
  linkOf: (addr: IpAddress) => string | null;
  proto?: number;
  table?: number;
  priority?: number;
}

const PROTO_ARG: Readonly<Record<string, string>> = { tcp: 'tcp', udp: 'udp', sctp: '132' };

function fam(af: number): string {
  return af === 6 ? '-6' : '-4';
}

function hostPrefix(a: IpAddress): string {
  return `${a.text}/${a.af === 6 ? 128 : 32}`;
}

/** What the kernel must hold for `rules`; throws TunModeError for what TUN mode cannot do. */
export function planTunKernel(rules: RulesConfig, director: DirectorConfig, o: TunPlanOptions): TunKernelPlan {
  const proto = String(o.proto ?? UVS_ROUTE_PROTO);
  const table = String(o.table ?? UVS_NAT_TABLE);
  const priority = String(o.priority ?? UVS_RULE_PRIORITY);
  const entries = new Map<string, KernelEntry>();
  const routed = new Map<string, RoutedAddress>();
  const families = new Set<4 | 6>();
  let natDests = 0;

  const route = (af: number, prefix: string, inTable: string): void => {
    const sel = [prefix, 'dev', o.link, 'table', inTable, 'proto', proto];
    const key = `route ${fam(af)} ${sel.join(' ')}`;
    if (!entries.has(key)) entries.set(key, { key, add: [fam(af), 'route', 'add', ...sel], del: [fam(af), 'route', 'del', ...sel] });
  };
  const routeAddress = (a: IpAddress, what: string): void => {
    families.add(a.af);
    route(a.af, hostPrefix(a), 'main');
    if (!routed.has(a.text)) routed.set(a.text, { addr: a, what });
  };

  for (const a of director.addrs) {
    if (o.tunLinks.includes(a.dev)) routeAddress(a.addr, `address ${a.addr.text} of TUN link ${a.dev}`);
  }
  for (const svc of rules.services) {
    const k = svc.key;
    if (k.kind === 'addr') {
      routeAddress(k.addr, `virtual service ${k.protocol} ${k.addr.text}:${k.port}`);
    } else {
      for (const m of director.marks ?? []) {
        if (m.mark !== k.fwmark) continue;
        if (m.dst === null || m.dst.prefixLen === 0) {
          throw new TunModeError(
            `firewall-mark service ${k.fwmark}: its mark rule has no dst (or dst is everything), so the kernel cannot route its packets into ${o.link}; ` +
            'give the mark rule a dst prefix (TUN mode routes it into the device)',
          );
        }
        families.add(m.dst.addr.af);
        route(m.dst.addr.af, `${m.dst.addr.text}/${m.dst.prefixLen}`, 'main');
      }
    }
    for (const la of svc.laddrs) routeAddress(la, `FULLNAT local address ${la.text}`);
    for (const d of svc.dests) {
      const via = o.linkOf(d.addr);
      const throughTun = via !== null && o.tunLinks.includes(via);
      if (throughTun && d.method === ForwardMethod.Route) {
        throw new TunModeError(
          `real server ${d.addr.text}: direct routing (-g) needs layer 2 (it rewrites only the MAC), but the director reaches it through ${via}, a TUN link; ` +
          'use NAT (-m), FULLNAT (--fullnat) or tunnelling (-i) there, or reach the real server through an AF_PACKET link',
        );
      }
      if (throughTun && d.method === ForwardMethod.Tunnel && !director.addrs.some((a) => a.dev === via && a.addr.af === d.addr.af)) {
        throw new TunModeError(
          `real server ${d.addr.text}: tunnelling (-i) through the TUN link ${via} needs an IPv${d.addr.af} address of the director on it ` +
          `(the outer source: "addr ADDR/PLEN dev ${via}" in the director file)`,
        );
      }
      if (d.method !== ForwardMethod.Masq) continue;
      natDests++;
      families.add(d.addr.af);
      const sel = ['from', d.addr.text];
      if (k.kind === 'addr') sel.push('ipproto', PROTO_ARG[k.protocol]);
      // ipvsadm keeps port 0 for a port-0 (persistent, all ports) service: replies come from any port.
      if (k.kind === 'addr' && d.port !== 0) sel.push('sport', String(d.port));
      sel.push('lookup', table, 'priority', priority, 'protocol', proto);
      const key = `rule ${fam(d.addr.af)} ${sel.join(' ')}`;
      if (!entries.has(key)) entries.set(key, { key, add: [fam(d.addr.af), 'rule', 'add', ...sel], del: [fam(d.addr.af), 'rule', 'del', ...sel] });
      route(d.addr.af, d.addr.af === 6 ? '::/0' : '0.0.0.0/0', table);
    }
  }
  // Routes before the rules that look them up (and the rules deleted first when going away).
  const list = [...entries.values()].sort((a, b) => Number(a.key.startsWith('rule')) - Number(b.key.startsWith('rule')));
  return { entries: list, routed: [...routed.values()], families: [...families].sort(), natDests };
}
