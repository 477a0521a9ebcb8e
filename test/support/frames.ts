/**
 * Builds test frames (Ethernet + IPv4/IPv6 + TCP/UDP) with correct checksums, and runs them through
 * an engine built from rules/director text: a small harness for engine-level tests.
 */
import { loadDirector } from '../../src/control/director-file';
import { parseIp } from '../../src/control/ip-address';
import { loadRules } from '../../src/control/rules-file';
import { buildEngine, type BuiltEngine } from '../../src/ipvs/engine-builder';
import { OutputBatch } from '../../src/ipvs/frame-batch';
import { summarize, type EngineSummary } from '../../src/ipvs/summary';
import { schedulerNames } from '../../src/sched/registry';
import { setIpv4HeaderChecksum, transportChecksum, writeU16 } from '../../src/wire/checksum';

export const CLIENT_MAC = Uint8Array.of(2, 0, 0, 0, 0xc, 1);
export const DIRECTOR_MAC = Uint8Array.of(2, 0, 0, 0, 0, 1);

export interface FrameSpec {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  proto?: 'tcp' | 'udp';
  /** TCP flags byte (default SYN). */
  flags?: number;
  seq?: number;
  ack?: number;
  ttl?: number;
  payload?: number;
}

export function frame(spec: FrameSpec): Uint8Array {
  const src = parseIp(spec.src);
  const dst = parseIp(spec.dst);
  const v6 = src.af === 6;
  const tcp = (spec.proto ?? 'tcp') === 'tcp';
  const l4Len = (tcp ? 20 : 8) + (spec.payload ?? 0);
  const ipLen = (v6 ? 40 : 20) + l4Len;
  const f = new Uint8Array(14 + ipLen);
  f.set(DIRECTOR_MAC, 0);
  f.set(CLIENT_MAC, 6);
  writeU16(f, 12, v6 ? 0x86dd : 0x0800);
  const l3 = 14;
  let srcOff: number;
  let dstOff: number;
  if (v6) {
    f[l3] = 0x60;
    writeU16(f, l3 + 4, l4Len);
    f[l3 + 6] = tcp ? 6 : 17;
    f[l3 + 7] = spec.ttl ?? 64;
    f.set(src.bytes, l3 + 8);
    f.set(dst.bytes, l3 + 24);
    srcOff = l3 + 8;
    dstOff = l3 + 24;
  } else {
    f[l3] = 0x45;
    writeU16(f, l3 + 2, ipLen);
    writeU16(f, l3 + 6, 0x4000);
    f[l3 + 8] = spec.ttl ?? 64;
    f[l3 + 9] = tcp ? 6 : 17;
    f.set(src.bytes, l3 + 12);
    f.set(dst.bytes, l3 + 16);
    setIpv4HeaderChecksum(f, l3);
    srcOff = l3 + 12;
    dstOff = l3 + 16;
  }
  const l4 = l3 + (v6 ? 40 : 20);
  writeU16(f, l4, spec.sport);
  writeU16(f, l4 + 2, spec.dport);
  for (let i = 0; i < (spec.payload ?? 0); i++) f[l4 + (tcp ? 20 : 8) + i] = (i * 7 + 3) & 0xff;
  if (tcp) {
    const seq = spec.seq ?? 1000;
    const ack = spec.ack ?? 0;
    for (let i = 0; i < 4; i++) {
      f[l4 + 4 + i] = (seq >>> (24 - 8 * i)) & 0xff;
      f[l4 + 8 + i] = (ack >>> (24 - 8 * i)) & 0xff;
    }
    f[l4 + 12] = 0x50;
    f[l4 + 13] = spec.flags ?? 0x02;
    writeU16(f, l4 + 14, 65535);
    writeU16(f, l4 + 16, transportChecksum(f, srcOff, dstOff, v6 ? 16 : 4, 6, l4, l4Len, 16));
  } else {
    writeU16(f, l4 + 4, l4Len);
    const c = transportChecksum(f, srcOff, dstOff, v6 ? 16 : 4, 17, l4, l4Len, 6);
    writeU16(f, l4 + 6, c === 0 ? 0xffff : c);
  }
  return f;
}

export const SYN = 0x02;
export const ACK = 0x10;
export const FIN_ACK = 0x11;
export const RST = 0x04;
export const SYN_ACK = 0x12;

/** An engine from rules and director text, fed one frame at a time on a clock in seconds. */
export class EngineHarness {
  readonly built: BuiltEngine;
  private readonly out = new OutputBatch();

  constructor(rules: string, director: string) {
    this.built = buildEngine(loadRules(rules, 'rules', { schedulers: schedulerNames() }), loadDirector(director, 'director'));
  }

  /** Sends a frame at `seconds`; returns the transmitted frame (a copy) or null. */
  send(f: Uint8Array, seconds: number): Uint8Array | null {
    this.out.reset();
    const sec = Math.floor(seconds);
    const sent = this.built.engine.processFrameAt(f, 0, f.length, 1_700_000_000 + sec, Math.round((seconds - sec) * 1e9), this.out, 0);
    if (!sent) return null;
    return this.out.frameBuf[0].slice(this.out.off[0], this.out.off[0] + this.out.len[0]);
  }

  /** The real server a transmitted DR/NAT frame went to: its destination MAC's last byte, as "rsNN". */
  summary(): EngineSummary {
    return summarize(this.built);
  }
}

/** Destination IPv4 address of an output frame (DR keeps the VIP; NAT/FULLNAT show the real server). */
export function ipv4Dst(f: Uint8Array): string {
  return `${f[30]}.${f[31]}.${f[32]}.${f[33]}`;
}

/** Destination MAC of a frame, lower-case hex with colons. */
export function dstMac(f: Uint8Array): string {
  return Array.from(f.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join(':');
}
