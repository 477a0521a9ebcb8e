/**
 * CapPort on a real veth between two namespaces: frames injected on one end arrive byte-equal in
 * the other end's CapPort; frames a CapPort transmits reach the peer's UDP socket and its CapPort;
 * `inbound` keeps a port from reading what its own host sent; open errors are clear, not crashes.
 */
import assert from 'node:assert/strict';
import { addNamespace, addVeth, deleteNamespaces, linkMac, nsIp, uniquePrefix } from '../src/lab/netns';
import { frame } from './support/frames';
import { JsonChild, supportScript, type JsonLine } from './support/realserver-json-child';

const CHILD = supportScript('io-cap-port-child');
const UDP = supportScript('realserver-udp-server');

function macBytes(mac: string): Uint8Array {
  return Uint8Array.from(mac.split(':'), (h) => parseInt(h, 16));
}

/** A UDP frame from source port 19999 (the marker prime() sends). */
function isPrimer(hex: string): boolean {
  return hex.slice(68, 72) === (19999).toString(16);
}

function udpFrames(n: number, from: { ip: string; mac: string }, to: { ip: string; mac: string }, port: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const f = frame({ src: from.ip, dst: to.ip, sport: 20000 + i, dport: port, proto: 'udp', payload: 20 + i * 37 });
    f.set(macBytes(to.mac), 0);
    f.set(macBytes(from.mac), 6);
    out.push(Buffer.from(f).toString('hex'));
  }
  return out;
}

