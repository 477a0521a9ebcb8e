/**
 * Generates the replay benchmark's input, deterministically: a classic pcap (little-endian,
 * microsecond timestamps, Ethernet) of 1,000,000 TCP packets over 200,000 flows to one VIP, plus
 * the DR and NAT rules files and the director file. The files are cached under .bench/ and
 * reused while BENCH_FILES_VERSION and the manifest agree with what is on disk.
 *
 * Every flow starts with a SYN; its other packets are ACKs or small PSH+ACK data segments, spread
 * over a few seconds so that thousands of flows are live at once. Each flow has its own client
 * address and port (unique 4-tuples), so every non-SYN packet belongs to a connection the engine
 * has seen start, and no packet should be dropped.
 *
 * Run alone: node dist/scripts/bench/gen-capture.js [--force]
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { finish, sumWords } from '../../src/wire/checksum';
import {
  BENCH_DIR,
  BENCH_FILES_VERSION,
  BENCH_PATHS,
  CAPTURE_SHAPE,
  CLIENT_NETS,
  DIRECTOR_ADDR,
  DIRECTOR_MAC,
  GATEWAY,
  NAT_RS_PORT,
  REAL_SERVERS,
  UPSTREAM_ROUTER_MAC,
  VIP,
  VIP_PORT,
  ipv4Bytes,
  macBytes,
} from './bench-setup';
import { Prng } from './prng';

export interface BenchManifest {
  version: string;
  /** Digest of the generator's own code: a changed generator regenerates even if the version was not bumped. */
  generatorDigest: string;
  packets: number;
  flows: number;
  captureBytes: number;
  /** Wall time of the generation that produced these files. */
  generationSeconds: number;
}

export interface EnsureResult {
  manifest: BenchManifest;
  /** True when the files were generated now, false when the cached ones were reused. */
  generated: boolean;
}

const PCAP_GLOBAL_HEADER_LEN = 24;
const PCAP_RECORD_HEADER_LEN = 16;
const ETH_LEN = 14;
const IP_LEN = 20;
const SYN_TCP_LEN = 40; // 20 + MSS, SACK-permitted, timestamps, NOP, window scale
const ACK_TCP_LEN = 32; // 20 + NOP, NOP, timestamps
const MAX_PAYLOAD = 34; // 14 + 20 + 32 + 34 = 100-byte frames at most
const MAX_FRAME_LEN = ETH_LEN + IP_LEN + ACK_TCP_LEN + MAX_PAYLOAD;

const TCP_SYN = 0x02;
const TCP_PSH = 0x08;
const TCP_ACK = 0x10;

/** Mean and cap of the gap between two packets of a flow after the handshake, in microseconds. */
const GAP_MEAN_US = 600_000;
const GAP_CAP_US = 2_500_000;
/** The last packet of any flow stays before this capture time. */
const CAPTURE_END_US = 59_990_000;
/** Packet index bits in the sort key (timestamp * 2^20 + index): 2^20 > 1,000,000 packets. */
const INDEX_BITS_SCALE = 1 << 20;

const PAYLOAD_TEXT = Buffer.from('GET /index.html HTTP/1.1\r\nHost: vip\r\n\r\n', 'latin1');

/** The flows: endpoints, initial sequence numbers and packet counts, in typed arrays. */
interface Flows {
  clientIp: Uint32Array;
  clientPort: Uint16Array;
  isn: Uint32Array;
  serverIsn: Uint32Array;
  ipId: Uint16Array;
  tsval: Uint32Array;
  tsecr: Uint32Array;
  packetCount: Uint8Array;
}

function makeFlows(rng: Prng, flowCount: number, packetCount: number): Flows {
  const hostsPerNet = 254;
  const hostCount = CLIENT_NETS.length * hostsPerNet;
  const netBase = CLIENT_NETS.map((n) => {
    const b = ipv4Bytes(`${n}.0`);
    return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8)) >>> 0;
  });
  const flows: Flows = {
    clientIp: new Uint32Array(flowCount),
    clientPort: new Uint16Array(flowCount),
    isn: new Uint32Array(flowCount),
    serverIsn: new Uint32Array(flowCount),
    ipId: new Uint16Array(flowCount),
    tsval: new Uint32Array(flowCount),
    tsecr: new Uint32Array(flowCount),
    packetCount: new Uint8Array(flowCount),
  };
  const used = new Set<number>();
  for (let f = 0; f < flowCount; f++) {
    let host: number;
    let port: number;
    do {
      host = rng.intIn(0, hostCount - 1);
      port = rng.intIn(1024, 65535); // never 20: IPVS treats source port 20 as FTP data
    } while (used.has(host * 65536 + port));
    used.add(host * 65536 + port);
    flows.clientIp[f] = (netBase[Math.floor(host / hostsPerNet)] + (host % hostsPerNet) + 1) >>> 0;
    flows.clientPort[f] = port;
    flows.isn[f] = rng.nextU32();
    flows.serverIsn[f] = rng.nextU32();
    flows.ipId[f] = rng.nextU32() & 0xffff;
    flows.tsval[f] = rng.nextU32() >>> 1;
    flows.tsecr[f] = rng.nextU32() >>> 1;
  }
  // Two packets per flow at least (SYN, then the handshake's ACK); the rest spread at random:
  // 5 packets per flow on average, exactly `packetCount` in all.
  const extra = packetCount - 2 * flowCount;
  if (extra < 0) throw new Error(`${packetCount} packets cannot give ${flowCount} flows two packets each`);
  flows.packetCount.fill(2);
  for (let i = 0; i < extra; i++) {
    const f = rng.intIn(0, flowCount - 1);
    if (flows.packetCount[f] === 255) {
      i--;
      continue;
    }
    flows.packetCount[f]++;
  }
  return flows;
}

