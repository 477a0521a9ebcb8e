/**
 * The director's command handling in-process (DirectorControl over an EngineMirror and a
 * StatsBook), where traffic can be injected: commands reach the running engine (weights, real
 * servers removed while connections flow, services flushed, FULLNAT local addresses), counters and
 * rates shown by -L --stats / --rate / -c follow the engine and ipvs-facts section 7 (-Z of one
 * service, of all; trash revival), --set reaches the engine's timeouts, -G lists local addresses,
 * and a state file that cannot be written refuses the change. Expected numbers are worked out
 * from ipvs-facts.md in the comments.
 */
import assert from 'node:assert/strict';
import type { RulesConfig } from '../src/control/config';
import { parseState, stateText } from '../src/control/daemon/config-store';
import { DirectorControl } from '../src/control/daemon/director-control';
import { directorSchedulers, EngineMirror } from '../src/control/daemon/engine-mirror';
import { formatLaddrList } from '../src/control/daemon/laddr-list';
import type { LogFields, Logger, LogLevel } from '../src/control/daemon/logger';
import { formatLogLine } from '../src/control/daemon/logger';
import { DEFAULT_SOCKET_PATH, LineSplitter, decodeRequest, socketPath } from '../src/control/daemon/protocol';
import { restoreLines } from '../src/control/daemon/restore-input';
import { StatsBook } from '../src/control/daemon/stats-book';
import { groupIdFromText } from '../src/control/daemon/group-id';
import { loadDirector } from '../src/control/director-file';
import { parseIp } from '../src/control/ip-address';
import { loadRules } from '../src/control/rules-file';
import { OutputBatch } from '../src/ipvs/frame-batch';
import { DropReason } from '../src/wire/parsed-frame';
import { arp, ipv4, TCP_ACK, TCP_SYN, tcp } from './fixtures/engine/frames';

const VIP = '192.0.2.10';
const DIRECTOR = `
link eth0 mac 02:00:00:00:00:01
addr 10.0.0.1/24 dev eth0
addr 10.0.0.2/24 dev eth0
neigh 10.0.0.254 lladdr 02:00:00:00:00:fe dev eth0
neigh 10.0.0.11 lladdr 02:00:00:00:01:11 dev eth0
neigh 10.0.0.12 lladdr 02:00:00:00:01:12 dev eth0
neigh 10.0.0.13 lladdr 02:00:00:00:01:13 dev eth0
route default via 10.0.0.254 dev eth0
`;
const T0 = 1_700_000_000_000;

class Recorder implements Logger {
  readonly lines: { level: LogLevel; msg: string; fields: LogFields }[] = [];
  log(level: LogLevel, msg: string, fields: LogFields = {}): void {
    this.lines.push({ level, msg, fields });
  }
}

/** A director without sockets: the control, its engine, a hand-moved estimator clock. */
class Rig {
  readonly control: DirectorControl;
  readonly mirror: EngineMirror;
  readonly stats: StatsBook;
  readonly logger = new Recorder();
  readonly saved: string[] = [];
  failSaves = false;
  clockMs = 0;
  private frame = 0;
  private readonly out = new OutputBatch(1 << 16, 16);

  constructor(rules: string) {
    const config: RulesConfig = loadRules(rules, 'rules', { schedulers: directorSchedulers() });
    this.mirror = EngineMirror.build(config, loadDirector(DIRECTOR, 'director'));
    this.stats = new StatsBook(this.mirror.engine, () => this.clockMs);
    this.control = new DirectorControl({
      config,
      mirror: this.mirror,
      stats: this.stats,
      persist: (c) => {
        if (this.failSaves) throw new Error('EROFS: read-only file system');
        this.saved.push(stateText(c));
      },
      logger: this.logger,
      apply: { schedulers: directorSchedulers() },
    });
  }

  run(...argv: string[]): { stdout: string; stderr: string; exitCode: number } {
    return this.control.execute({ argv });
  }

  ok(...argv: string[]): string {
    const r = this.run(...argv);
    assert.equal(r.stderr, '', argv.join(' '));
    assert.equal(r.exitCode, 0, argv.join(' '));
    return r.stdout;
  }

