/**
 * Issue 7, "the director restarted", with real kernels on both ends: a lab's director is stopped
 * and started again with the same command line while a paced HTTP download runs through it.
 * - SIGTERM (a planned restart): the connection table is saved next to the state file, the kernel
 *   guard stays for the gap, the new director restores the table before it reads a frame, lists
 *   the connection, and the download completes with every byte intact. NAT and DR.
 * - SIGKILL (a crash): the configuration comes back (uvsadm -S -n as before) and new requests are
 *   served, but the connection table is lost: the old download's packets match no connection and
 *   are not scheduled (not SYN), so it never completes (checked over a bounded wait).
 * Every process the test starts is recorded in the lab's lab.json, so `uvs lab down` (in after(),
 * also on failure) stops it with the lab.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { nsRun } from '../src/lab/netns';
import { pidRunning, startDetached } from '../src/lab/lab-process';
import { readLabState, writeLabState } from '../src/lab/lab-state';
import { uniqueLabName } from './support/lab-cli';
import { BackgroundClient, client, labDown, labUp, sleep, uvsadm, type LabStatus } from './support/e2e-lab';

interface Transfer {
  status?: number;
  name?: string;
  bytes: number;
  mismatchAt?: number;
  error?: string;
  started?: boolean;
}
interface Counts {
  counts: Record<string, number>;
  failures: string[];
}

/** 3 MB in 20 pieces over 6 s: the transfer is well under way, and far from done, when the director stops. */
const STREAM_BYTES = 3_000_000;
const STREAM_MS = 6000;

/** The lab's director as lab.json records it (the latest one started). */
function directorOf(lab: LabStatus): { pid: number; log: string; namespace: string } {
  const st = readLabState(lab.dir);
  const d = st?.processes.filter((p) => p.role === 'director').pop();
  assert.ok(d !== undefined, 'the lab has no director');
  return d;
}

async function waitGone(pid: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (pidRunning(pid)) {
    if (Date.now() > deadline) throw new Error(`director ${pid} still runs after ${ms} ms`);
    await sleep(20);
  }
}

function logSince(file: string, offset: number): string {
  return fs.readFileSync(file, 'utf8').slice(offset);
}

/** The log's JSON line with this msg, written after offset, or undefined. */
function logLine(file: string, offset: number, msg: string): Record<string, unknown> | undefined {
  const line = logSince(file, offset).split('\n').find((l) => l.includes(`"msg":"${msg}"`));
  return line === undefined ? undefined : JSON.parse(line) as Record<string, unknown>;
}

async function waitLog(file: string, offset: number, msg: string, ms: number): Promise<Record<string, unknown>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const l = logLine(file, offset, msg);
    if (l !== undefined) return l;
    if (Date.now() > deadline) throw new Error(`no "${msg}" in the director log after ${ms} ms:\n${logSince(file, offset)}`);
    await sleep(50);
  }
}

/**
 * Stops the lab's director with `signal` and starts it again with its own command line (read from
 * /proc before it stopped) in its namespace, its output appended to the same log; records the new
 * process in lab.json. Returns the log offset where the new life's lines begin.
 */
async function restartDirector(lab: LabStatus, signal: 'SIGTERM' | 'SIGKILL'): Promise<{ stopOffset: number; startOffset: number }> {
  const d = directorOf(lab);
  const argv = fs.readFileSync(`/proc/${d.pid}/cmdline`, 'utf8').split('\0').filter((a) => a.length > 0);
  const stopOffset = fs.statSync(d.log).size;
  process.kill(d.pid, signal);
  await waitGone(d.pid, 10_000);
  const startOffset = fs.statSync(d.log).size;
  const p = startDetached('director', d.namespace, argv[0], argv.slice(1), d.log);
  const st = readLabState(lab.dir);
  assert.ok(st !== null);
  st.processes.push(p);
  writeLabState(st);
  await waitLog(d.log, startOffset, 'director started', 20_000);
  return { stopOffset, startOffset };
}

/** The ESTABLISHED entries of `uvsadm -L -n -c` from the lab's client to the VIP:80, as "cport -> dest". */
function establishedFromClient(lab: LabStatus): string[] {
  const out = uvsadm(lab.socket, '-L', '-n', '-c');
  const re = new RegExp(`^TCP\\s+\\S+\\s+ESTABLISHED\\s+10\\.71\\.1\\.2:(\\d+)\\s+${lab.vip.replace(/\./g, '\\.')}:${lab.port}\\s+(\\S+)\\s*$`, 'gm');
  return [...out.matchAll(re)].map((m) => `${m[1]} -> ${m[2]}`);
}

