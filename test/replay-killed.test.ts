/**
 * Issue 7, "replay killed midway leaves no corrupt output (write, then rename)": a replay is sent
 * SIGKILL while it is writing; the output path must still hold exactly what it held before (an
 * earlier result, or nothing), never part of a capture. The frames written so far live only under
 * the temporary name (OUT.tmp-PID), which a kill leaves behind and which is never mistaken for OUT;
 * the next run that completes OUT removes it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildCapture, directorText, rulesText } from '../scripts/bench/gen-capture';

const ROOT = path.resolve(__dirname, '..', '..');
const UVS = path.join(ROOT, 'dist/src/cli/uvs.js');
/** The kill comes once the temporary output holds this much, so the run is surely midway. */
const KILL_AT_BYTES = 4 << 20;
const WAIT_LIMIT_MS = 60_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Starts a replay and SIGKILLs it once its temporary output has grown past KILL_AT_BYTES. */
async function replayKilledMidway(dir: string, input: string, out: string): Promise<{ tempPath: string; tempBytes: number }> {
  const child = spawn(process.execPath, [UVS, 'replay', input, '-o', out, '--rules', path.join(dir, 'nat.rules'), '--director', path.join(dir, 'bench.director')], {
    stdio: 'ignore',
  });
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
  const tempPath = `${out}.tmp-${child.pid}`;
  const started = Date.now();
  let tempBytes = 0;
  try {
    while (Date.now() - started < WAIT_LIMIT_MS) {
      tempBytes = fs.existsSync(tempPath) ? fs.statSync(tempPath).size : 0;
      if (tempBytes >= KILL_AT_BYTES) break;
      if (child.exitCode !== null) throw new Error(`the replay ended (exit ${child.exitCode}) before it could be killed midway`);
      await sleep(2);
    }
    assert.ok(tempBytes >= KILL_AT_BYTES, `the temporary output never reached ${KILL_AT_BYTES} bytes`);
    child.kill('SIGKILL');
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  assert.equal(await exited, 'SIGKILL');
  return { tempPath, tempBytes };
}

describe('a replay killed midway (issue 7)', function () {
  this.timeout(120_000);
  let dir = '';
  let input = '';
  let inputBytes = 0;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uvs-killed-'));
    input = path.join(dir, 'in.pcap');
    const capture = buildCapture();
    fs.writeFileSync(input, capture);
    inputBytes = capture.length;
    fs.writeFileSync(path.join(dir, 'nat.rules'), rulesText('nat'));
    fs.writeFileSync(path.join(dir, 'bench.director'), directorText());
  });

  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('leaves an earlier OUT exactly as it was', async () => {
    const out = path.join(dir, 'earlier.pcap');
    const earlier = Buffer.from('an earlier result, byte for byte');
    fs.writeFileSync(out, earlier);
    const { tempPath, tempBytes } = await replayKilledMidway(dir, input, out);
    assert.ok(tempBytes < inputBytes, 'killed before the whole output was written');
    assert.deepEqual(fs.readFileSync(out), earlier);
    // What was written so far is only under the temporary name.
    assert.ok(fs.existsSync(tempPath));
    assert.ok(fs.statSync(tempPath).size >= KILL_AT_BYTES);
  });

  it('creates no OUT when there was none', async () => {
    const out = path.join(dir, 'fresh.pcap');
    await replayKilledMidway(dir, input, out);
    assert.equal(fs.existsSync(out), false);
  });

  it('the same replay left alone writes OUT whole (the kill, not the input, made the difference)', async () => {
    const out = path.join(dir, 'whole.pcap');
    const child = spawn(process.execPath, [UVS, 'replay', input, '-o', out, '--rules', path.join(dir, 'nat.rules'), '--director', path.join(dir, 'bench.director')], {
      stdio: 'ignore',
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.equal(code, 0);
    // Every input frame is forwarded in NAT with the same length: the output is as long as the input.
    assert.equal(fs.statSync(out).size, inputBytes);
    assert.equal(fs.readdirSync(dir).filter((f) => f.startsWith('whole.pcap.tmp-')).length, 0);
  });

  it('the next run that completes OUT removes what killed runs left', async () => {
    const out = path.join(dir, 'again.pcap');
    const { tempPath } = await replayKilledMidway(dir, input, out);
    assert.ok(fs.existsSync(tempPath));
    // A leftover of a process that is still alive (this one) is another run at work: kept.
    const live = `${out}.tmp-${process.pid}`;
    fs.writeFileSync(live, 'in use');
    const child = spawn(process.execPath, [UVS, 'replay', input, '-o', out, '--rules', path.join(dir, 'nat.rules'), '--director', path.join(dir, 'bench.director')], {
      stdio: 'ignore',
    });
    assert.equal(await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c))), 0);
    assert.equal(fs.statSync(out).size, inputBytes);
    assert.equal(fs.existsSync(tempPath), false);
    assert.equal(fs.readFileSync(live, 'utf8'), 'in use');
    fs.unlinkSync(live);
  });
});
