/**
 * The multi-worker director's fanout program (src/live/fanout-program.ts), run through a classic
 * BPF interpreter on IP packets (as the kernel hands them to a fanout program: from the network
 * header) and then through the kernel itself: for every connection, the packets of both
 * directions go to the same worker; FULLNAT replies go to the worker whose local ports they use;
 * a persistent service keeps a client on one worker; Linux clients' even ports still spread.
 */
import { strict as assert } from 'node:assert';
import { loadRules } from '../src/control/rules-file';
import { directorSchedulers } from '../src/control/daemon/engine-mirror';
import { BpfError } from '../src/io/bpf';
import { PacketPort } from '../src/io/packet-port';
import { LocalAddressPool } from '../src/ipvs/laddr-pool';
import type { VirtualService } from '../src/ipvs/virtual-service';
import { addNamespace, addVeth, deleteNamespaces, linkMac, nsSysctl, uniquePrefix } from '../src/lab/netns';
import { fanoutProgram, keyWord } from '../src/live/fanout-program';
import { fanoutOptions, installFanoutProgram } from '../src/live/workers/fanout-group';
import { runClassicBpf } from './support/cbpf-interpreter';
import { collect } from './support/io-collect';
import { ipFrame, ipPacket, mac } from './support/io-frames';

const VIP = '10.71.100.1';
const VIP6 = '2001:db8:100::1';
const rules = loadRules([
  `-A -t ${VIP}:80 -s rr`,
  `-a -t ${VIP}:80 -r 10.71.3.11:8080 -m -w 1`,
  `-a -t ${VIP}:80 -r 10.71.3.12:8080 -m -w 1`,
  `-A -u ${VIP}:9000 -s rr`,
  `-a -u ${VIP}:9000 -r 10.71.3.11:9000 --fullnat -w 1`,
  `-P -u ${VIP}:9000 -z 10.71.3.100`,
  `-P -u ${VIP}:9000 -z 10.71.3.101`,
  `-A -t ${VIP}:443 -s rr -p 300 -M 255.255.255.0`,
  `-a -t ${VIP}:443 -r 10.71.3.13:8443 -m -w 1`,
  `-A -t [${VIP6}]:80 -s rr`,
  `-a -t [${VIP6}]:80 -r [2001:db8:3::11]:8080 -m -w 1`,
  `-A -t [${VIP6}]:81 -s rr`,
  `-a -t [${VIP6}]:81 -r [2001:db8:3::12]:8081 --fullnat -w 1`,
  `-P -t [${VIP6}]:81 -z 2001:db8:3::100`,
].join('\n'), 'test rules', { schedulers: directorSchedulers() });

/** A deterministic pseudo-random sequence (xorshift32). */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

function clientAddr(r: () => number, v6: boolean): string {
  if (!v6) return `10.${(r() % 200) + 1}.${r() % 256}.${(r() % 254) + 1}`;
  return `2001:db8:${(r() % 0xffff).toString(16)}::${(r() % 0xffff).toString(16)}:${(r() % 0xfffe + 1).toString(16)}`;
}

