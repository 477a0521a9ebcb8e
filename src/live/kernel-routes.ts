/**
 * TUN mode's part of the host kernel (tun-plan.ts says what and why): routes into the director's
 * TUN device and policy rules for NAT replies, set up when the director starts, changed with the
 * configuration, and removed when it stops. Also:
 *
 *   forwarding on (net.ipv4.ip_forward, net.ipv6.conf.all.forwarding when IPv6 is balanced): the
 *     kernel forwards client packets into the device and what uvs writes into it onward;
 *     given back to its earlier value at a clean stop
 *   rp_filter 0 on the device (a new device takes `default`, often 1 or 2): a margin, not a need.
 *     Every packet uvs writes into the device has a source whose route leads back into it: the
 *     VIP, a local address, the director's own address (routes above), and for NAT the client,
 *     because the kernel's reverse-path lookup of client -> RIP:RPORT swaps the ports and so
 *     matches the policy rule of RIP:RPORT (seen on 6.18 with the device strict). The margin is
 *     for sources those routes do not cover (an ICMP error from a real server's address, which
 *     no port-matching rule routes back). The kernel uses the larger of `all` and the device's.
 *
 * Every route and rule carries protocol UVS_ROUTE_PROTO: a director starting after a crash first
 * removes what the crashed one left (the device, and the routes through it, went with its
 * process; the policy rules stay). One TUN-mode director per network namespace owns them.
 *
 * A change is applied as a whole: it is checked first (nothing is touched when TUN mode cannot do
 * it, or when the host owns an address that must be routed into the device), then the new entries
 * are added, and only when all of them are in are the old ones deleted; a failed add takes back
 * the ones added before it, and the earlier configuration stays in force.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import type { DirectorConfig, IpAddress, RulesConfig } from '../control/config';
import type { Logger } from '../control/daemon/logger';
import { networkOf, parsePrefix, type Prefix } from '../control/ip-address';
import { planTunKernel, TunModeError, UVS_ROUTE_PROTO, type KernelEntry } from './tun-plan';

export { TunModeError } from './tun-plan';

/** Runs `ip ARGS`; returns stdout, throws an Error carrying ip's message. */
export type IpRunner = (args: readonly string[]) => string;

/** /proc/sys access by path under /proc/sys (net/ipv4/ip_forward); read gives null when absent. */
export interface SysctlAccess {
  read(path: string): string | null;
  write(path: string, value: string): void;
}

export const runIp: IpRunner = (args) => {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  } catch (e) {
    const err = e as { stderr?: string; code?: string; message: string };
    if (err.code === 'ENOENT') throw new Error('ip (iproute2) is not installed: a TUN-mode director needs it');
    throw new Error((err.stderr ?? '').trim() || err.message);
  }
};

export const procSysctl: SysctlAccess = {
  read(path) {
    try {
      return readFileSync(`/proc/sys/${path}`, 'utf8').trim();
    } catch {
      return null;
    }
  },
  write(path, value) {
    writeFileSync(`/proc/sys/${path}`, value);
  },
};

/** The part of the engine's router TUN mode asks: through which link it reaches an address. */
export interface LinkLookup {
  readonly linkNames: readonly string[];
  nextHopAddress(af: number, addr: Uint8Array): { link: number } | null;
}

export interface KernelRoutesOptions {
  director: DirectorConfig;
  router: LinkLookup;
  logger: Logger;
  ip?: IpRunner;
  sysctl?: SysctlAccess;
}

const FORWARDING: Readonly<Record<4 | 6, string>> = { 4: 'net/ipv4/ip_forward', 6: 'net/ipv6/conf/all/forwarding' };

export class KernelRoutes {
  private installed = new Map<string, KernelEntry>();
  /** Forwarding switches this director turned on, with the value to give back. */
  private readonly forwardingBefore = new Map<string, string>();
  private started = false;
  private readonly ip: IpRunner;
  private readonly sysctl: SysctlAccess;
  private readonly link: string;

  private constructor(
    private readonly opts: KernelRoutesOptions,
    private readonly tunLinks: readonly string[],
  ) {
    this.ip = opts.ip ?? runIp;
    this.sysctl = opts.sysctl ?? procSysctl;
    this.link = tunLinks[0];
  }

  /** Kernel routes for the director's TUN links (the first one carries them), or null without one. */
  static forDirector(opts: KernelRoutesOptions): KernelRoutes | null {
    const tunLinks = opts.director.links.filter((l) => l.io === 'tun').map((l) => l.name);
    return tunLinks.length === 0 ? null : new KernelRoutes(opts, tunLinks);
  }

  /** The entries in the kernel now (keys), for tests and logs. */
  entries(): string[] {
    return [...this.installed.keys()];
  }

