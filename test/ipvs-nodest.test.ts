/**
 * A real server deleted while its connections flow, under the three policies of src/ipvs/sysctls.ts
 * (ipvs-facts 4.6, 5.0 step 3; docs/forwarding.md "A deleted real server"):
 * - the goldens pcaps/nodest-* (built by scripts/make_goldens_nodest.py with scapy): in.pcap is
 *   run through an engine built as the director builds it, `changes` applied between frames as
 *   uvsadm applies them, and the output compared byte for byte with expected.pcap, the counters
 *   with expected.json;
 * - the rules around them, one at a time: the sysctls reach every engine built from a director
 *   file; expire_nodest_conn's sweep (templates included) and its weight-0 restart; drain's
 *   counting, expiry and persistence; ICMP errors and replies of a deleted server's connection.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ForwardMethod, type DestConfig, type RulesConfig } from '../src/control/config';
import { directorSchedulers, EngineMirror } from '../src/control/daemon/engine-mirror';
import { loadDirector, loadDirectorFile } from '../src/control/director-file';
import { parseIp } from '../src/control/ip-address';
import { parseIpvsadmArgs } from '../src/control/ipvsadm-args';
import { loadRules, loadRulesFile } from '../src/control/rules-file';
import { applyCommand, isConfigCommand } from '../src/control/rules-model';
import { addDest, deleteDest, deleteService, editDest, expireNodestConnections, findDest } from '../src/ipvs/engine-control';
import { buildEngine } from '../src/ipvs/engine-builder';
import type { Engine } from '../src/ipvs/engine';
import { OutputBatch } from '../src/ipvs/frame-batch';
import { ST_CONNS, ST_INPKTS, ST_OUTPKTS } from '../src/ipvs/stats';
import { summarize } from '../src/ipvs/summary';
import { resolveSysctls, SysctlError } from '../src/ipvs/sysctls';
import { CaptureReader } from '../src/pcap/capture-reader';
import { DropReason } from '../src/wire/parsed-frame';
import { describeFrameDifference } from './support/frame-diff';
import { ACK, EngineHarness, FIN_ACK, frame, ipv4Dst, SYN, SYN_ACK } from './support/frames';
import { icmpErrorFrame, ip4, tcpSegment } from './xmit-icmp-frames';

const PCAPS = path.resolve(__dirname, '../../pcaps');

interface Captured {
  bytes: Uint8Array;
  tsSec: number;
  tsNsec: number;
}

function readFrames(file: string): Captured[] {
  const r = CaptureReader.open(file);
  const frames: Captured[] = [];
  try {
    while (r.next()) frames.push({ bytes: r.copyPacket(), tsSec: r.tsSec, tsNsec: r.tsNsec });
  } finally {
    r.close();
  }
  return frames;
}

interface ExpectedServer {
  connections: number;
  inPackets: number;
  outPackets: number;
  activeConns: number;
  inactiveConns: number;
}

interface Expected {
  in: number;
  out: number;
  dropped: Record<string, number>;
  connections: number;
  liveConnections: number;
  perRealServer: Record<string, ExpectedServer>;
}

/** `changes`: "N ARGS" lines, by N (the input frame after which uvsadm ARGS applies). */
function readChanges(file: string): Map<number, string[][]> {
  const changes = new Map<number, string[][]>();
  for (const raw of fs.readFileSync(file, 'utf8').split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const [n, ...args] = line.split(/\s+/);
    assert.match(n, /^\d+$/, `${file}: "${line}" does not start with a frame number`);
    const list = changes.get(Number(n)) ?? [];
    list.push(args);
    changes.set(Number(n), list);
  }
  return changes;
}

/** What `uvsadm ARGS` does to a running director: the configuration first, then the engine. */
function applyUvsadm(config: RulesConfig, mirror: EngineMirror, args: string[]): void {
  const cmd = parseIpvsadmArgs(args, 'uvsadm');
  assert.ok(isConfigCommand(cmd), `not a configuration change: ${args.join(' ')}`);
  const before = [...config.services];
  const touched = applyCommand(config, cmd, { schedulers: directorSchedulers() });
  mirror.apply(cmd, before, touched);
}

/** The dest id named "IP:port" (deleted ones too). */
function destId(engine: Engine, name: string): number {
  const d = engine.destNames.indexOf(name);
  assert.ok(d >= 0, `no real server ${name}`);
  return d;
}

const goldens = fs.existsSync(PCAPS)
  ? fs.readdirSync(PCAPS).filter((d) => d.startsWith('nodest-') && fs.existsSync(path.join(PCAPS, d, 'changes'))).sort()
  : [];

