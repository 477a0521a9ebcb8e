/**
 * The director's Prometheus metrics and its replay feed, in process:
 * - the text format as client_golang writes it (Go's float formatting, escapes, sorting), read
 *   back by a strict parser and by the npm package parse-prometheus-text-format;
 * - node_ipvs_* exactly as node_exporter's ipvs collector names, types, describes and labels
 *   them (HELP texts from collector/ipvs_linux.go), with values equal to what uvsadm -L shows, for
 *   TCP, UDP over IPv6, firewall-mark and SCTP services; rows with equal labels summed;
 * - the HTTP listener (/metrics, 404 elsewhere, 405, HEAD, gzip, listen address syntax);
 * - `uvs director` option parsing for --metrics and --replay*;
 * - the replay feed: rates on the capture's clock, equal to the kernel's estimator worked out
 *   here from the capture, the same at any replay speed and batch size; the engine clock following
 *   the capture through a gap; --replay-loop shifting time forward; stop(); bad link types.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import type { RulesConfig } from '../src/control/config';
import { DirectorUsageError, parseDirectorArgs } from '../src/control/daemon/director-command';
import { DirectorControl } from '../src/control/daemon/director-control';
import { directorSchedulers, EngineMirror } from '../src/control/daemon/engine-mirror';
import { engineEstimatorClock } from '../src/control/daemon/estimator-clock';
import type { LogFields, Logger, LogLevel } from '../src/control/daemon/logger';
import {
  directorMetricsPage, goIpString, ipvsFamilies, ipvsMetricsInput, IPVS_BACKEND_LABELS,
} from '../src/control/daemon/metrics';
import {
  ListenAddressError, MetricsServer, MetricsServerError, parseListenAddress,
} from '../src/control/daemon/metrics-server';
import { ReplayFeed, ReplayFeedError, type ReplayFeedResult } from '../src/control/daemon/replay-feed';
import { StatsBook } from '../src/control/daemon/stats-book';
import { loadDirector } from '../src/control/director-file';
import { parseIp } from '../src/control/ip-address';
import { formatExposition, formatValue } from '../src/control/prometheus';
import { loadRules } from '../src/control/rules-file';
import { OutputBatch } from '../src/ipvs/frame-batch';
import { CaptureReader } from '../src/pcap/capture-reader';
import { parseExposition, sampleOf, type ParsedFamily } from './control-metrics-parser';
import { flows, kernelRates, T0_SEC, writeCapture } from './director-capture';
import { ACK, FIN_ACK, SYN, frame } from './support/frames';

// No type declarations ship with it: the shape its README documents.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const parsePrometheusTextFormat = require('parse-prometheus-text-format') as (text: string) => {
  name: string; help: string; type: string; metrics: { value: string; labels?: Record<string, string> }[];
}[];

const VIP = '192.0.2.10';
const DIRECTOR = `
link eth0 mac 02:00:00:00:00:01
addr 10.0.0.1/24 dev eth0
neigh 10.0.0.254 lladdr 02:00:00:00:00:fe dev eth0
neigh 10.0.0.11 lladdr 02:00:00:00:01:11 dev eth0
neigh 10.0.0.12 lladdr 02:00:00:00:01:12 dev eth0
neigh 10.0.0.13 lladdr 02:00:00:00:01:13 dev eth0
route default via 10.0.0.254 dev eth0
`;

class Recorder implements Logger {
  readonly lines: { level: LogLevel; msg: string; fields: LogFields }[] = [];
  log(level: LogLevel, msg: string, fields: LogFields = {}): void {
    this.lines.push({ level, msg, fields });
  }
}

/** A director without sockets: configuration, engine, counters; frames sent by hand. */
class Rig {
  readonly config: RulesConfig;
  readonly mirror: EngineMirror;
  readonly stats: StatsBook;
  readonly control: DirectorControl;
  private readonly out = new OutputBatch(1 << 16, 16);
  private n = 0;

  constructor(rules: string, clock: ((engineNow: () => number) => () => number) | null = null) {
    this.config = loadRules(rules, 'rules', { schedulers: directorSchedulers() });
    this.mirror = EngineMirror.build(this.config, loadDirector(DIRECTOR, 'director'));
    const engine = this.mirror.engine;
    this.stats = new StatsBook(engine, clock === null ? engineEstimatorClock(engine) : clock(() => engine.now));
    this.control = new DirectorControl({
      config: this.config,
      mirror: this.mirror,
      stats: this.stats,
      persist: () => undefined,
      logger: new Recorder(),
      apply: { schedulers: directorSchedulers() },
    });
  }

