/**
 * Persistence as IPVS keeps it (ipvs-facts section 3): templates per masked client, their
 * timeout counted from the last connection made through them, the 60 s grace while they still
 * control connections, port-0 services, one-packet scheduling. Expected servers are worked out by
 * hand: the list is newest first (.12 then .11), so rr picks .12, .11, .12, ... Connections are
 * closed by ACK then RST: an RST in SYN_RECV leaves a NAT entry in SYN_RECV (the kernel's INPUT table).
 */
import assert from 'node:assert/strict';
import { ACK, EngineHarness, frame, ipv4Dst, RST, SYN } from './support/frames';

const DIRECTOR = `
link eth0 mac 02:00:00:00:00:01
addr 10.0.0.1/24 dev eth0
neigh 10.0.0.11 lladdr 02:00:00:00:01:11 dev eth0
neigh 10.0.0.12 lladdr 02:00:00:00:01:12 dev eth0
`;

function rules(serviceLine: string, port = 80): string {
  const svc = serviceLine.split(' ').slice(0, 3).join(' ').replace('-A', '-a');
  return `${serviceLine}\n${svc} -r 10.0.0.11:${port} -m\n${svc} -r 10.0.0.12:${port} -m\n`;
}

const VIP = '192.0.2.10';

describe('persistence templates', () => {
  it('sends every new connection of a client to the server its template names, other clients by the scheduler', () => {
    const h = new EngineHarness(rules(`-A -t ${VIP}:80 -s rr -p 300`), DIRECTOR);
    const a1 = h.send(frame({ src: '198.51.100.7', dst: VIP, sport: 40000, dport: 80, flags: SYN }), 0);
    const a2 = h.send(frame({ src: '198.51.100.7', dst: VIP, sport: 40001, dport: 80, flags: SYN }), 1);
    const b = h.send(frame({ src: '198.51.100.8', dst: VIP, sport: 40000, dport: 80, flags: SYN }), 2);
    const c = h.send(frame({ src: '198.51.100.9', dst: VIP, sport: 40000, dport: 80, flags: SYN }), 3);
    const a3 = h.send(frame({ src: '198.51.100.7', dst: VIP, sport: 40002, dport: 80, flags: SYN }), 4);
    assert.deepEqual([a1, a2, b, c, a3].map((f) => f && ipv4Dst(f)), ['10.0.0.12', '10.0.0.12', '10.0.0.11', '10.0.0.12', '10.0.0.12']);
    // Templates count in PersistConn, not in the connection counts; connections are counted once each.
    const { dests } = h.built.engine;
    const id12 = h.built.destNames.indexOf('10.0.0.12:80');
    const id11 = h.built.destNames.indexOf('10.0.0.11:80');
    assert.equal(dests.persistConns[id12], 2, 'templates of .7 and .9');
    assert.equal(dests.persistConns[id11], 1, 'template of .8');
    assert.equal(h.summary().perRealServer['10.0.0.12:80'].connections, 4);
  });

  it('groups clients by the -M netmask', () => {
    const h = new EngineHarness(rules(`-A -t ${VIP}:80 -s rr -p 300 -M 255.255.255.0`), DIRECTOR);
    const got = ['198.51.100.7', '198.51.100.200', '203.0.113.5', '198.51.100.9'].map((src, i) =>
      h.send(frame({ src, dst: VIP, sport: 41000 + i, dport: 80, flags: SYN }), i));
    // 198.51.100.0/24 → .12 (first pick), 203.0.113.0/24 → .11 (second pick).
    assert.deepEqual(got.map((f) => f && ipv4Dst(f)), ['10.0.0.12', '10.0.0.12', '10.0.0.11', '10.0.0.12']);
  });

  it('forgets a client once its template expires, counted from the last connection made through it', () => {
    const h = new EngineHarness(rules(`-A -t ${VIP}:80 -s rr -p 300`), DIRECTOR);
    const send = (sport: number, flags: number, t: number): string | null => {
      const f = h.send(frame({ src: '198.51.100.7', dst: VIP, sport, dport: 80, flags }), t);
      return f && ipv4Dst(f);
    };
    assert.equal(send(40000, SYN, 0), '10.0.0.12'); // template made at 0, expires 300
    send(40000, ACK, 0.5 - 0.2);
    send(40000, RST, 0.5); // CLOSE, gone at 10.5
    assert.equal(send(40001, SYN, 299), '10.0.0.12', 'template alive at 299 (re-armed to 599)');
    send(40001, ACK, 299.5 - 0.2);
    send(40001, RST, 299.5);
    assert.equal(send(40002, SYN, 598), '10.0.0.12', 'still alive at 598 (re-armed to 898)');
    send(40002, ACK, 598.5 - 0.2);
    send(40002, RST, 598.5);
    // Expired at 898 with nothing left to control: the next connection is scheduled afresh (rr → .11).
    assert.equal(send(40003, SYN, 899), '10.0.0.11');
  });

  it('keeps a template that still controls connections alive 60 s at a time', () => {
    const h = new EngineHarness(rules(`-A -t ${VIP}:80 -s rr -p 300`), DIRECTOR);
    const send = (sport: number, flags: number, t: number): string | null => {
      const f = h.send(frame({ src: '198.51.100.7', dst: VIP, sport, dport: 80, flags }), t);
      return f && ipv4Dst(f);
    };
    assert.equal(send(40000, SYN, 0), '10.0.0.12');
    send(40000, ACK, 0.1); // ESTABLISHED for 900 s: the template controls it past 300 s
    // Fires at 300 with one controlled connection: re-armed to 360 with a 60 s timeout for good.
    assert.equal(send(40001, SYN, 350), '10.0.0.12', 'grace period, new connection re-arms to 410');
    send(40001, ACK, 350.5 - 0.2);
    send(40001, RST, 350.5);
    assert.equal(send(40002, SYN, 420), '10.0.0.12', 'fired at 410 still controlling 40000: re-armed to 470, then 480');
    send(40002, ACK, 420.5 - 0.2);
    send(40002, RST, 420.5);
    send(40000, ACK, 421 - 0.2);
    send(40000, RST, 421); // last controlled connection closes, gone at 431
    // The template fires at 480 with nothing to control and is freed.
    assert.equal(send(40003, SYN, 481), '10.0.0.11');
    const id12 = h.built.destNames.indexOf('10.0.0.12:80');
    assert.equal(h.built.engine.dests.persistConns[id12], 0);
  });

  it('covers every port of a port-0 service with one template', () => {
    const h = new EngineHarness(rules(`-A -t ${VIP}:0 -s rr -p 300`, 0), DIRECTOR);
    const p80 = h.send(frame({ src: '198.51.100.7', dst: VIP, sport: 40000, dport: 80, flags: SYN }), 0);
    const p443 = h.send(frame({ src: '198.51.100.7', dst: VIP, sport: 40001, dport: 443, flags: SYN }), 1);
    const other = h.send(frame({ src: '198.51.100.8', dst: VIP, sport: 40000, dport: 443, flags: SYN }), 2);
    assert.deepEqual([p80, p443, other].map((f) => f && ipv4Dst(f)), ['10.0.0.12', '10.0.0.12', '10.0.0.11']);
    // The real server port follows the packet's port (the dest port is 0).
    assert.equal((p443![36] << 8) | p443![37], 443);
    let templates = 0;
    h.built.engine.conns4.forEach((s) => {
      if ((h.built.engine.conns4.flags(s) & 0x1000) !== 0) templates++;
    });
    assert.equal(templates, 2, 'one template per client, not per port');
  });

  it('drops packets to a non-persistent service on another port than its own', () => {
    const h = new EngineHarness(rules(`-A -t ${VIP}:80 -s rr`), DIRECTOR);
    assert.equal(h.send(frame({ src: '198.51.100.7', dst: VIP, sport: 40000, dport: 81, flags: SYN }), 0), null);
    assert.equal(h.summary().dropped['no-service'], 1);
  });
});

describe('one-packet scheduling (-o)', () => {
  it('schedules every UDP datagram on its own and keeps no connection', () => {
    const h = new EngineHarness(
      `-A -u ${VIP}:53 -s rr -o\n-a -u ${VIP}:53 -r 10.0.0.11:53 -m\n-a -u ${VIP}:53 -r 10.0.0.12:53 -m\n`, DIRECTOR);
    const got = [0, 1, 2].map((i) => h.send(frame({ proto: 'udp', src: '198.51.100.7', dst: VIP, sport: 5000, dport: 53 }), i));
    assert.deepEqual(got.map((f) => f && ipv4Dst(f)), ['10.0.0.12', '10.0.0.11', '10.0.0.12']);
    const s = h.summary();
    assert.equal(s.connections, 3);
    assert.equal(s.liveConnections, 0);
  });
});