describe('a deleted real server: the goldens (pcaps/nodest-*)', () => {
  it('there is one golden per policy', () => {
    assert.deepEqual(goldens, ['nodest-drain', 'nodest-drop', 'nodest-expire']);
  });

  for (const name of goldens) {
    describe(name, () => {
      const dir = path.join(PCAPS, name);
      let engine: Engine;
      const actual: Captured[] = [];

      before(() => {
        const config = loadRulesFile(path.join(dir, 'rules'), { schedulers: directorSchedulers() });
        const mirror = EngineMirror.build(config, loadDirectorFile(path.join(dir, 'director')));
        engine = mirror.engine;
        const changes = readChanges(path.join(dir, 'changes'));
        const out = new OutputBatch();
        readFrames(path.join(dir, 'in.pcap')).forEach((f, i) => {
          out.reset();
          engine.processFrameAt(f.bytes, 0, f.bytes.length, f.tsSec, f.tsNsec, out, i);
          for (let k = 0; k < out.count; k++) {
            actual.push({ bytes: out.frameBuf[k].slice(out.off[k], out.off[k] + out.len[k]), tsSec: f.tsSec, tsNsec: f.tsNsec });
          }
          for (const args of changes.get(i + 1) ?? []) applyUvsadm(config, mirror, args);
        });
      });

      it('transmits exactly the expected frames', () => {
        const expected = readFrames(path.join(dir, 'expected.pcap'));
        for (let i = 0; i < Math.min(expected.length, actual.length); i++) {
          assert.equal(describeFrameDifference(expected[i].bytes, actual[i].bytes), null, `${name}: output frame ${i + 1}`);
          assert.deepEqual([actual[i].tsSec, actual[i].tsNsec], [expected[i].tsSec, expected[i].tsNsec], `${name}: output frame ${i + 1}: timestamp`);
        }
        assert.equal(actual.length, expected.length, `${name}: number of output frames`);
      });

      it('counts as expected.json says: drops, connections, live entries, every real server (deleted ones too)', () => {
        const exp = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8')) as Expected;
        const s = summarize({ engine, serviceNames: engine.services.services.map((x) => x.name), destNames: engine.destNames });
        assert.equal(s.in, exp.in, 'frames in');
        assert.equal(s.out, exp.out, 'frames out');
        assert.deepEqual(s.dropped, exp.dropped, 'drops by reason');
        assert.equal(s.connections, exp.connections, 'connections made');
        assert.equal(s.liveConnections, exp.liveConnections, 'entries left');
        for (const [server, want] of Object.entries(exp.perRealServer)) {
          const d = destId(engine, server);
          const got: ExpectedServer = {
            connections: engine.destStats.get(d, ST_CONNS),
            inPackets: engine.destStats.get(d, ST_INPKTS),
            outPackets: engine.destStats.get(d, ST_OUTPKTS),
            activeConns: engine.dests.activeConns[d],
            inactiveConns: engine.dests.inactConns[d],
          };
          assert.deepEqual(got, want, server);
        }
      });
    });
  }
});

// ---------------------------------------------------------------------------------------------
// The rules one at a time

const VIP = '192.0.2.10';
const NEIGHS = `
link eth0 mac 02:00:00:00:00:01
addr 10.0.0.1/24 dev eth0
neigh 10.0.0.254 lladdr 02:00:00:00:00:fe dev eth0
neigh 10.0.0.11 lladdr 02:00:00:00:01:11 dev eth0
neigh 10.0.0.12 lladdr 02:00:00:00:01:12 dev eth0
route default via 10.0.0.254 dev eth0
`;
const CLIENT = '198.51.100.1';

function natDest(addr: string, weight = 1): DestConfig {
  return { addr: parseIp(addr), port: 80, method: ForwardMethod.Masq, weight, uThreshold: 0, lThreshold: 0, tunType: 'ipip', tunPort: 0, tunChecksum: 'nocsum' };
}

