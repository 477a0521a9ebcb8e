/**
 * `uvs realserver --decap ipip`: the decapsulation core on hand-made packets, then the helper live
 * in a real-server namespace fed by a director namespace: inner UDP and TCP reach the real
 * server's sockets as if its kernel had decapsulated them, replies leave through eth0, junk is
 * counted by reason, the kernel stops answering "protocol unreachable" while the helper runs
 * (and answers again once it stopped), and SIGTERM logs the counters and removes the TUN device.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import fc from 'fast-check';
import { addNamespace, addVeth, deleteNamespaces, nsIp, nsRun, nsSysctl, uniquePrefix } from '../src/lab/netns';
import {
  DECAP_DELIVER,
  DECAP_INNER_NOT_IP,
  DECAP_INNER_TOO_BIG,
  DECAP_NOT_IPIP,
  DECAP_TRUNCATED,
  DecapCounters,
  DecapSpan,
  decapIpip,
} from '../src/realserver/ipip-decap';
import { setIpv4HeaderChecksum } from '../src/wire/checksum';
import { frame } from './support/frames';
import { JsonChild, supportScript, type JsonLine } from './support/realserver-json-child';

/** An outer IPv4 header (ihl words, protocol) around `inner`, preceded by `lead` bytes, followed by `trail` bytes. */
function outer(inner: Uint8Array, opts: { proto?: number; ihl?: number; lead?: number; trail?: number; flags?: number } = {}): Uint8Array {
  const ihl = (opts.ihl ?? 5) * 4;
  const lead = opts.lead ?? 0;
  const p = new Uint8Array(lead + ihl + inner.length + (opts.trail ?? 0));
  p[lead] = 0x40 | (ihl / 4);
  const total = ihl + inner.length;
  p[lead + 2] = total >> 8;
  p[lead + 3] = total & 0xff;
  p[lead + 6] = (opts.flags ?? 0x4000) >> 8;
  p[lead + 7] = (opts.flags ?? 0x4000) & 0xff;
  p[lead + 8] = 64;
  p[lead + 9] = opts.proto ?? 4;
  p.set([10, 0, 0, 1], lead + 12);
  p.set([10, 0, 0, 2], lead + 16);
  setIpv4HeaderChecksum(p, lead);
  p.set(inner, lead + ihl);
  return p;
}

const inner4 = frame({ src: '192.0.2.7', dst: '198.51.100.1', sport: 1234, dport: 80, proto: 'udp', payload: 30 }).subarray(14);
const inner6 = frame({ src: '2001:db8::7', dst: '2001:db8::1', sport: 1234, dport: 80, proto: 'udp', payload: 30 }).subarray(14);

