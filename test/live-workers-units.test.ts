/**
 * The pieces of `uvs director --workers N` that need no lab: the fanout group arrangement the
 * master follows (FanoutMembers), the counter sums it sets its engine's counters to
 * (CounterSums), the local port stride of FULLNAT workers (LocalAddressPool), the packed
 * connection entries of the workers' reports, --max-connections shared out among the workers, and
 * a pool whose worker cannot start (stand-in workers: the start fails with the worker's error, the
 * workers already running are stopped, killed when they do not stop, and the kernel guard is
 * removed; each worker's init carries its share of the connection limit).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadDirector } from '../src/control/director-file';
import { directorSchedulers, EngineMirror } from '../src/control/daemon/engine-mirror';
import type { Logger } from '../src/control/daemon/logger';
import { StatsBook } from '../src/control/daemon/stats-book';
import { loadRules } from '../src/control/rules-file';
import { LocalAddressPool, LPORT_MAX, LPORT_MIN } from '../src/ipvs/laddr-pool';
import type { VirtualService } from '../src/ipvs/virtual-service';
import { ST_CONNS, ST_FIELDS, ST_INPKTS } from '../src/ipvs/stats';
import { CounterSums } from '../src/live/workers/counter-sums';
import { FanoutMembers } from '../src/live/workers/fanout-members';
import { packConnections, unpackConnections } from '../src/live/workers/worker-counters';
import { WorkerPool, WorkerPoolError, workerConnectionLimit } from '../src/live/workers/worker-pool';
import { PACKED_CONNECTION_WORDS, type WorkerInit, type WorkerReport } from '../src/live/workers/worker-protocol';
import { DirectorUsageError, parseDirectorArgs } from '../src/control/daemon/director-command';
import { buildListingSnapshot } from '../src/control/engine-snapshot';
import { OutputBatch } from '../src/ipvs/frame-batch';
import { ipv4, ipv6, tcp, TCP_SYN, udp } from './fixtures/engine/frames';

const RULES = '-A -t 10.0.0.100:80 -s rr\n-a -t 10.0.0.100:80 -r 10.0.0.11:80 -m -w 1\n-a -t 10.0.0.100:80 -r 10.0.0.12:80 -m -w 1\n';
const DIRECTOR = 'link eth0 mac 02:00:00:00:00:01\naddr 10.0.0.1/24 dev eth0\n';
const quiet: Logger = { log: () => undefined };

function report(destStats: number[], active: number[], framesIn: number, rx: number): WorkerReport {
  const n = active.length;
  return {
    type: 'report',
    engine: {
      destStats: Float64Array.from(destStats),
      activeConns: Int32Array.from(active),
      inactConns: new Int32Array(n),
      persistConns: new Int32Array(n),
      drops: new Float64Array(30),
      framesIn,
      framesOut: framesIn,
      connectionsCreated: active.reduce((a, b) => a + b, 0),
      liveEntries: active.reduce((a, b) => a + b, 0),
    },
    feed: { batches: 1, framesIn, framesOut: framesIn, outputDropped: 0, checksumsFinished: 1, batchErrors: 0 },
    links: [{ name: 'eth0', io: 'packet', stats: { rxFrames: rx, rxDropped: 0, txFrames: rx, txDropped: 0 } }],
    connections: new Uint32Array(0),
  };
}

describe('live: multi-worker pieces', () => {
  it('FanoutMembers follows the kernel: joins append, a leaver is replaced by the last; gone slots are lent', () => {
    const m = new FanoutMembers(3);
    assert.deepEqual(m.positions(), [0, 0, 0]);
    m.join(0);
    m.join(1);
    m.join(2);
    assert.deepEqual(m.positions(), [0, 1, 2]);
    m.leave(0); // the last (worker 2) moves to position 0
    assert.deepEqual(m.order, [2, 1]);
    assert.deepEqual(m.positions(), [0, 1, 0]);
    m.join(0);
    assert.deepEqual(m.order, [2, 1, 0]);
    assert.deepEqual(m.positions(), [2, 1, 0]);
    m.leave(0); // the last leaves: nobody moves
    assert.deepEqual(m.order, [2, 1]);
    assert.throws(() => m.join(1), /joined twice/);
  });

  it('CounterSums sets the master\'s counters to the workers\' sums, and keeps an ended worker\'s counts', () => {
    const config = loadRules(RULES, 'rules', { schedulers: directorSchedulers() });
    const mirror = EngineMirror.build(config, loadDirector(DIRECTOR, 'director'));
    const engine = mirror.engine;
    let now = 0;
    const stats = new StatsBook(engine, () => now);
    const sums = new CounterSums(engine, 2);
    const row = (conns: number, inpkts: number): number[] => [conns, inpkts, 0, 0, 0];
    sums.report(0, report([...row(3, 10), ...row(1, 4)], [2, 1], 14, 20));
    sums.report(1, report([...row(5, 20), ...row(2, 6)], [4, 0], 26, 30));
    assert.equal(engine.destStats.get(0, ST_CONNS), 8);
    assert.equal(engine.destStats.get(1, ST_INPKTS), 10);
    assert.deepEqual([engine.dests.activeConns[0], engine.dests.activeConns[1]], [6, 1]);
    assert.equal(engine.framesIn, 40);
    assert.equal(stats.totals().stats.conns, 11);
    assert.equal(sums.liveEntries(), 7);
    // Worker 0 ends: its counts stay, its connections leave; its restart starts from zero.
    sums.retire(0);
    assert.equal(engine.destStats.get(0, ST_CONNS), 8);
    assert.deepEqual([engine.dests.activeConns[0], engine.dests.activeConns[1]], [4, 0]);
    sums.report(0, report([...row(1, 2), ...row(0, 0)], [1, 0], 2, 5));
    assert.equal(engine.destStats.get(0, ST_CONNS), 9);
    assert.equal(engine.framesIn, 42);
    now = 2000;
    stats.sample();
    assert.equal(stats.dest(0).stats.conns, 9);
    // Link counters per worker, monotonic across the restart.
    const links = sums.links();
    assert.deepEqual(links.map((l) => [l.worker, l.name, l.stats.rxFrames]), [[0, 'eth0', 25], [1, 'eth0', 30]]);
    assert.deepEqual(sums.feed(), { checksumsFinished: 3, outputDropped: 0 });
    assert.equal(engine.destStats.values.length >= 2 * ST_FIELDS, true);
  });

  it('CounterSums lists each live worker\'s entries from its last report that had them; an ended worker\'s go', () => {
    const config = loadRules(RULES, 'rules', { schedulers: directorSchedulers() });
    const mirror = EngineMirror.build(config, loadDirector(DIRECTOR, 'director'));
    const sums = new CounterSums(mirror.engine, 2);
    const entry = (cport: number): Uint32Array => {
      const w = new Uint32Array(PACKED_CONNECTION_WORDS);
      w.set([6, 1, (1 << 8) | (1 << 16), cport, 80, 80, 60, 0xc6336407], 0); // TCP ESTABLISHED 198.51.100.7:cport
      w[11] = 0x0a000064; // 10.0.0.100
      w[15] = 0x0a00000b; // 10.0.0.11
      return w;
    };
    const withConns = (r: WorkerReport, conns: Uint32Array | null): WorkerReport => ({ ...r, connections: conns });
    sums.report(0, withConns(report([0, 0, 0, 0, 0], [1], 1, 1), entry(1000)));
    sums.report(1, withConns(report([0, 0, 0, 0, 0], [1], 1, 1), entry(2000)));
    sums.report(0, withConns(report([0, 0, 0, 0, 0], [1], 2, 2), null));
    const listed = sums.connections();
    assert.deepEqual(listed.map((c) => `${c.client.addr.text}:${c.client.port} ${c.virtual.addr.text}:${c.virtual.port} ${c.dest.addr.text}:${c.dest.port} ${c.state} ${c.expiresIn}`),
      ['198.51.100.7:1000 10.0.0.100:80 10.0.0.11:80 ESTABLISHED 60', '198.51.100.7:2000 10.0.0.100:80 10.0.0.11:80 ESTABLISHED 60']);
    sums.retire(0);
    assert.deepEqual(sums.connections().map((c) => c.client.port), [2000]);
    sums.report(0, withConns(report([0, 0, 0, 0, 0], [0], 0, 0), null));
    assert.deepEqual(sums.connections().map((c) => c.client.port), [2000], 'a restarted worker lists nothing until it sends entries');
  });

  it('LocalAddressPool: a stride gives only p % N == k, wrapping inside its ports; the default is every port in order', () => {
    const addr = loadRules('-A -t 10.0.0.100:80 -s rr\n-P -t 10.0.0.100:80 -z 10.0.0.50\n', 'r').services[0].laddrs[0];
    const svc = { laddrs: [0], laddrCursor: 0 } as unknown as VirtualService;
    const plain = new LocalAddressPool();
    plain.add(addr);
    const first = [0, 1, 2].map((s) => (plain.allocate(svc, 6, s), plain.chosenPort));
    assert.deepEqual(first, [LPORT_MIN, LPORT_MIN + 1, LPORT_MIN + 2]);
    const strided = new LocalAddressPool();
    strided.add(addr);
    strided.setPortStride(3, 2, 65530);
    const ports = [0, 1, 2, 3].map((s) => (strided.allocate(svc, 6, s), strided.chosenPort));
    assert.deepEqual(ports, [65531, 65534, 1025, 1028]);
    assert.ok(ports.every((p) => p % 3 === 2 && p <= LPORT_MAX));
    // Every port of the stride, then no more.
    const two = new LocalAddressPool();
    two.add(addr);
    two.setPortStride(2, 1);
    let n = 0;
    while (two.allocate(svc, 17, n)) n++;
    assert.equal(n, 32256); // odd ports 1025 .. 65535
    assert.throws(() => two.setPortStride(2, 2), /offset 2/);
  });

  it('packed connection entries: unpacked, they are what the listing shows (IPv4, IPv6, templates), at most `cap`', () => {
    const rules = [
      '-A -t 10.0.0.100:80 -s rr -p 300',
      '-a -t 10.0.0.100:80 -r 10.0.0.11:8080 -m -w 1',
      '-A -u [2001:db8::100]:53 -s rr',
      '-a -u [2001:db8::100]:53 -r [fd00::11]:53 -g -w 1',
    ].join('\n') + '\n';
    const director = [
      'link eth0 mac 02:00:00:00:00:01',
      'addr 10.0.0.1/24 dev eth0',
      'addr fd00::1/64 dev eth0',
      'neigh 10.0.0.11 lladdr 02:00:00:00:01:11 dev eth0',
      'neigh fd00::11 lladdr 02:00:00:00:06:11 dev eth0',
      'route default via 10.0.0.254 dev eth0',
      'neigh 10.0.0.254 lladdr 02:00:00:00:00:fe dev eth0',
    ].join('\n') + '\n';
    const config = loadRules(rules, 'rules', { schedulers: directorSchedulers() });
    const mirror = EngineMirror.build(config, loadDirector(director, 'director'));
    const engine = mirror.engine;
    const out = new OutputBatch(1 << 16, 16);
    const frames = [
      ipv4({ src: '198.51.100.7', dst: '10.0.0.100', l4: tcp({ sport: 40001, dport: 80, flags: TCP_SYN }) }),
      ipv4({ src: '198.51.100.8', dst: '10.0.0.100', l4: tcp({ sport: 40002, dport: 80, flags: TCP_SYN }) }),
      ipv6({ src: '2001:db8:c::7', dst: '2001:db8::100', l4: udp({ sport: 5353, dport: 53, payload: 4 }) }),
    ];
    frames.forEach((f, i) => {
      out.reset();
      assert.ok(engine.processFrame(f, 0, f.length, 1_700_000_000_000 + i * 1500, out, i), `frame ${i} forwarded`);
    });
    const listed = buildListingSnapshot({
      config, engine, serviceOf: (sc) => mirror.serviceOf(sc), destOf: (sc, d) => mirror.destOf(sc, d),
    }).connections;
    assert.equal(listed.length, 5, 'two connections and their two templates, one IPv6 entry');
    assert.deepEqual(new Set(listed.map((c) => c.state)), new Set(['SYN_RECV', 'NONE', 'UDP']));
    const packed = packConnections(engine, 100);
    assert.equal(packed.length, 5 * PACKED_CONNECTION_WORDS);
    assert.deepEqual(unpackConnections(packed), listed);
    // Truncated at cap; a scratch array large enough is filled, and the report gets a copy.
    const scratch = new Uint32Array(3 * PACKED_CONNECTION_WORDS);
    const three = packConnections(engine, 3, scratch);
    assert.notEqual(three.buffer, scratch.buffer);
    assert.deepEqual(unpackConnections(three), listed.slice(0, 3));
    assert.deepEqual(unpackConnections(new Uint32Array(0)), []);
  });

  it('--max-connections N with --workers W: the director takes it, and each worker gets ceil(N / W)', () => {
    const args = parseDirectorArgs(['--rules', 'r', '--director', 'd', '--workers', '2', '--max-connections', '20000'], {});
    assert.equal(args.workers, 2);
    assert.equal(args.maxConnections, 20000);
    assert.throws(() => parseDirectorArgs(['--rules', 'r', '--director', 'd', '--workers', '2', '--max-connections', '0'], {}),
      (e: unknown) => e instanceof DirectorUsageError && /--max-connections: '0' is not a whole number/.test(e.message));
    assert.deepEqual([[20000, 2], [20001, 2], [7, 3], [1, 4], [64, 64], [65, 64]].map(([n, w]) => workerConnectionLimit(n, w)),
      [10000, 10001, 3, 1, 1, 2]);
    for (let n = 1; n <= 300; n++) {
      for (const w of [2, 3, 5, 64]) {
        const share = workerConnectionLimit(n, w);
        assert.ok(share * w >= n && (share - 1) * w < n, `N ${n}, W ${w}: ${share} each`);
      }
    }
  });

  describe('WorkerPool with stand-in workers', function () {
    this.timeout(20_000);
    const dir = fs.mkdtempSync('/tmp/uvs-pool-');
    const env = { ...process.env };
    after(() => {
      process.env = env;
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('a worker that cannot start fails the start with its error; the others are stopped (killed if they must) and the guard removed', async () => {
      process.env.FAKE_PID_DIR = dir;
      process.env.FAKE_FAIL_INDEX = '2';
      process.env.FAKE_IGNORE_STOP = '1';
      const scripts: string[] = [];
      const config = loadRules(RULES, 'rules', { schedulers: directorSchedulers() });
      const director = loadDirector(DIRECTOR, 'director');
      const pool = WorkerPool.create({
        workers: 3, directorFile: '/nonexistent', director, config, engine: EngineMirror.build(config, director).engine,
        logger: quiet, nft: (s) => scripts.push(s), stopTimeoutMs: 300,
        entry: path.join(__dirname, 'support', 'fake-worker.js'),
      });
      const started = Date.now();
      await assert.rejects(pool.start(), (e: unknown) => e instanceof WorkerPoolError && e.message === "no network interface named 'eth9'");
      assert.ok(Date.now() - started >= 300, 'the pool waited for the workers that ignored stop');
      for (const k of ['0', '1', '2']) {
        const pid = Number(fs.readFileSync(path.join(dir, k), 'utf8'));
        assert.throws(() => process.kill(pid, 0), /ESRCH/, `worker ${k} (pid ${pid}) still runs`);
      }
      assert.equal(scripts.length, 2);
      assert.match(scripts[0], /chain ingress0 \{[^}]*hook ingress device "eth0"[^}]*ip daddr 10\.0\.0\.100 tcp dport 80 counter drop/s);
      assert.match(scripts[1], /delete table netdev uvs_guard/);
      assert.deepEqual(pool.pids(), [0, 0, 0]);
    });

    for (const [limit, share] of [[20000, 6667], [null, null]] as const) {
      it(`every worker's init carries its share of --max-connections ${limit ?? '(none)'}: ${share ?? 'the default'}`, async () => {
        const record = fs.mkdtempSync(path.join(dir, 'init-'));
        process.env.RECORD_DIR = record;
        process.env.RECORD_FAIL_INDEX = '2';
        const config = loadRules(RULES, 'rules', { schedulers: directorSchedulers() });
        const director = loadDirector(DIRECTOR, 'director');
        const pool = WorkerPool.create({
          workers: 3, directorFile: '/nonexistent', director, config, engine: EngineMirror.build(config, director).engine,
          logger: quiet, nft: () => undefined, stopTimeoutMs: 2000, maxConnections: limit,
          entry: path.join(__dirname, 'support', 'init-record-worker.js'),
        });
        assert.equal(pool.workerLimit(), share);
        // The last worker fails on purpose once it has recorded its init: no link is needed.
        await assert.rejects(pool.start(), /stand-in worker: recorded/);
        for (const k of [0, 1, 2]) {
          const init = JSON.parse(fs.readFileSync(path.join(record, `${k}.json`), 'utf8')) as Omit<WorkerInit, 'program'>;
          assert.equal(init.index, k);
          assert.equal(init.workers, 3);
          assert.equal(init.maxConnections, share);
        }
      });
    }

    it('refuses what a pool cannot run', () => {
      const config = loadRules(RULES, 'rules', { schedulers: directorSchedulers() });
      const tun = loadDirector('link tun0 io tun\naddr 10.0.0.1/24 dev tun0\n', 'director');
      const engine = EngineMirror.build(config, tun).engine;
      assert.throws(() => WorkerPool.create({ workers: 2, directorFile: 'd', director: tun, config, engine, logger: quiet }),
        /--workers needs AF_PACKET links \(io packet\): tun0 is io tun/);
      assert.throws(() => WorkerPool.create({ workers: 1, directorFile: 'd', director: tun, config, engine, logger: quiet }), /2 to 64 workers/);
      const eth = loadDirector(DIRECTOR, 'director');
      for (const bad of [0, 2.5, -1]) {
        assert.throws(() => WorkerPool.create({ workers: 2, directorFile: 'd', director: eth, config, engine, logger: quiet, maxConnections: bad }),
          /--max-connections .*: a pool needs a whole number of at least 1/);
      }
    });
  });
});
