#!/usr/bin/env node
/**
 * A lab real server: `node rs-server.js --name rs1`, run inside the real server's namespace.
 *
 * - HTTP on TCP 80 and 8080: every request gets the body "<name>\n" and the header
 *   `x-uvs-peer: <address>:<port>` of the connection's remote end, so a test sees what the real
 *   server saw (the client in DR/NAT/TUN, a local address in FULLNAT). Two paths send more, for
 *   transfers whose bytes the client checks (byte i is patternByte(i), transfer-pattern.ts), with `x-uvs-name: <name>`:
 *     GET /bytes/N        N bytes at once
 *     GET /stream/N/MS    N bytes in 20 pieces spread over MS milliseconds (a connection that
 *                         stays established while a test changes the director)
 * - UDP 9000: each datagram is answered with "<name>\n" to its sender. One socket per local IPv4
 *   address (the VIP on lo included): a reply then leaves from the address the datagram came to,
 *   which a socket bound to 0.0.0.0 cannot promise (DR and TUN replies must come from the VIP).
 *
 * It prints one "<name> ready ..." line once everything listens, nothing per request, and exits
 * on SIGTERM or SIGINT.
 */
import * as dgram from 'node:dgram';
import * as http from 'node:http';
import * as os from 'node:os';
import { HTTP_PORT, MAPPED_HTTP_PORT, UDP_PORT } from './lab-plan';
import { patternChunk } from './transfer-pattern';

function argValue(argv: readonly string[], name: string): string | null {
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : null;
}

/** Every IPv4 address of this namespace, loopback and the VIP on lo included. */
function localIpv4Addresses(): string[] {
  const out: string[] = [];
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4') out.push(a.address);
  }
  return out;
}

const MAX_PATTERN_BYTES = 1 << 30;

/** /bytes/N and /stream/N/MS; false when the path is neither. */
function servePattern(name: string, url: string, res: http.ServerResponse): boolean {
  const m = /^\/(bytes|stream)\/(\d+)(?:\/(\d+))?$/.exec(url);
  if (m === null || (m[1] === 'stream') !== (m[3] !== undefined)) return false;
  const total = Math.min(Number(m[2]), MAX_PATTERN_BYTES);
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total, 'x-uvs-name': name });
  if (m[1] === 'bytes') {
    const piece = 1 << 20;
    let at = 0;
    const more = (): void => {
      while (at < total) {
        const n = Math.min(piece, total - at);
        const ok = res.write(patternChunk(at, n));
        at += n;
        if (!ok) {
          res.once('drain', more);
          return;
        }
      }
      res.end();
    };
    more();
    return true;
  }
  const pieces = 20;
  const step = Math.ceil(total / pieces);
  const interval = Number(m[3]) / pieces;
  let at = 0;
  const timer = setInterval(() => {
    const n = Math.min(step, total - at);
    if (n > 0) res.write(patternChunk(at, n));
    at += n;
    if (at >= total) {
      clearInterval(timer);
      res.end();
    }
  }, interval);
  res.on('close', () => clearInterval(timer));
  return true;
}

function listenHttp(name: string, port: number): Promise<http.Server> {
  const body = `${name}\n`;
  const server = http.createServer((req, res) => {
    req.resume();
    if (servePattern(name, req.url ?? '/', res)) return;
    res.writeHead(200, {
      'content-type': 'text/plain',
      'content-length': Buffer.byteLength(body),
      'x-uvs-peer': `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? 0}`,
    });
    res.end(body);
  });
  server.keepAliveTimeout = 5000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '0.0.0.0', () => resolve(server));
  });
}

function listenUdp(name: string, address: string, port: number): Promise<dgram.Socket> {
  const reply = Buffer.from(`${name}\n`);
  const socket = dgram.createSocket('udp4');
  socket.on('message', (_msg, rinfo) => {
    socket.send(reply, rinfo.port, rinfo.address);
  });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, address, () => {
      socket.removeListener('error', reject);
      // A send to a vanished client must not end the server.
      socket.on('error', () => undefined);
      resolve(socket);
    });
  });
}

async function main(argv: readonly string[]): Promise<void> {
  const name = argValue(argv, '--name');
  if (name === null || name === '') {
    process.stderr.write('usage: rs-server.js --name NAME\n');
    process.exitCode = 2;
    return;
  }
  const addresses = localIpv4Addresses();
  const servers = await Promise.all([HTTP_PORT, MAPPED_HTTP_PORT].map((p) => listenHttp(name, p)));
  const sockets = await Promise.all(addresses.map((a) => listenUdp(name, a, UDP_PORT)));
  const stop = (): void => {
    for (const s of servers) s.close();
    for (const s of servers) s.closeAllConnections();
    for (const s of sockets) s.close();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.stdout.write(`${name} ready: tcp ${HTTP_PORT} ${MAPPED_HTTP_PORT}, udp ${UDP_PORT} on ${addresses.join(' ')}\n`);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`rs-server: ${(e as Error).message}\n`);
  process.exit(1);
});
