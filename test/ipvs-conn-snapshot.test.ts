/**
 * The connection snapshot (src/ipvs/conn-snapshot.ts) in-process: an engine gets connections of
 * every kind through real frames (TCP NAT, UDP, a persistence template and the connections it
 * controls, FULLNAT with its local port, IPv6), its tables are written, and a fresh engine built
 * from the same configuration reads them back. Every field of every entry must come back (the
 * timeouts less the downtime), the dests' counts too, and the restored entries must forward the
 * next packets both ways as the old engine would. Then the faults: a damaged, truncated or
 * foreign file (an error, an empty table), entries whose time ran out while the director was
 * down, a real server or local address deleted while it was down, a full table; and the file
 * layer of the daemon (written atomically, used once, its errors logged). Last, the cost of a
 * million entries.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadDirector } from '../src/control/director-file';
import { loadRules } from '../src/control/rules-file';
import type { Logger, LogLevel } from '../src/control/daemon/logger';
import { connSnapshotPath, saveConnSnapshot, takeConnSnapshot } from '../src/control/daemon/conn-snapshot-file';
import {
  ConnSnapshotError, restoreConnSnapshot, writeConnSnapshot, type SnapshotWritten,
} from '../src/ipvs/conn-snapshot';
import { CONN_F_TEMPLATE, CONN_F_TIMEOUT_60, CONN_METHOD_MASK, type ConnTable } from '../src/ipvs/conn-table';
import { buildEngine, type BuiltEngine } from '../src/ipvs/engine-builder';
import type { Engine, EngineOptions } from '../src/ipvs/engine';
import { OutputBatch } from '../src/ipvs/frame-batch';
import { schedulerNames } from '../src/sched/registry';
import { ipText, ipv4, ipv6, TCP_ACK, TCP_SYN, tcp, udp, view } from './fixtures/engine/frames';

const VIP = '192.0.2.10';
const VIP6 = '2001:db8:f::10';
const C1 = '203.0.113.7';
const C2 = '203.0.113.8';
const C6 = '2001:db8:c::7';
const T0 = 1_700_000_000_000;

const DIRECTOR = `
link eth0 mac 02:00:00:00:00:01
addr 10.0.0.1/24 dev eth0
addr 10.0.0.2/24 dev eth0
addr fd00::1/64 dev eth0
neigh 10.0.0.254 lladdr 02:00:00:00:00:fe dev eth0
neigh 10.0.0.11 lladdr 02:00:00:00:01:11 dev eth0
neigh 10.0.0.12 lladdr 02:00:00:00:01:12 dev eth0
neigh 10.0.0.13 lladdr 02:00:00:00:01:13 dev eth0
neigh fd00::21 lladdr 02:00:00:00:02:21 dev eth0
neigh fd00::22 lladdr 02:00:00:00:02:22 dev eth0
neigh fd00::fe lladdr 02:00:00:00:00:fe dev eth0
route default via 10.0.0.254 dev eth0
route ::/0 via fd00::fe dev eth0
`;

/** rr everywhere: a restored connection that were scheduled afresh would show by going elsewhere. */
const RULES = `
-A -t ${VIP}:80 -s rr
-a -t ${VIP}:80 -r 10.0.0.11:8080 -m -w 1
-a -t ${VIP}:80 -r 10.0.0.12:8080 -m -w 1
-A -u ${VIP}:53 -s rr
-a -u ${VIP}:53 -r 10.0.0.11:5353 -m -w 1
-a -u ${VIP}:53 -r 10.0.0.12:5353 -m -w 1
-A -t ${VIP}:443 -s rr -p 300
-a -t ${VIP}:443 -r 10.0.0.11:443 -g -w 1
-a -t ${VIP}:443 -r 10.0.0.12:443 -g -w 1
-A -t ${VIP}:81 -s rr
-a -t ${VIP}:81 -r 10.0.0.13:8081 --fullnat -w 1
-P -t ${VIP}:81 -z 10.0.0.2
-A -t [${VIP6}]:80 -s rr
-a -t [${VIP6}]:80 -r [fd00::21]:8080 -m -w 1
-a -t [${VIP6}]:80 -r [fd00::22]:8080 -m -w 1
`;

