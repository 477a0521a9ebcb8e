/**
 * Classic BPF (the socket filter language of SO_ATTACH_FILTER and PACKET_FANOUT_CBPF): a small
 * assembler with labels, and directorFilter(), the program that lets only a director's frames
 * into its packet sockets: traffic for its virtual services (and, when asked, ARP and IPv6
 * neighbour discovery), so the ring is not filled with what the director would drop anyway.
 *
 * Encoding: struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; } in host byte order, 8 bytes.
 * Loads from the packet (ld/ldh/ldb) read network byte order, so k constants are written as the
 * numbers they are on the wire (0x0800, an address as a 32-bit number...).
 */
import { endianness } from 'node:os';

// Instruction classes, sizes, modes, operations (linux/bpf_common.h).
const LD = 0x00;
const LDX = 0x01;
const ALU = 0x04;
const JMP = 0x05;
const RET = 0x06;
const MISC = 0x07;
const SIZE = { w: 0x00, h: 0x08, b: 0x10 } as const;
const IMM = 0x00;
const ABS = 0x20;
const IND = 0x40;
const MSH = 0xa0;
const K = 0x00;
const X = 0x08;
const A = 0x10;
const JA = 0x00;
const JEQ = 0x10;
const JGT = 0x20;
const JGE = 0x30;
const JSET = 0x40;
const ALU_OPS = { add: 0x00, sub: 0x10, mul: 0x20, div: 0x30, or: 0x40, and: 0x50, lsh: 0x60, rsh: 0x70, mod: 0x90, xor: 0xa0 } as const;
const NEG = 0x80;
const TAX = 0x00;
const TXA = 0x80;

/** The packet socket keeps at most this many bytes of an accepted frame: all of any real frame. */
export const ACCEPT = 0x40000;
/** The most instructions the kernel takes (BPF_MAXINSNS). */
export const MAX_INSTRUCTIONS = 4096;

export type LoadSize = keyof typeof SIZE;
export type AluOp = keyof typeof ALU_OPS;
/** A jump target: a label, or how many instructions to skip (0 = the next one). */
export type Target = string | number;

interface Instruction {
  code: number;
  jt: Target;
  jf: Target;
  k: number;
}

export class BpfError extends Error {}

/** Builds a program instruction by instruction; assemble() resolves labels and encodes it. */
export class BpfAssembler {
  private readonly code: Instruction[] = [];
  private readonly labels = new Map<string, number>();

  get length(): number {
    return this.code.length;
  }

  /** Names the position of the next instruction. */
  label(name: string): this {
    if (this.labels.has(name)) throw new BpfError(`label '${name}' is defined twice`);
    this.labels.set(name, this.code.length);
    return this;
  }

  /** A = packet[k] (w: 32 bits, h: 16, b: 8; network order). */
  ld(size: LoadSize, k: number): this {
    return this.emit(LD | SIZE[size] | ABS, k);
  }

  /** A = packet[X + k]. */
  ldInd(size: LoadSize, k: number): this {
    return this.emit(LD | SIZE[size] | IND, k);
  }

  /** A = k. */
  ldImm(k: number): this {
    return this.emit(LD | IMM, k);
  }

  /** X = k. */
  ldxImm(k: number): this {
    return this.emit(LDX | IMM, k);
  }

  /** X = 4 * (packet[k] & 0xf): the IPv4 header length when k is the header's first byte. */
  ldxMsh(k: number): this {
    return this.emit(LDX | SIZE.b | MSH, k);
  }

  /** A = A op k. */
  alu(op: AluOp, k: number): this {
    return this.emit(ALU | ALU_OPS[op] | K, k);
  }

  /** A = A op X. */
  aluX(op: AluOp): this {
    return this.emit(ALU | ALU_OPS[op] | X, 0);
  }

  neg(): this {
    return this.emit(ALU | NEG, 0);
  }

  tax(): this {
    return this.emit(MISC | TAX, 0);
  }

  txa(): this {
    return this.emit(MISC | TXA, 0);
  }

