/**
 * Captures for the director's replay tests (test/control-metrics, test/director-e2e): TCP flows
 * to one VIP written with the project's PcapWriter, and the kernel's rate estimator worked out
 * from such a capture by the formulas of ipvs-facts.md section 7 (independently of src/).
 */
import { PcapWriter } from '../src/pcap/pcap-writer';
import { ACK, FIN_ACK, SYN, frame } from './support/frames';

export const T0_SEC = 1_700_000_000;
export const FLOW_VIP = '192.0.2.10';
/** Frames per flow: SYN, ACK with data, FIN|ACK. */
export const FRAMES_PER_FLOW = 3;

export interface CapturedFrame {
  bytes: Uint8Array;
  sec: number;
  nsec: number;
  /** Opens a flow (the engine makes one connection per SYN here). */
  syn: boolean;
  /** IP total length (what IPVS counts as bytes). */
  ipBytes: number;
}

/** One flow per start time (seconds after T0_SEC) from a distinct client port, to FLOW_VIP:80, in time order. */
export function flows(starts: readonly number[]): CapturedFrame[] {
  const frames: (CapturedFrame & { t: number })[] = [];
  starts.forEach((t, i) => {
    const src = `198.51.100.${1 + (i % 200)}`;
    const sport = 20000 + (i % 40000);
    const add = (dt: number, flags: number, payload: number): void => {
      const at = t + dt;
      const sec = Math.floor(at);
      const bytes = frame({ src, dst: FLOW_VIP, sport, dport: 80, flags, payload, seq: 1001, ack: 1 });
      frames.push({ t: at, bytes, sec: T0_SEC + sec, nsec: Math.min(999_999_999, Math.round((at - sec) * 1e9)), syn: flags === SYN, ipBytes: bytes.length - 14 });
    };
    add(0, SYN, 0);
    add(0.0015, ACK, 100 + (i % 50));
    add(0.0205, FIN_ACK, 0);
  });
  frames.sort((a, b) => a.t - b.t);
  return frames;
}

export function writeCapture(file: string, frames: readonly CapturedFrame[], linkType = 1): void {
  const w = new PcapWriter(file, linkType, { nanosecond: true });
  for (const f of frames) w.writePacket(0, f.bytes, 0, f.bytes.length, f.sec, f.nsec);
  w.close();
}

/**
 * What ipvsadm --rate shows for a service that got every frame of the capture, once the capture
 * has been replayed on its own clock: a sample every 2 s of engine time (ms since the first
 * frame's whole second) up to the last frame, each seeing the frames before its boundary;
 * avg += (delta << 9 - avg) >> 2 (bytes: << 4), shown as (avg + 0x1FF) >> 10 (bytes: (avg + 0xF) >> 5).
 */
export function kernelRates(frames: readonly CapturedFrame[]): { cps: number; inpps: number; inbps: number } {
  const first = frames[0].sec;
  const ms = (f: CapturedFrame): number => (f.sec - first) * 1000 + Math.floor(f.nsec / 1e6);
  const last = ms(frames[frames.length - 1]);
  let [conns, pkts, bytes] = [0, 0, 0];
  for (let boundary = 2000; boundary <= last; boundary += 2000) {
    const inside = frames.filter((f) => ms(f) >= boundary - 2000 && ms(f) < boundary);
    const dConns = inside.filter((f) => f.syn).length;
    const dBytes = inside.reduce((s, f) => s + f.ipBytes, 0);
    conns += Math.floor((dConns * 512 - conns) / 4);
    pkts += Math.floor((inside.length * 512 - pkts) / 4);
    bytes += Math.floor((dBytes * 16 - bytes) / 4);
  }
  return { cps: Math.floor((conns + 0x1ff) / 1024), inpps: Math.floor((pkts + 0x1ff) / 1024), inbps: Math.floor((bytes + 0xf) / 32) };
}

