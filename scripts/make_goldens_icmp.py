#!/usr/bin/python3
"""
Golden scenarios of issue 7's ICMP and fragment rules (docs/forwarding.md: "ICMP error relaying", "ICMP errors the
director sends", "IP fragments"), built like scripts/make_goldens.py and with its frame builders and rewrite
helpers (imported, not copied), independently of uvs:

    pcaps/icmp-relay        ICMP errors relayed per forwarding method, from the client's side and the real server's
    pcaps/icmp-generated    Fragmentation Needed / Packet Too Big, Time Exceeded, Port Unreachable, rate limit
    pcaps/fragments         fragmented UDP over DR, NAT (both ways, IPv4 and IPv6) and TUN

The ICMP relays are worked out on bytes here (scapy would re-serialise a cut quote differently); the director's own
errors come from scripts/icmp_model.py; fragmented datagrams are checked by reassembling the expected output and
summing its transport checksum over the whole datagram.

Run:  /usr/bin/python3 scripts/make_goldens_icmp.py [scenario ...]      (Debian's python3-scapy)
"""

import os
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import icmp_model  # noqa: E402
import make_goldens as mg  # noqa: E402
from make_goldens import (GW_MAC, GW6_MAC, MAC, SYN_OPTIONS, SYNACK_OPTIONS, VIP, VIP6, Scenario, Tcp,  # noqa: E402
                          dns_answer, dns_query, eth, fullnat_in, fullnat_out, nat_in, nat_out, tun, udp_frame)

from scapy.all import IP, IPv6, IPv6ExtHdrFragment, Ether, Raw, TCP, UDP  # noqa: E402

mg.DROP_REASONS.update({'icmp-no-connection', 'bad-icmp-checksum', 'fragment-without-first', 'fragment-table-full',
                        'fragment'})

ones_sum, checksum = icmp_model.ones_sum, icmp_model.checksum
ETH1_MAC = '02:00:00:00:00:02'
RS31, RS31_MAC = '10.0.1.31', '02:00:00:00:02:31'


# ----------------------------------------------------------------------------------------------------------
# ICMP errors as routers and hosts send them (inputs)

def icmp_error_frame(src, dst, icmp_type, code, quoted, quote_len=None, info=0, ttl=250, ipid=0, src_mac=GW_MAC,
                     bad_checksum=False):
    """
    An ICMP (ICMPv6) error from src to dst quoting `quoted` (an IP packet's bytes) cut to quote_len bytes (default:
    the IP header and 8 bytes, as RFC 792 asks of routers). The ICMP checksum is right unless bad_checksum.
    """
    v6 = ':' in src
    if quote_len is None:
        quote_len = (40 if v6 else (quoted[0] & 15) * 4) + 8
    msg = struct.pack('!BBHI', icmp_type, code, 0, info) + bytes(quoted[:quote_len])
    if v6:
        c = icmp_model.icmp6_checksum(src, dst, msg)
    else:
        c = checksum(msg)
    if bad_checksum:
        c ^= 0x0101
    msg = msg[:2] + struct.pack('!H', c) + msg[4:]
    if v6:
        return eth(src_mac, IPv6(src=src, dst=dst, hlim=ttl, nh=58) / Raw(msg))
    return eth(src_mac, IP(src=src, dst=dst, ttl=ttl, id=ipid, flags=0, tos=0xc0, proto=1) / Raw(msg))


def packet_of(frame):
    return icmp_model.ip_packet(frame)


# ----------------------------------------------------------------------------------------------------------
# Expected outputs of relays, on bytes

def frame_of(ip_bytes, next_hop_mac, src_mac=mg.DIRECTOR_MAC):
    ethertype = 0x86dd if ip_bytes[0] >> 4 == 6 else 0x0800
    return bytes(Ether(dst=next_hop_mac, src=src_mac, type=ethertype)) + bytes(ip_bytes)


def ttl_minus_one(b):
    """TTL (hop limit) - 1 of the IP packet b (bytearray), IPv4 header checksum redone."""
    if b[0] >> 4 == 6:
        b[7] -= 1
    else:
        b[8] -= 1
        icmp_model.ipv4_header_checksum_fixed(b, 0)


def relay_dr(frame, next_hop_mac, src_mac=mg.DIRECTOR_MAC):
    """DR: the ICMP packet as it came, TTL - 1, to the real server's MAC."""
    b = bytearray(packet_of(frame))
    ttl_minus_one(b)
    return frame_of(b, next_hop_mac, src_mac)


def relay_tun(frame, rs, next_hop_mac, outer_src, counter_id):
    """TUN: the ICMP packet with TTL - 1 inside an outer IPv4 header (mg.tun's rule, on bytes: a cut quote stays cut)."""
    inner = bytearray(packet_of(frame))
    ttl_minus_one(inner)
    df = bool(inner[6] & 0x40)
    tos = mg.ecn_encap(inner[1])
    outer = bytearray(struct.pack('!BBHHHBBH4s4s', 0x45, tos, 20 + len(inner), 0 if df else counter_id,
                                  0x4000 if df else 0, inner[8], 4, 0, socket.inet_aton(outer_src),
                                  socket.inet_aton(rs)))
    icmp_model.ipv4_header_checksum_fixed(outer, 0)
    return frame_of(outer + inner, next_hop_mac)


def relay_translated(frame, next_hop_mac, outer_src=None, outer_dst=None, q_src=None, q_sport=None, q_dst=None,
                     q_dport=None):
    """
    NAT / FULLNAT relay: TTL - 1; outer and quoted addresses and quoted ports replaced; the outer IPv4 header
    checksum, the quoted IPv4 header checksum and the ICMP checksum (ICMPv6: with the new pseudo-header)
    recomputed; the quoted transport checksum left as it was. (Inputs here have no IPv6 extension headers.)
    """
    b = bytearray(packet_of(frame))
    v6 = b[0] >> 4 == 6
    alen, pack = (16, lambda a: socket.inet_pton(socket.AF_INET6, a)) if v6 else (4, socket.inet_aton)
    src_at, dst_at = (8, 24) if v6 else (12, 16)
    icmp = 40 if v6 else (b[0] & 15) * 4
    q = icmp + 8
    ql4 = q + (40 if v6 else (b[q] & 15) * 4)
    for addr, at in ((outer_src, src_at), (outer_dst, dst_at), (q_src, q + src_at), (q_dst, q + dst_at)):
        if addr:
            b[at:at + alen] = pack(addr)
    if q_sport:
        struct.pack_into('!H', b, ql4, q_sport)
    if q_dport:
        struct.pack_into('!H', b, ql4 + 2, q_dport)
    ttl_minus_one(b)
    if not v6:
        icmp_model.ipv4_header_checksum_fixed(b, q)
    b[icmp + 2:icmp + 4] = b'\0\0'
    if v6:
        c = icmp_model.icmp6_checksum(socket.inet_ntop(socket.AF_INET6, bytes(b[8:24])),
                                      socket.inet_ntop(socket.AF_INET6, bytes(b[24:40])), bytes(b[icmp:]))
    else:
        c = checksum(bytes(b[icmp:]))
    struct.pack_into('!H', b, icmp + 2, c)
    return frame_of(b, next_hop_mac)


