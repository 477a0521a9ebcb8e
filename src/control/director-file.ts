/**
 * The director file: the director's own network, one fact per line, in the words of `ip`:
 *
 *   link NAME [mac MAC] [mtu N] [io KIND]     an interface (MTU 68..65535, default 1500); KIND is how a
 *                                             live director reaches it: packet (AF_PACKET, the default),
 *                                             cap (libpcap), tun or tap (a uvs TUN/TAP device of that
 *                                             name), raw (layer-3 output through the kernel's routing).
 *                                             Without mac (or mtu) a live director reads the
 *                                             interface's own; a replay needs mac given.
 *   addr IP/PLEN dev NAME                     an address of the director on that link
 *   neigh IP lladdr MAC dev NAME              a static neighbour (ARP / NDP entry)
 *   route PREFIX|default via IP dev NAME      a route through a gateway
 *   route PREFIX|default dev NAME             an on-link route
 *   mark N [proto P] [src PREFIX] [dst PREFIX] [sport A[-B]] [dport A[-B]]
 *                                             packets matching all the given criteria get firewall
 *                                             mark N (1..4294967295) for `-f N` services, as iptables'
 *                                             `-j MARK --set-mark N` gives it to IPVS; rules are tried
 *                                             in file order and the first match wins; P is tcp, udp or
 *                                             sctp; an address without /PLEN is a single host
 *   sysctl NAME VALUE                         an IPVS sysctl (net.ipv4.vs.NAME; the prefix is
 *                                             optional): expire_nodest_conn 0|1 (the kernel's, default
 *                                             0) and drain_nodest_conn 0|1 (uvs's, default 0), each at
 *                                             most once and never both 1 (src/ipvs/sysctls.ts)
 *
 * `#` starts a comment (whole line or trailing); blank lines are skipped. A link must be
 * declared on an earlier line than any addr, neigh or route that uses it. `default` is
 * 0.0.0.0/0, or ::/0 when the gateway is IPv6. A route prefix must have no host bits set.
 * Any mistake throws ConfigError(file, line, reason) and nothing is returned.
 */
import { readFileSync } from 'node:fs';
import {
  ConfigError,
  type AddrConfig,
  type DirectorConfig,
  type IpAddress,
  type LinkConfig,
  type LinkIo,
  LINK_IO_KINDS,
  type NeighConfig,
  type MarkRuleConfig,
  type RouteConfig,
} from './config';
import {
  formatMac,
  hasHostBits,
  ipFromBytes,
  isMulticastMac,
  networkOf,
  parseIp,
  parseMac,
  parsePrefix,
} from './ip-address';
import { SysctlError, sysctlConflict, sysctlName, sysctlValue } from '../ipvs/sysctls';

export const DEFAULT_MTU = 1500;
const MIN_MTU = 68;
const MAX_MTU = 65535;

/** A mistake on the current line; the loader adds the file and line number. */
class LineError extends Error {}

/** What the loader knows so far, with the line of each earlier fact for duplicate messages. */
class DirectorBuilder {
  readonly config: DirectorConfig = { links: [], addrs: [], neighs: [], routes: [], marks: [], sysctls: {} };
  private readonly linkLines = new Map<string, number>();
  private readonly macLines = new Map<string, number>();
  private readonly addrLines = new Map<string, number>();
  private readonly neighLines = new Map<string, number>();
  private readonly routeLines = new Map<string, number>();
  private readonly sysctlLines = new Map<string, number>();

  constructor(private line: number) {}

  at(line: number): void {
    this.line = line;
  }

  link(name: string, mac: Uint8Array | null, mtu: number | null, io: LinkIo): void {
    once(this.linkLines, name, this.line, `link ${name} is already declared`);
    if (mac !== null) once(this.macLines, formatMac(mac), this.line, `MAC ${formatMac(mac)} is already used by another link`);
    this.config.links.push({
      name, mac: mac ?? new Uint8Array(6), macGiven: mac !== null, mtu: mtu ?? DEFAULT_MTU, mtuGiven: mtu !== null, io,
      line: this.line,
    } satisfies LinkConfig);
  }

