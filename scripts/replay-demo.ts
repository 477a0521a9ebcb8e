/**
 * The main job for now: replays every shipped scenario (pcaps/<scenario>/) through the engine and
 * prints what the director did: frames in and out, drops by reason, connections per real server.
 * Outputs are written to a temporary directory (or --out DIR) so they can be opened in Wireshark.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { formatSummary, replay } from '../src/cli/replay';

const root = path.resolve(__dirname, '../..');
const pcaps = path.join(root, 'pcaps');
const outFlag = process.argv.indexOf('--out');
const outDir = outFlag > 0 ? path.resolve(process.argv[outFlag + 1]) : fs.mkdtempSync(path.join(os.tmpdir(), 'uvs-demo-'));
fs.mkdirSync(outDir, { recursive: true });

const scenarios = fs.readdirSync(pcaps).filter((d) => fs.existsSync(path.join(pcaps, d, 'in.pcap'))).sort();
let failures = 0;
for (const name of scenarios) {
  const dir = path.join(pcaps, name);
  const out = path.join(outDir, `${name}.pcap`);
  const readme = path.join(dir, 'README.md');
  console.log(`\n=== ${name} ===`);
  if (fs.existsSync(readme)) console.log(fs.readFileSync(readme, 'utf8').trim());
  console.log(`rules:\n${fs.readFileSync(path.join(dir, 'rules'), 'utf8').replace(/^/gm, '  ').trimEnd()}`);
  try {
    const r = replay({ input: path.join(dir, 'in.pcap'), output: out, rules: path.join(dir, 'rules'), director: path.join(dir, 'director') });
    process.stdout.write(formatSummary(r.summary, path.relative(root, path.join(dir, 'in.pcap')), out));
    const expected = path.join(dir, 'expected.pcap');
    if (fs.existsSync(expected)) {
      const same = fs.readFileSync(expected).subarray(24).equals(fs.readFileSync(out).subarray(24));
      console.log(same ? 'output matches expected.pcap byte for byte' : 'output differs from expected.pcap (run npm test for the field)');
    }
  } catch (e) {
    failures++;
    console.log(`replay failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}
console.log(`\n${scenarios.length} scenarios replayed, ${failures} failed; outputs in ${outDir}`);
process.exitCode = failures === 0 ? 0 : 1;