def relayed(s, t, frame, out, **kw):
    """A relayed error: its ICMP checksums are checked independently before it becomes an expected output."""
    inner = out[14:]
    if inner[0] >> 4 == 4 and inner[9] == 4:  # TUN: the ICMP packet is inside
        inner = inner[20:]
    icmp_model.check_icmp(bytes(inner), f'{s.name} t={t}')
    s.frame(t, frame, out=out, **kw)


def reply_packet(src, sport, dst, dport, flags='PA', seq=1, ack=1, data=b'', ttl=63, ipid=0x5000):
    """A TCP packet as a router on the way saw it (what an error quotes)."""
    ip = IPv6(src=src, dst=dst, hlim=ttl) if ':' in src else IP(src=src, dst=dst, ttl=ttl, id=ipid, flags='DF')
    return bytes(ip / TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, window=509) / Raw(data))


def udp_packet(src, sport, dst, dport, data, ttl=63, ipid=0x5100):
    ip = IPv6(src=src, dst=dst, hlim=ttl) if ':' in src else IP(src=src, dst=dst, ttl=ttl, id=ipid)
    return bytes(ip / UDP(sport=sport, dport=dport) / Raw(data))


RELAY_DIRECTOR = """
link eth0 mac 02:00:00:00:00:01 mtu 1500
addr 10.0.0.1/24 dev eth0
addr 10.0.0.5/24 dev eth0
addr 2001:db8:10::1/64 dev eth0
neigh 10.0.0.254 lladdr 02:00:00:00:00:fe dev eth0
neigh 10.0.0.11 lladdr 02:00:00:00:01:11 dev eth0
neigh 10.0.0.12 lladdr 02:00:00:00:01:12 dev eth0
neigh 10.0.0.13 lladdr 02:00:00:00:01:13 dev eth0
neigh 10.0.0.21 lladdr 02:00:00:00:01:21 dev eth0
neigh 2001:db8:10::fe lladdr 02:00:00:00:06:fe dev eth0
neigh 2001:db8:10::11 lladdr 02:00:00:00:06:11 dev eth0
route default via 10.0.0.254 dev eth0
route default via 2001:db8:10::fe dev eth0
"""