  /**
   * Sends a frame at `atMs` after T0; returns whether the engine forwarded it (an ICMP error the
   * director sends about a dropped frame, e.g. Port Unreachable for no destination, does not count).
   */
  send(frame: Uint8Array, atMs: number): boolean {
    this.out.reset();
    const buf = frame.slice();
    const engine = this.mirror.engine;
    const answered = engine.icmp.sent;
    return engine.processFrame(buf, 0, buf.length, T0 + atMs, this.out, this.frame++) && engine.icmp.sent === answered;
  }

  /** The real server a transmitted DR frame went to (its destination MAC's last byte, e.g. 0x11). */
  lastDestMac(): number {
    return this.out.frameBuf[0][this.out.off[0] + 5];
  }

  syn(sport: number, dport: number, atMs: number, client = '203.0.113.7'): boolean {
    return this.send(ipv4({ src: client, dst: VIP, l4: tcp({ sport, dport, flags: TCP_SYN }) }), atMs);
  }

  ack(sport: number, dport: number, atMs: number, client = '203.0.113.7'): boolean {
    return this.send(ipv4({ src: client, dst: VIP, l4: tcp({ sport, dport, flags: TCP_ACK, seq: 1001, ack: 1 }) }), atMs);
  }
}

/** The rows of `-L -n --stats` / `--rate`: name -> five numbers. */
function numbers(listing: string): Map<string, number[]> {
  const rows = new Map<string, number[]>();
  for (const line of listing.split('\n').slice(3)) {
    const m = /^(?: {2}-> )?((?:TCP|UDP) +\S+|\S+) +(\d+) +(\d+) +(\d+) +(\d+) +(\d+)$/.exec(line);
    if (m !== null) rows.set(m[1].replace(/ +/, ' '), m.slice(2).map(Number));
  }
  return rows;
}

