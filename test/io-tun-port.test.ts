/**
 * TunPort against the kernel: TUN devices made inside a namespace of this file, packets sent by a
 * process there read in batches (with the Ethernet header the port puts in front), packets
 * written back and received by a socket there, multi-queue devices, and the errors.
 */
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

import { isNativeError } from '../src/io/native-addon';
import { TunPort } from '../src/io/tun-port';
import { addNamespace, deleteNamespaces, nsIp, nsRun, nsSpawn, nsSysctl, uniquePrefix } from '../src/lab/netns';
import { collect } from './support/io-collect';
import { ether, ipPacket } from './support/io-frames';

const CHILD = path.join(__dirname, 'support', 'io-child.js');

/** A node one-liner that sends `count` UDP datagrams "m<i>" to addr:port, from `ports` source ports. */
function udpSender(addr: string, port: number, count: number, ports: number): string {
  return `const dgram = require('node:dgram');
    const socks = Array.from({ length: ${ports} }, () => dgram.createSocket('udp4'));
    let i = 0;
    const next = () => {
      if (i === ${count}) { for (const s of socks) s.close(); return; }
      const s = socks[i % ${ports}]; s.send('m' + i, ${port}, '${addr}', next); i++;
    };
    next();`;
}

const isUdpTo = (port: number) => (f: Uint8Array): boolean =>
  f.length >= 42 && f[12] === 0x08 && f[13] === 0x00 && f[14] >> 4 === 4 && f[23] === 17 && ((f[36] << 8) | f[37]) === port;

