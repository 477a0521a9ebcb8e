/**
 * `uvs lab up|status|down` for real (root, network namespaces), through the built CLI. Labs come
 * up with --no-director (one with the director, which serves the control plane): the router must reach every real server directly, each real server must
 * be set up as its mode needs, status --json must describe it, and down must leave nothing, also
 * after a crash. Every lab a test makes is brought down in after(), even when the test fails.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { loadDirector } from '../src/control/director-file';
import type { LabStatusJson } from '../src/lab/lab-status';
import { linkMac } from '../src/lab/netns';
import { REALSERVER_COMMAND_JS } from '../src/lab/lab-servers';
import { findExecutable } from '../src/lab/lab-servers';
import {
  defaultGateway,
  httpFrom,
  linkAddrs,
  namespacesWithPrefix,
  pidAlive,
  routeVia,
  sysctl,
  udpFrom,
  uniqueLabName,
  uvsLab,
} from './support/lab-cli';

const base = uniqueLabName('lt');
const made: string[] = [];

function labName(tag: string): string {
  const name = `${base}${tag}`;
  made.push(name);
  return name;
}

function up(name: string, ...args: string[]): void {
  const r = uvsLab('up', '--name', name, ...args);
  assert.equal(r.status, 0, `lab up ${args.join(' ')} failed:\n${r.stderr}`);
  assert.match(r.stdout, new RegExp(`ip netns exec uvslab-${name}-client curl http://10\\.71\\.100\\.1/`));
}

function statusJson(name: string): LabStatusJson {
  const r = uvsLab('status', '--name', name, '--json');
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as LabStatusJson;
}

function assertGone(name: string, pids: number[]): void {
  assert.deepEqual(namespacesWithPrefix(`uvslab-${name}-`), []);
  assert.equal(fs.existsSync(`/run/uvs-lab/${name}`), false, 'DIR removed');
  for (const pid of pids) assert.equal(pidAlive(pid), false, `pid ${pid} ended`);
}

const tunAvailable = fs.existsSync(REALSERVER_COMMAND_JS);
const iperfInstalled = findExecutable('iperf3') !== null;

describe('uvs lab (namespaces)', function () {
  this.timeout(30_000);

  after(() => {
    for (const name of made) uvsLab('down', '--name', name);
  });

  for (const mode of ['dr', 'nat', 'fullnat', 'tun'] as const) {
    const rsCount = mode === 'nat' ? 3 : 2;
    it(`${mode}: comes up, reaches every real server, is described by status --json, and goes down`, function () {
      if (mode === 'tun' && !tunAvailable) this.skip();
      const name = labName(mode);
      up(name, '--mode', mode, '--rs', String(rsCount), '--scheduler', 'rr', '--no-director');
      const prefix = `uvslab-${name}-`;
      const s = statusJson(name);
      const rsPort = mode === 'nat' || mode === 'fullnat' ? 8080 : 80;

      // status --json: what scripts drive the lab with.
      const rsNs = Array.from({ length: rsCount }, (_, i) => `${prefix}rs${i + 1}`);
      assert.equal(s.name, name);
      assert.equal(s.mode, mode);
      assert.equal(s.scheduler, 'rr');
      assert.deepEqual(s.namespaces, { client: `${prefix}client`, router: `${prefix}router`, director: `${prefix}director`, switch: `${prefix}switch`, realServers: rsNs });
      assert.equal(s.clientNamespace, `${prefix}client`);
      assert.equal(s.vip, '10.71.100.1');
      assert.equal(s.port, 80);
      assert.equal(s.udpPort, 9000);
      assert.equal(s.iperfPort, 5201);
      assert.deepEqual(s.realServers, rsNs.map((ns, i) => ({ name: `rs${i + 1}`, namespace: ns, address: `10.71.3.${11 + i}`, port: rsPort })));
      assert.equal(s.socket, `/run/uvs-lab/${name}/uvs.sock`);
      assert.deepEqual(s.director, { pid: null, alive: false, log: `/run/uvs-lab/${name}/director.log` });
      assert.deepEqual(s.missingNamespaces, []);
      assert.deepEqual(namespacesWithPrefix(prefix).sort(), [...Object.values(s.namespaces).flat()].sort());
      const roles = s.processes.map((p) => p.role).sort();
      const wantRoles = s.realServers.flatMap((r) => [`${r.name}-http`, ...(iperfInstalled ? [`${r.name}-iperf3`] : []), ...(mode === 'tun' ? [`${r.name}-decap`] : [])]).sort();
      assert.deepEqual(roles, wantRoles);
      for (const p of s.processes) assert.equal(p.alive, true, `${p.role} running`);

      // The path client → router → bridge → real server, and back by the mode's default route.
      for (const rs of s.realServers) {
        for (const port of [80, 8080]) {
          const r = httpFrom(s.clientNamespace, `http://${rs.address}:${port}/`);
          assert.equal(r.error, undefined, `${rs.name}:${port}: ${r.error}`);
          assert.equal(r.status, 200);
          assert.equal(r.body, `${rs.name}\n`);
          assert.match(r.peer ?? '', /^10\.71\.1\.2:\d+$/, 'the real server saw the client');
        }
        const u = udpFrom(s.clientNamespace, rs.address, 9000);
        assert.equal(u.error, undefined, `${rs.name} udp: ${u.error}`);
        assert.equal(u.body, `${rs.name}\n`);
        assert.equal(u.from, `${rs.address}:9000`);
      }

      // Shared plan: router and director forward, the VIP is routed to the director.
      assert.equal(sysctl(s.namespaces.router, 'net.ipv4.ip_forward'), '1');
      assert.equal(sysctl(s.namespaces.director, 'net.ipv4.ip_forward'), '1');
      assert.equal(routeVia(s.namespaces.router, '10.71.100.1'), '10.71.2.2');
      assert.equal(defaultGateway(s.namespaces.director), '10.71.2.1');
      assert.equal(defaultGateway(s.clientNamespace), '10.71.1.1');
      const laddrs = mode === 'fullnat' ? ['10.71.3.100/24', '10.71.3.101/24'] : [];
      assert.deepEqual(linkAddrs(s.namespaces.director, 'eth1'), ['10.71.3.2/24', ...laddrs]);

      // Per mode, on each real server.
      for (const ns of rsNs) {
        const onLo = linkAddrs(ns, 'lo');
        if (mode === 'dr' || mode === 'tun') {
          assert.ok(onLo.includes('10.71.100.1/32'), `VIP on lo in ${ns}`);
          for (const scope of ['all', 'eth0']) {
            assert.equal(sysctl(ns, `net.ipv4.conf.${scope}.arp_ignore`), '1');
            assert.equal(sysctl(ns, `net.ipv4.conf.${scope}.arp_announce`), '2');
          }
        } else {
          assert.ok(!onLo.includes('10.71.100.1/32'), `no VIP on lo in ${ns}`);
        }
        assert.equal(defaultGateway(ns), mode === 'nat' ? '10.71.3.2' : '10.71.3.1');
      }

      // The files the director would start from.
      const dir = `/run/uvs-lab/${name}`;
      const rules = fs.readFileSync(`${dir}/rules`, 'utf8');
      const flag = { dr: '-g', nat: '-m', tun: '-i', fullnat: '--fullnat' }[mode];
      assert.ok(rules.includes(`-a -t 10.71.100.1:80 -r 10.71.3.11:${rsPort} ${flag} -w 1`), rules);
      assert.equal(rules.includes('-P -u 10.71.100.1:9000 -z 10.71.3.101'), mode === 'fullnat');
      const director = loadDirector(fs.readFileSync(`${dir}/director`, 'utf8'), 'director');
      const mac = (dev: string): string => Array.from(director.links.find((l) => l.name === dev)?.mac ?? [], (b) => b.toString(16).padStart(2, '0')).join(':');
      assert.equal(mac('eth0'), linkMac(s.namespaces.director, 'eth0'));
      assert.equal(mac('eth1'), linkMac(s.namespaces.director, 'eth1'));
      assert.deepEqual(director.neighs, []);

      const human = uvsLab('status', '--name', name);
      assert.equal(human.status, 0);
      assert.match(human.stdout, new RegExp(`mode ${mode}, scheduler rr, ${rsCount} real servers`));
      assert.match(human.stdout, /director: not started/);

      const down = uvsLab('down', '--name', name);
      assert.equal(down.status, 0, down.stderr);
      assert.match(down.stdout, new RegExp(`lab ${name} is down: ${s.processes.length} processes stopped, ${4 + rsCount} namespaces deleted`));
      assertGone(name, s.processes.map((p) => p.pid));
    });
  }

  it('with the director: it runs in the director namespace on DIR/uvs.sock, status shows its table, down stops it', () => {
    const name = labName('dir');
    up(name, '--mode', 'nat', '--scheduler', 'wrr');
    const s = statusJson(name);
    assert.ok(s.director.pid !== null);
    assert.equal(s.director.alive, true);
    const recorded = s.processes.find((p) => p.role === 'director');
    assert.equal(recorded?.namespace, s.namespaces.director);
    assert.ok(fs.statSync(s.socket).isSocket());
    const human = uvsLab('status', '--name', name);
    assert.equal(human.status, 0, human.stderr);
    assert.match(human.stdout, new RegExp(`director table \\(UVS_SOCKET=${s.socket} uvsadm -L -n\\):`));
    assert.match(human.stdout, /TCP {2}10\.71\.100\.1:80 wrr\n {2}-> 10\.71\.3\.11:8080 +Masq +1 .*\n {2}-> 10\.71\.3\.12:8080 +Masq +1 /);
    assert.match(human.stdout, /UDP {2}10\.71\.100\.1:9000 wrr/);
    assert.equal(uvsLab('down', '--name', name).status, 0);
    assertGone(name, s.processes.map((p) => p.pid));
  });

  it('tun: without `uvs realserver` the lab refuses clearly and leaves nothing', function () {
    if (tunAvailable) this.skip();
    const name = labName('tunx');
    const r = uvsLab('up', '--name', name, '--mode', 'tun', '--no-director');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--mode tun needs 'uvs realserver --decap ipip'/);
    assertGone(name, []);
  });

  it('refuses a second lab of the same name, and the first one keeps running', () => {
    const name = labName('twice');
    up(name, '--mode', 'dr', '--rs', '1', '--no-director');
    const again = uvsLab('up', '--name', name, '--mode', 'nat', '--no-director');
    assert.equal(again.status, 1);
    assert.equal(again.stderr, `uvs lab up: a lab named '${name}' already exists (run 'uvs lab down --name ${name}' first)\n`);
    const s = statusJson(name);
    assert.equal(s.mode, 'dr');
    assert.equal(httpFrom(s.clientNamespace, 'http://10.71.3.11/').body, 'rs1\n');
    assert.equal(uvsLab('down', '--name', name).status, 0);
    assertGone(name, s.processes.map((p) => p.pid));
  });

  it('down cleans up after a crash: processes killed, lab.json gone, namespaces left behind', () => {
    const name = labName('crash');
    up(name, '--mode', 'fullnat', '--no-director');
    const s = statusJson(name);
    // A crashed director host: one process dies, lab.json is lost, the rest still runs.
    process.kill(s.processes[0].pid, 'SIGKILL');
    fs.rmSync(`/run/uvs-lab/${name}/lab.json`);
    const status = uvsLab('status', '--name', name);
    assert.equal(status.status, 1);
    assert.match(status.stderr, new RegExp(`run 'uvs lab down --name ${name}'`));
    const down = uvsLab('down', '--name', name);
    assert.equal(down.status, 0, down.stderr);
    assert.match(down.stdout, new RegExp(`lab ${name} is down: ${s.processes.length - 1} processes stopped, 6 namespaces deleted`));
    assertGone(name, s.processes.map((p) => p.pid));
  });

  it('down with nothing there says so and succeeds; status says there is no lab', () => {
    const name = labName('none');
    const down = uvsLab('down', '--name', name);
    assert.equal(down.status, 0);
    assert.equal(down.stdout, `no lab named '${name}': nothing to remove\n`);
    const status = uvsLab('status', '--name', name);
    assert.equal(status.status, 1);
    assert.match(status.stderr, new RegExp(`^uvs lab status: no lab named '${name}'`));
  });

  const bad: [string, string[], RegExp][] = [
    ['an unknown mode', ['up', '--mode', 'bogus'], /--mode 'bogus': expected dr, nat, tun or fullnat/],
    ['no mode', ['up'], /missing --mode/],
    ['0 real servers', ['up', '--mode', 'dr', '--rs', '0'], /--rs '0': expected a number of real servers from 1 to 8/],
    ['9 real servers', ['up', '--mode', 'dr', '--rs', '9'], /--rs '9'/],
    ['an unknown option', ['up', '--mode', 'dr', '--colour'], /unknown option --colour/],
    ['an unknown scheduler', ['up', '--mode', 'dr', '--scheduler', 'best'], /--scheduler 'best': unknown \(known: .*wlc/],
    ['a bad lab name', ['down', '--name', 'a-b'], /--name 'a-b'/],
    ['--json on down', ['down', '--json'], /unknown option --json/],
    ['an unknown subcommand', ['restart'], /unknown subcommand 'restart'/],
  ];
  for (const [what, args, message] of bad) {
    it(`refuses ${what} with one line and exit 2`, () => {
      const r = uvsLab(...args);
      assert.equal(r.status, 2);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr.split('\n').length, 2, `one line: ${JSON.stringify(r.stderr)}`);
      assert.match(r.stderr, message);
    });
  }
});