class Harness {
  readonly built: BuiltEngine;
  private readonly out = new OutputBatch(1 << 16, 8);

  constructor(rules = RULES, options: EngineOptions = {}) {
    this.built = buildEngine(loadRules(rules, 'rules', { schedulers: schedulerNames() }), loadDirector(DIRECTOR, 'director'), options);
  }

  get engine(): Engine {
    return this.built.engine;
  }

  send(frame: Uint8Array, atMs: number): Uint8Array | null {
    this.out.reset();
    const buf = frame.slice();
    if (!this.engine.processFrame(buf, 0, buf.length, T0 + atMs, this.out, 0)) return null;
    return this.out.frameBuf[0].slice(this.out.off[0], this.out.off[0] + this.out.len[0]);
  }

  /** [active, inactive, persistent] connection counts of a dest by "addr:port" (first match). */
  counts(name: string): [number, number, number] {
    const d = this.engine.destNames.indexOf(name);
    assert.ok(d >= 0, `no dest ${name}`);
    const t = this.engine.dests;
    return [t.activeConns[d], t.inactConns[d], t.persistConns[d]];
  }
}

const c2s4 = (src: string, sport: number, dport: number, flags: number): Uint8Array =>
  ipv4({ src, dst: VIP, l4: tcp({ sport, dport, flags }) });
const s2c4 = (rs: string, rport: number, dst: string, dport: number, flags: number): Uint8Array =>
  ipv4({ src: rs, dst, l4: tcp({ sport: rport, dport, flags }) });
const udp4 = (src: string, sport: number): Uint8Array => ipv4({ src, dst: VIP, l4: udp({ sport, dport: 53 }) });

/** Every entry of a table as text, every field, the controlling template by its key, `expires - now` in ms. */
function dump(e: Engine, conns: ConnTable): string[] {
  const addr = (at: number): string => {
    const b = new Uint8Array(4 * conns.addrWords);
    conns.copyAddr(at, b);
    return ipText(b, 0, conns.addrWords === 1 ? 4 : 6);
  };
  const key = (s: number): string => `${conns.proto(s)} ${addr(conns.caddrAt(s))}:${conns.cport(s)} ${addr(conns.vaddrAt(s))}:${conns.vport(s)}`;
  const out: string[] = [];
  conns.forEach((s) => {
    const flags = conns.flags(s);
    const template = (flags & CONN_F_TEMPLATE) !== 0;
    const fullnat = !template && (flags & CONN_METHOD_MASK) === 5;
    const c = conns.control(s);
    out.push([
      key(s), `dest ${e.destNames[conns.dest(s)]} dport ${conns.dport(s)}`, `state ${conns.state(s)} flags ${flags.toString(16)}`,
      template ? `controls ${conns.aux(s)} timeout ${conns.templateTimeout(s)}` : `aux ${conns.aux(s)}`,
      fullnat ? `local ${e.laddrs.addrs[conns.laddr(s)].text}:${conns.lport(s)} owner ${e.laddrs.owner(conns.laddr(s), conns.proto(s), conns.lport(s)) === s}` : '',
      c >= 0 ? `under [${key(c)}]` : '', `in ${conns.expires(s) - conns.now}`,
    ].join(' | '));
  });
  return out.sort();
}

function snapshot(e: Engine, wallMs: number): { file: Uint8Array; written: SnapshotWritten } {
  const parts: Uint8Array[] = [];
  const written = writeConnSnapshot(e, wallMs, (b) => parts.push(b.slice()));
  // A plain Uint8Array: its slice() copies (a Buffer's would not).
  const file = new Uint8Array(Buffer.concat(parts));
  assert.equal(file.length, written.bytes);
  return { file, written };
}

