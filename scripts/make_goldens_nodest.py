#!/usr/bin/python3
"""
Golden scenarios of a real server deleted while its connections flow (ipvs-facts 4.6 "expire_nodest_conn" and
"Weight 0 vs deleted dest", 5.0 step 3; uvs's drain_nodest_conn, docs/forwarding.md "A deleted real server"),
built like scripts/make_goldens.py and with its frame builders and rewrite helpers (imported, not copied),
independently of uvs:

    pcaps/nodest-drop       the kernel's default (expire_nodest_conn 0): the client's packets are dropped
    pcaps/nodest-expire     expire_nodest_conn 1 (Linux >= 5.9): the connections are swept at the delete
    pcaps/nodest-drain      drain_nodest_conn 1 (uvs): the connections finish on the deleted server

A deleted real server needs a change in the middle of the capture, which a replay of in.pcap cannot make; so
besides the usual files these directories hold a `changes` file, and a plain replay of them is not the test:

    in.pcap         the input frames
    changes         "N ARGS": after input frame N (1-based) has gone through, `uvsadm ARGS` is applied
    rules, director the configuration at the start (the director file carries the scenario's sysctl line)
    expected.pcap   what the director must transmit, each frame stamped with its input frame's time
    expected.json   in, out, dropped by reason, connections made, live entries at the end, and per real server
                    (deleted ones too): connections made, packets counted in and out, active and inactive
                    connections at the end
    README.md       what the scenario shows

test/ipvs-nodest.test.ts runs them. The three scenarios share the configuration and the first ten frames (NAT TCP,
NAT UDP and DR TCP connections, each to the real server that is then deleted); after the delete each goes on
the way its policy says. Every decision is worked out in the comments from the specification:
- the kernel drops a client's packet of a deleted server's entry (ip_vs_in), but its reply path (ip_vs_out) and
  ICMP relaying never look at the server: replies of such an entry are translated and forwarded, and counted
  only while the server is available (ip_vs_out_stats);
- expire_nodest_conn = 1 removes every entry of a deleted server right after the delete (the >= 5.9 sweep), so
  a later client packet finds none: a TCP segment without SYN is not scheduled (not-connection-start), a SYN or
  a UDP datagram is scheduled afresh; a reply finds none either (unknown-reply);
- drain_nodest_conn = 1 keeps the entries as if the server had weight 0: they forward, count and run their
  state machine; a SYN meeting a TIME_WAIT entry is scheduled afresh (conn_reuse_mode), one meeting an entry
  in another state stays with it;
- the scheduler (rr) no longer sees a deleted server: every new connection goes to the server left.

Run:  /usr/bin/python3 scripts/make_goldens_nodest.py [scenario ...]      (Debian's python3-scapy)
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_goldens as mg  # noqa: E402
from make_goldens import (GET, OK, SYN_OPTIONS, SYNACK_OPTIONS, T0_US, VIP, Tcp, check_ip_packet,  # noqa: E402
                          dns_answer, dns_query, dr, endpoint_key, ip_of, nat_in, nat_out, udp_frame, write_pcap)

from scapy.all import TCP  # noqa: E402

RS1, RS2, RS3, RS4 = '10.0.0.11', '10.0.0.12', '10.0.0.13', '10.0.0.14'
HTTP, DNS, HTTPS = (RS2, 8080), (RS2, 5353), (RS4, 443)   # the three real servers deleted
REASONS = {'destination-gone', 'not-connection-start', 'unknown-reply'}

RULES = """
# Three services, two real servers each, rr; lists are newest first, so the first connection of each
# service goes to the second server added: 10.0.0.12:8080, 10.0.0.12:5353, 10.0.0.14:443.
-A -t 192.0.2.10:80 -s rr
-a -t 192.0.2.10:80 -r 10.0.0.11:8080 -m -w 1
-a -t 192.0.2.10:80 -r 10.0.0.12:8080 -m -w 1
-A -u 192.0.2.10:53 -s rr
-a -u 192.0.2.10:53 -r 10.0.0.11:5353 -m -w 1
-a -u 192.0.2.10:53 -r 10.0.0.12:5353 -m -w 1
-A -t 192.0.2.10:443 -s rr
-a -t 192.0.2.10:443 -r 10.0.0.13:443 -g -w 1
-a -t 192.0.2.10:443 -r 10.0.0.14:443 -g -w 1
"""

DIRECTOR = """
link eth0 mac 02:00:00:00:00:01 mtu 1500
addr 10.0.0.1/24 dev eth0
neigh 10.0.0.254 lladdr 02:00:00:00:00:fe dev eth0
neigh 10.0.0.11 lladdr 02:00:00:00:01:11 dev eth0
neigh 10.0.0.12 lladdr 02:00:00:00:01:12 dev eth0
neigh 10.0.0.13 lladdr 02:00:00:00:01:13 dev eth0
neigh 10.0.0.14 lladdr 02:00:00:00:01:14 dev eth0
route default via 10.0.0.254 dev eth0
"""

SYSCTL_LINES = {
    'drop': '# no sysctl line: expire_nodest_conn 0 and drain_nodest_conn 0, the defaults',
    'expire': 'sysctl expire_nodest_conn 1',
    'drain': 'sysctl net.ipv4.vs.drain_nodest_conn 1',
}

DELETES = [
    '-d -t 192.0.2.10:80 -r 10.0.0.12:8080',
    '-d -u 192.0.2.10:53 -r 10.0.0.12:5353',
    '-d -t 192.0.2.10:443 -r 10.0.0.14:443',
]

SERVERS = [(RS1, 8080), HTTP, (RS1, 5353), DNS, (RS3, 443), HTTPS]

MORE = b'HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nhello again\n'


class NodestScenario:
    """Input frames, what happens to each, the uvsadm changes between them, and the counters that follow."""

    def __init__(self, name, policy, readme):
        self.name, self.policy, self.readme = name, policy, readme
        self.inputs, self.outputs, self.changes = [], [], []
        self.dropped = {}
        self.counters = {endpoint_key(*rs): {'connections': 0, 'inPackets': 0, 'outPackets': 0} for rs in SERVERS}
        self.last_ts = -1
        self.final = None

    def _input(self, t, frame):
        ts = T0_US + round(t * 1_000_000)
        assert ts >= self.last_ts, f'{self.name}: time goes backwards at t={t}'
        self.last_ts = ts
        self.inputs.append((ts, frame))
        return ts

    def _output(self, ts, t, out):
        where = f'{self.name} t={t}'
        check_ip_packet(out[14:], where)
        tcp = ip_of(out).getlayer(TCP)
        if tcp is not None:
            assert tcp.chksum != 0, f'{where}: TCP checksum 0 is ambiguous, change the payload'
        self.outputs.append((ts, out))

    def to_server(self, t, frame, out, rs, new_conn=False):
        """A client packet forwarded to real server rs = (addr, port), counted on it (in)."""
        self._output(self._input(t, frame), t, out)
        c = self.counters[endpoint_key(*rs)]
        c['inPackets'] += 1
        c['connections'] += 1 if new_conn else 0

    def to_client(self, t, frame, out, rs, counted):
        """A reply of real server rs forwarded to the client; counted (out) only when `counted`."""
        self._output(self._input(t, frame), t, out)
        if counted:
            self.counters[endpoint_key(*rs)]['outPackets'] += 1

    def drop(self, t, frame, reason):
        assert reason in REASONS, reason
        self._input(t, frame)
        self.dropped[reason] = self.dropped.get(reason, 0) + 1

    def change(self, args):
        """uvsadm ARGS, applied after the last input frame so far."""
        self.changes.append((len(self.inputs), args))

    def end(self, live, conns):
        """live: entries left in the table; conns: (active, inactive) per real server at the end."""
        self.final = (live, conns)

    def write(self):
        d = os.path.join(mg.PCAPS, self.name)
        os.makedirs(d, exist_ok=True)
        write_pcap(os.path.join(d, 'in.pcap'), self.inputs)
        write_pcap(os.path.join(d, 'expected.pcap'), self.outputs)
        director = DIRECTOR.strip('\n') + '\n' + SYSCTL_LINES[self.policy]
        changes = '# after input frame N (1-based): uvsadm arguments\n' + '\n'.join(f'{n} {a}' for n, a in self.changes)
        for fname, text in (('rules', RULES), ('director', director), ('changes', changes), ('README.md', self.readme)):
            with open(os.path.join(d, fname), 'w') as f:
                f.write(text.strip('\n') + '\n')
        live, conns = self.final
        per_rs = {}
        for key, c in self.counters.items():
            active, inactive = conns.get(key, (0, 0))
            per_rs[key] = dict(c, activeConns=active, inactiveConns=inactive)
        summary = {
            'in': len(self.inputs),
            'out': len(self.outputs),
            'dropped': dict(sorted(self.dropped.items())),
            'connections': sum(c['connections'] for c in self.counters.values()),
            'liveConnections': live,
            'perRealServer': per_rs,
        }
        assert summary['in'] == summary['out'] + sum(self.dropped.values())
        with open(os.path.join(d, 'expected.json'), 'w') as f:
            f.write(json.dumps(summary, indent=2) + '\n')


def build(name, policy, readme):
    s = NodestScenario(name, policy, readme)
    drop, expire, drain = policy == 'drop', policy == 'expire', policy == 'drain'
    a = Tcp('198.51.100.1', 40001, VIP, 80, cisn=0x0a000000, sisn=0x1a000000, ipid=0x0a00, server=RS2, rport=8080)
    b = Tcp('198.51.100.2', 40002, VIP, 80, cisn=0x0b000000, sisn=0x1b000000, ipid=0x0b00, server=RS1, rport=8080)
    c = Tcp('198.51.100.4', 41001, VIP, 443, cisn=0x0c000000, sisn=0x1c000000, ipid=0x0c00)
    d = Tcp('198.51.100.5', 41002, VIP, 443, cisn=0x0d000000, sisn=0x1d000000, ipid=0x0d00)
    client_u, uport = '198.51.100.3', 5300

    def dns_from(server, qid, ipid):
        return udp_frame(server, 5353, client_u, uport, dns_answer(qid), ipid=ipid, ttl=64, src_mac=mg.MAC[server])

    # ---- before the delete: the same in every scenario ----
    # A (NAT TCP): rr over [.12, .11] -> .12; SYN_RECV, the SYN-ACK keeps SYN_RECV, ACK -> ESTABLISHED.
    f = a.c('S', options=SYN_OPTIONS)
    s.to_server(0.001, f, nat_in(f, RS2, 8080), HTTP, new_conn=True)
    f = a.s('SA', options=SYNACK_OPTIONS)
    s.to_client(0.002, f, nat_out(f, VIP, 80), HTTP, counted=True)
    f = a.c('A')
    s.to_server(0.003, f, nat_in(f, RS2, 8080), HTTP)
    f = a.c('PA', GET)
    s.to_server(0.004, f, nat_in(f, RS2, 8080), HTTP)
    f = a.s('PA', OK)
    s.to_client(0.005, f, nat_out(f, VIP, 80), HTTP, counted=True)
    # U (NAT UDP): rr over [.12, .11] -> .12:5353, answered.
    f = udp_frame(client_u, uport, VIP, 53, dns_query(0x1001), ipid=0x3001)
    s.to_server(0.006, f, nat_in(f, RS2, 5353), DNS, new_conn=True)
    f = dns_from(RS2, 0x1001, 0x5001)
    s.to_client(0.007, f, nat_out(f, VIP, 53), DNS, counted=True)
    # C (DR TCP): rr over [.14, .13] -> .14; SYN_RECV, ACK -> ESTABLISHED (INPUT-ONLY table).
    f = c.c('S', options=SYN_OPTIONS)
    s.to_server(0.008, f, dr(f, RS4), HTTPS, new_conn=True)
    c.server_sent(1)
    f = c.c('A')
    s.to_server(0.009, f, dr(f, RS4), HTTPS)
    f = c.c('PA', GET)
    s.to_server(0.010, f, dr(f, RS4), HTTPS)

    # ---- the delete: .12:8080, .12:5353 and .14:443 leave their services ----
    # expire: the sweep removes A, U and C at once (their servers' counters go back to 0 active, 0 inactive).
    for args in DELETES:
        s.change(args)

    # A's client acknowledges the data.
    f = a.c('A')
    if drop:
        s.drop(1.001, f, 'destination-gone')          # ip_vs_in: dest not available -> NF_DROP; no state change
    elif expire:
        s.drop(1.001, f, 'not-connection-start')      # no entry; an ACK is not scheduled
    else:
        s.to_server(1.001, f, nat_in(f, RS2, 8080), HTTP)   # drained: ESTABLISHED stays
    # .12 sends more data.
    f = a.s('PA', MORE)
    if expire:
        s.drop(1.002, f, 'unknown-reply')             # no entry: a packet from a NAT server to no connection
    else:
        # drop: ip_vs_out has no server check: translated and forwarded, not counted (server unavailable);
        # OUTPUT ACK keeps ESTABLISHED. drain: the same, counted.
        s.to_client(1.002, f, nat_out(f, VIP, 80), HTTP, counted=drain)
    # B (NAT TCP, new): rr over [.11] -> .11 in every scenario.
    f = b.c('S', options=SYN_OPTIONS)
    s.to_server(1.003, f, nat_in(f, RS1, 8080), (RS1, 8080), new_conn=True)
    f = b.s('SA', options=SYNACK_OPTIONS)
    s.to_client(1.004, f, nat_out(f, VIP, 80), (RS1, 8080), counted=True)
    # U's second query from the same source port.
    f = udp_frame(client_u, uport, VIP, 53, dns_query(0x1002), ipid=0x3002)
    if drop:
        s.drop(1.005, f, 'destination-gone')
        # .12 still answers the first query once more: forwarded (the reply path), not counted.
        f = dns_from(RS2, 0x1001, 0x5002)
        s.to_client(1.006, f, nat_out(f, VIP, 53), DNS, counted=False)
    elif expire:
        # No entry: a UDP datagram always starts a connection: rr over [.11] -> .11:5353.
        s.to_server(1.005, f, nat_in(f, RS1, 5353), (RS1, 5353), new_conn=True)
        f = dns_from(RS1, 0x1002, 0x6001)
        s.to_client(1.006, f, nat_out(f, VIP, 53), (RS1, 5353), counted=True)
    else:
        s.to_server(1.005, f, nat_in(f, RS2, 5353), DNS)
        f = dns_from(RS2, 0x1002, 0x5002)
        s.to_client(1.006, f, nat_out(f, VIP, 53), DNS, counted=True)
    # C's client acknowledges.
    c.server_sent(len(OK))
    f = c.c('A')
    if drop:
        s.drop(1.007, f, 'destination-gone')
    elif expire:
        s.drop(1.007, f, 'not-connection-start')
    else:
        s.to_server(1.007, f, dr(f, RS4), HTTPS)      # ESTABLISHED stays
    # D (DR TCP, new): rr over [.13] -> .13.
    f = d.c('S', options=SYN_OPTIONS)
    s.to_server(1.008, f, dr(f, RS3), (RS3, 443), new_conn=True)
    # A closes: client FIN, server FIN, client ACK.
    f = a.c('FA')
    if drop:
        s.drop(1.009, f, 'destination-gone')
    elif expire:
        s.drop(1.009, f, 'not-connection-start')
    else:
        s.to_server(1.009, f, nat_in(f, RS2, 8080), HTTP)   # INPUT FIN: ESTABLISHED -> CLOSE_WAIT
    f = a.s('FA')
    if expire:
        s.drop(1.010, f, 'unknown-reply')
    else:
        # drop: OUTPUT FIN on ESTABLISHED -> FIN_WAIT (the client's FIN never counted);
        # drain: OUTPUT FIN on CLOSE_WAIT -> TIME_WAIT.
        s.to_client(1.010, f, nat_out(f, VIP, 80), HTTP, counted=drain)
    f = a.c('A')
    if drop:
        s.drop(1.011, f, 'destination-gone')
    elif expire:
        s.drop(1.011, f, 'not-connection-start')
    else:
        s.to_server(1.011, f, nat_in(f, RS2, 8080), HTTP)   # INPUT ACK: TIME_WAIT stays
    # C's client closes: FIN.
    f = c.c('FA')
    if drop:
        s.drop(1.012, f, 'destination-gone')
    elif expire:
        s.drop(1.012, f, 'not-connection-start')
    else:
        s.to_server(1.012, f, dr(f, RS4), HTTPS)      # INPUT-ONLY FIN: ESTABLISHED -> FIN_WAIT
    # A2: the same client port opens a new connection.
    a2 = Tcp('198.51.100.1', 40001, VIP, 80, cisn=0x2a000000, sisn=0x3a000000, ipid=0x2a00, server=RS1, rport=8080)
    f = a2.c('S', options=SYN_OPTIONS)
    if drop:
        # A's entry is in FIN_WAIT: conn_reuse_mode 1 reschedules only TIME_WAIT / CLOSE, so the SYN belongs to
        # A's entry, whose server is gone: dropped.
        s.drop(1.013, f, 'destination-gone')
    else:
        # expire: no entry; drain: A's entry is in TIME_WAIT and uncontrolled: conn_reuse_mode ends it. Either way
        # the SYN is scheduled: rr over [.11] -> .11.
        s.to_server(1.013, f, nat_in(f, RS1, 8080), (RS1, 8080), new_conn=True)
        f = a2.s('SA', options=SYNACK_OPTIONS)
        s.to_client(1.014, f, nat_out(f, VIP, 80), (RS1, 8080), counted=True)
    # C2: C's client port opens a new connection.
    c2 = Tcp('198.51.100.4', 41001, VIP, 443, cisn=0x2c000000, sisn=0x3c000000, ipid=0x2c40)
    f = c2.c('S', options=SYN_OPTIONS)
    if drop:
        s.drop(1.015, f, 'destination-gone')          # C's entry: ESTABLISHED, not reusable, server gone
    elif expire:
        s.to_server(1.015, f, dr(f, RS3), (RS3, 443), new_conn=True)   # no entry: rr over [.13]
    else:
        # C's entry is in FIN_WAIT, which conn_reuse_mode 1 does not reschedule: the SYN is C's entry's
        # (FIN_WAIT -> SYN_RECV) and goes to the drained .14, as it would at weight 0.
        s.to_server(1.015, f, dr(f, RS4), HTTPS)

    # The end. Live entries and each server's active / inactive connections:
    #   drop:   A (.12 FIN_WAIT, inactive), B (.11 SYN_RECV), U (.12, UDP inactive), C (.14 ESTABLISHED),
    #           D (.13 SYN_RECV): 5
    #   expire: B and A2 (.11, SYN_RECV), U2 (.11:5353, inactive), D and C2 (.13, SYN_RECV): 5
    #   drain:  A2 and B (.11, SYN_RECV; A was ended by A2's SYN), U (.12:5353, inactive), C (.14, SYN_RECV
    #           again), D (.13): 5
    k = endpoint_key
    if drop:
        s.end(5, {k(*HTTP): (0, 1), k(RS1, 8080): (1, 0), k(*DNS): (0, 1), k(*HTTPS): (1, 0), k(RS3, 443): (1, 0)})
    elif expire:
        s.end(5, {k(RS1, 8080): (2, 0), k(RS1, 5353): (0, 1), k(RS3, 443): (2, 0)})
    else:
        s.end(5, {k(RS1, 8080): (2, 0), k(*DNS): (0, 1), k(*HTTPS): (1, 0), k(RS3, 443): (1, 0)})
    return s


def nodest_drop():
    return build('nodest-drop', 'drop', """
