/**
 * `uvs director --workers 2` on real links: a NAT lab and a FULLNAT lab built without their
 * director, the director started here inside the director namespace with two workers sharing the
 * links by fanout. Shown: every HTTP request answered correctly; both workers forwarded (per-worker
 * link counters); the master's `uvsadm -L -n --stats` adds up to what was sent; -L -c lists the
 * workers' entries; a weight change reaches both workers; FULLNAT replies come back to the worker
 * whose local ports they use; a worker killed with SIGKILL is replaced while requests still
 * succeed; SIGTERM stops everything and leaves no process; a start-up failure leaves nothing;
 * `--max-connections 4` gives each worker 2 entries of its own (a full worker refuses new clients
 * while the other still takes its own).
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { directorSchedulers } from '../src/control/daemon/engine-mirror';
import { loadRules } from '../src/control/rules-file';
import { nsRun } from '../src/lab/netns';
import { fanoutProgram } from '../src/live/fanout-program';
import { runClassicBpf } from './support/cbpf-interpreter';
import { client, labDown, labUp, sleep, tempDir, uvsadm, type LabStatus } from './support/e2e-lab';
import { ipPacket } from './support/io-frames';
import { UVS, uniqueLabName } from './support/lab-cli';

/** The lab's client address (lab address plan). */
const CLIENT = '10.71.1.2';
const PORT_PROBE = path.join(__dirname, 'support', 'port-probe.js');

interface Counts {
  counts: Record<string, number>;
  failures: string[];
  peers: Record<string, number>;
}

class RunningDirector {
  stderr = '';
  readonly exited: Promise<number | null>;
  constructor(readonly proc: ChildProcess) {
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (c: string) => (this.stderr += c));
    this.exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
  }

  async waitFor(pattern: RegExp, ms: number): Promise<RegExpExecArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = pattern.exec(this.stderr);
      if (m !== null) return m;
      if (Date.now() > deadline || this.proc.exitCode !== null) throw new Error(`director: no ${pattern} in:\n${this.stderr}`);
      await sleep(20);
    }
  }

  /** Pids of the workers as the log names them (the latest life of each). */
  workerPids(): number[] {
    const started = /"msg":"workers started","workers":\d+,"pids":\[([\d,]+)\]/.exec(this.stderr);
    const pids = started === null ? [] : started[1].split(',').map(Number);
    for (const m of this.stderr.matchAll(/"msg":"worker restarted","worker":(\d+),"pid":(\d+)/g)) pids[Number(m[1])] = Number(m[2]);
    return pids;
  }
}