/** An engine with one connection of every kind, at engine time 2 s. */
function busyEngine(rules = RULES): Harness {
  const h = new Harness(rules);
  // TCP NAT, established both ways: rr gives .12 first (the list is newest first).
  assert.equal(view(h.send(c2s4(C1, 40000, 80, TCP_SYN), 0)!).dst, '10.0.0.12');
  assert.ok(h.send(s2c4('10.0.0.12', 8080, C1, 40000, TCP_SYN | TCP_ACK), 10));
  assert.ok(h.send(c2s4(C1, 40000, 80, TCP_ACK), 20));
  // A second one, left in SYN_RECV (its short timeout is what expires while down below).
  assert.equal(view(h.send(c2s4(C1, 40001, 80, TCP_SYN), 30)!).dst, '10.0.0.11');
  // UDP.
  assert.equal(view(h.send(udp4(C1, 5000), 40)!).dst, '10.0.0.12');
  // Persistence: C2's template names .12; two connections under it, one established (DR: input only).
  assert.ok(h.send(c2s4(C2, 41000, 443, TCP_SYN), 50));
  assert.ok(h.send(c2s4(C2, 41000, 443, TCP_ACK), 60));
  assert.ok(h.send(c2s4(C2, 41001, 443, TCP_SYN), 70));
  // FULLNAT: local address 10.0.0.2, port 1025; the server's SYN-ACK makes its ISN known.
  const fn = view(h.send(c2s4(C1, 42000, 81, TCP_SYN), 80)!);
  assert.deepEqual([fn.src, fn.sport, fn.dst], ['10.0.0.2', 1025, '10.0.0.13']);
  assert.ok(h.send(ipv4({ src: '10.0.0.13', dst: '10.0.0.2', l4: tcp({ sport: 8081, dport: 1025, flags: TCP_SYN | TCP_ACK, seq: 0x11223344, ack: 1001 }) }), 90));
  // IPv6 NAT.
  assert.equal(view(h.send(ipv6({ src: C6, dst: VIP6, l4: tcp({ sport: 43000, dport: 80, flags: TCP_SYN }) }), 100)!).dst, 'fd00::22');
  h.send(ipv4({ src: '10.0.0.254', dst: '10.0.0.1', l4: udp({ sport: 1, dport: 1 }) }), 2000); // the clock to 2 s
  return h;
}

/** The dump of `before` with every remaining time less `downMs` (what a restore after that long must give). */
function aged(lines: string[], downMs: number): string[] {
  return lines.map((l) => l.replace(/in (\d+)$/, (_, n: string) => `in ${Number(n) - downMs}`)).sort();
}

