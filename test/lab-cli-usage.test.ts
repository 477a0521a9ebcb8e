/**
 * `uvs lab up --sysctl`: a mistake is one line naming it, exit 2, and no lab is made (the options are
 * checked before anything is built, as the director file's `sysctl` lines are).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const UVS = path.resolve(__dirname, '..', 'src', 'cli', 'uvs.js');

function labUp(...args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [UVS, 'lab', 'up', '--mode', 'nat', '--name', 'usagecheck', ...args], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

describe('uvs lab up --sysctl mistakes', () => {
  const cases: [string[], RegExp][] = [
    [['--sysctl', 'bogus=1'], /--sysctl 'bogus=1': unknown sysctl "bogus" \(uvs knows expire_nodest_conn, drain_nodest_conn/],
    [['--sysctl', 'expire_nodest_conn'], /--sysctl 'expire_nodest_conn': expected NAME=VALUE/],
    [['--sysctl', 'drain_nodest_conn=2'], /bad value "2" for drain_nodest_conn \(0 or 1\)/],
    [['--sysctl', 'expire_nodest_conn=1', '--sysctl', 'net.ipv4.vs.expire_nodest_conn=0'], /--sysctl expire_nodest_conn given twice/],
    [['--sysctl', 'expire_nodest_conn=1', '--sysctl', 'drain_nodest_conn=1'], /contradict each other/],
  ];
  for (const [args, message] of cases) {
    it(`${args.join(' ')}: one line, exit 2, no lab`, () => {
      const r = labUp(...args);
      assert.equal(r.status, 2);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /^uvs lab up: /);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.equal(fs.existsSync('/run/uvs-lab/usagecheck'), false);
    });
  }
});
