import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, ForwardMethod, SCHED_FLAG_1, type RulesConfig, type ServiceConfig } from '../src/control/config';
import { formatRules } from '../src/control/rules-format';
import { loadRules, loadRulesFile } from '../src/control/rules-file';
import { KERNEL_MESSAGES } from '../src/control/ipvsadm-error';

const load = (...lines: string[]): RulesConfig => loadRules(lines.join('\n'), 'test.rules');

/** The ConfigError of loading these lines, as [line, reason]. */
function errorOf(...lines: string[]): [number, string] {
  try {
    load(...lines);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `not a ConfigError: ${String(e)}`);
    assert.equal(e.file, 'test.rules');
    assert.equal(e.message, `test.rules:${e.line}: ${e.reason}`);
    return [e.line, e.reason];
  }
  assert.fail('no error');
}

const destTexts = (s: ServiceConfig): string[] => s.dests.map((d) => `${d.addr.text}:${d.port}`);

describe('control/rules-file', () => {
  it('loads ipvsadm -S lines and ipvsadm commands, skipping blanks and # comments', () => {
    const c = load(
      '# web',
      'ipvsadm -A -t 192.168.100.10:80 -s wlc',
      '',
      '   ',
      '\t# indented comment',
      '-a -t 192.168.100.10:80 -r 10.0.0.11:80 -g -w 1\r',
      '  -a\t-t 192.168.100.10:80   -r 10.0.0.12 -m -w 3 -x 1000 -y 800',
    );
    assert.equal(c.services.length, 1);
    const s = c.services[0];
    assert.equal(s.scheduler, 'wlc');
    assert.deepEqual(destTexts(s), ['10.0.0.12:80', '10.0.0.11:80']);
    assert.equal(s.dests[0].uThreshold, 1000);
    assert.equal(s.dests[0].lThreshold, 800);
    assert.equal(s.dests[0].method, ForwardMethod.Masq);
  });

  it('puts a new real server at the head of the list (newest first); -e keeps its place', () => {
    const c = load(
      '-A -t 10.0.0.1:80 -s rr',
      '-a -t 10.0.0.1:80 -r 10.1.0.1 -m',
      '-a -t 10.0.0.1:80 -r 10.1.0.2 -m',
      '-a -t 10.0.0.1:80 -r 10.1.0.3 -m',
      '-e -t 10.0.0.1:80 -r 10.1.0.2 -m -w 5',
      '-d -t 10.0.0.1:80 -r 10.1.0.1',
      '-a -t 10.0.0.1:80 -r 10.1.0.1 -m',
    );
    const s = c.services[0];
    assert.deepEqual(destTexts(s), ['10.1.0.1:80', '10.1.0.3:80', '10.1.0.2:80']);
    assert.equal(s.dests[2].weight, 5);
  });

  it('keeps services in creation order and applies -D and -C', () => {
    const c = load(
      '-A -t 10.0.0.3:80',
      '-A -t 10.0.0.1:80',
      '-A -u 10.0.0.2:53',
      '-D -t 10.0.0.3:80',
      '-A -t 10.0.0.3:80 -s rr',
    );
    assert.deepEqual(
      c.services.map((s) => (s.key.kind === 'addr' ? `${s.key.protocol} ${s.key.addr.text}:${s.key.port} ${s.scheduler}` : '')),
      ['tcp 10.0.0.1:80 wlc', 'udp 10.0.0.2:53 wlc', 'tcp 10.0.0.3:80 rr'],
    );
    assert.equal(load('-A -t 10.0.0.1:80', '-a -t 10.0.0.1:80 -r 1.1.1.1', '-C').services.length, 0);
  });

  it('-E replaces the whole definition: persistence, flags, scheduler and pe revert to defaults', () => {
    const c = load(
      '-A -t 10.0.0.1:80 -s sh -b sh-fallback -p 600 -M 255.255.255.0 --pe sip',
      '-a -t 10.0.0.1:80 -r 10.1.0.1',
      '-E -t 10.0.0.1:80',
    );
    const s = c.services[0];
    assert.deepEqual(
      { scheduler: s.scheduler, schedFlags: s.schedFlags, persistent: s.persistent, timeout: s.timeout, netmask: s.netmask, pe: s.pe },
      { scheduler: 'wlc', schedFlags: 0, persistent: false, timeout: 0, netmask: 0xffffffff, pe: null },
    );
    assert.equal(s.dests.length, 1, '-E keeps the real servers');
    const again = load('-A -t 10.0.0.1:80', '-E -t 10.0.0.1:80 -s sh -b sh-fallback -p');
    assert.equal(again.services[0].schedFlags, SCHED_FLAG_1);
    assert.equal(again.services[0].timeout, 360);
  });

  it('loads port-0, fwmark, IPv6, SCTP services, tunnels and thresholds', () => {
    const c = load(
      '-A -t 10.0.0.4:0 -s sh -p 3600',
      '-A -f 7 -s mh -b mh-fallback,mh-port',
      '-a -f 7 -r 192.168.2.1 -g -w 0',
      '-A -f 8 -6 -s lc -p -M 48',
      '-a -f 8 -6 -r 2001:db8::20 -g',
      '-A -t [2001:db8::1]:443 -s wrr',
      '-a -t [2001:db8::1]:443 -r 192.168.3.3 -i --tun-type gue --tun-port 6080 --tun-csum',
      '-a -t [2001:db8::1]:443 -r [2001:db8::10]:8443 -m -w 2 -x 10 -y 5',
      '-A --sctp-service 10.0.0.3:3868',
    );
    assert.equal(c.services.length, 5);
    const [port0, fw7, fw8, v6, sctp] = c.services;
    assert.equal(port0.key.kind === 'addr' && port0.key.port, 0);
    assert.deepEqual(fw7.key, { kind: 'fwmark', fwmark: 7, af: 4 });
    assert.equal(fw7.dests[0].port, 0);
    assert.equal(fw7.dests[0].weight, 0);
    assert.deepEqual(fw8.key, { kind: 'fwmark', fwmark: 8, af: 6 });
    assert.equal(fw8.netmask, 48);
    assert.deepEqual(destTexts(v6), ['2001:db8::10:8443', '192.168.3.3:443']);
    assert.deepEqual(
      { type: v6.dests[1].tunType, port: v6.dests[1].tunPort, csum: v6.dests[1].tunChecksum },
      { type: 'gue', port: 6080, csum: 'csum' },
    );
    assert.equal(v6.dests[0].uThreshold, 10);
    assert.equal(sctp.key.kind === 'addr' && sctp.key.protocol, 'sctp');
  });

  it('fills timeouts from --set (0 keeps the value)', () => {
    assert.deepEqual(load('--set 1000 0 200', '--set 0 30 0').timeouts, { tcp: 1000, tcpFin: 30, udp: 200 });
    assert.deepEqual(load('-A -t 10.0.0.1:80').timeouts, { tcp: 0, tcpFin: 0, udp: 0 });
  });

  describe('errors name the line and give the ipvsadm/kernel message', () => {
    it('reports kernel refusals', () => {
      assert.deepEqual(errorOf('-A -t 10.0.0.1:80', '', '-A -t 10.0.0.1:80 -s rr'), [3, KERNEL_MESSAGES.serviceExists]);
      assert.deepEqual(errorOf('-a -t 10.0.0.1:80 -r 1.1.1.1'), [1, 'Service not defined']);
      assert.deepEqual(errorOf('-A -t 10.0.0.1:80', '-a -t 10.0.0.1:80 -r 1.1.1.1', '-a -t 10.0.0.1:80 -r 1.1.1.1 -w 5'), [3, 'Destination already exists']);
      assert.deepEqual(errorOf('-A -t 10.0.0.1:80', '-e -t 10.0.0.1:80 -r 1.1.1.1'), [2, 'No such destination']);
      assert.deepEqual(errorOf('-A -t 10.0.0.1:80', '-d -t 10.0.0.1:80 -r 1.1.1.1'), [2, 'No such destination']);
      assert.deepEqual(errorOf('-A -t 10.0.0.1:80', '-a -t 10.0.0.1:80 -r 1.1.1.1 -x 10 -y 20'), [2, 'Numerical result out of range']);
      assert.deepEqual(errorOf('-A -t 10.0.0.1:80', '-a -t 10.0.0.1:80 -r 1.1.1.1 -y 1'), [2, 'Numerical result out of range']);
      assert.deepEqual(errorOf('-E -t 10.0.0.1:80'), [1, 'No such service']);
      assert.deepEqual(errorOf('-D -t 10.0.0.1:80'), [1, 'No such service']);
      assert.deepEqual(errorOf('-A -t 10.0.0.1:80 -s bogus'), [1, "Scheduler or persistence engine not found: 'bogus'"]);
      assert.deepEqual(errorOf('-A -t 10.0.0.1:80 -p --pe nope'), [1, 'Scheduler or persistence engine not found']);
      assert.deepEqual(errorOf('-A -t 10.0.0.1:80', '-a -t 10.0.0.1:80 -r 224.0.0.5 -m'), [
        2, 'Invalid operation.  Possibly wrong module version, address not unicast, ...',
      ]);
      assert.deepEqual(errorOf('-A -t [2001:db8::1]:80', '-a -t [2001:db8::1]:80 -r fe80::1 -m'), [
        2, 'Invalid operation.  Possibly wrong module version, address not unicast, ...',
      ]);
    });
    it('reports parse errors with the ipvsadm text (without its trailing newline)', () => {
      assert.deepEqual(errorOf('-A -t 10.0.0.1:80', '-a -t 10.0.0.1:80 -r 1.1.1.1 -w 70000'), [2, 'illegal weight specified']);
      assert.deepEqual(errorOf('-A -6 -f 1'), [1, '-6 used before -f']);
      assert.deepEqual(errorOf('-A -t 10.0.0.1:80 # trailing comments are not comments'), [1, 'unexpected argument #']);
      assert.deepEqual(errorOf('ipvsadm', '-t 10.0.0.1:80 -A'), [2, "Try `ipvsadm -h' or 'ipvsadm --help' for more information."]);
    });
    it('refuses commands that make no sense in a file', () => {
      const cases: [string, string][] = [
        ['-L -n', '-L (list)'],
        ['-S -n', '-S (save)'],
        ['-Z', '-Z (zero)'],
        ['-R', '-R (restore)'],
        ['--start-daemon master', '--start-daemon'],
        ['--stop-daemon backup', '--stop-daemon'],
        ['-h', '-h (help)'],
        ['-v', '-v (version)'],
      ];
      for (const [line, what] of cases) {
        assert.deepEqual(errorOf('-A -t 10.0.0.1:80', line), [2, `${what} cannot be used in a rules file`], line);
      }
    });
  });

  describe('FULLNAT', () => {
    it('adds local addresses to a service in order, and deletes them', () => {
      const c = load(
        '-A -t 10.0.0.1:80 -s rr',
        '-a -t 10.0.0.1:80 -r 10.1.0.1:8080 --fullnat',
        '-P -t 10.0.0.1:80 -z 192.168.0.101',
        '-P -t 10.0.0.1:80 -z 192.168.0.100',
        '-P -t 10.0.0.1:80 -z 192.168.0.102',
        '-Q -t 10.0.0.1:80 -z 192.168.0.101',
      );
      const s = c.services[0];
      assert.deepEqual(s.laddrs.map((a) => a.text), ['192.168.0.100', '192.168.0.102']);
      assert.equal(s.dests[0].method, ForwardMethod.FullNat);
      assert.equal(s.dests[0].port, 8080);
    });
    it('refuses a missing service, a duplicate, another family, a missing address', () => {
      assert.deepEqual(errorOf('-P -t 10.0.0.1:80 -z 1.2.3.4'), [1, 'Service not defined']);
      assert.deepEqual(errorOf('-A -t 10.0.0.1:80', '-P -t 10.0.0.1:80 -z 1.2.3.4', '-P -t 10.0.0.1:80 -z 1.2.3.4'), [3, KERNEL_MESSAGES.laddrExists]);
      assert.deepEqual(errorOf('-A -t 10.0.0.1:80', '-P -t 10.0.0.1:80 -z 2001:db8::1'), [2, KERNEL_MESSAGES.laddrFamily]);
      assert.deepEqual(errorOf('-A -t 10.0.0.1:80', '-Q -t 10.0.0.1:80 -z 1.2.3.4'), [2, KERNEL_MESSAGES.noSuchLaddr]);
    });
    it('requires a local address by the end of the file, naming the first --fullnat line', () => {
      assert.deepEqual(
        errorOf(
          '-A -t 10.0.0.1:80 -s rr',
          '-a -t 10.0.0.1:80 -r 10.1.0.1 -m',
          '-a -t 10.0.0.1:80 -r 10.1.0.2 --fullnat',
          '-a -t 10.0.0.1:80 -r 10.1.0.3 --fullnat',
          '-A -u [2001:db8::1]:53',
          '-a -u [2001:db8::1]:53 -r 2001:db8::9 --fullnat',
        ),
        [3, 'FULLNAT service TCP 10.0.0.1:80 has no local address (-P -t 10.0.0.1:80 -z LADDR)'],
      );
      assert.deepEqual(
        errorOf('-A -u [2001:db8::1]:53', '-A -f 9 -6', '-a -f 9 -6 -r 2001:db8::9 --fullnat', '-a -u [2001:db8::1]:53 -r 2001:db8::9 --fullnat'),
        [3, 'FULLNAT service FWM 9 IPv6 has no local address (-P -f 9 -6 -z LADDR)'],
      );
      // a local address given later in the file is enough; a real server edited away from FULLNAT needs none
      assert.equal(load('-A -t 10.0.0.1:80', '-a -t 10.0.0.1:80 -r 10.1.0.1 --fullnat', '-P -t 10.0.0.1:80 -z 10.0.0.100').services.length, 1);
      assert.equal(load('-A -t 10.0.0.1:80', '-a -t 10.0.0.1:80 -r 10.1.0.1 --fullnat', '-e -t 10.0.0.1:80 -r 10.1.0.1 -m').services.length, 1);
    });
  });

  describe('atomicity', () => {
    it('a bad last line throws and returns nothing, and a base configuration is never changed', () => {
      const base = load('-A -t 10.0.0.1:80 -s rr', '-a -t 10.0.0.1:80 -r 10.1.0.1 -m');
      const before = formatRules(base, { lossless: true });
      let result: RulesConfig | undefined;
      assert.throws(() => {
        result = loadRules(
          ['-a -t 10.0.0.1:80 -r 10.1.0.2 -m', '-E -t 10.0.0.1:80 -s wrr', '-D -t 10.0.0.1:80', '-A -t 10.0.0.9:80 -s nosuch'].join('\n'),
          'more.rules',
          { base },
        );
      }, (e: ConfigError) => e.line === 4 && e.file === 'more.rules');
      assert.equal(result, undefined);
      assert.equal(formatRules(base, { lossless: true }), before);
      // the same file without its bad line applies on a copy of the base
      const ok = loadRules(['-a -t 10.0.0.1:80 -r 10.1.0.2 -m', '-E -t 10.0.0.1:80 -s wrr'].join('\n'), 'more.rules', { base });
      assert.equal(ok.services[0].scheduler, 'wrr');
      assert.equal(ok.services[0].dests.length, 2);
      assert.equal(base.services[0].dests.length, 1);
      assert.equal(base.services[0].scheduler, 'rr');
    });
    it('accepts a caller-given scheduler list', () => {
      assert.equal(loadRules('-A -t 10.0.0.1:80 -s myrr', 'x', { schedulers: ['myrr'] }).services[0].scheduler, 'myrr');
      assert.throws(() => loadRules('-A -t 10.0.0.1:80 -s rr', 'x', { schedulers: ['myrr'] }), /Scheduler or persistence engine not found/);
    });
  });

  it('loadRulesFile reads a file and names it in errors', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'uvs-rules-'));
    try {
      const file = path.join(dir, 'r.rules');
      writeFileSync(file, '-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 10.1.0.1\n');
      assert.equal(loadRulesFile(file).services[0].dests.length, 1);
      writeFileSync(file, '-A -t 10.0.0.1:80\n-A -t 10.0.0.1:80\n');
      assert.throws(() => loadRulesFile(file), (e: ConfigError) => e.file === file && e.line === 2);
      assert.throws(() => loadRulesFile(path.join(dir, 'missing')), (e: ConfigError) => e.line === 0 && /cannot read/.test(e.reason));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('control/rules-file: messages a file reader can act on', () => {
  it('names the valid scheduler flags after ipvsadm\'s own message', () => {
    assert.throws(() => loadRules('-A -t 10.0.0.1:80 -s sh -b sh-prot', 'r'),
      /^ConfigError: r:1: invalid scheduler flag `sh-prot' \(valid: sh-fallback, sh-port with -s sh; mh-fallback, mh-port with -s mh; flag-1, flag-2, flag-3 with any\)$/);
    assert.throws(() => loadRules('-A -t 10.0.0.1:80 -s rr -b mh-port', 'r'), /r:1: incompatible scheduler flag `mh-port' \(valid: /);
  });
});
