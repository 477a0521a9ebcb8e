/**
 * The configurations the hostile-input tests and the fuzz bench attack: every golden scenario
 * (pcaps/<name>: rules, director and the frames of in.pcap), plus two of our own that the goldens
 * lack: "hostile-mix" (SCTP under NAT, DR and FULLNAT; IPv6 FULLNAT; 6in4 and 4in6 tunnels;
 * one-packet scheduling; a persistent port-0 service; a real server with no neighbour) and
 * "hostile-small" (a connection table of 16 entries, the smallest the table keeps, so that it fills up).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROTOCOL_NUMBER, type DirectorConfig, type RulesConfig } from '../../src/control/config';
import { loadDirector } from '../../src/control/director-file';
import { loadRules } from '../../src/control/rules-file';
import { buildEngine, type BuiltEngine } from '../../src/ipvs/engine-builder';
import { CaptureReader } from '../../src/pcap/capture-reader';
import { schedulerNames } from '../../src/sched/registry';
import type { AddressBook, Endpoint } from './hostile-frames';

export interface HostileScenario {
  name: string;
  rules: RulesConfig;
  director: DirectorConfig;
  book: AddressBook;
  /** The frames of the golden in.pcap (none for our own scenarios). */
  golden: Uint8Array[];
  /** Connection table limit per address family (default: the engine's). */
  maxConns?: number;
}

/** The repository's pcaps/ directory, found from this file whether it runs from test/ or dist/test/. */
export function pcapsDir(): string {
  for (const up of ['../..', '../../..']) {
    const dir = path.resolve(__dirname, up, 'pcaps');
    if (fs.existsSync(dir)) return dir;
  }
  throw new Error(`pcaps/ not found above ${__dirname}`);
}

const MIX_RULES = `
-A --sctp-service 192.0.2.20:80 -s rr
-a --sctp-service 192.0.2.20:80 -r 10.0.0.11:8080 -m -w 1
-a --sctp-service 192.0.2.20:80 -r 10.0.0.12:80 -g -w 1
-A --sctp-service 192.0.2.21:9 -s rr
-a --sctp-service 192.0.2.21:9 -r 10.0.0.13:9999 --fullnat -w 1
-P --sctp-service 192.0.2.21:9 -z 10.0.0.2
-A -t [2001:db8::20]:80 -s rr
-a -t [2001:db8::20]:80 -r 10.0.0.21:80 -i -w 1
-a -t [2001:db8::20]:80 -r [2001:db8:10::11]:8080 --fullnat -w 1
-P -t [2001:db8::20]:80 -z 2001:db8:10::2
-A -u [2001:db8::20]:53 -s rr
-a -u [2001:db8::20]:53 -r [2001:db8:10::11]:5353 --fullnat -w 1
-P -u [2001:db8::20]:53 -z 2001:db8:10::2
-A -t 192.0.2.22:80 -s rr
-a -t 192.0.2.22:80 -r [2001:db8:10::21]:80 -i -w 1
-a -t 192.0.2.22:80 -r 10.0.0.14:80 -g -w 1
-A -u 192.0.2.23:53 -s rr -o
-a -u 192.0.2.23:53 -r 10.0.0.11:53 -m -w 1
-A -t 192.0.2.24:0 -s rr -p 30
-a -t 192.0.2.24:0 -r 10.0.0.12:0 -g -w 1
`;

const MIX_DIRECTOR = `
link eth0 mac 02:00:00:00:00:01 mtu 1500
addr 10.0.0.1/24 dev eth0
addr 10.0.0.2/24 dev eth0
addr 2001:db8:10::1/64 dev eth0
addr 2001:db8:10::2/64 dev eth0
neigh 10.0.0.254 lladdr 02:00:00:00:00:fe dev eth0
neigh 10.0.0.11 lladdr 02:00:00:00:01:11 dev eth0
neigh 10.0.0.12 lladdr 02:00:00:00:01:12 dev eth0
neigh 10.0.0.13 lladdr 02:00:00:00:01:13 dev eth0
neigh 10.0.0.21 lladdr 02:00:00:00:01:21 dev eth0
neigh 2001:db8:10::fe lladdr 02:00:00:00:06:fe dev eth0
neigh 2001:db8:10::11 lladdr 02:00:00:00:06:11 dev eth0
neigh 2001:db8:10::21 lladdr 02:00:00:00:06:21 dev eth0
route default via 10.0.0.254 dev eth0
route default via 2001:db8:10::fe dev eth0
`;