function startDirector(ns: string, args: string[]): RunningDirector {
  return new RunningDirector(spawn('ip', ['netns', 'exec', ns, process.execPath, UVS, 'director', ...args], { stdio: ['ignore', 'ignore', 'pipe'] }));
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Kills what a test started and may have left (workers of a director killed without its stop). */
async function killAll(director: RunningDirector | null, extra: readonly number[]): Promise<void> {
  if (director === null) return;
  const pids = [...director.workerPids(), ...extra];
  if (director.proc.exitCode === null && director.proc.signalCode === null) {
    director.proc.kill('SIGKILL');
    await director.exited;
  }
  for (const pid of pids) {
    let cmdline = '';
    try {
      cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (cmdline.includes('worker-main')) process.kill(pid, 'SIGKILL');
  }
}

function metrics(ns: string, listen: string): string {
  const script = `require('http').get('http://${listen}/metrics',r=>{let b='';r.on('data',c=>b+=c);r.on('end',()=>process.stdout.write(b))})`;
  return spawnSync('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { encoding: 'utf8', timeout: 10_000 }).stdout;
}

function sample(page: string, name: string, labels = ''): number {
  const m = new RegExp(`^${name}${labels.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(page);
  assert.ok(m !== null, `no ${name}${labels} in the metrics page`);
  return Number(m[1]);
}

/** Frames worker k read on a link. */
function workerRx(page: string, link: string, k: number): number {
  return sample(page, 'uvs_link_received_frames_total', `{io="packet",link="${link}",worker="${k}"}`);
}

/** `-L -n --stats` rows: conns and inpkts by "service" / real server address:port. */
function listStats(socket: string): Map<string, { conns: number; inpkts: number }> {
  const rows = new Map<string, { conns: number; inpkts: number }>();
  for (const line of uvsadm(socket, '-L', '-n', '--stats').split('\n')) {
    const m = /^(?:TCP|UDP)\s+(\S+)\s+(\d+)\s+(\d+)/.exec(line) ?? /^\s+->\s+(\S+)\s+(\d+)\s+(\d+)/.exec(line);
    if (m !== null) rows.set(m[1], { conns: Number(m[2]), inpkts: Number(m[3]) });
  }
  return rows;
}

/** Waits (bounded) until check() holds: counters reach the master every 500 ms. */
async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(100);
  }
}

function connectionLines(socket: string): string[] {
  return uvsadm(socket, '-L', '-n', '-c').split('\n').filter((l) => /^(TCP|UDP) /.test(l));
}

describe('uvs director --workers 2: a NAT lab', function () {
  this.timeout(90_000);
  const name = uniqueLabName('lw');
  const listen = '127.0.0.1:9921';
  const work = tempDir('live-workers');
  const socket = path.join(work, 'uvs.sock');
  const state = path.join(work, 'state');
  const rules = path.join(work, 'rules');
  let lab: LabStatus;
  let director: RunningDirector | null = null;
  const seen: number[] = [];

  before(async () => {
    lab = labUp(name, 'nat', 2, 'rr', '--no-director');
    const [rs1, rs2] = lab.realServers;
    fs.writeFileSync(rules, [
      `-A -t ${lab.vip}:80 -s rr`,
      `-a -t ${lab.vip}:80 -r ${rs1.address}:8080 -m -w 1`,
      `-a -t ${lab.vip}:80 -r ${rs2.address}:8080 -m -w 1`,
    ].join('\n') + '\n');
    director = startDirector(lab.namespaces.director, [
      '--rules', rules, '--director', path.join(lab.dir, 'director'), '--socket', socket, '--state', state,
      '--metrics', listen, '--workers', '2',
    ]);
    await director.waitFor(/"msg":"director started"/, 30_000);
    seen.push(...director.workerPids());
  });

  after(async () => {
    await killAll(director, seen);
    labDown(name);
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('answers 200 HTTP requests correctly; both workers forward; the master\'s -L --stats adds up; -L -c lists the workers\' entries', async () => {
    const r = client<Counts>(lab.clientNamespace, 'http-many', `http://${lab.vip}/`, '200');
    assert.deepEqual(r.failures, []);
    assert.equal((r.counts.rs1 ?? 0) + (r.counts.rs2 ?? 0), 200);
    assert.deepEqual(r.peers, { [CLIENT]: 200 }, 'NAT: the real servers see the client');
    const [rs1, rs2] = lab.realServers;
    const vip = `${lab.vip}:80`;
    let rows = listStats(socket);
    await until(() => (rows = listStats(socket)).get(vip)?.conns === 200, 5000, `-L --stats: ${JSON.stringify([...rows])}`);
    // Every request was one connection, scheduled to the server that answered it.
    assert.equal(rows.get(`${rs1.address}:8080`)?.conns, r.counts.rs1);
    assert.equal(rows.get(`${rs2.address}:8080`)?.conns, r.counts.rs2);
    const inpkts = rows.get(vip)?.inpkts ?? 0;
    assert.equal(inpkts, (rows.get(`${rs1.address}:8080`)?.inpkts ?? 0) + (rows.get(`${rs2.address}:8080`)?.inpkts ?? 0));
    assert.ok(inpkts >= 200 * 4, `at least SYN, ACK, request, FIN per connection: ${inpkts}`);
    const page = metrics(lab.namespaces.director, listen);
    for (const k of [0, 1]) {
      assert.ok(workerRx(page, 'eth0', k) >= 100, `worker ${k} read ${workerRx(page, 'eth0', k)} frames from the client side`);
      assert.ok(workerRx(page, 'eth1', k) >= 100, `worker ${k} read ${workerRx(page, 'eth1', k)} replies`);
    }
    assert.equal(sample(page, 'uvs_connections_created_total'), 200);
    assert.equal(sample(page, 'uvs_frames_dropped_total', '{reason="not-connection-start"}'), 0);
    assert.equal(sample(page, 'uvs_frames_dropped_total', '{reason="unknown-reply"}'), 0);
    // The workers copy their entries into every fourth report (about every 2 s).
    let conns: string[] = [];
    await until(() => (conns = connectionLines(socket)).length === 200, 5000, `-L -c: ${conns.length} entries, not the 200 of both workers`);
    assert.ok(conns.every((l) => l.includes(`${CLIENT}:`) && l.includes(vip)));
  });

  it('a weight change made with uvsadm takes effect in both workers', async () => {
    const rs2 = lab.realServers[1];
    const before = metrics(lab.namespaces.director, listen);
    uvsadm(socket, '-e', '-t', `${lab.vip}:80`, '-r', `${rs2.address}:8080`, '-m', '-w', '0');
    await director?.waitFor(/"msg":"command applied","command":\["-e"/, 5000);
    await sleep(200); // the workers apply it as the master's message arrives
    const r = client<Counts>(lab.clientNamespace, 'http-many', `http://${lab.vip}/`, '60');
    assert.deepEqual(r.failures, []);
    assert.deepEqual(r.counts, { rs1: 60 }, 'no new connection for a weight-0 server, whichever worker took it');
    let after = '';
    await until(() => {
      after = metrics(lab.namespaces.director, listen);
      return sample(after, 'uvs_connections_created_total') === 260;
    }, 5000, 'the counters of the 60 requests');
    for (const k of [0, 1]) assert.ok(workerRx(after, 'eth0', k) > workerRx(before, 'eth0', k) + 20, `worker ${k} took part`);
    uvsadm(socket, '-e', '-t', `${lab.vip}:80`, '-r', `${rs2.address}:8080`, '-m', '-w', '1');
    await sleep(200);
    const back = client<Counts>(lab.clientNamespace, 'http-many', `http://${lab.vip}/`, '40');
    assert.deepEqual(back.failures, []);
    assert.ok((back.counts.rs2 ?? 0) >= 10 && (back.counts.rs1 ?? 0) >= 10, `rs2 is back: ${JSON.stringify(back.counts)}`);
    assert.equal((back.counts.rs1 ?? 0) + (back.counts.rs2 ?? 0), 40);
  });

  it('a worker killed with SIGKILL: requests still succeed, and the worker comes back and forwards again', async () => {
    const created = (): number => sample(metrics(lab.namespaces.director, listen), 'uvs_connections_created_total');
    // Everything so far reported (300 connections), so the victim takes no unreported count with it.
    await until(() => created() === 300, 5000, 'the earlier connections counted');
    const [, victim] = (director as RunningDirector).workerPids();
    assert.ok(victim > 0 && running(victim));
    process.kill(victim, 'SIGKILL');
    // Meanwhile the other worker takes every connection.
    const during = client<Counts>(lab.clientNamespace, 'http-many', `http://${lab.vip}/`, '20');
    assert.deepEqual(during.failures, []);
    const m = await director?.waitFor(/"msg":"worker restarted","worker":1,"pid":(\d+)/, 20_000);
    const pid = Number(m?.[1]);
    seen.push(pid);
    assert.ok(pid !== victim && running(pid));
    assert.ok(!running(victim));
    assert.match(director?.stderr ?? '', /"msg":"a worker ended: restarting it","worker":1,"pid":\d+,"code":null,"signal":"SIGKILL"/);
    let before = '';
    await until(() => {
      before = metrics(lab.namespaces.director, listen);
      return sample(before, 'uvs_worker_up', '{worker="1"}') === 1;
    }, 5000, 'worker 1 up');
    assert.equal(sample(before, 'uvs_worker_restarts_total', '{worker="1"}'), 1);
    const r = client<Counts>(lab.clientNamespace, 'http-many', `http://${lab.vip}/`, '100');
    assert.deepEqual(r.failures, []);
    assert.equal((r.counts.rs1 ?? 0) + (r.counts.rs2 ?? 0), 100);
    await until(() => workerRx(metrics(lab.namespaces.director, listen), 'eth0', 1) > workerRx(before, 'eth0', 1) + 50, 5000,
      'the restarted worker forwards its share');
    // Counters never went back: the ended life's counts are kept in the sums.
    await until(() => created() === 300 + 20 + 100, 5000, 'every connection counted once');
  });

  it('SIGTERM on the master stops the workers, removes the guard, saves the configuration, and leaves no process', async () => {
    const d = director as RunningDirector;
    const workers = d.workerPids();
    assert.equal(workers.filter(running).length, 2);
    assert.match(nsRun(lab.namespaces.director, 'nft', 'list', 'tables'), /table netdev uvs_guard/);
    d.proc.kill('SIGTERM');
    assert.equal(await d.exited, 0);
    await until(() => workers.every((p) => !running(p)), 5000, `workers ${workers.join(', ')} ended`);
    assert.doesNotMatch(nsRun(lab.namespaces.director, 'nft', 'list', 'tables'), /uvs_guard/);
    assert.match(fs.readFileSync(state, 'utf8'), new RegExp(`-a -t ${lab.vip.replace(/\./g, '\\.')}:80 -r ${lab.realServers[1].address.replace(/\./g, '\\.')}:8080 -m -w 1`));
    assert.equal(fs.existsSync(socket), false);
    const stopped = d.stderr.split('\n').find((l) => l.includes('"msg":"director stopped"')) ?? '';
    const logged = (JSON.parse(stopped) as { workers?: { worker: number; name: string; stats: { rxFrames: number } }[] }).workers ?? [];
    assert.deepEqual(logged.map((w) => `${w.worker}/${w.name}`), ['0/eth0', '0/eth1', '1/eth0', '1/eth1']);
    assert.equal((d.stderr.match(/"msg":"worker stopped"/g) ?? []).length, 2);
  });

  it('a start-up failure (a missing interface) is a clear error, and leaves no worker, guard or socket', async () => {
    const bad = path.join(work, 'bad-director');
    fs.writeFileSync(bad, 'link nosuch0\naddr 10.9.9.1/24 dev nosuch0\n');
    const d = startDirector(lab.namespaces.director, [
      '--rules', rules, '--director', bad, '--socket', path.join(work, 'bad.sock'), '--state', path.join(work, 'bad.state'), '--workers', '2',
    ]);
    try {
      assert.equal(await d.exited, 1);
    } finally {
      await killAll(d, []);
    }
    assert.match(d.stderr, /"msg":"director failed to start","error":"no network interface named 'nosuch0' in this network namespace"/);
    assert.doesNotMatch(d.stderr, /worker started/);
    assert.doesNotMatch(nsRun(lab.namespaces.director, 'nft', 'list', 'tables'), /uvs_guard/);
    assert.equal(fs.existsSync(path.join(work, 'bad.sock')), false);
  });

  it('--max-connections 4 with two workers: each holds 2; a full worker refuses a new client while the other takes its own', async () => {
    const [rs1, rs2] = lab.realServers;
    const udpRules = path.join(work, 'udp-rules');
    const text = [
      `-A -u ${lab.vip}:9000 -s rr`,
      `-a -u ${lab.vip}:9000 -r ${rs1.address}:9000 -m -w 1`,
      `-a -u ${lab.vip}:9000 -r ${rs2.address}:9000 -m -w 1`,
    ].join('\n') + '\n';
    fs.writeFileSync(udpRules, text);
    // Client ports the fanout program gives to worker 0 (three) and to worker 1 (two): each datagram a new connection.
    const program = fanoutProgram(loadRules(text, 'rules', { schedulers: directorSchedulers() }), { workers: 2 });
    const ports: number[][] = [[], []];
    for (let p = 20000; ports[0].length < 3 || ports[1].length < 2; p++) {
      const slot = runClassicBpf(program, ipPacket({ src: CLIENT, dst: lab.vip, proto: 17, sport: p, dport: 9000 }));
      if (ports[slot].length < 3 - slot) ports[slot].push(p);
    }
    const limited = path.join(work, 'limited.sock');
    const limitedListen = '127.0.0.1:9923';
    const d = startDirector(lab.namespaces.director, [
      '--rules', udpRules, '--director', path.join(lab.dir, 'director'), '--socket', limited, '--state', path.join(work, 'limited.state'),
      '--metrics', limitedListen, '--workers', '2', '--max-connections', '4',
    ]);
    try {
      await d.waitFor(/"msg":"director started"/, 30_000);
      const answered = (port: number): boolean =>
        client<{ failures: string[] }>(lab.clientNamespace, 'udp-many', lab.vip, '9000', '1', String(port)).failures.length === 0;
      assert.deepEqual(ports[0].map(answered), [true, true, false], `worker 0's clients (ports ${ports[0].join(', ')}): the third finds its table full`);
      assert.deepEqual(ports[1].map(answered), [true, true], `worker 1's clients (ports ${ports[1].join(', ')}) still get its two entries`);
      await until(() => {
        const page = metrics(lab.namespaces.director, limitedListen);
        return sample(page, 'uvs_connections_live') === 4 && sample(page, 'uvs_frames_dropped_total', '{reason="connection-table-full"}') === 1;
      }, 5000, 'four live entries and one connection-table-full drop');
      d.proc.kill('SIGTERM');
      assert.equal(await d.exited, 0);
    } finally {
      await killAll(d, []);
    }
  });
});

describe('uvs director --workers 2: a FULLNAT lab', function () {
  this.timeout(90_000);
  const name = uniqueLabName('lf');
  const listen = '127.0.0.1:9922';
  const work = tempDir('live-workers-fnat');
  const socket = path.join(work, 'uvs.sock');
  const rules = path.join(work, 'rules');
  let lab: LabStatus;
  let director: RunningDirector | null = null;
  let text = '';

  before(async () => {
    lab = labUp(name, 'fullnat', 2, 'rr', '--no-director');
    const [rs1, rs2] = lab.realServers;
    text = [
      `-A -t ${lab.vip}:80 -s rr`,
      `-a -t ${lab.vip}:80 -r ${rs1.address}:8080 --fullnat -w 1`,
      `-a -t ${lab.vip}:80 -r ${rs2.address}:8080 --fullnat -w 1`,
      `-P -t ${lab.vip}:80 -z 10.71.3.100`,
      `-P -t ${lab.vip}:80 -z 10.71.3.101`,
    ].join('\n') + '\n';
    fs.writeFileSync(rules, text);
    director = startDirector(lab.namespaces.director, [
      '--rules', rules, '--director', path.join(lab.dir, 'director'), '--socket', socket, '--state', path.join(work, 'state'),
      '--metrics', listen, '--workers', '2',
    ]);
    await director.waitFor(/"msg":"director started"/, 30_000);
  });

  after(async () => {
    await killAll(director, []);
    labDown(name);
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('answers 200 HTTP requests correctly, both workers forward, and the master\'s -L --stats adds up', async () => {
    const r = client<Counts>(lab.clientNamespace, 'http-many', `http://${lab.vip}/`, '200');
    assert.deepEqual(r.failures, []);
    assert.equal((r.counts.rs1 ?? 0) + (r.counts.rs2 ?? 0), 200);
    assert.deepEqual(Object.keys(r.peers).sort(), ['10.71.3.100', '10.71.3.101'], 'FULLNAT: the real servers see the local addresses');
    const [rs1, rs2] = lab.realServers;
    const vip = `${lab.vip}:80`;
    let rows = listStats(socket);
    await until(() => (rows = listStats(socket)).get(vip)?.conns === 200, 5000, `-L --stats: ${JSON.stringify([...rows])}`);
    assert.equal(rows.get(`${rs1.address}:8080`)?.conns, r.counts.rs1);
    assert.equal(rows.get(`${rs2.address}:8080`)?.conns, r.counts.rs2);
    const page = metrics(lab.namespaces.director, listen);
    for (const k of [0, 1]) {
      assert.ok(workerRx(page, 'eth0', k) >= 100, `worker ${k}: client side`);
      assert.ok(workerRx(page, 'eth1', k) >= 100, `worker ${k}: replies to the local addresses`);
    }
    assert.equal(sample(page, 'uvs_frames_dropped_total', '{reason="unknown-reply"}'), 0);
    assert.equal(sample(page, 'uvs_frames_dropped_total', '{reason="not-connection-start"}'), 0);
  });

  it('each worker uses only its own local ports (p % 2 == k), the ones the fanout program sends its replies to', () => {
    const program = fanoutProgram(loadRules(text, 'rules', { schedulers: directorSchedulers() }), { workers: 2 });
    const out = spawnSync('ip', ['netns', 'exec', lab.clientNamespace, process.execPath, PORT_PROBE, `http://${lab.vip}/`, '100'], { encoding: 'utf8', timeout: 120_000 });
    const probe = JSON.parse(out.stdout) as { results: { cport: number; peer: string; body: string }[]; failures: string[] };
    assert.deepEqual(probe.failures, []);
    assert.equal(probe.results.length, 100);
    const slots = new Set<number>();
    for (const { cport, peer, body } of probe.results) {
      assert.match(body, /^rs[12]$/);
      const lport = Number(peer.split(':')[1]);
      const slot = runClassicBpf(program, ipPacket({ src: CLIENT, dst: lab.vip, proto: 6, sport: cport, dport: 80 }));
      assert.equal(lport % 2, slot, `client port ${cport} (worker ${slot}) got local port ${lport}`);
      slots.add(slot);
    }
    assert.deepEqual([...slots].sort(), [0, 1]);
  });
});
