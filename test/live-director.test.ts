/**
 * `uvs director` attached to real links (a NAT lab built without its director, the director
 * started here with metrics): checksums a sender left to hardware are finished, a real server
 * added with uvsadm has its MAC resolved and gets connections at once, per-link counters are
 * served, SIGTERM stops it cleanly (configuration saved, kernel guard removed), and a missing
 * interface is a clear start-up error that leaves nothing behind.
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { nsRun } from '../src/lab/netns';
import { UVS, uniqueLabName } from './support/lab-cli';
import { client, labDown, labUp, sleep, tempDir, uvsadm, type LabStatus } from './support/e2e-lab';

interface Counts {
  counts: Record<string, number>;
  failures: string[];
}

const METRICS = '127.0.0.1:9911';

class RunningDirector {
  stderr = '';
  readonly exited: Promise<number | null>;
  constructor(readonly proc: ChildProcess) {
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (c: string) => (this.stderr += c));
    this.exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
  }

  async waitFor(text: string, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.stderr.includes(text)) {
      if (Date.now() > deadline || this.proc.exitCode !== null) throw new Error(`director: no "${text}" in:\n${this.stderr}`);
      await sleep(20);
    }
  }
}

function startDirector(ns: string, args: string[]): RunningDirector {
  return new RunningDirector(spawn('ip', ['netns', 'exec', ns, process.execPath, UVS, 'director', ...args], { stdio: ['ignore', 'ignore', 'pipe'] }));
}

/** The /metrics page, fetched inside the director's namespace. */
function metrics(ns: string): string {
  const script = `require('http').get('http://${METRICS}/metrics',r=>{let b='';r.on('data',c=>b+=c);r.on('end',()=>process.stdout.write(b))})`;
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { encoding: 'utf8', timeout: 10_000 });
  return r.stdout;
}

function sample(page: string, name: string, labels = ''): number {
  const m = new RegExp(`^${name}${labels.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(page);
  assert.ok(m !== null, `no ${name}${labels} in the metrics page`);
  return Number(m[1]);
}

describe('uvs director on real links', function () {
  this.timeout(60_000);
  const name = uniqueLabName('ld');
  let lab: LabStatus;
  let director: RunningDirector | null = null;
  const work = tempDir('live-director');
  const socket = path.join(work, 'uvs.sock');
  const state = path.join(work, 'state');
  const rules = path.join(work, 'rules');

  before(async () => {
    lab = labUp(name, 'nat', 2, 'rr', '--no-director');
    const [rs1] = lab.realServers;
    // Only rs1 at first: rs2 is added live below, and its MAC must then be found.
    fs.writeFileSync(rules, `-A -t ${lab.vip}:80 -s rr\n-a -t ${lab.vip}:80 -r ${rs1.address}:8080 -m -w 1\n`);
    director = startDirector(lab.namespaces.director, [
      '--rules', rules, '--director', path.join(lab.dir, 'director'), '--socket', socket, '--state', state, '--metrics', METRICS,
    ]);
    await director.waitFor('"msg":"director started"', 15_000);
  });

  after(async () => {
    if (director !== null && director.proc.exitCode === null) {
      director.proc.kill('SIGKILL');
      await director.exited;
    }
    labDown(name);
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('finishes the checksums of frames whose sender left them to hardware', () => {
    // The client's kernel leaves the sum to the device; the router forwards such frames as they
    // are only when its own link to the director also offloads checksums.
    nsRun(lab.clientNamespace, 'ethtool', '-K', 'eth0', 'tx', 'on');
    nsRun(lab.namespaces.router, 'ethtool', '-K', 'f0', 'tx', 'on');
    try {
      const r = client<Counts>(lab.clientNamespace, 'http-many', `http://${lab.vip}/`, '20');
      assert.deepEqual(r.failures, []);
      assert.equal(r.counts.rs1, 20);
    } finally {
      nsRun(lab.clientNamespace, 'ethtool', '-K', 'eth0', 'tx', 'off');
      nsRun(lab.namespaces.router, 'ethtool', '-K', 'f0', 'tx', 'off');
    }
    assert.ok(sample(metrics(lab.namespaces.director), 'uvs_checksums_finished_total') > 0, 'no checksum was finished');
  });

  it('a real server added with uvsadm has its MAC resolved and gets connections at once', async () => {
    const rs2 = lab.realServers[1];
    uvsadm(socket, '-a', '-t', `${lab.vip}:80`, '-r', `${rs2.address}:8080`, '-m', '-w', '1');
    const r = client<Counts>(lab.clientNamespace, 'http-many', `http://${lab.vip}/`, '20');
    assert.deepEqual(r.failures, []);
    assert.deepEqual(r.counts, { rs1: 10, rs2: 10 });
    await director?.waitFor(`"msg":"neighbour learned","addr":"${rs2.address}"`, 5000);
  });

  it('serves per-link counters: frames read and sent on each link, no ring drops', () => {
    const page = metrics(lab.namespaces.director);
    assert.ok(sample(page, 'uvs_link_received_frames_total', '{io="packet",link="eth0"}') >= 40 * 3);
    assert.ok(sample(page, 'uvs_link_transmitted_frames_total', '{io="packet",link="eth1"}') >= 40 * 3);
    assert.ok(sample(page, 'uvs_link_transmitted_frames_total', '{io="packet",link="eth0"}') >= 40 * 3);
    assert.equal(sample(page, 'uvs_link_receive_dropped_total', '{io="packet",link="eth0"}'), 0);
  });

  it('SIGTERM: the configuration is saved, the kernel guard removed, the links\' counters logged', async () => {
    assert.match(nsRun(lab.namespaces.director, 'nft', 'list', 'tables'), /table netdev uvs_guard/);
    director?.proc.kill('SIGTERM');
    assert.equal(await director?.exited, 0);
    assert.doesNotMatch(nsRun(lab.namespaces.director, 'nft', 'list', 'tables'), /uvs_guard/);
    assert.match(fs.readFileSync(state, 'utf8'), new RegExp(`-a -t ${lab.vip.replace(/\./g, '\\.')}:80 -r ${lab.realServers[1].address.replace(/\./g, '\\.')}:8080 -m`));
    const stopped = director?.stderr.split('\n').find((l) => l.includes('"msg":"director stopped"')) ?? '';
    const live = (JSON.parse(stopped) as { live?: { ports: { name: string; stats: { rxFrames: number } }[] } }).live;
    assert.deepEqual(live?.ports.map((p) => p.name), ['eth0', 'eth1']);
    assert.ok((live?.ports[0].stats.rxFrames ?? 0) > 0);
  });

  it('a director file naming a missing interface is a clear start-up error, and nothing is left behind', async () => {
    const bad = path.join(work, 'bad-director');
    fs.writeFileSync(bad, 'link nosuch0\naddr 10.9.9.1/24 dev nosuch0\n');
    const d = startDirector(lab.namespaces.director, ['--rules', rules, '--director', bad, '--socket', path.join(work, 'bad.sock'), '--state', path.join(work, 'bad.state')]);
    assert.equal(await d.exited, 1);
    assert.match(d.stderr, /"msg":"director failed to start","error":"no network interface named 'nosuch0' in this network namespace"/);
    assert.doesNotMatch(nsRun(lab.namespaces.director, 'nft', 'list', 'tables'), /uvs_guard/);
    assert.equal(fs.existsSync(path.join(work, 'bad.sock')), false);
  });
});