function guardInstalled(lab: LabStatus): boolean {
  return /table netdev uvs_guard/.test(nsRun(lab.namespaces.director, 'nft', 'list', 'tables'));
}

for (const mode of ['nat', 'dr'] as const) {
  describe(`director restart with live connections: ${mode}`, function () {
    this.timeout(120_000);
    const name = uniqueLabName(`rs${mode}`);
    let lab: LabStatus;
    let stream: BackgroundClient | null = null;

    before(() => {
      lab = labUp(name, mode, 2, 'rr');
    });

    afterEach(async () => {
      await stream?.done(2000);
      stream = null;
    });

    after(() => {
      labDown(name);
    });

    const streamUrl = (): string => `http://${lab.vip}:${lab.port}/stream/${STREAM_BYTES}/${STREAM_MS}`;
    const snapshotFile = (): string => `${readLabState(lab.dir)?.state}.conns`;

    it('SIGTERM, then the same command line: the download goes on and completes, every byte intact', async () => {
      stream = new BackgroundClient(lab.clientNamespace, 'stream', streamUrl());
      await stream.waitForLines(1, 10_000);
      await sleep(1000);
      const before = establishedFromClient(lab);
      assert.equal(before.length, 1, `one established connection from the client: ${before.join(', ')}`);

      const d = directorOf(lab);
      const { stopOffset, startOffset } = await restartDirector(lab, 'SIGTERM');
      // The stop: the table saved, the guard left in place for the gap.
      const saved = logLine(d.log, stopOffset, 'connections saved for the next start');
      assert.ok(saved !== undefined, `no "connections saved" line:\n${logSince(d.log, stopOffset)}`);
      assert.ok((saved.live as number) >= 1, `no live connection saved: ${JSON.stringify(saved)}`);
      assert.ok(logLine(d.log, stopOffset, 'kernel guard left in place for the next start (it replaces it)') !== undefined);
      // The start: restored before it forwards, the snapshot used up.
      const restored = logLine(d.log, startOffset, 'connections restored from the snapshot');
      assert.ok(restored !== undefined, `no "connections restored" line:\n${logSince(d.log, startOffset)}`);
      assert.ok((restored.restored as { connections: number }).connections >= 1, JSON.stringify(restored));
      assert.equal(fs.existsSync(snapshotFile()), false, 'the snapshot is used once');
      assert.ok(guardInstalled(lab));
      assert.deepEqual(establishedFromClient(lab), before, 'the restored table lists the connection');

      await stream.waitForLines(2, 40_000);
      const end = stream.lines[1] as Transfer;
      assert.equal(end.error, undefined, end.error);
      assert.equal(end.status, 200);
      assert.equal(end.bytes, STREAM_BYTES);
      assert.equal(end.mismatchAt, -1);
      // And the restarted director schedules new connections.
      const r = client<Counts>(lab.clientNamespace, 'http-many', `http://${lab.vip}:${lab.port}/`, '4');
      assert.deepEqual(r.failures, []);
    });

    if (mode !== 'nat') return;

    it('SIGKILL (a crash), then the same command line: configuration back, new requests served, the old download lost', async () => {
      const config = uvsadm(lab.socket, '-S', '-n');
      stream = new BackgroundClient(lab.clientNamespace, 'stream', streamUrl());
      await stream.waitForLines(1, 10_000);
      await sleep(1000);
      const old = establishedFromClient(lab);
      assert.equal(old.length, 1);
      const startedAt = Date.now();

      const d = directorOf(lab);
      const { startOffset } = await restartDirector(lab, 'SIGKILL');
      assert.equal(logLine(d.log, startOffset, 'connections restored from the snapshot'), undefined, 'a crash leaves no snapshot');
      assert.equal(uvsadm(lab.socket, '-S', '-n'), config, 'the configuration is back');
      const r = client<Counts>(lab.clientNamespace, 'http-many', `http://${lab.vip}:${lab.port}/`, '10');
      assert.deepEqual(r.failures, []);
      assert.deepEqual(r.counts, { rs1: 5, rs2: 5 });
      assert.deepEqual(establishedFromClient(lab).filter((e) => old.includes(e)), [], 'the old connection is not in the table');

      // Kept, the transfer would end about STREAM_MS after it started, plus the restart's gap;
      // give it 5 s more than that.
      const waitUntil = startedAt + STREAM_MS + 5000;
      while (Date.now() < waitUntil && stream.lines.length < 2) await sleep(100);
      const end = stream.lines[1] as Transfer | undefined;
      assert.ok(end === undefined || end.error !== undefined || end.bytes < STREAM_BYTES,
        `the old download completed after a crash: ${JSON.stringify(end)}`);
    });
  });
}