  /** Jumps to jt when A == k, else to jf. */
  jeq(k: number, jt: Target, jf: Target = 0): this {
    return this.jump(JEQ, k, jt, jf);
  }

  jgt(k: number, jt: Target, jf: Target = 0): this {
    return this.jump(JGT, k, jt, jf);
  }

  jge(k: number, jt: Target, jf: Target = 0): this {
    return this.jump(JGE, k, jt, jf);
  }

  /** Jumps to jt when A & k is not 0. */
  jset(k: number, jt: Target, jf: Target = 0): this {
    return this.jump(JSET, k, jt, jf);
  }

  /** Always jumps (any distance: its offset is 32 bits). */
  ja(target: Target): this {
    // The target rides in jt until assemble() turns it into k.
    this.code.push({ code: JMP | JA, jt: target, jf: 0, k: 0 });
    return this;
  }

  /** Ends the program: keep k bytes of the frame (0 drops it). */
  ret(k: number): this {
    return this.emit(RET | K, k);
  }

  /** Ends the program: keep A bytes. */
  retA(): this {
    return this.emit(RET | A, 0);
  }

  /** The program as sock_filter entries (8 bytes each, host byte order). */
  assemble(): Uint8Array {
    const n = this.code.length;
    if (n === 0) throw new BpfError('an empty BPF program');
    if (n > MAX_INSTRUCTIONS) throw new BpfError(`${n} instructions: the kernel takes at most ${MAX_INSTRUCTIONS}`);
    const last = this.code[n - 1].code & 0x07;
    if (last !== RET && !(last === JMP && (this.code[n - 1].code & 0xf0) === JA)) {
      throw new BpfError('the program must end with ret (or a jump)');
    }
    const out = new Uint8Array(n * 8);
    const view = new DataView(out.buffer);
    const le = endianness() === 'LE';
    for (let i = 0; i < n; i++) {
      const ins = this.code[i];
      let jt = 0;
      let jf = 0;
      let k = ins.k;
      if ((ins.code & 0x07) === JMP) {
        if ((ins.code & 0xf0) === JA) {
          k = this.offset(i, ins.jt, 0xffffffff);
        } else {
          jt = this.offset(i, ins.jt, 0xff);
          jf = this.offset(i, ins.jf, 0xff);
        }
      }
      view.setUint16(i * 8, ins.code, le);
      view.setUint8(i * 8 + 2, jt);
      view.setUint8(i * 8 + 3, jf);
      view.setUint32(i * 8 + 4, k >>> 0, le);
    }
    return out;
  }

  private emit(code: number, k: number): this {
    if (!Number.isInteger(k) || k < -0x80000000 || k > 0xffffffff) throw new BpfError(`constant ${k} is not a 32-bit number`);
    this.code.push({ code, jt: 0, jf: 0, k: k >>> 0 });
    return this;
  }

  private jump(op: number, k: number, jt: Target, jf: Target): this {
    this.emit(JMP | op | K, k);
    const ins = this.code[this.code.length - 1];
    ins.jt = jt;
    ins.jf = jf;
    return this;
  }

  /** Instructions to skip from the one after `from` to reach target; checked against max. */
  private offset(from: number, target: Target, max: number): number {
    let skip: number;
    if (typeof target === 'number') {
      skip = target;
    } else {
      const at = this.labels.get(target);
      if (at === undefined) throw new BpfError(`jump to undefined label '${target}'`);
      skip = at - from - 1;
    }
    if (!Number.isInteger(skip) || skip < 0) throw new BpfError(`instruction ${from}: classic BPF only jumps forward`);
    if (skip > max) throw new BpfError(`instruction ${from}: jump of ${skip} is longer than ${max} (use ja)`);
    if (from + 1 + skip >= this.code.length) throw new BpfError(`instruction ${from}: jump past the end of the program`);
    return skip;
  }
}

// ---------------------------------------------------------------------------------------------
// The director's filter

