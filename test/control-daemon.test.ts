/**
 * `uvs director` as a process, over its real Unix socket (temporary paths through UVS_SOCKET):
 * ipvsadm's error paths (test/fixtures/control/errors.*, recorded from ipvsadm 1.31), rules files
 * replayed command by command and through -R against ipvsadm's own -S (test/fixtures/control/
 * *.save), the -S/-R round trip with every kind of service and option, an atomic -R, the state
 * file across a restart (same -S, -L --nosort, thresholds, local addresses, timeouts), a clean
 * stop on SIGTERM and SIGINT, stale and live sockets, concurrent clients, and the JSON-line logs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseState } from '../src/control/daemon/config-store';
import { formatRules } from '../src/control/rules-format';
import { rulesLineTokens } from '../src/control/rules-file';
import { Director, FIXTURES, UVS, asUvsadm, readSession, removeTempDirs, tempDir, uvsadmAsync } from './control-daemon-harness';

/** The commands of the session fixture that build "every kind of service and option". */
function everyKindCommands(): string[][] {
  const steps = readSession();
  const first = steps.findIndex((s) => s.argv.join(' ') === '-A -u 172.16.0.1:53 -s sh -b sh-fallback,sh-port');
  const last = steps.findIndex((s, i) => i > first && s.argv[0] === '-L');
  assert.ok(first > 0 && last > first);
  return [
    ...steps.slice(0, first).filter((s) => /^-[AaEe]$/.test(s.argv[0]) && s.exit === 0).map((s) => s.argv),
    ...steps.slice(first, last).filter((s) => s.exit === 0).map((s) => s.argv),
  ];
}

async function ok(d: Director, argv: string[], stdin?: string): Promise<string> {
  const r = await d.request(argv, stdin);
  assert.equal(r.stderr, '', argv.join(' '));
  assert.equal(r.exitCode, 0, argv.join(' '));
  return r.stdout;
}

describe('uvs director: ipvsadm error paths and rules over the socket', function () {
  this.timeout(120000);
  let d: Director;

  before(async () => {
    d = await Director.start();
  });
  after(async () => {
    await d?.kill();
    removeTempDirs();
  });

  it('gives ipvsadm 1.31\'s message and exit status for every case of errors.cases', async () => {
    const text = fs.readFileSync(path.join(FIXTURES, 'control/errors.expected'), 'utf8');
    const cases = text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as { argv: string[]; stderr: string; exit: number });
    assert.ok(cases.length > 80);
    for (const c of cases) {
      await ok(d, ['-C']);
      await ok(d, ['-A', '-t', '10.0.0.1:80']);
      await ok(d, ['-a', '-t', '10.0.0.1:80', '-r', '1.1.1.1', '-m']);
      const r = await d.request(c.argv);
      const label = JSON.stringify(c.argv);
      assert.equal(r.stderr, c.stderr === '' ? '' : `${asUvsadm(c.stderr)}\n`, `${label}: stderr`);
      assert.equal(r.exitCode, c.exit, `${label}: exit status`);
    }
  });

  for (const name of ['worked-example', 'edits', 'ipv6-fwmark-tunnels', 'random-mix', 'random-mix-2', 'sort-quirks']) {
    it(`${name}.rules: command by command and through -R, -S -n is ipvsadm's`, async () => {
      const rules = fs.readFileSync(path.join(FIXTURES, `control/${name}.rules`), 'utf8');
      const save = fs.readFileSync(path.join(FIXTURES, `control/${name}.save`), 'utf8');
      await ok(d, ['-C']);
      for (const line of rules.split('\n')) {
        const argv = rulesLineTokens(line);
        if (argv !== null) await ok(d, argv);
      }
      assert.equal(await ok(d, ['-S', '-n']), save);
      const listing = await ok(d, ['-L', '-n']);
      await ok(d, ['-C']);
      // -R has no comments: the file's comment lines are left out.
      await ok(d, ['-R'], rules.split('\n').filter((l) => !l.trim().startsWith('#')).join('\n'));
      assert.equal(await ok(d, ['-S', '-n']), save);
      assert.equal(await ok(d, ['-L', '-n']), listing);
    });
  }

  it('-S / -R round trip with every kind of service and option gives the same -S and -L', async () => {
    await ok(d, ['-C']);
    for (const argv of everyKindCommands()) await ok(d, argv);
    const saved = await ok(d, ['-S', '-n']);
    for (const kind of ['-u ', '--sctp-service ', '-f 7 ', '-f 8 -6 ', '-t [2001:db8::', '--tun-type gue', '--tun-type gre', '--pe sip', ' -o', '-b sh-fallback,sh-port', '-b flag-1,flag-3', '-M 255.255.255.0', '-M 64', ' -p 120', ' -i ', ' -m ', ' -g ']) {
      assert.ok(saved.includes(kind), `the save has ${kind.trim()}`);
    }
    const listings = await Promise.all([['-L', '-n'], ['-L', '-n', '--tun-info'], ['-L', '-n', '--persistent-conn']].map((a) => ok(d, a)));
    await ok(d, ['-C']);
    assert.equal(await ok(d, ['-S', '-n']), '');
    await ok(d, ['-R'], saved);
    assert.equal(await ok(d, ['-S', '-n']), saved);
    assert.deepEqual(await Promise.all([['-L', '-n'], ['-L', '-n', '--tun-info'], ['-L', '-n', '--persistent-conn']].map((a) => ok(d, a))), listings);
  });

  it('a bad -R line applies nothing and is named; the state file is untouched', async () => {
    await ok(d, ['-C']);
    await ok(d, ['-A', '-t', '10.0.0.1:80', '-s', 'rr']);
    const before = await ok(d, ['-S', '-n']);
    const stateBefore = fs.readFileSync(d.state, 'utf8');
    const input = [
      '-A -t 10.0.0.2:80 -s rr',
      '-a -t 10.0.0.2:80 -r 10.1.0.1 -m',
      '',
      '-a -t 10.0.0.1:80 -r 10.1.0.2 -m',
      '-A -t 10.0.0.1:80 -s wrr',
      '-a -t 10.0.0.2:80 -r 10.1.0.3 -m',
    ].join('\n');
    const r = await d.request(['-R'], input);
    assert.deepEqual(r, { stdout: '', stderr: 'line 5: Service already exists\n', exitCode: 255 });
    assert.equal(await ok(d, ['-S', '-n']), before);
    assert.equal(fs.readFileSync(d.state, 'utf8'), stateBefore);
    const parseError = await d.request(['-R'], '-A -t 10.0.0.3:80\n-A -t 10.0.0.4:80 -p 0\n');
    assert.deepEqual(parseError, { stdout: '', stderr: "line 2: invalid timeout value `0' specified\n", exitCode: 2 });
    assert.equal(await ok(d, ['-S', '-n']), before);
    const log = await d.waitForLog((l) => l.msg === 'command refused' && l.error === 'line 5: Service already exists');
    assert.deepEqual(log.command, ['-R']);
    assert.equal(log.exitCode, 255);
  });
});