/**
 * Packet times and the capture order. Returns, in capture order, each packet's flow, its position
 * in the flow and its timestamp (microseconds from the capture start, strictly increasing).
 */
function schedulePackets(
  rng: Prng,
  flows: Flows,
  packetCount: number,
): { flowOf: Uint32Array; seqOf: Uint8Array; timeUs: Float64Array } {
  const flowCount = flows.packetCount.length;
  const flowOfIndex = new Uint32Array(packetCount);
  const seqOfIndex = new Uint8Array(packetCount);
  const keys = new Float64Array(packetCount);
  const offsets = new Float64Array(256);
  let p = 0;
  for (let f = 0; f < flowCount; f++) {
    const n = flows.packetCount[f];
    offsets[0] = 0;
    // The handshake's ACK follows the SYN after about one round trip (1-50 ms).
    offsets[1] = rng.intIn(1_000, 50_000);
    for (let s = 2; s < n; s++) {
      const gap = Math.min(GAP_CAP_US, Math.max(1, Math.round(-Math.log(1 - rng.nextFloat()) * GAP_MEAN_US)));
      offsets[s] = offsets[s - 1] + gap;
    }
    const span = offsets[n - 1];
    let start = rng.intIn(0, CAPTURE_SHAPE.startSpanUs - 1);
    if (start + span > CAPTURE_END_US) start = Math.max(0, CAPTURE_END_US - span);
    for (let s = 0; s < n; s++, p++) {
      flowOfIndex[p] = f;
      seqOfIndex[p] = s;
      // Ties in time keep the flow-major index order, so a flow's packets never swap.
      keys[p] = (start + offsets[s]) * INDEX_BITS_SCALE + p;
    }
  }
  keys.sort();
  const flowOf = new Uint32Array(packetCount);
  const seqOf = new Uint8Array(packetCount);
  const timeUs = new Float64Array(packetCount);
  let previous = -1;
  for (let i = 0; i < packetCount; i++) {
    const index = keys[i] % INDEX_BITS_SCALE;
    flowOf[i] = flowOfIndex[index];
    seqOf[i] = seqOfIndex[index];
    const t = Math.max(Math.floor(keys[i] / INDEX_BITS_SCALE), previous + 1);
    timeUs[i] = t;
    previous = t;
  }
  return { flowOf, seqOf, timeUs };
}

