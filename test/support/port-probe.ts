/**
 * Run inside a lab's client namespace by the multi-worker tests (`ip netns exec NS node
 * port-probe.js URL N`): N sequential HTTP requests, each on a new connection, and for each the
 * client's own port and the real server's view of its peer (x-uvs-peer: address:port), so a
 * test can tell which worker should have carried it and which local port FULLNAT gave it.
 * Prints {"results":[{"cport":n,"peer":"a:p","body":"rs1"}...],"failures":[...]}.
 */
import * as http from 'node:http';

const TIMEOUT_MS = 3000;

interface Result {
  cport: number;
  peer: string;
  body: string;
}

function once(url: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    let cport = 0;
    const req = http.get(url, { timeout: TIMEOUT_MS, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ cport, peer: String(res.headers['x-uvs-peer'] ?? ''), body: body.trim() }));
      res.on('error', reject);
    });
    req.on('socket', (s) => s.on('connect', () => (cport = s.localPort ?? 0)));
    req.on('timeout', () => req.destroy(new Error(`timeout after ${TIMEOUT_MS} ms`)));
    req.on('error', reject);
  });
}

async function main(url: string, n: number): Promise<void> {
  const results: Result[] = [];
  const failures: string[] = [];
  for (let i = 0; i < n; i++) {
    try {
      results.push(await once(url));
    } catch (e) {
      failures.push(`request ${i}: ${(e as Error).message}`);
    }
  }
  process.stdout.write(JSON.stringify({ results, failures }) + '\n');
}

void main(process.argv[2] ?? '', Number(process.argv[3] ?? '1'));