describe('uvs director: state file and restart', function () {
  this.timeout(120000);
  let d: Director | null = null;
  after(async () => {
    await d?.kill();
    removeTempDirs();
  });

  it('a restarted director loads the state file (not --rules) and lists and saves exactly as before', async () => {
    d = await Director.start({ rules: '-A -t 10.7.0.1:80 -s rr\n-a -t 10.7.0.1:80 -r 10.7.1.1 -m\n' });
    const first = d;
    assert.ok(first.logs.some((l) => l.msg === 'configuration loaded from the rules file'));
    for (const argv of everyKindCommands()) await ok(first, argv);
    const extra = [
      ['-e', '-t', '192.168.100.10:80', '-r', '10.0.0.11', '-w', '4', '-x', '100', '-y', '50'],
      ['-A', '-t', '10.7.0.2:80', '-s', 'rr', '-M', '255.255.0.0'],
      ['-a', '-t', '10.7.0.2:80', '-r', '10.7.1.5:8080', '--fullnat'],
      ['-P', '-t', '10.7.0.2:80', '-z', '10.7.2.1'],
      ['-P', '-t', '10.7.0.2:80', '-z', '10.7.2.2'],
      ['-d', '-t', '10.7.0.1:80', '-r', '10.7.1.1'],
      ['-a', '-t', '10.7.0.1:80', '-r', '10.7.1.1', '-m', '-w', '2'],
      ['-A', '-f', '4294967295', '-s', 'rr'],
      ['--set', '1000', '0', '200'],
    ];
    for (const argv of extra) await ok(first, argv);
    const views = [['-S', '-n'], ['-L', '-n'], ['-L', '-n', '--nosort'], ['-L', '-n', '--thresholds'], ['-L', '-n', '--nosort', '--tun-info'], ['-L', '--timeout'], ['-G']];
    const before = await Promise.all(views.map((v) => ok(first, v)));
    const stateBefore = fs.readFileSync(first.state, 'utf8');
    assert.match(stateBefore, / -x 100 -y 50$/m, 'thresholds are kept');
    assert.match(stateBefore, /^-P -t 10\.7\.0\.2:80 -z 10\.7\.2\.1$/m, 'local addresses are kept');
    assert.match(stateBefore, /^-A -t 10\.7\.0\.2:80 -s rr -M 255\.255\.0\.0$/m, 'a non-persistent -M is kept');
    assert.match(stateBefore, /^--set 1000 0 200$/m);
    assert.match(stateBefore, /^-A -f 4294967295 -s rr$/m, 'large marks as they are');

    assert.equal(await first.stop('SIGTERM'), 0, 'a clean exit');
    assert.ok(!fs.existsSync(first.socket), 'the socket file is removed');
    const stopped = first.logs.find((l) => l.msg === 'director stopped');
    assert.equal(stopped?.reason, 'SIGTERM');
    assert.equal(fs.readFileSync(first.state, 'utf8'), stateBefore);

    // Different --rules: the state file wins, and the log says so.
    d = await Director.start({ dir: first.dir, rules: '-A -t 10.99.0.1:80 -s rr\n' });
    const second = d;
    const loaded = second.logs.find((l) => l.msg === 'configuration loaded from the state file (not from --rules)');
    assert.equal(loaded?.state, first.state);
    assert.deepEqual(await Promise.all(views.map((v) => ok(second, v))), before);
    assert.equal(await second.stop('SIGINT'), 0);
    assert.equal(second.logs.find((l) => l.msg === 'director stopped')?.reason, 'SIGINT');
    assert.ok(!fs.existsSync(second.socket));
  });

  it('a stale socket file is replaced; a live director\'s socket is not taken', async () => {
    d = await Director.start({ rules: '-A -t 10.6.0.1:80 -s rr\n' });
    const a = d;
    await a.kill(); // SIGKILL: the socket file stays behind
    assert.ok(fs.existsSync(a.socket));
    d = await Director.start({ dir: a.dir });
    const b = d;
    assert.equal(await ok(b, ['-S', '-n']), '-A -t 10.6.0.1:80 -s rr\n');
    const otherState = path.join(tempDir('uvs-second-'), 'state');
    await assert.rejects(Director.start({ socket: b.socket, state: otherState }), /another director is already serving/);
    assert.ok(!fs.existsSync(otherState), 'the refused director wrote no state file');
    assert.equal(await ok(b, ['-S', '-n']), '-A -t 10.6.0.1:80 -s rr\n', 'the first one still serves');
  });

  it('refuses to start on bad input: usage (exit 2), a bad rules file, an unknown group (exit 1)', () => {
    const dir = tempDir('uvs-bad-');
    const run = (args: string[]): { status: number | null; stderr: string } => {
      const r = spawnSync(process.execPath, [UVS, 'director', ...args], {
        encoding: 'utf8', env: { ...process.env, UVS_SOCKET: path.join(dir, 's.sock') }, timeout: 20000,
      });
      return { status: r.status, stderr: r.stderr };
    };
    const usage = run(['--director', 'x']);
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /^uvs director: missing --rules RULES\nusage: uvs director /);
    assert.equal(run(['--rules', 'a', '--director', 'b', '--bogus']).status, 2);
    fs.writeFileSync(path.join(dir, 'rules'), '-A -t 10.0.0.1:80 -s nosuch\n');
    fs.writeFileSync(path.join(dir, 'director'), '');
    const bad = run(['--rules', path.join(dir, 'rules'), '--director', path.join(dir, 'director'), '--state', path.join(dir, 'st')]);
    assert.equal(bad.status, 1);
    const rec = JSON.parse(bad.stderr.trim().split('\n').pop() as string) as Record<string, unknown>;
    assert.equal(rec.level, 'error');
    assert.equal(rec.msg, 'director failed to start');
    assert.match(String(rec.error), /rules:1: Scheduler or persistence engine not found: 'nosuch'/);
    assert.ok(!fs.existsSync(path.join(dir, 'st')), 'no state file from a failed start');
    fs.writeFileSync(path.join(dir, 'rules'), '');
    const group = run(['--rules', path.join(dir, 'rules'), '--director', path.join(dir, 'director'), '--state', path.join(dir, 'st'), '--group', 'no-such-group-uvs']);
    assert.equal(group.status, 1);
    assert.match(group.stderr, /unknown group 'no-such-group-uvs'/);
  });
});