/** Writes one frame at `off` and returns its length. `nextSeq` is the flow's running sequence number. */
function writeFrame(
  out: Buffer,
  off: number,
  flows: Flows,
  f: number,
  seq: number,
  nextSeq: Uint32Array,
  nextAck: Uint32Array,
  payloadLen: number,
  ethHeader: Uint8Array,
  vip: Uint8Array,
): number {
  const isSyn = seq === 0;
  const tcpLen = isSyn ? SYN_TCP_LEN : ACK_TCP_LEN;
  const ipTotal = IP_LEN + tcpLen + payloadLen;
  out.set(ethHeader, off);
  const ip = off + ETH_LEN;
  out[ip] = 0x45;
  out[ip + 1] = 0;
  out.writeUInt16BE(ipTotal, ip + 2);
  out.writeUInt16BE((flows.ipId[f] + seq) & 0xffff, ip + 4);
  out.writeUInt16BE(0x4000, ip + 6); // DF
  out[ip + 8] = 64;
  out[ip + 9] = 6;
  out.writeUInt16BE(0, ip + 10);
  out.writeUInt32BE(flows.clientIp[f], ip + 12);
  out.set(vip, ip + 16);
  out.writeUInt16BE(finish(sumWords(out, ip, IP_LEN, 0)), ip + 10);

  const tcp = ip + IP_LEN;
  out.writeUInt16BE(flows.clientPort[f], tcp);
  out.writeUInt16BE(VIP_PORT, tcp + 2);
  const tsval = (flows.tsval[f] + seq * 7) >>> 0;
  if (isSyn) {
    out.writeUInt32BE(flows.isn[f], tcp + 4);
    out.writeUInt32BE(0, tcp + 8);
    out[tcp + 12] = (SYN_TCP_LEN / 4) << 4;
    out[tcp + 13] = TCP_SYN;
    out.writeUInt16BE(64240, tcp + 14);
    const o = tcp + 20;
    out[o] = 2; // MSS 1460
    out[o + 1] = 4;
    out.writeUInt16BE(1460, o + 2);
    out[o + 4] = 4; // SACK permitted
    out[o + 5] = 2;
    out[o + 6] = 8; // timestamps
    out[o + 7] = 10;
    out.writeUInt32BE(tsval, o + 8);
    out.writeUInt32BE(0, o + 12);
    out[o + 16] = 1; // NOP
    out[o + 17] = 3; // window scale 7
    out[o + 18] = 3;
    out[o + 19] = 7;
    nextSeq[f] = (flows.isn[f] + 1) >>> 0;
    nextAck[f] = (flows.serverIsn[f] + 1) >>> 0;
  } else {
    out.writeUInt32BE(nextSeq[f], tcp + 4);
    out.writeUInt32BE(nextAck[f], tcp + 8);
    out[tcp + 12] = (ACK_TCP_LEN / 4) << 4;
    out[tcp + 13] = payloadLen > 0 ? TCP_PSH | TCP_ACK : TCP_ACK;
    out.writeUInt16BE(502, tcp + 14);
    const o = tcp + 20;
    out[o] = 1;
    out[o + 1] = 1;
    out[o + 2] = 8;
    out[o + 3] = 10;
    out.writeUInt32BE(tsval, o + 4);
    out.writeUInt32BE(flows.tsecr[f], o + 8);
    PAYLOAD_TEXT.copy(out, tcp + ACK_TCP_LEN, 0, payloadLen);
    nextSeq[f] = (nextSeq[f] + payloadLen) >>> 0;
  }
  out.writeUInt16BE(0, tcp + 16);
  out.writeUInt16BE(0, tcp + 18);
  // Pseudo-header: source, destination, zero + protocol, TCP length.
  let sum = sumWords(out, ip + 12, 8, 0) + 6 + (tcpLen + payloadLen);
  sum = sumWords(out, tcp, tcpLen + payloadLen, sum);
  out.writeUInt16BE(finish(sum), tcp + 16);
  return ETH_LEN + ipTotal;
}

/** Builds the whole capture in memory and returns the bytes. */
export function buildCapture(): Buffer {
  const { packets, flows: flowCount, seed, epochSeconds } = CAPTURE_SHAPE;
  const rng = new Prng(seed);
  const flows = makeFlows(rng, flowCount, packets);
  const { flowOf, seqOf, timeUs } = schedulePackets(rng, flows, packets);

  const out = Buffer.alloc(PCAP_GLOBAL_HEADER_LEN + packets * (PCAP_RECORD_HEADER_LEN + MAX_FRAME_LEN));
  out.writeUInt32LE(0xa1b2c3d4, 0);
  out.writeUInt16LE(2, 4);
  out.writeUInt16LE(4, 6);
  out.writeInt32LE(0, 8);
  out.writeUInt32LE(0, 12);
  out.writeUInt32LE(65535, 16);
  out.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET

  const ethHeader = new Uint8Array(ETH_LEN);
  ethHeader.set(macBytes(DIRECTOR_MAC), 0);
  ethHeader.set(macBytes(UPSTREAM_ROUTER_MAC), 6);
  ethHeader[12] = 0x08;
  ethHeader[13] = 0x00;
  const vip = ipv4Bytes(VIP);
  const nextSeq = new Uint32Array(flowCount);
  const nextAck = new Uint32Array(flowCount);

  let off = PCAP_GLOBAL_HEADER_LEN;
  for (let i = 0; i < packets; i++) {
    const f = flowOf[i];
    const seq = seqOf[i];
    // After the handshake's ACK, 60% of the packets carry 1-34 bytes of data.
    const payloadLen = seq >= 2 && rng.nextFloat() < 0.6 ? rng.intIn(1, MAX_PAYLOAD) : 0;
    // A later pure ACK acknowledges new server data (so it is not a duplicate ACK).
    if (seq >= 2 && payloadLen === 0) nextAck[f] = (nextAck[f] + rng.intIn(1, 1448)) >>> 0;
    const frameLen = writeFrame(
      out,
      off + PCAP_RECORD_HEADER_LEN,
      flows,
      f,
      seq,
      nextSeq,
      nextAck,
      payloadLen,
      ethHeader,
      vip,
    );
    const t = timeUs[i];
    out.writeUInt32LE(epochSeconds + Math.floor(t / 1_000_000), off);
    out.writeUInt32LE(t % 1_000_000, off + 4);
    out.writeUInt32LE(frameLen, off + 8);
    out.writeUInt32LE(frameLen, off + 12);
    off += PCAP_RECORD_HEADER_LEN + frameLen;
  }
  return out.subarray(0, off);
}