describe('director control: commands reach the running engine', () => {
  const RULES = `
-A -t ${VIP}:80 -s rr
-a -t ${VIP}:80 -r 10.0.0.11 -g -w 1
-a -t ${VIP}:80 -r 10.0.0.12 -g -w 1
`;

  it('-a, -e, -d, -E, -D, -C change the engine as they change the configuration', () => {
    const rig = new Rig(RULES);
    const engine = rig.mirror.engine;
    const svcOf = (): ReturnType<EngineMirror['serviceOf']> => rig.mirror.serviceOf(rig.control.rules.services[0]);
    assert.deepEqual(svcOf().list.map((d) => engine.destNames[d]), ['10.0.0.12:80', '10.0.0.11:80'], 'newest first');

    rig.ok('-a', '-t', `${VIP}:80`, '-r', '10.0.0.13', '-w', '4');
    assert.deepEqual(svcOf().list.map((d) => engine.destNames[d]), ['10.0.0.13:80', '10.0.0.12:80', '10.0.0.11:80']);
    rig.ok('-e', '-t', `${VIP}:80`, '-r', '10.0.0.12', '-w', '9', '-x', '50', '-y', '10');
    const d12 = rig.mirror.destOf(rig.control.rules.services[0], { addr: parseIp('10.0.0.12'), port: 80 });
    assert.equal(engine.dests.weight[d12], 9);
    assert.equal(engine.dests.uThreshold[d12], 50);
    assert.equal(engine.dests.lThreshold[d12], 10);
    rig.ok('-E', '-t', `${VIP}:80`, '-s', 'wrr', '-p', '120');
    assert.equal(svcOf().schedulerName, 'wrr');
    assert.equal(svcOf().persistent, true);
    assert.equal(svcOf().timeout, 120);
    rig.ok('-d', '-t', `${VIP}:80`, '-r', '10.0.0.13');
    assert.deepEqual(svcOf().list.map((d) => engine.destNames[d]), ['10.0.0.12:80', '10.0.0.11:80']);

    rig.ok('-C');
    assert.equal(rig.syn(1000, 80, 0), false);
    assert.equal(engine.drops[DropReason.NoService], 1, 'after -C the VIP is no service');
    rig.ok('-A', '-t', `${VIP}:80`, '-s', 'rr');
    rig.ok('-a', '-t', `${VIP}:80`, '-r', '10.0.0.13', '-g');
    assert.equal(rig.syn(1001, 80, 1), true, 'a service added live takes traffic');
    assert.equal(rig.lastDestMac(), 0x13);
    rig.ok('-D', '-t', `${VIP}:80`);
    assert.equal(rig.syn(1002, 80, 2), false);
    assert.equal(engine.drops[DropReason.NoService], 2);
  });

  it('removing a real server while traffic flows keeps every other connection', () => {
    const rig = new Rig(RULES);
    // rr over [12, 11]: the first connection goes to 10.0.0.12, the second to 10.0.0.11.
    assert.ok(rig.syn(2001, 80, 0));
    assert.equal(rig.lastDestMac(), 0x12);
    assert.ok(rig.syn(2002, 80, 1));
    assert.equal(rig.lastDestMac(), 0x11);
    rig.ok('-e', '-t', `${VIP}:80`, '-r', '10.0.0.11', '-w', '0');
    assert.ok(rig.ack(2002, 80, 2), 'weight 0 keeps the existing connection');
    rig.ok('-d', '-t', `${VIP}:80`, '-r', '10.0.0.12');
    assert.ok(rig.ack(2002, 80, 3), 'the other real server keeps its connection');
    assert.equal(rig.lastDestMac(), 0x11);
    assert.equal(rig.ack(2001, 80, 4), false, "the removed server's connection is dropped");
    assert.equal(rig.mirror.engine.drops[DropReason.DestinationGone], 1);
    assert.equal(rig.syn(2003, 80, 5), false, 'no server with weight > 0 is left');
  });

  it('the kernel\'s "none" scheduler: the service exists, new connections find no real server', () => {
    const rig = new Rig('');
    rig.ok('-A', '-t', `${VIP}:80`, '-s', 'none');
    rig.ok('-a', '-t', `${VIP}:80`, '-r', '10.0.0.11');
    assert.match(rig.ok('-L', '-n'), new RegExp(`^TCP  ${VIP}:80 none$`, 'm'));
    assert.equal(rig.syn(5000, 80, 0), false);
    assert.equal(rig.mirror.engine.drops[DropReason.NoDestination], 1);
    rig.ok('-E', '-t', `${VIP}:80`, '-s', 'rr');
    assert.equal(rig.syn(5001, 80, 1), true);
    rig.ok('-E', '-t', `${VIP}:80`, '-s', 'none', '-p', '60');
    assert.equal(rig.syn(5002, 80, 2, '198.51.100.9'), false);
    assert.equal(rig.mirror.engine.drops[DropReason.NoDestination], 2);
    const rebuilt = new Rig(rig.saved[rig.saved.length - 1]);
    assert.equal(rebuilt.mirror.serviceOf(rebuilt.control.rules.services[0]).schedulerName, 'none', 'a state file with "none" loads');
  });

  it('--set reaches the engine timeouts (0 keeps a value) and -L --timeout shows them', () => {
    const rig = new Rig(RULES);
    assert.equal(rig.ok('-L', '--timeout'), 'Timeout (tcp tcpfin udp): 900 120 300\n');
    rig.ok('--set', '1000', '0', '200');
    const t = rig.mirror.engine.timeouts;
    assert.deepEqual([t.tcpSeconds, t.tcpFinSeconds, t.udpSeconds], [1000, 120, 200]);
    assert.equal(rig.ok('-L', '--timeout'), 'Timeout (tcp tcpfin udp): 1000 120 200\n');
    assert.match(rig.saved[rig.saved.length - 1], /^--set 1000 0 200$/m, 'the state file keeps --set');
  });

  it('a state file that cannot be written refuses the change and applies nothing', () => {
    const rig = new Rig(RULES);
    const before = rig.ok('-S', '-n');
    const engine = rig.mirror.engine;
    const listBefore = [...rig.mirror.serviceOf(rig.control.rules.services[0]).list];
    rig.failSaves = true;
    const r = rig.run('-a', '-t', `${VIP}:80`, '-r', '10.0.0.13');
    assert.equal(r.exitCode, 255);
    assert.equal(r.stderr, 'Cannot save the configuration: EROFS: read-only file system\n');
    assert.equal(rig.ok('-S', '-n'), before);
    assert.deepEqual(rig.mirror.serviceOf(rig.control.rules.services[0]).list, listBefore);
    assert.equal(engine.dests.count, 2, 'no dest was allocated');
    assert.ok(rig.logger.lines.some((l) => l.level === 'error' && l.msg === 'cannot save the configuration'));
    rig.failSaves = false;
    rig.ok('-a', '-t', `${VIP}:80`, '-r', '10.0.0.13');
  });

  it('every accepted change is persisted, in the lossless format, before it is applied', () => {
    const rig = new Rig(RULES);
    rig.ok('-a', '-t', `${VIP}:80`, '-r', '10.0.0.13', '-x', '30', '-y', '20');
    rig.ok('-L', '-n');
    rig.run('-a', '-t', `${VIP}:80`, '-r', '10.0.0.13');
    assert.equal(rig.saved.length, 1, 'one accepted change, one write; listings and refusals write nothing');
    const reloaded = parseState(rig.saved[0], 'state');
    assert.equal(stateText(reloaded), rig.saved[0]);
    assert.match(rig.saved[0], /-r 10\.0\.0\.13:80 -g -w 1 -x 30 -y 20$/m);
  });
});