def icmp_relay():
    rules = """
# One service per forwarding method, one real server each.
# DR, TCP: VIP:80 -> 10.0.0.11
-A -t 192.0.2.10:80 -s rr
-a -t 192.0.2.10:80 -r 10.0.0.11:80 -g -w 1
# NAT, TCP: VIP:8080 -> 10.0.0.12:80
-A -t 192.0.2.10:8080 -s rr
-a -t 192.0.2.10:8080 -r 10.0.0.12:80 -m -w 1
# TUN (ipip), UDP: VIP:53 -> 10.0.0.21
-A -u 192.0.2.10:53 -s rr
-a -u 192.0.2.10:53 -r 10.0.0.21:53 -i -w 1 --tun-type ipip
# FULLNAT, TCP: VIP:443 -> 10.0.0.13:8443, local address 10.0.0.5
-A -t 192.0.2.10:443 -s rr
-a -t 192.0.2.10:443 -r 10.0.0.13:8443 --fullnat -w 1
-P -t 192.0.2.10:443 -z 10.0.0.5
# NAT over IPv6, UDP: [VIP]:53 -> [2001:db8:10::11]:5353
-A -u [2001:db8::10]:53 -s rr
-a -u [2001:db8::10]:53 -r [2001:db8:10::11]:5353 -m -w 1
"""
    readme = """
ICMP errors relayed to the connection they belong to (docs/forwarding.md, "ICMP error relaying"). Each method has one
connection; then errors arrive about it from the client's side (a router on the way to the client, or the client
itself, writing to the VIP about a packet the director or the real server sent it) and from the real server's side.

- DR (VIP:80 -> .11): a router's Time Exceeded and Host Unreachable about the reply VIP:80 -> client (quoting IP
  header + 8 bytes) go to .11's MAC unchanged but for TTL - 1. One about a reply to a client with no connection, and
  one from .11 itself (a DR server answers clients directly: nothing matches), are dropped (icmp-no-connection).
- NAT (VIP:8080 -> .12:80): client side, a router's Time Exceeded (28-byte quote) and Host Unreachable (the whole
  reply quoted) become errors to .12: outer destination VIP -> .12, quoted source VIP:8080 -> .12:80; outer and
  quoted IPv4 header checksums and the ICMP checksum recomputed, the quoted TCP checksum not. Server side, .12's
  Administratively Prohibited (3/13) about client -> .12:80 goes to the client from the VIP, quoting client ->
  VIP:8080. Dropped: a quote cut before the ports, a quote that is a later fragment, a server-side error for an
  unknown client (icmp-no-connection); an echo request and a redirect to the VIP are not errors IPVS relays
  (not-balanced-protocol). (A bad ICMP checksum, bad-icmp-checksum, is shown by test/xmit-icmp-relay.test.ts: the
  golden inputs must pass tshark.)
- TUN (VIP:53 -> .21, UDP, DF clear): the client's Port Unreachable about the answer VIP:53 -> client (whole answer
  quoted) is tunnelled to .21 like any client packet (outer ID from .21's counter: 2, after the query's 1). One for
  another port, and .21's own error to the client, are dropped (icmp-no-connection).
- FULLNAT (VIP:443 -> .13:8443 via 10.0.0.5:1025): client side, a router's Time Exceeded about VIP:443 -> client
  becomes 10.0.0.5 -> .13 quoting .13:8443 -> 10.0.0.5:1025 (both sides translated, as DPVS does); server side,
  .13's 3/13 about 10.0.0.5:1025 -> .13:8443 becomes VIP -> client quoting client:40004 -> VIP:443.
- IPv6 NAT ([VIP]:53 -> [::11]:5353): the client's Port Unreachable (1/4) and a router's Packet Too Big (MTU 1400)
  about the answer go to ::11 (outer destination and quoted source translated, ICMPv6 checksum over the new
  pseudo-header); ::11's Administratively Prohibited (1/1) goes to the client from the VIP; an echo request is not
  relayed; an error about an unknown flow is dropped (icmp-no-connection).
"""
    RS_DR, RS_NAT, RS_FN, RS_TUN, RS6 = '10.0.0.11', '10.0.0.12', '10.0.0.13', '10.0.0.21', '2001:db8:10::11'
    LADDR = '10.0.0.5'
    s = Scenario('icmp-relay', rules, RELAY_DIRECTOR, readme,
                 [(RS_DR, 80), (RS_NAT, 80), (RS_TUN, 53), (RS_FN, 8443), (RS6, 5353)])
    ROUTER, ROUTER6 = '198.51.100.254', '2001:db8:ffff::fe'
    OK = mg.OK

    # ---- DR
    c1 = Tcp('198.51.100.1', 40001, VIP, 80, cisn=0x11000000, sisn=0x91000000, ipid=0x1100)
    f = c1.c('S', options=SYN_OPTIONS)
    s.frame(0.001, f, out=mg.dr(f, RS_DR), new_conn=(RS_DR, 80))
    c1.server_sent(1)
    f = c1.c('A')
    s.frame(0.002, f, out=mg.dr(f, RS_DR))
    reply = reply_packet(VIP, 80, c1.client, c1.cport, seq=c1.snxt, ack=c1.cnxt, data=OK)
    f = icmp_error_frame(ROUTER, VIP, 11, 0, reply, ipid=0x7001)
    relayed(s, 0.003, f, relay_dr(f, MAC[RS_DR]))
    f = icmp_error_frame(ROUTER, VIP, 3, 1, reply, ipid=0x7002)
    relayed(s, 0.004, f, relay_dr(f, MAC[RS_DR]))
    other = reply_packet(VIP, 80, '198.51.100.99', 40099, data=OK)
    s.frame(0.005, icmp_error_frame(ROUTER, VIP, 11, 0, other, ipid=0x7003), drop='icmp-no-connection')
    to_rs = reply_packet(c1.client, c1.cport, VIP, 80, seq=c1.cnxt, ack=c1.snxt, ttl=59)
    s.frame(0.006, icmp_error_frame(RS_DR, c1.client, 3, 13, to_rs, ttl=64, src_mac=MAC[RS_DR]),
            drop='icmp-no-connection')

    # ---- NAT
    c2 = Tcp('198.51.100.2', 40002, VIP, 8080, cisn=0x22000000, sisn=0x92000000, ipid=0x2200, server=RS_NAT, rport=80)
    f = c2.c('S', options=SYN_OPTIONS)
    s.frame(0.010, f, out=nat_in(f, RS_NAT, 80), new_conn=(RS_NAT, 80))
    f = c2.s('SA', options=SYNACK_OPTIONS)
    s.frame(0.011, f, out=nat_out(f, VIP, 8080))
    f = c2.c('A')
    s.frame(0.012, f, out=nat_in(f, RS_NAT, 80))
    reply = reply_packet(VIP, 8080, c2.client, c2.cport, seq=c2.snxt, ack=c2.cnxt, data=OK)
    to_rs_side = dict(outer_dst=RS_NAT, q_src=RS_NAT, q_sport=80)
    f = icmp_error_frame(ROUTER, VIP, 11, 0, reply, ipid=0x7011)
    relayed(s, 0.013, f, relay_translated(f, MAC[RS_NAT], **to_rs_side))
    f = icmp_error_frame(ROUTER, VIP, 3, 1, reply, quote_len=len(reply), ipid=0x7012)  # the whole reply quoted
    relayed(s, 0.014, f, relay_translated(f, MAC[RS_NAT], **to_rs_side))
    to_rs = reply_packet(c2.client, c2.cport, RS_NAT, 80, seq=c2.cnxt, ack=c2.snxt, ttl=59)
    f = icmp_error_frame(RS_NAT, c2.client, 3, 13, to_rs, ttl=64, src_mac=MAC[RS_NAT])
    relayed(s, 0.015, f, relay_translated(f, GW_MAC, outer_src=VIP, q_dst=VIP, q_dport=8080))
    s.frame(0.017, icmp_error_frame(ROUTER, VIP, 11, 0, reply, quote_len=22, ipid=0x7014), drop='icmp-no-connection')
    later = bytearray(reply)
    struct.pack_into('!H', later, 6, 0x00b9)  # offset 1480: the quote is a later fragment (no ports there)
    icmp_model.ipv4_header_checksum_fixed(later, 0)
    s.frame(0.018, icmp_error_frame(ROUTER, VIP, 11, 0, later, ipid=0x7015), drop='icmp-no-connection')
    stranger = reply_packet('198.51.100.98', 40098, RS_NAT, 80, ttl=59)
    s.frame(0.019, icmp_error_frame(RS_NAT, '198.51.100.98', 3, 13, stranger, ttl=64, src_mac=MAC[RS_NAT]),
            drop='icmp-no-connection')
    echo = struct.pack('!BBHHH', 8, 0, 0, 0x77, 1) + b'ping' * 4
    echo = echo[:2] + struct.pack('!H', checksum(echo)) + echo[4:]
    s.frame(0.020, eth(GW_MAC, IP(src=c2.client, dst=VIP, ttl=60, id=0x2300, proto=1) / Raw(echo)),
            drop='not-balanced-protocol')
    s.frame(0.021, icmp_error_frame(ROUTER, VIP, 5, 1, reply, info=0x0a0000fe, ipid=0x7016),
            drop='not-balanced-protocol')

    # ---- TUN (UDP, DF clear: the outer ID comes from .21's counter)
    u3 = ('198.51.100.3', 5003)
    f = udp_frame(u3[0], u3[1], VIP, 53, dns_query(0x0301), ipid=0x3301)
    s.frame(0.030, f, out=tun(f, RS_TUN, MAC[RS_TUN], '10.0.0.1', 1), new_conn=(RS_TUN, 53))
    answer = udp_packet(VIP, 53, u3[0], u3[1], dns_answer(0x0301))
    f = icmp_error_frame(u3[0], VIP, 3, 3, answer, quote_len=len(answer), ttl=64, ipid=0x3302)
    relayed(s, 0.031, f, relay_tun(f, RS_TUN, MAC[RS_TUN], '10.0.0.1', 2))
    elsewhere = udp_packet(VIP, 53, u3[0], 5099, dns_answer(0x0302))
    s.frame(0.032, icmp_error_frame(u3[0], VIP, 3, 3, elsewhere, quote_len=len(elsewhere), ttl=64, ipid=0x3303),
            drop='icmp-no-connection')
    query = udp_packet(u3[0], u3[1], VIP, 53, dns_query(0x0303), ttl=58)
    s.frame(0.033, icmp_error_frame(RS_TUN, u3[0], 3, 3, query, ttl=64, src_mac=MAC[RS_TUN]),
            drop='icmp-no-connection')

    # ---- FULLNAT (local address 10.0.0.5, port 1025)
    c4 = Tcp('198.51.100.4', 40004, VIP, 443, cisn=0x44000000, sisn=0x94000000, ipid=0x4400, server=RS_FN,
             rport=8443, server_to=(LADDR, 1025))
    f = c4.c('S', options=SYN_OPTIONS)
    s.frame(0.040, f, out=fullnat_in(f, LADDR, 1025, RS_FN, 8443), new_conn=(RS_FN, 8443))
    f = c4.s('SA', options=SYNACK_OPTIONS)
    s.frame(0.041, f, out=fullnat_out(f, VIP, 443, c4.client, c4.cport))
    reply = reply_packet(VIP, 443, c4.client, c4.cport, seq=c4.snxt, ack=c4.cnxt)
    f = icmp_error_frame(ROUTER, VIP, 11, 0, reply, ipid=0x7041)
    relayed(s, 0.042, f, relay_translated(f, MAC[RS_FN], outer_src=LADDR, outer_dst=RS_FN, q_src=RS_FN, q_sport=8443,
                                          q_dst=LADDR, q_dport=1025))
    to_rs = reply_packet(LADDR, 1025, RS_FN, 8443, seq=c4.cnxt, ack=c4.snxt, ttl=63)
    f = icmp_error_frame(RS_FN, LADDR, 3, 13, to_rs, ttl=64, src_mac=MAC[RS_FN])
    relayed(s, 0.043, f, relay_translated(f, GW_MAC, outer_src=VIP, outer_dst=c4.client, q_src=c4.client,
                                          q_sport=c4.cport, q_dst=VIP, q_dport=443))

    # ---- IPv6 NAT (UDP)
    q6 = ('2001:db8:1::100', 5001)
    f = mg.ipv6_udp_frame(q6[0], q6[1], VIP6, 53, dns_query(0x0601))
    s.frame(0.050, f, out=nat_in(f, RS6, 5353), new_conn=(RS6, 5353))
    f = mg.ipv6_udp_frame(RS6, 5353, q6[0], q6[1], dns_answer(0x0601), ttl=64, src_mac=MAC[RS6])
    s.frame(0.051, f, out=nat_out(f, VIP6, 53, GW6_MAC))
    answer = udp_packet(VIP6, 53, q6[0], q6[1], dns_answer(0x0601))
    to_rs_side = dict(outer_dst=RS6, q_src=RS6, q_sport=5353)
    f = icmp_error_frame(q6[0], VIP6, 1, 4, answer, quote_len=len(answer), ttl=64, src_mac=GW6_MAC)
    relayed(s, 0.052, f, relay_translated(f, MAC[RS6], **to_rs_side))
    f = icmp_error_frame(ROUTER6, VIP6, 2, 0, answer, quote_len=len(answer), info=1400, src_mac=GW6_MAC)
    relayed(s, 0.053, f, relay_translated(f, MAC[RS6], **to_rs_side))
    query = udp_packet(q6[0], q6[1], RS6, 5353, dns_query(0x0602), ttl=63)
    f = icmp_error_frame(RS6, q6[0], 1, 1, query, quote_len=len(query), ttl=64, src_mac=MAC[RS6])
    relayed(s, 0.054, f, relay_translated(f, GW6_MAC, outer_src=VIP6, q_dst=VIP6, q_dport=53))
    echo = struct.pack('!BBHHH', 128, 0, 0, 0x66, 1) + b'ping' * 4
    echo = echo[:2] + struct.pack('!H', icmp_model.icmp6_checksum(q6[0], VIP6, echo)) + echo[4:]
    s.frame(0.055, eth(GW6_MAC, IPv6(src=q6[0], dst=VIP6, hlim=60, nh=58) / Raw(echo)), drop='not-balanced-protocol')
    elsewhere = udp_packet(VIP6, 53, q6[0], 5999, dns_answer(0x0603))
    s.frame(0.056, icmp_error_frame(q6[0], VIP6, 1, 4, elsewhere, quote_len=len(elsewhere), ttl=64, src_mac=GW6_MAC),
            drop='icmp-no-connection')
    return s


