/**
 * End to end, with real processes (dist/src/cli/uvs.js and uvsadm.js after `npx tsc -p .`) in
 * temporary directories: `uvs director --replay` runs a generated capture of 3000 TCP flows to
 * one VIP with three real servers (about 4 s at --replay-speed 5), with --metrics on a free
 * localhost port and a temporary UVS_SOCKET. Mid-run `uvsadm -e ... -w 0` quiesces one real
 * server; afterwards `uvsadm -L -n --stats --exact`, `--rate` and `-L -n` show that it got no
 * connection after the change while the others went on, that the counters add up to the
 * capture, that the rates were non-zero during the run and end as the kernel's estimator gives
 * for the capture, and node_ipvs_* on /metrics (fetched with Node's http client) agree with the
 * listings. A second run loops a capture at full speed, answers uvsadm quickly meanwhile, and
 * stops cleanly on SIGTERM.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { CaptureReader } from '../src/pcap/capture-reader';
import { Director, removeTempDirs, tempDir, uvsadm, type LogRecord } from './control-daemon-harness';
import { parseExposition, sampleOf, type ParsedFamily } from './control-metrics-parser';
import { FLOW_VIP, FRAMES_PER_FLOW, T0_SEC, flows, kernelRates, writeCapture } from './director-capture';

const VIP = FLOW_VIP;
const REAL = ['10.0.0.11', '10.0.0.12', '10.0.0.13'];
const RULES = `-A -t ${VIP}:80 -s rr\n${REAL.map((r) => `-a -t ${VIP}:80 -r ${r}:80 -g -w 1\n`).join('')}`;
const DIRECTOR = `link eth0 mac 02:00:00:00:00:01 mtu 1500
addr 10.0.0.1/24 dev eth0
neigh 10.0.0.254 lladdr 02:00:00:00:00:fe dev eth0
${REAL.map((r) => `neigh ${r} lladdr 02:00:00:00:01:${r.split('.')[3]} dev eth0`).join('\n')}
route default via 10.0.0.254 dev eth0
`;

/** `-L -n --stats --exact` or `--rate --exact`: the service row and each real server's, five numbers each. */
function rows(listing: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const line of listing.split('\n')) {
    const m = /^(?:TCP +(\S+)|  -> (\S+)) +(\d+) +(\d+) +(\d+) +(\d+) +(\d+)$/.exec(line);
    if (m !== null) out.set(m[1] !== undefined ? 'service' : m[2], m.slice(3).map(Number));
  }
  return out;
}

function row(listing: string, key: string): number[] {
  const r = rows(listing).get(key);
  assert.ok(r !== undefined, `no row ${key} in:\n${listing}`);
  return r;
}

function fetchText(port: number, pathname: string): Promise<{ status: number; contentType: string; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: pathname, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type']), body }));
    }).on('error', reject);
  });
}

async function metrics(port: number): Promise<Map<string, ParsedFamily>> {
  const r = await fetchText(port, '/metrics');
  assert.equal(r.status, 200);
  assert.equal(r.contentType, 'text/plain; version=0.0.4; charset=utf-8');
  return parseExposition(r.body);
}