  addr(addr: IpAddress, prefixLen: number, dev: string): void {
    this.requireLink(dev);
    once(this.addrLines, addr.text, this.line, `address ${addr.text} is already assigned`);
    this.config.addrs.push({ addr, prefixLen, dev } satisfies AddrConfig);
  }

  neigh(addr: IpAddress, mac: Uint8Array, dev: string): void {
    this.requireLink(dev);
    once(this.neighLines, addr.text, this.line, `neighbour ${addr.text} is already declared`);
    this.config.neighs.push({ addr, mac, dev } satisfies NeighConfig);
  }

  route(prefix: IpAddress, prefixLen: number, via: IpAddress | null, dev: string): void {
    this.requireLink(dev);
    once(this.routeLines, `${prefix.text}/${prefixLen}`, this.line, `route ${prefix.text}/${prefixLen} is already declared`);
    this.config.routes.push({ prefix, prefixLen, via, dev } satisfies RouteConfig);
  }

  mark(rule: MarkRuleConfig): void {
    this.config.marks?.push(rule);
  }

  sysctl(nameText: string, valueText: string): void {
    const sysctls = this.config.sysctls ?? {};
    try {
      const name = sysctlName(nameText);
      const value = sysctlValue(name, valueText);
      once(this.sysctlLines, name, this.line, `sysctl ${name} is already set`);
      sysctls[name] = value;
      const conflict = sysctlConflict(sysctls);
      if (conflict !== null) throw new LineError(conflict);
    } catch (e) {
      if (e instanceof SysctlError) throw new LineError(e.message);
      throw e;
    }
    this.config.sysctls = sysctls;
  }

  private requireLink(dev: string): void {
    if (!this.linkLines.has(dev)) {
      throw new LineError(`link ${dev} is not declared (declare it with "link ${dev}" on an earlier line)`);
    }
  }
}

function once(seen: Map<string, number>, key: string, line: number, message: string): void {
  const earlier = seen.get(key);
  if (earlier !== undefined) throw new LineError(`${message} (line ${earlier})`);
  seen.set(key, line);
}

// ---------------------------------------------------------------------------------------------
// One parser per keyword, each given the words after the keyword

type KeywordParser = (b: DirectorBuilder, words: string[]) => void;

/** Reads `words` against a pattern: fixed words must match, `$x` captures; extra or missing words are errors. */
function expect(keyword: string, words: string[], pattern: string): Record<string, string> {
  const parts = pattern.split(' ');
  const usage = `${keyword} ${pattern.replace(/\$(\w+)/g, (_, n: string) => n.toUpperCase())}`;
  if (words.length !== parts.length) {
    throw new LineError(`${words.length < parts.length ? 'missing' : 'unexpected'} words: expected "${usage}"`);
  }
  const out: Record<string, string> = {};
  parts.forEach((p, i) => {
    if (p.startsWith('$')) out[p.slice(1)] = words[i];
    else if (words[i] !== p) throw new LineError(`expected "${p}" where "${words[i]}" is: expected "${usage}"`);
  });
  return out;
}

/** KEY VALUE pairs from `allowed`, each at most once, in any order. */
function options(words: string[], allowed: readonly string[], usage: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < words.length; i += 2) {
    const key = words[i];
    if (!allowed.includes(key)) throw new LineError(`unexpected "${key}": ${usage}`);
    if (i + 1 >= words.length) throw new LineError(`"${key}" needs a value: ${usage}`);
    if (out[key] !== undefined) throw new LineError(`"${key}" given twice`);
    out[key] = words[i + 1];
  }
  return out;
}

function address(text: string): IpAddress {
  try {
    return parseIp(text);
  } catch (e) {
    throw new LineError((e as Error).message);
  }
}

function mac(text: string): Uint8Array {
  const m = parseMac(text);
  if (m === null) throw new LineError(`bad MAC "${text}" (expected six hex pairs like 02:00:00:00:00:01)`);
  if (isMulticastMac(m)) throw new LineError(`MAC ${text} is a multicast or broadcast address`);
  return m;
}