describe('io: TunPort (TUN/TAP devices)', function () {
  this.timeout(30_000);
  const prefix = uniquePrefix('iotn');
  const T = `${prefix}t`;
  const open: TunPort[] = [];
  const children: ChildProcess[] = [];
  const tun = (name: string, options: Parameters<typeof TunPort.open>[1] = {}): TunPort => {
    const p = TunPort.open(name, { ...options, netns: T });
    open.push(p);
    return p;
  };

  before(() => {
    addNamespace(T);
    // No IPv6: a new device would send router solicitations and MLD reports into the test.
    nsSysctl(T, 'net.ipv6.conf.all.disable_ipv6', 1);
    nsSysctl(T, 'net.ipv6.conf.default.disable_ipv6', 1);
  });

  afterEach(() => {
    for (const p of open.splice(0)) p.close();
    for (const c of children.splice(0)) c.kill('SIGKILL');
  });

  after(() => {
    for (const p of open.splice(0)) p.close();
    for (const c of children.splice(0)) c.kill('SIGKILL');
    deleteNamespaces(prefix);
  });

  it('reads the packets routed into a TUN device in batches, as Ethernet frames', async () => {
    const port = tun('uvtun0', { up: true, mtu: 1400 });
    assert.equal(port.name, 'uvtun0');
    assert.equal(port.layer2, false);
    assert.equal(nsIp(T, '-j', 'link', 'show', 'uvtun0').includes('"mtu":1400'), true);
    nsIp(T, 'addr', 'add', '10.77.0.1/24', 'dev', 'uvtun0');
    const got = collect(port, isUdpTo(9999), 20, 5000);
    // The sender runs to its end before the event loop turns: all 20 wait in the device's queue.
    nsRun(T, process.execPath, '-e', udpSender('10.77.0.2', 9999, 20, 1));
    const r = await got;
    assert.equal(r.frames.length, 20);
    for (let i = 0; i < 20; i++) {
      const f = r.frames[i];
      assert.deepEqual([...f.subarray(0, 12)], new Array(12).fill(0), 'zero MACs');
      assert.equal(f[14], 0x45);
      assert.deepEqual([...f.subarray(30, 34)], [10, 77, 0, 2]);
      assert.equal(Buffer.from(f.subarray(42)).toString(), `m${i}`);
      assert.equal(f.length, 14 + ((f[16] << 8) | f[17]), 'frame length = 14 + IP total length');
    }
    assert.ok(Math.max(...r.batchSizes) >= 10, `batches ${r.batchSizes.join(',')}`);
    const now = Date.now() / 1000;
    assert.ok(Math.abs(r.sec[0] + r.nsec[0] / 1e9 - now) < 5);
    assert.equal(port.stats().rxFrames >= 20, true);
  });

  it('writes packets back to the kernel (the 14-byte header dropped) and a socket gets them', async () => {
    const port = tun('uvtun1', { up: true });
    nsIp(T, 'addr', 'add', '10.78.0.1/24', 'dev', 'uvtun1');
    const listener = nsSpawn(T, process.execPath, [
      '-e',
      `const s = require('node:dgram').createSocket('udp4');
       s.on('message', (m, from) => { console.log(JSON.stringify({ text: m.toString(), from: from.address + ':' + from.port })); s.close(); });
       s.bind(7777, '10.78.0.1', () => console.log('ready'));`,
    ]);
    children.push(listener);
    const lines: string[] = [];
    const answer = new Promise<string>((resolve, reject) => {
      let buf = '';
      const timer = setTimeout(() => reject(new Error('no datagram arrived')), 5000);
      listener.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          lines.push(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
          if (lines[lines.length - 1] === 'ready') {
            const frame = ether(new Uint8Array(6), new Uint8Array(6), 0x0800,
              ipPacket({ src: '10.78.0.2', dst: '10.78.0.1', proto: 17, sport: 5555, dport: 7777, payload: 'hello from uvs' }));
            assert.equal(port.queue(frame, 0, frame.length), true);
            assert.equal(port.flush(), 1);
          } else {
            clearTimeout(timer);
            resolve(lines[lines.length - 1]);
          }
        }
      });
    });
    const got = JSON.parse(await answer) as { text: string; from: string };
    assert.deepEqual(got, { text: 'hello from uvs', from: '10.78.0.2:5555' });
    const s = port.stats();
    assert.equal(s.txFrames, 1);
    assert.equal(s.txDropped, 0);
    assert.equal(s.txCopied, 1);
  });

  it('sends frames from its own read buffer without a copy', async () => {
    const port = tun('uvtun2', { up: true });
    nsIp(T, 'addr', 'add', '10.79.0.1/24', 'dev', 'uvtun2');
    // Echo: each UDP packet read is turned around in place (addresses and ports swapped) and
    // written back; the sender's socket then receives its datagrams back from 10.79.0.2.
    const got = collect(port, isUdpTo(4000), 5, 5000, 0, (batch) => {
      for (let i = 0; i < batch.count; i++) {
        const o = batch.off[i];
        const f = batch.buf.subarray(o, o + batch.len[i]);
        if (!isUdpTo(4000)(f)) continue;
        for (let j = 0; j < 4; j++) [f[26 + j], f[30 + j]] = [f[30 + j], f[26 + j]];
        for (let j = 0; j < 2; j++) [f[34 + j], f[36 + j]] = [f[36 + j], f[34 + j]];
        // Swapping words leaves every checksum valid.
        port.queue(batch.buf, o, batch.len[i]);
      }
      port.flush();
    });
    // Spawned, not run: the event loop must turn while the client waits for its echoes.
    const client = nsSpawn(T, process.execPath, ['-e', `const s = require('node:dgram').createSocket('udp4');
      const seen = []; s.on('message', (m, r) => { seen.push(m.toString() + '@' + r.address + ':' + r.port);
        if (seen.length === 5) { console.log(seen.join(' ')); s.close(); clearTimeout(t); } });
      const t = setTimeout(() => { console.log('timeout ' + seen.join(' ')); s.close(); }, 4000);
      s.bind(4001, () => { for (let i = 0; i < 5; i++) s.send('e' + i, 4000, '10.79.0.2'); });`]);
    children.push(client);
    let out = '';
    client.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((resolve) => client.once('exit', resolve));
    await got;
    assert.equal(out.trim(), [0, 1, 2, 3, 4].map((i) => `e${i}@10.79.0.2:4000`).join(' '));
    assert.equal(port.stats().txFrames, 5);
    assert.equal(port.stats().txCopied, 0);
  });

  it('says a TUN name is busy when it is open already or names another device', () => {
    tun('uvtun3');
    for (const name of ['uvtun3', 'lo']) {
      assert.throws(
        () => tun(name),
        (e: unknown) => isNativeError(e) && e.code === 'EBUSY' && e.message === `TUN device name '${name}' is busy`,
      );
    }
  });

  it('opens several queues of one multi-queue device and the kernel spreads flows over them', async () => {
    const q1 = tun('uvmq0', { multiQueue: true, up: true });
    const q2 = tun('uvmq0', { multiQueue: true });
    assert.ok(nsIp(T, '-d', 'link', 'show', 'uvmq0').includes('numqueues 2'));
    // A single-queue open of a multi-queue name is refused.
    assert.throws(() => tun('uvmq0'), (e: unknown) => isNativeError(e) && e.code === 'EBUSY');
    nsIp(T, 'addr', 'add', '10.80.0.1/24', 'dev', 'uvmq0');
    const g1 = collect(q1, isUdpTo(9100), 1, 5000, 300);
    const g2 = collect(q2, isUdpTo(9100), 1, 5000, 300);
    nsRun(T, process.execPath, '-e', udpSender('10.80.0.2', 9100, 200, 50));
    const [r1, r2] = await Promise.all([g1, g2]);
    const sport = (f: Uint8Array): number => (f[34] << 8) | f[35];
    assert.equal(r1.frames.length + r2.frames.length, 200, `queues got ${r1.frames.length} + ${r2.frames.length}`);
    assert.ok(r1.frames.length > 0 && r2.frames.length > 0);
    const s1 = new Set(r1.frames.map(sport));
    for (const f of r2.frames) assert.ok(!s1.has(sport(f)), 'a flow went to both queues');
  });

  it('opens a TAP device whose frames keep their Ethernet header', async () => {
    const tap = tun('uvtap0', { tap: true, up: true });
    assert.equal(tap.layer2, true);
    nsIp(T, 'addr', 'add', '10.81.0.1/24', 'dev', 'uvtap0');
    // The kernel must resolve 10.81.0.2 first: its ARP request comes out of the TAP device.
    const got = collect(tap, (f) => f[12] === 0x08 && f[13] === 0x06 && f[38] === 10 && f[41] === 2, 1, 5000);
    nsRun(T, process.execPath, '-e', udpSender('10.81.0.2', 9, 1, 1));
    const r = await got;
    assert.equal(r.frames.length, 1);
    assert.deepEqual([...r.frames[0].subarray(0, 6)], [255, 255, 255, 255, 255, 255]);
  });

  it('tells an unprivileged user that CAP_NET_ADMIN is needed', () => {
    const r = spawnSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', process.execPath, CHILD, 'tun-open', 'uvtunx'],
      { encoding: 'utf8', timeout: 10_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim()) as { message: string; code: string };
    assert.equal(out.message, "creating TUN device 'uvtunx' needs CAP_NET_ADMIN");
    // EACCES where /dev/net/tun is root-only (0600), EPERM from TUNSETIFF where it is 0666.
    assert.ok(out.code === 'EPERM' || out.code === 'EACCES', out.code);
  });

  it('closes twice safely and lets the process exit', () => {
    const r = spawnSync(process.execPath, [CHILD, 'tun-close', T, 'uvtun9'], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(r.signal, null, 'the child had to be killed: something kept it alive');
    assert.equal(r.status, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout.trim()) as { closed: boolean }).closed, true);
    // The device went away with its only queue.
    assert.equal(nsIp(T, '-o', 'link', 'show').includes('uvtun9'), false);
  });
});
