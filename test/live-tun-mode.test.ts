/**
 * `uvs director` in TUN mode, on real kernels: the director file's only link is `link uvs0 io
 * tun`; the director creates the device, routes the VIP (and FULLNAT local addresses, and NAT
 * real servers' replies by policy rules) into it, and writes the rewritten packets back for the
 * kernel to route on. NAT, FULLNAT and TUN (IPIP) forwarding carry HTTP from a client namespace
 * to two real servers; DR is refused; a stop (and the start after a crash) leaves nothing behind.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deleteNamespaces, nsIp, uniquePrefix } from '../src/lab/netns';
import { spawnSync } from 'node:child_process';
import type { IpAddress } from '../src/control/config';
import { loadDirector } from '../src/control/director-file';
import { loadRules } from '../src/control/rules-file';
import { planTunKernel, TunModeError } from '../src/live/tun-plan';
import { client } from './support/e2e-lab';
import { UVS } from './support/lab-cli';
import {
  BACK_MTU, buildTunLab, CLIENT, endProcess, exitLog, hasLink, LADDR, RS, start, startDirector, startRealServers, stopAll, sysctl,
  TUN_ADDR, uvsRoutes, uvsRules, VIP, waitUntil, type TunLab, type DirectorRun,
} from './support/live-tun-lab';

const DIRECTOR_FILE = [
  `link uvs0 io tun mtu ${BACK_MTU}`,
  `addr ${TUN_ADDR}/24 dev uvs0`,
  'route 10.72.3.0/24 dev uvs0',
  'route default dev uvs0',
].join('\n') + '\n';

interface HttpMany {
  counts: Record<string, number>;
  failures: string[];
  peers: Record<string, number>;
}

function rulesFor(method: string, rsPort: number, extra: string[] = []): string {
  return [
    `-A -t ${VIP}:80 -s rr`,
    ...RS.map((r) => `-a -t ${VIP}:80 -r ${r}:${rsPort} ${method} -w 1`),
    ...extra,
  ].join('\n') + '\n';
}

const NAT_RULES = rulesFor('-m', 8080, [`-A -u ${VIP}:9000 -s rr`, ...RS.map((r) => `-a -u ${VIP}:9000 -r ${r}:9000 -m -w 1`)]);

function uvsadmRun(run: DirectorRun, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(path.dirname(UVS), 'uvsadm.js'), ...args], {
    encoding: 'utf8', env: { ...process.env, UVS_SOCKET: run.socket }, timeout: 10_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Nothing of a director is left in the director namespace's kernel (the device may take a moment to go). */
async function assertClean(ns: string): Promise<void> {
  await waitUntil('uvs0 gone', null, () => !hasLink(ns, 'uvs0'), 5000);
  assert.deepEqual(uvsRoutes(ns), []);
  assert.deepEqual(uvsRules(ns), []);
}

function http20(lab: TunLab): HttpMany {
  return client<HttpMany>(lab.client, 'http-many', `http://${VIP}/`, '20');
}

