/**
 * RawPort in a namespace whose route to the destination goes through a gateway with no static
 * neighbour entry: the IP packets after the engine's Ethernet headers arrive at the peer byte-equal
 * (the kernel resolved the gateway's MAC itself), Ethernet padding is not sent, frames in a tx
 * region are referenced and others copied, and what cannot be sent is counted.
 */
import assert from 'node:assert/strict';
import { addNamespace, addVeth, deleteNamespaces, linkMac, nsIp, uniquePrefix } from '../src/lab/netns';
import { frame } from './support/frames';
import { JsonChild, supportScript, type JsonLine } from './support/realserver-json-child';

const RAW = supportScript('io-raw-port-child');
const CAP = supportScript('io-cap-port-child');
const UDP = supportScript('realserver-udp-server');

const BOGUS_MACS = '020000000001' + '0200000000ff';

/** A UDP frame with made-up MACs (a raw port ignores them), as hex. */
function udp(src: string, dst: string, sport: number, payload: number): string {
  return BOGUS_MACS + Buffer.from(frame({ src, dst, sport, dport: 7777, proto: 'udp', payload })).toString('hex').slice(24);
}

/** The same frame with the first two 16-bit words of its UDP payload swapped (what the child does after queueing). */
function swapped(hex: string): string {
  const b = Buffer.from(hex, 'hex');
  const p = 14 + (b[14] >> 4 === 6 ? 40 : 20) + 8;
  const w = b.readUInt16BE(p);
  b.writeUInt16BE(b.readUInt16BE(p + 2), p);
  b.writeUInt16BE(w, p + 2);
  return b.toString('hex');
}