describe('connection snapshot: a restart keeps the connections', () => {
  it('every entry comes back with every field (TCP NAT, UDP, template and its connections, FULLNAT with its port, IPv6), counts too', () => {
    const a = busyEngine();
    const before4 = dump(a.engine, a.engine.conns4);
    const before6 = dump(a.engine, a.engine.conns6);
    // 2 NAT, 1 UDP, 1 template and the 2 DR connections under it, 1 FULLNAT; 1 IPv6 NAT.
    assert.equal(before4.length, 7, before4.join('\n'));
    assert.equal(before6.length, 1);
    const { file, written } = snapshot(a.engine, T0 + 2000);
    assert.deepEqual([written.entries, written.templates], [8, 1]);
    // Live: NAT established, NAT SYN_RECV, UDP, DR established and SYN_RECV, FULLNAT, IPv6 SYN_RECV.
    assert.equal(written.live, 7);

    const b = new Harness();
    const r = restoreConnSnapshot(b.engine, file, T0 + 2000 + 5000);
    assert.deepEqual(r.restored, { connections: 7, templates: 1 });
    assert.deepEqual(r.skipped, { expired: 0, destGone: 0, localAddressGone: 0, tableFull: 0 });
    assert.equal(r.downtimeMs, 5000);
    assert.deepEqual(dump(b.engine, b.engine.conns4), aged(before4, 5000));
    assert.deepEqual(dump(b.engine, b.engine.conns6), aged(before6, 5000));
    for (const d of ['10.0.0.11:8080', '10.0.0.12:8080', '10.0.0.11:5353', '10.0.0.12:5353', '10.0.0.11:443', '10.0.0.12:443', '10.0.0.13:8081', '[fd00::22]:8080']) {
      assert.deepEqual(b.counts(d), a.counts(d), d);
    }
    // Connections that were forwarded are; those were counted in the old life, not again.
    assert.equal(b.engine.connectionsCreated, 0);
  });

  it('restored entries forward both ways as before, and scheduling goes on around them', () => {
    const a = busyEngine();
    const b = new Harness();
    restoreConnSnapshot(b.engine, snapshot(a.engine, T0 + 2000).file, T0 + 3000);
    const at = 1_700_000_003_000 - T0 + 100;
    // NAT: the client's next segment and the server's reply (the reverse lookup) on the old entry.
    const inn = view(b.send(c2s4(C1, 40000, 80, TCP_ACK), at)!);
    assert.deepEqual([inn.dst, inn.dport], ['10.0.0.12', 8080]);
    const back = view(b.send(s2c4('10.0.0.12', 8080, C1, 40000, TCP_ACK), at + 1)!);
    assert.deepEqual([back.src, back.sport, back.dst, back.dport], [VIP, 80, C1, 40000]);
    // UDP: a new flow takes rr's first pick (.12); the old flow stays on .12 although rr's next is .11.
    assert.equal(view(b.send(udp4(C2, 6000), at + 2)!).dst, '10.0.0.12');
    assert.equal(view(b.send(udp4(C1, 5000), at + 2)!).dst, '10.0.0.12');
    // Persistence: a new client takes rr's first pick (.12, DR: by MAC); then a new connection of
    // C2 follows its restored template to .12, although rr's next is .11.
    assert.equal(view(b.send(c2s4('203.0.113.9', 41000, 443, TCP_SYN), at + 3)!).dstMac, '02:00:00:00:01:12');
    assert.equal(view(b.send(c2s4(C2, 41002, 443, TCP_SYN), at + 3)!).dstMac, '02:00:00:00:01:12');
    assert.equal(view(b.send(c2s4('203.0.113.10', 41000, 443, TCP_SYN), at + 3)!).dstMac, '02:00:00:00:01:11', 'rr moved on');
    // FULLNAT: the server's reply to the reserved 10.0.0.2:1025 reaches the client; a new
    // connection gets another port.
    const fr = view(b.send(ipv4({ src: '10.0.0.13', dst: '10.0.0.2', l4: tcp({ sport: 8081, dport: 1025, flags: TCP_ACK }) }), at + 4)!);
    assert.deepEqual([fr.src, fr.sport, fr.dst, fr.dport], [VIP, 81, C1, 42000]);
    const fresh = view(b.send(c2s4(C1, 42001, 81, TCP_SYN), at + 5)!);
    assert.deepEqual([fresh.src, fresh.sport], ['10.0.0.2', 1026]);
    // IPv6.
    assert.equal(view(b.send(ipv6({ src: C6, dst: VIP6, l4: tcp({ sport: 43000, dport: 80, flags: TCP_ACK }) }), at + 6)!).dst, 'fd00::22');
    // A brand-new client connection is scheduled as usual (rr over the fresh engine: .12 first).
    assert.equal(view(b.send(c2s4(C1, 40100, 80, TCP_SYN), at + 7)!).dst, '10.0.0.12');
  });

  it('what ran out while the director was down is skipped: connections, and templates controlling none of what is left', () => {
    const a = busyEngine();
    const before = dump(a.engine, a.engine.conns4);
    const { file } = snapshot(a.engine, T0 + 2000);
    // 100 s down: the SYN_RECV entries (60 s) are gone; ESTABLISHED (900 s), UDP (300 s) and the
    // template (300 s) are not.
    const b = new Harness();
    const r = restoreConnSnapshot(b.engine, file, T0 + 2000 + 100_000);
    // Three IPv4 SYN_RECV entries (NAT, DR, FULLNAT) and the IPv6 one.
    assert.deepEqual(r.skipped, { expired: 4, destGone: 0, localAddressGone: 0, tableFull: 0 });
    // What is left, and the template now controls one connection instead of two.
    const kept = aged(before, 100_000).filter((l) => Number(/in (-?\d+)$/.exec(l)![1]) > 0).map((l) => l.replace('controls 2', 'controls 1'));
    assert.equal(kept.length, before.length - 3);
    assert.deepEqual(dump(b.engine, b.engine.conns4), kept);
    assert.deepEqual(b.counts('10.0.0.12:443'), [1, 0, 1], 'the established DR connection and its template');

    // 400 s down: the template's time (300 s) ran out, but it still controls the established
    // connection: kept, 60 s at a time from its expiry, as the kernel's timer would have kept it.
    const c = new Harness();
    restoreConnSnapshot(c.engine, file, T0 + 2000 + 400_000);
    const t = dump(c.engine, c.engine.conns4).filter((l) => l.includes('controls'));
    assert.equal(t.length, 1);
    const left = Number(/in (\d+)$/.exec(t[0])![1]);
    const wasLeft = Number(/in (\d+)$/.exec(before.find((l) => l.includes('controls'))!)![1]);
    assert.equal(left, 60_000 - ((400_000 - wasLeft) % 60_000));
    assert.match(t[0], new RegExp(`flags ${(CONN_F_TEMPLATE | CONN_F_TIMEOUT_60 | 3).toString(16)} \\| controls 1 timeout 60000`));

    // 1000 s down: the established connections (900 s) are gone too, and with them the template.
    const d = new Harness();
    const r3 = restoreConnSnapshot(d.engine, file, T0 + 2000 + 1_000_000);
    assert.deepEqual(r3.restored, { connections: 0, templates: 0 });
    assert.equal(d.engine.conns4.count + d.engine.conns6.count, 0);
    assert.deepEqual(d.counts('10.0.0.12:443'), [0, 0, 0]);
  });

  it('entries of a real server or local address deleted while down are skipped; the rest come back', () => {
    const a = busyEngine();
    const { file } = snapshot(a.engine, T0 + 2000);
    // .12 gone from every service, and the FULLNAT service's local address changed.
    const rules = RULES.split('\n').filter((l) => !l.includes('-r 10.0.0.12:')).join('\n').replace('-z 10.0.0.2', '-z 10.0.0.1');
    const b = new Harness(rules);
    const r = restoreConnSnapshot(b.engine, file, T0 + 3000);
    // .12 had: NAT established, UDP, the template and both connections under it.
    assert.deepEqual(r.skipped, { expired: 0, destGone: 5, localAddressGone: 1, tableFull: 0 });
    assert.deepEqual(r.restored, { connections: 2, templates: 0 });
    const lines = dump(b.engine, b.engine.conns4);
    assert.equal(lines.length, 1);
    assert.match(lines[0], /^6 203\.0\.113\.7:40001 192\.0\.2\.10:80 \| dest 10\.0\.0\.11:8080/);
    assert.deepEqual(b.counts('10.0.0.11:8080'), [1, 0, 0]);
  });

  it('a full table (a lower limit than before) takes what fits and counts the rest', () => {
    const a = busyEngine();
    const { file } = snapshot(a.engine, T0 + 2000);
    // Room for 16 entries per table (the smallest a table is), 13 taken by new UDP flows first.
    const b = new Harness(RULES, { maxConns: 16, connCapacity: 16 });
    for (let i = 0; i < 13; i++) assert.ok(b.send(udp4('198.51.100.1', 7000 + i), 1000 + i));
    const r = restoreConnSnapshot(b.engine, file, T0 + 3000);
    assert.equal(b.engine.conns4.count, 16);
    // IPv4: the template (written first) and two connections fit, four do not; IPv6: its one entry.
    assert.deepEqual(r.restored, { connections: 3, templates: 1 });
    assert.equal(r.skipped.tableFull, 4);
  });
});