describe('realserver: IPIP decapsulation core', () => {
  const span = new DecapSpan();
  const run = (p: Uint8Array, max = 65535, off = 0, len = p.length - off): number => decapIpip(p, off, len, max, span);

  it('finds an inner IPv4 packet after the outer header (with options, at an offset, without trailing bytes)', () => {
    assert.equal(run(outer(inner4)), DECAP_DELIVER);
    assert.deepEqual([span.off, span.len, span.version], [20, inner4.length, 4]);
    assert.equal(run(outer(inner4, { ihl: 7, lead: 5, trail: 9 }), 65535, 5), DECAP_DELIVER);
    assert.deepEqual([span.off, span.len, span.version], [5 + 28, inner4.length, 4]);
  });

  it('finds an inner IPv6 packet (protocol 41 as IPVS sends it, and 4)', () => {
    assert.equal(run(outer(inner6, { proto: 41 })), DECAP_DELIVER);
    assert.deepEqual([span.off, span.len, span.version], [20, inner6.length, 6]);
    assert.equal(run(outer(inner6, { proto: 4 })), DECAP_DELIVER);
    assert.equal(span.version, 6);
  });

  it('drops what is not IP-in-IPv4', () => {
    const p = outer(inner4);
    p[0] = 0x65;
    assert.equal(run(p), DECAP_NOT_IPIP);
    assert.equal(run(outer(inner4, { proto: 17 })), DECAP_NOT_IPIP);
    assert.equal(run(outer(inner4, { proto: 47 })), DECAP_NOT_IPIP);
  });

  it('drops truncated packets and fragments', () => {
    assert.equal(run(new Uint8Array(0)), DECAP_TRUNCATED);
    assert.equal(run(outer(inner4).subarray(0, 19)), DECAP_TRUNCATED);
    assert.equal(run(outer(inner4), 65535, 0, 20 + inner4.length - 1), DECAP_TRUNCATED, 'outer total length beyond the bytes');
    const badIhl = outer(inner4);
    badIhl[0] = 0x44;
    assert.equal(run(badIhl), DECAP_TRUNCATED);
    assert.equal(run(outer(inner4.subarray(0, 12))), DECAP_TRUNCATED, 'inner IPv4 header cut short');
    assert.equal(run(outer(inner6.subarray(0, 39), { proto: 41 })), DECAP_TRUNCATED, 'inner IPv6 header cut short');
    assert.equal(run(outer(inner4.subarray(0, inner4.length - 1))), DECAP_TRUNCATED, 'inner total length beyond the outer');
    assert.equal(run(outer(inner6.subarray(0, inner6.length - 1), { proto: 41 })), DECAP_TRUNCATED);
    assert.equal(run(outer(new Uint8Array(0))), DECAP_TRUNCATED, 'no inner packet at all');
    assert.equal(run(outer(inner4, { flags: 0x2000 })), DECAP_TRUNCATED, 'MF');
    assert.equal(run(outer(inner4, { flags: 0x0010 })), DECAP_TRUNCATED, 'fragment offset');
  });

  it('drops inner packets that are not IPv4/IPv6 or longer than the limit', () => {
    const v5 = inner4.slice();
    v5[0] = 0x55;
    assert.equal(run(outer(v5)), DECAP_INNER_NOT_IP);
    const ihl4 = inner4.slice();
    ihl4[0] = 0x44;
    assert.equal(run(outer(ihl4)), DECAP_INNER_NOT_IP);
    const jumbo = inner6.slice();
    jumbo[4] = 0;
    jumbo[5] = 0;
    assert.equal(run(outer(jumbo, { proto: 41 })), DECAP_INNER_NOT_IP);
    assert.equal(run(outer(inner4), inner4.length), DECAP_DELIVER);
    assert.equal(run(outer(inner4), inner4.length - 1), DECAP_INNER_TOO_BIG);
  });

  it('never throws on arbitrary bytes, and a delivered span lies inside the outer packet', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), fc.boolean(), fc.nat(200), (bytes, make, max) => {
        const p = make ? outer(bytes, { proto: bytes.length % 2 === 0 ? 4 : 41 }) : bytes;
        const verdict = run(p, max);
        if (verdict === DECAP_DELIVER) {
          assert.ok(span.off >= 20 && span.off + span.len <= p.length && span.len <= max);
          assert.ok(span.version === 4 || span.version === 6);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('counts verdicts by reason', () => {
    const c = new DecapCounters();
    for (const v of [DECAP_NOT_IPIP, DECAP_TRUNCATED, DECAP_TRUNCATED, DECAP_INNER_NOT_IP, DECAP_INNER_TOO_BIG, DECAP_DELIVER] as const) c.count(v);
    assert.deepEqual(c.toJSON(), {
      received: 0,
      delivered: 0,
      dropped: { notIpip: 1, truncated: 2, innerNotIp: 1, innerTooBig: 1, tunRefused: 0 },
    });
  });
});

describe('realserver: uvs realserver --decap ipip between namespaces', function () {
  this.timeout(60_000);
  const prefix = uniquePrefix('uvrs');
  const D = `${prefix}director`;
  const R = `${prefix}rs`;
  const UVS = path.resolve(__dirname, '..', 'src', 'cli', 'uvs.js');
  const PEER = supportScript('realserver-peer');
  const UDP = supportScript('realserver-udp-server');
  const addrs = {
    outerSrc: '10.77.1.1',
    rip: '10.77.1.2',
    client: '10.77.200.5',
    vip: '10.77.100.1',
    client6: 'fd77:200::5',
    vip6: 'fd77:100::1',
  };
  const children: JsonChild[] = [];

  function child(ns: string, script: string, args: string[]): JsonChild {
    const c = new JsonChild(ns, script, args);
    children.push(c);
    return c;
  }

  async function peer(plan: Record<string, unknown>): Promise<JsonLine> {
    const c = child(D, PEER, [JSON.stringify({ ...addrs, ...plan })]);
    const out = await c.waitFor((l) => 'protoUnreach' in l, 15_000, `peer ${String(plan.mode)}`);
    await c.exit(5000);
    return out;
  }

  before(() => {
    addNamespace(D);
    addNamespace(R);
    addVeth(D, 'eth0', R, 'eth0');
    nsIp(D, 'addr', 'add', '10.77.1.1/24', 'dev', 'eth0');
    nsIp(R, 'addr', 'add', '10.77.1.2/24', 'dev', 'eth0');
    // The client lives on the director's loopback, so replies that reach the director are delivered to it.
    nsIp(D, 'addr', 'add', `${addrs.client}/32`, 'dev', 'lo');
    nsIp(R, 'addr', 'add', `${addrs.vip}/32`, 'dev', 'lo');
    nsIp(R, 'route', 'add', 'default', 'via', '10.77.1.1');
    nsIp(D, '-6', 'addr', 'add', 'fd77:1::1/64', 'dev', 'eth0', 'nodad');
    nsIp(R, '-6', 'addr', 'add', 'fd77:1::2/64', 'dev', 'eth0', 'nodad');
    nsIp(D, '-6', 'addr', 'add', `${addrs.client6}/128`, 'dev', 'lo');
    nsIp(R, '-6', 'addr', 'add', `${addrs.vip6}/128`, 'dev', 'lo');
    nsIp(R, '-6', 'route', 'add', 'default', 'via', 'fd77:1::1');
    // Strict reverse-path filtering, as many distributions set it: the helper must lift it.
    nsSysctl(R, 'net.ipv4.conf.all.rp_filter', 1);
    nsSysctl(R, 'net.ipv4.conf.default.rp_filter', 1);
  });

  after(async () => {
    for (const c of children.splice(0)) await c.stop('SIGKILL', 2000);
    deleteNamespaces(prefix);
  });

  it('without the helper, the kernel answers IPIP with protocol unreachable (no ipip module)', async () => {
    const out = await peer({ mode: 'probe' });
    assert.equal(out.sent, 1, String(out.sendError));
    assert.ok((out.protoUnreach as number) >= 1, `protocol unreachable expected: ${JSON.stringify(out)}`);
  });

  it('delivers inner UDP and TCP to the real server, replies leave through eth0, junk is counted, SIGTERM reports', async () => {
    const server = child(R, UDP, [JSON.stringify({ bind: addrs.vip, ports: [9000], reply: true, tcpPorts: [80] })]);
    const server6 = child(R, UDP, [JSON.stringify({ bind: addrs.vip6, ports: [9000], reply: true })]);
    await server.waitFor((l) => l.ready === true, 5000, 'servers ready');
    await server6.waitFor((l) => l.ready === true, 5000, 'IPv6 server ready');
    const helper = child(R, UVS, ['realserver', '--decap', 'ipip', '--dev', 'eth0', '--max-inner', '1000']);
    const start = await helper.waitFor((l) => l.event === 'start', 10_000, 'helper start line');
    assert.deepEqual(start, { event: 'start', decap: 'ipip', device: 'eth0', tun: 'uvs-decap0', maxInner: 1000 });
    assert.match(nsIp(R, 'link', 'show', 'uvs-decap0'), /state UNKNOWN|,UP/);
    assert.equal(nsRun(R, 'cat', '/proc/sys/net/ipv4/conf/all/rp_filter').trim(), '0');
    assert.equal(nsRun(R, 'cat', '/proc/sys/net/ipv4/conf/uvs-decap0/rp_filter').trim(), '0');

    const out = await peer({ mode: 'traffic', udpPort: 9000, tcpPort: 80, bigInner: 1200 });
    assert.equal(out.sent, 10, String(out.sendError));
    // The UDP server saw the client's datagrams (addresses as the client sent them) and its replies came back.
    assert.deepEqual(out.replies, [0, 1, 2, 3, 4].map((i) => `reply:hello-${i}`));
    const got = server.lines.filter((l) => 'payload' in l);
    assert.deepEqual(
      got.map((l) => [l.from, l.fromPort, Buffer.from(l.payload as string, 'hex').toString()]).sort(),
      [0, 1, 2, 3, 4].map((i) => [addrs.client, 40000, `hello-${i}`]),
    );
    assert.equal(out.synAck, true, 'the inner SYN got a SYN-ACK toward the client through eth0');
    assert.equal(out.protoUnreach, 0, 'no protocol unreachable while the helper runs');

    // Inner IPv6 in protocol 41 (IPVS's encoding for an IPv6 service on an IPv4 real server).
    const out6 = await peer({ mode: 'traffic6', udpPort: 9000 });
    assert.equal(out6.sent, 3, String(out6.sendError));
    assert.equal(out6.protoUnreach, 0);
    const pattern = (n: number): string => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff)).toString();
    assert.deepEqual(out6.replies, [10, 11, 12].map((n) => `reply:${pattern(n)}`).sort());
    assert.deepEqual(
      server6.lines.filter((l) => 'payload' in l).map((l) => [l.from, l.fromPort]),
      [0, 1, 2].map(() => [addrs.client6, 40010]),
    );

    await helper.stop('SIGTERM', 5000);
    assert.equal(helper.exitCode, 0, helper.other);
    const stop = helper.lines.find((l) => l.event === 'stop');
    assert.ok(stop !== undefined, `stop line: ${helper.other}`);
    assert.equal(stop.received, 13);
    assert.equal(stop.delivered, 9);
    assert.deepEqual(stop.dropped, { notIpip: 0, truncated: 2, innerNotIp: 1, innerTooBig: 1, tunRefused: 0 });
    assert.throws(() => nsIp(R, 'link', 'show', 'uvs-decap0'), /does not exist/);
  });

  it('once the helper stopped, the kernel answers protocol unreachable again', async () => {
    const out = await peer({ mode: 'probe' });
    assert.ok((out.protoUnreach as number) >= 1, JSON.stringify(out));
  });

  it('rejects bad arguments with a usage line and status 2', async () => {
    for (const args of [[], ['--decap', 'gre'], ['--decap', 'ipip', '--tun', 'much-too-long-name'], ['--decap', 'ipip', '--bogus', 'x']]) {
      const c = child(R, UVS, ['realserver', ...args]);
      await c.exit(10_000);
      assert.equal(c.exitCode, 2, `${args.join(' ')}: ${c.other}`);
      assert.match(c.other, /uvs realserver: .*\nusage: uvs realserver --decap ipip/);
    }
  });
});
