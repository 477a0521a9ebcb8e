/**
 * The main job: a lab demo. For each forwarding mode (or the ones named: `npm run demo -- nat dr`)
 * it brings a network-namespace lab up (client, router, director running `uvs director` on
 * AF_PACKET, three real servers with weights 1, 2 and 3 under wrr), sends HTTP requests and UDP
 * datagrams from the client through the VIP, prints which real server answered how often and the
 * director's table (uvsadm -L -n --stats), and brings the lab down again, also after a failure or
 * Ctrl-C. Needs root (namespaces, AF_PACKET).
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../..');
const UVS = path.join(root, 'dist/src/cli/uvs.js');
const UVSADM = path.join(root, 'dist/src/cli/uvsadm.js');
const CLIENT = path.join(root, 'dist/src/lab/traffic-client.js');
const MODES = ['dr', 'nat', 'tun', 'fullnat'];
const METHOD: Record<string, string> = { dr: '-g', nat: '-m', tun: '-i', fullnat: '--fullnat' };
const REQUESTS = 120;
const DATAGRAMS = 30;

interface LabStatus {
  clientNamespace: string;
  vip: string;
  port: number;
  udpPort: number;
  socket: string;
  realServers: { name: string; address: string; port: number }[];
}
interface Counts {
  counts: Record<string, number>;
  failures: string[];
  peers?: Record<string, number>;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env, timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${path.basename(args[0] ?? cmd)} ${args.slice(1).join(' ')}: ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

function traffic(lab: LabStatus, ...args: string[]): Counts {
  return JSON.parse(run('ip', ['netns', 'exec', lab.clientNamespace, process.execPath, CLIENT, ...args]).trim()) as Counts;
}

function bar(n: number, total: number): string {
  return '#'.repeat(Math.round((40 * n) / Math.max(total, 1)));
}

function demo(mode: string): boolean {
  const name = `demo${mode}`;
  console.log(`\n=== ${mode.toUpperCase()}: uvs lab up --mode ${mode} --rs 3 --scheduler wrr ===`);
  run(process.execPath, [UVS, 'lab', 'down', '--name', name]);
  try {
    process.stdout.write(run(process.execPath, [UVS, 'lab', 'up', '--name', name, '--mode', mode, '--rs', '3', '--scheduler', 'wrr']));
    const lab = JSON.parse(run(process.execPath, [UVS, 'lab', 'status', '--name', name, '--json'])) as LabStatus;
    const env = { ...process.env, UVS_SOCKET: lab.socket };
    const svc = `${lab.vip}:${lab.port}`;
    lab.realServers.forEach((rs, i) => {
      const args = [UVSADM, '-e', '-t', svc, '-r', `${rs.address}:${rs.port}`, METHOD[mode], '-w', String(i + 1)];
      console.log(`$ uvsadm ${args.slice(1).join(' ')}`);
      run(process.execPath, args, env);
    });
    const http = traffic(lab, 'http-many', `http://${svc}/`, String(REQUESTS));
    console.log(`\n${REQUESTS} HTTP requests from the client to ${svc} (one connection each):`);
    for (const rs of lab.realServers) {
      const n = http.counts[rs.name] ?? 0;
      console.log(`  ${rs.name} ${rs.address}:${rs.port}  ${String(n).padStart(4)}  ${bar(n, REQUESTS)}`);
    }
    console.log(`  failed: ${http.failures.length}; the real servers saw the client as ${Object.keys(http.peers ?? {}).join(', ')}`);
    const udp = traffic(lab, 'udp-many', lab.vip, String(lab.udpPort), String(DATAGRAMS), '30000');
    console.log(`${DATAGRAMS} UDP datagrams to ${lab.vip}:${lab.udpPort}: ${Object.entries(udp.counts).map(([k, v]) => `${k} ${v}`).join(', ')}; failed: ${udp.failures.length}`);
    console.log('\n$ uvsadm -L -n --stats');
    process.stdout.write(run(process.execPath, [UVSADM, '-L', '-n', '--stats'], env));
    return http.failures.length === 0 && udp.failures.length === 0;
  } finally {
    process.stdout.write(run(process.execPath, [UVS, 'lab', 'down', '--name', name]));
  }
}

function main(): number {
  const modes = process.argv.slice(2).filter((m) => MODES.includes(m));
  let failed = 0;
  for (const mode of modes.length > 0 ? modes : MODES) {
    try {
      if (!demo(mode)) failed++;
    } catch (e) {
      failed++;
      console.log(`${mode}: ${(e as Error).message}`);
    }
  }
  console.log(failed === 0 ? '\nevery mode forwarded every request' : `\n${failed} mode(s) failed`);
  return failed === 0 ? 0 : 1;
}

// Ctrl-C lands in a child first; the finally blocks above bring the lab down.
process.exitCode = main();
