/**
 * Keeps the director's own kernel away from what uvs balances. A packet socket sees every frame
 * before the ingress hook, so an nftables netdev ingress chain on each attached link that drops
 * balanced frames leaves them to uvs alone: without it the kernel would also answer them (a RST
 * from a local VIP), forward them (a duplicate of each NAT reply, from the real server's
 * address), or reset FULLNAT replies to a local address it has no socket for.
 *
 * Dropped for the kernel (uvs still reads them): packets to a virtual service (protocol, VIP,
 * port; every port of a port-0 persistent service), packets from a NAT or FULLNAT real server's
 * address and port (its replies), packets to a FULLNAT local address (TCP/UDP/SCTP), and packets
 * a `mark` rule of the director file would mark. ARP and everything else still reach the kernel,
 * so it keeps answering ARP for its addresses and routing what uvs does not balance.
 *
 * The table is rewritten in one `nft -f` transaction on every configuration change (never half
 * applied) and deleted when the director stops, unless the director saved connections that may
 * still carry data for its next start (docs/director-restart.md): then it stays until that start
 * replaces it, also in one transaction. After a crash it stays too. One director per network
 * namespace owns it.
 */
import { execFileSync } from 'node:child_process';
import { ForwardMethod, type DirectorConfig, type IpAddress, type RulesConfig } from '../control/config';
import type { RetainedReplySource } from './retained-replies';

export const GUARD_TABLE = 'uvs_guard';

export class KernelGuardError extends Error {}

const PROTO: Readonly<Record<string, string>> = { tcp: 'tcp', udp: 'udp', sctp: 'sctp' };
const MARK_PROTO: Readonly<Record<number, string>> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };

function family(a: IpAddress): string {
  return a.af === 6 ? 'ip6' : 'ip';
}

/** nft refuses a range of one port: write it as the port. */
function portRange([lo, hi]: [number, number]): string {
  return lo === hi ? `${lo}` : `${lo}-${hi}`;
}

/** The match expressions (one per rule) that select balanced frames. */
export function guardMatches(rules: RulesConfig, director: DirectorConfig, retained: readonly RetainedReplySource[] = []): string[] {
  const out = new Set<string>();
  for (const svc of rules.services) {
    if (svc.key.kind === 'addr') {
      const k = svc.key;
      const proto = PROTO[k.protocol];
      out.add(k.port === 0
        ? `${family(k.addr)} daddr ${k.addr.text} meta l4proto ${proto}`
        : `${family(k.addr)} daddr ${k.addr.text} ${proto} dport ${k.port}`);
    }
    for (const d of svc.dests) {
      if (d.method !== ForwardMethod.Masq && d.method !== ForwardMethod.FullNat) continue;
      const protos = svc.key.kind === 'addr' ? [PROTO[svc.key.protocol]] : ['tcp', 'udp', 'sctp'];
      for (const p of protos) {
        out.add(d.port === 0 ? `${family(d.addr)} saddr ${d.addr.text} meta l4proto ${p}` : `${family(d.addr)} saddr ${d.addr.text} ${p} sport ${d.port}`);
      }
    }
    for (const la of svc.laddrs) out.add(`${family(la)} daddr ${la.text} meta l4proto { tcp, udp, sctp }`);
  }
  // Deleted NAT/FULLNAT real servers: their connections' replies still belong to uvs (retained-replies.ts).
  for (const r of retained) {
    for (const p of r.protocol === null ? ['tcp', 'udp', 'sctp'] : [r.protocol]) {
      out.add(r.port === 0 ? `${family(r.addr)} saddr ${r.addr.text} meta l4proto ${p}` : `${family(r.addr)} saddr ${r.addr.text} ${p} sport ${r.port}`);
    }
  }
  for (const m of director.marks ?? []) {
    const af = m.src?.addr.af ?? m.dst?.addr.af ?? 4;
    const fam = af === 6 ? 'ip6' : 'ip';
    const parts: string[] = [];
    if (m.src !== null) parts.push(`${fam} saddr ${m.src.addr.text}/${m.src.prefixLen}`);
    if (m.dst !== null) parts.push(`${fam} daddr ${m.dst.addr.text}/${m.dst.prefixLen}`);
    if (m.protocol !== 0) {
      const p = MARK_PROTO[m.protocol];
      if (m.sport === null && m.dport === null) parts.push(`meta l4proto ${p}`);
      if (m.sport !== null) parts.push(`${p} sport ${portRange(m.sport)}`);
      if (m.dport !== null) parts.push(`${p} dport ${portRange(m.dport)}`);
    }
    if (parts.length === 0) parts.push(`meta nfproto ${af === 6 ? 'ipv6' : 'ipv4'}`);
    out.add(parts.join(' '));
  }
  return [...out];
}

/** The whole nft script: the table recreated with one ingress chain per link. */
export function guardScript(links: readonly string[], matches: readonly string[], table = GUARD_TABLE): string {
  const lines = [`table netdev ${table} {}`, `delete table netdev ${table}`, `table netdev ${table} {`];
  links.forEach((dev, i) => {
    lines.push(`  chain ingress${i} {`, `    type filter hook ingress device "${dev}" priority -500; policy accept;`);
    for (const m of matches) lines.push(`    ${m} counter drop`);
    lines.push('  }');
  });
  lines.push('}');
  return lines.join('\n') + '\n';
}

export type NftRunner = (script: string) => void;

export const runNft: NftRunner = (script) => {
  try {
    execFileSync('nft', ['-f', '-'], { input: script, stdio: ['pipe', 'ignore', 'pipe'], encoding: 'utf8', timeout: 10_000 });
  } catch (e) {
    const err = e as { stderr?: string; code?: string; message: string };
    if (err.code === 'ENOENT') throw new KernelGuardError('nft (nftables) is not installed: the director needs it to keep the kernel off balanced frames');
    throw new KernelGuardError(`nftables refused the guard rules: ${(err.stderr ?? err.message).trim()}`);
  }
};

export class KernelGuard {
  private installed = false;

  constructor(
    private readonly links: readonly string[],
    private readonly nft: NftRunner = runNft,
    private readonly table = GUARD_TABLE,
  ) {}

  /** Installs or replaces the rules for this configuration (one transaction). */
  apply(rules: RulesConfig, director: DirectorConfig, retained: readonly RetainedReplySource[] = []): void {
    if (this.links.length === 0) return;
    this.nft(guardScript(this.links, guardMatches(rules, director, retained), this.table));
    this.installed = true;
  }

  /** True while this guard's table is installed. */
  get active(): boolean {
    return this.installed;
  }

  /** Deletes the table. Never throws (called while stopping). */
  remove(): void {
    if (!this.installed) return;
    this.installed = false;
    try {
      this.nft(`table netdev ${this.table} {}\ndelete table netdev ${this.table}\n`);
    } catch {
      // already gone
    }
  }
}