  ok(...argv: string[]): string {
    const r = this.control.execute({ argv });
    assert.equal(r.stderr, '', argv.join(' '));
    assert.equal(r.exitCode, 0, argv.join(' '));
    return r.stdout;
  }

  send(f: Uint8Array, atSec: number): boolean {
    this.out.reset();
    const sec = Math.floor(atSec);
    return this.mirror.engine.processFrameAt(f.slice(), 0, f.length, T0_SEC + sec, Math.round((atSec - sec) * 1e9), this.out, this.n++);
  }

  page(): string {
    return directorMetricsPage(this.control.rules, this.mirror, this.stats);
  }
}

/** `-L -n` real server rows in listing order: address:port, weight, active, inactive. */
function listedDests(listing: string): { dest: string; weight: number; active: number; inactive: number }[] {
  const rows = [];
  for (const line of listing.split('\n')) {
    const m = /^ {2}-> (\S+) +\w+ +(\d+) +(\d+) +(\d+)/.exec(line);
    if (m !== null) rows.push({ dest: m[1], weight: Number(m[2]), active: Number(m[3]), inactive: Number(m[4]) });
  }
  return rows;
}

/** Service rows of `-L -n --stats --exact` (or --rate --exact): five numbers each. */
function serviceNumbers(listing: string): number[][] {
  const rows: number[][] = [];
  for (const line of listing.split('\n')) {
    const m = /^(?:TCP|UDP|SCTP|FWM) +\S+ +(\d+) +(\d+) +(\d+) +(\d+) +(\d+)$/.exec(line);
    if (m !== null) rows.push(m.slice(1).map(Number));
  }
  return rows;
}

/** Both parsers agree on every family, label and value of a page. */
function parseBoth(page: string): Map<string, ParsedFamily> {
  const strict = parseExposition(page);
  const other = parsePrometheusTextFormat(page);
  assert.deepEqual(other.map((f) => f.name).sort(), [...strict.keys()].sort(), 'same families');
  for (const f of other) {
    const mine = strict.get(f.name) as ParsedFamily;
    assert.equal(f.help, mine.help, `${f.name}: HELP`);
    assert.equal(f.type.toLowerCase(), mine.type, `${f.name}: TYPE`);
    assert.deepEqual(
      f.metrics.map((m) => ({ labels: m.labels ?? {}, value: Number(m.value) })),
      mine.samples.map((s) => ({ labels: s.labels, value: s.value })),
      `${f.name}: samples`,
    );
  }
  return strict;
}