describe('director control: counters, rates and -Z', () => {
  const RULES = `
-A -t ${VIP}:80 -s rr
-a -t ${VIP}:80 -r 10.0.0.11 -g -w 1
-a -t ${VIP}:80 -r 10.0.0.12 -g -w 1
-A -t ${VIP}:443 -s rr
-a -t ${VIP}:443 -r 10.0.0.13 -g -w 1
`;
  // A SYN is a 40-byte IP packet (20 IP + 20 TCP).
  const SYN_BYTES = 40;

  it('--stats shows the engine counters per service and real server', () => {
    const rig = new Rig(RULES);
    for (let i = 0; i < 4; i++) assert.ok(rig.syn(3000 + i, 80, i));
    assert.ok(rig.ack(3000, 80, 10));
    assert.ok(rig.syn(3100, 443, 11));
    const rows = numbers(rig.ok('-L', '-n', '--stats'));
    // rr alternates 12, 11, 12, 11; the ACK of port 3000 goes to 10.0.0.12.
    assert.deepEqual(rows.get(`TCP ${VIP}:80`), [4, 5, 0, 5 * SYN_BYTES, 0]);
    assert.deepEqual(rows.get('10.0.0.12:80'), [2, 3, 0, 3 * SYN_BYTES, 0]);
    assert.deepEqual(rows.get('10.0.0.11:80'), [2, 2, 0, 2 * SYN_BYTES, 0]);
    assert.deepEqual(rows.get(`TCP ${VIP}:443`), [1, 1, 0, SYN_BYTES, 0]);
    // -L -n: ActiveConn / InActConn from the engine (a SYN leaves SYN_RECV: active).
    assert.match(rig.ok('-L', '-n'), /^ {2}-> 10\.0\.0\.12:80 {17}Route {3}1 {6}2 {10}0 {9}$/m);
  });

  it('-Z of one service zeroes it and its real servers only; -Z zeroes everything; later traffic counts from there', () => {
    const rig = new Rig(RULES);
    for (let i = 0; i < 4; i++) rig.syn(3000 + i, 80, i);
    rig.syn(3100, 443, 5);
    rig.ok('-Z', '-t', `${VIP}:80`);
    let rows = numbers(rig.ok('-L', '-n', '--stats'));
    assert.deepEqual(rows.get(`TCP ${VIP}:80`), [0, 0, 0, 0, 0]);
    assert.deepEqual(rows.get('10.0.0.11:80'), [0, 0, 0, 0, 0]);
    assert.deepEqual(rows.get(`TCP ${VIP}:443`), [1, 1, 0, SYN_BYTES, 0]);
    assert.equal(rig.stats.totals().stats.conns, 5, 'the total is not zeroed by -Z of one service');
    rig.syn(3004, 80, 6);
    rows = numbers(rig.ok('-L', '-n', '--stats'));
    assert.deepEqual(rows.get(`TCP ${VIP}:80`), [1, 1, 0, SYN_BYTES, 0]);
    rig.ok('-Z');
    rows = numbers(rig.ok('-L', '-n', '--stats'));
    for (const [name, v] of rows) assert.deepEqual(v, [0, 0, 0, 0, 0], name);
    assert.deepEqual(rig.stats.totals().stats, { conns: 0, inpkts: 0, outpkts: 0, inbytes: 0, outbytes: 0 });
    assert.match(rig.ok('-L', '-n'), /^ {2}-> 10\.0\.0\.12:80 {17}Route {3}1 {6}3 {10}0 {9}$/m, 'connection counts are not statistics (12 has had 3 SYNs)');
    const r = rig.run('-Z', '-t', `${VIP}:8080`);
    assert.deepEqual(r, { stdout: '', stderr: 'No such service\n', exitCode: 255 });
  });

  it('a real server revived from the trash keeps its counters; one of a re-created service starts at 0', () => {
    const rig = new Rig(RULES);
    rig.syn(3000, 443, 0);
    rig.syn(3001, 443, 1);
    rig.ok('-d', '-t', `${VIP}:443`, '-r', '10.0.0.13');
    rig.ok('-a', '-t', `${VIP}:443`, '-r', '10.0.0.13');
    assert.deepEqual(numbers(rig.ok('-L', '-n', '--stats')).get('10.0.0.13:443'), [2, 2, 0, 2 * SYN_BYTES, 0]);
    rig.ok('-D', '-t', `${VIP}:443`);
    rig.ok('-A', '-t', `${VIP}:443`, '-s', 'rr');
    rig.ok('-a', '-t', `${VIP}:443`, '-r', '10.0.0.13');
    const rows = numbers(rig.ok('-L', '-n', '--stats'));
    assert.deepEqual(rows.get('10.0.0.13:443'), [0, 0, 0, 0, 0]);
    assert.deepEqual(rows.get(`TCP ${VIP}:443`), [0, 0, 0, 0, 0]);
  });

  it('--rate follows the kernel estimator: 200 SYNs in 2 s are 100/s, shown as 25 after one sample', () => {
    const rig = new Rig(RULES);
    for (let i = 0; i < 200; i++) rig.syn(10000 + i, 443, i);
    rig.clockMs = 2000;
    rig.stats.sample();
    // cps: rate = 200 << 9 = 102400, avg = 102400 >> 2 = 25600, shown (25600 + 511) >> 10 = 25.
    // inbps: 8000 bytes: rate = 8000 << 4 = 128000, avg = 32000, shown (32000 + 15) >> 5 = 1000.
    const rows = numbers(rig.ok('-L', '-n', '--rate'));
    assert.deepEqual(rows.get(`TCP ${VIP}:443`), [25, 25, 0, 1000, 0]);
    assert.deepEqual(rows.get('10.0.0.13:443'), [25, 25, 0, 1000, 0]);
    assert.deepEqual(rows.get(`TCP ${VIP}:80`), [0, 0, 0, 0, 0]);
    // Same rate for another 2 s: avg = 25600 + (102400 - 25600) >> 2 = 44800 -> 44 (facts: 25, 44, 58...).
    for (let i = 200; i < 400; i++) rig.syn(10000 + i, 443, 2000 + i);
    rig.clockMs = 4000;
    rig.stats.sample();
    assert.equal(numbers(rig.ok('-L', '-n', '--rate')).get(`TCP ${VIP}:443`)?.[0], 44);
    rig.ok('-Z', '-t', `${VIP}:443`);
    assert.deepEqual(numbers(rig.ok('-L', '-n', '--rate')).get(`TCP ${VIP}:443`), [0, 0, 0, 0, 0], '-Z sets the rates to 0');
  });

  it('-L -c lists the engine connections with their state and seconds to expiry', () => {
    const rig = new Rig(RULES);
    rig.syn(3000, 443, 0);
    rig.send(arp('10.0.0.254', '10.0.0.1'), 5500); // the clock moves 5.5 s
    // A SYN leaves SYN_RECV with its 60 s timeout: 54.5 s left, printed 00:54.
    assert.equal(rig.ok('-L', '-n', '-c'),
      'IPVS connection entries\n' +
      'pro expire state       source             virtual            destination\n' +
      `TCP 00:54  SYN_RECV    203.0.113.7:3000   ${VIP}:443     10.0.0.13:443\n`);
  });
});

