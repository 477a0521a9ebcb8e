/**
 * Bounded resources under a SYN flood, in replay (issue 7): with `--max-connections`, 100,000 SYNs
 * from spoofed sources fill the table up to its limit and no further (the rest are refused and
 * counted as connection-table-full), an established connection keeps flowing through the whole
 * flood, and once the flood's SYN_RECV entries have timed out (60 s) new clients are served again.
 * The capture is finite, so the test stops by itself.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CaptureReader } from '../src/pcap/capture-reader';
import { PcapWriter } from '../src/pcap/pcap-writer';
import { ACK, frame, SYN } from './support/frames';

const UVS = path.resolve(__dirname, '../src/cli/uvs.js');
const T0 = 1_700_000_000;
const FLOOD = 100_000;
const LIMIT = 20_000;
const DATA_EVERY = 500;
const VIP = '192.0.2.10';
const CLIENT = '198.51.100.7';
const RULES = `-A -t ${VIP}:80 -s rr\n-a -t ${VIP}:80 -r 10.0.0.11:80 -g\n-a -t ${VIP}:80 -r 10.0.0.12:80 -g\n`;
const DIRECTOR = [
  'link eth0 mac 02:00:00:00:00:01',
  'addr 10.0.0.1/24 dev eth0',
  'neigh 10.0.0.11 lladdr 02:00:00:00:01:11 dev eth0',
  'neigh 10.0.0.12 lladdr 02:00:00:00:01:12 dev eth0',
].join('\n') + '\n';

interface Summary {
  in: number;
  out: number;
  dropped: Record<string, number>;
  connections: number;
  liveConnections: number;
}

describe('replay: a SYN flood against a bounded connection table', function () {
  this.timeout(120_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uvs-synflood-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('fills the table to its limit and no further, the established connection flows, new clients come back after 60 s', () => {
    const input = path.join(dir, 'in.pcap');
    const w = new PcapWriter(input, 1, { nanosecond: true });
    const put = (f: Uint8Array, t: number): void => {
      const sec = Math.floor(t);
      w.writePacket(0, f, 0, f.length, T0 + sec, Math.round((t - sec) * 1e9));
    };
    // An established client first (DR sees its side only: SYN, then ACK).
    put(frame({ src: CLIENT, dst: VIP, sport: 5000, dport: 80, flags: SYN, seq: 1000 }), 0);
    put(frame({ src: CLIENT, dst: VIP, sport: 5000, dport: 80, flags: ACK, seq: 1001, ack: 1 }), 0.001);
    let data = 0;
    // The flood: one SYN every 100 us from a new spoofed source, the client's data in between.
    for (let i = 0; i < FLOOD; i++) {
      const t = 0.01 + i * 0.0001;
      const src = `10.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}.${i & 0xff}`;
      put(frame({ src, dst: VIP, sport: 1024 + (i % 60000), dport: 80, flags: SYN, seq: i }), t);
      if (i % DATA_EVERY === 0) {
        put(frame({ src: CLIENT, dst: VIP, sport: 5000, dport: 80, flags: ACK, seq: 1001 + data * 10, ack: 1, payload: 10 }), t + 0.00005);
        data++;
      }
    }
    // During the flood's last second a new client is refused; 61 s after the flood its entries are
    // gone, and a new client is served while the established one still flows.
    put(frame({ src: '203.0.113.5', dst: VIP, sport: 6000, dport: 80, flags: SYN }), 10.02);
    put(frame({ src: '203.0.113.6', dst: VIP, sport: 6001, dport: 80, flags: SYN }), 71);
    put(frame({ src: CLIENT, dst: VIP, sport: 5000, dport: 80, flags: ACK, seq: 1001 + data * 10, ack: 1, payload: 10 }), 71.001);
    data++;
    w.close();

    fs.writeFileSync(path.join(dir, 'rules'), RULES);
    fs.writeFileSync(path.join(dir, 'director'), DIRECTOR);
    const out = path.join(dir, 'out.pcap');
    const json = path.join(dir, 'summary.json');
    const r = spawnSync(process.execPath, [UVS, 'replay', input, '-o', out, '--rules', path.join(dir, 'rules'),
      '--director', path.join(dir, 'director'), '--max-connections', String(LIMIT), '--summary-json', json, '--quiet'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(fs.readFileSync(json, 'utf8')) as Summary;

    // The established client holds one entry; the flood gets the other LIMIT - 1 and no more.
    assert.equal(s.dropped['connection-table-full'], FLOOD - (LIMIT - 1) + 1, 'refused: the flood beyond the limit and the client during it');
    assert.equal(s.connections, 1 + (LIMIT - 1) + 1);
    assert.ok(s.liveConnections <= LIMIT, `${s.liveConnections} live entries at the end`);
    // Every packet of the established client went through, before, during and after the flood.
    const r2 = CaptureReader.open(out);
    let clientFrames = 0;
    let lateClient = 0;
    try {
      while (r2.next()) {
        const f = r2.copyPacket();
        const src = [...f.subarray(26, 30)].join('.');
        if (src === CLIENT) clientFrames++;
        if (src === '203.0.113.6') lateClient++;
      }
    } finally {
      r2.close();
    }
    assert.equal(clientFrames, 2 + data);
    assert.equal(lateClient, 1, 'the new client after the flood expired is served');
  });

  it('refuses a bad --max-connections with one clear line', () => {
    for (const bad of ['0', '-5', 'lots', '99999999999']) {
      const r = spawnSync(process.execPath, [UVS, 'replay', 'x.pcap', '-o', 'y.pcap', '--rules', 'r', '--director', 'd', '--max-connections', bad], { encoding: 'utf8' });
      assert.equal(r.status, 2);
      assert.match(r.stderr, /^uvs replay: (--max-connections: '.*' is not a whole number from 1 to 67108864|unknown option -5)\n/);
    }
  });
});
