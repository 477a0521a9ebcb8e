/**
 * The classic BPF assembler and the director's socket filter: instruction bytes checked against
 * tcpdump's compiler, the filter's decisions checked by a small interpreter (tagged frames too)
 * and by the kernel itself (attached to a packet socket in a namespace, frames sent over veth).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

import { ACCEPT, BpfAssembler, BpfError, directorFilter, type FilterRule } from '../src/io/bpf';
import { isNativeError } from '../src/io/native-addon';
import { PacketPort } from '../src/io/packet-port';
import { addNamespace, addVeth, deleteNamespaces, linkMac, nsSysctl, uniquePrefix } from '../src/lab/netns';
import { collect } from './support/io-collect';
import { arpRequest, hex, ipFrame, mac, numbered, tagged, type IpSpec } from './support/io-frames';
import { runClassicBpf } from './support/cbpf-interpreter';

/** tcpdump's own compilation of an expression for Ethernet, as bytes of sock_filter entries. */
function tcpdumpProgram(expr: string): Uint8Array {
  const out = execFileSync('tcpdump', ['-dd', '-y', 'EN10MB', expr], { encoding: 'utf8' });
  const rows = [...out.matchAll(/\{\s*(0x[0-9a-f]+),\s*(\d+),\s*(\d+),\s*(0x[0-9a-f]+)\s*\}/g)];
  const bytes = new Uint8Array(rows.length * 8);
  const v = new DataView(bytes.buffer);
  rows.forEach((r, i) => {
    v.setUint16(i * 8, Number(r[1]), true);
    v.setUint8(i * 8 + 2, Number(r[2]));
    v.setUint8(i * 8 + 3, Number(r[3]));
    v.setUint32(i * 8 + 4, Number(r[4]), true);
  });
  return bytes;
}

/** The frame with 4 bytes of IPv4 options (NOPs) after the 20-byte header (IHL 6). */
function withIpOptions(f: Uint8Array): Uint8Array {
  const g = new Uint8Array(f.length + 4);
  g.set(f.subarray(0, 34), 0);
  g.fill(1, 34, 38);
  g.set(f.subarray(34), 38);
  g[14] = 0x46;
  const total = ((g[16] << 8) | g[17]) + 4;
  g[16] = total >> 8;
  g[17] = total & 0xff;
  return g;
}

const RULES: FilterRule[] = [
  { af: 4, proto: 'udp', addr: [10, 90, 0, 1], port: 9000, side: 'dst' },
  { af: 4, proto: 'tcp', addr: [10, 90, 0, 1], port: 80, side: 'dst' },
  { af: 4, proto: 0, addr: [10, 90, 0, 50], port: 0, side: 'src' },
  { af: 4, proto: 'sctp', addr: [10, 90, 0, 1], port: 3868, side: 'dst' },
  { af: 6, proto: 'tcp', addr: [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], port: 80, side: 'dst' },
  { af: 6, proto: 'udp', addr: [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2], port: 0, side: 'dst' },
];
const OPTIONS = { arp: true, neighbourDiscovery: true, icmp: true, vlan: true };

