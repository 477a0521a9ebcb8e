/**
 * A lab's traffic client (the demo's and the end-to-end tests'), run inside the client namespace
 * (`ip netns exec NS node traffic-client.js COMMAND ...`). Every exchange is bounded in time; the
 * outcome is JSON on stdout.
 *
 *   http-many URL N        N sequential requests, each on a new connection:
 *                          {"counts":{"rs1":n,...},"failures":[...],"peers":{"addr":n}}
 *   udp-many HOST PORT N BASE
 *                          N datagrams, datagram i from source port BASE+i (ports no earlier
 *                          exchange used, so each is a new connection for the director):
 *                          {"counts":{...},"failures":[...]}
 *   download URL           one transfer whose every byte is checked against the lab's pattern:
 *                          {"status":200,"name":"rs1","bytes":n,"mismatchAt":-1,"ms":t}
 *   stream URL             as download, but first prints {"started":true,"name":"rs1"} as soon as
 *                          the response headers arrive (the test then changes the director)
 */
import * as dgram from 'node:dgram';
import * as http from 'node:http';
import { patternMismatch } from './transfer-pattern';

const REQUEST_TIMEOUT_MS = 3000;
const TRANSFER_TIMEOUT_MS = 60_000;

function print(v: unknown): void {
  process.stdout.write(JSON.stringify(v) + '\n');
}

function bump(m: Record<string, number>, key: string): void {
  m[key] = (m[key] ?? 0) + 1;
}

function getOnce(url: string): Promise<{ status: number; body: string; peer: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: REQUEST_TIMEOUT_MS, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, peer: String(res.headers['x-uvs-peer'] ?? '') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
  });
}

async function httpMany(url: string, n: number): Promise<void> {
  const counts: Record<string, number> = {};
  const peers: Record<string, number> = {};
  const failures: string[] = [];
  for (let i = 0; i < n; i++) {
    try {
      const r = await getOnce(url);
      if (r.status !== 200 || !/^rs\d+\n$/.test(r.body)) failures.push(`request ${i}: status ${r.status}, body ${JSON.stringify(r.body)}`);
      else bump(counts, r.body.trim());
      bump(peers, r.peer.replace(/:\d+$/, ''));
    } catch (e) {
      failures.push(`request ${i}: ${(e as Error).message}`);
    }
  }
  print({ counts, failures, peers });
}

function udpOnce(host: string, port: number, sport: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.bind(sport);
    const timer = setTimeout(() => {
      s.close();
      reject(new Error(`no answer after ${REQUEST_TIMEOUT_MS} ms`));
    }, REQUEST_TIMEOUT_MS);
    s.on('message', (msg) => {
      clearTimeout(timer);
      s.close();
      resolve(msg.toString('utf8'));
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      s.close();
      reject(e);
    });
    s.send('ping', port, host);
  });
}

async function udpMany(host: string, port: number, n: number, base: number): Promise<void> {
  const counts: Record<string, number> = {};
  const failures: string[] = [];
  for (let i = 0; i < n; i++) {
    try {
      const body = await udpOnce(host, port, base + i);
      if (!/^rs\d+\n$/.test(body)) failures.push(`datagram ${i}: answer ${JSON.stringify(body)}`);
      else bump(counts, body.trim());
    } catch (e) {
      failures.push(`datagram ${i}: ${(e as Error).message}`);
    }
  }
  print({ counts, failures });
}

function transfer(url: string, announce: boolean): void {
  const started = Date.now();
  let bytes = 0;
  let mismatchAt = -1;
  const req = http.get(url, { agent: false }, (res) => {
    const name = String(res.headers['x-uvs-name'] ?? '');
    if (announce) print({ started: true, name });
    res.on('data', (chunk: Buffer) => {
      if (mismatchAt < 0) mismatchAt = patternMismatch(chunk, bytes);
      bytes += chunk.length;
    });
    res.on('end', () => {
      print({ status: res.statusCode, name, bytes, mismatchAt, ms: Date.now() - started });
      process.exit(0);
    });
    res.on('error', (e) => {
      print({ error: e.message, bytes });
      process.exit(1);
    });
  });
  req.setTimeout(TRANSFER_TIMEOUT_MS, () => req.destroy(new Error(`transfer not done after ${TRANSFER_TIMEOUT_MS} ms`)));
  req.on('error', (e) => {
    print({ error: e.message, bytes });
    process.exit(1);
  });
}

function main(argv: string[]): void {
  const [cmd, a, b, c, d] = argv;
  switch (cmd) {
    case 'http-many':
      void httpMany(a, Number(b));
      return;
    case 'udp-many':
      void udpMany(a, Number(b), Number(c), Number(d));
      return;
    case 'download':
      transfer(a, false);
      return;
    case 'stream':
      transfer(a, true);
      return;
    default:
      process.stderr.write(`traffic-client: unknown command ${cmd}\n`);
      process.exit(2);
  }
}

main(process.argv.slice(2));