export interface FilterRule {
  af: 4 | 6;
  /** 0: every protocol to/from the address. */
  proto: 'tcp' | 'udp' | 'sctp' | 0;
  /** 4 or 16 bytes. */
  addr: Uint8Array | readonly number[];
  /** 0: every port (for tcp/udp/sctp). */
  port: number;
  /** Which address and port of the packet must match: 'dst' for a virtual service, 'src' for replies from it. */
  side: 'dst' | 'src';
}

export interface DirectorFilterOptions {
  /** Also accept ARP (EtherType 0x0806), e.g. to answer for the VIP or learn neighbours. */
  arp?: boolean;
  /** Also accept IPv6 neighbour solicitations and advertisements (ICMPv6 135, 136). */
  neighbourDiscovery?: boolean;
  /** Also accept ICMP / ICMPv6 to or from each rule's address (errors about its connections). */
  icmp?: boolean;
  /**
   * Also match frames with one 802.1Q/802.1ad tag still in them (default false: the kernel strips
   * the outer tag before packet sockets see a frame; this only matters for a second tag). It
   * doubles the program's length.
   */
  vlan?: boolean;
}

const PROTO_NUMBER = { tcp: 6, udp: 17, sctp: 132 } as const;
const ICMP = 1;
const ICMPV6 = 58;
const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;
const ETH_P_ARP = 0x0806;
const ETH_P_8021Q = 0x8100;
const ETH_P_8021AD = 0x88a8;

interface MatchRule {
  af: 4 | 6;
  proto: number;
  words: number[];
  port: number;
  side: 'dst' | 'src';
}

/**
 * A program accepting IPv4/IPv6 frames that match any rule (plus ARP, neighbour discovery and
 * ICMP when asked), and dropping everything else. Size: about 11 instructions per rule with a port,
 * 4 without. The kernel charges a filter to the socket's option memory (net.core.optmem_max, 128
 * KiB by default, about 1,400 instructions here, so some 120 port rules); beyond that attaching
 * fails with ENOMEM: raise optmem_max in the director's namespace, or filter on addresses only
 * (proto 0) and leave ports to the engine. IPv4 fragments after the first carry no ports:
 * they are accepted when protocol and address match. IPv6 extension headers are not walked: a
 * rule with a protocol matches only when it is the first next header.
 */
export function directorFilter(rules: readonly FilterRule[], options: DirectorFilterOptions = {}): Uint8Array {
  const v4: MatchRule[] = [];
  const v6: MatchRule[] = [];
  for (const rule of rules) {
    const m = matchRule(rule);
    (m.af === 4 ? v4 : v6).push(m);
  }
  if (options.icmp === true) {
    for (const list of [v4, v6]) {
      const seen = new Set<string>();
      for (const m of list.slice()) {
        const key = `${m.side} ${m.words.join('.')}`;
        if (seen.has(key)) continue;
        seen.add(key);
        list.push({ af: m.af, proto: m.af === 4 ? ICMP : ICMPV6, words: m.words, port: 0, side: m.side });
      }
    }
  }
  const arp = options.arp === true;
  const nd = options.neighbourDiscovery === true;
  const vlan = options.vlan ?? false;
  const wantV4 = v4.length > 0;
  const wantV6 = v6.length > 0 || nd;

  const a = new BpfAssembler();
  // Each EtherType test falls into a `ja` on a match: ja reaches any distance, jt/jf only 255.
  const dispatch = (typeOffset: number, base: number): void => {
    a.ld('h', typeOffset);
    if (wantV4) a.jeq(ETH_P_IP, 0, 1).ja(`v4@${base}`);
    if (wantV6) a.jeq(ETH_P_IPV6, 0, 1).ja(`v6@${base}`);
    if (arp) a.jeq(ETH_P_ARP, 0, 1).ret(ACCEPT);
  };
  dispatch(12, 14);
  if (vlan) {
    a.jeq(ETH_P_8021Q, 1, 0).jeq(ETH_P_8021AD, 0, 1).ja('tagged');
  }
  a.ret(0);
  if (vlan) {
    a.label('tagged');
    dispatch(16, 18);
    a.ret(0);
  }
  for (const base of vlan ? [14, 18] : [14]) {
    if (wantV4) {
      a.label(`v4@${base}`);
      v4.forEach((m, i) => ipv4Rule(a, m, base, `v4@${base}#${i}`));
      a.ret(0);
    }
    if (wantV6) {
      a.label(`v6@${base}`);
      if (nd) neighbourDiscovery(a, base);
      v6.forEach((m, i) => ipv6Rule(a, m, base, `v6@${base}#${i}`));
      a.ret(0);
    }
  }
  if (a.length > MAX_INSTRUCTIONS) {
    throw new BpfError(
      `${rules.length} filter rules take ${a.length} instructions; the kernel takes at most ${MAX_INSTRUCTIONS} ` +
        `(about 11 per rule with a port${vlan ? ', twice that with vlan' : ''})`,
    );
  }
  return a.assemble();
}