  /** Makes the kernel hold what `rules` needs (throws TunModeError, changing nothing, when it cannot). */
  apply(rules: RulesConfig): void {
    const router = this.opts.router;
    const plan = planTunKernel(rules, this.opts.director, {
      link: this.link,
      tunLinks: this.tunLinks,
      linkOf: (a: IpAddress) => {
        const hop = router.nextHopAddress(a.af, a.bytes);
        return hop === null || hop.link < 0 ? null : router.linkNames[hop.link] ?? null;
      },
    });
    this.refuseLocal(plan.routed);
    if (!this.started) {
      this.started = true;
      this.removeStale();
      for (const dev of this.tunLinks) {
        // Absent when IPv4 is off on the device: nothing to check then.
        if (this.sysctl.read(`net/ipv4/conf/${dev}/rp_filter`) !== null) this.sysctl.write(`net/ipv4/conf/${dev}/rp_filter`, '0');
      }
    }
    for (const af of plan.families) this.forwardingOn(af);

    const want = new Map(plan.entries.map((e) => [e.key, e]));
    const added: KernelEntry[] = [];
    for (const e of plan.entries) {
      if (this.installed.has(e.key)) continue;
      try {
        this.ip(e.add);
      } catch (err) {
        for (const a of added.reverse()) this.tryDelete(a);
        throw new TunModeError(`TUN mode: the kernel refused "ip ${e.add.join(' ')}": ${(err as Error).message}`);
      }
      added.push(e);
    }
    let removed = 0;
    for (const e of [...this.installed.values()].reverse()) {
      if (want.has(e.key)) continue;
      this.tryDelete(e);
      removed++;
    }
    this.installed = want;
    if (added.length > 0 || removed > 0) {
      this.opts.logger.log('info', 'kernel routes for TUN mode', {
        link: this.link, added: added.length, removed, entries: want.size, natRealServers: plan.natDests,
      });
    }
  }

  /** Deletes every entry and gives forwarding back its earlier value. Never throws (called while stopping). */
  remove(): void {
    for (const e of [...this.installed.values()].reverse()) this.tryDelete(e);
    this.installed.clear();
    for (const [path, value] of this.forwardingBefore) {
      try {
        this.sysctl.write(path, value);
      } catch {
        // left on: harmless for a host that was a director
      }
    }
    this.forwardingBefore.clear();
  }

  private forwardingOn(af: 4 | 6): void {
    const path = FORWARDING[af];
    const now = this.sysctl.read(path);
    if (now === null || now === '1') return;
    this.sysctl.write(path, '1');
    if (!this.forwardingBefore.has(path)) this.forwardingBefore.set(path, now);
  }

  private tryDelete(e: KernelEntry): void {
    try {
      this.ip(e.del);
    } catch {
      // already gone (the device went away, or someone removed it)
    }
  }

  /** What a director that did not stop cleanly left: every route and rule of our protocol. */
  private removeStale(): void {
    const proto = String(UVS_ROUTE_PROTO);
    let stale = 0;
    for (const f of ['-4', '-6']) {
      stale += this.rows([f, '-j', 'route', 'show', 'table', 'all', 'proto', proto]).length;
      // `ip rule show` lists every rule whatever the protocol asked for (iproute2 6.1): pick ours.
      stale += this.rows([f, '-j', 'rule', 'show']).filter((r) => r.protocol === proto).length;
    }
    if (stale === 0) return;
    for (const f of ['-4', '-6']) {
      for (const args of [[f, 'rule', 'flush', 'protocol', proto], [f, 'route', 'flush', 'table', 'all', 'proto', proto]]) {
        try {
          this.ip(args);
        } catch {
          // that family is off
        }
      }
    }
    this.opts.logger.log('warn', 'removed kernel routes and rules an earlier director left behind', { count: stale });
  }

  /** `ip -j ...` rows; none when the family is off or ip fails. */
  private rows(args: string[]): { protocol?: string; dst?: string }[] {
    try {
      const rows = JSON.parse(this.ip(args) || '[]') as unknown;
      return Array.isArray(rows) ? (rows as { protocol?: string; dst?: string }[]) : [];
    } catch {
      return [];
    }
  }

  /** The host owning an address means its kernel delivers it locally: refused, naming it. */
  private refuseLocal(routed: readonly { addr: IpAddress; what: string }[]): void {
    if (routed.length === 0) return;
    const local: Prefix[] = [];
    for (const f of ['-4', '-6']) {
      for (const r of this.rows([f, '-j', 'route', 'show', 'table', 'local', 'type', 'local'])) {
        try {
          if (r.dst !== undefined) local.push(parsePrefix(r.dst));
        } catch {
          // not an address
        }
      }
    }
    for (const r of routed) {
      const hit = local.find((p) => p.addr.af === r.addr.af && networkOf(p.addr, p.prefixLen).text === networkOf(r.addr, p.prefixLen).text);
      if (hit !== undefined) {
        throw new TunModeError(
          `${r.what} is a local address of this host (${hit.addr.text}/${hit.prefixLen} in its local table): in TUN mode the kernel must ` +
          `route it into ${this.link}, not answer it; remove it from the host's interfaces`,
        );
      }
    }
  }
}
