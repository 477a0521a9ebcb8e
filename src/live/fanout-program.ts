/**
 * The PACKET_FANOUT_CBPF program of a director run as N worker processes: it sends every packet
 * of one connection, both directions, to the same worker, so each worker's engine sees whole
 * connections. The program returns the socket's position in the fanout group; the kernel takes
 * it modulo the group's size.
 *
 * The worker's number (its "slot") comes from the packet's client:
 * - packets to a FULLNAT local address (replies of FULLNAT real servers): the destination port
 *   modulo N. Worker k allocates only local ports p with p % N == k
 *   (LocalAddressPool.setPortStride), so the reply comes back to the worker that made the
 *   connection;
 * - packets from a NAT real server's address and port (its replies): hash(the destination, i.e.
 *   the client: address XOR port) modulo N;
 * - everything else, packets to a virtual service first: hash(the source, the client: address
 *   XOR port) modulo N.
 * The hash (a multiplication by 2^32 / golden ratio, keeping bits 16..31) is needed because
 * address XOR port alone has the parity of the port, and Linux gives connect() even ports: with
 * two workers every connection of a Linux client would go to the first.
 * IPv6 uses the low 32 bits of the address. A persistent service keys on the client's address
 * under its netmask instead (no port), so one client's connections and its persistence template
 * stay with one worker; its NAT real servers' replies key on the destination address the same way.
 * Packets without ports (ICMP, ...) key on the source address; frames that are not IP (ARP) go to
 * the first socket.
 *
 * A fanout program sees the packet from its network header: the kernel has already pulled the
 * Ethernet header, so offsets here are IP-header offsets (the IP version is read from byte 0).
 * IPv6 extension headers are not walked (a packet whose first next header is not TCP, UDP or SCTP
 * keys on its source address). With PACKET_FANOUT_FLAG_DEFRAG the kernel reassembles IPv4
 * fragments before the program runs, so every fragment of a datagram goes where its first went.
 *
 * `positions[slot]` maps worker numbers to socket positions: positions follow joining order,
 * and when a member leaves, the kernel moves the last member into its place (fanout-members.ts
 * keeps that arrangement).
 */
import { ForwardMethod, PROTOCOL_NUMBER, type IpAddress, type RulesConfig } from '../control/config';
import { BpfAssembler, BpfError, MAX_INSTRUCTIONS } from '../io/bpf';

/** The most workers the program (and --workers) allows. */
export const MAX_FANOUT_WORKERS = 64;

export interface FanoutProgramOptions {
  /** N: the number of workers (slots). */
  workers: number;
  /** positions[slot]: the group position of worker `slot` (default: slot). */
  positions?: readonly number[];
}

const PORT_PROTOCOLS = [6, 17, 132] as const;
/** floor(2^32 / golden ratio): Fibonacci hashing. */
const HASH_MULTIPLIER = 0x9e3779b9;

/** Which 32-bit word of an address a key reads, and the bits it keeps. */
interface KeyWord {
  /** Word index within the address (IPv4: 0; IPv6: 0..3). */
  word: number;
  mask: number;
}

/** A match on a packet field set: protocol, one address, optionally one port. */
interface Match {
  af: 4 | 6;
  /** 0: TCP, UDP or SCTP alike (the enclosing block already checked). */
  proto: number;
  words: number[];
  /** 0: every port. */
  port: number;
  /** Where the key block jumps: its label. */
  key: string;
}

/** The program for this configuration (throws BpfError when it would exceed the kernel's limit). */
export function fanoutProgram(rules: RulesConfig, opts: FanoutProgramOptions): Uint8Array {
  const n = opts.workers;
  if (!Number.isInteger(n) || n < 1 || n > MAX_FANOUT_WORKERS) throw new BpfError(`${n} workers: 1 to ${MAX_FANOUT_WORKERS} are possible`);
  const positions = opts.positions ?? Array.from({ length: n }, (_, i) => i);
  if (positions.length !== n || positions.some((pos) => !Number.isInteger(pos) || pos < 0 || pos >= n)) {
    throw new BpfError(`fanout positions [${positions.join(', ')}] are not ${n} socket positions`);
  }
  const p = new ProgramBuilder();
  const laddrs = { 4: [] as Match[], 6: [] as Match[] };
  const natReplies = { 4: [] as Match[], 6: [] as Match[] };
  const persistent = { 4: [] as Match[], 6: [] as Match[] };
  const seen = new Set<string>();
  const once = (list: Match[], m: Match): void => {
    const id = `${m.af}/${m.proto}/${m.words.join('.')}/${m.port}/${m.key}`;
    if (seen.has(id)) return;
    seen.add(id);
    list.push(m);
  };
  for (const sc of rules.services) {
    const k = sc.key;
    const af = k.kind === 'addr' ? k.addr.af : k.af;
    const protos = k.kind === 'addr' ? [PROTOCOL_NUMBER[k.protocol]] : [0];
    const mask = sc.persistent ? keyWord(af, sc.netmask) : null;
    for (const la of sc.laddrs) once(laddrs[la.af], { af: la.af, proto: 0, words: words(la), port: 0, key: p.dportKey(la.af) });
    for (const d of sc.dests) {
      if (d.method !== ForwardMethod.Masq) continue;
      const key = mask === null ? p.addrPortKey(d.addr.af, 'dst') : p.maskedKey(d.addr.af, 'dst', mask);
      for (const proto of protos) once(natReplies[d.addr.af], { af: d.addr.af, proto, words: words(d.addr), port: d.port, key });
    }
    if (mask !== null && k.kind === 'addr') {
      once(persistent[af], { af, proto: protos[0], words: words(k.addr), port: k.port, key: p.maskedKey(af, 'src', mask) });
    }
  }

  const a = p.a;
  // Byte 0 of the network header: the IP version in its high nibble.
  a.ld('b', 0).alu('rsh', 4);
  a.jeq(4, 0, 1).ja('v4');
  a.jeq(6, 0, 1).ja('v6');
  a.ret(0);
  for (const af of [4, 6] as const) {
    a.label(`v${af}`);
    a.ld('b', af === 4 ? 9 : 6);
    for (const proto of PORT_PROTOCOLS) a.jeq(proto, 0, 1).ja(`v${af}ports`);
    a.ja(p.addrKey(af));
    a.label(`v${af}ports`);
    // First match wins: local addresses (FULLNAT replies), NAT replies, persistent services.
    for (const m of laddrs[af]) p.match(m, 'dst');
    for (const m of natReplies[af]) p.match(m, 'src');
    for (const m of persistent[af]) p.match(m, 'dst');
    a.ja(p.addrPortKey(af, 'src'));
  }
  p.emitKeys();
  a.label('slot');
  a.alu('mod', n);
  const identity = positions.every((pos, i) => pos === i);
  if (identity) {
    a.retA();
  } else {
    for (let s = 0; s < n; s++) a.jeq(s, 0, 1).ret(positions[s]);
    a.ret(positions[0]);
  }
  if (a.length > MAX_INSTRUCTIONS) {
    throw new BpfError(`the fanout program for this configuration takes ${a.length} instructions; the kernel takes at most ${MAX_INSTRUCTIONS}`);
  }
  return a.assemble();
}

