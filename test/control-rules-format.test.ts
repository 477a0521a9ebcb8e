import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { RulesConfig, ServiceConfig } from '../src/control/config';
import { compareServices, glibcMergeSort, ipvsadmServiceOrder, kernelServiceOrder } from '../src/control/ipvsadm-sort';
import { loadRules } from '../src/control/rules-file';
import { formatRules } from '../src/control/rules-format';

const FIXTURES = path.resolve(__dirname, '../../test/fixtures/control');
const fixture = (name: string): string => readFileSync(path.join(FIXTURES, name), 'utf8');
const load = (text: string): RulesConfig => loadRules(text, 'test.rules');

/** A configuration as comparable data: addresses as text, services in a fixed order. */
function canonical(c: RulesConfig, ignoreListOrder: boolean): unknown {
  const svc = (s: ServiceConfig): unknown => ({
    ...s,
    key: s.key.kind === 'fwmark' ? s.key : { ...s.key, addr: s.key.addr.text },
    laddrs: s.laddrs.map((a) => a.text),
    dests: (ignoreListOrder ? [...s.dests].sort((a, b) => `${a.addr.text}:${a.port}`.localeCompare(`${b.addr.text}:${b.port}`)) : s.dests).map(
      (d) => ({ ...d, addr: d.addr.text }),
    ),
  });
  const services = c.services.map(svc);
  if (ignoreListOrder) services.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  return { services, timeouts: c.timeouts };
}

/** What ipvsadm -S cannot save: thresholds, -M of non-persistent services, timeouts. */
function withoutUnsaved(c: RulesConfig): RulesConfig {
  return {
    services: c.services.map((s) => ({
      ...s,
      netmask: s.persistent ? s.netmask : s.key.kind === 'fwmark' ? (s.key.af === 6 ? 128 : 0xffffffff) : s.key.addr.af === 6 ? 128 : 0xffffffff,
      dests: s.dests.map((d) => ({ ...d, uThreshold: 0, lThreshold: 0 })),
    })),
    timeouts: { tcp: 0, tcpFin: 0, udp: 0 },
  };
}

const scenarios = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.rules'))
  .map((f) => f.slice(0, -'.rules'.length));

