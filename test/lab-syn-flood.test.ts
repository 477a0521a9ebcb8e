/**
 * Bounded resources under a SYN flood, in the lab (issue 7; the replay half is
 * test/replay-syn-flood.test.ts). A NAT lab is brought up without its director; the director is
 * started here, in the director namespace, with the lab's own command line plus
 * `--max-connections 20000 --metrics` - once as one process, once with `--workers 2` (each worker
 * then holds at most 10,000). While a paced download runs from the client to VIP:80, trafgen in
 * the client namespace sends FLOOD_SYNS TCP SYNs to VIP:80 from spoofed sources: FLOOD_SYNS
 * distinct addresses of 10.128.0.0/12, counted up one by one (trafgen's random draws over the /12
 * would repeat a third of them), with random source ports. Shown, for both directors:
 * - the connection count never goes over the limit (sampled through the flood) and ends at it;
 * - every SYN read beyond the room is refused and counted as connection-table-full;
 * - the resident memory of the director (and of each worker) grows by less than RSS_GROWTH_BOUND
 *   (the tables are typed arrays sized for the limit when the director starts);
 * - the download completes with every byte right and in time;
 * - a new HTTP request while the flood's entries fill the table is refused (the documented
 *   policy: its SYN is dropped, so the client times out);
 * - the director serves /metrics through the flood, answers uvsadm after it, and stops cleanly.
 *   (uvsadm is not asked during the flood: every listing, -L -n too, copies the whole connection
 *   table, which would be measured as the flood's memory.)
 *
 * The spoofed addresses live only inside the lab: every link of every lab namespace is a veth to
 * another lab namespace (checked), the router forwards the flood (rp_filter 0, checked), and the
 * SYN-ACKs the director sends back for the admitted SYNs die in the router on a blackhole route
 * (no ICMP, nothing to the client). Every flood is bounded in count (trafgen -n) and in time
 * (timeout, then SIGKILL of its process group); `uvs lab down` runs in after(), also on failure.
 */
import { strict as assert } from 'node:assert';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { labSpec } from '../src/lab/lab-plan';
import { directorCommand } from '../src/lab/lab-servers';
import { linkMac, nsIp, nsRun } from '../src/lab/netns';
import { REPORT_INTERVAL_MS } from '../src/live/workers/worker-protocol';
import { BackgroundClient, E2E_CLIENT, labDown, labUp, sleep, tempDir, uvsadm, type LabStatus } from './support/e2e-lab';
import { uniqueLabName } from './support/lab-cli';

/** The flood: this many SYNs, each from its own address. */
const FLOOD_SYNS = 1_000_000;
/** --max-connections: the whole director's. */
const LIMIT = 20_000;
/** The spoofed sources: 10.128.0.0/12 (2^20 addresses, none of them used by the lab). */
const SPOOFED_NET = '10.128.0.0/12';
const SPOOFED_FIRST = 0x0a800000;
const SPOOFED_LAST = 0x0a8fffff;
/** Bounds on trafgen: it ends after this (SIGINT, SIGKILL 3 s later); the test kills its group 5 s after that. */
const FLOOD_TIMEOUT_S = 30;
/** The established connection: a paced download spanning the flood. */
const STREAM_BYTES = 4 << 20;
const STREAM_MS = 8000;
/** It must end within its pace plus this. */
const STREAM_SLACK_MS = 6000;
/** How often the counters are read during the flood (each read is a node process in the director namespace). */
const SAMPLE_MS = 250;
/** Where the director serves /metrics (inside the director namespace). */
const METRICS = '127.0.0.1:9931';
/**
 * Each process of the director (the director; with workers, the master and each worker) may grow
 * its resident memory by less than this through the flood. What it needs: its tables at the limit
 * (LIMIT entries of 56 bytes, about 1.1 MB: the typed arrays are allocated for the limit at
 * start and their pages come in as entries are first written); the packet rings are mapped (and
 * resident) from the start; the rest is the JavaScript heap's working room, which the per-packet
 * path (allocating nothing) does not grow, and for workers the copies of up to 4096 entries each
 * report carries every 2 s (300 kB each, freed by the garbage collector later). A table that kept
 * the flood's entries would need up to 56 MB more.
 */
const RSS_GROWTH_BOUND = 16 << 20;

