/**
 * PacketPort against real kernels: veth pairs between namespaces made for this file, sockets
 * opened inside them (the addon's netns option), frames sent with queue()+flush() and read from
 * the TPACKET_V3 ring in batches.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

import { BpfAssembler, directorFilter } from '../src/io/bpf';
import { isNativeError, loadNativeAddon } from '../src/io/native-addon';
import { PacketPort } from '../src/io/packet-port';
import { RX_CSUM_PARTIAL, RX_TRUNCATED } from '../src/io/port';
import * as layout from '../src/io/tpacket-layout';
import { addNamespace, addVeth, deleteNamespaces, ip, linkMac, nsIp, nsRun, nsSysctl, uniquePrefix } from '../src/lab/netns';
import { collect } from './support/io-collect';
import { hex, ipFrame, mac, numbered, seqOf } from './support/io-frames';

const CHILD = path.join(__dirname, 'support', 'io-child.js');

describe('io: PacketPort (AF_PACKET, TPACKET_V3 ring, sendmmsg)', function () {
  this.timeout(30_000);
  const prefix = uniquePrefix('iopk');
  const A = `${prefix}a`;
  const B = `${prefix}b`;
  const C = `${prefix}c`;
  let macA: Uint8Array;
  let macB0: Uint8Array;
  let macB1: Uint8Array;
  let macC: Uint8Array;
  const open: PacketPort[] = [];
  const port = (ns: string, ifname: string, options: Parameters<typeof PacketPort.open>[1] = {}): PacketPort => {
    const p = PacketPort.open(ifname, { ...options, netns: ns });
    open.push(p);
    return p;
  };

  before(() => {
    for (const ns of [A, B, C]) {
      addNamespace(ns);
      // No IPv6 on the links: no router solicitations or MLD reports among the test's frames.
      nsSysctl(ns, 'net.ipv6.conf.all.disable_ipv6', 1);
      nsSysctl(ns, 'net.ipv6.conf.default.disable_ipv6', 1);
    }
    addVeth(A, 'eth0', B, 'eth0');
    addVeth(B, 'eth1', C, 'eth0');
    macA = mac(linkMac(A, 'eth0'));
    macB0 = mac(linkMac(B, 'eth0'));
    macB1 = mac(linkMac(B, 'eth1'));
    macC = mac(linkMac(C, 'eth0'));
  });

  afterEach(() => {
    for (const p of open.splice(0)) p.close();
  });

  after(() => {
    for (const p of open.splice(0)) p.close();
    deleteNamespaces(prefix);
  });

  it('walks the ring with the offsets the addon was compiled with', () => {
    const native = loadNativeAddon().layout;
    assert.equal(layout.BLOCK_STATUS, native.blockStatus);
    assert.equal(layout.BLOCK_NUM_PKTS, native.numPkts);
    assert.equal(layout.BLOCK_OFFSET_TO_FIRST_PKT, native.offsetToFirstPkt);
    assert.equal(layout.PKT_NEXT_OFFSET, native.tpNextOffset);
    assert.equal(layout.PKT_SEC, native.tpSec);
    assert.equal(layout.PKT_NSEC, native.tpNsec);
    assert.equal(layout.PKT_SNAPLEN, native.tpSnaplen);
    assert.equal(layout.PKT_LEN, native.tpLen);
    assert.equal(layout.PKT_STATUS, native.tpStatus);
    assert.equal(layout.PKT_MAC, native.tpMac);
    assert.equal(layout.TP_STATUS_USER, native.statusUser);
    assert.equal(layout.TP_STATUS_CSUMNOTREADY, native.statusCsumNotReady);
    // tp_mac is at least TPACKET3_HDRLEN + 14, rounded to 16: the footprint bound holds.
    assert.ok(layout.MIN_FRAME_FOOTPRINT <= ((native.tpacket3HdrLen + 14 + 15) & ~15));
  });

  it('sends a batch with one flush and receives it in batches, byte for byte', async () => {
    const tx = port(A, 'eth0');
    const rx = port(B, 'eth0');
    const sent: Uint8Array[] = [];
    for (let i = 0; i < 600; i++) sent.push(numbered(macB0, macA, i, 60 + ((i * 37) % 1455)));
    const t0 = Date.now() / 1000;
    for (const f of sent) assert.equal(tx.queue(f, 0, f.length), true);
    assert.equal(tx.flush(), sent.length);
    const got = await collect(rx, (f) => seqOf(f) >= 0, sent.length, 5000);
    const t1 = Date.now() / 1000;
    assert.equal(got.frames.length, sent.length);
    for (let i = 0; i < sent.length; i++) assert.equal(hex(got.frames[i]), hex(sent[i]), `frame ${i}`);
    for (let i = 0; i < got.sec.length; i++) {
      const t = got.sec[i] + got.nsec[i] / 1e9;
      assert.ok(t >= t0 - 1 && t <= t1 + 1, `timestamp ${t} outside [${t0}, ${t1}]`);
      assert.ok(got.nsec[i] < 1e9);
      assert.equal(got.flags[i] & RX_TRUNCATED, 0);
    }
    assert.ok(Math.max(...got.batchSizes) >= 100, `largest batch ${Math.max(...got.batchSizes)} frames`);
    assert.ok(got.wakeups < sent.length / 10, `${got.wakeups} wake-ups for ${sent.length} frames`);
    const s = tx.stats();
    assert.equal(s.txFrames, sent.length);
    assert.equal(s.txDropped, 0);
    assert.equal(s.txCopied, sent.length); // the frames lay in no registered region
    assert.ok(rx.stats().rxFrames >= sent.length);
    assert.equal(rx.stats().rxDropped, 0);
  });

  it('forwards frames rewritten inside one port\'s ring through another port without a copy', async () => {
    const tx = port(A, 'eth0');
    const x = port(B, 'eth0');
    const y = port(B, 'eth1');
    const sink = port(C, 'eth0');
    y.addTxRegion(x.rxMemory);
    const n = 300;
    const expected: string[] = [];
    for (let i = 0; i < n; i++) {
      const f = numbered(macB0, macA, 1000 + i, 64 + (i % 200));
      const e = f.slice();
      e.set(macC, 0);
      e.set(macB1, 6);
      e[20] ^= 0xff;
      expected.push(hex(e));
      tx.queue(f, 0, f.length);
    }
    const sinkDone = collect(sink, (f) => seqOf(f) >= 0, n, 5000);
    const forwarded = collect(x, (f) => seqOf(f) >= 0, n, 5000, 0, (batch) => {
      for (let i = 0; i < batch.count; i++) {
        const off = batch.off[i];
        if (seqOf(batch.buf.subarray(off, off + batch.len[i])) < 0) continue;
        batch.buf.set(macC, off); // rewritten in place, in x's ring
        batch.buf.set(macB1, off + 6);
        batch.buf[off + 20] ^= 0xff;
        assert.equal(y.queue(batch.buf, off, batch.len[i]), true);
      }
      y.flush(); // before x releases the blocks the frames lie in
    });
    assert.equal(tx.flush(), n);
    const [got] = await Promise.all([sinkDone, forwarded]);
    assert.deepEqual(got.frames.map(hex), expected);
    const ys = y.stats();
    assert.equal(ys.txFrames, n);
    assert.equal(ys.txCopied, 0, 'frames were sent from the ring, not copied');
  });

  it('with PACKET_IGNORE_OUTGOING does not read frames sent on its own interface', async () => {
    const sender = port(A, 'eth0');
    const ignoring = port(A, 'eth0', { ignoreOutgoing: true });
    const seeing = port(A, 'eth0');
    const n = 50;
    for (let i = 0; i < n; i++) {
      const f = numbered(macB0, macA, 5000 + i, 80);
      sender.queue(f, 0, f.length);
    }
    const seen = collect(seeing, (f) => seqOf(f) >= 5000, n, 3000);
    const ignored = collect(ignoring, (f) => seqOf(f) >= 5000, 1, 400);
    assert.equal(sender.flush(), n);
    const [s, ig] = await Promise.all([seen, ignored]);
    assert.equal(s.frames.length, n, 'a socket without the option sees the outgoing frames');
    assert.equal(ig.frames.length, 0, 'the ignoring socket saw outgoing frames');
    // And the sender's own socket never reads its own sends either.
    const own = sender.receive();
    if (own !== null) {
      for (let i = 0; i < own.count; i++) assert.ok(seqOf(own.buf.slice(own.off[i], own.off[i] + own.len[i])) < 5000);
      sender.release();
    }
  });

  it('shares flows between the sockets of a hash fanout group, disjointly and completely', async () => {
    const tx = port(A, 'eth0');
    const group = 1 + (process.pid % 60000);
    const w1 = port(B, 'eth0', { fanout: { group, mode: 'hash' } });
    const w2 = port(B, 'eth0', { fanout: { group, mode: 'hash' } });
    const flows = 40;
    const perFlow = 10;
    const isOurs = (f: Uint8Array): boolean => f.length > 37 && f[12] === 0x08 && f[23] === 17 && f[36] === 0x23 && f[37] === 0x28;
    for (let i = 0; i < flows * perFlow; i++) {
      const f = ipFrame(macB0, macA, { src: '10.66.0.1', dst: '10.66.0.2', proto: 17, sport: 20000 + (i % flows), dport: 9000, payload: `p${i}` });
      tx.queue(f, 0, f.length);
    }
    // Each socket: from its first frame, 300 ms more for the rest of its share.
    const g1 = collect(w1, isOurs, 1, 3000, 300);
    const g2 = collect(w2, isOurs, 1, 3000, 300);
    assert.equal(tx.flush(), flows * perFlow);
    const [r1, r2] = await Promise.all([g1, g2]);
    const sport = (f: Uint8Array): number => (f[34] << 8) | f[35];
    const flows1 = new Set(r1.frames.map(sport));
    const flows2 = new Set(r2.frames.map(sport));
    assert.equal(r1.frames.length + r2.frames.length, flows * perFlow, 'every frame reached one socket');
    assert.ok(r1.frames.length > 0 && r2.frames.length > 0, `shares ${r1.frames.length} / ${r2.frames.length}`);
    for (const f of flows1) assert.ok(!flows2.has(f), `flow ${f} reached both sockets`);
    assert.equal(flows1.size + flows2.size, flows);
  });

  it('lets a cbpf fanout program choose the socket (and sends with PACKET_QDISC_BYPASS)', async () => {
    const tx = port(A, 'eth0', { qdiscBypass: true });
    const group = 1 + ((process.pid + 7) % 60000);
    // Socket index = the low bit of the UDP source port. A fanout program sees the frame from
    // its network header (the kernel has pulled the Ethernet header): byte 21, not 35.
    const program = new BpfAssembler().ld('b', 21).alu('and', 1).retA().assemble();
    const even = port(B, 'eth0', { fanout: { group, mode: 'cbpf', program } });
    const odd = port(B, 'eth0', { fanout: { group, mode: 'cbpf', program } });
    const isOurs = (f: Uint8Array): boolean => f.length > 37 && f[12] === 0x08 && f[23] === 17 && f[36] === 0x23 && f[37] === 0x29;
    const n = 100;
    for (let i = 0; i < n; i++) {
      const f = ipFrame(macB0, macA, { src: '10.66.0.1', dst: '10.66.0.2', proto: 17, sport: 30000 + i, dport: 9001 });
      tx.queue(f, 0, f.length);
    }
    const g1 = collect(even, isOurs, n / 2, 3000, 100);
    const g2 = collect(odd, isOurs, n / 2, 3000, 100);
    assert.equal(tx.flush(), n);
    const [r1, r2] = await Promise.all([g1, g2]);
    const sport = (f: Uint8Array): number => (f[34] << 8) | f[35];
    assert.equal(r1.frames.length, n / 2);
    assert.equal(r2.frames.length, n / 2);
    assert.ok(r1.frames.every((f) => sport(f) % 2 === 0));
    assert.ok(r2.frames.every((f) => sport(f) % 2 === 1));
  });

  it('lets only frames its filter accepts into the ring', async () => {
    const tx = port(A, 'eth0');
    const filter = directorFilter([{ af: 4, proto: 'udp', addr: [10, 66, 0, 100], port: 9000, side: 'dst' }]);
    const rx = port(B, 'eth0', { filter });
    const good = (i: number): Uint8Array =>
      ipFrame(macB0, macA, { src: '10.66.0.1', dst: '10.66.0.100', proto: 17, sport: 1000 + i, dport: 9000, payload: `g${i}` });
    const frames = [
      good(0),
      ipFrame(macB0, macA, { src: '10.66.0.1', dst: '10.66.0.100', proto: 17, sport: 1, dport: 9001 }),
      ipFrame(macB0, macA, { src: '10.66.0.1', dst: '10.66.0.101', proto: 17, sport: 1, dport: 9000 }),
      ipFrame(macB0, macA, { src: '10.66.0.1', dst: '10.66.0.100', proto: 6, sport: 1, dport: 9000 }),
      numbered(macB0, macA, 7, 100),
      good(1),
      good(2),
    ];
    for (const f of frames) tx.queue(f, 0, f.length);
    const got = collect(rx, () => true, 3, 3000, 200);
    assert.equal(tx.flush(), frames.length);
    const r = await got;
    assert.deepEqual(r.frames.map(hex), [good(0), good(1), good(2)].map(hex));
  });

  it('counts ring drops when the reader does not give blocks back', async () => {
    const tx = port(A, 'eth0');
    // 2 blocks of one page: about 14 frames of 200 bytes each.
    const rx = port(B, 'eth0', { blockSize: 4096, blockCount: 2, frameSize: 2048, retireMs: 1 });
    const n = 400;
    for (let i = 0; i < n; i++) {
      const f = numbered(macB0, macA, 20000 + i, 200);
      tx.queue(f, 0, f.length);
    }
    assert.equal(tx.flush(), n);
    await new Promise((r) => setTimeout(r, 50));
    const s = rx.stats();
    assert.ok(s.rxDropped >= n - 40, `rxDropped ${s.rxDropped} of ${n}`);
    let held = 0;
    const batch = rx.receive();
    if (batch !== null) held = batch.count;
    rx.release();
    assert.ok(held > 0 && held <= 40, `${held} frames held in the 2-block ring`);
    assert.equal(rx.stats().rxDropped, s.rxDropped, 'totals accumulate (the kernel resets on read)');
  });

  it('names a missing interface, with code ENODEV', () => {
    assert.throws(
      () => PacketPort.open('uvsnope0'),
      (e: unknown) => isNativeError(e) && e.code === 'ENODEV' && e.message === "no network interface named 'uvsnope0'",
    );
    assert.throws(
      () => PacketPort.open('eth9', { netns: A }),
      (e: unknown) => isNativeError(e) && e.code === 'ENODEV' && e.message.includes(`'eth9' in network namespace '${A}'`),
    );
    assert.throws(
      () => PacketPort.open('eth0', { netns: A, blockSize: 4096, blockCount: 2, frameSize: 3000 }),
      (e: unknown) => isNativeError(e) && e.code === 'EINVAL' && e.message.startsWith('PACKET_RX_RING'),
    );
  });

  it('tells an unprivileged user that CAP_NET_RAW is needed', () => {
    const r = spawnSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', process.execPath, CHILD, 'packet-open', 'lo'],
      { encoding: 'utf8', timeout: 10_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim()) as { message: string; code: string };
    assert.equal(out.message, 'opening an AF_PACKET socket needs CAP_NET_RAW (run as root)');
    assert.equal(out.code, 'EPERM');
  });

  it('closes twice safely, empties the ring view, and lets the process exit', () => {
    const started = Date.now();
    const r = spawnSync(process.execPath, [CHILD, 'packet-close', B, 'eth0'], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(r.signal, null, 'the child had to be killed: something kept it alive');
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim()) as { closed: boolean; rxMemoryLength: number };
    assert.deepEqual(out.closed, true);
    assert.equal(out.rxMemoryLength, 0);
    assert.ok(Date.now() - started < 8000);
    // In this process too: after close, receive() is empty and the ring reads as nothing.
    const p = port(A, 'eth0');
    const ring = p.rxMemory;
    p.close();
    p.close();
    assert.equal(ring.length, 0);
    assert.equal(p.receive(), null);
  });

  it('flags frames whose checksum the kernel left partial, and frames cut short', async () => {
    // A link with the default offloads (tx checksumming on), unlike addVeth's.
    ip('link', 'add', 'eth2', 'netns', A, 'type', 'veth', 'peer', 'name', 'eth2', 'netns', B);
    nsIp(A, 'link', 'set', 'eth2', 'up');
    nsIp(B, 'link', 'set', 'eth2', 'up');
    nsIp(A, 'addr', 'add', '10.67.0.1/24', 'dev', 'eth2');
    nsIp(B, 'addr', 'add', '10.67.0.2/24', 'dev', 'eth2');
    const rx = port(B, 'eth2');
    // A filter keeping 60 bytes of each frame: longer frames arrive with snaplen < len.
    const short = port(B, 'eth2', { filter: new BpfAssembler().ret(60).assemble() });
    const isUdp = (f: Uint8Array): boolean => f.length >= 38 && f[12] === 0x08 && f[23] === 17 && f[36] === 0x27 && f[37] === 0x0f;
    const full = collect(rx, isUdp, 5, 5000);
    const cut = collect(short, (f) => f.length === 60 && f[12] === 0x08 && f[23] === 17, 5, 5000);
    nsRun(A, process.execPath, '-e', `const s = require('node:dgram').createSocket('udp4'); let n = 0;
      const go = () => { if (n++ === 5) return s.close(); s.send(Buffer.alloc(200, 7), 9999, '10.67.0.2', go); }; go();`);
    const [r, c] = await Promise.all([full, cut]);
    assert.equal(r.frames.length, 5);
    for (const f of r.flags) assert.equal(f & RX_CSUM_PARTIAL, RX_CSUM_PARTIAL, 'a locally sent UDP frame on a tx-offload veth');
    assert.equal(c.frames.length, 5);
    for (const f of c.flags) assert.equal(f & RX_TRUNCATED, RX_TRUNCATED);
  });

  it('moves a quick burst (rates printed)', async function () {
    this.timeout(60_000);
    const tx = port(A, 'eth0');
    const rx = port(B, 'eth0', { blockCount: 16 });
    const frame = ipFrame(macB0, macA, { src: '10.66.0.1', dst: '10.66.0.2', proto: 17, sport: 7, dport: 9, payload: new Uint8Array(18) });
    const total = 200_000;
    let sent = 0;
    let received = 0;
    let flags = 0;
    const done = new Promise<void>((resolve) => {
      const deadline = setTimeout(resolve, 20_000);
      rx.start(() => {
        for (let b = rx.receive(); b !== null; b = rx.receive()) {
          received += b.count;
          for (let i = 0; i < b.count; i++) flags |= b.flags[i];
          rx.release();
        }
        if (received + rx.stats().rxDropped >= total) {
          clearTimeout(deadline);
          resolve();
        }
      });
    });
    const t0 = process.hrtime.bigint();
    // Send in flushes of 1024, yielding to the loop in between so the receiver runs too.
    while (sent < total) {
      for (let i = 0; i < 1024 && sent + i < total; i++) tx.queue(frame, 0, frame.length);
      sent += tx.flush();
      if (tx.stats().txDropped > 0) break;
      await new Promise((r) => setImmediate(r));
    }
    const t1 = process.hrtime.bigint();
    await done;
    const t2 = process.hrtime.bigint();
    rx.stop();
    const s = rx.stats();
    const secsTx = Number(t1 - t0) / 1e9;
    const secsAll = Number(t2 - t0) / 1e9;
    process.stdout.write(
      `      packet port: sent ${sent} in ${secsTx.toFixed(3)} s (${Math.round(sent / secsTx)} frames/s incl. receiving), ` +
        `received ${received} (${Math.round(received / secsAll)} frames/s), ring drops ${s.rxDropped}, tx dropped ${tx.stats().txDropped}\n`,
    );
    assert.equal(sent, total);
    assert.equal(received + s.rxDropped, total, 'every frame was either read or counted as a ring drop');
    assert.ok(received > total / 2);
    // tx offloads are off on these links (addVeth): no frame arrives with a partial checksum.
    assert.equal(flags & RX_CSUM_PARTIAL, 0);
  });
});
