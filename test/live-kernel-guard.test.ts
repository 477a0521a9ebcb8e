/**
 * The kernel guard on a real kernel: nftables takes the script (IPv4, IPv6, sets, port ranges),
 * and while it is installed the kernel of the guarded namespace no longer answers a balanced
 * service (a TCP connect times out instead of being accepted); removed, it answers again.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { loadDirector } from '../src/control/director-file';
import { loadRules } from '../src/control/rules-file';
import { KernelGuard, type NftRunner } from '../src/live/kernel-guard';
import { addNamespace, addVeth, deleteNamespaces, nsIp, nsRun, nsSpawn, run, uniquePrefix } from '../src/lab/netns';
import { schedulerNames } from '../src/sched/registry';
import type { ChildProcess } from 'node:child_process';

/** Tries a TCP connection from ns to addr:port within `ms`; 'connected', 'refused' or 'timeout'. */
function tryConnect(ns: string, addr: string, port: number, ms: number): string {
  const script = `const s=require('net').connect(${port},'${addr}');const t=setTimeout(()=>{console.log('timeout');process.exit(0)},${ms});` +
    `s.on('connect',()=>{console.log('connected');process.exit(0)});s.on('error',e=>{console.log(e.code==='ECONNREFUSED'?'refused':e.code);process.exit(0)});`;
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { encoding: 'utf8', timeout: ms + 5000 });
  return r.stdout.trim();
}

describe('live: kernel guard on a real kernel', function () {
  this.timeout(30_000);
  const prefix = uniquePrefix('kg');
  const client = `${prefix}c`;
  const server = `${prefix}s`;
  let listener: ChildProcess | null = null;

  before(() => {
    addNamespace(client);
    addNamespace(server);
    addVeth(client, 'eth0', server, 'eth0');
    nsIp(client, 'addr', 'add', '10.99.0.1/24', 'dev', 'eth0');
    nsIp(server, 'addr', 'add', '10.99.0.2/24', 'dev', 'eth0');
    listener = nsSpawn(server, process.execPath, ['-e', "require('net').createServer(s=>s.end()).listen(8080,'10.99.0.2',()=>console.log('up'))"]);
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && !/8080/.test(nsRun(server, 'ss', '-ltn'))) run('sleep', ['0.05']);
  });

  after(() => {
    listener?.kill('SIGKILL');
    deleteNamespaces(prefix);
  });

  const nftIn = (ns: string): NftRunner => (script) => {
    const r = spawnSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: script, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
  };

  it('drops a balanced service for the kernel while installed, and only while installed', () => {
    assert.equal(tryConnect(client, '10.99.0.2', 8080, 2000), 'connected');
    const rules = loadRules('-A -t 10.99.0.2:8080 -s rr\n-a -t 10.99.0.2:8080 -r 10.99.0.3:8080 -g\n', 'rules', { schedulers: schedulerNames() });
    const guard = new KernelGuard(['eth0'], nftIn(server));
    guard.apply(rules, loadDirector('link eth0\n', 'director'));
    try {
      assert.match(nsRun(server, 'nft', 'list', 'table', 'netdev', 'uvs_guard'), /ip daddr 10\.99\.0\.2 tcp dport 8080 counter packets \d+ bytes \d+ drop/);
      assert.equal(tryConnect(client, '10.99.0.2', 8080, 1000), 'timeout');
      // Another port is not balanced: the kernel still answers it (here: refused, nothing listens).
      assert.equal(tryConnect(client, '10.99.0.2', 8081, 2000), 'refused');
    } finally {
      guard.remove();
    }
    assert.equal(tryConnect(client, '10.99.0.2', 8080, 2000), 'connected');
    assert.throws(() => nsRun(server, 'nft', 'list', 'table', 'netdev', 'uvs_guard'));
  });

  it('nftables takes every kind of rule the guard writes, and a change replaces the table in one go', () => {
    const rules = loadRules([
      '-A -t 10.99.0.2:80 -s rr', '-a -t 10.99.0.2:80 -r 10.99.0.11:8080 -m',
      '-A -t [2001:db8::10]:443 -s rr', '-a -t [2001:db8::10]:443 -r [2001:db8:1::11]:443 --fullnat',
      '-P -t [2001:db8::10]:443 -z 2001:db8:1::100',
      '-A -u 10.99.0.20:0 -s rr -p 60', '-a -u 10.99.0.20:0 -r 10.99.0.13:0 -g',
    ].join('\n') + '\n', 'rules', { schedulers: schedulerNames() });
    const director = loadDirector('link eth0\nmark 7 proto tcp dst 10.99.5.0/24 dport 8000-8010\nmark 8 src 10.99.6.1\nmark 9 proto udp sport 53\n', 'director');
    const guard = new KernelGuard(['eth0'], nftIn(server));
    try {
      guard.apply(rules, director);
      const listed = nsRun(server, 'nft', 'list', 'table', 'netdev', 'uvs_guard');
      for (const want of ['ip saddr 10.99.0.11 tcp sport 8080', 'ip6 daddr 2001:db8::10 tcp dport 443', 'ip6 daddr 2001:db8:1::100 meta l4proto { tcp, udp, sctp }',
        'ip daddr 10.99.0.20 meta l4proto udp', 'ip daddr 10.99.5.0/24 tcp dport 8000-8010', 'ip saddr 10.99.6.1', 'udp sport 53']) {
        assert.ok(listed.includes(want), `missing "${want}" in:\n${listed}`);
      }
      guard.apply(loadRules('', 'rules', { schedulers: schedulerNames() }), loadDirector('link eth0\n', 'director'));
      assert.doesNotMatch(nsRun(server, 'nft', 'list', 'table', 'netdev', 'uvs_guard'), /drop/);
    } finally {
      guard.remove();
    }
  });
});
