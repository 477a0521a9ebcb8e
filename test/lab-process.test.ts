/**
 * The lab's process handling in a namespace of the test's own: a process is the lab's only
 * inside its namespace, stop sends SIGTERM first and SIGKILL only after the bound, and a wait for
 * readiness fails with the log's last lines when the process dies or time runs out.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileContains, processAlive, startDetached, stopProcesses, waitFor } from '../src/lab/lab-process';
import { addNamespace, deleteNamespaces, uniquePrefix } from '../src/lab/netns';

describe('lab processes', function () {
  this.timeout(20_000);
  const prefix = uniquePrefix('lp');
  const ns = `${prefix}a`;
  const other = `${prefix}b`;
  let dir = '';

  before(() => {
    addNamespace(ns);
    addNamespace(other);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uvs-lab-process-'));
  });
  after(() => {
    deleteNamespaces(prefix);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("knows a process by pid and namespace: the same pid in another namespace is not the lab's", () => {
    const p = startDetached('sleeper', ns, 'sleep', ['30'], path.join(dir, 'sleeper.log'));
    waitFor(p, 'namespace entry', () => processAlive(p), 5000);
    assert.equal(processAlive({ pid: p.pid, namespace: other }), false);
    assert.equal(processAlive({ pid: p.pid, namespace: `${prefix}gone` }), false);
    assert.equal(stopProcesses([p], 2000), 1);
    assert.equal(processAlive(p), false);
  });

  it('stops with SIGTERM first, and SIGKILLs what ignores it after the bound', () => {
    const marker = path.join(dir, 'termed');
    const polite = startDetached('polite', ns, 'sh', ['-c', `trap 'echo term > ${marker}; exit 0' TERM; echo trapped; while :; do sleep 0.05; done`], path.join(dir, 'polite.log'));
    const stubborn = startDetached('stubborn', ns, 'sh', ['-c', `trap '' TERM; echo trapped; while :; do sleep 0.05; done`], path.join(dir, 'stubborn.log'));
    // Signalled before its trap is set, a shell would just die: wait for each to say it is ready.
    for (const p of [polite, stubborn]) waitFor(p, 'the trap', () => processAlive(p) && fileContains(p.log, 'trapped'), 5000);
    const t0 = Date.now();
    assert.equal(stopProcesses([polite, stubborn], 600), 2);
    const took = Date.now() - t0;
    assert.equal(fs.readFileSync(marker, 'utf8'), 'term\n');
    assert.ok(took >= 600 && took < 3000, `SIGKILL after the 600 ms bound (took ${took} ms)`);
    const deadline = Date.now() + 2000;
    while ((processAlive(polite) || processAlive(stubborn)) && Date.now() < deadline);
    assert.equal(processAlive(stubborn), false);
    assert.equal(processAlive(polite), false);
  });

  it('a wait fails with the log tail when the process exits first', () => {
    const p = startDetached('crasher', ns, 'sh', ['-c', 'echo one; echo boom >&2; exit 3'], path.join(dir, 'crasher.log'));
    assert.throws(() => waitFor(p, 'the socket', () => false, 5000), (e: Error) => {
      assert.match(e.message, new RegExp(`^crasher \\(pid ${p.pid}\\) exited while waiting for the socket; last lines of .*crasher.log:\\none\\nboom$`));
      return true;
    });
  });

  it('a wait fails naming what it waited for when time runs out', () => {
    const p = startDetached('idle', ns, 'sleep', ['30'], path.join(dir, 'idle.log'));
    const t0 = Date.now();
    assert.throws(() => waitFor(p, 'ready line', () => false, 300), /idle \(pid \d+\): still no ready line after 0.3 s/);
    assert.ok(Date.now() - t0 >= 300);
    stopProcesses([p], 1000);
  });
});
