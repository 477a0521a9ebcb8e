/**
 * uvsadm as a user runs it (dist/src/cli/uvsadm.js, after `npx tsc -p .`) against a real
 * director process on a temporary socket (UVS_SOCKET): a 130-command session whose every stdout,
 * stderr and exit status was recorded from the real ipvsadm 1.31 (test/fixtures/control-daemon,
 * made by make-fixtures.sh through shared/ipvsadm-oracle); the director not running; a non-root
 * user refused by the socket, and admitted through --group.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PERMISSION_DENIED, notRunningMessage } from '../src/control/daemon/control-client';
import { Director, UVSADM, assertReply, readSession, removeTempDirs, tempDir, uvsadm } from './control-daemon-harness';

describe('uvsadm against a running director', function () {
  this.timeout(120000);
  let director: Director;

  before(async () => {
    director = await Director.start();
  });

  after(async () => {
    await director?.kill();
    removeTempDirs();
  });

  it('answers a whole session byte for byte as ipvsadm 1.31 does (listings, saves, edits, errors, -R, -h)', () => {
    const steps = readSession();
    assert.ok(steps.length >= 100, 'the session fixture is there');
    steps.forEach((step, i) => {
      const r = uvsadm(step.argv, { socket: director.socket, input: step.stdin });
      assertReply(r, step, `step ${i + 1}: uvsadm ${step.argv.join(' ')}`);
    });
  });

  it('reads -R rules from stdin and applies them', () => {
    assert.equal(uvsadm(['-C'], { socket: director.socket }).exitCode, 0);
    const r = uvsadm(['-R'], { socket: director.socket, input: '-A -t 10.9.0.1:80 -s rr\n-a -t 10.9.0.1:80 -r 10.9.1.1 -m\n' });
    assert.deepEqual(r, { stdout: '', stderr: '', exitCode: 0 });
    assert.equal(uvsadm(['-S', '-n'], { socket: director.socket }).stdout,
      '-A -t 10.9.0.1:80 -s rr\n-a -t 10.9.0.1:80 -r 10.9.1.1:80 -m -w 1\n');
  });

  it('names the line of a bad -R input and applies nothing', () => {
    const before = uvsadm(['-S', '-n'], { socket: director.socket }).stdout;
    const r = uvsadm(['-R'], {
      socket: director.socket,
      input: '-A -t 10.9.0.2:80 -s rr\n\n-a -t 10.9.0.2:80 -r 10.9.1.2 -m\n-a -t 10.9.0.3:80 -r 10.9.1.3\n-A -t 10.9.0.4:80\n',
    });
    assert.deepEqual(r, { stdout: '', stderr: 'line 4: Service not defined\n', exitCode: 255 });
    assert.equal(uvsadm(['-S', '-n'], { socket: director.socket }).stdout, before);
  });

  it('stops quietly when its reader closes the pipe early (uvsadm -S -n | head -c 100)', () => {
    // Enough services that the listing is far larger than a pipe's buffer.
    const rules = Array.from({ length: 3000 }, (_, i) => `-A -t 10.8.${i >> 8}.${i & 255}:80 -s rr`).join('\n') + '\n';
    assert.equal(uvsadm(['-R'], { socket: director.socket, input: rules }).exitCode, 0);
    try {
      const r = spawnSync('bash', ['-c', `"${process.execPath}" "${UVSADM}" -S -n | head -c 100 >/dev/null; echo "\${PIPESTATUS[0]}"`], {
        env: { ...process.env, UVS_SOCKET: director.socket }, encoding: 'utf8',
      });
      assert.equal(r.stderr, '', 'no stack trace');
      assert.equal(r.stdout.trim(), '0');
    } finally {
      uvsadm(['-C'], { socket: director.socket });
    }
  });

  it('says the director is not running, in ipvsadm\'s shape, with exit status 2', () => {
    const socket = path.join(tempDir('uvsadm-none-'), 'absent.sock');
    const r = uvsadm(['-L', '-n'], { socket });
    assert.deepEqual(r, { stdout: '', stderr: notRunningMessage(socket), exitCode: 2 });
    assert.match(r.stderr, /^Can't initialize ipvs: the uvs director is not running \(no socket at .*absent\.sock\)\n/);
  });

  it('refuses a non-root user with ipvsadm\'s words and exit status, changing nothing', function () {
    if (process.getuid?.() !== 0) this.skip();
    const before = uvsadm(['-S', '-n'], { socket: director.socket }).stdout;
    const st = fs.statSync(director.socket);
    assert.equal(st.mode & 0o777, 0o660, 'socket mode 0660');
    assert.equal(st.uid, 0, 'owned by root');
    assert.equal(st.gid, 0, 'group root when no --group is given');
    const nobody = { user: 'nobody', group: 'nogroup' };
    for (const args of [['-L', '-n'], ['-A', '-t', '10.9.9.9:80'], ['-C'], ['-h']]) {
      const r = uvsadm(args, { socket: director.socket, asUser: nobody });
      assert.deepEqual(r, { stdout: '', stderr: PERMISSION_DENIED, exitCode: 2 }, args.join(' '));
    }
    assert.equal(PERMISSION_DENIED,
      "Can't initialize ipvs: Permission denied (you must be root)\nAre you sure that IP Virtual Server is built in the kernel or as module?\n");
    assert.equal(uvsadm(['-S', '-n'], { socket: director.socket }).stdout, before);
  });
});

describe('uvsadm and the --group of the director', function () {
  this.timeout(60000);
  let director: Director;

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    director = await Director.start({ group: 'nogroup' });
  });

  after(async () => {
    await director?.kill();
    removeTempDirs();
  });

  it('lets members of the group in, and nobody else', () => {
    const st = fs.statSync(director.socket);
    assert.equal(st.mode & 0o777, 0o660);
    assert.equal(st.gid, 65534, 'the socket belongs to nogroup');
    const member = uvsadm(['-A', '-t', '10.8.0.1:80', '-s', 'rr'], { socket: director.socket, asUser: { user: 'nobody', group: 'nogroup' } });
    assert.deepEqual(member, { stdout: '', stderr: '', exitCode: 0 });
    const listed = uvsadm(['-S', '-n'], { socket: director.socket, asUser: { user: 'nobody', group: 'nogroup' } });
    assert.equal(listed.stdout, '-A -t 10.8.0.1:80 -s rr\n');
    // Same user, another group: no access.
    const outsider = uvsadm(['-L', '-n'], { socket: director.socket, asUser: { user: 'nobody', group: 'daemon' } });
    assert.deepEqual(outsider, { stdout: '', stderr: PERMISSION_DENIED, exitCode: 2 });
  });
});