/** Frames and whether the director's filter over RULES and OPTIONS must accept them. */
function matrix(dst: Uint8Array, src: Uint8Array): { name: string; frame: Uint8Array; accept: boolean }[] {
  let n = 0;
  const f = (spec: IpSpec): Uint8Array => ipFrame(dst, src, { payload: `#${n++}`, ...spec });
  const v4 = (d: string, proto: number, dport: number, more: Partial<IpSpec> = {}): Uint8Array =>
    f({ src: '10.90.0.9', dst: d, proto, sport: 40000, dport, ...more });
  const v6 = (d: string, proto: number, dport: number, sport = 40000): Uint8Array =>
    f({ src: 'fd00::9', dst: d, proto, sport, dport });
  return [
    { name: 'udp to the service', frame: v4('10.90.0.1', 17, 9000), accept: true },
    { name: 'udp to the service, IPv4 options', frame: withIpOptions(v4('10.90.0.1', 17, 9000)), accept: true },
    { name: 'udp to another port', frame: v4('10.90.0.1', 17, 9001), accept: false },
    { name: 'udp to another address', frame: v4('10.90.0.2', 17, 9000), accept: false },
    { name: 'tcp to the tcp service', frame: v4('10.90.0.1', 6, 80), accept: true },
    { name: 'tcp to the udp service port', frame: v4('10.90.0.1', 6, 9000), accept: false },
    { name: 'tcp from the service address', frame: f({ src: '10.90.0.1', dst: '10.90.0.9', proto: 6, sport: 80, dport: 1234 }), accept: false },
    { name: 'udp from the src-side address', frame: f({ src: '10.90.0.50', dst: '10.90.0.9', proto: 17, sport: 1, dport: 5 }), accept: true },
    { name: 'tcp from the src-side address', frame: f({ src: '10.90.0.50', dst: '10.90.0.9', proto: 6, sport: 1, dport: 5 }), accept: true },
    { name: 'later fragment to the service address', frame: v4('10.90.0.1', 17, 0, { fragOffset: 100 }), accept: true },
    { name: 'later fragment elsewhere', frame: v4('10.90.0.3', 17, 0, { fragOffset: 100 }), accept: false },
    { name: 'icmp to the service address', frame: v4('10.90.0.1', 1, 0), accept: true },
    { name: 'icmp elsewhere', frame: v4('10.90.0.7', 1, 0), accept: false },
    { name: 'sctp to the sctp service', frame: v4('10.90.0.1', 132, 3868), accept: true },
    { name: 'sctp to another port', frame: v4('10.90.0.1', 132, 3869), accept: false },
    { name: 'tcp6 to the service', frame: v6('fd00::1', 6, 80), accept: true },
    { name: 'tcp6 to another port', frame: v6('fd00::1', 6, 81), accept: false },
    { name: 'udp6 to the tcp6 service', frame: v6('fd00::1', 17, 80), accept: false },
    { name: 'udp6 to the any-port service', frame: v6('fd00::2', 17, 12345), accept: true },
    { name: 'tcp6 to the udp6 address', frame: v6('fd00::2', 6, 12345), accept: false },
    { name: 'neighbour solicitation', frame: v6('ff02::1:ff00:1', 58, 0, 135), accept: true },
    { name: 'neighbour advertisement', frame: v6('fd00::9', 58, 0, 136), accept: true },
    { name: 'echo request to the service address', frame: v6('fd00::1', 58, 0, 128), accept: true },
    { name: 'echo request elsewhere', frame: v6('fd00::9', 58, 0, 128), accept: false },
    { name: 'arp', frame: arpRequest(src, '10.90.0.9', '10.90.0.1'), accept: true },
    { name: 'another EtherType', frame: numbered(dst, src, 1, 64), accept: false },
  ];
}