function matchRule(rule: FilterRule): MatchRule {
  const bytes = Array.from(rule.addr);
  const want = rule.af === 4 ? 4 : 16;
  if (rule.af !== 4 && rule.af !== 6) throw new BpfError(`rule address family ${String(rule.af)} is not 4 or 6`);
  if (bytes.length !== want || bytes.some((b) => !Number.isInteger(b) || b < 0 || b > 255)) {
    throw new BpfError(`an IPv${rule.af} rule needs ${want} address bytes (got ${bytes.length})`);
  }
  const proto = rule.proto === 0 ? 0 : PROTO_NUMBER[rule.proto];
  if (proto === undefined) throw new BpfError(`unknown protocol '${String(rule.proto)}'`);
  if (!Number.isInteger(rule.port) || rule.port < 0 || rule.port > 0xffff) throw new BpfError(`port ${rule.port} is not 0 to 65535`);
  if (proto === 0 && rule.port !== 0) throw new BpfError('a rule with a port needs a protocol (tcp, udp or sctp)');
  if (rule.side !== 'dst' && rule.side !== 'src') throw new BpfError(`rule side '${String(rule.side)}' is not dst or src`);
  const words: number[] = [];
  for (let i = 0; i < want; i += 4) {
    words.push(((bytes[i] << 24) | (bytes[i + 1] << 16) | (bytes[i + 2] << 8) | bytes[i + 3]) >>> 0);
  }
  return { af: rule.af, proto, words, port: rule.port, side: rule.side };
}

/** One IPv4 rule at network header offset `base`: falls through to the next rule on a mismatch. */
function ipv4Rule(a: BpfAssembler, m: MatchRule, base: number, next: string): void {
  if (m.proto !== 0) a.ld('b', base + 9).jeq(m.proto, 0, next);
  a.ld('w', base + (m.side === 'dst' ? 16 : 12)).jeq(m.words[0], 0, next);
  if (m.port !== 0) {
    // A fragment after the first has no transport header: accept it on protocol and address.
    a.ld('h', base + 6).jset(0x1fff, 0, 1).ret(ACCEPT);
    a.ldxMsh(base).ldInd('h', base + (m.side === 'dst' ? 2 : 0)).jeq(m.port, 0, next);
  }
  a.ret(ACCEPT);
  a.label(next);
}

/** One IPv6 rule at network header offset `base` (no extension headers walked). */
function ipv6Rule(a: BpfAssembler, m: MatchRule, base: number, next: string): void {
  if (m.proto !== 0) a.ld('b', base + 6).jeq(m.proto, 0, next);
  const addr = base + (m.side === 'dst' ? 24 : 8);
  for (let i = 0; i < 4; i++) a.ld('w', addr + 4 * i).jeq(m.words[i], 0, next);
  if (m.port !== 0) a.ld('h', base + 40 + (m.side === 'dst' ? 2 : 0)).jeq(m.port, 0, next);
  a.ret(ACCEPT);
  a.label(next);
}

/** ICMPv6 neighbour solicitation (135) and advertisement (136). */
function neighbourDiscovery(a: BpfAssembler, base: number): void {
  const next = `nd@${base}`;
  a.ld('b', base + 6).jeq(ICMPV6, 0, next);
  a.ld('b', base + 40).jeq(135, 1, 0).jeq(136, 0, next).ret(ACCEPT);
  a.label(next);
}