/** rr over NAT .11 and .12 (list [.12, .11]: the first connection goes to .12); `sysctl` lines appended. */
function rig(sysctls: string, serviceOptions = '-s rr') {
  const h = new EngineHarness(
    `-A -t ${VIP}:80 ${serviceOptions}\n-a -t ${VIP}:80 -r 10.0.0.11:80 -m\n-a -t ${VIP}:80 -r 10.0.0.12:80 -m\n`,
    NEIGHS + sysctls,
  );
  const e = h.built.engine;
  const svc = e.services.services[0];
  const d11 = findDest(e, svc, parseIp('10.0.0.11'), 80);
  const d12 = findDest(e, svc, parseIp('10.0.0.12'), 80);
  const seq = new Map<number, number>();
  /** A client segment (src CLIENT, or another client) at `t` seconds: the address it went to, or null. */
  const client = (sport: number, flags: number, t: number, src = CLIENT): string | null => {
    const s = seq.get(sport) ?? 1000;
    seq.set(sport, s + 1);
    const f = h.send(frame({ src, dst: VIP, sport, dport: 80, flags, seq: s }), t);
    return f && ipv4Dst(f);
  };
  /** A reply of real server rs to the client's port: where it went (the client, translated), or null. */
  const reply = (rs: string, sport: number, flags: number, t: number, dst = CLIENT): string | null => {
    const f = h.send(frame({ src: rs, dst, sport: 80, dport: sport, flags }), t);
    if (f === null) return null;
    assert.equal(`${f[26]}.${f[27]}.${f[28]}.${f[29]}`, VIP, 'a translated reply comes from the VIP');
    return ipv4Dst(f);
  };
  const drops = (r: DropReason): number => e.drops[r];
  return { h, e, svc, d11, d12, client, reply, drops };
}

describe('a deleted real server: the sysctls reach the engine', () => {
  it('from the director file: replay\'s and explain\'s builder, the daemon\'s and every worker\'s (EngineMirror)', () => {
    const rules = loadRules(`-A -t ${VIP}:80\n-a -t ${VIP}:80 -r 10.0.0.11:80 -m\n`, 'rules', { schedulers: directorSchedulers() });
    const plain = loadDirector(NEIGHS, 'director');
    const expire = loadDirector(`${NEIGHS}sysctl expire_nodest_conn 1\n`, 'director');
    const drain = loadDirector(`${NEIGHS}sysctl net.ipv4.vs.drain_nodest_conn 1\n`, 'director');
    assert.deepEqual(buildEngine(rules, plain).engine.sysctls, { expire_nodest_conn: 0, drain_nodest_conn: 0 });
    assert.deepEqual(buildEngine(rules, expire).engine.sysctls, { expire_nodest_conn: 1, drain_nodest_conn: 0 });
    assert.deepEqual(EngineMirror.build(rules, drain).engine.sysctls, { expire_nodest_conn: 0, drain_nodest_conn: 1 });
    // Engine options go over the file (and are checked the same way).
    assert.deepEqual(buildEngine(rules, expire, { sysctls: { expire_nodest_conn: 0 } }).engine.sysctls, { expire_nodest_conn: 0, drain_nodest_conn: 0 });
    assert.throws(() => buildEngine(rules, expire, { sysctls: { drain_nodest_conn: 1 } }), (e: Error) => e instanceof SysctlError && /contradict/.test(e.message));
    assert.throws(() => resolveSysctls({ expire_nodest_conn: 2 }), /bad value 2 for expire_nodest_conn \(0 or 1\)/);
  });
});

describe('a deleted real server, expire_nodest_conn = 0 (the default)', () => {
  it('drops the client\'s packets without touching the entry; its replies still pass, uncounted', () => {
    const { e, d12, svc, client, reply, drops } = rig('');
    assert.equal(client(1000, SYN, 0), '10.0.0.12');
    assert.equal(reply('10.0.0.12', 1000, SYN_ACK, 0.1), CLIENT);
    assert.equal(client(1000, ACK, 0.2), '10.0.0.12');
    const slot = e.conns4.lookupIn(6, frame({ src: CLIENT, dst: VIP, sport: 1000, dport: 80 }), 26, 1000, 30, 80);
    const expiresBefore = e.conns4.expires(slot);
    deleteDest(e, svc, d12);
    assert.equal(client(1000, ACK, 10), null);
    assert.equal(drops(DropReason.DestinationGone), 1);
    assert.equal(e.conns4.expires(slot), expiresBefore, 'a dropped packet does not re-arm the entry');
    const outBefore = e.destStats.get(d12, ST_OUTPKTS);
    assert.equal(reply('10.0.0.12', 1000, ACK, 11), CLIENT, 'the kernel\'s reply path does not look at the server');
    assert.equal(e.destStats.get(d12, ST_OUTPKTS), outBefore, 'but counts only available servers');
    assert.equal(e.conns4.count, 1, 'the entry lives until its timer');
  });
});