/** What randomSpec aims at, from the rules (and the director's mark rules, for fwmark services). */
export function addressBook(rules: RulesConfig, director: DirectorConfig): AddressBook {
  const book: AddressBook = { services: [], dests: [], laddrs: [] };
  for (const svc of rules.services) {
    let proto = 0;
    if (svc.key.kind === 'addr') {
      proto = PROTOCOL_NUMBER[svc.key.protocol];
      book.services.push({ af: svc.key.addr.af, addr: svc.key.addr.bytes, port: svc.key.port, proto });
    } else {
      const mark = svc.key.fwmark;
      for (const m of director.marks ?? []) {
        if (m.mark !== mark) continue;
        const af = m.dst?.addr.af ?? m.src?.addr.af ?? svc.key.af;
        const addr = m.dst ? m.dst.addr.bytes : new Uint8Array(af === 4 ? 4 : 16);
        book.services.push({ af, addr, port: m.dport ? m.dport[0] : 0, proto: m.protocol });
      }
    }
    for (const d of svc.dests) book.dests.push({ af: d.addr.af, addr: d.addr.bytes, port: d.port, proto });
    for (const l of svc.laddrs) book.laddrs.push({ af: l.af, addr: l.bytes, port: 0, proto });
  }
  // One entry per distinct endpoint (several mark rules may name the same one).
  const seen = new Set<string>();
  book.services = book.services.filter((e: Endpoint) => {
    const key = `${e.af}/${Array.from(e.addr).join('.')}/${e.port}/${e.proto}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return book;
}

function readFrames(file: string): Uint8Array[] {
  const r = CaptureReader.open(file);
  const frames: Uint8Array[] = [];
  try {
    while (r.next()) frames.push(r.copyPacket());
  } finally {
    r.close();
  }
  return frames;
}

function scenario(name: string, rulesText: string, directorText: string, golden: Uint8Array[], maxConns?: number): HostileScenario {
  const rules = loadRules(rulesText, `${name}/rules`, { schedulers: schedulerNames() });
  const director = loadDirector(directorText, `${name}/director`);
  return { name, rules, director, book: addressBook(rules, director), golden, maxConns };
}

/** Every golden scenario with its in.pcap frames, then hostile-mix and hostile-small. */
export function loadScenarios(): HostileScenario[] {
  const root = pcapsDir();
  const list = fs
    .readdirSync(root)
    .filter((d) => fs.existsSync(path.join(root, d, 'in.pcap')))
    .sort()
    .map((d) => {
      const dir = path.join(root, d);
      return scenario(
        d,
        fs.readFileSync(path.join(dir, 'rules'), 'utf8'),
        fs.readFileSync(path.join(dir, 'director'), 'utf8'),
        readFrames(path.join(dir, 'in.pcap')),
      );
    });
  list.push(scenario('hostile-mix', MIX_RULES, MIX_DIRECTOR, []));
  const nat = path.join(root, 'nat-tcp');
  const fullnat = path.join(root, 'fullnat-tcp');
  list.push(
    scenario(
      'hostile-small',
      fs.readFileSync(path.join(nat, 'rules'), 'utf8').replace(/192\.0\.2\.10:80/g, '192.0.2.30:80') +
        fs.readFileSync(path.join(fullnat, 'rules'), 'utf8'),
      fs.readFileSync(path.join(fullnat, 'director'), 'utf8'),
      [],
      16,
    ),
  );
  return list;
}

/** A fresh engine for the scenario (a small initial table: tests build many). */
export function buildScenarioEngine(s: HostileScenario): BuiltEngine {
  const maxConns = s.maxConns ?? 1 << 20;
  return buildEngine(s.rules, s.director, { connCapacity: Math.min(1024, maxConns), maxConns });
}