describe('io: RawPort (raw-socket) sends IP packets the kernel routes', function () {
  this.timeout(30_000);
  const prefix = uniquePrefix('uvraw');
  const A = `${prefix}a`;
  const B = `${prefix}b`;
  const children: JsonChild[] = [];
  let macA: string;
  let macB: string;
  let capture: JsonChild;
  let sink4: JsonChild;
  let sink6: JsonChild;

  function child(ns: string, script: string, args: string[]): JsonChild {
    const c = new JsonChild(ns, script, args);
    children.push(c);
    return c;
  }

  async function runRaw(plan: unknown): Promise<JsonLine> {
    const c = child(A, RAW, [JSON.stringify(plan)]);
    const out = await c.waitFor(() => true, 5000, 'raw port result');
    await c.exit(5000);
    assert.equal(c.exitCode, 0, c.other);
    return out;
  }

  const captured = (): JsonLine[] => capture.lines.filter((l) => typeof l.frame === 'string' && (l.frame as string).slice(-8) !== 'feedfeed');
  const datagrams = (s: JsonChild): JsonLine[] => s.lines.filter((l) => 'payload' in l && l.fromPort !== 19999);

  before(async () => {
    addNamespace(A);
    addNamespace(B);
    addVeth(A, 'eth0', B, 'eth0');
    nsIp(A, 'addr', 'add', '10.78.1.1/24', 'dev', 'eth0');
    nsIp(B, 'addr', 'add', '10.78.1.2/24', 'dev', 'eth0');
    nsIp(A, '-6', 'addr', 'add', 'fd78::1/64', 'dev', 'eth0', 'nodad');
    nsIp(B, '-6', 'addr', 'add', 'fd78::2/64', 'dev', 'eth0', 'nodad');
    nsIp(B, 'addr', 'add', '10.78.9.9/32', 'dev', 'lo');
    nsIp(B, '-6', 'addr', 'add', 'fd78:9::9/128', 'dev', 'lo');
    // Through a gateway, with no static neighbour: the kernel must resolve 10.78.1.2 / fd78::2.
    nsIp(A, 'route', 'add', '10.78.9.0/24', 'via', '10.78.1.2');
    nsIp(A, '-6', 'route', 'add', 'fd78:9::/64', 'via', 'fd78::2');
    macA = linkMac(A, 'eth0');
    macB = linkMac(B, 'eth0');
    sink4 = child(B, UDP, [JSON.stringify({ bind: '10.78.9.9', ports: [7777] })]);
    sink6 = child(B, UDP, [JSON.stringify({ bind: 'fd78:9::9', ports: [7777] })]);
    capture = child(B, CAP, [JSON.stringify({ mode: 'rx', device: 'eth0', filter: 'udp and dst port 7777' })]);
    for (const c of [sink4, sink6, capture]) await c.waitFor((l) => l.ready === true, 5000, 'ready');
    // The capture's first ring block is lost (see cap-port.ts): send markers until one is seen.
    const marker = Buffer.from(frame({ src: '10.78.1.1', dst: '10.78.9.9', sport: 19999, dport: 7777, proto: 'udp', payload: 4 }));
    marker.set([0xfe, 0xed, 0xfe, 0xed], marker.length - 4);
    const mhex = macB.replace(/:/g, '') + macA.replace(/:/g, '') + marker.toString('hex').slice(24);
    const primer = child(A, CAP, [JSON.stringify({ mode: 'prime', device: 'eth0', frames: [mhex] })]);
    await capture.waitFor((l) => typeof l.frame === 'string' && (l.frame as string).endsWith('feedfeed'), 6000, 'marker');
    await primer.stop();
  });

  after(async () => {
    for (const c of children.splice(0)) await c.stop('SIGKILL', 2000);
    deleteNamespaces(prefix);
  });

  it('sends IPv4 packets byte-equal through the routed gateway, references tx regions, counts what it cannot send', async () => {
    const f1 = udp('10.78.1.1', '10.78.9.9', 30001, 40);
    const f2 = udp('10.78.1.1', '10.78.9.9', 30002, 9);
    const f3 = udp('10.78.1.1', '10.78.9.9', 30003, 40);
    const f4 = udp('10.78.1.1', '10.78.9.9', 30004, 40);
    // A source address the sender does not own (a NAT reply leaves with the VIP as its source).
    const foreign = udp('10.78.50.50', '10.78.9.9', 30005, 12);
    const arp = BOGUS_MACS + '0806' + '00'.repeat(28);
    const cut = udp('10.78.1.1', '10.78.9.9', 30006, 200).slice(0, 2 * 60);
    const noRoute = udp('10.78.1.1', '192.0.2.1', 30007, 10);
    const out = await runRaw({
      frames: [
        { hex: f1 },
        { hex: `${f2}${'00'.repeat(9)}` }, // a 60-byte minimum frame: Ethernet padding after the IP packet
        { hex: f3, region: true, swapAfterQueue: true },
        { hex: f4, swapAfterQueue: true },
        { hex: foreign },
        { hex: arp },
        { hex: cut },
        { hex: noRoute },
      ],
    });
    assert.deepEqual(out.queued, [true, true, true, true, true, true, true, true]);
    assert.equal(out.sent, 5);
    assert.deepEqual(out.stats, { rxFrames: 0, rxDropped: 0, txFrames: 5, txDropped: 3 });
    assert.match(String(out.lastSendError), /unreachable/i);
    assert.equal(out.started, true);
    assert.equal(out.received, false);

    // What the peer kernel delivered: the region frame was sent as it was at flush (swapped), the copy as queued.
    const expected = [f1, f2, swapped(f3), f4, foreign];
    await sink4.waitFor(() => datagrams(sink4).length >= 5, 5000, '5 datagrams');
    assert.deepEqual(
      datagrams(sink4).map((l) => [l.from, l.fromPort, l.payload]),
      expected.map((h, i) => [i === 4 ? '10.78.50.50' : '10.78.1.1', 30001 + i, h.slice(2 * 42)]),
    );
    // On the wire: the gateway's and our MACs (resolved by the kernel), and exactly our IP packet.
    await capture.waitFor(() => captured().length >= 5, 5000, '5 captured frames');
    const wire = captured().map((l) => l.frame as string);
    for (const [i, hex] of wire.entries()) {
      assert.equal(hex.slice(0, 12), macB.replace(/:/g, ''), `frame ${i} to the gateway's MAC`);
      assert.equal(hex.slice(12, 24), macA.replace(/:/g, ''), `frame ${i} from ours`);
      assert.equal(hex.slice(28), expected[i].slice(28), `frame ${i} IP packet`);
    }
  });

  it('sends IPv6 packets (header included) through the routed gateway', async () => {
    const before = captured().length;
    const g1 = udp('fd78::1', 'fd78:9::9', 31001, 33);
    const g2 = udp('fd78::1', 'fd78:9::9', 31002, 64);
    const out = await runRaw({ frames: [{ hex: g1 }, { hex: g2, region: true }] });
    assert.equal(out.sent, 2, String(out.lastSendError));
    await sink6.waitFor(() => datagrams(sink6).length >= 2, 5000, '2 datagrams');
    assert.deepEqual(
      datagrams(sink6).map((l) => [l.from, l.fromPort, l.payload]),
      [g1, g2].map((h, i) => ['fd78::1', 31001 + i, h.slice(2 * 62)]),
    );
    await capture.waitFor(() => captured().length >= before + 2, 5000, '2 captured frames');
    assert.deepEqual(
      captured().slice(before).map((l) => (l.frame as string).slice(28)),
      [g1, g2].map((h) => h.slice(28)),
    );
  });

  it('refuses frames when its queue is full and drops IPv6 without an IPv6 socket', async () => {
    const h = udp('10.78.1.1', '10.78.9.9', 32001, 8);
    const v6 = udp('fd78::1', 'fd78:9::9', 32002, 8);
    const out = await runRaw({ ipv6: false, txFrames: 2, frames: [{ hex: v6 }, { hex: h }, { hex: h }, { hex: h }] });
    assert.deepEqual(out.queued, [true, true, true, false]);
    assert.equal(out.sent, 2);
    assert.deepEqual(out.stats, { rxFrames: 0, rxDropped: 0, txFrames: 2, txDropped: 1 });
  });
});