export function rulesText(mode: 'dr' | 'nat'): string {
  const service = `${VIP}:${VIP_PORT}`;
  const lines = [`-A -t ${service} -s rr`];
  for (const rs of REAL_SERVERS) {
    lines.push(
      mode === 'dr'
        ? `-a -t ${service} -r ${rs.ip}:${VIP_PORT} -g -w 1`
        : `-a -t ${service} -r ${rs.ip}:${NAT_RS_PORT} -m -w 1`,
    );
  }
  return lines.join('\n') + '\n';
}

export function directorText(): string {
  const lines = [`link eth0 mac ${DIRECTOR_MAC}`, `addr ${DIRECTOR_ADDR} dev eth0`];
  for (const rs of REAL_SERVERS) lines.push(`neigh ${rs.ip} lladdr ${rs.mac} dev eth0`);
  lines.push(`route default via ${GATEWAY.ip} dev eth0`);
  lines.push(`neigh ${GATEWAY.ip} lladdr ${GATEWAY.mac} dev eth0`);
  return lines.join('\n') + '\n';
}

/** A digest of the compiled generator (this file and the modules it takes its shape and randomness from). */
function generatorDigest(): string {
  const hash = createHash('sha256');
  for (const name of ['gen-capture.js', 'bench-setup.js', 'prng.js']) {
    hash.update(fs.readFileSync(path.join(__dirname, name)));
  }
  return hash.digest('hex').slice(0, 16);
}

/** The cached manifest, if it describes this version and the files on disk match it. */
function readValidManifest(): BenchManifest | null {
  try {
    const manifest = JSON.parse(fs.readFileSync(BENCH_PATHS.manifest, 'utf8')) as BenchManifest;
    if (manifest.version !== BENCH_FILES_VERSION) return null;
    if (manifest.generatorDigest !== generatorDigest()) return null;
    if (fs.statSync(BENCH_PATHS.capture).size !== manifest.captureBytes) return null;
    if (fs.readFileSync(BENCH_PATHS.drRules, 'utf8') !== rulesText('dr')) return null;
    if (fs.readFileSync(BENCH_PATHS.natRules, 'utf8') !== rulesText('nat')) return null;
    if (fs.readFileSync(BENCH_PATHS.director, 'utf8') !== directorText()) return null;
    return manifest;
  } catch {
    return null;
  }
}

/** Makes sure the capture, rules and director files exist in .bench/, generating them if needed. */
export function ensureBenchFiles(force: boolean): EnsureResult {
  if (!force) {
    const cached = readValidManifest();
    if (cached) return { manifest: cached, generated: false };
  }
  fs.mkdirSync(BENCH_DIR, { recursive: true });
  fs.rmSync(BENCH_PATHS.manifest, { force: true });
  const started = process.hrtime.bigint();
  const capture = buildCapture();
  // Write under a temporary name and rename, so an interrupted run never leaves a half file that looks valid.
  const tmp = `${BENCH_PATHS.capture}.tmp`;
  fs.writeFileSync(tmp, capture);
  fs.renameSync(tmp, BENCH_PATHS.capture);
  fs.writeFileSync(BENCH_PATHS.drRules, rulesText('dr'));
  fs.writeFileSync(BENCH_PATHS.natRules, rulesText('nat'));
  fs.writeFileSync(BENCH_PATHS.director, directorText());
  const manifest: BenchManifest = {
    version: BENCH_FILES_VERSION,
    generatorDigest: generatorDigest(),
    packets: CAPTURE_SHAPE.packets,
    flows: CAPTURE_SHAPE.flows,
    captureBytes: capture.length,
    generationSeconds: Number(process.hrtime.bigint() - started) / 1e9,
  };
  fs.writeFileSync(BENCH_PATHS.manifest, JSON.stringify(manifest, null, 2) + '\n');
  return { manifest, generated: true };
}

if (require.main === module) {
  const { manifest, generated } = ensureBenchFiles(process.argv.includes('--force'));
  console.log(
    `${generated ? 'generated' : 'reused'} ${BENCH_PATHS.capture}: ${manifest.packets} packets, ` +
      `${manifest.flows} flows, ${manifest.captureBytes} bytes` +
      (generated ? ` in ${manifest.generationSeconds.toFixed(2)} s` : ''),
  );
}
