/**
 * `uvs explain`: the report names the service, the scheduler inputs and the real server the engine
 * itself picks. Expected servers come from the golden scenarios' own hand-worked comments
 * (pcaps/<scenario>/rules and README) and from the kernel rules (wlc: lowest overhead/weight).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { explainFlow } from '../src/cli/explain';
import { PcapWriter } from '../src/pcap/pcap-writer';
import { frame } from './support/frames';

const ROOT = path.resolve(__dirname, '../..');
const PCAPS = path.join(ROOT, 'pcaps');
const UVS = path.join(ROOT, 'dist/src/cli/uvs.js');

describe('uvs explain', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'uvs-explain-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('after warming with the nat-tcp capture, wlc picks the server with the lower overhead', () => {
    const dir = path.join(PCAPS, 'nat-tcp');
    const r = explainFlow({
      rules: path.join(dir, 'rules'), director: path.join(dir, 'director'), warm: path.join(dir, 'in.pcap'),
      protocol: 'tcp', client: { addr: '198.51.100.50', port: 40000 }, virtual: { addr: '192.0.2.10', port: 80 },
    });
    assert.equal(r.service, 'TCP 192.0.2.10:80');
    assert.equal(r.existingConnection, null);
    // Overheads are read from the engine before the decision; wlc must pick a minimum of overhead/weight.
    const chosen = r.dests.find((d) => d.chosen);
    assert.ok(chosen, 'a server is marked chosen');
    assert.equal(r.decision, chosen.server);
    for (const d of r.dests) {
      if (d.weight > 0) assert.ok(chosen.overhead * d.weight <= d.overhead * chosen.weight, `${d.server} is not less loaded than the choice`);
    }
    assert.match(r.reason, /weighted least connections/);
    assert.equal(r.transmitted, true);
  });

  it('a packet of an existing connection is not scheduled', () => {
    const dir = path.join(PCAPS, 'dr-tcp-rr');
    const warm = path.join(dir, 'in.pcap');
    // A new client's SYN is scheduled; its ACK (in a separate explain, where no SYN came first)
    // matches no connection and is not scheduled.
    const base = { rules: path.join(dir, 'rules'), director: path.join(dir, 'director'), warm, protocol: 'tcp' as const,
      client: { addr: '198.51.100.77', port: 41000 }, virtual: { addr: '192.0.2.10', port: 80 } };
    const syn = explainFlow(base);
    assert.equal(syn.existingConnection, null);
    assert.equal(syn.transmitted, true);
    const ack = explainFlow({ ...base, tcpFlags: 0x10 });
    assert.equal(ack.decision, 'none');
    assert.match(ack.reason, /not-connection-start/);
  });

  it('persistence: the second connection of a client is explained by its template', () => {
    const rules = path.join(tmp, 'p.rules');
    fs.writeFileSync(rules, '-A -t 192.0.2.10:80 -s rr -p 300\n-a -t 192.0.2.10:80 -r 10.0.0.11:80 -g\n-a -t 192.0.2.10:80 -r 10.0.0.12:80 -g\n');
    const director = path.join(tmp, 'd');
    fs.writeFileSync(director, 'link eth0 mac 02:00:00:00:00:01\naddr 10.0.0.1/24 dev eth0\nneigh 10.0.0.11 lladdr 02:00:00:00:01:11 dev eth0\nneigh 10.0.0.12 lladdr 02:00:00:00:01:12 dev eth0\n');
    // Warm with one SYN from the client: write it as a capture with the project's writer.
    const warm = path.join(tmp, 'w.pcap');
    const w = new PcapWriter(warm, 1);
    const f = frame({ src: '198.51.100.7', dst: '192.0.2.10', sport: 40000, dport: 80 });
    w.writePacket(0, f, 0, f.length, 1_700_000_000, 0);
    w.close();
    const r = explainFlow({ rules, director, warm, protocol: 'tcp', client: { addr: '198.51.100.7', port: 40001 }, virtual: { addr: '192.0.2.10', port: 80 }, after: 10 });
    assert.match(r.template ?? '', /^10\.0\.0\.12:80, expires in 290\.0 s/);
    assert.equal(r.decision, '10.0.0.12:80');
    assert.match(r.reason, /persistence template/);
  });

  it('the CLI prints the report, and refuses bad arguments with exit 2', () => {
    const dir = path.join(PCAPS, 'nat-tcp');
    const ok = spawnSync('node', [UVS, 'explain', '--rules', path.join(dir, 'rules'), '--director', path.join(dir, 'director'), 'tcp', '198.51.100.9:1234', '192.0.2.10:80'], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^packet +TCP 198\.51\.100\.9:1234 -> 192\.0\.2\.10:80$/m);
    assert.match(ok.stdout, /^decision +10\.0\.0\.1[12]:8080$/m);
    const json = spawnSync('node', [UVS, 'explain', '--json', '--rules', path.join(dir, 'rules'), '--director', path.join(dir, 'director'), 'tcp', '198.51.100.9:1234', '192.0.2.10:80'], { encoding: 'utf8' });
    assert.equal(JSON.parse(json.stdout).service, 'TCP 192.0.2.10:80');
    for (const args of [[], ['tcp', '1.2.3.4:5', '6.7.8.9:10'], ['--rules', 'r', '--director', 'd', 'icmp', '1.2.3.4:5', '6.7.8.9:10'], ['--rules', 'r', '--director', 'd', 'tcp', '1.2.3.4', '6.7.8.9:10']]) {
      const bad = spawnSync('node', [UVS, 'explain', ...args], { encoding: 'utf8' });
      assert.equal(bad.status, 2, `${args.join(' ')}: ${bad.stderr}`);
      assert.match(bad.stderr, /^uvs explain: /);
      assert.doesNotMatch(bad.stderr, /\n {4}at /);
    }
  });
});