describe('Prometheus text format as client_golang writes it', () => {
  it('prints values as Go\'s FormatFloat(v, \'g\', -1, 64)', () => {
    const cases: [number, string][] = [
      [0, '0'], [1, '1'], [-1, '-1'], [42, '42'], [123456, '123456'], [999999, '999999'],
      [1e6, '1e+06'], [1200000, '1.2e+06'], [1234567, '1.234567e+06'], [15000000, '1.5e+07'],
      [2 ** 53, '9.007199254740992e+15'], [1e21, '1e+21'], [1.5e300, '1.5e+300'],
      [0.5, '0.5'], [123.456, '123.456'], [0.0001, '0.0001'], [0.00001, '1e-05'], [-2.5e-7, '-2.5e-07'],
      [NaN, 'NaN'], [Infinity, '+Inf'], [-Infinity, '-Inf'],
    ];
    for (const [v, text] of cases) assert.equal(formatValue(v), text, String(v));
  });

  it('sorts families by name, labels by name and samples by label values; escapes HELP and label values', () => {
    const page = formatExposition([
      { name: 'b_total', help: 'back\\slash\nnew line', type: 'counter', samples: [{ labels: {}, value: 3 }] },
      {
        name: 'a_gauge', help: 'A.', type: 'gauge', samples: [
          { labels: { z: 'x', m: '2' }, value: 1 },
          { labels: { z: 'a"b\\c\nd', m: '10' }, value: 2 },
          { labels: { z: 'x', m: '1' }, value: 2500000 },
        ],
      },
      { name: 'c_empty', help: 'No samples: not printed.', type: 'gauge', samples: [] },
    ]);
    assert.equal(page, [
      '# HELP a_gauge A.',
      '# TYPE a_gauge gauge',
      'a_gauge{m="1",z="x"} 2.5e+06',
      'a_gauge{m="10",z="a\\"b\\\\c\\nd"} 2',
      'a_gauge{m="2",z="x"} 1',
      '# HELP b_total back\\\\slash\\nnew line',
      '# TYPE b_total counter',
      'b_total 3',
      '',
    ].join('\n'));
    const parsed = parseBoth(page);
    assert.equal(sampleOf(parsed, 'a_gauge', { m: '10' }).labels.z, 'a"b\\c\nd');
    assert.equal(parsed.get('b_total')?.help, 'back\\slash\nnew line');
    assert.throws(() => formatExposition([{ name: 'bad-name', help: '', type: 'gauge', samples: [{ labels: {}, value: 1 }] }]), /invalid metric name/);
    assert.throws(() => formatExposition([{ name: 'x', help: '', type: 'gauge', samples: [{ labels: { 'a-b': '1' }, value: 1 }] }]), /invalid label name/);
  });

  it('the strict parser refuses what Prometheus would refuse', () => {
    const bad = [
      'x 1', // no final newline
      '# TYPE x gauge\nx 1\n# TYPE y gauge\ny 1\nx 2\n', // family split
      'x 1\n', // sample before TYPE
      '# TYPE x gauge\nx{a="1",a="2"} 1\n',
      '# TYPE x gauge\nx{a="1"} 1\nx{a="1"} 2\n',
      '# TYPE x gauge\nx{a="\\q"} 1\n',
      '# TYPE x gauge\nx 1.2.3\n',
      '# TYPE x gauge\n# TYPE x counter\nx 1\n',
      '# just a comment\n',
    ];
    for (const text of bad) assert.throws(() => parseExposition(text), JSON.stringify(text));
  });
});