describe('uvs director: concurrent clients', function () {
  this.timeout(120000);
  let d: Director;
  before(async () => {
    d = await Director.start({ rules: '-A -t 10.50.0.1:80 -s wlc\n' });
  });
  after(async () => {
    await d?.kill();
    removeTempDirs();
  });

  it('20 uvsadm processes adding and deleting at once leave a consistent configuration', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => i + 1);
    const results = await Promise.all(ids.map(async (i) => {
      const add = await uvsadmAsync(['-a', '-t', '10.50.0.1:80', '-r', `10.60.0.${i}`, '-m', '-w', String(i)], d.socket);
      const del = i % 2 === 1 ? await uvsadmAsync(['-d', '-t', '10.50.0.1:80', '-r', `10.60.0.${i}`], d.socket) : null;
      return [add, del];
    }));
    for (const [add, del] of results) {
      assert.deepEqual(add, { stdout: '', stderr: '', exitCode: 0 });
      if (del !== null) assert.deepEqual(del, { stdout: '', stderr: '', exitCode: 0 });
    }
    const saved = await ok(d, ['-S', '-n']);
    const config = parseState(saved, '-S');
    const dests = config.services[0].dests.map((x) => `${x.addr.text}:${x.port}/${x.weight}`).sort();
    const expected = ids.filter((i) => i % 2 === 0).map((i) => `10.60.0.${i}:80/${i}`).sort();
    assert.deepEqual(dests, expected);
    // The state file says the same (its own order is the list order).
    const state = parseState(fs.readFileSync(d.state, 'utf8'), 'state');
    assert.equal(formatRules(state), saved);
  });

  it('20 clients racing to add the same service: exactly one wins, the others get "Service already exists"', async () => {
    const replies = await Promise.all(Array.from({ length: 20 }, () => d.request(['-A', '-t', '10.51.0.1:80', '-s', 'rr'])));
    assert.equal(replies.filter((r) => r.exitCode === 0).length, 1);
    for (const r of replies.filter((x) => x.exitCode !== 0)) assert.deepEqual(r, { stdout: '', stderr: 'Service already exists\n', exitCode: 255 });
    const lists = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0
      ? d.request(['-a', '-t', '10.51.0.1:80', '-r', `10.61.0.${i}`])
      : d.request(['-L', '-n', '-t', '10.51.0.1:80']))));
    for (const r of lists) assert.equal(r.exitCode, 0);
    assert.equal((await ok(d, ['-S', '-n'])).split('\n').filter((l) => l.startsWith('-a -t 10.51.0.1:80')).length, 5);
  });

  it('logs one JSON object per line: start, each change with its command and result', async () => {
    await ok(d, ['-a', '-t', '10.50.0.1:80', '-r', '10.62.0.1']);
    await d.request(['-a', '-t', '10.50.0.1:80', '-r', '10.62.0.1']);
    await d.waitForLog((l) => l.msg === 'command refused' && l.error === 'Destination already exists');
    for (const line of d.stderr.trim().split('\n')) {
      const rec = JSON.parse(line) as Record<string, unknown>;
      assert.match(String(rec.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, line);
      assert.ok(['debug', 'info', 'warn', 'error'].includes(String(rec.level)), line);
      assert.equal(typeof rec.msg, 'string', line);
    }
    const started = d.logs.find((l) => l.msg === 'director started');
    assert.equal(started?.socket, d.socket);
    assert.equal(started?.links, 0);
    const applied = d.logs.filter((l) => l.msg === 'command applied').map((l) => (l.command as string[]).join(' '));
    assert.ok(applied.includes('-a -t 10.50.0.1:80 -r 10.62.0.1'));
    assert.equal(applied.filter((c) => c.startsWith('-a -t 10.50.0.1:80 -r 10.60.0.')).length, 20);
  });

  it('answers a malformed request line with an error and keeps serving', async () => {
    const net = await import('node:net');
    const reply = await new Promise<string>((resolve, reject) => {
      const s = net.connect(d.socket);
      let got = '';
      s.on('data', (c) => {
        got += c.toString();
        if (got.split('\n').length > 2) {
          s.end();
          resolve(got);
        }
      });
      s.on('error', reject);
      s.write('{"argv": "-L"}\n{"argv":["-S","-n"]}\n');
    });
    const [bad, good] = reply.trim().split('\n').map((l) => JSON.parse(l) as { stdout: string; stderr: string; exitCode: number });
    assert.deepEqual(bad, { stdout: '', stderr: 'uvs director: bad request: request.argv must be an array of strings\n', exitCode: 2 });
    assert.equal(good.exitCode, 0);
    assert.match(good.stdout, /^-A -t 10\.50\.0\.1:80 -s wlc$/m);
  });
});