describe('a deleted real server, expire_nodest_conn = 1', () => {
  it('sweeps every entry of the deleted server at once, its counters undone; the others stay', () => {
    const { e, svc, d11, d12, client, drops } = rig('sysctl expire_nodest_conn 1');
    assert.deepEqual([client(1000, SYN, 0), client(1001, SYN, 0.1), client(1002, SYN, 0.2)], ['10.0.0.12', '10.0.0.11', '10.0.0.12']);
    assert.equal(e.dests.activeConns[d12], 2);
    deleteDest(e, svc, d12);
    assert.equal(e.conns4.count, 1, 'only .11\'s connection is left');
    assert.deepEqual([e.dests.activeConns[d12], e.dests.inactConns[d12]], [0, 0]);
    assert.equal(e.dests.activeConns[d11], 1);
    // A non-SYN of a swept connection is not scheduled; a SYN from the same port is, to .11.
    assert.equal(client(1000, ACK, 1), null);
    assert.equal(drops(DropReason.NotConnectionStart), 1);
    assert.equal(client(1002, SYN, 2), '10.0.0.11');
    assert.equal(client(1001, ACK, 3), '10.0.0.11', 'the other server\'s connection goes on');
    assert.equal(drops(DropReason.DestinationGone), 0);
  });

  it('sweeps a deleted service\'s connections too (ipvsadm -D, -C)', () => {
    const { e, svc, d11, d12, client } = rig('sysctl expire_nodest_conn 1');
    assert.deepEqual([client(1000, SYN, 0), client(1001, SYN, 0.1)], ['10.0.0.12', '10.0.0.11']);
    deleteService(e, svc);
    assert.equal(e.conns4.count, 0);
    assert.deepEqual([e.dests.activeConns[d11], e.dests.activeConns[d12]], [0, 0]);
  });

  it('ends an entry its packet still meets (one the sweep did not see: the sysctl turned on afterwards)', () => {
    const { e, svc, d12, client, drops } = rig('');
    assert.equal(client(1000, SYN, 0), '10.0.0.12');
    deleteDest(e, svc, d12);
    assert.equal(e.conns4.count, 1);
    e.sysctls.expire_nodest_conn = 1;
    assert.equal(client(1000, ACK, 1), null);
    assert.equal(drops(DropReason.NotConnectionStart), 1, 'handled as new: an ACK is not scheduled');
    assert.equal(e.conns4.count, 0);
    assert.equal(client(1000, SYN, 2), '10.0.0.11');
  });

  it('removes persistence templates of the deleted server with their connections; the client is scheduled afresh', () => {
    const { e, svc, d12, client } = rig('sysctl expire_nodest_conn 1', '-s rr -p 300');
    assert.equal(client(1000, SYN, 0), '10.0.0.12');
    assert.equal(client(1001, SYN, 0.1), '10.0.0.12', 'held by the template');
    assert.equal(e.conns4.count, 3, 'two connections and their template');
    assert.equal(e.dests.persistConns[d12], 1);
    deleteDest(e, svc, d12);
    assert.equal(e.conns4.count, 0);
    assert.equal(e.dests.persistConns[d12], 0);
    assert.equal(client(1002, SYN, 1), '10.0.0.11');
    assert.equal(expireNodestConnections(e), 0, 'nothing of a deleted server is left to sweep');
  });

  it('a SYN meeting an entry whose server has weight 0 ends it and is scheduled afresh (not with 0, not UDP)', () => {
    for (const [sysctls, want] of [['sysctl expire_nodest_conn 1', '10.0.0.11'], ['', '10.0.0.12']] as const) {
      const { e, svc, d12, client } = rig(sysctls);
      assert.equal(client(1000, SYN, 0), '10.0.0.12');
      editDest(e, svc, d12, natDest('10.0.0.12', 0));
      assert.equal(client(1000, ACK, 1), '10.0.0.12', 'a quiesced server keeps its connections');
      assert.equal(client(1000, SYN, 2), want, `with "${sysctls}"`);
    }
    const h = new EngineHarness(`-A -u ${VIP}:53 -s rr\n-a -u ${VIP}:53 -r 10.0.0.11:53 -m\n-a -u ${VIP}:53 -r 10.0.0.12:53 -m\n`,
      `${NEIGHS}sysctl expire_nodest_conn 1\n`);
    const e = h.built.engine;
    const svc = e.services.services[0];
    const dgram = (t: number): string | null => {
      const f = h.send(frame({ src: CLIENT, dst: VIP, sport: 5300, dport: 53, proto: 'udp', payload: 4 }), t);
      return f && ipv4Dst(f);
    };
    assert.equal(dgram(0), '10.0.0.12');
    editDest(e, svc, findDest(e, svc, parseIp('10.0.0.12'), 53), { ...natDest('10.0.0.12', 0), port: 53 });
    assert.equal(dgram(1), '10.0.0.12', 'UDP is never a "new connection" packet (is_new_conn)');
  });
});

