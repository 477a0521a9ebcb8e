/**
 * The lab's rules and director files, read back by the loaders `uvs director` uses: the right
 * forwarding method, port mapping and local addresses per mode, and links without neighbours.
 */
import assert from 'node:assert/strict';
import { ForwardMethod } from '../src/control/config';
import { loadDirector } from '../src/control/director-file';
import { loadRules } from '../src/control/rules-file';
import { directorText, rulesText } from '../src/lab/lab-config-files';
import { LAB_MODES, labSpec, type LabMode } from '../src/lab/lab-plan';
import { schedulerNames } from '../src/sched/registry';

const METHOD: Record<LabMode, ForwardMethod> = {
  dr: ForwardMethod.Route,
  nat: ForwardMethod.Masq,
  tun: ForwardMethod.Tunnel,
  fullnat: ForwardMethod.FullNat,
};

const MACS = { eth0: '02:71:00:00:00:01', eth1: '02:71:00:00:00:02' };

describe('lab config files', () => {
  for (const mode of LAB_MODES) {
    it(`${mode}: the rules load and give each service every real server with ${mode}'s method`, () => {
      const spec = labSpec('t', mode, 3, 'rr');
      const rules = loadRules(rulesText(spec), 'rules', { schedulers: schedulerNames() });
      const services = rules.services.map((s) => {
        assert.equal(s.scheduler, 'rr');
        assert.ok(s.key.kind !== 'fwmark');
        return s;
      });
      const described = services.map((s) => (s.key.kind === 'fwmark' ? '' : `${s.key.protocol} ${s.key.addr.text}:${s.key.port}`)).sort();
      assert.deepEqual(described, ['tcp 10.71.100.1:5201', 'tcp 10.71.100.1:80', 'udp 10.71.100.1:9000']);
      const mapped = mode === 'nat' || mode === 'fullnat';
      for (const s of services) {
        if (s.key.kind === 'fwmark') continue;
        const want = s.key.port === 80 && mapped ? 8080 : s.key.port;
        const dests = s.dests.map((d) => `${d.addr.text}:${d.port}`).sort();
        assert.deepEqual(dests, [`10.71.3.11:${want}`, `10.71.3.12:${want}`, `10.71.3.13:${want}`]);
        for (const d of s.dests) {
          assert.equal(d.method, METHOD[mode]);
          assert.equal(d.weight, 1);
        }
        assert.deepEqual(s.laddrs.map((a) => a.text), mode === 'fullnat' ? ['10.71.3.100', '10.71.3.101'] : []);
      }
    });

    it(`${mode}: the director file has both links with their MACs, addresses, the default route and no neighbours`, () => {
      const d = loadDirector(directorText(labSpec('t', mode, 2, 'wlc'), { eth0: { mac: MACS.eth0, mtu: 1500 }, eth1: { mac: MACS.eth1, mtu: 1600 } }), 'director');
      assert.deepEqual(d.links.map((l) => [l.mtuGiven, l.mtu]), [[true, 1500], [true, 1600]]);
      assert.deepEqual(d.links.map((l) => [l.name, Array.from(l.mac, (b) => b.toString(16).padStart(2, '0')).join(':')]), [
        ['eth0', MACS.eth0],
        ['eth1', MACS.eth1],
      ]);
      const laddrs = mode === 'fullnat' ? ['10.71.3.100/24 eth1', '10.71.3.101/24 eth1'] : [];
      assert.deepEqual(d.addrs.map((a) => `${a.addr.text}/${a.prefixLen} ${a.dev}`), ['10.71.2.2/24 eth0', '10.71.3.2/24 eth1', ...laddrs]);
      assert.deepEqual(d.neighs, []);
      assert.deepEqual(d.routes.map((r) => `${r.prefix.text}/${r.prefixLen} ${r.via?.text ?? '-'} ${r.dev}`), ['0.0.0.0/0 10.71.2.1 eth0']);
    });
  }

  it('names namespaces and addresses by the plan', () => {
    const spec = labSpec('uvs', 'dr', 8, 'wlc');
    assert.equal(spec.prefix, 'uvslab-uvs-');
    assert.equal(spec.dir, '/run/uvs-lab/uvs');
    assert.deepEqual(spec.namespaces.realServers, [1, 2, 3, 4, 5, 6, 7, 8].map((i) => `uvslab-uvs-rs${i}`));
    assert.deepEqual(spec.realServers.map((r) => r.address), [1, 2, 3, 4, 5, 6, 7, 8].map((i) => `10.71.3.${10 + i}`));
    assert.equal(spec.namespaces.switch, 'uvslab-uvs-switch');
  });
});