describe('node_ipvs_* metrics of the director', () => {
  const RULES = `
-A -t ${VIP}:80 -s rr
-a -t ${VIP}:80 -r 10.0.0.11:80 -g -w 3
-a -t ${VIP}:80 -r 10.0.0.12:80 -g -w 1
-A -u [2001:db8:0:0:0:0:0:10]:53 -s rr
-a -u [2001:db8:0:0:0:0:0:10]:53 -r [2001:db8:0:0:1:0:0:11]:5353 -m -w 2
-A -f 26 -s rr
-a -f 26 -r 10.0.0.11:0 -g -w 5
-A --sctp-service ${VIP}:9 -s rr
-a --sctp-service ${VIP}:9 -r 10.0.0.13:9 -g -w 7
`;

  function trafficRig(): Rig {
    const rig = new Rig(RULES);
    for (let i = 0; i < 5; i++) assert.ok(rig.send(frame({ src: '203.0.113.7', dst: VIP, sport: 4000 + i, dport: 80, flags: SYN }), i * 0.1));
    // Two of them complete the handshake and close: active -> inactive.
    for (const i of [0, 1]) {
      assert.ok(rig.send(frame({ src: '203.0.113.7', dst: VIP, sport: 4000 + i, dport: 80, flags: ACK, seq: 1001, ack: 1 }), 1 + i * 0.1));
      assert.ok(rig.send(frame({ src: '203.0.113.7', dst: VIP, sport: 4000 + i, dport: 80, flags: FIN_ACK, seq: 1001, ack: 1 }), 2 + i * 0.1));
    }
    return rig;
  }

  it('names, types, HELP texts and labels as node_exporter\'s ipvs collector; values as uvsadm -L shows them', () => {
    const rig = trafficRig();
    const parsed = parseBoth(rig.page());
    const expectFamily = (name: string, type: string, help: string): ParsedFamily => {
      const f = parsed.get(name);
      assert.ok(f !== undefined, name);
      assert.equal(f.type, type, `${name} type`);
      assert.equal(f.help, help, `${name} help`);
      return f;
    };
    const totals: [string, string][] = [
      ['node_ipvs_connections_total', 'The total number of connections made.'],
      ['node_ipvs_incoming_packets_total', 'The total number of incoming packets.'],
      ['node_ipvs_outgoing_packets_total', 'The total number of outgoing packets.'],
      ['node_ipvs_incoming_bytes_total', 'The total amount of incoming data.'],
      ['node_ipvs_outgoing_bytes_total', 'The total amount of outgoing data.'],
    ];
    const stats = serviceNumbers(rig.ok('-L', '-n', '--stats', '--exact'));
    assert.equal(stats.length, 4);
    totals.forEach(([name, help], i) => {
      const f = expectFamily(name, 'counter', help);
      assert.equal(f.samples.length, 1);
      assert.deepEqual(f.samples[0].labels, {});
      assert.equal(f.samples[0].value, stats.reduce((sum, row) => sum + row[i], 0), `${name} = the sum of the services' -L --stats column`);
    });
    assert.equal(sampleOf(parsed, 'node_ipvs_connections_total').value, 5);
    assert.equal(sampleOf(parsed, 'node_ipvs_incoming_packets_total').value, 9);

    const active = expectFamily('node_ipvs_backend_connections_active', 'gauge', 'The current active connections by local and remote address.');
    const inactive = expectFamily('node_ipvs_backend_connections_inactive', 'gauge', 'The current inactive connections by local and remote address.');
    const weight = expectFamily('node_ipvs_backend_weight', 'gauge', 'The current backend weight by local and remote address.');
    // Every row, with its label values worked out by hand from the rules.
    const rows: { labels: Record<string, string>; listed: string }[] = [
      { labels: { local_address: VIP, local_port: '80', remote_address: '10.0.0.11', remote_port: '80', proto: 'TCP', local_mark: '' }, listed: '10.0.0.11:80' },
      { labels: { local_address: VIP, local_port: '80', remote_address: '10.0.0.12', remote_port: '80', proto: 'TCP', local_mark: '' }, listed: '10.0.0.12:80' },
      { labels: { local_address: '2001:db8::10', local_port: '53', remote_address: '2001:db8::1:0:0:11', remote_port: '5353', proto: 'UDP', local_mark: '' }, listed: '[2001:db8::1:0:0:11]:5353' },
      { labels: { local_address: '', local_port: '0', remote_address: '10.0.0.11', remote_port: '0', proto: 'FWM', local_mark: '0000001A' }, listed: '10.0.0.11:0' },
      { labels: { local_address: VIP, local_port: '9', remote_address: '10.0.0.13', remote_port: '9', proto: 'SCTP', local_mark: '' }, listed: '10.0.0.13:9' },
    ];
    const listed = listedDests(rig.ok('-L', '-n'));
    assert.equal(listed.length, rows.length);
    for (const f of [active, inactive, weight]) {
      assert.equal(f.samples.length, rows.length, `${f.name}: one row per real server`);
      for (const s of f.samples) {
        assert.deepEqual(Object.keys(s.labels).sort(), [...IPVS_BACKEND_LABELS].sort());
        assert.deepEqual(s.labelOrder, [...s.labelOrder].sort(), 'label pairs sorted by name, as client_golang writes them');
      }
    }
    for (const row of rows) {
      const l = listed.find((x) => x.dest === row.listed);
      assert.ok(l !== undefined, row.listed);
      assert.equal(sampleOf(parsed, 'node_ipvs_backend_weight', row.labels).value, l.weight, `${row.listed} weight`);
      assert.equal(sampleOf(parsed, 'node_ipvs_backend_connections_active', row.labels).value, l.active, `${row.listed} active`);
      assert.equal(sampleOf(parsed, 'node_ipvs_backend_connections_inactive', row.labels).value, l.inactive, `${row.listed} inactive`);
    }
    // The traffic shows in the rows (5 SYNs by rr over .12 and .11; two of them closed).
    const tcp = (ip: string): Record<string, string> => rows[ip === '10.0.0.11' ? 0 : 1].labels;
    assert.equal(sampleOf(parsed, 'node_ipvs_backend_weight', tcp('10.0.0.11')).value, 3);
    assert.equal(
      sampleOf(parsed, 'node_ipvs_backend_connections_active', tcp('10.0.0.11')).value +
      sampleOf(parsed, 'node_ipvs_backend_connections_active', tcp('10.0.0.12')).value, 3);
    assert.equal(
      sampleOf(parsed, 'node_ipvs_backend_connections_inactive', tcp('10.0.0.11')).value +
      sampleOf(parsed, 'node_ipvs_backend_connections_inactive', tcp('10.0.0.12')).value, 2);
  });

  it('follows -e weights, -Z (the global total, as /proc/net/ip_vs_stats) and -d', () => {
    const rig = trafficRig();
    rig.ok('-e', '-t', `${VIP}:80`, '-r', '10.0.0.12:80', '-g', '-w', '0');
    let parsed = parseExposition(rig.page());
    assert.equal(sampleOf(parsed, 'node_ipvs_backend_weight', { remote_address: '10.0.0.12' }).value, 0);
    // -Z of one service leaves the total alone, as the kernel does.
    rig.ok('-Z', '-t', `${VIP}:80`);
    parsed = parseExposition(rig.page());
    assert.equal(sampleOf(parsed, 'node_ipvs_connections_total').value, 5);
    rig.ok('-Z');
    parsed = parseExposition(rig.page());
    assert.equal(sampleOf(parsed, 'node_ipvs_connections_total').value, 0);
    assert.equal(sampleOf(parsed, 'node_ipvs_incoming_bytes_total').value, 0);
    rig.send(frame({ src: '203.0.113.8', dst: VIP, sport: 5000, dport: 80, flags: SYN }), 3);
    parsed = parseExposition(rig.page());
    assert.equal(sampleOf(parsed, 'node_ipvs_connections_total').value, 1);
    assert.equal(sampleOf(parsed, 'node_ipvs_incoming_bytes_total').value, 40);
    rig.ok('-d', '-t', `${VIP}:80`, '-r', '10.0.0.12:80');
    parsed = parseExposition(rig.page());
    assert.equal(parsed.get('node_ipvs_backend_weight')?.samples.length, 4);
    rig.ok('-C');
    parsed = parseExposition(rig.page());
    assert.equal(parsed.has('node_ipvs_backend_weight'), false, 'no real server: no backend family, as node_exporter');
    assert.equal(sampleOf(parsed, 'node_ipvs_connections_total').value, 1);
  });

  it('sums rows whose (reduced) labels coincide, as node_exporter does', () => {
    const rig = trafficRig();
    const input = ipvsMetricsInput(rig.control.rules, rig.mirror, rig.stats);
    const page = formatExposition(ipvsFamilies(input, ['remote_address', 'proto']));
    const parsed = parseBoth(page);
    assert.equal(sampleOf(parsed, 'node_ipvs_backend_weight', { remote_address: '10.0.0.11', proto: 'TCP' }).value, 3);
    assert.equal(sampleOf(parsed, 'node_ipvs_backend_weight', { remote_address: '10.0.0.11', proto: 'FWM' }).value, 5);
    const byAddress = parseExposition(formatExposition(ipvsFamilies(input, ['remote_address'])));
    assert.equal(sampleOf(byAddress, 'node_ipvs_backend_weight', { remote_address: '10.0.0.11' }).value, 8, '3 (TCP) + 5 (FWM)');
    assert.equal(byAddress.get('node_ipvs_backend_weight')?.samples.length, 4);
  });

  it('prints addresses as Go\'s net.IP.String()', () => {
    const cases: [string, string][] = [
      ['192.0.2.1', '192.0.2.1'],
      ['2001:db8:0:0:0:0:0:1', '2001:db8::1'],
      ['::ffff:192.0.2.1', '192.0.2.1'],
      ['::192.0.2.1', '::c000:201'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
      ['1:0:0:2:2:0:0:3', '1::2:2:0:0:3'],
      ['::', '::'],
      ['fe80::', 'fe80::'],
      ['2001:DB8::AB', '2001:db8::ab'],
    ];
    for (const [text, go] of cases) assert.equal(goIpString(parseIp(text)), go, text);
  });

  it('has uvs_* metrics of its own: frames in and out, drops by reason, connections', () => {
    const rig = trafficRig();
    rig.send(frame({ src: '203.0.113.7', dst: '192.0.2.99', sport: 1, dport: 80, flags: SYN }), 5);
    rig.send(frame({ src: '203.0.113.7', dst: VIP, sport: 9999, dport: 80, flags: ACK }), 5);
    const parsed = parseBoth(rig.page());
    assert.equal(sampleOf(parsed, 'uvs_frames_received_total').value, 11);
    assert.equal(sampleOf(parsed, 'uvs_frames_transmitted_total').value, 9);
    assert.equal(sampleOf(parsed, 'uvs_frames_dropped_total', { reason: 'no-service' }).value, 1);
    assert.equal(sampleOf(parsed, 'uvs_frames_dropped_total', { reason: 'not-connection-start' }).value, 1);
    assert.equal(sampleOf(parsed, 'uvs_frames_dropped_total', { reason: 'no-route' }).value, 0);
    assert.equal(parsed.get('uvs_frames_dropped_total')?.samples.some((s) => s.labels.reason === 'none'), false);
    assert.equal(parsed.get('uvs_frames_dropped_total')?.type, 'counter');
    assert.equal(sampleOf(parsed, 'uvs_connections_created_total').value, 5);
    assert.equal(sampleOf(parsed, 'uvs_connections_live').value, 5);
    assert.equal(parsed.get('uvs_connections_live')?.type, 'gauge');
    for (const name of parsed.keys()) assert.match(name, /^(node_ipvs_|uvs_)/);
  });
});

function get(port: number, pathname: string, opts: { method?: string; headers?: Record<string, string> } = {}):
  Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: pathname, method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the metrics HTTP listener', () => {
  it('serves /metrics (GET, HEAD, gzip) and nothing else', async () => {
    let scrapes = 0;
    const page = '# HELP x_total X.\n# TYPE x_total counter\nx_total 7\n';
    const server = await MetricsServer.listen({ listen: parseListenAddress('127.0.0.1:0'), page: () => (scrapes++, page), logger: new Recorder() });
    try {
      const port = server.address.port;
      assert.ok(port > 0);
      assert.equal(server.address.host, '127.0.0.1');
      const ok = await get(port, '/metrics');
      assert.equal(ok.status, 200);
      assert.equal(ok.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
      assert.equal(ok.body.toString('utf8'), page);
      assert.equal((await get(port, '/metrics?collect[]=ipvs')).body.toString('utf8'), page);
      const gz = await get(port, '/metrics', { headers: { 'Accept-Encoding': 'gzip' } });
      assert.equal(gz.headers['content-encoding'], 'gzip');
      assert.equal(zlib.gunzipSync(gz.body).toString('utf8'), page);
      const head = await get(port, '/metrics', { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.body.length, 0);
      for (const p of ['/', '/metrics/', '/metric', '/favicon.ico']) assert.equal((await get(port, p)).status, 404, p);
      const post = await get(port, '/metrics', { method: 'POST' });
      assert.equal(post.status, 405);
      assert.equal(post.headers.allow, 'GET, HEAD');
      assert.equal(scrapes, 4, 'the page is built once per GET or HEAD of /metrics');
      // The port is taken: a second listener says so.
      await assert.rejects(
        MetricsServer.listen({ listen: { host: '127.0.0.1', port }, page: () => page, logger: new Recorder() }),
        (e: unknown) => e instanceof MetricsServerError && /cannot listen for metrics on 127\.0\.0\.1:\d+: .*EADDRINUSE/.test(e.message),
      );
    } finally {
      await server.close();
    }
  });

  it('parses HOST:PORT, [IPv6]:PORT and :PORT, and names what is wrong otherwise', () => {
    assert.deepEqual(parseListenAddress('127.0.0.1:9101'), { host: '127.0.0.1', port: 9101 });
    assert.deepEqual(parseListenAddress('[::1]:9101'), { host: '::1', port: 9101 });
    assert.deepEqual(parseListenAddress(':9100'), { host: '', port: 9100 });
    assert.deepEqual(parseListenAddress('localhost:0'), { host: 'localhost', port: 0 });
    for (const [text, why] of [
      ['9101', /no port/], ['127.0.0.1:', /port '' is not/], ['127.0.0.1:65536', /port '65536'/], ['::1:9101', /in brackets/],
      ['[::1]9101', /followed by :PORT/], ['127.0.0.1:http', /port 'http'/],
    ] as const) {
      assert.throws(() => parseListenAddress(text), (e: unknown) => e instanceof ListenAddressError && why.test(e.message), text);
    }
  });
});

describe('uvs director options --metrics and --replay*', () => {
  const base = ['--rules', 'r', '--director', 'd'];
  it('parses them', () => {
    const a = parseDirectorArgs([...base, '--metrics', '127.0.0.1:9101', '--replay', 'in.pcap', '--replay-speed', '2.5', '--replay-out=out.pcap', '--replay-loop'], {});
    assert.deepEqual(a.metrics, { host: '127.0.0.1', port: 9101 });
    assert.deepEqual(a.replay, { input: 'in.pcap', speed: 2.5, output: 'out.pcap', loop: true });
    assert.deepEqual(parseDirectorArgs([...base, '--replay', 'in.pcap', '--replay-speed', 'max'], {}).replay,
      { input: 'in.pcap', speed: Infinity, output: null, loop: false });
    const plain = parseDirectorArgs(base, {});
    assert.equal(plain.metrics, null);
    assert.equal(plain.replay, null);
    assert.equal(parseDirectorArgs([...base, '--replay', 'x.pcap'], {}).replay?.speed, 1, 'real time by default');
  });

  it('refuses mistakes with a message naming them', () => {
    const cases: [string[], RegExp][] = [
      [['--metrics', '9101'], /--metrics: bad listen address '9101'/],
      [['--replay-speed', '2'], /--replay-speed needs --replay IN/],
      [['--replay-out', 'o.pcap'], /--replay-out needs --replay IN/],
      [['--replay-loop'], /--replay-loop needs --replay IN/],
      [['--replay', 'i.pcap', '--replay-speed', '0'], /'0' is not a positive number or 'max'/],
      [['--replay', 'i.pcap', '--replay-speed', '-1'], /'-1' is not a positive number/],
      [['--replay', 'i.pcap', '--replay-speed', 'fast'], /'fast' is not/],
      [['--replay', 'i.pcap', '--replay-loop=yes'], /--replay-loop takes no value/],
      [['--replay', 'i.pcap', '--replay-loop', '--replay-loop'], /--replay-loop given twice/],
      [['--replay', 'i.pcap', '--replay-out', './i.pcap'], /must not be the --replay input/],
      [['--replay'], /--replay needs a value/],
    ];
    for (const [extra, why] of cases) {
      assert.throws(() => parseDirectorArgs([...base, ...extra], {}), (e: unknown) => e instanceof DirectorUsageError && why.test(e.message), extra.join(' '));
    }
  });
});

describe('the replay feed of the director', function () {
  this.timeout(30000);
  const RULES = `
-A -t ${VIP}:80 -s rr
-a -t ${VIP}:80 -r 10.0.0.11:80 -g -w 1
-a -t ${VIP}:80 -r 10.0.0.12:80 -g -w 1
-a -t ${VIP}:80 -r 10.0.0.13:80 -g -w 1
`;
  let dir: string;
  // 100 flows/s for 6 s, nothing for 2 s, 300/s for 1 s, then a gap and one last flow at 15.2 s.
  const starts = [
    ...Array.from({ length: 600 }, (_, i) => 0.3 + i / 100),
    ...Array.from({ length: 300 }, (_, i) => 8 + i / 300),
    15.2,
  ];
  const frames = flows(starts);
  let capture: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uvs-metrics-'));
    capture = path.join(dir, 'in.pcap');
    writeCapture(capture, frames);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  function feed(rig: Rig, opts: { speed: number; batchFrames?: number; output?: string | null; loop?: boolean; input?: string }): ReplayFeed {
    return ReplayFeed.open({
      input: opts.input ?? capture,
      speed: opts.speed,
      output: opts.output ?? null,
      loop: opts.loop ?? false,
      engine: rig.mirror.engine,
      links: ['eth0'],
      sample: () => rig.stats.sample(),
      logger: new Recorder(),
      batchFrames: opts.batchFrames,
    });
  }

  const serviceRates = (rig: Rig) => rig.stats.service(rig.mirror.serviceOf(rig.control.rules.services[0]));

  it('gives the kernel estimator\'s rates on the capture\'s clock, the same at any speed and batch size', async () => {
    const expected = kernelRates(frames);
    assert.ok(expected.cps > 0 && expected.inpps > 0, 'the capture leaves non-zero rates');
    const results: string[] = [];
    for (const [speed, batchFrames] of [[Infinity, 4096], [Infinity, 1], [40, 7]] as const) {
      const rig = new Rig(RULES);
      const f = feed(rig, { speed, batchFrames });
      f.start();
      const r = await f.done;
      assert.deepEqual(r, { reason: 'end of capture', frames: frames.length, passes: 1 });
      const { stats, rates } = serviceRates(rig);
      assert.deepEqual(stats, {
        conns: starts.length, inpkts: frames.length, outpkts: 0,
        inbytes: frames.reduce((s, x) => s + x.bytes.length - 14, 0), outbytes: 0,
      });
      assert.deepEqual({ cps: rates.cps, inpps: rates.inpps, inbps: rates.inbps }, expected, `speed ${speed}, batches of ${batchFrames}`);
      assert.equal(rates.outpps + rates.outbps, 0);
      results.push(rig.ok('-L', '-n', '--rate', '--exact'));
      // The engine's clock stopped where the capture did: the figures stay.
      await new Promise((resolve) => setTimeout(resolve, 30));
      assert.equal(rig.ok('-L', '-n', '--rate', '--exact'), results[results.length - 1]);
    }
    assert.equal(results[1], results[0]);
    assert.equal(results[2], results[0]);
  });

  it('paced: the engine clock follows the capture through a gap; a real server added mid-run counts from there', async () => {
    const rig = new Rig(RULES.split('\n').filter((l) => !l.includes('10.0.0.13')).join('\n'));
    const f = feed(rig, { speed: 25 });
    const engine = rig.mirror.engine;
    const started = performance.now();
    f.start();
    let sawGap = false;
    let added = false;
    while (f.running) {
      // In the gap (9 s -> 15.2 s of capture), every frame but the last has run and the clock moves on.
      if (f.frames === frames.length - 3 && engine.now >= 11000) sawGap = true;
      if (!added && engine.now >= 3000) {
        rig.ok('-a', '-t', `${VIP}:80`, '-r', '10.0.0.13:80', '-g');
        added = true;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const elapsed = performance.now() - started;
    assert.ok(sawGap, 'the engine clock advanced in the gap before the last flow');
    assert.ok(elapsed >= 15200 / 25 - 50, `paced at 25x: ${elapsed.toFixed(0)} ms`);
    const r = await f.done;
    assert.equal(r.frames, frames.length);
    const { rates } = serviceRates(rig);
    assert.deepEqual({ cps: rates.cps, inpps: rates.inpps, inbps: rates.inbps }, kernelRates(frames));
    // The real server added mid-run: its counters and rates are its own, and they add up.
    const d13 = rig.mirror.destOf(rig.control.rules.services[0], { addr: parseIp('10.0.0.13'), port: 80 });
    const d13Conns = rig.stats.dest(d13).stats.conns;
    assert.ok(d13Conns > 0 && d13Conns < starts.length / 3, `10.0.0.13 got ${d13Conns} of the later connections`);
    const total = rig.control.rules.services[0].dests.reduce((s, dc) => s + rig.stats.dest(rig.mirror.destOf(rig.control.rules.services[0], dc)).stats.conns, 0);
    assert.equal(total, starts.length);
  });

  it('--replay-out and --replay-loop: time moves forward every pass; stop() keeps what was written', async () => {
    const rig = new Rig(RULES);
    const out = path.join(dir, 'loop-out.pcap');
    const f = feed(rig, { speed: Infinity, output: out, loop: true, batchFrames: 512 });
    f.start();
    while (f.frames < 3 * frames.length + 10) await new Promise((resolve) => setImmediate(resolve));
    const r: ReplayFeedResult = await f.stop();
    assert.equal(r.reason, 'stopped');
    assert.ok(r.passes >= 4, `passes ${r.passes}`);
    assert.equal(f.running, false);
    const reader = CaptureReader.open(out);
    let n = 0;
    let prev = -Infinity;
    let lastSec = 0;
    try {
      while (reader.next()) {
        const t = (reader.tsSec - T0_SEC) * 1e9 + reader.tsNsec;
        assert.ok(t >= prev, `frame ${n + 1}: time goes forward`);
        prev = t;
        lastSec = reader.tsSec;
        n++;
      }
    } finally {
      reader.close();
    }
    assert.equal(n, rig.mirror.engine.framesOut, 'every transmitted frame is in the output');
    assert.ok(n >= 3 * frames.length);
    assert.ok(lastSec - T0_SEC >= 3 * 14, 'later passes are shifted by the capture span');
    assert.ok(rig.mirror.engine.now >= 3 * 14900, 'and so is the engine clock');
    assert.ok(!fs.readdirSync(dir).some((x) => x.includes('.tmp-')), 'no temporary file left');
  });

  it('refuses a capture that is not Ethernet, and one that does not exist', () => {
    const rawIp = path.join(dir, 'raw.pcap');
    writeCapture(rawIp, frames.slice(0, 3), 101);
    const rig = new Rig(RULES);
    assert.throws(() => feed(rig, { speed: 1, input: rawIp }), (e: unknown) => e instanceof ReplayFeedError && /link type 101 is not supported/.test(e.message));
    assert.throws(() => feed(rig, { speed: 1, input: path.join(dir, 'absent.pcap') }), /ENOENT/);
  });
});