function metricsPort(d: Director): number {
  const started = d.logs.find((l) => l.msg === 'director started') as LogRecord;
  const m = /^127\.0\.0\.1:(\d+)$/.exec(String(started.metrics));
  assert.ok(m !== null, `metrics address in ${JSON.stringify(started)}`);
  return Number(m[1]);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe('uvs director end to end: a replayed stream, uvsadm mid-run, counters, rates and /metrics', function () {
  this.timeout(60000);
  const directors: Director[] = [];

  after(async () => {
    for (const d of directors) await d.kill();
    removeTempDirs();
  });

  it('quiesces a real server mid-run; counters, rates and node_ipvs_* agree with the capture and each other', async () => {
    const dir = tempDir('uvs-e2e-');
    const FLOWS = 3000;
    // 150 flows a second for 20 s of capture time: about 4 s at speed 5.
    const frames = flows(Array.from({ length: FLOWS }, (_, i) => 0.25 + (i * 20) / FLOWS));
    const input = path.join(dir, 'in.pcap');
    const output = path.join(dir, 'out.pcap');
    writeCapture(input, frames);
    const started = Date.now();
    const d = await Director.start({
      dir, rules: RULES, director: DIRECTOR,
      extraArgs: ['--replay', input, '--replay-speed', '5', '--replay-out', output, '--metrics', '127.0.0.1:0'],
    });
    directors.push(d);
    const port = metricsPort(d);
    const socket = d.socket;
    const listing = async (...argv: string[]): Promise<string> => {
      const r = await d.request(argv);
      assert.equal(r.exitCode, 0, r.stderr);
      return r.stdout;
    };

    // During the run, once the estimator has sampled: non-zero rates.
    const midRates = await until('non-zero rates', 10000, async () => {
      const r = row(await listing('-L', '-n', '--rate', '--exact'), 'service');
      return r[0] > 0 ? r : null;
    });
    assert.ok(midRates[1] > 0 && midRates[3] > 0, `CPS, InPPS and InBPS during the run: ${midRates}`);
    assert.equal(midRates[2] + midRates[4], 0, 'DR: nothing outgoing');

    // A third of the way in, quiesce 10.0.0.12 with the real uvsadm.
    await until('a third of the flows', 10000, async () => (row(await listing('-L', '-n', '--stats', '--exact'), 'service')[0] >= FLOWS / 3 ? true : null));
    const edit = uvsadm(['-e', '-t', `${VIP}:80`, '-r', '10.0.0.12:80', '-g', '-w', '0'], { socket });
    assert.deepEqual(edit, { stdout: '', stderr: '', exitCode: 0 });
    const atChange = uvsadm(['-L', '-n', '--stats', '--exact'], { socket }).stdout;
    const changeConns = row(atChange, 'service')[0];
    assert.ok(changeConns < FLOWS * 0.8, `the change came mid-run (${changeConns} of ${FLOWS} connections made)`);
    const quiesced = row(atChange, '10.0.0.12:80')[0];
    assert.ok(quiesced > 0);
    const midPage = await metrics(port);
    assert.equal(sampleOf(midPage, 'node_ipvs_backend_weight', { remote_address: '10.0.0.12' }).value, 0);
    assert.equal(sampleOf(midPage, 'node_ipvs_backend_weight', { remote_address: '10.0.0.11' }).value, 1);

    const finished = await d.waitForLog((l) => l.msg === 'replay finished', 20000);
    assert.equal(finished.reason, 'end of capture');
    assert.equal(finished.frames, frames.length);
    assert.equal(d.exitCode, null, 'the director serves on after the capture');

    // Counters: every flow made one connection; 10.0.0.12 got none after the change; the others went on.
    const stats = uvsadm(['-L', '-n', '--stats', '--exact'], { socket });
    assert.equal(stats.exitCode, 0);
    const svc = row(stats.stdout, 'service');
    const ipBytes = frames.reduce((s, f) => s + f.ipBytes, 0);
    assert.deepEqual(svc, [FLOWS, frames.length, 0, ipBytes, 0]);
    const per = REAL.map((r) => row(stats.stdout, `${r}:80`));
    assert.equal(per[1][0], quiesced, '10.0.0.12: no new connection after -w 0');
    assert.equal(per[1][1], quiesced * FRAMES_PER_FLOW, 'and only the packets of its own flows');
    for (const i of [0, 2]) assert.ok(per[i][0] > row(atChange, `${REAL[i]}:80`)[0] + 100, `${REAL[i]} kept getting connections`);
    assert.ok(Math.abs(per[0][0] - per[2][0]) <= 1, 'rr shares the rest between 10.0.0.11 and 10.0.0.13');
    for (let k = 0; k < 5; k++) assert.equal(per.reduce((s, p) => s + p[k], 0), svc[k], `real servers add up to the service (column ${k})`);

    // Rates: where the capture's clock stopped, exactly what the kernel's estimator gives for it.
    const rate = uvsadm(['-L', '-n', '--rate', '--exact'], { socket });
    const svcRate = row(rate.stdout, 'service');
    const expected = kernelRates(frames);
    assert.deepEqual(svcRate, [expected.cps, expected.inpps, 0, expected.inbps, 0]);
    assert.ok(svcRate[0] > 100, `the service's CPS approaches 150 (${svcRate[0]})`);

    // -L -n: the weight change, and the connection counts /metrics must show.
    const plain = uvsadm(['-L', '-n'], { socket }).stdout;
    const page = await metrics(port);
    const labels = (r: string): Record<string, string> =>
      ({ local_address: VIP, local_port: '80', remote_address: r, remote_port: '80', proto: 'TCP', local_mark: '' });
    for (const r of REAL) {
      const m = new RegExp(`^  -> ${r.replace(/\./g, '\\.')}:80 +Route +(\\d+) +(\\d+) +(\\d+)`, 'm').exec(plain);
      assert.ok(m !== null, `${r} in -L -n:\n${plain}`);
      assert.equal(sampleOf(page, 'node_ipvs_backend_weight', labels(r)).value, Number(m[1]), `${r} weight`);
      assert.equal(sampleOf(page, 'node_ipvs_backend_connections_active', labels(r)).value, Number(m[2]), `${r} active`);
      assert.equal(sampleOf(page, 'node_ipvs_backend_connections_inactive', labels(r)).value, Number(m[3]), `${r} inactive`);
      assert.equal(Number(m[2]) + Number(m[3]), row(stats.stdout, `${r}:80`)[0], `${r}: every connection is still in the table`);
    }
    assert.equal(sampleOf(page, 'node_ipvs_backend_weight', labels('10.0.0.12')).value, 0);
    const totals = ['connections', 'incoming_packets', 'outgoing_packets', 'incoming_bytes', 'outgoing_bytes'];
    totals.forEach((t, k) => assert.equal(sampleOf(page, `node_ipvs_${t}_total`).value, svc[k], `node_ipvs_${t}_total`));
    assert.equal(sampleOf(page, 'uvs_frames_received_total').value, frames.length);
    assert.equal(sampleOf(page, 'uvs_connections_created_total').value, FLOWS);
    const dropped = page.get('uvs_frames_dropped_total')?.samples.reduce((s, x) => s + x.value, 0);
    assert.equal(dropped, 0);
    assert.equal((await fetchText(port, '/')).status, 404);

    // The output: every frame the engine transmitted; 10.0.0.12's SYNs are its connections.
    const transmitted = sampleOf(page, 'uvs_frames_transmitted_total').value;
    assert.equal(transmitted, frames.length);
    const reader = CaptureReader.open(output);
    let n = 0;
    let synsTo12 = 0;
    try {
      while (reader.next()) {
        n++;
        const b = reader.data;
        const at = reader.offset;
        if (b[at + 5] === 0x12 && b[at + 14 + 20 + 13] === 0x02) synsTo12++;
      }
    } finally {
      reader.close();
    }
    assert.equal(n, transmitted);
    assert.equal(synsTo12, quiesced);

    assert.equal(await d.stop('SIGTERM'), 0);
    assert.ok(!fs.existsSync(socket), 'socket removed');
    assert.ok(Date.now() - started < 20000, `took ${Date.now() - started} ms`);
  });

  it('--replay-loop at full speed serves uvsadm between batches and stops cleanly on SIGTERM', async () => {
    const dir = tempDir('uvs-e2e-loop-');
    const frames = flows(Array.from({ length: 400 }, (_, i) => 0.5 + i / 200));
    const input = path.join(dir, 'in.pcap');
    const output = path.join(dir, 'out.pcap');
    writeCapture(input, frames);
    const d = await Director.start({
      dir, rules: RULES, director: DIRECTOR,
      extraArgs: ['--replay', input, '--replay-speed', 'max', '--replay-loop', '--replay-out', output, '--metrics', '127.0.0.1:0'],
    });
    directors.push(d);
    const port = metricsPort(d);
    let slowest = 0;
    const received = await until('fifty passes', 15000, async () => {
      const t = Date.now();
      const r = await d.request(['-L', '-n']);
      slowest = Math.max(slowest, Date.now() - t);
      assert.equal(r.exitCode, 0);
      const v = sampleOf(await metrics(port), 'uvs_frames_received_total').value;
      return v >= 50 * frames.length ? v : null;
    });
    assert.ok(received >= 50 * frames.length);
    assert.ok(slowest < 1000, `uvsadm answered within ${slowest} ms while the feed ran flat out`);

    // A second director on the same socket fails to start and leaves no output behind.
    const dir2 = tempDir('uvs-e2e-second-');
    const out2 = path.join(dir2, 'out.pcap');
    await assert.rejects(Director.start({
      dir: dir2, rules: RULES, director: DIRECTOR, socket: d.socket,
      extraArgs: ['--replay', input, '--replay-out', out2],
    }), /another director is already serving/);
    assert.deepEqual(fs.readdirSync(dir2).filter((f) => f.startsWith('out.pcap')), []);
    // A capture that is not there: a start-up error naming it.
    await assert.rejects(Director.start({
      dir: dir2, rules: RULES, director: DIRECTOR, extraArgs: ['--replay', path.join(dir2, 'absent.pcap')],
    }), /director failed to start.*absent\.pcap/s);

    assert.equal(await d.stop('SIGTERM'), 0);
    const finished = d.logs.find((l) => l.msg === 'replay finished') as LogRecord;
    assert.equal(finished.reason, 'stopped');
    assert.ok(Number(finished.passes) >= 50);
    // What was transmitted until the stop is in the output, in time order across the passes.
    const reader = CaptureReader.open(output);
    let n = 0;
    let prev = -1;
    try {
      while (reader.next()) {
        const t = (reader.tsSec - T0_SEC) * 1e9 + reader.tsNsec;
        assert.ok(t >= prev, `frame ${n + 1} goes back in time`);
        prev = t;
        n++;
      }
    } finally {
      reader.close();
    }
    assert.equal(n, finished.transmitted);
    assert.ok(n >= 50 * frames.length);
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes('.tmp-')), []);
  });
});