describe('director control: FULLNAT local addresses and -G', () => {
  const RULES = `
-A -t ${VIP}:80 -s rr
-a -t ${VIP}:80 -r 10.0.0.11:8080 --fullnat -w 1
-P -t ${VIP}:80 -z 10.0.0.2
-A -u ${VIP}:53 -s rr
`;

  it('-P / -Q change the service and the engine; -G lists them in DPVS\'s layout with connections', () => {
    const rig = new Rig(RULES);
    assert.ok(rig.syn(4000, 80, 0));
    assert.ok(rig.syn(4001, 80, 1));
    rig.ok('-P', '-t', `${VIP}:80`, '-z', '10.0.0.1');
    const title = 'VIP:VPORT            TOTAL    SNAT_IP              CONFLICTS  CONNS     \n';
    // Kernel order: the UDP service's bucket (17 ^ VIP ^ 0 ^ 53) & 255 = 56 comes before the TCP one's (6 ^ 10 ^ 80) & 255 = 90.
    assert.equal(rig.ok('-G'),
      title +
      `${VIP}:53        0        \n` +
      `${VIP}:80        2        \n` +
      '                              10.0.0.2             0          2         \n' +
      '                              10.0.0.1             0          0         \n');
    assert.equal(rig.ok('-G', '-t', `${VIP}:80`).split('\n')[1], `${VIP}:80        2        `);
    const svc = rig.mirror.serviceOf(rig.control.rules.services[0]);
    assert.equal(svc.laddrs.length, 2);
    rig.ok('-Q', '-t', `${VIP}:80`, '-z', '10.0.0.2');
    assert.equal(svc.laddrs.length, 1);
    assert.equal(rig.ok('-G', '-t', `${VIP}:80`),
      title + `${VIP}:80        1        \n` + '                              10.0.0.1             0          0         \n');
    assert.ok(rig.syn(4002, 80, 2), 'new connections use the remaining local address');
    assert.match(rig.ok('-G', '-t', `${VIP}:80`), /10\.0\.0\.1 {13}0 {10}1 {9}\n$/);
    assert.ok(rig.ack(4000, 80, 3), 'a connection on the removed local address goes on');
  });

  it('refuses what the kernel would, with ipvsadm-style messages and exit codes', () => {
    const rig = new Rig(RULES);
    const cases: [string[], string, number][] = [
      [['-P', '-t', `${VIP}:80`, '-z', '10.0.0.2'], 'Local address already exists\n', 255],
      [['-Q', '-t', `${VIP}:80`, '-z', '10.0.0.9'], 'No such local address\n', 255],
      [['-P', '-t', `${VIP}:81`, '-z', '10.0.0.9'], 'Service not defined\n', 255],
      [['-P', '-t', `${VIP}:80`, '-z', '2001:db8::1'], 'Local address family differs from the virtual service\n', 255],
      [['-P', '-t', `${VIP}:80`], "You need to supply the 'laddr' option for the 'add-laddr' command\n", 2],
      [['-G', '-t', `${VIP}:81`], 'No such service\n', 1],
      [['-G', '-n'], "Illegal 'numeric' option with the 'get-laddr' command\n", 2],
      [['-G', '-r', '10.0.0.1'], "Illegal 'real-server' option with the 'get-laddr' command\n", 2],
      [['-GK'], '-GK: unknown option\n', 255],
      [['-G', '--bogus'], '--bogus: unknown option\n', 255],
      [['--get-laddr', '-t', `${VIP}:80`, '-t', `${VIP}:53`], "multiple 'service-address' options specified\n", 2],
    ];
    for (const [argv, stderr, exitCode] of cases) assert.deepEqual(rig.run(...argv), { stdout: '', stderr, exitCode }, argv.join(' '));
  });

  it('-G prints nothing when there is no service', () => {
    assert.equal(formatLaddrList([]), '');
    const rig = new Rig('');
    assert.deepEqual(rig.run('-G'), { stdout: '', stderr: '', exitCode: 0 });
  });
});