describe('io: CapPort (libpcap through cap) on a veth between namespaces', function () {
  this.timeout(30_000);
  const prefix = uniquePrefix('uvcap');
  const A = `${prefix}a`;
  const B = `${prefix}b`;
  const children: JsonChild[] = [];
  let a: { ip: string; mac: string };
  let b: { ip: string; mac: string };

  /**
   * Sends marker frames (source port 19999) from `fromNs` until `rx` has seen one: a port opened
   * with `inbound` loses its first ring block (see cap-port.ts), and this proves it is past it.
   */
  async function prime(fromNs: string, from: { ip: string; mac: string }, to: { ip: string; mac: string }, rx: JsonChild): Promise<void> {
    const f = frame({ src: from.ip, dst: to.ip, sport: 19999, dport: 7777, proto: 'udp', payload: 4 });
    f.set(macBytes(to.mac), 0);
    f.set(macBytes(from.mac), 6);
    const p = child(fromNs, CHILD, [JSON.stringify({ mode: 'prime', device: 'eth0', frames: [Buffer.from(f).toString('hex')] })]);
    await rx.waitFor((l) => typeof l.frame === 'string' && isPrimer(l.frame), 6000, 'a primer frame');
    await p.stop('SIGTERM');
  }

  function child(ns: string, script: string, args: string[], flags: string[] = []): JsonChild {
    const c = new JsonChild(ns, script, args, flags);
    children.push(c);
    return c;
  }

  before(() => {
    addNamespace(A);
    addNamespace(B);
    addVeth(A, 'eth0', B, 'eth0');
    nsIp(A, 'addr', 'add', '10.79.1.1/24', 'dev', 'eth0');
    nsIp(B, 'addr', 'add', '10.79.1.2/24', 'dev', 'eth0');
    a = { ip: '10.79.1.1', mac: linkMac(A, 'eth0') };
    b = { ip: '10.79.1.2', mac: linkMac(B, 'eth0') };
  });

  afterEach(async () => {
    for (const c of children.splice(0)) await c.stop('SIGKILL', 2000);
  });

  after(() => {
    deleteNamespaces(prefix);
  });

  it('receives injected frames byte-equal, in order, stamped with the time of arrival', async () => {
    const rx = child(A, CHILD, [JSON.stringify({ mode: 'rx', device: 'eth0', filter: 'udp and dst port 7777' })]);
    await rx.waitFor((l) => l.ready === true, 5000, 'rx ready');
    await prime(B, b, a, rx);
    const primers = rx.lines.filter((l) => 'frame' in l).length;
    const frames = udpFrames(25, b, a, 7777);
    const before = Date.now() / 1000;
    const tx = child(B, CHILD, [JSON.stringify({ mode: 'tx', device: 'eth0', frames, txFrames: 8 })]);
    const txDone = await tx.waitFor((l) => 'sent' in l, 5000, 'tx result');
    assert.equal(txDone.sent, 25);
    assert.ok((txDone.refused as number) >= 3, 'a queue of 8 refuses frames until flushed');
    await rx.waitFor(() => rx.lines.filter((l) => 'frame' in l && !isPrimer(l.frame as string)).length >= 25, 5000, '25 frames');
    const got = rx.lines.filter((l) => 'frame' in l && !isPrimer(l.frame as string));
    assert.deepEqual(got.map((l) => l.frame), frames);
    for (const l of got) {
      const t = (l.sec as number) + (l.nsec as number) / 1e9;
      assert.ok(t >= before - 1 && t <= Date.now() / 1000 + 1, `timestamp ${t} near now`);
      assert.ok((l.nsec as number) < 1e9);
      assert.equal(l.flags, 0);
    }
    await rx.stop('SIGTERM');
    const stats = rx.lines.find((l) => 'stats' in l)?.stats as JsonLine | undefined;
    assert.ok(stats !== undefined, `stats line at SIGTERM: ${rx.other}`);
    assert.equal(stats.rxFrames, 25 + primers);
    assert.equal(stats.rxDropped, 0);
  });

  it('transmits frames the peer kernel accepts and the peer capture sees byte-equal; inbound hides our own', async () => {
    const sink = child(B, UDP, [JSON.stringify({ bind: b.ip, ports: [7777] })]);
    await sink.waitFor((l) => l.ready === true, 5000, 'udp sink ready');
    const peerRx = child(B, CHILD, [JSON.stringify({ mode: 'rx', device: 'eth0', filter: 'udp and dst port 7777' })]);
    const ownRx = child(A, CHILD, [JSON.stringify({ mode: 'rx', device: 'eth0', filter: 'udp and dst port 7777' })]);
    await peerRx.waitFor((l) => l.ready === true, 5000, 'peer rx ready');
    await ownRx.waitFor((l) => l.ready === true, 5000, 'own rx ready');
    await prime(A, a, b, peerRx);
    await prime(B, b, a, ownRx);
    const frames = udpFrames(12, a, b, 7777);
    const tx = child(A, CHILD, [JSON.stringify({ mode: 'tx', device: 'eth0', frames })]);
    const txDone = await tx.waitFor((l) => 'sent' in l, 5000, 'tx result');
    assert.equal(txDone.sent, 12);
    assert.deepEqual((txDone.stats as JsonLine).txDropped, 0);
    const isData = (l: JsonLine): boolean => 'payload' in l && l.fromPort !== 19999;
    await sink.waitFor(() => sink.lines.filter(isData).length >= 12, 5000, '12 datagrams');
    const datagrams = sink.lines.filter(isData);
    assert.deepEqual(
      datagrams.map((l) => [l.from, l.fromPort, (l.payload as string).length / 2]),
      frames.map((_, i) => [a.ip, 20000 + i, 20 + i * 37]),
    );
    const data = (c: JsonChild): JsonLine[] => c.lines.filter((l) => typeof l.frame === 'string' && !isPrimer(l.frame));
    await peerRx.waitFor(() => data(peerRx).length >= 12, 5000, 'peer capture');
    assert.deepEqual(data(peerRx).map((l) => l.frame), frames);
    // The frames left A: A's port, which saw B's primers, reads inbound frames only and never sees them.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(data(ownRx).length, 0);
  });

  it('names the device or filter that failed, without crashing when the handle is collected', async () => {
    const missing = child(A, CHILD, [JSON.stringify({ mode: 'open', device: 'nosuch0' })], ['--expose-gc']);
    const m = await missing.waitFor((l) => 'error' in l || 'ok' in l, 5000, 'open result');
    assert.match(String(m.error), /cap port nosuch0: cannot open/);
    await missing.exit(5000);
    assert.equal(missing.exitCode, 0);

    const bad = child(A, CHILD, [JSON.stringify({ mode: 'open', device: 'eth0', filter: 'udp and bogus(' })], ['--expose-gc']);
    const f = await bad.waitFor((l) => 'error' in l || 'ok' in l, 5000, 'open result');
    assert.match(String(f.error), /cap port eth0: cannot open with filter 'inbound and \(udp and bogus\(\)'.*syntax error/);
    await bad.exit(5000);
    assert.equal(bad.exitCode, 0);

    const good = child(A, CHILD, [JSON.stringify({ mode: 'open', device: 'eth0', filter: 'tcp port 80' })], ['--expose-gc']);
    const g = await good.waitFor((l) => 'error' in l || 'ok' in l, 5000, 'open result');
    assert.deepEqual(g, { ok: true });
    await good.exit(5000);
    assert.equal(good.exitCode, 0);
  });
});