describe('connection snapshot: a damaged file is an error and an empty table', () => {
  const a = busyEngine();
  const { file } = snapshot(a.engine, T0 + 2000);
  const refused = (f: Uint8Array, why: RegExp): void => {
    const b = new Harness();
    assert.throws(() => restoreConnSnapshot(b.engine, f, T0 + 3000), (e: unknown) => e instanceof ConnSnapshotError && why.test(e.message));
    assert.equal(b.engine.conns4.count + b.engine.conns6.count, 0);
    assert.deepEqual(b.counts('10.0.0.12:8080'), [0, 0, 0]);
  };

  it('truncated anywhere', () => {
    for (const n of [0, 10, 47, 48, 200, file.length - 100, file.length - 1]) refused(file.subarray(0, n), /truncated/);
  });

  it('one byte changed anywhere (header, dictionary, records, trailer)', () => {
    for (const at of [20, 60, 300, file.length - 150, file.length - 40, file.length - 6]) {
      const bad = file.slice();
      bad[at] ^= 0x40;
      refused(bad, /checksum|length|truncated|more than|not a number/);
    }
  });

  it('another version or another kind of file', () => {
    const v2 = file.slice();
    v2[8] = 2;
    refused(v2, /version 2, but this uvs reads version 1/);
    refused(new TextEncoder().encode('-A -t 192.0.2.10:80 -s rr\n'.repeat(10)), /not a uvs connection snapshot/);
    const grown = Buffer.concat([file, Buffer.alloc(8)]);
    refused(grown, /8 bytes more than the header accounts for/);
  });
});