describe('a deleted real server, drain_nodest_conn = 1', () => {
  it('keeps its connections both ways, counted, through FIN to expiry; new connections go elsewhere', () => {
    const { e, svc, d11, d12, client, reply, drops } = rig('sysctl drain_nodest_conn 1');
    assert.equal(client(1000, SYN, 0), '10.0.0.12');
    assert.equal(reply('10.0.0.12', 1000, SYN_ACK, 0.1), CLIENT);
    assert.equal(client(1000, ACK, 0.2), '10.0.0.12');
    deleteDest(e, svc, d12);
    const inBefore = e.destStats.get(d12, ST_INPKTS);
    const outBefore = e.destStats.get(d12, ST_OUTPKTS);
    assert.equal(client(1000, ACK, 1), '10.0.0.12');
    assert.equal(reply('10.0.0.12', 1000, ACK, 1.1), CLIENT);
    assert.deepEqual([client(2000, SYN, 1.2, '198.51.100.2'), client(2001, SYN, 1.3, '198.51.100.3')], ['10.0.0.11', '10.0.0.11']);
    assert.equal(client(1000, FIN_ACK, 2), '10.0.0.12');     // CLOSE_WAIT
    assert.equal(reply('10.0.0.12', 1000, FIN_ACK, 2.1), CLIENT);  // TIME_WAIT
    assert.equal(client(1000, ACK, 2.2), '10.0.0.12');
    assert.deepEqual([e.destStats.get(d12, ST_INPKTS) - inBefore, e.destStats.get(d12, ST_OUTPKTS) - outBefore], [3, 2],
      'a drained server\'s packets keep counting');
    assert.deepEqual([e.dests.activeConns[d12], e.dests.inactConns[d12]], [0, 1], 'TIME_WAIT: inactive');
    assert.equal(drops(DropReason.DestinationGone), 0);
    // TIME_WAIT (120 s) ends the entry like any other; the dest's counts go back to 0.
    client(3000, SYN, 200, '198.51.100.4');
    assert.deepEqual([e.dests.activeConns[d12], e.dests.inactConns[d12]], [0, 0]);
    assert.equal(e.dests.activeConns[d11], 1, 'the two SYN_RECV connections of .11 ended at 60 s too; the new one counts');
    // Re-added, the dest (with its counters) comes back; a drained connection would simply go on.
    assert.equal(addDest(e, svc, natDest('10.0.0.12')), d12);
  });

  it('never lets a persistence template send a client to the deleted server', () => {
    const { e, svc, d12, client } = rig('sysctl drain_nodest_conn 1', '-s rr -p 300');
    assert.equal(client(1000, SYN, 0), '10.0.0.12');
    deleteDest(e, svc, d12);
    assert.equal(client(1000, ACK, 1), '10.0.0.12', 'the connection drains');
    assert.equal(client(1001, SYN, 2), '10.0.0.11', 'a new connection of the same client does not follow the template');
    assert.equal(client(1002, SYN, 3), '10.0.0.11', 'and a new template holds it there');
  });
});

describe('a deleted real server: ICMP errors about its connections', () => {
  // The client's side reports a NAT reply (VIP:80 -> client:1000) it could not take.
  const quoted = ip4({ src: VIP, dst: CLIENT, proto: 6, payload: tcpSegment(VIP, 80, CLIENT, 1000, 0x18, new Uint8Array(8)) });
  const icmp = (): Uint8Array => icmpErrorFrame(CLIENT, VIP, 3, 3, quoted);

  for (const [sysctls, counted] of [['', false], ['sysctl drain_nodest_conn 1', true]] as const) {
    it(`are relayed as the kernel relays them (ip_vs_in_icmp has no server check), counted ${counted ? 'when drained' : 'never'}`, () => {
      const { h, e, svc, d12, client } = rig(sysctls);
      assert.equal(client(1000, SYN, 0), '10.0.0.12');
      deleteDest(e, svc, d12);
      const inBefore = e.destStats.get(d12, ST_INPKTS);
      const f = h.send(icmp(), 1);
      assert.ok(f !== null, 'relayed');
      assert.equal(ipv4Dst(f), '10.0.0.12');
      assert.equal(e.destStats.get(d12, ST_INPKTS) - inBefore, counted ? 1 : 0);
      assert.equal(e.drops[DropReason.DestinationGone], 0);
    });
  }
});
