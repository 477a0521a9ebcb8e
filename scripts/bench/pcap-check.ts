/**
 * Checks a benchmark output capture independently of the program that wrote it: packet count,
 * where each frame goes (MACs, destination address and port, TTL), that the IPv4 and TCP
 * checksums are right, and that every flow went to one destination only. Runs after a timed run,
 * never inside one.
 */
import * as fs from 'node:fs';
import { finish, fold, sumWords } from '../../src/wire/checksum';
import { ipv4Number, macBytes } from './bench-setup';

/** One place a frame may go. A null MAC means "not checked". */
export interface Destination {
  label: string;
  mac: string | null;
  ip: string;
  port: number;
}

export interface OutputExpectation {
  /** Source MAC every frame must carry, or null to skip the check. */
  srcMac: string | null;
  destinations: readonly Destination[];
  ttl: number;
}

export interface CaptureCheck {
  packets: number;
  /** Frames per destination, in the order of OutputExpectation.destinations. */
  packetsPer: number[];
  /** Flows (client address and port) per destination. */
  flowsPer: number[];
  /** Human-readable problems, each with a count and the first example; empty when all is well. */
  problems: string[];
}

const PCAP_GLOBAL_HEADER_LEN = 24;
const PCAP_RECORD_HEADER_LEN = 16;

function macAt(buf: Buffer, off: number): number {
  // 48 bits fit a JS number exactly.
  return buf.readUIntBE(off, 6);
}

function macNumber(text: string): number {
  return Buffer.from(macBytes(text)).readUIntBE(0, 6);
}

/** Counts the records of a classic little-endian pcap file (headers only). */
export function countPcapPackets(file: string): number {
  return checkCapture(file, null).packets;
}

/** Walks the whole file; with an expectation, checks every frame against it. */
export function checkCapture(file: string, expect: OutputExpectation | null): CaptureCheck {
  const buf = fs.readFileSync(file);
  const problems = new Map<string, { count: number; example: string }>();
  const problem = (kind: string, example: string): void => {
    const p = problems.get(kind);
    if (p) p.count++;
    else problems.set(kind, { count: 1, example });
  };
  const result: CaptureCheck = {
    packets: 0,
    packetsPer: expect ? expect.destinations.map(() => 0) : [],
    flowsPer: expect ? expect.destinations.map(() => 0) : [],
    problems: [],
  };
  if (buf.length < PCAP_GLOBAL_HEADER_LEN || buf.readUInt32LE(0) !== 0xa1b2c3d4) {
    result.problems.push(`${file}: not a little-endian microsecond pcap file`);
    return result;
  }
  const srcMac = expect?.srcMac ? macNumber(expect.srcMac) : -1;
  const dests = expect
    ? expect.destinations.map((d) => ({ mac: d.mac ? macNumber(d.mac) : -1, ip: ipv4Number(d.ip), port: d.port }))
    : [];
  const flowDest = new Map<number, number>();

  let off = PCAP_GLOBAL_HEADER_LEN;
  while (off + PCAP_RECORD_HEADER_LEN <= buf.length) {
    const capLen = buf.readUInt32LE(off + 8);
    const frame = off + PCAP_RECORD_HEADER_LEN;
    if (frame + capLen > buf.length) {
      problem('truncated last record', `at byte ${off}`);
      break;
    }
    const n = result.packets++;
    off = frame + capLen;
    if (!expect) continue;

    if (capLen < 54 || buf.readUInt16BE(frame + 12) !== 0x0800 || buf[frame + 23] !== 6) {
      problem('not an IPv4 TCP frame', `packet ${n + 1}`);
      continue;
    }
    const ip = frame + 14;
    const ihl = (buf[ip] & 0x0f) * 4;
    const ipTotal = buf.readUInt16BE(ip + 2);
    const tcp = ip + ihl;
    if (ip + ipTotal > frame + capLen || ipTotal < ihl + 20) {
      problem('IP total length does not fit the frame', `packet ${n + 1}`);
      continue;
    }
    if (srcMac >= 0 && macAt(buf, frame + 6) !== srcMac) problem('wrong source MAC', `packet ${n + 1}`);
    if (buf[ip + 8] !== expect.ttl) problem(`TTL not ${expect.ttl}`, `packet ${n + 1}: ${buf[ip + 8]}`);
    if (fold(sumWords(buf, ip, ihl, 0)) !== 0xffff) problem('bad IPv4 header checksum', `packet ${n + 1}`);
    const tcpLen = ipTotal - ihl;
    const tcpSum = sumWords(buf, tcp, tcpLen, sumWords(buf, ip + 12, 8, 0) + 6 + tcpLen);
    if (finish(tcpSum) !== 0) problem('bad TCP checksum', `packet ${n + 1}`);

    const dmac = macAt(buf, frame);
    const dip = buf.readUInt32BE(ip + 16);
    const dport = buf.readUInt16BE(tcp + 2);
    let d = 0;
    while (d < dests.length && !((dests[d].mac < 0 || dests[d].mac === dmac) && dests[d].ip === dip && dests[d].port === dport)) d++;
    if (d === dests.length) {
      problem('frame goes to no expected destination', `packet ${n + 1}`);
      continue;
    }
    result.packetsPer[d]++;
    const flow = buf.readUInt32BE(ip + 12) * 65536 + buf.readUInt16BE(tcp);
    const seen = flowDest.get(flow);
    if (seen === undefined) {
      flowDest.set(flow, d);
      result.flowsPer[d]++;
    } else if (seen !== d) {
      problem('flow split across destinations', `packet ${n + 1}`);
    }
  }
  if (off !== buf.length && !problems.has('truncated last record')) problem('trailing bytes after the last record', `at byte ${off}`);
  for (const [kind, { count, example }] of problems) result.problems.push(`${kind}: ${count} (first: ${example})`);
  return result;
}