interface Transfer {
  status?: number;
  bytes: number;
  mismatchAt?: number;
  ms?: number;
  error?: string;
}

/** A command's stdout, asynchronously (the samplers go on meanwhile). */
function output(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 16 << 20 }, (e, stdout) => (e ? reject(e) : resolve(stdout)));
  });
}

/** The director's /metrics page, fetched from inside its namespace. */
function metricsPage(ns: string): Promise<string> {
  const script = `require('http').get('http://${METRICS}/metrics',r=>{let b='';r.on('data',c=>b+=c);r.on('end',()=>process.stdout.write(b))})`;
  return output('ip', ['netns', 'exec', ns, process.execPath, '-e', script], 10_000);
}

/** The sum of every sample of a family whose labels contain `labels` (e.g. `link="eth0"`). */
function total(page: string, name: string, labels = ''): number {
  let sum = 0;
  let found = false;
  for (const line of page.split('\n')) {
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name || !(m[2] ?? '').includes(labels)) continue;
    sum += Number(m[3]);
    found = true;
  }
  assert.ok(found, `no ${name}${labels === '' ? '' : `{${labels}}`} in the metrics page`);
  return sum;
}

interface Counters {
  /** Every drop reason's count. */
  drops: Map<string, number>;
  live: number;
  created: number;
  tableFull: number;
  eth0Read: number;
  eth0RingDrops: number;
}

async function counters(ns: string): Promise<Counters> {
  const page = await metricsPage(ns);
  const drops = new Map<string, number>();
  for (const m of page.matchAll(/^uvs_frames_dropped_total\{reason="([^"]+)"\} (\S+)$/gm)) drops.set(m[1], Number(m[2]));
  return {
    drops,
    live: total(page, 'uvs_connections_live'),
    created: total(page, 'uvs_connections_created_total'),
    tableFull: total(page, 'uvs_frames_dropped_total', 'reason="connection-table-full"'),
    eth0Read: total(page, 'uvs_link_received_frames_total', 'link="eth0"'),
    eth0RingDrops: total(page, 'uvs_link_receive_dropped_total', 'link="eth0"'),
  };
}

/** A link's packet counters (iproute2's stats64); `txOffered` counts what the veth dropped too. */
function linkPackets(ns: string, dev: string): { rx: number; txOffered: number } {
  type Dir = { packets: number; dropped: number };
  const [l] = JSON.parse(nsIp(ns, '-s', '-j', 'link', 'show', 'dev', dev)) as { stats64: { rx: Dir; tx: Dir } }[];
  return { rx: l.stats64.rx.packets, txOffered: l.stats64.tx.packets + l.stats64.tx.dropped };
}

/** ICMP messages a namespace's kernel has sent (Icmp OutMsgs of its /proc/net/snmp). */
function icmpSent(ns: string): number {
  const lines = nsRun(ns, 'cat', '/proc/net/snmp').split('\n').filter((l) => l.startsWith('Icmp:'));
  const names = lines[0].split(/\s+/);
  const values = lines[1].split(/\s+/);
  return Number(values[names.indexOf('OutMsgs')]);
}

function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m !== null, `no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Problems that would let a packet leave the lab: a link other than lo or a bridge that is not a
 * veth, or a veth whose peer is in a namespace outside the lab.
 */
function exitsFromLab(namespaces: readonly string[]): string[] {
  const problems: string[] = [];
  for (const ns of namespaces) {
    const peers = new Map<number, string>();
    for (const m of nsIp(ns, 'netns', 'list-id').matchAll(/nsid (\d+) \(iproute2 netns name: (\S+)\)/g)) peers.set(Number(m[1]), m[2]);
    const links = JSON.parse(nsIp(ns, '-d', '-j', 'link', 'show')) as { ifname: string; link_netnsid?: number; linkinfo?: { info_kind?: string } }[];
    for (const l of links) {
      const kind = l.linkinfo?.info_kind;
      if (l.ifname === 'lo' || kind === 'bridge') continue;
      if (kind !== 'veth') {
        problems.push(`${ns}: ${l.ifname} is ${kind ?? 'a device'}, not a veth`);
        continue;
      }
      const peer = l.link_netnsid === undefined ? ns : peers.get(l.link_netnsid);
      if (peer === undefined || !namespaces.includes(peer)) problems.push(`${ns}: ${l.ifname}'s peer is in ${peer ?? `netnsid ${l.link_netnsid}`}`);
    }
  }
  return problems;
}

