/**
 * Network namespaces through iproute2: the building blocks of the lab and of every test that
 * needs real kernels on both ends. Commands run synchronously (set-up is a few dozen of them) and
 * a failure throws NetnsError with the command and what it printed, so a broken testbed says why.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export class NetnsError extends Error {}

/** Runs a command; returns its stdout. Throws NetnsError naming the command and its stderr. */
export function run(cmd: string, args: readonly string[], input?: string): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], input, timeout: 30_000 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    const why = (err.stderr ?? '').trim() || err.message;
    throw new NetnsError(`${cmd} ${args.join(' ')}: ${why}`);
  }
}

/** `ip ARGS` in the current namespace. */
export function ip(...args: string[]): string {
  return run('ip', args);
}

/** Runs cmd in namespace ns; returns its stdout. */
export function nsRun(ns: string, cmd: string, ...args: string[]): string {
  return run('ip', ['netns', 'exec', ns, cmd, ...args]);
}

/** `ip ARGS` inside namespace ns. */
export function nsIp(ns: string, ...args: string[]): string {
  return run('ip', ['-n', ns, ...args]);
}

/** Sets a sysctl inside ns (key as in /proc/sys, dotted: net.ipv4.ip_forward). */
export function nsSysctl(ns: string, key: string, value: string | number): void {
  nsRun(ns, 'sysctl', '-q', '-w', `${key}=${value}`);
}

/** Starts a long-running process inside ns (the caller owns and kills it). */
export function nsSpawn(ns: string, cmd: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...options });
}

export function listNamespaces(): string[] {
  const out = run('ip', ['netns', 'list']);
  return out.split('\n').map((l) => l.split(' ')[0]).filter((n) => n.length > 0);
}

/** Creates ns with its loopback up. */
export function addNamespace(ns: string): void {
  ip('netns', 'add', ns);
  nsIp(ns, 'link', 'set', 'lo', 'up');
}

/**
 * Deletes every namespace whose name starts with prefix, killing the processes still in it
 * first (a namespace with live processes would linger). Never throws: cleanup must finish.
 */
export function deleteNamespaces(prefix: string): string[] {
  const gone: string[] = [];
  let names: string[] = [];
  try {
    names = listNamespaces().filter((n) => n.startsWith(prefix));
  } catch {
    return gone;
  }
  for (const ns of names) {
    try {
      const pids = run('ip', ['netns', 'pids', ns]).split('\n').filter((p) => /^\d+$/.test(p));
      for (const pid of pids) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // already gone
        }
      }
    } catch {
      // no pids to list
    }
    try {
      ip('netns', 'del', ns);
      gone.push(ns);
    } catch {
      // deleted by someone else meanwhile
    }
  }
  return gone;
}

/**
 * A veth pair between two namespaces (either may be null: the current one), created directly in
 * them (so the same short names can be used in every namespace), both ends up, with the offloads
 * that would hand a forwarder unfinished checksums and 64 KB frames turned off.
 */
export function addVeth(nsA: string | null, ifA: string, nsB: string | null, ifB: string): void {
  const where = (ns: string | null): string[] => (ns === null ? [] : ['netns', ns]);
  ip('link', 'add', ifA, ...where(nsA), 'type', 'veth', 'peer', 'name', ifB, ...where(nsB));
  for (const [ns, dev] of [[nsA, ifA], [nsB, ifB]] as const) {
    runIn(ns, 'ethtool', '-K', dev, 'tso', 'off', 'gso', 'off', 'tx', 'off');
    runIn(ns, 'ip', 'link', 'set', dev, 'up');
  }
}

/** Runs cmd inside ns, or in the current namespace when ns is null. */
export function runIn(ns: string | null, cmd: string, ...args: string[]): string {
  return ns === null ? run(cmd, args) : nsRun(ns, cmd, ...args);
}

/** A MAC address of a link inside ns (or the current namespace when ns is null). */
export function linkMac(ns: string | null, dev: string): string {
  const out = ns === null ? ip('-j', 'link', 'show', dev) : nsIp(ns, '-j', 'link', 'show', dev);
  const parsed = JSON.parse(out) as { address?: string }[];
  const mac = parsed[0]?.address;
  if (mac === undefined) throw new NetnsError(`link ${dev} has no MAC address`);
  return mac;
}

/** The MTU of a link inside ns (or the current namespace when ns is null). */
export function linkMtu(ns: string | null, dev: string): number {
  const out = ns === null ? ip('-j', 'link', 'show', dev) : nsIp(ns, '-j', 'link', 'show', dev);
  const mtu = (JSON.parse(out) as { mtu?: number }[])[0]?.mtu;
  if (mtu === undefined) throw new NetnsError(`link ${dev} has no MTU`);
  return mtu;
}

/** A namespace prefix unique to this process and moment, for tests that run side by side. */
export function uniquePrefix(tag: string): string {
  return `${tag}${process.pid.toString(36)}${(Date.now() % 1_000_000).toString(36)}-`;
}