/** The key word of a persistent service's netmask (IPv4: a mask; IPv6: a prefix length). */
export function keyWord(af: 4 | 6, netmask: number): KeyWord {
  if (af === 4) return { word: 0, mask: netmask >>> 0 };
  if (netmask <= 0) return { word: 3, mask: 0 };
  const word = Math.min(3, Math.ceil(netmask / 32) - 1);
  const bits = Math.min(32, netmask - 32 * word);
  return { word, mask: (0xffffffff << (32 - bits)) >>> 0 };
}

function words(addr: IpAddress): number[] {
  const b = addr.bytes;
  const out: number[] = [];
  for (let i = 0; i < b.length; i += 4) out.push(((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0);
  return out;
}

/** IP header field offsets of one family. */
function layout(af: 4 | 6): { proto: number; src: number; dst: number; words: number } {
  return af === 4 ? { proto: 9, src: 12, dst: 16, words: 1 } : { proto: 6, src: 8, dst: 24, words: 4 };
}

/** Emits matches and, once each, the key blocks they jump to (each ends in `ja slot`). */
class ProgramBuilder {
  readonly a = new BpfAssembler();
  private readonly keys = new Map<string, { body: () => void; then: 'hash' | 'slot' }>();
  private matches = 0;

  /** Jumps to m.key when the packet's `side` address (and port, protocol) match; falls through otherwise. */
  match(m: Match, side: 'src' | 'dst'): void {
    const a = this.a;
    const next = `m${this.matches++}`;
    const l = layout(m.af);
    if (m.proto !== 0) a.ld('b', l.proto).jeq(m.proto, 0, next);
    const at = side === 'src' ? l.src : l.dst;
    m.words.forEach((w, i) => a.ld('w', at + 4 * i).jeq(w, 0, next));
    if (m.port !== 0) {
      this.loadPort(m.af, side);
      a.jeq(m.port, 0, next);
    }
    a.ja(m.key);
    a.label(next);
  }

  /** Key: the `side` address's low 32 bits XOR its port. */
  addrPortKey(af: 4 | 6, side: 'src' | 'dst'): string {
    return this.key(`${side}${af}`, () => {
      const l = layout(af);
      this.loadPort(af, side);
      this.a.tax().ld('w', (side === 'src' ? l.src : l.dst) + 4 * (l.words - 1)).aluX('xor');
    });
  }

  /** Key: the destination port (replies to a FULLNAT local address). */
  dportKey(af: 4 | 6): string {
    return this.key(`dport${af}`, () => this.loadPort(af, 'dst'), 'slot');
  }

  /** Key: the source address's low 32 bits (packets without ports). */
  addrKey(af: 4 | 6): string {
    return this.key(`addr${af}`, () => {
      const l = layout(af);
      this.a.ld('w', l.src + 4 * (l.words - 1));
    });
  }

  /** Key: one word of the `side` address under a persistence mask. */
  maskedKey(af: 4 | 6, side: 'src' | 'dst', k: KeyWord): string {
    return this.key(`${side}${af}w${k.word}m${k.mask}`, () => {
      const l = layout(af);
      this.a.ld('w', (side === 'src' ? l.src : l.dst) + 4 * k.word).alu('and', k.mask);
    });
  }

  /** The key blocks, then `hash:` (falls into `slot:`, which the caller emits next). */
  emitKeys(): void {
    for (const [label, { body, then }] of this.keys) {
      this.a.label(label);
      body();
      this.a.ja(then);
    }
    this.a.label('hash').alu('mul', HASH_MULTIPLIER).alu('rsh', 16);
  }

  /** A = the source (or destination) port of a TCP/UDP/SCTP header after the IP header. */
  private loadPort(af: 4 | 6, side: 'src' | 'dst'): void {
    const off = side === 'src' ? 0 : 2;
    if (af === 4) this.a.ldxMsh(0).ldInd('h', off);
    else this.a.ld('h', 40 + off);
  }

  /** Registers a key block: A = the key, then on to `then` (hash it, or take it modulo N as it is). */
  private key(label: string, body: () => void, then: 'hash' | 'slot' = 'hash'): string {
    if (!this.keys.has(label)) this.keys.set(label, { body, then });
    return label;
  }
}