/** trafgen's configuration: TCP SYNs to VIP:80, sources counted up through 10.128.0.0/12, random ports. */
function floodConfig(dstMac: string, srcMac: string, vip: string): string {
  return [
    '# uvs lab SYN flood (test/lab-syn-flood.test.ts)',
    '{',
    `  eth(da=${dstMac}, sa=${srcMac}),`,
    `  ipv4(ttl=64, df, da=${vip}, sa=10.128.0.0, sa=dinc(${SPOOFED_FIRST}, ${SPOOFED_LAST})),`,
    '  tcp(sp=drnd(1024, 65535), dp=80, seq=drnd(), syn, win=64240)',
    '}',
    '',
  ].join('\n');
}

/** trafgen in ns, bounded by -n and by time; resolves to its count of packets sent. */
function flood(ns: string, conf: string, procs: Set<ChildProcess>): Promise<{ sent: number; output: string }> {
  const child = spawn('ip', ['netns', 'exec', ns, 'timeout', '-s', 'INT', '-k', '3', String(FLOOD_TIMEOUT_S),
    'trafgen', '--dev', 'eth0', '--conf', conf, '--cpus', '1', '--num', String(FLOOD_SYNS), '--notouch-irq'],
  { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  procs.add(child);
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  const guard = setTimeout(() => killGroup(child), (FLOOD_TIMEOUT_S + 5) * 1000);
  return new Promise((resolve) => {
    child.once('close', () => {
      clearTimeout(guard);
      procs.delete(child);
      const m = /(\d+)\s+packets outgoing/.exec(text);
      resolve({ sent: m === null ? -1 : Number(m[1]), output: text });
    });
  });
}

function killGroup(child: ChildProcess): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

class Director {
  stderr = '';
  readonly exited: Promise<number | null>;
  constructor(readonly proc: ChildProcess) {
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (c: string) => (this.stderr += c));
    this.exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
  }

  async started(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.stderr.includes('"msg":"director started"')) {
      if (Date.now() > deadline || this.proc.exitCode !== null) throw new Error(`the director did not start:\n${this.stderr}`);
      await sleep(20);
    }
  }

  /** The director's pid and its workers' (from the log). */
  pids(): number[] {
    const m = /"msg":"workers started","workers":\d+,"pids":\[([\d,]+)\]/.exec(this.stderr);
    return [this.proc.pid ?? 0, ...(m === null ? [] : m[1].split(',').map(Number))];
  }

  async stop(): Promise<number | null> {
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

describe('lab: a SYN flood of a million spoofed sources against --max-connections', function () {
  this.timeout(90_000);
  const name = uniqueLabName('sf');
  const work = tempDir('syn-flood');
  const conf = path.join(work, 'flood.trafgen');
  const procs = new Set<ChildProcess>();
  let lab: LabStatus;
  let directorArgs: { cmd: string; args: string[] };
  let director: Director | null = null;

  before(() => {
    lab = labUp(name, 'nat', 2, 'rr', '--no-director');
    const ns = lab.namespaces;
    // Replies to the spoofed sources end here, silently (a blackhole route sends no ICMP).
    nsIp(ns.router, 'route', 'add', 'blackhole', SPOOFED_NET);
    fs.writeFileSync(conf, floodConfig(linkMac(ns.router, 'c0'), linkMac(ns.client, 'eth0'), lab.vip));
    directorArgs = directorCommand(labSpec(name, 'nat', 2, 'rr'));
  });

  after(async () => {
    for (const p of procs) {
      killGroup(p);
      p.kill('SIGKILL');
    }
    if (director !== null && director.proc.exitCode === null) {
      director.proc.kill('SIGKILL');
      await director.exited;
    }
    labDown(name);
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('the lab is a closed world for the spoofed addresses: veths between lab namespaces only, rp_filter 0, a blackhole route', () => {
    const ns = lab.namespaces;
    const all = [ns.client, ns.router, ns.director, ns.switch, ...ns.realServers];
    assert.deepEqual(exitsFromLab(all), []);
    for (const key of ['all', 'c0']) assert.equal(nsRun(ns.router, 'sysctl', '-n', `net.ipv4.conf.${key}.rp_filter`).trim(), '0', `router ${key}.rp_filter`);
    assert.match(nsIp(ns.router, 'route', 'show', SPOOFED_NET), /^blackhole 10\.128\.0\.0\/12/);
    assert.doesNotMatch(nsIp(ns.router, 'route', 'show', 'default'), /\S/, 'the router has no default route');
  });

  for (const workers of [1, 2]) {
    it(`${workers === 1 ? 'one process' : '--workers 2'}: the table stops at ${LIMIT}, the rest is refused and counted, memory stays bounded, the download completes`, async () => {
      const ns = lab.namespaces;
      const extra = ['--max-connections', String(LIMIT), '--metrics', METRICS, ...(workers > 1 ? ['--workers', String(workers)] : [])];
      const d = new Director(spawn('ip', ['netns', 'exec', ns.director, directorArgs.cmd, ...directorArgs.args, ...extra], { stdio: ['ignore', 'ignore', 'pipe'] }));
      director = d;
      try {
        await floodCase(d, workers);
      } finally {
        // Stopped whatever happened (the next case needs the socket); a clean stop is part of the case.
        const code = await d.stop();
        director = null;
        assert.equal(code, 0, `the director's exit status:\n${d.stderr.slice(-2000)}`);
      }
    });
  }

  async function floodCase(d: Director, workers: number): Promise<void> {
    const ns = lab.namespaces;
    const socket = lab.socket;
    await d.started(30_000);
    const pids = d.pids();
    assert.equal(pids.length, 1 + (workers > 1 ? workers : 0));

    // The established connection, then the memory baseline.
    const download = new BackgroundClient(lab.clientNamespace, 'stream', `http://${lab.vip}/stream/${STREAM_BYTES}/${STREAM_MS}`);
    procs.add(download.proc);
    await download.waitForLines(1, 5000);
    // The client's and the router's counters first, the director's after its next report (workers
    // report every REPORT_INTERVAL_MS): whatever the director counts from here on, they count too.
    const clientBefore = linkPackets(ns.client, 'eth0');
    const routerFrontBefore = linkPackets(ns.router, 'f0');
    const icmpBefore = icmpSent(ns.router);
    await sleep(REPORT_INTERVAL_MS + 100);
    const rssBefore = pids.map(rssBytes);
    const rssMax = [...rssBefore];
    const sampleRss = (): void => pids.forEach((p, i) => (rssMax[i] = Math.max(rssMax[i], rssBytes(p))));
    const before = await counters(ns.director);

    // The flood, sampled as it goes: resident memory every 100 ms, the live entries every SAMPLE_MS.
    const sending = flood(lab.clientNamespace, conf, procs);
    let liveMax = before.live;
    let samples = 0;
    let sampling = true;
    const rssTimer = setInterval(sampleRss, 100);
    const liveSampler = (async () => {
      while (sampling) {
        liveMax = Math.max(liveMax, (await counters(ns.director)).live);
        samples++;
        await sleep(SAMPLE_MS);
      }
    })();
    let probe: Promise<string> = Promise.resolve('');
    try {
      // Once the flood holds the table: a new client's request.
      const deadline = Date.now() + 10_000;
      while ((await counters(ns.director)).live < LIMIT) {
        assert.ok(Date.now() < deadline, 'the flood did not fill the table within 10 s');
        await sleep(SAMPLE_MS);
      }
      probe = output('ip', ['netns', 'exec', lab.clientNamespace, process.execPath, E2E_CLIENT, 'http-many', `http://${lab.vip}/`, '1'], 10_000);
      const sent = await sending;
      assert.equal(sent.sent, FLOOD_SYNS, `trafgen: ${sent.output}`);
    } finally {
      sampling = false;
      await liveSampler;
      clearInterval(rssTimer);
    }
    const probed = JSON.parse((await probe).trim().split('\n').pop() ?? '{}') as { failures: string[] };
    await download.done(STREAM_MS + STREAM_SLACK_MS + 5000);
    procs.delete(download.proc);
    sampleRss();
    // Then the director's counters (once the workers' reports are in), the client's and the router's.
    await sleep(workers > 1 ? 2 * REPORT_INTERVAL_MS + 200 : 300);
    const after = await counters(ns.director);
    const clientAfter = linkPackets(ns.client, 'eth0');
    const routerFront = linkPackets(ns.router, 'f0').rx - routerFrontBefore.rx;
    const clientRx = clientAfter.rx - clientBefore.rx;
    const growth = rssMax.map((m, i) => m - rssBefore[i]);
    const read = after.eth0Read - before.eth0Read;
    const ringDrops = after.eth0RingDrops - before.eth0RingDrops;
    const created = after.created - before.created;
    const refused = after.tableFull - before.tableFull;
    // Frames the client sent that were not the flood's (the download's ACKs, the probe's SYNs).
    const clientOwn = clientAfter.txOffered - clientBefore.txOffered - FLOOD_SYNS;
    const dropped = Object.fromEntries([...after.drops].map(([r, n]) => [r, n - (before.drops.get(r) ?? 0)]).filter(([, n]) => n !== 0));
    const report = { dropped, workers, read, ringDrops, created, refused, live: after.live, liveMax, samples, growth, clientOwn, routerFront, clientRx };
    console.log(`      ${JSON.stringify(report)}`);

    // The established connection: every byte, in time.
    const result = download.lines[download.lines.length - 1] as Transfer;
    assert.equal(result.error, undefined, `the download failed: ${JSON.stringify(result)}`);
    assert.equal(result.status, 200);
    assert.equal(result.bytes, STREAM_BYTES);
    assert.equal(result.mismatchAt, -1, 'every byte as the real server sent it');
    assert.ok((result.ms ?? Infinity) < STREAM_MS + STREAM_SLACK_MS, `the download took ${result.ms} ms`);

    // The table: full, never beyond; the flood reached the director (read, or dropped by its full ring).
    assert.ok(read + ringDrops >= FLOOD_SYNS * 0.95, `the director got ${read} + ${ringDrops} ring drops of ${FLOOD_SYNS} SYNs`);
    assert.ok(liveMax <= LIMIT && samples >= 3, `at most ${LIMIT} entries in ${samples} samples: ${liveMax}`);
    assert.equal(after.live, LIMIT, 'the table is full at its limit');
    assert.equal(created, LIMIT - before.live, 'the flood took exactly the room there was');
    // Every SYN read beyond that room is refused and counted: what eth0 brought in is the flood,
    // the client's own frames (the download's ACKs, the probe's SYNs) and nothing else.
    assert.ok(refused <= read - created && refused >= read - created - clientOwn,
      `connection-table-full ${refused}: ${read} read, ${created} admitted, ${clientOwn} frames of the client's own`);

    // The new client during the flood: refused (its SYN dropped), so it times out.
    assert.equal(probed.failures.length, 1, `the new request: ${JSON.stringify(probed)}`);
    assert.match(probed.failures[0], /timeout after \d+ ms/);

    // Memory: bounded by the tables sized for the limit, not by the flood.
    growth.forEach((g, i) => assert.ok(g < RSS_GROWTH_BOUND, `pid ${pids[i]}: resident memory grew by ${(g / 1048576).toFixed(1)} MiB`));

    // The SYN-ACKs for the admitted SYNs went to the router and died there: what the router got
    // from the director beyond what the client received (its download), and no ICMP.
    assert.ok(routerFront - clientRx >= created / 2, `the router got ${routerFront} frames from the director, the client ${clientRx}`);
    assert.equal(icmpSent(ns.router) - icmpBefore, 0, 'the router sent no ICMP');

    // Still there: uvsadm answers, and the per-server counts add up to the table.
    assert.ok(pids.every(alive), 'the director (and its workers) still run');
    assert.match(uvsadm(socket, '-L', '-n'), new RegExp(`^TCP  ${lab.vip.replace(/\./g, '\\.')}:80 rr`, 'm'));
    const rows = uvsadm(socket, '-L', '-n').split('\n').map((l) => /^\s+->\s+\S+:8080\s+\S+\s+\d+\s+(\d+)\s+(\d+)/.exec(l)).filter((m) => m !== null);
    assert.equal(rows.length, 2);
    assert.equal(rows.reduce((a, m) => a + Number(m[1]) + Number(m[2]), 0), LIMIT);
  }
});