describe('connection snapshot file (the daemon side)', () => {
  let dir: string;
  let logs: { level: LogLevel; msg: string; fields: Record<string, unknown> }[];
  const logger: Logger = { log: (level, msg, fields = {}) => logs.push({ level, msg, fields }) };
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uvs-conns-'));
    logs = [];
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is written next to the state file atomically, restored once, then gone', () => {
    const a = busyEngine();
    const file = connSnapshotPath(path.join(dir, 'state'));
    assert.equal(file, path.join(dir, 'state.conns'));
    const w = saveConnSnapshot(a.engine, file, T0 + 2000);
    assert.deepEqual(fs.readdirSync(dir), ['state.conns'], 'no temporary file left');
    assert.equal(fs.statSync(file).size, w.bytes);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const b = new Harness();
    takeConnSnapshot(b.engine, file, logger, true, '', T0 + 4000);
    assert.equal(b.engine.conns4.count + b.engine.conns6.count, 8);
    assert.equal(fs.existsSync(file), false, 'a snapshot is used once');
    assert.deepEqual(logs.map((l) => [l.level, l.msg]), [['info', 'connections restored from the snapshot']]);
    assert.deepEqual(logs[0].fields.restored, { connections: 7, templates: 1 });
    assert.equal(logs[0].fields.downtimeMs, 2000);
    // No file: nothing happens, nothing is logged.
    takeConnSnapshot(new Harness().engine, file, logger, true, '', T0);
    assert.equal(logs.length, 1);
  });

  it('a damaged file is logged as an error, restores nothing, and is deleted; one not to be restored is deleted with its reason', () => {
    const file = path.join(dir, 'state.conns');
    const { file: bytes } = snapshot(busyEngine().engine, T0 + 2000);
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 30));
    const b = new Harness();
    takeConnSnapshot(b.engine, file, logger, true, '', T0 + 3000);
    assert.equal(b.engine.conns4.count, 0);
    assert.equal(fs.existsSync(file), false);
    assert.deepEqual(logs.map((l) => [l.level, l.msg]), [['error', 'connection snapshot unusable: no connection restored']]);
    assert.match(String(logs[0].fields.error), /^truncated: \d+ of \d+ bytes$/);

    fs.writeFileSync(file, bytes);
    takeConnSnapshot(b.engine, file, logger, false, 'not with --workers yet', T0 + 3000);
    assert.equal(b.engine.conns4.count, 0);
    assert.equal(fs.existsSync(file), false);
    assert.deepEqual(logs[1], { level: 'warn', msg: 'connection snapshot not restored', fields: { file, reason: 'not with --workers yet' } });
  });

  it('a write that fails leaves no file behind, and the error to the caller', () => {
    const file = path.join(dir, 'missing-dir', 'state.conns');
    assert.throws(() => saveConnSnapshot(busyEngine().engine, file, T0), /ENOENT/);
    assert.deepEqual(fs.readdirSync(dir), []);
  });
});