# ----------------------------------------------------------------------------------------------------------
# The director's own errors

GENERATED_DIRECTOR = """
link eth0 mac 02:00:00:00:00:01 mtu 1500
link eth1 mac 02:00:00:00:00:02 mtu 1400
addr 10.0.0.1/24 dev eth0
addr 10.0.1.1/24 dev eth1
addr 2001:db8:10::1/64 dev eth0
neigh 10.0.0.254 lladdr 02:00:00:00:00:fe dev eth0
neigh 10.0.0.11 lladdr 02:00:00:00:01:11 dev eth0
neigh 10.0.0.12 lladdr 02:00:00:00:01:12 dev eth0
neigh 10.0.0.21 lladdr 02:00:00:00:01:21 dev eth0
neigh 10.0.1.31 lladdr 02:00:00:00:02:31 dev eth1
neigh 2001:db8:10::fe lladdr 02:00:00:00:06:fe dev eth0
neigh 2001:db8:10::11 lladdr 02:00:00:00:06:11 dev eth0
neigh 2001:db8:10::21 lladdr 02:00:00:00:06:21 dev eth0
route default via 10.0.0.254 dev eth0
route default via 2001:db8:10::fe dev eth0
"""


def icmp_generated():
    rules = """
# TUN (ipip), TCP: VIP:80 -> 10.0.0.21 (tunnel MTU 1500 - 20 = 1480)
-A -t 192.0.2.10:80 -s rr
-a -t 192.0.2.10:80 -r 10.0.0.21:80 -i -w 1 --tun-type ipip
# DR, UDP: VIP:9000 -> 10.0.1.31, on eth1 (MTU 1400)
-A -u 192.0.2.10:9000 -s rr
-a -u 192.0.2.10:9000 -r 10.0.1.31:9000 -g -w 1
# NAT, TCP: VIP:8080 -> 10.0.0.12:80
-A -t 192.0.2.10:8080 -s rr
-a -t 192.0.2.10:8080 -r 10.0.0.12:80 -m -w 1
# No destination: the only server of VIP:25 has weight 0
-A -t 192.0.2.10:25 -s rr
-a -t 192.0.2.10:25 -r 10.0.0.11:25 -g -w 0
# IPv6: ip6ip6 [VIP]:80 -> [2001:db8:10::21] (tunnel MTU 1500 - 40 = 1460); [VIP]:25 with no usable server
-A -t [2001:db8::10]:80 -s rr
-a -t [2001:db8::10]:80 -r [2001:db8:10::21]:80 -i -w 1 --tun-type ipip
-A -t [2001:db8::10]:25 -s rr
-a -t [2001:db8::10]:25 -r [2001:db8:10::11]:25 -g -w 0
"""
    readme = """
The ICMP errors the director sends itself (docs/forwarding.md, "ICMP errors the director sends"). Every error goes to
the offending packet's source through the default gateway, from the VIP the packet was sent to (a NAT reply's from
the director's address towards the real server), with TOS 0xc0, TTL 64, DF clear, and IPv4 IDs 1, 2, 3, ... from
the director's counter; the quote is the packet, cut at 548 bytes (IPv4) or 1232 (IPv6).

- TUN (VIP:80 -> .21): a 1480-byte DF segment fits the tunnel (outer 1500); 1481 bytes gets Fragmentation Needed
  with MTU 1480, quoting the segment with TTL - 1 (IPVS decrements before its MTU check); the same size without DF
  is not answered but sent as fragments, as the kernel does (docs/forwarding.md, "Fragmentation on output"): the
  1501-byte outer packet as 1480 + 1 data bytes, outer ID 1 from .21's counter in both; TTL 1 gets Time Exceeded
  (quoted as it came).
- DR (VIP:9000 -> 10.0.1.31 on eth1, MTU 1400): 1450 bytes with DF gets Fragmentation Needed with MTU 1400 (from the
  VIP, on eth0); without DF, no answer: it is sent to .31 as two fragments of 1376 + 54 data bytes (same ID 0x2203,
  TTL - 1 in both, MF on the first); the first datagram of a new flow arriving with TTL 1 still makes its
  connection (IPVS schedules before it transmits) and gets Time Exceeded; a TTL-1 datagram sent to a multicast MAC
  gets none.
- NAT (VIP:8080 -> .12:80): the server's SYN-ACK arriving with TTL 1 is dropped by the director's forwarding before
  IPVS sees it, and .12 gets Time Exceeded from 10.0.0.1 (the director's address on the route to .12); the SYN-ACK
  sent again is rewritten as usual.
- No destination: a SYN to VIP:25 (its only server has weight 0) gets Port Unreachable (3/3); on IPv6, 1/4.
- IPv6 (ip6ip6 to ::21): 1461 bytes gets Packet Too Big with MTU 1460 (quoted with hop limit - 1); hop limit 1 gets
  Time Exceeded (3/0).
- Rate limit (the kernel's 1000 errors/s, burst 50): at t = 1 s, 52 SYNs to VIP:25 from 52 clients: 50 are answered,
  2 are not; a 1481-byte DF segment among them is still answered (Fragmentation Needed is never limited); 10 ms
  later nothing has been added (refills come in 20 ms steps): no answer; 20 ms after the burst 20 tokens are back.
"""
    TUN_RS, DR_RS, NAT_RS, RS6T = '10.0.0.21', RS31, '10.0.0.12', '2001:db8:10::21'
    s = Scenario('icmp-generated', rules, GENERATED_DIRECTOR, readme,
                 [(TUN_RS, 80), (DR_RS, 9000), (NAT_RS, 80), ('10.0.0.11', 25), (RS6T, 80), ('2001:db8:10::11', 25)])
    big = bytes(range(256)) * 6

    # ---- TUN: MTU and TTL
    k1 = Tcp('198.51.100.1', 40001, VIP, 80, cisn=0x11000000, sisn=0x91000000, ipid=0x1100)
    f = k1.c('S', options=SYN_OPTIONS)
    s.frame(0.001, f, out=tun(f, TUN_RS, MAC[TUN_RS], '10.0.0.1', None), new_conn=(TUN_RS, 80))
    k1.server_sent(1)
    f = k1.c('A')
    s.frame(0.002, f, out=tun(f, TUN_RS, MAC[TUN_RS], '10.0.0.1', None))
    f = k1.c('PA', big[:1440])
    assert len(f) == 14 + 1480
    s.frame(0.003, f, out=tun(f, TUN_RS, MAC[TUN_RS], '10.0.0.1', None))
    f = k1.c('PA', big[:1441])
    assert len(f) == 14 + 1481
    s.frame(0.004, f, drop='too-big', answer=s.icmp(f, 'frag', VIP, GW_MAC, mtu=1480, quote_ttl_decremented=True))
    k1.df = False
    f = k1.c('PA', big[:1441])                # DF clear: the outer packet (1501 bytes, ID 1) leaves as fragments
    outs = mg.ipv4_fragments(tun(f, TUN_RS, MAC[TUN_RS], '10.0.0.1', 1), 1500)
    assert [len(o) - 14 - 20 for o in outs] == [1480, 1]
    s.fragmented(0.005, f, outs)
    k1.df = True
    f = k1.c('PA', b'late\n', ttl=1)
    s.frame(0.006, f, drop='ttl-exceeded', answer=s.icmp(f, 'ttl', VIP, GW_MAC))

    # ---- DR on eth1 (MTU 1400)
    def dr1(frame):
        return relay_dr(frame, RS31_MAC, ETH1_MAC)

    u1 = ('198.51.100.2', 5002)
    f = udp_frame(u1[0], u1[1], VIP, 9000, big[:100], ipid=0x2201)
    s.frame(0.010, f, out=dr1(f), new_conn=(DR_RS, 9000))
    f = udp_frame(u1[0], u1[1], VIP, 9000, big[:1450 - 28], ipid=0x2202, df=True)
    assert len(f) == 14 + 1450
    s.frame(0.011, f, drop='too-big', answer=s.icmp(f, 'frag', VIP, GW_MAC, mtu=1400, quote_ttl_decremented=True))
    f = udp_frame(u1[0], u1[1], VIP, 9000, big[:1450 - 28], ipid=0x2203)   # DF clear: fragments on eth1
    outs = mg.ipv4_fragments(dr1(f), 1400)
    assert [len(o) - 14 - 20 for o in outs] == [1376, 54]
    s.fragmented(0.012, f, outs)
    f = udp_frame('198.51.100.3', 5003, VIP, 9000, big[:64], ipid=0x2301, ttl=1)
    s.frame(0.013, f, drop='ttl-exceeded', new_conn=(DR_RS, 9000), answer=s.icmp(f, 'ttl', VIP, GW_MAC))
    f = bytes(Ether(dst='01:00:5e:00:00:01', src=GW_MAC) /
              IP(src=u1[0], dst=VIP, ttl=1, id=0x2204) / UDP(sport=u1[1], dport=9000) / Raw(big[:64]))
    s.frame(0.014, f, drop='ttl-exceeded')

    # ---- NAT reply with TTL 1: answered from the director's address towards the real server
    k2 = Tcp('198.51.100.4', 40004, VIP, 8080, cisn=0x44000000, sisn=0x94000000, ipid=0x4400, server=NAT_RS,
             rport=80)
    f = k2.c('S', options=SYN_OPTIONS)
    s.frame(0.020, f, out=nat_in(f, NAT_RS, 80), new_conn=(NAT_RS, 80))
    synack = k2.s('SA', options=SYNACK_OPTIONS)
    expired = bytearray(synack)
    expired[14 + 8] = 1
    icmp_model.ipv4_header_checksum_fixed(expired, 14)
    expired = bytes(expired)
    s.frame(0.021, expired, drop='ttl-exceeded', answer=s.icmp(expired, 'ttl', '10.0.0.1', MAC[NAT_RS]))
    s.frame(0.022, synack, out=nat_out(synack, VIP, 8080))

    # ---- no destination
    n1 = Tcp('198.51.100.5', 40005, VIP, 25, cisn=0x55000000, sisn=0, ipid=0x5500)
    f = n1.c('S', options=SYN_OPTIONS)
    s.frame(0.030, f, drop='no-destination', answer=s.icmp(f, 'port', VIP, GW_MAC))

    # ---- IPv6
    k6 = Tcp('2001:db8:1::100', 40006, VIP6, 80, cisn=0x66000000, sisn=0x96000000, ipid=0)
    f = k6.c('S', options=SYN_OPTIONS)
    s.frame(0.040, f, out=tun(f, RS6T, MAC[RS6T], '2001:db8:10::1', None), new_conn=(RS6T, 80))
    k6.server_sent(1)
    f = k6.c('PA', big[:1401])
    assert len(f) == 14 + 1461
    s.frame(0.041, f, drop='too-big', answer=s.icmp(f, 'frag', VIP6, GW6_MAC, mtu=1460, quote_ttl_decremented=True))
    f = k6.c('PA', b'late\n', ttl=1)
    s.frame(0.042, f, drop='ttl-exceeded', answer=s.icmp(f, 'ttl', VIP6, GW6_MAC))
    n6 = Tcp('2001:db8:2::200', 40007, VIP6, 25, cisn=0x77000000, sisn=0, ipid=0)
    f = n6.c('S', options=SYN_OPTIONS)
    s.frame(0.043, f, drop='no-destination', answer=s.icmp(f, 'port', VIP6, GW6_MAC))

    # ---- rate limit: at 1.000 s the bucket is full again (50); 52 port unreachables, a frag-needed among them
    for i in range(1, 53):
        n = Tcp(f'203.0.113.{i}', 41000 + i, VIP, 25, cisn=0x01000000 * i, sisn=0, ipid=0x6000 + i)
        f = n.c('S', options=SYN_OPTIONS)
        s.frame(1.000, f, drop='no-destination', answer=s.icmp(f, 'port', VIP, GW_MAC) if i <= 50 else None)
        if i == 30:
            f = k1.c('PA', big[:1441])
            s.frame(1.000, f, drop='too-big',
                    answer=s.icmp(f, 'frag', VIP, GW_MAC, mtu=1480, quote_ttl_decremented=True))
    n = Tcp('203.0.113.60', 41060, VIP, 25, cisn=0x3c000000, sisn=0, ipid=0x6060)
    f = n.c('S', options=SYN_OPTIONS)
    s.frame(1.010, f, drop='no-destination')                      # 10 ms: no refill yet
    n = Tcp('203.0.113.61', 41061, VIP, 25, cisn=0x3d000000, sisn=0, ipid=0x6061)
    f = n.c('S', options=SYN_OPTIONS)
    s.frame(1.020, f, drop='no-destination', answer=s.icmp(f, 'port', VIP, GW_MAC))   # 20 ms: 20 tokens
    return s