function linkName(text: string): string {
  if (!/^[A-Za-z0-9_.:@-]{1,15}$/.test(text) || text === '.' || text === '..') {
    throw new LineError(`bad link name "${text}" (1 to 15 letters, digits or . _ - : @)`);
  }
  return text;
}

const PARSERS: Readonly<Record<string, KeywordParser>> = {
  link(b, words) {
    const usage = 'expected "link NAME [mac MAC] [mtu N] [io packet|cap|tun|tap|raw]"';
    if (words.length === 0) throw new LineError(`missing words: ${usage}`);
    const name = linkName(words[0]);
    const opts = options(words.slice(1), ['mac', 'mtu', 'io'], usage);
    let mtu: number | null = null;
    if (opts.mtu !== undefined) {
      if (!/^[0-9]+$/.test(opts.mtu) || Number(opts.mtu) < MIN_MTU || Number(opts.mtu) > MAX_MTU) {
        throw new LineError(`bad MTU "${opts.mtu}" (${MIN_MTU}..${MAX_MTU})`);
      }
      mtu = Number(opts.mtu);
    }
    let io: LinkIo = 'packet';
    if (opts.io !== undefined) {
      if (!(LINK_IO_KINDS as readonly string[]).includes(opts.io)) {
        throw new LineError(`bad io "${opts.io}" (packet, cap, tun, tap or raw)`);
      }
      io = opts.io as LinkIo;
    }
    b.link(name, opts.mac === undefined ? null : mac(opts.mac), mtu, io);
  },
  addr(b, words) {
    const w = expect('addr', words, '$prefix dev $dev');
    if (!w.prefix.includes('/')) throw new LineError(`"${w.prefix}" needs a prefix length (like 10.0.0.1/24)`);
    const p = prefix(w.prefix);
    b.addr(p.addr, p.prefixLen, w.dev);
  },
  neigh(b, words) {
    const w = expect('neigh', words, '$addr lladdr $mac dev $dev');
    b.neigh(address(w.addr), mac(w.mac), w.dev);
  },
  route(b, words) {
    const w = words.length > 3 ? expect('route', words, '$prefix via $via dev $dev') : expect('route', words, '$prefix dev $dev');
    const via = w.via === undefined ? null : address(w.via);
    let dest: { addr: IpAddress; prefixLen: number };
    if (w.prefix === 'default') {
      dest = { addr: ipFromBytes(new Uint8Array(via?.af === 6 ? 16 : 4)), prefixLen: 0 };
    } else {
      dest = prefix(w.prefix);
      if (hasHostBits(dest.addr, dest.prefixLen)) {
        const net = networkOf(dest.addr, dest.prefixLen);
        throw new LineError(`${w.prefix} has host bits set; did you mean ${net.text}/${dest.prefixLen}?`);
      }
    }
    if (via !== null && via.af !== dest.addr.af) {
      throw new LineError(`gateway ${via.text} is IPv${via.af} but ${w.prefix} is IPv${dest.addr.af}`);
    }
    b.route(dest.addr, dest.prefixLen, via, w.dev);
  },
  mark(b, words) {
    b.mark(parseMarkRule(words));
  },
  sysctl(b, words) {
    const w = expect('sysctl', words, '$name $value');
    b.sysctl(w.name, w.value);
  },
};

const MARK_PROTOCOLS: Readonly<Record<string, number>> = { tcp: 6, udp: 17, sctp: 132 };

function portRange(option: string, text: string): [number, number] {
  const m = /^([0-9]{1,5})(?:-([0-9]{1,5}))?$/.exec(text);
  const lo = m ? Number(m[1]) : NaN;
  const hi = m ? Number(m[2] ?? m[1]) : NaN;
  if (!m || lo > 65535 || hi > 65535 || lo > hi) {
    throw new LineError(`bad ${option} "${text}" (a port 0..65535 or a range LOW-HIGH)`);
  }
  return [lo, hi];
}

