/**
 * Run inside a lab namespace by the lab tests (`ip netns exec NS node lab-probe.js ...`): one
 * bounded request, its outcome as one JSON line on stdout.
 *
 *   http URL            → {"status":200,"body":"rs1\n","peer":"10.71.1.2:40000"}
 *   udp HOST PORT       → {"body":"rs1\n","from":"10.71.3.11:9000"}
 *
 * Anything that fails or takes over 3 s prints {"error":"..."} and exits 1.
 */
import * as dgram from 'node:dgram';
import * as http from 'node:http';

const TIMEOUT_MS = 3000;

function fail(why: string): never {
  process.stdout.write(JSON.stringify({ error: why }) + '\n');
  process.exit(1);
}

function probeHttp(url: string): void {
  const req = http.get(url, { timeout: TIMEOUT_MS, agent: false }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (c: string) => (body += c));
    res.on('end', () => {
      process.stdout.write(JSON.stringify({ status: res.statusCode, body, peer: res.headers['x-uvs-peer'] ?? null }) + '\n');
      process.exit(0);
    });
  });
  req.on('timeout', () => fail(`timeout after ${TIMEOUT_MS} ms`));
  req.on('error', (e) => fail(e.message));
}

function probeUdp(host: string, port: number): void {
  const s = dgram.createSocket('udp4');
  const timer = setTimeout(() => fail(`no UDP answer after ${TIMEOUT_MS} ms`), TIMEOUT_MS);
  s.on('error', (e) => fail(e.message));
  s.on('message', (msg, rinfo) => {
    clearTimeout(timer);
    process.stdout.write(JSON.stringify({ body: msg.toString('utf8'), from: `${rinfo.address}:${rinfo.port}` }) + '\n');
    process.exit(0);
  });
  s.connect(port, host, () => s.send('probe'));
}

const [kind, a, b] = process.argv.slice(2);
if (kind === 'http' && a !== undefined) probeHttp(a);
else if (kind === 'udp' && a !== undefined && b !== undefined) probeUdp(a, Number(b));
else fail('usage: lab-probe.js http URL | udp HOST PORT');