describe('control/rules-format', () => {
  it('prints the worked example of ipvs-facts.md 6.6 exactly as its ipvsadm -S -n block', () => {
    const facts = [
      '-A -t 192.168.100.10:80 -s wlc',
      '-a -t 192.168.100.10:80 -r 10.0.0.11:80 -g -w 1',
      '-a -t 192.168.100.10:80 -r 10.0.0.12:80 -g -w 3',
      '-A -t 192.168.100.10:443 -s rr -p 600 -M 255.255.255.0',
      '-a -t 192.168.100.10:443 -r 10.0.0.21:8443 -m -w 2',
      '',
    ].join('\n');
    assert.equal(formatRules(load(fixture('worked-example.rules'))), facts);
  });

  describe('matches the real ipvsadm -S -n (outputs recorded with shared/ipvsadm-oracle)', () => {
    assert.ok(scenarios.length >= 6);
    for (const name of scenarios) {
      it(name, () => {
        assert.equal(formatRules(load(fixture(`${name}.rules`))), fixture(`${name}.save`));
      });
    }
  });

  describe('round trip', () => {
    for (const name of scenarios.filter((n) => n !== 'sort-quirks')) {
      it(`${name}: load -> format -> load gives the same model (ipvsadm -S keeps all it saves)`, () => {
        const first = load(fixture(`${name}.rules`));
        const text = formatRules(first);
        const second = load(text);
        assert.deepEqual(canonical(second, true), canonical(withoutUnsaved(first), true));
        assert.equal(formatRules(second), text, 'formatting is a fixpoint');
      });
    }
    for (const name of scenarios) {
      it(`${name}: lossless format -> load gives an identical model, list order included`, () => {
        const first = load(fixture(`${name}.rules`));
        const second = load(formatRules(first, { lossless: true }));
        assert.deepEqual(canonical(second, false), canonical(first, false));
      });
    }
    it('like ipvsadm 1.31, prints marks of 2^31 and more as negative numbers it cannot read back; lossless does not', () => {
      const c = load('-A -f 4294967295 -s rr\n-A -f 2147483648 -6 -s rr');
      assert.equal(formatRules(c), '-A -f -2147483648 -6 -s rr\n-A -f -1 -s rr\n');
      assert.throws(() => load(formatRules(c)), /invalid fwmark value `-2147483648' specified/);
      assert.equal(formatRules(c, { lossless: true }), '-A -f 4294967295 -s rr\n-A -f 2147483648 -6 -s rr\n');
    });
    it('keeps FULLNAT real servers and local addresses', () => {
      const text = [
        '-A -t 10.0.0.1:80 -s rr',
        '-a -t 10.0.0.1:80 -r 10.1.0.2:8080 --fullnat -w 2',
        '-a -t 10.0.0.1:80 -r 10.1.0.1:8080 -m',
        '-P -t 10.0.0.1:80 -z 192.168.0.101',
        '-P -t 10.0.0.1:80 -z 192.168.0.100',
        '-A -u [2001:db8::1]:53 -s wlc',
        '-a -u [2001:db8::1]:53 -r [2001:db8::9]:53 --fullnat -w 1',
        '-P -u [2001:db8::1]:53 -z 2001:db8::100',
        '',
      ].join('\n');
      assert.equal(
        formatRules(load(text)),
        [
          '-A -t 10.0.0.1:80 -s rr',
          '-a -t 10.0.0.1:80 -r 10.1.0.1:8080 -m -w 1',
          '-a -t 10.0.0.1:80 -r 10.1.0.2:8080 --fullnat -w 2',
          '-P -t 10.0.0.1:80 -z 192.168.0.101',
          '-P -t 10.0.0.1:80 -z 192.168.0.100',
          '-A -u [2001:db8::1]:53 -s wlc',
          '-a -u [2001:db8::1]:53 -r [2001:db8::9]:53 --fullnat -w 1',
          '-P -u [2001:db8::1]:53 -z 2001:db8::100',
          '',
        ].join('\n'),
      );
    });
    it('lossless output adds thresholds, non-persistent masks and timeouts', () => {
      const c = load('-A -t 10.0.0.1:80 -M 255.255.0.0\n-a -t 10.0.0.1:80 -r 10.1.0.1 -m -x 10 -y 5\n--set 900 0 60');
      assert.equal(
        formatRules(c, { lossless: true }),
        '-A -t 10.0.0.1:80 -s wlc -M 255.255.0.0\n-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m -w 1 -x 10 -y 5\n--set 900 0 60\n',
      );
      assert.equal(formatRules(c), '-A -t 10.0.0.1:80 -s wlc\n-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m -w 1\n');
    });
  });

  describe('ipvsadm sort order', () => {
    it('sorts with the signed 32-bit difference: 10.x after 192.x and 172.16.x, before 127.x', () => {
      const c = load(['-A -t 127.0.0.2:80', '-A -t 10.0.0.2:80', '-A -t 192.168.0.1:80', '-A -t 10.0.0.1:80', '-A -t 172.16.0.1:80'].join('\n'));
      const text = formatRules(c);
      assert.deepEqual(
        text.split('\n').filter((l) => l !== '').map((l) => l.split(' ')[2]),
        ['172.16.0.1:80', '192.168.0.1:80', '10.0.0.1:80', '10.0.0.2:80', '127.0.0.2:80'],
      );
    });
    it('orders non-fwmark before fwmark, IPv4 before IPv6, TCP < UDP < SCTP, and prints big marks signed', () => {
      const c = load(['-A -f 2', '-A --sctp-service 1.1.1.1:1', '-A -u 1.1.1.1:1', '-A -t [::1]:1', '-A -t 1.1.1.1:1', '-A -f 4294967295 -6'].join('\n'));
      assert.deepEqual(
        formatRules(c).split('\n').filter((l) => l !== ''),
        [
          '-A -f -1 -6 -s wlc',
          '-A -t 1.1.1.1:1 -s wlc',
          '-A -u 1.1.1.1:1 -s wlc',
          '-A --sctp-service 1.1.1.1:1 -s wlc',
          '-A -t [::1]:1 -s wlc',
          '-A -f 2 -s wlc',
        ],
      );
    });
    it('feeds the sort with the kernel hash order (buckets, newest first inside one)', () => {
      // TCP 10.0.0.1:80 and TCP 10.0.0.1:337 share bucket 87: (6 ^ 0x0a000001 ^ (80 >> 8) ^ 80) & 255 = (6 ^ 1 ^ (337 >> 8) ^ 337) & 255
      const c = load(['-A -t 10.0.0.1:80', '-A -t 10.0.0.1:337', '-A -f 1'].join('\n'));
      const order = kernelServiceOrder(c.services).map((s) => (s.key.kind === 'addr' ? s.key.port : -1));
      assert.deepEqual(order, [337, 80, -1]);
      assert.deepEqual(ipvsadmServiceOrder(c.services).map((s) => (s.key.kind === 'addr' ? s.key.port : -1)), [80, 337, -1]);
      assert.ok(compareServices(c.services[0], c.services[1]) < 0);
    });
    it('is glibc merge sort: stable, split at n/2, left wins ties', () => {
      const items = [5, 1, 4, 1, 5, 9, 2, 6, 5, 3].map((v, i) => ({ v, i }));
      const sorted = glibcMergeSort(items, (a, b) => a.v - b.v);
      assert.deepEqual(sorted.map((x) => x.v), [1, 1, 2, 3, 4, 5, 5, 5, 6, 9]);
      assert.deepEqual(sorted.filter((x) => x.v === 5).map((x) => x.i), [0, 4, 8]);
      // a comparator that is not transitive gives the merge sort's own answer
      const rps = ['rock', 'paper', 'scissors'];
      const beats = (a: string, b: string): number => (a === b ? 0 : rps.indexOf(b) === (rps.indexOf(a) + 1) % 3 ? 1 : -1);
      assert.deepEqual(glibcMergeSort(['rock', 'paper', 'scissors'], beats), ['rock', 'scissors', 'paper']);
    });
  });
});
