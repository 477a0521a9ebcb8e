/**
 * A real server removed with `uvsadm -d` in the middle of a long HTTP download through a NAT lab
 * (`uvs lab up --mode nat`), under each policy of src/ipvs/sysctls.ts, with real kernels on both
 * ends:
 * - the default (expire_nodest_conn 0): the download stalls (the client's segments are dropped),
 *   new requests all go to the other server;
 * - `--sysctl drain_nodest_conn=1`: the download completes, every byte intact, while new requests
 *   never reach the removed server;
 * - `--sysctl expire_nodest_conn=1`: the download is cut (its entry is gone), new requests are fine.
 * Each lab is brought down by `uvs lab down` in after(), also when a test fails; every wait is bounded.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { uniqueLabName } from './support/lab-cli';
import { BackgroundClient, client, labDown, labUp, sleep, uvsadm, type LabStatus } from './support/e2e-lab';

interface Transfer {
  started?: boolean;
  status?: number;
  name?: string;
  bytes: number;
  mismatchAt?: number;
  error?: string;
}

interface Counts {
  counts: Record<string, number>;
  failures: string[];
}

/** 24 MB in 20 pieces over 2.4 s: far more than a receive window holds once the client's ACKs stop. */
const BYTES = 24_000_000;
const STREAM_MS = 2400;
const REQUESTS = 20;

const POLICIES = [
  { title: 'default (expire_nodest_conn 0)', tag: 'rdrop', args: [] as string[], line: null, completes: false },
  { title: '--sysctl drain_nodest_conn=1', tag: 'rdrain', args: ['--sysctl', 'drain_nodest_conn=1'], line: 'sysctl drain_nodest_conn 1', completes: true },
  { title: '--sysctl expire_nodest_conn=1', tag: 'rexpire', args: ['--sysctl', 'net.ipv4.vs.expire_nodest_conn=1'], line: 'sysctl expire_nodest_conn 1', completes: false },
] as const;

for (const policy of POLICIES) {
  describe(`lab: a real server removed mid-transfer, ${policy.title} (nat)`, function () {
    this.timeout(30_000);
    const name = uniqueLabName(policy.tag);
    let lab: LabStatus;

    before(function () {
      lab = labUp(name, 'nat', 2, 'rr', ...policy.args);
    });

    after(() => {
      labDown(name);
    });

    it(policy.completes
      ? 'the transfer completes with its bytes intact; new requests never reach the removed server'
      : 'the transfer does not complete; new requests all go to the other server', async () => {
      const director = fs.readFileSync(path.join(lab.dir, 'director'), 'utf8');
      if (policy.line === null) assert.doesNotMatch(director, /^sysctl /m);
      else assert.match(director, new RegExp(`^${policy.line}$`, 'm'), 'uvs lab up wrote the --sysctl line');

      const svc = `${lab.vip}:${lab.port}`;
      const stream = new BackgroundClient(lab.clientNamespace, 'stream', `http://${svc}/stream/${BYTES}/${STREAM_MS}`);
      try {
        await stream.waitForLines(1, 10_000);
        const target = (stream.lines[0] as Transfer).name ?? '';
        const removed = lab.realServers.find((rs) => rs.name === target);
        assert.ok(removed !== undefined, `the transfer came from "${target}"`);
        const other = lab.realServers.find((rs) => rs !== removed)?.name ?? '';
        uvsadm(lab.socket, '-d', '-t', svc, '-r', `${removed.address}:${removed.port}`);

        const during = client<Counts>(lab.clientNamespace, 'http-many', `http://${svc}/`, String(REQUESTS));
        assert.deepEqual(during.failures, []);
        assert.deepEqual(during.counts, { [other]: REQUESTS }, `new requests after ${target} was removed`);

        if (policy.completes) {
          await stream.waitForLines(2, STREAM_MS + 15_000);
          const end = stream.lines[1] as Transfer;
          assert.equal(end.error, undefined, end.error);
          assert.equal(end.status, 200);
          assert.equal(end.bytes, BYTES);
          assert.equal(end.mismatchAt, -1, 'every byte as the real server sent it');
        } else {
          // Well past the time the whole body takes when nothing is in the way.
          await sleep(STREAM_MS + 2500);
          const end = stream.lines[1] as Transfer | undefined;
          assert.ok(end === undefined || end.error !== undefined || end.bytes < BYTES,
            `the transfer from the removed ${target} completed: ${JSON.stringify(end)}`);
        }
      } finally {
        await stream.done(1000);
      }
    });
  });
}