A real server deleted under the kernel's default, expire_nodest_conn 0 (no sysctl line). After frame 10,
`changes` deletes 10.0.0.12:8080 (NAT TCP, connection A), 10.0.0.12:5353 (NAT UDP, U) and 10.0.0.14:443 (DR, C).
Every later client packet of A, U and C is dropped (destination-gone), also a new SYN from A's port (A's entry is
in FIN_WAIT, which conn_reuse_mode does not reschedule) and from C's port (ESTABLISHED). The deleted servers'
replies are still translated and forwarded, as the kernel's reply path does, but no longer counted. New
connections (B, D) go to the servers left. The entries stay until their timers end them.
""")


def nodest_expire():
    return build('nodest-expire', 'expire', """
A real server deleted with `sysctl expire_nodest_conn 1` (Linux >= 5.9). After frame 10, `changes` deletes
10.0.0.12:8080 (NAT TCP, connection A), 10.0.0.12:5353 (NAT UDP, U) and 10.0.0.14:443 (DR, C): the sweep removes
A, U and C at once (their servers' connection counts drop to 0). Their later TCP segments without SYN are not
scheduled (not-connection-start), the deleted servers' replies match nothing (unknown-reply); U's next datagram
and new SYNs from A's and C's ports are scheduled afresh, on the servers left.
""")


def nodest_drain():
    return build('nodest-drain', 'drain', """
A real server deleted with `sysctl net.ipv4.vs.drain_nodest_conn 1` (uvs). After frame 10, `changes` deletes
10.0.0.12:8080 (NAT TCP, connection A), 10.0.0.12:5353 (NAT UDP, U) and 10.0.0.14:443 (DR, C). A, U and C go on
on their deleted servers, both ways, counted, through A's FIN exchange (CLOSE_WAIT, TIME_WAIT) and C's FIN, while
new connections (B, D) go to the servers left. A new SYN from A's port meets A's TIME_WAIT entry and is scheduled
afresh (conn_reuse_mode), to .11; one from C's port meets C's FIN_WAIT entry, which it belongs to, and goes to
the drained .14, as it would at weight 0.
""")


SCENARIOS = {'nodest-drop': nodest_drop, 'nodest-expire': nodest_expire, 'nodest-drain': nodest_drain}


def main(names):
    for name in names or SCENARIOS:
        if name not in SCENARIOS:
            sys.exit(f'unknown scenario {name!r}; known: {", ".join(SCENARIOS)}')
        s = SCENARIOS[name]()
        s.write()
        print(f'{name}: {len(s.inputs)} in, {len(s.outputs)} out, dropped {s.dropped}')


if __name__ == '__main__':
    main(sys.argv[1:])
