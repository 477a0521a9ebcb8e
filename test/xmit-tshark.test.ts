/**
 * A second opinion on every xmit output: Wireshark's dissectors validate the IPv4 header, TCP, UDP
 * and SCTP checksums of all rewritten frames (outer and inner headers of tunnelled ones).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LINKTYPE_ETHERNET, PcapWriter } from '../src/pcap';
import { tsharkAvailable, tsharkChecksumProblems } from './support/tshark';
import { VECTORS } from './xmit-fixtures';
import { runVector, type VectorName } from './xmit-helpers';

/** Every vector that is forwarded, run through its rewriter. */
function allOutputs(): { name: VectorName; frame: Uint8Array }[] {
  const outs: { name: VectorName; frame: Uint8Array }[] = [];
  for (const name of Object.keys(VECTORS) as VectorName[]) {
    if (VECTORS[name].out === '') continue;
    const r = runVector(name);
    assert.ok(r.n > 0, `${name} was dropped`);
    outs.push({ name, frame: r.frame });
  }
  return outs;
}

function writePcap(path: string, frames: Uint8Array[]): void {
  const w = new PcapWriter(path, LINKTYPE_ETHERNET);
  frames.forEach((f, i) => w.writePacket(0, f, 0, f.length, 1_700_000_000 + i, 0));
  w.close();
}

const GOOD = '1'; // Wireshark checksum status: Bad 0, Good 1, Unverified 2, Not present 3

/**
 * For each frame holding `proto` (ip, tcp, udp or sctp): its number and the status of every
 * checksum of that protocol in it (a tunnelled frame has two IP headers). SCTP is checked as CRC32c.
 */
function checksumStatuses(path: string, proto: string): { frame: number; statuses: string[] }[] {
  const r = spawnSync(
    'tshark',
    ['-n', '-r', path, '-o', 'sctp.checksum:CRC 32c', '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE',
      '-o', 'ip.check_checksum:TRUE', '-Y', proto, '-T', 'fields', '-E', 'aggregator=^', '-e', 'frame.number',
      '-e', `${proto}.checksum.status`],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`tshark failed (exit ${r.status}): ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [frame, statuses] = l.split('\t');
      return { frame: Number(frame), statuses: statuses.split('^') };
    });
}

describe('xmit outputs checked by tshark', function () {
  let dir = '';
  before(function () {
    if (!tsharkAvailable()) {
      console.log('    (tshark is not installed: skipping the tshark checksum validation of xmit outputs)');
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'uvs-xmit-'));
  });
  after(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('no rewritten frame has a bad IPv4 header, TCP, UDP or SCTP checksum, and all are verified', () => {
    const outs = allOutputs();
    const path = join(dir, 'outputs.pcap');
    writePcap(path, outs.map((o) => o.frame));
    const problems = tsharkChecksumProblems(path).map((p) => {
      const n = Number(/^frame (\d+)/.exec(p)?.[1] ?? 0);
      return `${outs[n - 1]?.name ?? '?'}: ${p}`;
    });
    assert.deepEqual(problems, []);
    // Every checksum tshark finds must be verified Good, and each kind must really have been seen.
    const seen: Record<string, number> = {};
    for (const proto of ['ip', 'tcp', 'udp', 'sctp']) {
      const rows = checksumStatuses(path, proto);
      const notGood = rows.filter((r) => r.statuses.some((st) => st !== GOOD));
      assert.deepEqual(notGood.map((r) => `${outs[r.frame - 1].name}: ${proto} checksum status ${r.statuses.join(',')}`), []);
      seen[proto] = rows.length;
    }
    assert.equal(seen.sctp, outs.filter((o) => /Sctp/.test(o.name)).length, 'every SCTP output was checked');
    assert.ok(seen.ip > 20 && seen.tcp > 20 && seen.udp > 10, `frames checked: ${JSON.stringify(seen)}`);
  });

  it('control: the same check flags a frame whose TCP checksum or SCTP CRC is off by one bit', () => {
    const tcp = runVector('natInTcp4').frame.slice();
    tcp[14 + 20 + 17] ^= 1;
    const sctp = runVector('natInSctp4').frame.slice();
    sctp[14 + 20 + 8] ^= 1;
    const path = join(dir, 'bad.pcap');
    writePcap(path, [tcp, sctp]);
    assert.equal(tsharkChecksumProblems(path).length, 1);
    assert.deepEqual(checksumStatuses(path, 'tcp'), [{ frame: 1, statuses: ['0'] }]);
    assert.deepEqual(checksumStatuses(path, 'sctp'), [{ frame: 2, statuses: ['0'] }]);
  });
});