describe('io: classic BPF assembler and the director filter', function () {
  this.timeout(30_000);

  it('encodes programs exactly as tcpdump compiles them', () => {
    const ip = new BpfAssembler().ld('h', 12).jeq(0x800, 0, 1).ret(ACCEPT).ret(0).assemble();
    assert.deepEqual(ip, tcpdumpProgram('ip'));
    const http = new BpfAssembler()
      .ld('h', 12)
      .jeq(0x800, 0, 'drop')
      .ld('b', 23)
      .jeq(6, 0, 'drop')
      .ld('h', 20)
      .jset(0x1fff, 'drop', 0)
      .ldxMsh(14)
      .ldInd('h', 16)
      .jeq(80, 0, 'drop')
      .ret(ACCEPT)
      .label('drop')
      .ret(0)
      .assemble();
    assert.deepEqual(http, tcpdumpProgram('ip and tcp dst port 80'));
  });

  it('refuses programs the kernel would refuse', () => {
    assert.throws(() => new BpfAssembler().jeq(1, 'nowhere').ret(0).assemble(), /undefined label 'nowhere'/);
    assert.throws(() => new BpfAssembler().label('top').ldImm(1).jeq(1, 'top').ret(0).assemble(), /only jumps forward/);
    const far = new BpfAssembler().jeq(1, 'end');
    for (let i = 0; i < 300; i++) far.ldImm(i);
    assert.throws(() => far.label('end').ret(0).assemble(), /longer than 255/);
    assert.throws(() => new BpfAssembler().ldImm(1).assemble(), /must end with ret/);
    assert.throws(() => new BpfAssembler().ret(0).ret(0).label('x').label('x'), BpfError);
    assert.throws(() => directorFilter([{ af: 4, proto: 0, addr: [1, 2, 3, 4], port: 80, side: 'dst' }]), /needs a protocol/);
    assert.throws(() => directorFilter([{ af: 6, proto: 'tcp', addr: [1, 2, 3, 4], port: 80, side: 'dst' }]), /16 address bytes/);
  });

  it('decides every frame of the matrix as specified, untagged and 802.1Q-tagged', () => {
    const program = directorFilter(RULES, OPTIONS);
    const m = matrix(mac('02:00:00:00:00:02'), mac('02:00:00:00:00:01'));
    for (const { name, frame, accept } of m) {
      assert.equal(runClassicBpf(program, frame) > 0, accept, name);
      assert.equal(runClassicBpf(program, tagged(frame, 42)) > 0, accept, `${name} (tagged)`);
    }
    const noExtras = directorFilter(RULES);
    assert.equal(runClassicBpf(noExtras, m.find((x) => x.name === 'arp')!.frame), 0);
    assert.equal(runClassicBpf(noExtras, m.find((x) => x.name === 'neighbour solicitation')!.frame), 0);
    assert.equal(runClassicBpf(noExtras, m.find((x) => x.name === 'icmp to the service address')!.frame), 0);
    const untaggedOnly = directorFilter(RULES, { ...OPTIONS, vlan: false });
    for (const { name, frame, accept } of m) assert.equal(runClassicBpf(untaggedOnly, frame) > 0, accept, name);
    assert.equal(runClassicBpf(untaggedOnly, tagged(m[0].frame, 42)), 0);
  });

  it('reaches rules far down a long program (long jumps go through ja)', () => {
    const rules: FilterRule[] = [];
    for (let i = 0; i < 300; i++) rules.push({ af: 4, proto: 'tcp', addr: [10, 91, i >> 8, i & 255], port: 80, side: 'dst' });
    const program = directorFilter(rules, { arp: true });
    assert.ok(program.length / 8 > 3000);
    assert.throws(() => directorFilter(rules, { vlan: true }), /300 filter rules take \d+ instructions; the kernel takes at most 4096/);
    const dst = mac('02:00:00:00:00:02');
    const src = mac('02:00:00:00:00:01');
    const hit = ipFrame(dst, src, { src: '10.0.0.1', dst: '10.91.1.43', proto: 6, sport: 1, dport: 80 });
    const miss = ipFrame(dst, src, { src: '10.0.0.1', dst: '10.91.1.44', proto: 6, sport: 1, dport: 80 });
    assert.ok(runClassicBpf(program, hit) > 0);
    assert.equal(runClassicBpf(program, miss), 0);
  });

  describe('attached to a packet socket', () => {
    const prefix = uniquePrefix('iobp');
    const A = `${prefix}a`;
    const B = `${prefix}b`;
    const ports: PacketPort[] = [];

    before(() => {
      for (const ns of [A, B]) {
        addNamespace(ns);
        nsSysctl(ns, 'net.ipv6.conf.all.disable_ipv6', 1);
        nsSysctl(ns, 'net.ipv6.conf.default.disable_ipv6', 1);
      }
      addVeth(A, 'eth0', B, 'eth0');
    });

    after(() => {
      for (const p of ports.splice(0)) p.close();
      deleteNamespaces(prefix);
    });

    it('lets exactly the frames the filter accepts into the ring', async () => {
      const macA = mac(linkMac(A, 'eth0'));
      const macB = mac(linkMac(B, 'eth0'));
      const tx = PacketPort.open('eth0', { netns: A });
      const rx = PacketPort.open('eth0', { netns: B });
      ports.push(tx, rx);
      rx.setFilter(directorFilter(RULES, OPTIONS));
      const m = matrix(macB, macA);
      const wanted = m.filter((x) => x.accept);
      const got = collect(rx, () => true, wanted.length, 5000, 300);
      for (const { frame } of m) tx.queue(frame, 0, frame.length);
      assert.equal(tx.flush(), m.length);
      const r = await got;
      const names = new Map(m.map((x) => [hex(x.frame), x.name]));
      assert.deepEqual(
        r.frames.map((f) => names.get(hex(f)) ?? `unknown frame ${hex(f)}`),
        wanted.map((x) => x.name),
      );
      // Taking the filter off lets everything in again.
      rx.setFilter(null);
      const all = collect(rx, () => true, m.length, 5000, 100);
      for (const { frame } of m) tx.queue(frame, 0, frame.length);
      tx.flush();
      assert.equal((await all).frames.length, m.length);
      // A long program (300 rules, over 3000 instructions) needs more option memory than the
      // default 128 KiB: the error says so, and with net.core.optmem_max raised it attaches.
      const rules: FilterRule[] = [];
      for (let i = 0; i < 300; i++) rules.push({ af: 4, proto: 'udp', addr: [10, 92, 1, i & 255], port: 1 + i, side: 'dst' });
      const long = directorFilter(rules);
      nsSysctl(B, 'net.core.optmem_max', 131072);
      rx.setFilter(directorFilter(rules.slice(0, 100))); // 100 port rules fit the default budget
      assert.throws(
        () => rx.setFilter(long),
        (e: unknown) => isNativeError(e) && e.code === 'ENOMEM' && e.message.includes('net.core.optmem_max'),
      );
      nsSysctl(B, 'net.core.optmem_max', 1 << 20);
      rx.setFilter(long);
    });
  });
});