# ----------------------------------------------------------------------------------------------------------
# Fragments

def udp_datagram(src, sport, dst, dport, payload, chksum=None):
    """The UDP header and payload of a datagram (checksum over the pseudo-header unless given)."""
    ip = IPv6(src=src, dst=dst) if ':' in src else IP(src=src, dst=dst)
    u = UDP(sport=sport, dport=dport) if chksum is None else UDP(sport=sport, dport=dport, chksum=chksum)
    return bytes((ip / u / Raw(payload))[UDP])


def fragment(src, dst, data, sizes, ipid, ttl=60, src_mac=GW_MAC, proto=17):
    """
    The frames of one datagram whose fragmentable part is `data`, cut into pieces of `sizes` bytes (each but the
    last a multiple of 8): IPv4 fragments (DF clear, MF on all but the last), or IPv6 ones (Fragment header).
    Returns [(offset, frame)].
    """
    assert sum(sizes) == len(data)
    frames, off = [], 0
    for i, n in enumerate(sizes):
        last = i == len(sizes) - 1
        assert last or n % 8 == 0
        chunk = data[off:off + n]
        if ':' in src:
            ip = IPv6(src=src, dst=dst, hlim=ttl) / IPv6ExtHdrFragment(nh=proto, offset=off // 8, m=0 if last else 1,
                                                                       id=ipid) / Raw(chunk)
        else:
            ip = IP(src=src, dst=dst, ttl=ttl, id=ipid, flags=0 if last else 'MF', frag=off // 8, proto=proto) / \
                Raw(chunk)
        frames.append((off, eth(src_mac, ip)))
        off += n
    return frames


def translate_fragments(frames, next_hop_mac, whole, src=None, dst=None, sport=None, dport=None):
    """
    NAT / FULLNAT over the fragments of one UDP datagram (`whole` = its UDP header and payload, as sent): every
    fragment gets the new addresses and TTL - 1; the first also the new ports and the UDP checksum of the WHOLE
    rewritten datagram, summed here in full over all its data (0 stays 0: no checksum). Checked by reassembling.
    """
    outs = []
    first = bytearray(packet_of(frames[0][1]))
    v6 = first[0] >> 4 == 6
    osrc = socket.inet_ntop(socket.AF_INET6, bytes(first[8:24])) if v6 else socket.inet_ntoa(bytes(first[12:16]))
    odst = socket.inet_ntop(socket.AF_INET6, bytes(first[24:40])) if v6 else socket.inet_ntoa(bytes(first[16:20]))
    nsrc, ndst = src or osrc, dst or odst
    new = bytearray(whole)
    if sport:
        struct.pack_into('!H', new, 0, sport)
    if dport:
        struct.pack_into('!H', new, 2, dport)
    if struct.unpack('!H', whole[6:8])[0] != 0:
        new[6:8] = b'\0\0'
        c = checksum(bytes(new), ones_sum(mg.pseudo_header(nsrc, ndst, 17, len(new))))
        struct.pack_into('!H', new, 6, c or 0xffff)
    pack = (lambda a: socket.inet_pton(socket.AF_INET6, a)) if v6 else socket.inet_aton
    for i, (_, frame) in enumerate(frames):
        b = bytearray(packet_of(frame))
        if v6:
            b[8:24], b[24:40] = pack(nsrc), pack(ndst)
            data_at = 48
        else:
            b[12:16], b[16:20] = pack(nsrc), pack(ndst)
            data_at = (b[0] & 15) * 4
        if i == 0:
            b[data_at:data_at + 8] = new[:8]
        ttl_minus_one(b)
        outs.append(frame_of(b, next_hop_mac))
    check_reassembled(outs, len(whole))
    return outs


def check_reassembled(out_frames, length):
    """Reassembles expected output fragments and checks the UDP checksum over the whole datagram."""
    data = bytearray(length)
    src = dst = None
    for frame in out_frames:
        b = packet_of(frame)
        if b[0] >> 4 == 6:
            off = struct.unpack('!H', b[42:44])[0] & 0xfff8
            chunk = b[48:]
            src, dst = socket.inet_ntop(socket.AF_INET6, b[8:24]), socket.inet_ntop(socket.AF_INET6, b[24:40])
        else:
            ihl = (b[0] & 15) * 4
            off = (struct.unpack('!H', b[6:8])[0] & 0x1fff) * 8
            chunk = b[ihl:]
            src, dst = socket.inet_ntoa(b[12:16]), socket.inet_ntoa(b[16:20])
        data[off:off + len(chunk)] = chunk
    if struct.unpack('!H', data[6:8])[0] != 0:
        assert ones_sum(mg.pseudo_header(src, dst, 17, length) + bytes(data)) == 0xffff, 'reassembled checksum'


FRAGMENTS_DIRECTOR = """
link eth0 mac 02:00:00:00:00:01 mtu 1500
addr 10.0.0.1/24 dev eth0
addr 2001:db8:10::1/64 dev eth0
neigh 10.0.0.254 lladdr 02:00:00:00:00:fe dev eth0
neigh 10.0.0.11 lladdr 02:00:00:00:01:11 dev eth0
neigh 10.0.0.12 lladdr 02:00:00:00:01:12 dev eth0
neigh 10.0.0.21 lladdr 02:00:00:00:01:21 dev eth0
neigh 2001:db8:10::fe lladdr 02:00:00:00:06:fe dev eth0
neigh 2001:db8:10::11 lladdr 02:00:00:00:06:11 dev eth0
route default via 10.0.0.254 dev eth0
route default via 2001:db8:10::fe dev eth0
"""


def fragments():
    rules = """
# DR, UDP: VIP:9000 -> 10.0.0.11
-A -u 192.0.2.10:9000 -s rr
-a -u 192.0.2.10:9000 -r 10.0.0.11:9000 -g -w 1
# NAT, UDP: VIP:9001 -> 10.0.0.12:9100
-A -u 192.0.2.10:9001 -s rr
-a -u 192.0.2.10:9001 -r 10.0.0.12:9100 -m -w 1
# TUN (ipip), UDP: VIP:9002 -> 10.0.0.21
-A -u 192.0.2.10:9002 -s rr
-a -u 192.0.2.10:9002 -r 10.0.0.21:9002 -i -w 1 --tun-type ipip
# NAT over IPv6, UDP: [VIP]:9001 -> [2001:db8:10::11]:9100
-A -u [2001:db8::10]:9001 -s rr
-a -u [2001:db8::10]:9001 -r [2001:db8:10::11]:9100 -m -w 1
"""
    readme = """
Fragmented UDP datagrams (docs/forwarding.md, "IP fragments"). The first fragment (it has the ports) is handled like
a whole packet and decides; the later fragments of its datagram (same source, destination, protocol and IP ID)
follow the same connection; each fragment is forwarded as it comes, with TTL - 1.

- DR (VIP:9000 -> .11): a 3008-byte datagram in fragments of 1480, 1480 and 48 bytes: all three to .11, unchanged but
  for the TTL.
- NAT (VIP:9001 -> .12:9100): a 2008-byte datagram (1480 + 528): every fragment gets destination .12, the first also
  port 9100 and a UDP checksum that is right for the whole reassembled datagram (worked out here by summing it
  whole; the director only has the first fragment and updates incrementally); one without a UDP checksum keeps 0;
  the server's fragmented answer (1480 + 128) goes back with source VIP in every fragment and port 9001 in the
  first. Then a datagram in three fragments whose second arrives before the first: it is dropped
  (fragment-without-first); the first and third are forwarded.
- TUN (VIP:9002 -> .21): a datagram in fragments of 1400 and 408 bytes: each fragment in its own outer IPv4 header
  (DF clear like the fragment, so the outer IDs 1 and 2 come from .21's counter).
- A later fragment whose first was never seen (fragment-without-first); the later fragment of a fragmented ping
  (fragment: not balanced).
- IPv6 NAT ([VIP]:9001 -> [::11]:9100): fragments with a Fragment header (1448 + 560 bytes): addresses in both, port
  and checksum (for the whole datagram, over the new pseudo-header) in the first.
"""
    RS_DR, RS_NAT, RS_TUN, RS6 = '10.0.0.11', '10.0.0.12', '10.0.0.21', '2001:db8:10::11'
    s = Scenario('fragments', rules, FRAGMENTS_DIRECTOR, readme, [(RS_DR, 9000), (RS_NAT, 9100), (RS_TUN, 9002), (RS6, 9100)])

    def payload(n, seed):
        return bytes((seed + 7 * i) & 0xff for i in range(n))

    # ---- DR
    a = ('198.51.100.1', 5001)
    whole = udp_datagram(a[0], a[1], VIP, 9000, payload(3000, 1))
    for i, (_, f) in enumerate(fragment(a[0], VIP, whole, [1480, 1480, 48], ipid=0x1111)):
        s.frame(0.001 + i / 1000, f, out=mg.dr(f, RS_DR), new_conn=(RS_DR, 9000) if i == 0 else None)

    # ---- NAT, both ways
    b = ('198.51.100.2', 5002)
    whole = udp_datagram(b[0], b[1], VIP, 9001, payload(2000, 2))
    frs = fragment(b[0], VIP, whole, [1480, 528], ipid=0x2222)
    outs = translate_fragments(frs, MAC[RS_NAT], whole, dst=RS_NAT, dport=9100)
    s.frame(0.010, frs[0][1], out=outs[0], new_conn=(RS_NAT, 9100))
    s.frame(0.011, frs[1][1], out=outs[1])
    c = ('198.51.100.3', 5003)
    whole = udp_datagram(c[0], c[1], VIP, 9001, payload(1600, 3), chksum=0)
    frs = fragment(c[0], VIP, whole, [1480, 128], ipid=0x2223)
    outs = translate_fragments(frs, MAC[RS_NAT], whole, dst=RS_NAT, dport=9100)
    assert outs[0][14 + 20 + 6:14 + 20 + 8] == b'\0\0'
    s.frame(0.012, frs[0][1], out=outs[0], new_conn=(RS_NAT, 9100))
    s.frame(0.013, frs[1][1], out=outs[1])
    whole = udp_datagram(RS_NAT, 9100, b[0], b[1], payload(1600, 4))
    frs = fragment(RS_NAT, b[0], whole, [1480, 128], ipid=0x3333, ttl=64, src_mac=MAC[RS_NAT])
    outs = translate_fragments(frs, GW_MAC, whole, src=VIP, sport=9001)
    s.frame(0.014, frs[0][1], out=outs[0])
    s.frame(0.015, frs[1][1], out=outs[1])
    d = ('198.51.100.4', 5004)
    whole = udp_datagram(d[0], d[1], VIP, 9001, payload(2500, 5))
    frs = fragment(d[0], VIP, whole, [1000, 1000, 508], ipid=0x2224)
    outs = translate_fragments(frs, MAC[RS_NAT], whole, dst=RS_NAT, dport=9100)
    s.frame(0.020, frs[1][1], drop='fragment-without-first')   # before its first: not followed
    s.frame(0.021, frs[0][1], out=outs[0], new_conn=(RS_NAT, 9100))
    s.frame(0.022, frs[2][1], out=outs[2])

    # ---- TUN: each fragment encapsulated (DF clear: outer IDs 1, 2 from .21's counter)
    e = ('198.51.100.5', 5005)
    whole = udp_datagram(e[0], e[1], VIP, 9002, payload(1800, 6))
    frs = fragment(e[0], VIP, whole, [1400, 408], ipid=0x4444)
    s.frame(0.030, frs[0][1], out=tun(frs[0][1], RS_TUN, MAC[RS_TUN], '10.0.0.1', 1), new_conn=(RS_TUN, 9002))
    s.frame(0.031, frs[1][1], out=tun(frs[1][1], RS_TUN, MAC[RS_TUN], '10.0.0.1', 2))

    # ---- strays
    g = ('198.51.100.6', 5006)
    whole = udp_datagram(g[0], g[1], VIP, 9001, payload(1600, 7))
    s.frame(0.040, fragment(g[0], VIP, whole, [1480, 128], ipid=0x5555)[1][1], drop='fragment-without-first')
    ping = struct.pack('!BBHHH', 8, 0, 0, 0x99, 1) + payload(1592, 8)
    ping = ping[:2] + struct.pack('!H', checksum(ping)) + ping[4:]
    s.frame(0.041, fragment(g[0], VIP, ping, [1480, 120], ipid=0x5556, proto=1)[1][1], drop='fragment')

    # ---- IPv6 NAT
    h = ('2001:db8:1::100', 5001)
    whole = udp_datagram(h[0], h[1], VIP6, 9001, payload(2000, 9))
    frs = fragment(h[0], VIP6, whole, [1448, 560], ipid=0x55667788, src_mac=GW6_MAC)
    outs = translate_fragments(frs, MAC[RS6], whole, dst=RS6, dport=9100)
    s.frame(0.050, frs[0][1], out=outs[0], new_conn=(RS6, 9100))
    s.frame(0.051, frs[1][1], out=outs[1])
    return s


SCENARIOS = {
    'icmp-relay': icmp_relay,
    'icmp-generated': icmp_generated,
    'fragments': fragments,
}


def main(names):
    for name in names or SCENARIOS:
        if name not in SCENARIOS:
            sys.exit(f'unknown scenario {name!r}; known: {", ".join(SCENARIOS)}')
        s = SCENARIOS[name]()
        s.write()
        print(f'{name}: {len(s.inputs)} in, {len(s.outputs)} out, dropped {s.dropped}')


if __name__ == '__main__':
    main(sys.argv[1:])