describe('tun-plan: what TUN mode asks of the kernel', () => {
  const director = loadDirector(`link uvs0 io tun\naddr ${TUN_ADDR}/24 dev uvs0\nroute 10.72.3.0/24 dev uvs0\n` +
    'link eth9\naddr 192.168.9.1/24 dev eth9\nmark 7 proto tcp dst 10.80.0.0/16\nmark 8 proto udp\n', 'test');
  const linkOf = (a: IpAddress): string | null => (a.text.startsWith('10.72.3.') ? 'uvs0' : a.text.startsWith('192.168.9.') ? 'eth9' : null);
  const plan = (rules: string): ReturnType<typeof planTunKernel> =>
    planTunKernel(loadRules(rules, 'rules'), director, { link: 'uvs0', tunLinks: ['uvs0'], linkOf });

  it('routes VIPs, local addresses, mark dst prefixes and its own address into the device; NAT replies by policy rules', () => {
    const p = plan([
      `-A -t ${VIP}:0 -s rr -p 60`, `-a -t ${VIP}:0 -r 10.72.3.11:0 -m -w 1`,
      `-A -u 10.72.100.2:53 -s rr`, `-a -u 10.72.100.2:53 -r 10.72.3.12:5353 -m -w 1`, `-P -u 10.72.100.2:53 -z ${LADDR}`,
      '-A -f 7 -s rr', '-a -f 7 -r 10.72.3.13:0 -m -w 1',
      '-a -f 7 -r 192.168.9.5:0 -g -w 1',
    ].join('\n'));
    assert.deepEqual(p.entries.map((e) => e.add.join(' ')), [
      `-4 route add ${TUN_ADDR}/32 dev uvs0 table main proto 117`,
      `-4 route add ${VIP}/32 dev uvs0 table main proto 117`,
      '-4 route add 0.0.0.0/0 dev uvs0 table 117 proto 117',
      '-4 route add 10.72.100.2/32 dev uvs0 table main proto 117',
      `-4 route add ${LADDR}/32 dev uvs0 table main proto 117`,
      '-4 route add 10.80.0.0/16 dev uvs0 table main proto 117',
      // a port-0 service's real server answers from any port; a firewall-mark one with any protocol
      '-4 rule add from 10.72.3.11 ipproto tcp lookup 117 priority 117 protocol 117',
      '-4 rule add from 10.72.3.12 ipproto udp sport 5353 lookup 117 priority 117 protocol 117',
      '-4 rule add from 10.72.3.13 lookup 117 priority 117 protocol 117',
    ]);
    assert.ok(p.entries.every((e) => e.del.join(' ') === e.add.join(' ').replace(' add ', ' del ')));
    assert.deepEqual(p.routed.map((r) => r.addr.text), [TUN_ADDR, VIP, '10.72.100.2', LADDR]);
    assert.equal(p.natDests, 3);
  });

  it('refuses DR through a TUN link, IPIP without an address on it, and a mark rule without dst', () => {
    assert.throws(() => plan(`-A -t ${VIP}:80 -s rr\n-a -t ${VIP}:80 -r 10.72.3.11:80 -g -w 1\n`),
      (e: Error) => e instanceof TunModeError && /10\.72\.3\.11: direct routing \(-g\) needs layer 2.*through uvs0, a TUN link/.test(e.message));
    const noAddr = loadDirector('link uvs0 io tun\nroute 10.72.3.0/24 dev uvs0\n', 'test');
    assert.throws(() => planTunKernel(loadRules(`-A -t ${VIP}:80 -s rr\n-a -t ${VIP}:80 -r 10.72.3.11:80 -i -w 1\n`, 'r'), noAddr,
      { link: 'uvs0', tunLinks: ['uvs0'], linkOf }), /tunnelling \(-i\) through the TUN link uvs0 needs an IPv4 address/);
    assert.throws(() => plan('-A -f 8 -s rr\n'), /firewall-mark service 8: its mark rule has no dst/);
    // DR to a real server behind a layer-2 link of the same director is fine.
    assert.doesNotThrow(() => plan(`-A -t ${VIP}:80 -s rr\n-a -t ${VIP}:80 -r 192.168.9.5:80 -g -w 1\n`));
  });
});