describe('connection snapshot: a million entries', function () {
  this.timeout(60_000);
  it('are written and read back in well under a few seconds, with no object per entry', () => {
    const N = 1_000_000;
    const a = new Harness(RULES, { connCapacity: N, maxConns: N });
    const conns = a.engine.conns4;
    const dests = [a.engine.destNames.indexOf('10.0.0.11:8080'), a.engine.destNames.indexOf('10.0.0.12:8080')];
    const key = new Uint8Array(8);
    key.set([192, 0, 2, 10], 4);
    for (let i = 0; i < N; i++) {
      key[0] = 10;
      key[1] = (i >>> 16) & 0xff;
      key[2] = (i >>> 8) & 0xff;
      key[3] = i & 0xff;
      // ESTABLISHED NAT entries, counted active, 900 s to go.
      const s = conns.create(6, key, 0, 1024 + (i % 60000), 4, 80, dests[i & 1], 8080, 0, 900_000);
      conns.setState(s, 1);
    }
    a.engine.dests.activeConns[dests[0]] = N / 2;
    a.engine.dests.activeConns[dests[1]] = N / 2;

    const t0 = performance.now();
    const { file, written } = snapshot(a.engine, T0);
    const writeMs = performance.now() - t0;
    assert.equal(written.entries, N);
    assert.equal(file.length, written.bytes);

    const b = new Harness(RULES, { connCapacity: N, maxConns: N });
    const heap0 = process.memoryUsage().heapUsed;
    const t1 = performance.now();
    const r = restoreConnSnapshot(b.engine, file, T0 + 1000);
    const readMs = performance.now() - t1;
    const heapGrowth = process.memoryUsage().heapUsed - heap0;
    assert.equal(r.restored.connections, N);
    assert.equal(b.engine.conns4.count, N);
    assert.deepEqual([b.engine.dests.activeConns[dests[0]], b.engine.dests.activeConns[dests[1]]], [N / 2, N / 2]);
    // A lookup of the last entry finds it, on its server, with its time less the second down.
    const probe = ipv4({ src: `10.${(N - 1) >>> 16 & 0xff}.${(N - 1) >>> 8 & 0xff}.${(N - 1) & 0xff}`, dst: VIP, l4: tcp({ sport: 1024 + ((N - 1) % 60000), dport: 80, flags: TCP_ACK }) });
    const slot = b.engine.conns4.lookupIn(6, probe, 26, 1024 + ((N - 1) % 60000), 30, 80);
    assert.ok(slot >= 0);
    assert.equal(b.engine.conns4.expires(slot) - b.engine.conns4.now, 899_000);
    process.stdout.write(`      1M entries: ${(file.length / 1e6).toFixed(1)} MB, written in ${writeMs.toFixed(0)} ms, ` +
      `read back in ${readMs.toFixed(0)} ms (JS heap +${(heapGrowth / 1e6).toFixed(1)} MB)\n`);
    // Generous bounds for a loaded CI machine; the figures above are what to read.
    assert.ok(readMs < 5000, `reading 1M entries took ${readMs} ms`);
    assert.ok(heapGrowth < 64e6, `the JS heap grew by ${heapGrowth} bytes: objects per entry?`);
  });
});
