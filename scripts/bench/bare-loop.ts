/**
 * The replay bench's "naive algorithm" peer: the barest Node program that does what the bench's uvs
 * rows do to this capture, written the way ../shared/live-io-facts.md describes the fastest plain
 * JavaScript (one monomorphic loop over reused, already-touched buffers; an open-addressing flow
 * table in a Uint32Array; rr over the four real servers; incremental checksums; each chunk written
 * while the next is read and rewritten). It knows this capture's shape and nothing else: no header
 * validation beyond what it needs, no state machine, no timers, no counters, no drop reasons, no
 * expiry. It is the ceiling a JavaScript engine can approach on this machine, printed beside uvs
 * so that the distance to the targets can be judged from one run.
 *
 * Usage: node dist/scripts/bench/bare-loop.js dr|nat IN.pcap OUT.pcap
 * Prints {"packets": N} (frames written).
 */
import * as fs from 'node:fs';
import { DIRECTOR_MAC, NAT_RS_PORT, REAL_SERVERS } from './bench-setup';

const CHUNK = 4 << 20;
const BUFFERS = 4;
const PCAP_HEADER = 24;
const RECORD_HEADER = 16;
const TABLE_BITS = 20;
const TABLE_SIZE = 1 << TABLE_BITS;

function macBytes(mac: string): number[] {
  return mac.split(':').map((h) => parseInt(h, 16));
}

function ipWord(ip: string): number {
  return ip.split('.').reduce((acc, part) => ((acc << 8) | Number(part)) >>> 0, 0);
}

/** One's-complement add of a 16-bit difference into a stored checksum (RFC 1624 eqn 3). */
function adjust(sum: number, oldWord: number, newWord: number): number {
  let s = (~sum & 0xffff) + (~oldWord & 0xffff) + newWord;
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

interface Job {
  buf: Buffer;
  busy: Promise<void> | null;
}

async function main(): Promise<void> {
  const [mode, input, output] = process.argv.slice(2);
  if ((mode !== 'dr' && mode !== 'nat') || !input || !output) {
    console.error('usage: bare-loop dr|nat IN.pcap OUT.pcap');
    process.exit(2);
  }
  const nat = mode === 'nat';
  const rsMacs = REAL_SERVERS.map((r) => macBytes(r.mac));
  const rsIps = REAL_SERVERS.map((r) => ipWord(r.ip));
  const directorMac = macBytes(DIRECTOR_MAC);
  // Flow table: key words (client address, client port) and the chosen server + 1 (0 = empty).
  const keyAddr = new Uint32Array(TABLE_SIZE);
  const keyPort = new Uint32Array(TABLE_SIZE);
  const server = new Uint8Array(TABLE_SIZE);
  let next = 0;

  const inFd = fs.openSync(input, 'r');
  const outFd = fs.openSync(output, 'w');
  const jobs: Job[] = [];
  for (let i = 0; i < BUFFERS; i++) jobs.push({ buf: Buffer.alloc(CHUNK + 65_536), busy: null });
  const header = Buffer.alloc(PCAP_HEADER);
  fs.readSync(inFd, header, 0, PCAP_HEADER, 0);
  if (header.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error('bare-loop reads little-endian microsecond pcap only');
  fs.writeSync(outFd, header);
  let readPos = PCAP_HEADER;
  let outPos = PCAP_HEADER;
  let carry = 0; // bytes of an unfinished record at the start of the next buffer
  let written = 0;
  let turn = 0;
  let previous: Buffer | null = null;
  for (;;) {
    const job = jobs[turn];
    turn = (turn + 1) % BUFFERS;
    if (job.busy) await job.busy;
    const buf = job.buf;
    if (carry > 0 && previous) previous.copy(buf, 0, previous.length - carry, previous.length);
    const got = fs.readSync(inFd, buf, carry, CHUNK, readPos);
    readPos += got;
    const end = carry + got;
    if (got === 0) break;
    let at = 0;
    while (at + RECORD_HEADER <= end) {
      const caplen = buf.readUInt32LE(at + 8);
      const frameEnd = at + RECORD_HEADER + caplen;
      if (frameEnd > end) break;
      const f = at + RECORD_HEADER;
      const ip = f + 14;
      const l4 = ip + ((buf[ip] & 0x0f) << 2);
      const client = ((buf[ip + 12] << 24) | (buf[ip + 13] << 16) | (buf[ip + 14] << 8) | buf[ip + 15]) >>> 0;
      const cport = (buf[l4] << 8) | buf[l4 + 1];
      let slot = Math.imul(client ^ Math.imul(cport, 0x9e3779b1), 0x85ebca6b) >>> (32 - TABLE_BITS);
      let rs = -1;
      for (;;) {
        const s = server[slot];
        if (s === 0) {
          keyAddr[slot] = client;
          keyPort[slot] = cport;
          rs = next;
          server[slot] = rs + 1;
          next = next + 1 === rsIps.length ? 0 : next + 1;
          break;
        }
        if (keyAddr[slot] === client && keyPort[slot] === cport) {
          rs = s - 1;
          break;
        }
        slot = (slot + 1) & (TABLE_SIZE - 1);
      }
      const mac = rsMacs[rs];
      for (let i = 0; i < 6; i++) {
        buf[f + i] = mac[i];
        buf[f + 6 + i] = directorMac[i];
      }
      // TTL - 1: the TTL/protocol word drops by 0x0100.
      const ttlWord = (buf[ip + 8] << 8) | buf[ip + 9];
      buf[ip + 8] = buf[ip + 8] - 1;
      let ipSum = adjust((buf[ip + 10] << 8) | buf[ip + 11], ttlWord, ttlWord - 0x0100);
      if (nat) {
        const rip = rsIps[rs];
        const oldHi = (buf[ip + 16] << 8) | buf[ip + 17];
        const oldLo = (buf[ip + 18] << 8) | buf[ip + 19];
        const newHi = rip >>> 16;
        const newLo = rip & 0xffff;
        ipSum = adjust(adjust(ipSum, oldHi, newHi), oldLo, newLo);
        buf[ip + 16] = newHi >>> 8;
        buf[ip + 17] = newHi & 0xff;
        buf[ip + 18] = newLo >>> 8;
        buf[ip + 19] = newLo & 0xff;
        const oldPort = (buf[l4 + 2] << 8) | buf[l4 + 3];
        let tcpSum = (buf[l4 + 16] << 8) | buf[l4 + 17];
        tcpSum = adjust(adjust(adjust(tcpSum, oldHi, newHi), oldLo, newLo), oldPort, NAT_RS_PORT);
        buf[l4 + 2] = NAT_RS_PORT >>> 8;
        buf[l4 + 3] = NAT_RS_PORT & 0xff;
        buf[l4 + 16] = tcpSum >>> 8;
        buf[l4 + 17] = tcpSum & 0xff;
      }
      buf[ip + 10] = ipSum >>> 8;
      buf[ip + 11] = ipSum & 0xff;
      written++;
      at = frameEnd;
    }
    carry = end - at;
    previous = buf.subarray(0, end);
    const length = at;
    const position = outPos;
    outPos += length;
    job.busy = new Promise<void>((resolve, reject) => {
      fs.write(outFd, buf, 0, length, position, (err) => (err ? reject(err) : resolve()));
    });
  }
  for (const job of jobs) if (job.busy) await job.busy;
  fs.closeSync(inFd);
  fs.closeSync(outFd);
  process.stdout.write(JSON.stringify({ packets: written }) + '\n');
}

main().catch((err: unknown) => {
  console.error(`bare-loop: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