describe('uvs director in TUN mode (uvs0 routed by the kernel)', function () {
  this.timeout(120_000);
  const prefix = uniquePrefix('ltun');
  let dir = '';
  let lab: TunLab | null = null;

  before(async function () {
    this.timeout(60_000);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uvs-ltun-'));
    lab = buildTunLab(prefix, dir);
    await startRealServers(lab);
  });

  after(function () {
    this.timeout(30_000);
    if (lab !== null) stopAll(lab);
    deleteNamespaces(prefix);
    if (dir !== '') fs.rmSync(dir, { recursive: true, force: true });
  });

  it('NAT: HTTP and UDP through uvs0 reach both real servers; the kernel routes the VIP, never answers it', async function () {
    const l = lab as TunLab;
    const d = l.director;
    const run = await startDirector(l, 'nat', NAT_RULES, DIRECTOR_FILE);

    // What the director put into its kernel.
    assert.ok(hasLink(d, 'uvs0'));
    assert.deepEqual(uvsRoutes(d), [`${TUN_ADDR} dev uvs0 table main`, `${VIP} dev uvs0 table main`, 'default dev uvs0 table 117'].sort());
    assert.deepEqual(uvsRules(d).sort(), [...RS.map((r) => `from ${r} tcp 8080 lookup 117`), ...RS.map((r) => `from ${r} udp 9000 lookup 117`)].sort());
    assert.equal(sysctl(d, 'net.ipv4.ip_forward'), '1');
    assert.equal(sysctl(d, 'net.ipv4.conf.uvs0.rp_filter'), '0', 'created strict (default 1), turned off by the director (a margin)');
    // The VIP is routed into the device, not local: the kernel does not answer it itself.
    const got = JSON.parse(nsIp(d, '-j', 'route', 'get', VIP, 'from', CLIENT, 'iif', 'eth0')) as { dev?: string; type?: string }[];
    assert.equal(got[0].dev, 'uvs0');
    assert.notEqual(got[0].type, 'local');
    assert.ok(!nsIp(d, '-j', 'addr', 'show').includes(`"${VIP}"`), 'the VIP is no address of the director host');

    const http = http20(l);
    assert.deepEqual(http.failures, []);
    assert.deepEqual(http.counts, { rs1: 10, rs2: 10 });
    assert.deepEqual(http.peers, { [CLIENT]: 20 }, 'NAT keeps the client address');
    const udp = client<HttpMany>(l.client, 'udp-many', VIP, '9000', '10', '41000');
    assert.deepEqual(udp.failures, []);
    assert.deepEqual(udp.counts, { rs1: 5, rs2: 5 });

    // A port the director does not balance: no RST from the director's kernel (it routes the
    // VIP into uvs0, and uvs drops what is not a service), so the connection attempt times out.
    const probe = client<HttpMany>(l.client, 'http-many', `http://${VIP}:81/`, '1');
    assert.equal(probe.failures.length, 1);
    assert.match(probe.failures[0], /timeout/);

    // Live changes: a NAT real server added gets its rule, removed loses it; DR is refused.
    assert.equal(uvsadmRun(run, '-a', '-t', `${VIP}:80`, '-r', '10.72.3.13:8080', '-m').status, 0);
    assert.ok(uvsRules(d).includes('from 10.72.3.13 tcp 8080 lookup 117'));
    assert.equal(uvsadmRun(run, '-d', '-t', `${VIP}:80`, '-r', '10.72.3.13:8080').status, 0);
    assert.ok(!uvsRules(d).some((r) => r.includes('10.72.3.13')));
    const dr = uvsadmRun(run, '-a', '-t', `${VIP}:80`, '-r', '10.72.3.14:80', '-g');
    assert.notEqual(dr.status, 0);
    assert.match(dr.stderr, /10\.72\.3\.14: direct routing \(-g\) needs layer 2/);
    assert.ok(!uvsadmRun(run, '-L', '-n').stdout.includes('10.72.3.14'), 'the refused change is not in the table');
    assert.equal(uvsRules(d).length, 4);

    await endProcess(run.proc, 'SIGTERM');
    await assertClean(d);
    assert.equal(sysctl(d, 'net.ipv4.ip_forward'), '0', 'forwarding given back');
  });

  it('FULLNAT: the real servers see the local address, replies come back through uvs0', async function () {
    const l = lab as TunLab;
    const run = await startDirector(l, 'fullnat', rulesFor('--fullnat', 8080, [`-P -t ${VIP}:80 -z ${LADDR}`]), DIRECTOR_FILE);
    assert.deepEqual(uvsRoutes(l.director), [`${TUN_ADDR} dev uvs0 table main`, `${VIP} dev uvs0 table main`, `${LADDR} dev uvs0 table main`].sort());
    assert.deepEqual(uvsRules(l.director), [], 'FULLNAT replies are addressed to the local address: no policy rule');
    const http = http20(l);
    assert.deepEqual(http.failures, []);
    assert.deepEqual(http.counts, { rs1: 10, rs2: 10 });
    assert.deepEqual(http.peers, { [LADDR]: 20 }, 'the real server sees the local address');
    await endProcess(run.proc, 'SIGTERM');
    await assertClean(l.director);
  });

  it('TUN (IPIP): real servers decapsulate and answer the client directly', async function () {
    const l = lab as TunLab;
    const decaps = l.rs.map((ns, i) => start(l, `rs${i + 1}-decap`, ns, [UVS, 'realserver', '--decap', 'ipip', '--dev', 'eth0']));
    const tunDevs = (ns: string): string[] =>
      (JSON.parse(nsIp(ns, '-d', '-j', 'link', 'show')) as { ifname: string; linkinfo?: { info_kind?: string } }[])
        .filter((x) => x.linkinfo?.info_kind === 'tun').map((x) => x.ifname);
    for (const [i, p] of decaps.entries()) await waitUntil('the decapsulator\'s TUN device', p, () => tunDevs(l.rs[i]).length > 0, 10_000);
    const run = await startDirector(l, 'ipip', rulesFor('-i', 80).replace(/ -i -w 1/g, ' -i -w 1 --tun-type ipip'), DIRECTOR_FILE);
    try {
      const http = http20(l);
      assert.deepEqual(http.failures, []);
      assert.deepEqual(http.counts, { rs1: 10, rs2: 10 });
      assert.deepEqual(http.peers, { [CLIENT]: 20 }, 'IPIP keeps the client address');
    } finally {
      await endProcess(run.proc, 'SIGTERM');
      for (const p of decaps) await endProcess(p, 'SIGTERM');
    }
    await assertClean(l.director);
  });

  it('refuses at start what TUN mode cannot do, leaving nothing behind', async function () {
    const l = lab as TunLab;
    const refused = async (name: string, rules: string, why: RegExp): Promise<void> => {
      const base = path.join(l.dir, name);
      fs.writeFileSync(`${base}.rules`, rules);
      fs.writeFileSync(`${base}.director`, DIRECTOR_FILE);
      const p = start(l, `${name}-director`, l.director, [
        UVS, 'director', '--rules', `${base}.rules`, '--director', `${base}.director`, '--socket', `${base}.sock`, '--state', `${base}.state.json`,
      ]);
      const log = await exitLog(p);
      assert.match(log, why);
      await assertClean(l.director);
    };
    await refused('dr', rulesFor('-g', 80), /10\.72\.3\.1[12]: direct routing \(-g\) needs layer 2/);
    // A FULLNAT local address the host owns would be delivered by its kernel, not routed into uvs0.
    nsIp(l.director, 'addr', 'add', `${LADDR}/32`, 'dev', 'eth0');
    try {
      await refused('local', rulesFor('--fullnat', 8080, [`-P -t ${VIP}:80 -z ${LADDR}`]), /FULLNAT local address 10\.72\.5\.1 is a local address of this host/);
    } finally {
      nsIp(l.director, 'addr', 'del', `${LADDR}/32`, 'dev', 'eth0');
    }
  });

  it('after a crash, the next director removes the rules the crashed one left, and works', async function () {
    const l = lab as TunLab;
    const d = l.director;
    const first = await startDirector(l, 'crash', NAT_RULES, DIRECTOR_FILE);
    await endProcess(first.proc, 'SIGKILL');
    // The device goes with its process (the kernel unregisters it once the last fd is closed).
    await waitUntil('uvs0 gone after the crash', null, () => !hasLink(d, 'uvs0'), 5000);
    assert.equal(uvsRules(d).length, 4, 'its policy rules stayed');
    const second = await startDirector(l, 'crash-again', NAT_RULES, DIRECTOR_FILE);
    assert.match(fs.readFileSync(second.proc.log, 'utf8'), /removed kernel routes and rules an earlier director left behind/);
    assert.equal(uvsRules(d).length, 4);
    const http = http20(l);
    assert.deepEqual(http.failures, []);
    assert.deepEqual(http.counts, { rs1: 10, rs2: 10 });
    await endProcess(second.proc, 'SIGTERM');
    await assertClean(d);
  });
});