describe('director control: protocol, -R input, logs, names', () => {
  it('splits -R input as ipvsadm does (blank lines skipped, every "ipvsadm" token dropped, # kept)', () => {
    assert.deepEqual(restoreLines('ipvsadm -A -t 1.2.3.4:80\n\n \t\n-a\t-t 1.2.3.4:80  -r 5.6.7.8 ipvsadm\r\n# note\n-C'), [
      { line: 1, argv: ['-A', '-t', '1.2.3.4:80'] },
      { line: 4, argv: ['-a', '-t', '1.2.3.4:80', '-r', '5.6.7.8'] },
      { line: 5, argv: ['#', 'note'] },
      { line: 6, argv: ['-C'] },
    ]);
  });

  it('-R refuses nested -R, commands that are not changes, and # lines, naming the line', () => {
    const rig = new Rig(`-A -t ${VIP}:80 -s rr\n`);
    const before = rig.ok('-S', '-n');
    const cases: [string, string, number][] = [
      ['-A -t 10.1.1.1:80\n-R\n', "line 2: Try `uvsadm -h' or 'uvsadm --help' for more information.\n", 255],
      ['-A -t 10.1.1.1:80\n-L -n\n', 'line 2: -L (list) cannot be used in an atomic -R\n', 2],
      ['# a comment\n', "line 1: Try `uvsadm -h' or 'uvsadm --help' for more information.\n", 255],
      ['-A -t 10.1.1.1:80\n-A -t 10.1.1.2:80 -s nosuch\n', 'line 2: Scheduler or persistence engine not found\n', 255],
      ['-A -t 10.1.1.1:80\n\n-a -t 10.1.1.1:80 -r 10.2.2.2 -w 70000\n', 'line 3: illegal weight specified\n', 2],
    ];
    for (const [stdin, stderr, exitCode] of cases) {
      assert.deepEqual(rig.control.execute({ argv: ['-R'], stdin }), { stdout: '', stderr, exitCode }, stdin);
      assert.equal(rig.ok('-S', '-n'), before, 'nothing applied');
    }
    assert.equal(rig.saved.length, 0);
    assert.deepEqual(rig.control.execute({ argv: ['-R'], stdin: '-A -t 10.1.1.1:80\n-a -t 10.1.1.1:80 -r 10.2.2.2\n' }),
      { stdout: '', stderr: '', exitCode: 0 });
    assert.equal(rig.saved.length, 1, 'a good -R is written once');
  });

  it('logs each change with its command and result', () => {
    const rig = new Rig('');
    rig.run('-A', '-t', `${VIP}:80`);
    rig.run('-A', '-t', `${VIP}:80`);
    rig.run('-L', '-n');
    assert.deepEqual(rig.logger.lines, [
      { level: 'info', msg: 'command applied', fields: { command: ['-A', '-t', `${VIP}:80`], exitCode: 0 } },
      { level: 'warn', msg: 'command refused', fields: { command: ['-A', '-t', `${VIP}:80`], exitCode: 255, error: 'Service already exists' } },
    ]);
    const line = formatLogLine(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6)), 'info', 'x', { a: 1, msg: 'shadow' });
    assert.equal(line, '{"time":"2026-01-02T03:04:05.006Z","level":"info","msg":"x","a":1,"field_msg":"shadow"}\n');
  });

  it('reads requests line by line across chunks and refuses malformed ones', () => {
    const got: string[] = [];
    const s = new LineSplitter((l) => got.push(l), 10);
    assert.ok(s.push(Buffer.from('{"a":')));
    assert.ok(s.push(Buffer.from('1}\nxy\n')));
    assert.deepEqual(got, ['{"a":1}', 'xy']);
    assert.equal(s.push(Buffer.from('01234567890')), false, 'a line over the limit');
    const euro = Buffer.from('"€"\n');
    const t: string[] = [];
    const u = new LineSplitter((l) => t.push(l));
    u.push(euro.subarray(0, 2));
    u.push(euro.subarray(2));
    assert.deepEqual(t, ['"€"'], 'a character split between chunks');
    assert.deepEqual(decodeRequest('{"argv":["-L"],"stdin":"x"}'), { argv: ['-L'], stdin: 'x' });
    assert.throws(() => decodeRequest('[1]'), /not a JSON object/);
    assert.throws(() => decodeRequest('{"argv":[1]}'), /argv must be an array of strings/);
    assert.throws(() => decodeRequest('{"argv":[],"stdin":3}'), /stdin must be a string/);
    assert.throws(() => decodeRequest('nope'), /not JSON/);
  });

  it('finds the socket: explicit, then UVS_SOCKET, then /run/uvs/uvs.sock', () => {
    assert.equal(socketPath('/x.sock', { UVS_SOCKET: '/y.sock' }), '/x.sock');
    assert.equal(socketPath(null, { UVS_SOCKET: '/y.sock' }), '/y.sock');
    assert.equal(socketPath(null, {}), DEFAULT_SOCKET_PATH);
    assert.equal(DEFAULT_SOCKET_PATH, '/run/uvs/uvs.sock');
  });

  it('resolves group names from group-file text', () => {
    const text = 'root:x:0:\nuvs:x:998:alice,bob\nbad:x:notanumber:\n';
    assert.equal(groupIdFromText(text, 'uvs'), 998);
    assert.equal(groupIdFromText(text, 'root'), 0);
    assert.equal(groupIdFromText(text, 'bad'), null);
    assert.equal(groupIdFromText(text, 'nope'), null);
  });
});