describe('live: the multi-worker fanout program', () => {
  for (const n of [2, 3, 4, 7]) {
    it(`sends both directions of a NAT connection to the same worker (IPv4 and IPv6, ${n} workers)`, () => {
      const program = fanoutProgram(rules, { workers: n });
      const r = prng(n * 7919);
      const seen = new Set<number>();
      for (let i = 0; i < 400; i++) {
        const v6 = i % 2 === 1;
        const client = clientAddr(r, v6);
        const cport = 1024 + (r() % 64000);
        const [vip, rip, rport] = v6 ? [VIP6, '2001:db8:3::11', 8080] : [VIP, i % 4 === 0 ? '10.71.3.11' : '10.71.3.12', 8080];
        const request = ipPacket({ src: client, dst: vip, proto: 6, sport: cport, dport: 80 });
        const reply = ipPacket({ src: rip, dst: client, proto: 6, sport: rport, dport: cport });
        const w = runClassicBpf(program, request);
        assert.ok(w < n, `worker ${w} of ${n}`);
        assert.equal(runClassicBpf(program, reply), w, `${client}:${cport}: the reply goes elsewhere than the request`);
        seen.add(w);
      }
      assert.equal(seen.size, n, 'every worker gets connections');
    });
  }

  it('sends a FULLNAT reply to the worker whose local ports it uses (each worker allocating p % N == k)', () => {
    for (const n of [2, 3]) {
      const program = fanoutProgram(rules, { workers: n });
      const r = prng(n);
      for (let k = 0; k < n; k++) {
        const pool = new LocalAddressPool();
        pool.add(rules.services[1].laddrs[0]);
        pool.add(rules.services[1].laddrs[1]);
        pool.setPortStride(n, k, 1025 + (r() % 60000));
        const svc = { laddrs: [0, 1], laddrCursor: 0 } as unknown as VirtualService;
        for (let c = 0; c < 50; c++) {
          assert.ok(pool.allocate(svc, 17, c));
          const laddr = pool.bytes(pool.chosenAddr).join('.');
          assert.equal(pool.chosenPort % n, k);
          const reply = ipPacket({ src: '10.71.3.11', dst: laddr, proto: 17, sport: 9000, dport: pool.chosenPort });
          assert.equal(runClassicBpf(program, reply), k, `reply to ${laddr}:${pool.chosenPort}`);
        }
      }
      // And IPv6: the destination port of a reply to a local address decides.
      for (const lport of [1025, 2000, 40001, 65535]) {
        const reply = ipPacket({ src: '2001:db8:3::12', dst: '2001:db8:3::100', proto: 6, sport: 8081, dport: lport });
        assert.equal(runClassicBpf(program, reply), lport % n);
      }
    }
  });

  it('keeps a client of a persistent service (its /24 under -M 255.255.255.0) on one worker, replies included', () => {
    const program = fanoutProgram(rules, { workers: 4 });
    const r = prng(99);
    const workers = new Set<number>();
    for (let net = 0; net < 40; net++) {
      const base = `10.${net + 1}.${net * 3}`;
      const w = runClassicBpf(program, ipPacket({ src: `${base}.1`, dst: VIP, proto: 6, sport: 40000, dport: 443 }));
      workers.add(w);
      for (let c = 0; c < 10; c++) {
        const client = `${base}.${(r() % 254) + 1}`;
        const cport = 1024 + (r() % 60000);
        assert.equal(runClassicBpf(program, ipPacket({ src: client, dst: VIP, proto: 6, sport: cport, dport: 443 })), w);
        assert.equal(runClassicBpf(program, ipPacket({ src: '10.71.3.13', dst: client, proto: 6, sport: 8443, dport: cport })), w);
      }
    }
    assert.equal(workers.size, 4, 'client networks spread over the workers');
  });

  it('spreads one Linux client\'s connections (all from even ports) over two workers', () => {
    const program = fanoutProgram(rules, { workers: 2 });
    const count = [0, 0];
    for (let port = 32768; port < 34768; port += 2) {
      count[runClassicBpf(program, ipPacket({ src: '10.71.1.2', dst: VIP, proto: 6, sport: port, dport: 80 }))]++;
    }
    assert.ok(count[0] > 400 && count[1] > 400, `shares ${count.join(' / ')}`);
  });

  it('maps worker numbers to group positions through its table; frames that are not IP go to position 0', () => {
    const plain = fanoutProgram(rules, { workers: 3 });
    const mapped = fanoutProgram(rules, { workers: 3, positions: [2, 0, 1] });
    for (let port = 40000; port < 40100; port++) {
      const p = ipPacket({ src: '10.71.1.2', dst: VIP, proto: 17, sport: port, dport: 9000 });
      assert.equal(runClassicBpf(mapped, p), [2, 0, 1][runClassicBpf(plain, p)]);
    }
    const arp = new Uint8Array(28);
    arp.set([0, 1, 8, 0, 6, 4, 0, 1]);
    assert.equal(runClassicBpf(plain, arp), 0);
    // A packet cut inside its header: the kernel ends the program with 0 at the bad load.
    assert.equal(runClassicBpf(plain, ipPacket({ src: '10.71.1.2', dst: VIP, proto: 6, sport: 4, dport: 80 }).subarray(0, 21)), 0);
    // ICMP has no ports: the source address alone decides, the same for every message.
    const icmp = (id: number): Uint8Array => ipPacket({ src: '10.9.8.7', dst: VIP, proto: 1, payload: new Uint8Array([8, 0, 0, 0, 0, id]) });
    assert.equal(runClassicBpf(plain, icmp(1)), runClassicBpf(plain, icmp(2)));
  });

  it('refuses what the kernel could not run, naming it', () => {
    assert.throws(() => fanoutProgram(rules, { workers: 0 }), BpfError);
    assert.throws(() => fanoutProgram(rules, { workers: 65 }), /1 to 64/);
    assert.throws(() => fanoutProgram(rules, { workers: 2, positions: [0, 2] }), /socket positions/);
    const many = ['-A -t 10.1.0.1:80 -s rr'];
    for (let i = 0; i < 700; i++) many.push(`-a -t 10.1.0.1:80 -r 10.2.${i >> 8}.${i & 255}:${1000 + i} -m -w 1`);
    assert.throws(() => fanoutProgram(loadRules(many.join('\n'), 'many'), { workers: 2 }), /instructions; the kernel takes at most 4096/);
  });

  it('reads persistence netmasks: IPv4 masks, IPv6 prefixes by the word they end in', () => {
    assert.deepEqual(keyWord(4, 0xffffff00), { word: 0, mask: 0xffffff00 });
    assert.deepEqual(keyWord(6, 128), { word: 3, mask: 0xffffffff });
    assert.deepEqual(keyWord(6, 64), { word: 1, mask: 0xffffffff });
    assert.deepEqual(keyWord(6, 56), { word: 1, mask: 0xffffff00 });
    assert.deepEqual(keyWord(6, 0), { word: 3, mask: 0 });
  });

  describe('in the kernel (PACKET_FANOUT_CBPF on a veth)', function () {
    this.timeout(20_000);
    const prefix = uniquePrefix('fanp');
    const A = `${prefix}a`;
    const B = `${prefix}b`;
    const open: PacketPort[] = [];

    before(() => {
      for (const ns of [A, B]) {
        addNamespace(ns);
        nsSysctl(ns, 'net.ipv6.conf.all.disable_ipv6', 1);
        nsSysctl(ns, 'net.ipv6.conf.default.disable_ipv6', 1);
      }
      addVeth(A, 'eth0', B, 'eth0');
    });

    after(() => {
      for (const p of open.splice(0)) p.close();
      deleteNamespaces(prefix);
    });

    it('gives both directions of each connection to one socket, and a program installed by a passing socket takes over', async () => {
      const macA = mac(linkMac(A, 'eth0'));
      const macB = mac(linkMac(B, 'eth0'));
      const group = 1 + (process.pid % 60000);
      const program = fanoutProgram(rules, { workers: 2 });
      const tx = PacketPort.open('eth0', { netns: A });
      open.push(tx);
      const members = [0, 1].map(() => PacketPort.open('eth0', { netns: B, fanout: fanoutOptions(group, program) }));
      open.push(...members);
      const flows = 60;
      const send = (): void => {
        for (let i = 0; i < flows; i++) {
          const cport = 33000 + 2 * i;
          const req = ipFrame(macB, macA, { src: '10.71.1.2', dst: VIP, proto: 6, sport: cport, dport: 80 });
          const rep = ipFrame(macB, macA, { src: '10.71.3.12', dst: '10.71.1.2', proto: 6, sport: 8080, dport: cport });
          tx.queue(req, 0, req.length);
          tx.queue(rep, 0, rep.length);
        }
        assert.equal(tx.flush(), 2 * flows);
      };
      const isTcp = (f: Uint8Array): boolean => f.length >= 54 && f[12] === 0x08 && f[13] === 0x00 && f[23] === 6;
      const clientPort = (f: Uint8Array): number => {
        const sport = (f[34] << 8) | f[35];
        return sport === 80 || sport === 8080 ? (f[36] << 8) | f[37] : sport;
      };
      const gather = async (): Promise<Map<number, Set<number>>> => {
        const got = members.map((m) => collect(m, isTcp, 1, 3000, 200));
        send();
        const where = new Map<number, Set<number>>();
        (await Promise.all(got)).forEach((r, socket) => {
          for (const f of r.frames) {
            const p = clientPort(f);
            const s = where.get(p) ?? new Set<number>();
            s.add(socket);
            where.set(p, s);
          }
        });
        return where;
      };
      const first = await gather();
      assert.equal(first.size, flows);
      for (const [port, sockets] of first) {
        assert.equal(sockets.size, 1, `flow ${port} reached both sockets`);
        const expected = runClassicBpf(program, ipPacket({ src: '10.71.1.2', dst: VIP, proto: 6, sport: port, dport: 80 }));
        assert.ok(sockets.has(expected), `flow ${port}: socket ${[...sockets][0]}, the interpreter says ${expected}`);
      }
      assert.equal(new Set([...first.values()].map((s) => [...s][0])).size, 2, 'both sockets got flows');
      // The master's way of changing the program: a socket that joins (with a filter taking nothing) and leaves.
      const swapped = fanoutProgram(rules, { workers: 2, positions: [1, 0] });
      installFanoutProgram([{ name: 'eth0' }], group, swapped, B);
      const second = await gather();
      for (const [port, sockets] of second) assert.deepEqual([...sockets], [1 - [...(first.get(port) as Set<number>)][0]], `flow ${port} moved`);
    });
  });
});