/** A prefix for a mark rule: IP/PLEN, or a bare address meaning that one host. */
function matchPrefix(option: string, text: string): { addr: IpAddress; prefixLen: number } {
  const p = text.includes('/') ? prefix(text) : (() => {
    const a = address(text);
    return { addr: a, prefixLen: a.af === 6 ? 128 : 32 };
  })();
  if (hasHostBits(p.addr, p.prefixLen)) {
    throw new LineError(`${option} ${text} has host bits set; did you mean ${networkOf(p.addr, p.prefixLen).text}/${p.prefixLen}?`);
  }
  return p;
}

function parseMarkRule(words: string[]): MarkRuleConfig {
  const usage = 'expected "mark N [proto tcp|udp|sctp] [src PREFIX] [dst PREFIX] [sport A[-B]] [dport A[-B]]"';
  if (words.length === 0) throw new LineError(`missing mark value: ${usage}`);
  const markText = words[0];
  const mark = /^[0-9]+$/.test(markText) ? Number(markText) : NaN;
  if (!(mark >= 1 && mark <= 0xffffffff)) throw new LineError(`bad mark "${markText}" (1..4294967295): ${usage}`);
  const rule: MarkRuleConfig = { mark, protocol: 0, src: null, dst: null, sport: null, dport: null };
  const seen = new Set<string>();
  for (let i = 1; i < words.length; i += 2) {
    const option = words[i];
    const value = words[i + 1];
    if (!['proto', 'src', 'dst', 'sport', 'dport'].includes(option)) throw new LineError(`unknown match "${option}": ${usage}`);
    if (value === undefined) throw new LineError(`"${option}" needs a value: ${usage}`);
    if (seen.has(option)) throw new LineError(`"${option}" given twice`);
    seen.add(option);
    if (option === 'proto') {
      if (!(value in MARK_PROTOCOLS)) throw new LineError(`bad proto "${value}" (tcp, udp or sctp)`);
      rule.protocol = MARK_PROTOCOLS[value];
    } else if (option === 'src' || option === 'dst') {
      rule[option] = matchPrefix(option, value);
    } else {
      rule[option as 'sport' | 'dport'] = portRange(option, value);
    }
  }
  if (rule.src !== null && rule.dst !== null && rule.src.addr.af !== rule.dst.addr.af) {
    throw new LineError(`src ${rule.src.addr.text} and dst ${rule.dst.addr.text} are of different address families`);
  }
  if ((rule.sport !== null || rule.dport !== null) && rule.protocol === 0) {
    throw new LineError('sport/dport need "proto tcp|udp|sctp" (ports are matched per protocol, as iptables does)');
  }
  return rule;
}

function prefix(text: string): { addr: IpAddress; prefixLen: number } {
  try {
    return parsePrefix(text);
  } catch (e) {
    throw new LineError((e as Error).message);
  }
}

export function loadDirector(text: string, file: string): DirectorConfig {
  const b = new DirectorBuilder(0);
  text.split('\n').forEach((raw, i) => {
    const hash = raw.indexOf('#');
    const words = (hash < 0 ? raw : raw.slice(0, hash)).split(/[ \t\r]+/).filter((w) => w !== '');
    if (words.length === 0) return;
    b.at(i + 1);
    const [keyword, ...rest] = words;
    const parse = Object.prototype.hasOwnProperty.call(PARSERS, keyword) ? PARSERS[keyword] : undefined;
    try {
      if (parse === undefined) {
        throw new LineError(`unknown keyword "${keyword}" (expected link, addr, neigh, route, mark or sysctl)`);
      }
      parse(b, rest);
    } catch (e) {
      if (e instanceof LineError) throw new ConfigError(file, i + 1, e.message);
      throw e;
    }
  });
  return b.config;
}

export function loadDirectorFile(path: string): DirectorConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(path, 0, `cannot read the director file: ${(e as Error).message}`);
  }
  return loadDirector(text, path);
}

/**
 * Offline uses (replay, explain) have no interface to ask: every link must give its MAC. `use`
 * names the command in the message.
 */
export function requireLinkMacs(config: DirectorConfig, file: string, use: string): void {
  for (const l of config.links) {
    if (!l.macGiven) throw new ConfigError(file, l.line, `link ${l.name} has no mac: ${use} needs each link's MAC ("link ${l.name} mac MAC")`);
  }
}
