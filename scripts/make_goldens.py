#!/usr/bin/python3
"""
Builds the golden scenarios of uvs's forwarding engine ("tests as data", issues 3 and 4):

    pcaps/<scenario>/in.pcap        input frames
    pcaps/<scenario>/rules          virtual services, `ipvsadm -S -n` format (+ FULLNAT extensions)
    pcaps/<scenario>/director       links, addresses, neighbours, routes (and firewall-mark rules)
    pcaps/<scenario>/expected.pcap  what the director must transmit, in order
    pcaps/<scenario>/expected.json  the counts the replay summary must report
    pcaps/<scenario>/README.md      what the scenario shows

The expected outputs are a small model of notes/forwarding-spec.md, written per scenario. It is deliberately
NOT a re-implementation of IPVS: the helpers below only know how ONE frame is rewritten by each forwarding
method (DR, TUN, NAT, FULLNAT); every scheduling decision, connection state and timeout is worked out by hand
in the comments of the scenario that relies on it, and written down as data (`new_conn=...`, `drop=...`).
The one exception is the hashing schedulers (sh-dr, mh-nat): their decisions come from scripts/sched_reference.py,
the independent reference of the kernel's sh/dh/mh written from the specification.

Deterministic: fixed timestamps, ISNs, IP IDs and ports, and our own pcap writer with a fixed header, so
running it again gives byte-identical files.

Run:  /usr/bin/python3 scripts/make_goldens.py [scenario ...]      (Debian's python3-scapy)
"""

import ipaddress
import json
import os
import socket
import struct
import sys

from scapy.all import (ARP, Dot1Q, Ether, ICMP, ICMPv6EchoRequest, IP, IPv6, IPv6ExtHdrDestOpt,  # noqa: E402
                       IPv6ExtHdrHopByHop, PadN, Raw, TCP, UDP)
from scapy.layers.inet import fragment as scapy_fragment  # noqa: E402

# The hashing schedulers (sh, mh) are not worked out by hand: their decisions come from the independent
# reference of the kernel's sh/dh/mh in scripts/sched_reference.py (written from the specification, shares
# nothing with src/sched). Imported as a module: its names TCP/UDP would clash with scapy's.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sched_reference  # noqa: E402
import icmp_model  # noqa: E402  (the ICMP errors the director sends: TTL 1, too big, no destination)

PCAPS = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'pcaps'))

# All timestamps are T0 + scenario time, in integer microseconds.
T0_US = 1_700_000_000 * 1_000_000

DIRECTOR_MAC = '02:00:00:00:00:01'
GW = '10.0.0.254'            # default gateway: every client is behind it
GW_MAC = '02:00:00:00:00:fe'
GW2 = '10.0.0.253'           # router towards 10.0.1.0/24 (the TUN real server that is not on-link)
GW2_MAC = '02:00:00:00:00:fd'
GW6 = '2001:db8:10::fe'
GW6_MAC = '02:00:00:00:06:fe'
VIP = '192.0.2.10'
VIP6 = '2001:db8::10'

MAC = {
    '10.0.0.11': '02:00:00:00:01:11',
    '10.0.0.12': '02:00:00:00:01:12',
    '10.0.0.13': '02:00:00:00:01:13',
    '10.0.0.14': '02:00:00:00:01:14',
    '10.0.0.15': '02:00:00:00:01:15',
    '10.0.0.16': '02:00:00:00:01:16',
    '10.0.0.21': '02:00:00:00:01:21',
    '2001:db8:10::11': '02:00:00:00:06:11',
    '2001:db8:10::12': '02:00:00:00:06:12',
    '2001:db8:10::13': '02:00:00:00:06:13',
    '2001:db8:10::21': '02:00:00:00:06:21',
}
GW6_2 = '2001:db8:10::fd'     # IPv6 router towards 2001:db8:11::/64 (the ip6ip6 real server that is not on-link)
GW6_2_MAC = '02:00:00:00:06:fd'

DROP_REASONS = {  # the names of src/wire/parsed-frame.ts DROP_REASON_NAMES that these scenarios use
    'arp', 'not-balanced-protocol', 'no-service', 'not-connection-start', 'ftp-data-source-port',
    'ttl-exceeded', 'too-big', 'unknown-reply', 'no-destination',
}


# ----------------------------------------------------------------------------------------------------------
# Internet checksum, our own (used for TOA and to check every expected frame independently of scapy)

def ones_sum(data, s=0):
    if len(data) % 2:
        data = data + b'\0'
    for i in range(0, len(data), 2):
        s += (data[i] << 8) | data[i + 1]
    while s > 0xffff:
        s = (s & 0xffff) + (s >> 16)
    return s


def checksum(data):
    return ~ones_sum(data) & 0xffff


def pseudo_header(src, dst, proto, length):
    if ':' in src:
        return socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) + \
            struct.pack('!IxxxB', length, proto)
    return socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack('!xBH', proto, length)


IPV6_EXT_HEADERS = (0, 43, 60)  # hop-by-hop, routing, destination options (no fragments in these scenarios)


def ipv6_upper_layer(b):
    """(next header, offset) of the upper-layer header of the IPv6 packet b, past its extension headers."""
    nh, off = b[6], 40
    while nh in IPV6_EXT_HEADERS:
        nh, off = b[off], off + (b[off + 1] + 1) * 8
    return nh, off


def check_ip_packet(b, where):
    """Asserts that an IP packet's header and TCP/UDP checksums are right (recursing into IPIP)."""
    if b[0] >> 4 == 4:
        ihl = (b[0] & 15) * 4
        assert ones_sum(b[:ihl]) == 0xffff, f'{where}: bad IPv4 header checksum'
        total = struct.unpack('!H', b[2:4])[0]
        assert total == len(b), f'{where}: IPv4 total length {total} != {len(b)}'
        proto, l4 = b[9], b[ihl:total]
        src, dst = socket.inet_ntoa(b[12:16]), socket.inet_ntoa(b[16:20])
        if struct.unpack('!H', b[6:8])[0] & 0x3fff:
            return  # a fragment: its transport checksum spans the whole datagram (make_goldens_icmp.py checks it)
    else:
        plen = struct.unpack('!H', b[4:6])[0]
        assert plen + 40 == len(b), f'{where}: IPv6 payload length'
        proto, l4off = ipv6_upper_layer(b)
        l4 = b[l4off:]
        src = socket.inet_ntop(socket.AF_INET6, b[8:24])
        dst = socket.inet_ntop(socket.AF_INET6, b[24:40])
    if proto in (4, 41):
        check_ip_packet(l4, where + ' (inner)')
    elif proto in (6, 17):
        field = 16 if proto == 6 else 6
        value = struct.unpack('!H', l4[field:field + 2])[0]
        if proto == 17 and value == 0 and ':' not in src:
            return  # IPv4 UDP without checksum
        assert ones_sum(pseudo_header(src, dst, proto, len(l4)) + l4) == 0xffff, f'{where}: bad L4 checksum'


# ----------------------------------------------------------------------------------------------------------
# Input frames

def ip_header(src, dst, ttl, ipid=0, df=True, tos=0, flow=0):
    if ':' in src:
        return IPv6(src=src, dst=dst, hlim=ttl, tc=tos, fl=flow)
    return IP(src=src, dst=dst, ttl=ttl, id=ipid, flags='DF' if df else 0, tos=tos)


def eth(src_mac, ip_packet, dst_mac=DIRECTOR_MAC, vlan=None):
    if vlan is None:
        return bytes(Ether(dst=dst_mac, src=src_mac) / ip_packet)
    return bytes(Ether(dst=dst_mac, src=src_mac) / Dot1Q(vlan=vlan) / ip_packet)


SYN_OPTIONS = [('MSS', 1460), ('SAckOK', b''), ('Timestamp', (1000, 0)), ('NOP', None), ('WScale', 7)]
SYNACK_OPTIONS = [('MSS', 1460), ('SAckOK', b''), ('Timestamp', (5000, 1000)), ('NOP', None), ('WScale', 7)]


class Tcp:
    """
    One TCP connection seen from the director: `c()` makes a client -> VIP frame, `s()` a real server ->
    (client | FULLNAT local address) frame. Sequence and acknowledgement numbers follow the exchange; the
    IP ID of each side counts up from its start value. Only frame building: no IPVS logic here.
    """

    def __init__(self, client, cport, vip, vport, cisn, sisn, ipid, ttl=60, tos=0, df=True, flow=0,
                 server=None, rport=None, server_to=None, s_ipid=0x4000):
        self.client, self.cport, self.vip, self.vport = client, cport, vip, vport
        self.cnxt, self.snxt = cisn, sisn
        self.ipid, self.ttl, self.tos, self.df, self.flow = ipid, ttl, tos, df, flow
        self.server, self.rport = server, rport
        # where the real server sends its replies: the client (NAT) or the local address (FULLNAT)
        self.server_to = server_to or (client, cport)
        self.s_ipid = s_ipid

    def c(self, flags, data=b'', options=None, ttl=None, tos=None, dport=None, ack=None, dst=None, ext=None):
        """ext: IPv6 extension headers (scapy layers) to put between the IPv6 header and TCP."""
        seq = self.cnxt
        ackno = (self.snxt if 'A' in flags else 0) if ack is None else ack
        ip = ip_header(self.client, dst or self.vip, self.ttl if ttl is None else ttl, self.ipid, self.df,
                       self.tos if tos is None else tos, self.flow)
        self.ipid += 1
        self.cnxt += len(data) + ('S' in flags) + ('F' in flags)
        tcp = TCP(sport=self.cport, dport=dport or self.vport, flags=flags, seq=seq, ack=ackno, window=502,
                  options=options or [])
        if ext is not None:
            ip = ip / ext
        return eth(GW6_MAC if ':' in self.client else GW_MAC, ip / tcp / Raw(data) if data else ip / tcp)

    def s(self, flags, data=b'', options=None):
        seq = self.snxt
        ackno = self.cnxt if 'A' in flags else 0
        dst, dport = self.server_to
        ip = ip_header(self.server, dst, 64, self.s_ipid, True, 0)
        self.s_ipid += 1
        self.snxt += len(data) + ('S' in flags) + ('F' in flags)
        tcp = TCP(sport=self.rport, dport=dport, flags=flags, seq=seq, ack=ackno, window=509,
                  options=options or [])
        return eth(MAC[self.server], ip / tcp / Raw(data) if data else ip / tcp)

    def server_sent(self, n):
        """The real server sent n sequence numbers the director never sees (DR / TUN replies go direct)."""
        self.snxt += n


def udp_frame(src, sport, dst, dport, data, ipid=0, ttl=60, df=False, tos=0, chksum=None, src_mac=GW_MAC,
              vlan=None, ext=None):
    """ext: IPv6 extension headers (scapy layers) to put between the IPv6 header and UDP."""
    udp = UDP(sport=sport, dport=dport) if chksum is None else UDP(sport=sport, dport=dport, chksum=chksum)
    ip = ip_header(src, dst, ttl, ipid, df, tos)
    if ext is not None:
        ip = ip / ext
    return eth(src_mac, ip / udp / Raw(data), vlan=vlan)


# ----------------------------------------------------------------------------------------------------------
# Output model: how the spec rewrites one frame. Each helper returns the expected output frame's bytes.

def ip_of(frame):
    """A fresh, editable copy of the frame's IP packet (VLAN tags stripped; inputs carry no padding)."""
    layer = Ether(frame).payload
    while isinstance(layer, Dot1Q):
        layer = layer.payload
    return layer.__class__(bytes(layer))


def transport(ip):
    return ip.getlayer(TCP) or ip.getlayer(UDP)


def out_frame(ip, next_hop_mac):
    """Output Ethernet: dst = next hop's MAC, src = egress link's MAC, untagged."""
    return bytes(Ether(dst=next_hop_mac, src=DIRECTOR_MAC) / ip)


def decrement_ttl(ip):
    if isinstance(ip, IP):
        assert ip.ttl > 1
        ip.ttl -= 1
        del ip.chksum  # header checksum recomputed
    else:
        assert ip.hlim > 1
        ip.hlim -= 1


def dr(frame, rs):
    """DR: copy, TTL - 1, IPv4 header checksum recomputed, new MACs (next hop = the on-link real server)."""
    ip = ip_of(frame)
    decrement_ttl(ip)
    return out_frame(ip, MAC[rs])


def ecn_encap(tos):
    """Outer TOS/TC: DSCP copied; ECN copied unless CE (0b11), which becomes ECT(0) (0b10)."""
    return (tos & 0xfc) | 0b10 if (tos & 0b11) == 0b11 else tos


def tun(frame, rs, next_hop_mac, outer_src, counter_id):
    """
    TUN (ipip): inner = DR rewrite of the client packet (IPv4 or IPv6); the outer header has the real server's
    family, so 4in4, 6in6 (ip6ip6), 4in6 and 6in4 all come out of here.
    Outer IPv4: 0x45, TOS by ecn_encap, ID 0 when DF is set else `counter_id` (the per-real-server counter the
    scenario tracks by hand), DF copied from an inner IPv4 header (always clear for an inner IPv6 packet), TTL =
    inner TTL/hop limit after the decrement, protocol 4 (inner IPv4) or 41 (inner IPv6).
    Outer IPv6: traffic class by ecn_encap, flow label 0, payload length = inner length, next header 4 or 41,
    hop limit = inner TTL/hop limit after the decrement, no extension headers.
    Source = the director's address on the egress link (of the real server's family).
    """
    inner = ip_of(frame)
    decrement_ttl(inner)
    inner = inner.__class__(bytes(inner))
    if isinstance(inner, IP):
        tos, ttl, df, nh = inner.tos, inner.ttl, bool(int(inner.flags) & 0x2), 4  # scapy: MF = 1, DF = 2
    else:
        tos, ttl, df, nh = inner.tc, inner.hlim, False, 41
    if ':' in rs:
        outer = IPv6(version=6, tc=ecn_encap(tos), fl=0, nh=nh, hlim=ttl, src=outer_src, dst=rs)
    else:
        assert df or counter_id is not None, 'a DF-clear outer IPv4 header needs the counter value'
        outer = IP(version=4, ihl=5, tos=ecn_encap(tos), id=0 if df else counter_id, flags='DF' if df else 0,
                   frag=0, ttl=ttl, proto=nh, src=outer_src, dst=rs)
    return out_frame(outer / inner, next_hop_mac)


def rewrite(frame, next_hop_mac, src=None, sport=None, dst=None, dport=None):
    """NAT/FULLNAT core: TTL - 1, addresses/ports replaced, IP and L4 checksums recomputed.

    A full TCP/UDP recomputation equals RFC 1624's incremental update whenever the input checksum was right
    (both give the unique value in 0..0xfffe); a zero (absent) IPv4 UDP checksum becomes a computed one and a
    computed 0 is sent as 0xffff (scapy does exactly that). make() rejects TCP outputs whose checksum is 0, the
    one value where a sloppy incremental update could legitimately write 0xffff instead.
    """
    ip = ip_of(frame)
    decrement_ttl(ip)
    l4 = transport(ip)
    if src:
        ip.src = src
    if dst:
        ip.dst = dst
    if sport:
        l4.sport = sport
    if dport:
        l4.dport = dport
    del l4.chksum
    return out_frame(ip, next_hop_mac)


def nat_in(frame, rs, rport):
    """NAT client -> server: destination := RS:rport; next hop = the real server."""
    return rewrite(frame, MAC[rs], dst=rs, dport=rport)


def nat_out(frame, vip, vport, next_hop_mac=GW_MAC):
    """NAT server -> client: source := VIP:vport; next hop = route to the client (the default gateway)."""
    return rewrite(frame, next_hop_mac, src=vip, sport=vport)


def fullnat_in(frame, laddr, lport, rs, rport, toa=False):
    """FULLNAT client -> server: laddr:lport -> RS:rport; with toa=True the TOA option is inserted."""
    out = rewrite(frame, MAC[rs], src=laddr, sport=lport, dst=rs, dport=rport)
    if not toa:
        return out
    client = ip_of(frame)
    return insert_toa(out, client.src, client[TCP].sport)


def fullnat_out(frame, vip, vport, client, cport, next_hop_mac=GW_MAC):
    """FULLNAT server -> client: VIP:vport -> client:cport; next hop = route to the client."""
    return rewrite(frame, next_hop_mac, src=vip, sport=vport, dst=client, dport=cport)


def insert_toa(frame, client, cport):
    """
    TOA, put directly after the fixed 20-byte TCP header (before any existing option), as DPVS inserts it:
    IPv4: kind 254, length 8, client port, client IPv4 address; data offset += 2 words, IP total length += 8,
    IPv4 header checksum recomputed. IPv6: kind 254, length 20, client port, client IPv6 address (DPVS
    TCP_OLEN_IP6_ADDR); data offset += 5 words, payload length += 20. TCP checksum recomputed in full. Done on
    bytes so nothing else can move.
    """
    b = bytearray(frame[14:])
    v6 = b[0] >> 4 == 6
    ihl = ipv6_upper_layer(b)[1] if v6 else (b[0] & 15) * 4  # IPv6: past any extension headers
    doff = (b[ihl + 12] >> 4) * 4
    if v6:
        option = bytes([254, 20]) + struct.pack('!H', cport) + socket.inet_pton(socket.AF_INET6, client)
    else:
        option = bytes([254, 8]) + struct.pack('!H', cport) + socket.inet_aton(client)
    assert doff - 20 + len(option) <= 40
    b = b[:ihl + 20] + option + b[ihl + 20:]
    b[ihl + 12] = (((doff + len(option)) // 4) << 4) | (b[ihl + 12] & 0x0f)
    if v6:
        struct.pack_into('!H', b, 4, len(b) - 40)
        src = socket.inet_ntop(socket.AF_INET6, bytes(b[8:24]))
        dst = socket.inet_ntop(socket.AF_INET6, bytes(b[24:40]))
    else:
        struct.pack_into('!H', b, 2, len(b))
        struct.pack_into('!H', b, 10, 0)
        struct.pack_into('!H', b, 10, checksum(bytes(b[:ihl])))
        src, dst = socket.inet_ntoa(bytes(b[12:16])), socket.inet_ntoa(bytes(b[16:20]))
    struct.pack_into('!H', b, ihl + 16, 0)
    struct.pack_into('!H', b, ihl + 16, checksum(pseudo_header(src, dst, 6, len(b) - ihl) + bytes(b[ihl:])))
    return frame[:14] + bytes(b)


def ipv4_fragments(frame, mtu):
    """
    The frames an IPv4 output frame with DF clear becomes on a link of `mtu` bytes (docs/forwarding.md,
    "Fragmentation on output"): itself when it fits; else the pieces the kernel's ip_do_fragment cuts, each with the
    frame's Ethernet header and the packet's IP header (same ID, TOS, TTL, protocol, addresses), (mtu - 20) & ~7 data
    bytes but the last, which takes what is left, MF on all but the last, the offset in 8-byte units, its own total
    length and header checksum. Made by scapy's fragment() and checked here on bytes against those rules. Only for
    packets without IP options that are not fragments themselves (scripts/make_goldens_fragout.py covers both).
    """
    b = frame[14:]
    if len(b) <= mtu:
        return [frame]
    ihl = (b[0] & 15) * 4
    assert ihl == 20 and b[0] >> 4 == 4, 'ipv4_fragments: an IPv4 packet without options'
    assert struct.unpack('!H', b[6:8])[0] == 0, 'ipv4_fragments: DF, MF and offset clear'
    assert struct.unpack('!H', b[2:4])[0] == len(b), 'ipv4_fragments: no padding'
    piece = (mtu - ihl) & ~7
    frags = [bytes(f) for f in scapy_fragment(Ether(frame), fragsize=mtu - ihl)]
    data = b''
    for i, f in enumerate(frags):
        p, last = f[14:], i == len(frags) - 1
        assert f[:14] == frame[:14], 'fragment: Ethernet header'
        assert len(p) <= mtu and struct.unpack('!H', p[2:4])[0] == len(p), 'fragment: total length'
        assert ones_sum(p[:ihl]) == 0xffff, 'fragment: header checksum'
        assert p[:2] == b[:2] and p[4:6] == b[4:6] and p[8:10] == b[8:10] and p[12:20] == b[12:20]
        assert struct.unpack('!H', p[6:8])[0] == (0 if last else 0x2000) | (len(data) // 8), 'fragment: MF, offset'
        chunk = p[ihl:]
        assert len(chunk) == piece or (last and 0 < len(chunk) <= mtu - ihl), 'fragment: data length'
        data += chunk
    assert data == b[ihl:], 'fragments do not put back together into the packet'
    return frags


# ----------------------------------------------------------------------------------------------------------
# Scenario bookkeeping and files

def write_pcap(path, records):
    """Classic pcap, little-endian, version 2.4, microsecond timestamps, snaplen 65535, LINKTYPE_ETHERNET."""
    with open(path, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for ts, data in records:
            f.write(struct.pack('<IIII', ts // 1_000_000, ts % 1_000_000, len(data), len(data)))
            f.write(data)


def endpoint_key(addr, port):
    a = ipaddress.ip_address(addr)
    return f'[{a.compressed}]:{port}' if a.version == 6 else f'{a}:{port}'


class Scenario:
    def __init__(self, name, rules, director, readme, real_servers):
        """real_servers: every dest of the rules as (addr, port), for perRealServer (0 when never chosen)."""
        self.name, self.rules, self.director, self.readme = name, rules, director, readme
        self.inputs, self.outputs = [], []
        self.dropped = {}
        self.per_rs = {endpoint_key(a, p): 0 for a, p in real_servers}
        self.last_ts = -1
        self.answers = 0
        self.fragmented_packets = 0  # inputs sent as several IPv4 fragments (see Scenario.fragmented)
        self.extra = 0               # the fragments beyond the first of those
        self.icmp_id = 0  # the director's IPv4 ID counter for its own ICMP errors (1, 2, 3, ...)

    def icmp(self, frame, kind, src, next_hop_mac, **kw):
        """The director's ICMP error (icmp_model.answer) about `frame`, from `src`, as an output frame."""
        if ip_of(frame).version == 4:
            self.icmp_id += 1
        return out_frame(icmp_model.answer(frame, kind, src, ipid=self.icmp_id, **kw), next_hop_mac)

    def frame(self, t, frame, out=None, drop=None, new_conn=None, answer=None):
        """
        One input frame at scenario time t (seconds), and what the spec says happens to it: `out` is the
        expected output frame (stamped with the input's timestamp), or `drop` names the counted drop reason,
        with `answer` the ICMP error the director sends about it (if any; see Scenario.icmp).
        `new_conn` = (rs, port) when this frame creates a connection bound to that real server.
        """
        ts = T0_US + round(t * 1_000_000)
        assert ts >= self.last_ts, f'{self.name}: time goes backwards at t={t}'
        self.last_ts = ts
        assert (out is None) != (drop is None), f'{self.name}: t={t} needs exactly one of out/drop'
        self.inputs.append((ts, frame))
        if drop:
            assert drop in DROP_REASONS, drop
            self.dropped[drop] = self.dropped.get(drop, 0) + 1
            if answer is not None:
                icmp_model.check_icmp(answer[14:], f'{self.name} t={t} (answer)')
                check_ip_packet(answer[14:], f'{self.name} t={t} (answer)')
                self.outputs.append((ts, answer))
                self.answers += 1
        else:
            where = f'{self.name} t={t}'
            check_ip_packet(out[14:], where)
            ip = ip_of(out)
            tcp = ip.getlayer(TCP)
            if tcp is not None and not isinstance(ip.payload, IP):
                assert tcp.chksum != 0, f'{where}: TCP checksum 0 is ambiguous, change the payload'
            self.outputs.append((ts, out))
        if new_conn:
            self.per_rs[endpoint_key(*new_conn)] += 1

    def fragmented(self, t, frame, outs, new_conn=None):
        """One input whose expected outputs are `outs`, its fragments first to last (ipv4_fragments), all at its time."""
        self.frame(t, frame, out=outs[0], new_conn=new_conn)
        ts = self.outputs[-1][0]
        for f in outs[1:]:
            check_ip_packet(f[14:], f'{self.name} t={t} (fragment)')
            self.outputs.append((ts, f))
        if len(outs) > 1:
            self.fragmented_packets += 1
            self.extra += len(outs) - 1

    def write(self):
        d = os.path.join(PCAPS, self.name)
        os.makedirs(d, exist_ok=True)
        write_pcap(os.path.join(d, 'in.pcap'), self.inputs)
        write_pcap(os.path.join(d, 'expected.pcap'), self.outputs)
        for fname, text in (('rules', self.rules), ('director', self.director), ('README.md', self.readme)):
            with open(os.path.join(d, fname), 'w') as f:
                f.write(text.strip('\n') + '\n')
        summary = {
            'in': len(self.inputs),
            'out': len(self.outputs),
            'dropped': dict(sorted(self.dropped.items())),
            'connections': sum(self.per_rs.values()),
            'perRealServer': {k: {'connections': n} for k, n in self.per_rs.items()},
        }
        if self.fragmented_packets:  # only where there are any, so the other scenarios' files stay as they were
            summary['fragmentedPackets'] = self.fragmented_packets
            summary['fragmentsExtra'] = self.extra
        # Every fragment is a frame out: in + ICMP answers + fragments beyond the first = out + dropped.
        assert summary['in'] + self.answers + self.extra == summary['out'] + sum(self.dropped.values())
        with open(os.path.join(d, 'expected.json'), 'w') as f:
            f.write(json.dumps(summary, indent=2) + '\n')


DIRECTOR_V4 = """
link eth0 mac 02:00:00:00:00:01 mtu 1500
addr 10.0.0.1/24 dev eth0
neigh 10.0.0.254 lladdr 02:00:00:00:00:fe dev eth0
neigh 10.0.0.11 lladdr 02:00:00:00:01:11 dev eth0
neigh 10.0.0.12 lladdr 02:00:00:00:01:12 dev eth0
neigh 10.0.0.13 lladdr 02:00:00:00:01:13 dev eth0
route default via 10.0.0.254 dev eth0
"""

GET = b'GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n'
OK = b'HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\n'


def dns_query(qid, name=b'\x03www\x07example\x03com\x00'):
    return struct.pack('!HHHHHH', qid, 0x0100, 1, 0, 0, 0) + name + b'\x00\x01\x00\x01'


def dns_answer(qid):
    return struct.pack('!HHHHHH', qid, 0x8180, 1, 1, 0, 0) + b'\x03www\x07example\x03com\x00\x00\x01\x00\x01' + \
        b'\xc0\x0c\x00\x01\x00\x01\x00\x00\x0e\x10\x00\x04' + bytes([192, 0, 2, 80])


# ----------------------------------------------------------------------------------------------------------
# Scenarios

def dr_tcp_rr():
    rules = """
# DR, round robin over three real servers. Dests are listed newest first, so the list is
# 10.0.0.13, 10.0.0.12, 10.0.0.11 and rr picks .13, .12, .11, .13, ...
-A -t 192.0.2.10:80 -s rr
-a -t 192.0.2.10:80 -r 10.0.0.11:80 -g -w 1
-a -t 192.0.2.10:80 -r 10.0.0.12:80 -g -w 1
-a -t 192.0.2.10:80 -r 10.0.0.13:80 -g -w 1
"""
    readme = """
DR with rr over three real servers (list .13, .12, .11, newest first). Four TCP connections get .13, .12, .11
and .13 again (rr wraps); every packet of a connection goes to its server with only the MACs, TTL - 1 and the
IPv4 header checksum changed (the destination stays the VIP, TCP untouched). Connection 3 ends with an RST
(still forwarded: it matches its entry). Dropped and not scheduled (the rr cursor does not move): an ARP request
for the VIP (arp), an ICMP echo to the VIP (not-balanced-protocol), a SYN to VIP:443 and one to a non-VIP
address (no-service), an ACK that matches no connection (not-connection-start), a SYN from source port 20
(ftp-data-source-port), and a data segment of connection 2 that arrives with TTL 1 (ttl-exceeded; the director
answers it with ICMP Time Exceeded from the VIP, through the default gateway).
"""
    s = Scenario('dr-tcp-rr', rules, DIRECTOR_V4, readme,
                 [('10.0.0.11', 80), ('10.0.0.12', 80), ('10.0.0.13', 80)])
    RS1, RS2, RS3 = '10.0.0.11', '10.0.0.12', '10.0.0.13'
    c1 = Tcp('198.51.100.1', 40001, VIP, 80, cisn=0x10000000, sisn=0x90000000, ipid=0x1000)
    c2 = Tcp('198.51.100.2', 40002, VIP, 80, cisn=0x20000000, sisn=0xa0000000, ipid=0x2000)
    c3 = Tcp('203.0.113.3', 40003, VIP, 80, cisn=0x30000000, sisn=0xb0000000, ipid=0x3000)
    c4 = Tcp('198.51.100.1', 40004, VIP, 80, cisn=0x40000000, sisn=0xc0000000, ipid=0x4000)

    arp = bytes(Ether(dst='ff:ff:ff:ff:ff:ff', src=GW_MAC) /
                ARP(op=1, hwsrc=GW_MAC, psrc=GW, hwdst='00:00:00:00:00:00', pdst=VIP))
    s.frame(0.000, arp, drop='arp')
    # c1 SYN: first scheduling, rr starts at the head of the list -> .13
    f = c1.c('S', options=SYN_OPTIONS)
    s.frame(0.001, f, out=dr(f, RS3), new_conn=(RS3, 80))
    c1.server_sent(1)  # its SYN-ACK goes straight to the client
    f = c1.c('A')
    s.frame(0.002, f, out=dr(f, RS3))
    # c2 SYN: rr moves on -> .12
    f = c2.c('S', options=SYN_OPTIONS)
    s.frame(0.003, f, out=dr(f, RS2), new_conn=(RS2, 80))
    c2.server_sent(1)
    f = c1.c('PA', GET)
    s.frame(0.004, f, out=dr(f, RS3))
    ping = eth(GW_MAC, IP(src='198.51.100.1', dst=VIP, ttl=60, id=0x1100, flags='DF') /
               ICMP(type=8, id=0x77, seq=1) / Raw(b'0123456789abcdef' * 2))
    s.frame(0.005, ping, drop='not-balanced-protocol')
    f = c2.c('A')
    s.frame(0.006, f, out=dr(f, RS2))
    # c3 SYN: rr -> .11
    f = c3.c('S', options=SYN_OPTIONS)
    s.frame(0.007, f, out=dr(f, RS1), new_conn=(RS1, 80))
    c3.server_sent(1)
    f = c2.c('PA', GET)
    s.frame(0.008, f, out=dr(f, RS2))
    other_port = Tcp('198.51.100.4', 40005, VIP, 443, cisn=0x50000000, sisn=0, ipid=0x5000)
    s.frame(0.009, other_port.c('S', options=SYN_OPTIONS), drop='no-service')
    c1.server_sent(len(OK))
    f = c1.c('FA')
    s.frame(0.010, f, out=dr(f, RS3))
    f = c3.c('A')
    s.frame(0.011, f, out=dr(f, RS1))
    c1.server_sent(1)  # the server's FIN
    f = c1.c('A')
    s.frame(0.012, f, out=dr(f, RS3))
    not_vip = Tcp('198.51.100.5', 40006, '192.0.2.99', 80, cisn=0x60000000, sisn=0, ipid=0x6000)
    s.frame(0.013, not_vip.c('S', options=SYN_OPTIONS), drop='no-service')
    # c3 RST: matches its entry, so it is forwarded (the entry goes to CLOSE)
    f = c3.c('RA')
    s.frame(0.014, f, out=dr(f, RS1))
    stray = Tcp('198.51.100.6', 40007, VIP, 80, cisn=0x70000000, sisn=0x12345678, ipid=0x7000)
    s.frame(0.015, stray.c('A'), drop='not-connection-start')
    ftp_data = Tcp('198.51.100.7', 20, VIP, 80, cisn=0x80000000, sisn=0, ipid=0x7100)
    s.frame(0.016, ftp_data.c('S', options=SYN_OPTIONS), drop='ftp-data-source-port')
    # c4 SYN: the drops above did not schedule, so rr wraps from .11 to the head -> .13
    f = c4.c('S', options=SYN_OPTIONS)
    s.frame(0.017, f, out=dr(f, RS3), new_conn=(RS3, 80))
    c4.server_sent(1)
    f = c2.c('PA', b'more data', ttl=1)
    s.frame(0.018, f, drop='ttl-exceeded', answer=s.icmp(f, 'ttl', VIP, GW_MAC))
    f = c4.c('A')
    s.frame(0.019, f, out=dr(f, RS3))
    c2.server_sent(len(OK))
    f = c2.c('FA')
    s.frame(0.020, f, out=dr(f, RS2))
    c2.server_sent(1)
    f = c2.c('A')
    s.frame(0.021, f, out=dr(f, RS2))
    return s


def dr_udp_wrr():
    rules = """
# DR, weighted round robin. Added one by one: .11 w3, .14 w0, .12 w2, .13 w1, so the list
# (newest first) is .13(1), .12(2), .14(0), .11(3).
-A -u 192.0.2.10:53 -s wrr
-a -u 192.0.2.10:53 -r 10.0.0.11:53 -g -w 3
-a -u 192.0.2.10:53 -r 10.0.0.14:53 -g -w 0
-a -u 192.0.2.10:53 -r 10.0.0.12:53 -g -w 2
-a -u 192.0.2.10:53 -r 10.0.0.13:53 -g -w 1
"""
    director = DIRECTOR_V4.replace('route default', 'neigh 10.0.0.14 lladdr 02:00:00:00:01:14 dev eth0\nroute default')
    readme = """
DR + wrr with weights .11:3, .12:2, .13:1 and .14:0 (list .13, .12, .14, .11). Nine UDP flows show wrr's
warm-up pass (after one-by-one adds cw is 1, so the first pass takes every weight >= 1 in list order: .13, .12,
.11) and then one steady cycle (cw 3: .11; cw 2: .12, .11; cw 1: .13, .12, .11). The weight-0 server .14 is
never chosen. Later datagrams of a flow follow its connection; one arrives with an 802.1Q tag (the output is
untagged) and one has a zero UDP checksum (DR leaves L4 alone, so it stays 0).
"""
    s = Scenario('dr-udp-wrr', rules, director, readme,
                 [('10.0.0.11', 53), ('10.0.0.14', 53), ('10.0.0.12', 53), ('10.0.0.13', 53)])
    A, B, C = '10.0.0.11', '10.0.0.12', '10.0.0.13'
    # wrr state by hand (ipvs-schedulers.md section 3): after the adds di = 1, mw = 3, cw = 1 (warm-up), cl = head.
    #   flow 1: cw 1, walk from head: .13 (1 >= 1)                          -> .13
    #   flow 2: from after .13: .12 (2 >= 1)                               -> .12
    #   flow 3: .14 (0 < 1) skipped, .11 (3 >= 1)                          -> .11
    #   flow 4: end of list, cw 1 - 1 = 0 -> cw = mw = 3; from head: .13, .12, .14 < 3; .11 (3) -> .11
    #   flow 5: end, cw = 2: .13 < 2, .12 (2)                             -> .12
    #   flow 6: .14 < 2, .11                                              -> .11
    #   flow 7: end, cw = 1: .13                                          -> .13
    #   flow 8: .12                                                       -> .12
    #   flow 9: .14 skipped, .11                                          -> .11
    picks = [C, B, A, A, B, A, C, B, A]
    t = 0.0
    for i, rs in enumerate(picks, start=1):
        client = f'198.51.100.{i}' if i % 2 else f'203.0.113.{i}'
        chk = 0 if i == 3 else None  # flow 3's query goes without a UDP checksum
        f = udp_frame(client, 53000 + i, VIP, 53, dns_query(0x100 + i), ipid=0x100 * i, chksum=chk)
        t += 0.001
        s.frame(t, f, out=dr(f, rs), new_conn=(rs, 53))
        if i == 1:  # flow 1 again: same connection, same server
            f = udp_frame(client, 53001, VIP, 53, dns_query(0x201), ipid=0x101)
            t += 0.001
            s.frame(t, f, out=dr(f, C))
        if i == 4:
            f = udp_frame(client, 53004, VIP, 53, dns_query(0x204), ipid=0x401)
            t += 0.001
            s.frame(t, f, out=dr(f, A))
        if i == 5:  # flow 2 again, this time with an 802.1Q tag (stripped on output)
            f = udp_frame('203.0.113.2', 53002, VIP, 53, dns_query(0x202), ipid=0x201, vlan=100)
            t += 0.001
            s.frame(t, f, out=dr(f, B))
    return s


TUN_DIRECTOR = """
link eth0 mac 02:00:00:00:00:01 mtu 1500
addr 10.0.0.1/24 dev eth0
neigh 10.0.0.254 lladdr 02:00:00:00:00:fe dev eth0
neigh 10.0.0.253 lladdr 02:00:00:00:00:fd dev eth0
neigh 10.0.0.21 lladdr 02:00:00:00:01:21 dev eth0
route 10.0.1.0/24 via 10.0.0.253 dev eth0
route default via 10.0.0.254 dev eth0
"""


def tun_tcp():
    rules = """
# TUN (ipip). 10.0.0.21 is on-link; 10.0.1.22 is behind the router 10.0.0.253.
# List (newest first): 10.0.1.22, 10.0.0.21.
-A -t 192.0.2.10:80 -s rr
-a -t 192.0.2.10:80 -r 10.0.0.21:80 -i -w 1 --tun-type ipip
-a -t 192.0.2.10:80 -r 10.0.1.22:80 -i -w 1 --tun-type ipip
"""
    readme = """
TUN (IPIP) with rr over 10.0.1.22 (reached through the router 10.0.0.253: the outer frame goes to the router's
MAC) and 10.0.0.21 (on-link). Each output is outer IPv4 (source 10.0.0.1, the director's address on eth0;
protocol 4; TTL = inner TTL after the decrement; DF copied and, with DF set, ID 0) around the client packet
with TTL - 1. Connection 2 shows the outer TOS: DSCP copied, ECN copied (ECT(0) 0x8a, ECT(1) 0x89) except CE
(inner 0x8b) which becomes ECT(0) (outer 0x8a) while the inner packet keeps CE. A 1480-byte DF segment fits
exactly (outer 1500 = MTU); a 1481-byte one would be 1501 bytes and is dropped (too-big): the client gets ICMP
Fragmentation Needed from the VIP with the tunnel's MTU 1480, quoting its packet with TTL - 1.
"""
    s = Scenario('tun-tcp', rules, TUN_DIRECTOR, readme, [('10.0.0.21', 80), ('10.0.1.22', 80)])
    A, B = '10.0.0.21', '10.0.1.22'
    MAC_A = MAC[A]
    c1 = Tcp('198.51.100.1', 40001, VIP, 80, cisn=0x11000000, sisn=0x91000000, ipid=0x2001)
    c2 = Tcp('203.0.113.2', 40002, VIP, 80, cisn=0x22000000, sisn=0x92000000, ipid=0x3001, tos=0x88)
    # rr: c1 -> head 10.0.1.22 (through the router, GW2_MAC); c2 -> 10.0.0.21. All DF set: outer ID 0.
    f = c1.c('S', options=SYN_OPTIONS)
    s.frame(0.001, f, out=tun(f, B, GW2_MAC, '10.0.0.1', None), new_conn=(B, 80))
    c1.server_sent(1)
    f = c1.c('A')
    s.frame(0.002, f, out=tun(f, B, GW2_MAC, '10.0.0.1', None))
    f = c2.c('SEC', options=SYN_OPTIONS)  # ECN-setup SYN, AF41, not ECT
    s.frame(0.003, f, out=tun(f, A, MAC_A, '10.0.0.1', None), new_conn=(A, 80))
    c2.server_sent(1)
    f = c2.c('A')
    s.frame(0.004, f, out=tun(f, A, MAC_A, '10.0.0.1', None))
    f = c2.c('PA', GET, tos=0x8a)  # ECT(0): copied
    s.frame(0.005, f, out=tun(f, A, MAC_A, '10.0.0.1', None))
    f = c2.c('PA', b'x' * 100, tos=0x8b)  # CE: outer gets ECT(0) = 0x8a
    s.frame(0.006, f, out=tun(f, A, MAC_A, '10.0.0.1', None))
    f = c2.c('PA', b'y' * 100, tos=0x89)  # ECT(1): copied
    s.frame(0.007, f, out=tun(f, A, MAC_A, '10.0.0.1', None))
    # 20 IP + 20 TCP + 1440 data = 1480; outer 1500 = MTU: sent
    f = c1.c('PA', bytes(range(256)) * 5 + bytes(range(160)))
    assert len(f) == 14 + 1480
    s.frame(0.008, f, out=tun(f, B, GW2_MAC, '10.0.0.1', None))
    # one byte more: outer 1501 > 1500 with DF set -> too-big
    f = c1.c('PA', bytes(range(256)) * 5 + bytes(range(161)))
    assert len(f) == 14 + 1481
    s.frame(0.009, f, drop='too-big', answer=s.icmp(f, 'frag', VIP, GW_MAC, mtu=1480, quote_ttl_decremented=True))
    f = c2.c('FA', tos=0x8a)
    s.frame(0.010, f, out=tun(f, A, MAC_A, '10.0.0.1', None))
    f = c1.c('FA')
    s.frame(0.011, f, out=tun(f, B, GW2_MAC, '10.0.0.1', None))
    return s


def tun_udp():
    rules = """
# TUN (ipip) for UDP. 10.0.0.21 is on-link; 10.0.1.22 is behind the router 10.0.0.253.
# List (newest first): 10.0.1.22, 10.0.0.21.
-A -u 192.0.2.10:53 -s rr
-a -u 192.0.2.10:53 -r 10.0.0.21:53 -i -w 1 --tun-type ipip
-a -u 192.0.2.10:53 -r 10.0.1.22:53 -i -w 1 --tun-type ipip
"""
    readme = """
TUN (IPIP) for UDP with DF clear: the outer IP ID comes from a per-real-server counter that gives 1 to the first
DF-clear packet sent to that server, then 2, 3, ... 10.0.1.22 gets outer IDs 1, 2, (a DF-set datagram: ID 0,
counter untouched), 3, 4; 10.0.0.21 gets 1, 2, 3. A CE-marked datagram (TOS 0x03) gets outer TOS 0x02. A
datagram with zero UDP checksum is carried unchanged inside. A 1481-byte DF-clear datagram makes a 1501-byte
outer packet, longer than the link MTU (1500): with DF clear (copied from the inner header) it is cut as the kernel
cuts any IPv4 packet (docs/forwarding.md, "Fragmentation on output"): two fragments of the outer packet, 1480 + 1
data bytes, the outer header (ID 5 from 10.0.1.22's counter) on both, MF on the first, the inner header in the first.
"""
    s = Scenario('tun-udp', rules, TUN_DIRECTOR, readme, [('10.0.0.21', 53), ('10.0.1.22', 53)])
    A, B = '10.0.0.21', '10.0.1.22'
    # rr: flow 1 -> 10.0.1.22 (head), flow 2 -> 10.0.0.21, flow 3 -> wraps to 10.0.1.22.
    # Outer ID counters by hand: B: 1, 2, (DF: 0), 3, 4, 5 ; A: 1, 2, 3.
    f1 = ('198.51.100.1', 5001)
    f2 = ('203.0.113.2', 5002)
    f3 = ('198.51.100.3', 5003)

    def q(flow, qid, ipid, **kw):
        return udp_frame(flow[0], flow[1], VIP, 53, dns_query(qid), ipid=ipid, **kw)

    f = q(f1, 1, 0x0101)
    s.frame(0.001, f, out=tun(f, B, GW2_MAC, '10.0.0.1', 1), new_conn=(B, 53))
    f = q(f2, 2, 0x0201)
    s.frame(0.002, f, out=tun(f, A, MAC[A], '10.0.0.1', 1), new_conn=(A, 53))
    f = q(f1, 3, 0x0102)
    s.frame(0.003, f, out=tun(f, B, GW2_MAC, '10.0.0.1', 2))
    f = q(f1, 4, 0x0103, df=True)  # DF set: outer DF, ID 0, B's counter stays at 2
    s.frame(0.004, f, out=tun(f, B, GW2_MAC, '10.0.0.1', None))
    f = q(f2, 5, 0x0202, tos=0x03)  # CE -> outer ECT(0)
    s.frame(0.005, f, out=tun(f, A, MAC[A], '10.0.0.1', 2))
    f = q(f1, 6, 0x0104)
    s.frame(0.006, f, out=tun(f, B, GW2_MAC, '10.0.0.1', 3))
    f = q(f2, 7, 0x0203, chksum=0)  # no UDP checksum: inner left as is
    s.frame(0.007, f, out=tun(f, A, MAC[A], '10.0.0.1', 3))
    f = q(f3, 8, 0x0301)
    s.frame(0.008, f, out=tun(f, B, GW2_MAC, '10.0.0.1', 4), new_conn=(B, 53))
    # 20 + 8 + 1453 = 1481 bytes, DF clear: outer 1501 > 1500 -> fragmented, 1480 + 1 data bytes, outer ID 5
    query = dns_query(9)
    big = udp_frame(f3[0], f3[1], VIP, 53, query + b'\0' * (1453 - len(query)), ipid=0x0302)
    assert len(big) == 14 + 1481
    outs = ipv4_fragments(tun(big, B, GW2_MAC, '10.0.0.1', 5), 1500)
    assert [len(o) - 14 - 20 for o in outs] == [1480, 1]
    s.fragmented(0.009, big, outs)
    return s


def nat_tcp():
    rules = """
# NAT (masquerading), wlc (the default scheduler), two servers of weight 1, VIP:80 mapped to port 8080.
# List (newest first): 10.0.0.12:8080, 10.0.0.11:8080.
-A -t 192.0.2.10:80 -s wlc
-a -t 192.0.2.10:80 -r 10.0.0.11:8080 -m -w 1
-a -t 192.0.2.10:80 -r 10.0.0.12:8080 -m -w 1
"""
    readme = """
NAT with wlc and port mapping (VIP:80 -> RS:8080). Client -> server packets get destination RS:8080, replies get
source VIP:80; both TTL - 1, IP checksum recomputed, TCP checksum updated; replies leave through the default
gateway (the route to the client). Connection A (to .12: both idle, the first in list order wins) runs a whole
lifecycle and ends in TIME_WAIT, which counts as inactive (overhead 1). So B goes to .11 (overhead 0), and C
goes back to .12 (overhead 1 against .11's 256 for B, active). B is closed by the server first; C is reset by
the server (the RST is rewritten too). A segment from 10.0.0.11:8080 to a client with no connection is dropped
(unknown-reply).
"""
    s = Scenario('nat-tcp', rules, DIRECTOR_V4, readme, [('10.0.0.11', 8080), ('10.0.0.12', 8080)])
    RS1, RS2 = '10.0.0.11', '10.0.0.12'
    a = Tcp('198.51.100.1', 40001, VIP, 80, cisn=0x0a000000, sisn=0x1a000000, ipid=0x0a00, server=RS2, rport=8080)
    b = Tcp('198.51.100.2', 40002, VIP, 80, cisn=0x0b000000, sisn=0x1b000000, ipid=0x0b00, server=RS1, rport=8080)
    c = Tcp('203.0.113.3', 40003, VIP, 80, cisn=0x0c000000, sisn=0x1c000000, ipid=0x0c00, server=RS2, rport=8080)

    def cin(t, conn, f, **kw):
        s.frame(t, f, out=nat_in(f, conn.server, 8080), **kw)

    def sout(t, f):
        s.frame(t, f, out=nat_out(f, VIP, 80))

    # A SYN, wlc: .12 overhead 0, .11 overhead 0 -> no strictly smaller one: keep the first, .12.
    #   .12: 1 active (SYN_RECV)
    cin(0.001, a, a.c('S', options=SYN_OPTIONS), new_conn=(RS2, 8080))
    sout(0.002, a.s('SA', options=SYNACK_OPTIONS))     # OUTPUT SYN: SYN_RECV
    cin(0.003, a, a.c('A'))                            # INPUT ACK: ESTABLISHED
    cin(0.004, a, a.c('PA', GET))
    sout(0.005, a.s('PA', OK))
    cin(0.006, a, a.c('A'))
    cin(0.007, a, a.c('FA'))                           # INPUT FIN: CLOSE_WAIT (inactive)
    sout(0.008, a.s('A'))                              # OUTPUT ACK: CLOSE_WAIT
    sout(0.009, a.s('FA'))                             # OUTPUT FIN: TIME_WAIT (inactive, 120 s)
    cin(0.010, a, a.c('A'))                            # TIME_WAIT
    # B SYN, wlc: .12 overhead 0*256 + 1 = 1, .11 overhead 0; 1*1 > 0*1 -> .11
    cin(0.011, b, b.c('S', options=SYN_OPTIONS), new_conn=(RS1, 8080))
    sout(0.012, b.s('SA', options=SYNACK_OPTIONS))
    cin(0.013, b, b.c('A'))                            # B ESTABLISHED: .11 overhead 256
    # C SYN, wlc: .12 overhead 1, .11 overhead 256; 1*1 > 256*1 is false -> keep .12
    cin(0.014, c, c.c('S', options=SYN_OPTIONS), new_conn=(RS2, 8080))
    sout(0.015, c.s('SA', options=SYNACK_OPTIONS))
    cin(0.016, b, b.c('PA', GET))
    cin(0.017, c, c.c('A'))
    stray = Tcp('198.51.100.50', 45000, VIP, 80, cisn=0x0d000000, sisn=0x1d000000, ipid=0, server=RS1,
                rport=8080)
    s.frame(0.018, stray.s('A'), drop='unknown-reply')
    sout(0.019, b.s('PA', OK))
    sout(0.020, b.s('FA'))                             # server closes first: FIN_WAIT
    cin(0.021, b, b.c('FA'))                           # TIME_WAIT
    sout(0.022, b.s('A'))
    cin(0.023, c, c.c('PA', GET))
    sout(0.024, c.s('RA'))                             # server reset: rewritten like any reply
    return s


def nat_udp():
    rules = """
# NAT for UDP, rr, VIP:53 mapped to port 5353. List (newest first): 10.0.0.12:5353, 10.0.0.11:5353.
-A -u 192.0.2.10:53 -s rr
-a -u 192.0.2.10:53 -r 10.0.0.11:5353 -m -w 1
-a -u 192.0.2.10:53 -r 10.0.0.12:5353 -m -w 1
"""
    readme = """
NAT for UDP with port mapping (VIP:53 -> RS:5353), rr (.12, .11, .12). Queries get destination RS:5353, answers
source VIP:53, TTL - 1 both ways. A datagram without UDP checksum (0) gets a fully computed checksum, in both
directions. Flow 3's query is built so that its computed checksum after the rewrite is 0, which must be sent as
0xffff. An answer from 10.0.0.11:5353 to a client with no connection is dropped (unknown-reply).
"""
    s = Scenario('nat-udp', rules, DIRECTOR_V4, readme, [('10.0.0.11', 5353), ('10.0.0.12', 5353)])
    RS1, RS2 = '10.0.0.11', '10.0.0.12'
    # rr: flow 1 -> .12 (head), flow 2 -> .11, flow 3 -> .12
    f = udp_frame('198.51.100.1', 5001, VIP, 53, dns_query(0x1001), ipid=0x0101)
    s.frame(0.001, f, out=nat_in(f, RS2, 5353), new_conn=(RS2, 5353))
    f = udp_frame(RS2, 5353, '198.51.100.1', 5001, dns_answer(0x1001), ipid=0x4001, ttl=64, src_mac=MAC[RS2])
    s.frame(0.002, f, out=nat_out(f, VIP, 53))
    f = udp_frame('203.0.113.2', 5002, VIP, 53, dns_query(0x1002), ipid=0x0201, chksum=0)
    s.frame(0.003, f, out=nat_in(f, RS1, 5353), new_conn=(RS1, 5353))
    f = udp_frame(RS1, 5353, '203.0.113.2', 5002, dns_answer(0x1002), ipid=0x4101, ttl=64, chksum=0,
                  src_mac=MAC[RS1])
    s.frame(0.004, f, out=nat_out(f, VIP, 53))
    # Flow 3: the last two payload bytes are chosen so that the rewritten datagram (198.51.100.3:5003 ->
    # 10.0.0.12:5353) sums to 0xffff, i.e. its computed checksum is 0 -> sent as 0xffff.
    base = dns_query(0x1003) + b'\0' + b'\0\0'  # query (33 bytes), one byte to even, then the tuned word
    assert len(base) % 2 == 0
    udp_len = 8 + len(base)
    partial = ones_sum(pseudo_header('198.51.100.3', RS2, 17, udp_len) +
                       struct.pack('!HHHH', 5003, 5353, udp_len, 0) + base)
    pad = 0xffff - partial
    payload = base[:-2] + struct.pack('!H', pad)
    f = udp_frame('198.51.100.3', 5003, VIP, 53, payload, ipid=0x0301, chksum=0)
    out = nat_in(f, RS2, 5353)
    assert UDP(bytes(ip_of(out).payload)).chksum == 0xffff
    s.frame(0.005, f, out=out, new_conn=(RS2, 5353))
    f = udp_frame(RS2, 5353, '198.51.100.3', 5003, dns_answer(0x1003), ipid=0x4002, ttl=64, src_mac=MAC[RS2])
    s.frame(0.006, f, out=nat_out(f, VIP, 53))
    f = udp_frame('198.51.100.1', 5001, VIP, 53, dns_query(0x1004), ipid=0x0102)
    s.frame(0.007, f, out=nat_in(f, RS2, 5353))
    f = udp_frame(RS1, 5353, '198.51.100.9', 5009, dns_answer(0x1009), ipid=0x4102, ttl=64, src_mac=MAC[RS1])
    s.frame(0.008, f, drop='unknown-reply')
    f = udp_frame(RS2, 5353, '198.51.100.1', 5001, dns_answer(0x1004), ipid=0x4003, ttl=64, src_mac=MAC[RS2])
    s.frame(0.009, f, out=nat_out(f, VIP, 53))
    return s


FULLNAT_DIRECTOR = """
link eth0 mac 02:00:00:00:00:01 mtu 1500
addr 10.0.0.1/24 dev eth0
addr 10.0.0.2/24 dev eth0
addr 10.0.0.3/24 dev eth0
neigh 10.0.0.254 lladdr 02:00:00:00:00:fe dev eth0
neigh 10.0.0.11 lladdr 02:00:00:00:01:11 dev eth0
neigh 10.0.0.12 lladdr 02:00:00:00:01:12 dev eth0
route default via 10.0.0.254 dev eth0
"""


def fullnat_tcp():
    rules = """
# FULLNAT, rr, VIP:80 mapped to port 8080, local addresses 10.0.0.2 then 10.0.0.3.
# List (newest first): 10.0.0.12:8080, 10.0.0.11:8080.
-A -t 192.0.2.10:80 -s rr
-a -t 192.0.2.10:80 -r 10.0.0.11:8080 --fullnat -w 1
-a -t 192.0.2.10:80 -r 10.0.0.12:8080 --fullnat -w 1
-P -t 192.0.2.10:80 -z 10.0.0.2
-P -t 192.0.2.10:80 -z 10.0.0.3
"""
    readme = """
FULLNAT with two local addresses. Three connections: rr gives .12, .11, .12 and the local address/port pool
gives 10.0.0.2:1025, 10.0.0.3:1025, 10.0.0.2:1026 (round robin over the addresses, a port cursor per address
from 1025). Client -> server: laddr:lport -> RS:8080; replies RS:8080 -> laddr:lport become VIP:80 ->
client:cport through the default gateway; TTL - 1 both ways. TOA (kind 254, length 8, client port, client IPv4)
is inserted right after the fixed TCP header in the first client packet without SYN/RST whose ACK number is the
server's ISN + 1: K1's handshake ACK (data offset 5 -> 7), K2's first data segment (it sent no bare ACK) and K3's
ACK, which already has NOP NOP timestamp (TOA goes before them: data offset 8 -> 10). Later packets (K1's data,
still acking ISN + 1; K3's data) get no TOA. A segment from 10.0.0.12:8080 to an unused 10.0.0.2:1030 is
dropped (unknown-reply).
"""
    s = Scenario('fullnat-tcp', rules, FULLNAT_DIRECTOR, readme, [('10.0.0.11', 8080), ('10.0.0.12', 8080)])
    RS1, RS2 = '10.0.0.11', '10.0.0.12'
    L1, L2 = '10.0.0.2', '10.0.0.3'
    # K1: rr head .12; laddr cursor at L1, L1's port cursor 1025 -> L1:1025
    # K2: rr .11; laddr L2, port 1025                              -> L2:1025
    # K3: rr wraps to .12; laddr back to L1, L1's next port 1026   -> L1:1026
    k1 = Tcp('198.51.100.1', 40001, VIP, 80, cisn=0x01000000, sisn=0x5eed0001, ipid=0x0100,
             server=RS2, rport=8080, server_to=(L1, 1025))
    k2 = Tcp('203.0.113.2', 40002, VIP, 80, cisn=0x02000000, sisn=0x5eed0002, ipid=0x0200,
             server=RS1, rport=8080, server_to=(L2, 1025))
    k3 = Tcp('198.51.100.3', 40003, VIP, 80, cisn=0x03000000, sisn=0x5eed0003, ipid=0x0300,
             server=RS2, rport=8080, server_to=(L1, 1026))

    def cin(t, k, laddr, lport, f, toa=False, **kw):
        s.frame(t, f, out=fullnat_in(f, laddr, lport, k.server, 8080, toa=toa), **kw)

    def sout(t, k, f):
        s.frame(t, f, out=fullnat_out(f, VIP, 80, k.client, k.cport))

    cin(0.001, k1, L1, 1025, k1.c('S', options=SYN_OPTIONS), new_conn=(RS2, 8080))
    sout(0.002, k1, k1.s('SA', options=[('MSS', 1460), ('NOP', None), ('WScale', 7)]))  # ISN 0x5eed0001
    cin(0.003, k1, L1, 1025, k1.c('A'), toa=True)          # ack = ISN + 1: TOA
    cin(0.004, k1, L1, 1025, k1.c('PA', GET))               # ack still ISN + 1, but TOA was done
    sout(0.005, k1, k1.s('PA', OK))
    cin(0.006, k2, L2, 1025, k2.c('S', options=SYN_OPTIONS), new_conn=(RS1, 8080))
    sout(0.007, k2, k2.s('SA', options=[('MSS', 1460)]))
    cin(0.008, k2, L2, 1025, k2.c('PA', GET), toa=True)     # no bare ACK: the first data gets TOA
    ts_syn = [('MSS', 1460), ('SAckOK', b''), ('Timestamp', (7000, 0)), ('NOP', None), ('WScale', 7)]
    cin(0.009, k3, L1, 1026, k3.c('S', options=ts_syn), new_conn=(RS2, 8080))
    sout(0.010, k3, k3.s('SA', options=[('MSS', 1460), ('SAckOK', b''), ('Timestamp', (9000, 7000)),
                                        ('NOP', None), ('WScale', 7)]))
    ts_opts = [('NOP', None), ('NOP', None), ('Timestamp', (7001, 9000))]
    cin(0.011, k3, L1, 1026, k3.c('A', options=ts_opts), toa=True)  # TOA before NOP NOP TS
    cin(0.012, k1, L1, 1025, k1.c('A'))                      # acks the server's data: no TOA
    cin(0.013, k1, L1, 1025, k1.c('FA'))
    sout(0.014, k1, k1.s('FA'))
    cin(0.015, k1, L1, 1025, k1.c('A'))
    stray = Tcp(L1, 1030, VIP, 80, cisn=0, sisn=0x5eed0009, ipid=0, server=RS2, rport=8080,
                server_to=(L1, 1030))
    s.frame(0.016, stray.s('A'), drop='unknown-reply')
    sout(0.017, k2, k2.s('PA', OK))
    cin(0.018, k3, L1, 1026, k3.c('PA', GET, options=[('NOP', None), ('NOP', None), ('Timestamp', (7002, 9000))]))
    return s


def fullnat_udp():
    rules = """
# FULLNAT for UDP, rr, VIP:53 mapped to port 5353, local addresses 10.0.0.2 then 10.0.0.3.
# List (newest first): 10.0.0.12:5353, 10.0.0.11:5353.
-A -u 192.0.2.10:53 -s rr
-a -u 192.0.2.10:53 -r 10.0.0.11:5353 --fullnat -w 1
-a -u 192.0.2.10:53 -r 10.0.0.12:5353 --fullnat -w 1
-P -u 192.0.2.10:53 -z 10.0.0.2
-P -u 192.0.2.10:53 -z 10.0.0.3
"""
    readme = """
FULLNAT for UDP. Three flows: rr .12, .11, .12 with local 10.0.0.2:1025, 10.0.0.3:1025, 10.0.0.2:1026. Queries
become laddr:lport -> RS:5353, answers RS:5353 -> laddr:lport become VIP:53 -> client:cport; TTL - 1. Flow 2's
query and answer carry no UDP checksum (0) and get a computed one. A second query of flow 1 reuses its
connection (same local port). An answer from 10.0.0.11:5353 to the unused 10.0.0.3:1026 is dropped
(unknown-reply).
"""
    s = Scenario('fullnat-udp', rules, FULLNAT_DIRECTOR, readme, [('10.0.0.11', 5353), ('10.0.0.12', 5353)])
    RS1, RS2 = '10.0.0.11', '10.0.0.12'
    L1, L2 = '10.0.0.2', '10.0.0.3'
    # flow 1: rr .12, L1:1025 ; flow 2: rr .11, L2:1025 ; flow 3: rr .12, L1:1026
    flows = [(('198.51.100.1', 5001), RS2, L1, 1025), (('203.0.113.2', 5002), RS1, L2, 1025),
             (('198.51.100.1', 5003), RS2, L1, 1026)]
    t = 0.0
    for i, ((client, cport), rs, laddr, lport) in enumerate(flows, start=1):
        chk = 0 if i == 2 else None
        f = udp_frame(client, cport, VIP, 53, dns_query(0x2000 + i), ipid=0x0100 * i, chksum=chk)
        t += 0.001
        s.frame(t, f, out=fullnat_in(f, laddr, lport, rs, 5353), new_conn=(rs, 5353))
        f = udp_frame(rs, 5353, laddr, lport, dns_answer(0x2000 + i), ipid=0x4000 + i, ttl=64, chksum=chk,
                      src_mac=MAC[rs])
        t += 0.001
        s.frame(t, f, out=fullnat_out(f, VIP, 53, client, cport))
    f = udp_frame('198.51.100.1', 5001, VIP, 53, dns_query(0x2011), ipid=0x0102)
    s.frame(0.010, f, out=fullnat_in(f, L1, 1025, RS2, 5353))
    f = udp_frame(RS1, 5353, L2, 1026, dns_answer(0x2012), ipid=0x4101, ttl=64, src_mac=MAC[RS1])
    s.frame(0.011, f, drop='unknown-reply')
    f = udp_frame(RS2, 5353, L1, 1025, dns_answer(0x2011), ipid=0x4011, ttl=64, src_mac=MAC[RS2])
    s.frame(0.012, f, out=fullnat_out(f, VIP, 53, '198.51.100.1', 5001))
    return s


def expiry():
    rules = """
# UDP (DR, rr) list, newest first: 10.0.0.13, 10.0.0.12, 10.0.0.11.
-A -u 192.0.2.10:53 -s rr
-a -u 192.0.2.10:53 -r 10.0.0.11:53 -g -w 1
-a -u 192.0.2.10:53 -r 10.0.0.12:53 -g -w 1
-a -u 192.0.2.10:53 -r 10.0.0.13:53 -g -w 1
# TCP (NAT, rr) list, newest first: 10.0.0.12, 10.0.0.11.
-A -t 192.0.2.10:80 -s rr
-a -t 192.0.2.10:80 -r 10.0.0.11:80 -m -w 1
-a -t 192.0.2.10:80 -r 10.0.0.12:80 -m -w 1
"""
    readme = """
Timeouts and connection reuse, over 1000 s of scenario time. UDP (300 s, re-armed by every packet): flow U1
(.13) is idle exactly 300 s, so its entry is gone (expiry <= packet time) and the next datagram is scheduled
afresh (rr moves on to .11), while flow U2 (.12), idle 299.999 s, keeps its server. TCP over NAT: T1 becomes
ESTABLISHED (900 s) and idles ~999 s; its next ACK is dropped (not-connection-start), the server's next segment
too (unknown-reply), and a new SYN from the same client port is a new connection (rr: .11). T2 closes normally
and sits in TIME_WAIT; a new SYN from the same port expires that entry and is scheduled afresh (rr: .12,
conn_reuse_mode); its retransmitted SYN hits the new SYN_RECV entry and is not rescheduled.
"""
    s = Scenario('expiry', rules, DIRECTOR_V4, readme,
                 [('10.0.0.11', 53), ('10.0.0.12', 53), ('10.0.0.13', 53), ('10.0.0.11', 80), ('10.0.0.12', 80)])
    RS1, RS2, RS3 = '10.0.0.11', '10.0.0.12', '10.0.0.13'
    U1, U2 = ('198.51.100.1', 5001), ('203.0.113.2', 5002)

    def u(t, flow, qid, rs, new=False):
        f = udp_frame(flow[0], flow[1], VIP, 53, dns_query(qid), ipid=qid)
        s.frame(t, f, out=dr(f, rs), new_conn=(rs, 53) if new else None)

    def cin(t, conn, f, **kw):
        s.frame(t, f, out=nat_in(f, conn.server, 80), **kw)

    def sout(t, f):
        s.frame(t, f, out=nat_out(f, VIP, 80))

    # UDP rr (own cursor): U1 -> .13 (head). Entry expires at 0 + 300.
    u(0.000, U1, 0x0001, RS3, new=True)
    # TCP rr (own cursor): T1 -> .12 (head)
    t1 = Tcp('198.51.100.11', 40001, VIP, 80, cisn=0x71000000, sisn=0x81000000, ipid=0x7100, server=RS2, rport=80)
    cin(1.000, t1, t1.c('S', options=SYN_OPTIONS), new_conn=(RS2, 80))
    sout(1.001, t1.s('SA', options=SYNACK_OPTIONS))
    cin(1.002, t1, t1.c('A'))                                   # ESTABLISHED
    cin(1.003, t1, t1.c('PA', GET))
    sout(1.004, t1.s('PA', OK))                                 # last packet: expires at 1.004 + 900 = 901.004
    # T2 -> .11 (rr moves on), full close: CLOSE_WAIT, then TIME_WAIT (120 s)
    t2 = Tcp('198.51.100.12', 40002, VIP, 80, cisn=0x72000000, sisn=0x82000000, ipid=0x7200, server=RS1, rport=80)
    cin(2.000, t2, t2.c('S', options=SYN_OPTIONS), new_conn=(RS1, 80))
    sout(2.001, t2.s('SA', options=SYNACK_OPTIONS))
    cin(2.002, t2, t2.c('A'))
    cin(2.003, t2, t2.c('FA'))                                  # INPUT FIN: CLOSE_WAIT
    sout(2.004, t2.s('A'))
    sout(2.005, t2.s('FA'))                                     # OUTPUT FIN: TIME_WAIT
    cin(2.006, t2, t2.c('A'))                                   # TIME_WAIT until 122.006
    # New SYN from the same client port on the TIME_WAIT entry: expired, scheduled afresh -> rr .12
    t2b = Tcp('198.51.100.12', 40002, VIP, 80, cisn=0x73000000, sisn=0x83000000, ipid=0x7300, server=RS2, rport=80)
    syn = t2b.c('S', options=SYN_OPTIONS)
    cin(3.000, t2b, syn, new_conn=(RS2, 80))
    # Retransmission of that SYN: the entry is in SYN_RECV, not TIME_WAIT/CLOSE -> same entry, same server
    cin(3.500, t2b, syn)
    sout(3.501, t2b.s('SA', options=SYNACK_OPTIONS))
    cin(3.502, t2b, t2b.c('A'))
    # U2 -> .12 (UDP rr moves on). Expires at 10 + 300 = 310.
    u(10.000, U2, 0x0002, RS2, new=True)
    u(100.000, U1, 0x0003, RS3)                                 # U1 alive (300 > 100): expires at 400 now
    u(309.999, U2, 0x0004, RS2)                                 # 310 > 309.999: still alive
    u(400.000, U1, 0x0005, RS1, new=True)                       # 400 <= 400: gone; rr after .12 -> .11
    # T1's entry expired at 901.004.
    s.frame(1000.000, t1.c('A'), drop='not-connection-start')
    s.frame(1000.001, t1.s('PA', b'late data\n'), drop='unknown-reply')
    # Same client port, new SYN: a new connection; TCP rr after .12 (T2's second connection) -> .11
    t1b = Tcp('198.51.100.11', 40001, VIP, 80, cisn=0x74000000, sisn=0x84000000, ipid=0x7400, server=RS1, rport=80)
    cin(1000.500, t1b, t1b.c('S', options=SYN_OPTIONS), new_conn=(RS1, 80))
    sout(1000.501, t1b.s('SA', options=SYNACK_OPTIONS))
    cin(1000.502, t1b, t1b.c('A'))
    return s


def wlc_counts():
    rules = """
# wlc, weights 2 (10.0.0.11) and 1 (10.0.0.12). Added .12 then .11: list (newest first) .11, .12.
-A -t 192.0.2.10:80 -s wlc
-a -t 192.0.2.10:80 -r 10.0.0.12:80 -g -w 1
-a -t 192.0.2.10:80 -r 10.0.0.11:80 -g -w 2
-A -u 192.0.2.10:53 -s wlc
-a -u 192.0.2.10:53 -r 10.0.0.12:53 -g -w 1
-a -u 192.0.2.10:53 -r 10.0.0.11:53 -g -w 2
"""
    readme = """
wlc decisions that depend on the active/inactive counts, DR, weights .11:2 and .12:1 (list .11, .12).
overhead = active * 256 + inactive; .12 replaces .11 only when overhead(.11) * 1 > overhead(.12) * 2.
TCP: K1 .11, K2 .12, K3 .11; K1 is then reset (CLOSE: inactive, overhead of .11 256 + 1 = 257); K4 .11 (257 vs
512); K5 .12 because .11's overhead 513 > 2 * 256 - without K1's inactive entry it would be a tie (512) kept by
.11; K6 .11 (513 vs 1024). UDP entries are never active (overhead 1 each): flows go .11, .12, .11, .11, .12,
.11 (ties keep .11).
"""
    s = Scenario('wlc-counts', rules, DIRECTOR_V4, readme,
                 [('10.0.0.12', 80), ('10.0.0.11', 80), ('10.0.0.12', 53), ('10.0.0.11', 53)])
    A, B = '10.0.0.11', '10.0.0.12'
    ks = [Tcp(f'198.51.100.{i}', 41000 + i, VIP, 80, cisn=0x01000000 * i, sisn=0x81000000 + i, ipid=0x100 * i)
          for i in range(1, 7)]

    def send(t, k, flags, rs, new=False):
        f = k.c(flags, options=SYN_OPTIONS if flags == 'S' else None)
        if flags == 'S':
            k.server_sent(1)
        s.frame(t, f, out=dr(f, rs), new_conn=(rs, 80) if new else None)

    # oA / oB = overheads of .11 (w 2) and .12 (w 1) just before each decision
    send(0.001, ks[0], 'S', A, new=True)   # K1: 0 / 0: tie -> .11 (first). .11 active 1
    send(0.002, ks[0], 'A', A)             # K1 ESTABLISHED (still active)
    send(0.003, ks[1], 'S', B, new=True)   # K2: 256 / 0: 256*1 > 0*2 -> .12
    send(0.004, ks[1], 'A', B)
    send(0.005, ks[2], 'S', A, new=True)   # K3: 256 / 256: 256 > 512? no -> .11. .11 active 2
    send(0.006, ks[0], 'RA', A)            # K1 RST: CLOSE, inactive. .11: 1 active + 1 inactive = 257
    send(0.007, ks[3], 'S', A, new=True)   # K4: 257 / 256: 257 > 512? no -> .11. .11: 2 act + 1 inact = 513
    send(0.008, ks[4], 'S', B, new=True)   # K5: 513 / 256: 513 > 512 -> .12. .12: 2 active = 512
    send(0.009, ks[5], 'S', A, new=True)   # K6: 513 / 512: 513 > 1024? no -> .11
    # UDP: every entry inactive, overhead = number of flows.
    #   U1: 0/0 -> .11 ; U2: 1/0: 1 > 0 -> .12 ; U3: 1/1: 1 > 2? no -> .11 ; U4: 2/1: 2 > 2? no -> .11 ;
    #   U5: 3/1: 3 > 2 -> .12 ; U6: 3/2: 3 > 4? no -> .11
    for i, rs in enumerate([A, B, A, A, B, A], start=1):
        f = udp_frame(f'203.0.113.{i}', 6000 + i, VIP, 53, dns_query(0x3000 + i), ipid=0x3000 + i)
        s.frame(0.010 + i / 1000, f, out=dr(f, rs), new_conn=(rs, 53))
    return s


DIRECTOR_V6 = """
link eth0 mac 02:00:00:00:00:01 mtu 1500
addr 2001:db8:10::1/64 dev eth0
neigh 2001:db8:10::fe lladdr 02:00:00:00:06:fe dev eth0
neigh 2001:db8:10::11 lladdr 02:00:00:00:06:11 dev eth0
neigh 2001:db8:10::12 lladdr 02:00:00:00:06:12 dev eth0
route default via 2001:db8:10::fe dev eth0
"""


def ipv6_dr():
    rules = """
# IPv6 DR, rr. List (newest first): 2001:db8:10::12, 2001:db8:10::11.
-A -t [2001:db8::10]:80 -s rr
-a -t [2001:db8::10]:80 -r [2001:db8:10::11]:80 -g -w 1
-a -t [2001:db8::10]:80 -r [2001:db8:10::12]:80 -g -w 1
"""
    readme = """
IPv6 DR: client, VIP and real servers are IPv6. rr sends connection 1 to ::12 and connection 2 to ::11. Only the
MACs and the hop limit (- 1) change; traffic class, flow label, addresses and TCP stay as they came. A segment
arriving with hop limit 1 is dropped (ttl-exceeded) and answered with ICMPv6 Time Exceeded from the VIP; an ICMPv6
echo to the VIP is not balanced
(not-balanced-protocol).
"""
    s = Scenario('ipv6-dr', rules, DIRECTOR_V6, readme, [('2001:db8:10::11', 80), ('2001:db8:10::12', 80)])
    A, B = '2001:db8:10::11', '2001:db8:10::12'
    c1 = Tcp('2001:db8:1::100', 40001, VIP6, 80, cisn=0x61000000, sisn=0x91000000, ipid=0, flow=0x12345)
    c2 = Tcp('2001:db8:2::200', 40002, VIP6, 80, cisn=0x62000000, sisn=0x92000000, ipid=0, flow=0xabcde, tos=0x28)
    f = c1.c('S', options=SYN_OPTIONS)
    s.frame(0.001, f, out=dr(f, B), new_conn=(B, 80))   # rr head
    c1.server_sent(1)
    f = c1.c('A')
    s.frame(0.002, f, out=dr(f, B))
    f = c2.c('S', options=SYN_OPTIONS)
    s.frame(0.003, f, out=dr(f, A), new_conn=(A, 80))   # rr next
    c2.server_sent(1)
    f = c1.c('PA', GET)
    s.frame(0.004, f, out=dr(f, B))
    ping = eth(GW6_MAC, IPv6(src='2001:db8:1::100', dst=VIP6, hlim=60) / ICMPv6EchoRequest(id=7, seq=1,
                                                                                              data=b'ping' * 4))
    s.frame(0.005, ping, drop='not-balanced-protocol')
    f = c2.c('A')
    s.frame(0.006, f, out=dr(f, A))
    f = c2.c('PA', GET, ttl=1)
    s.frame(0.007, f, drop='ttl-exceeded', answer=s.icmp(f, 'ttl', VIP6, GW6_MAC))
    c1.server_sent(len(OK) + 1)
    f = c1.c('FA')
    s.frame(0.008, f, out=dr(f, B))
    f = c1.c('A')
    s.frame(0.009, f, out=dr(f, B))
    return s


def ipv6_nat():
    rules = """
# IPv6 NAT, rr, [VIP]:80 mapped to port 8080. List (newest first): 2001:db8:10::12, 2001:db8:10::11.
-A -t [2001:db8::10]:80 -s rr
-a -t [2001:db8::10]:80 -r [2001:db8:10::11]:8080 -m -w 1
-a -t [2001:db8::10]:80 -r [2001:db8:10::12]:8080 -m -w 1
"""
    readme = """
IPv6 NAT with port mapping ([2001:db8::10]:80 -> RS:8080), rr (::12, then ::11). Client -> server packets get
the real server's address and port, replies the VIP and port 80 (TCP checksums updated for the 16-byte address
change; IPv6 has no header checksum); hop limit - 1 both ways; replies go to the default gateway. An answer from
[2001:db8:10::11]:8080 to a client with no connection is dropped (unknown-reply).
"""
    s = Scenario('ipv6-nat', rules, DIRECTOR_V6, readme, [('2001:db8:10::11', 8080), ('2001:db8:10::12', 8080)])
    A, B = '2001:db8:10::11', '2001:db8:10::12'
    c1 = Tcp('2001:db8:1::100', 40001, VIP6, 80, cisn=0x63000000, sisn=0x93000000, ipid=0, flow=0x12345,
             server=B, rport=8080)
    c2 = Tcp('2001:db8:2::200', 40002, VIP6, 80, cisn=0x64000000, sisn=0x94000000, ipid=0, server=A, rport=8080)

    def cin(t, c, f, **kw):
        s.frame(t, f, out=nat_in(f, c.server, 8080), **kw)

    def sout(t, f):
        s.frame(t, f, out=nat_out(f, VIP6, 80, GW6_MAC))

    cin(0.001, c1, c1.c('S', options=SYN_OPTIONS), new_conn=(B, 8080))   # rr head ::12
    sout(0.002, c1.s('SA', options=SYNACK_OPTIONS))
    cin(0.003, c1, c1.c('A'))
    cin(0.004, c2, c2.c('S', options=SYN_OPTIONS), new_conn=(A, 8080))   # rr next ::11
    cin(0.005, c1, c1.c('PA', GET))
    sout(0.006, c2.s('SA', options=SYNACK_OPTIONS))
    sout(0.007, c1.s('PA', OK))
    stray = Tcp('2001:db8:3::300', 40003, VIP6, 80, cisn=0, sisn=0x95000000, ipid=0, server=A, rport=8080)
    s.frame(0.008, stray.s('A'), drop='unknown-reply')
    cin(0.009, c2, c2.c('A'))
    cin(0.010, c1, c1.c('FA'))
    sout(0.011, c1.s('FA'))
    cin(0.012, c1, c1.c('A'))
    return s


# ----------------------------------------------------------------------------------------------------------
# Issue 7: IPv6 for every forwarding method (ip6ip6 and mixed tunnels, FULLNAT with the IPv6 TOA, UDP over
# DR and NAT, persistence and connections keyed on whole 128-bit addresses)

def dest_opts():
    """An 8-byte IPv6 Destination Options header holding one PadN option: the upper layer no longer sits at 40."""
    return IPv6ExtHdrDestOpt(options=[PadN(optdata=b'\0' * 4)])


def ipv6_udp_frame(src, sport, dst, dport, data, **kw):
    """udp_frame for an IPv6 client or server: source MAC = the IPv6 gateway unless given."""
    kw.setdefault('src_mac', GW6_MAC)
    return udp_frame(src, sport, dst, dport, data, **kw)


def zero_sum_payload(base, src, sport, dst, dport):
    """
    base + one 16-bit word chosen so that the UDP datagram src:sport -> dst:dport with this payload sums to
    0xffff over pseudo-header, header (checksum field 0) and payload: its computed checksum is 0, which must be
    sent as 0xffff (0 means "none" on IPv4 and is illegal on IPv6).
    """
    assert len(base) % 2 == 0
    udp_len = 8 + len(base) + 2
    partial = ones_sum(pseudo_header(src, dst, 17, udp_len) + struct.pack('!HHHH', sport, dport, udp_len, 0) + base)
    return base + struct.pack('!H', 0xffff - partial)


TUN6_DIRECTOR = """
link eth0 mac 02:00:00:00:00:01 mtu 1500
addr 2001:db8:20::1/64 dev eth0
addr 2001:db8:10::1/64 dev eth0
neigh 2001:db8:10::fe lladdr 02:00:00:00:06:fe dev eth0
neigh 2001:db8:10::fd lladdr 02:00:00:00:06:fd dev eth0
neigh 2001:db8:10::21 lladdr 02:00:00:00:06:21 dev eth0
route 2001:db8:11::/64 via 2001:db8:10::fd dev eth0
route default via 2001:db8:10::fe dev eth0
"""


def ipv6_tun():
    rules = """
# TUN over IPv6 (ip6ip6). 2001:db8:10::21 is on-link; 2001:db8:11::22 is behind the router 2001:db8:10::fd.
# Both lists (newest first): 2001:db8:11::22, 2001:db8:10::21.
-A -t [2001:db8::10]:80 -s rr
-a -t [2001:db8::10]:80 -r [2001:db8:10::21]:80 -i -w 1 --tun-type ipip
-a -t [2001:db8::10]:80 -r [2001:db8:11::22]:80 -i -w 1 --tun-type ipip
-A -u [2001:db8::10]:53 -s rr
-a -u [2001:db8::10]:53 -r [2001:db8:10::21]:53 -i -w 1 --tun-type ipip
-a -u [2001:db8::10]:53 -r [2001:db8:11::22]:53 -i -w 1 --tun-type ipip
"""
    readme = """
TUN over IPv6 (ip6ip6): client, VIP and real servers are IPv6. rr over 2001:db8:11::22 (behind the router
2001:db8:10::fd: the outer frame goes to the router's MAC) and 2001:db8:10::21 (on-link), for TCP (connection 1
-> ::22, 2 -> ::21) and UDP (flows -> ::22, ::21, ::22). Each output is an outer IPv6 header (traffic class by the
ECN rule, flow label 0, payload length = inner length, next header 41, hop limit = inner hop limit after the
decrement, source 2001:db8:10::1 - the director's address whose network holds the next hop, not the first `addr`
line 2001:db8:20::1 - destination the real server) around the client packet with hop limit - 1 (its traffic
class and flow label untouched). Traffic class: AF41 0x88 copied, ECT(0) 0x8a and ECT(1) 0x89 copied, CE (inner
0x8b, or 0x03 on UDP) becomes ECT(0) (0x8a, 0x02) outside while the inner packet keeps CE. MTU: an inner packet of
1460 bytes makes a 1500-byte outer packet and is sent; 1461 would be 1501: dropped (too-big, answered with ICMPv6
Packet Too Big from the VIP carrying MTU 1460 and quoting the packet with hop limit - 1; IPv6 is never
fragmented on the way). A segment with a hop-by-hop options header is carried inside as it came. A segment
arriving with hop limit 1 is dropped (ttl-exceeded; answered with ICMPv6 Time Exceeded).
"""
    A, B = '2001:db8:10::21', '2001:db8:11::22'
    s = Scenario('ipv6-tun', rules, TUN6_DIRECTOR, readme, [(A, 80), (B, 80), (A, 53), (B, 53)])
    SRC = '2001:db8:10::1'

    def to_a(f):
        return tun(f, A, MAC[A], SRC, None)

    def to_b(f):
        return tun(f, B, GW6_2_MAC, SRC, None)

    c1 = Tcp('2001:db8:1::100', 40001, VIP6, 80, cisn=0x65000000, sisn=0x95000000, ipid=0, flow=0x12345)
    c2 = Tcp('2001:db8:2::200', 40002, VIP6, 80, cisn=0x66000000, sisn=0x96000000, ipid=0, flow=0xabcde, tos=0x88)
    f = c1.c('S', options=SYN_OPTIONS)
    s.frame(0.001, f, out=to_b(f), new_conn=(B, 80))          # TCP rr: head ::22
    c1.server_sent(1)
    f = c1.c('A')
    s.frame(0.002, f, out=to_b(f))
    f = c2.c('SEC', options=SYN_OPTIONS)                        # ECN-setup SYN, AF41, not ECT
    s.frame(0.003, f, out=to_a(f), new_conn=(A, 80))           # rr: ::21
    c2.server_sent(1)
    f = c2.c('A')
    s.frame(0.004, f, out=to_a(f))
    f = c2.c('PA', GET, tos=0x8a)                               # ECT(0): copied
    s.frame(0.005, f, out=to_a(f))
    f = c2.c('PA', b'x' * 100, tos=0x8b)                        # CE: outer ECT(0) 0x8a, inner keeps 0x8b
    s.frame(0.006, f, out=to_a(f))
    # ECT(1): copied. With a hop-by-hop header, carried inside as it came.
    f = c2.c('PA', b'y' * 100, tos=0x89, ext=IPv6ExtHdrHopByHop(options=[PadN(optdata=b'\0' * 4)]))
    s.frame(0.007, f, out=to_a(f))
    # 40 IPv6 + 20 TCP + 1400 data = 1460 inner; outer 40 + 1460 = 1500 = MTU: sent
    f = c1.c('PA', bytes(range(256)) * 5 + bytes(range(120)))
    assert len(f) == 14 + 1460
    s.frame(0.008, f, out=to_b(f))
    # one byte more: outer 1501 > 1500 -> too-big
    f = c1.c('PA', bytes(range(256)) * 5 + bytes(range(121)))
    assert len(f) == 14 + 1461
    s.frame(0.009, f, drop='too-big', answer=s.icmp(f, 'frag', VIP6, GW6_MAC, mtu=1460, quote_ttl_decremented=True))
    f = c2.c('PA', b'late\n', ttl=1)
    s.frame(0.010, f, drop='ttl-exceeded', answer=s.icmp(f, 'ttl', VIP6, GW6_MAC))
    f = c2.c('FA', tos=0x8a)
    s.frame(0.011, f, out=to_a(f))
    f = c1.c('FA')
    s.frame(0.012, f, out=to_b(f))
    c1.server_sent(1)
    f = c1.c('A')
    s.frame(0.013, f, out=to_b(f))

    # UDP (own rr cursor): u1 -> ::22 (head), u2 -> ::21, u3 -> ::22 (wraps)
    u1, u2, u3 = ('2001:db8:3::300', 5001), ('2001:db8:4::400', 5002), ('2001:db8:3::301', 5003)

    def q(flow, qid, payload=None, **kw):
        return ipv6_udp_frame(flow[0], flow[1], VIP6, 53, payload or dns_query(qid), **kw)

    f = q(u1, 0x0601)
    s.frame(0.014, f, out=to_b(f), new_conn=(B, 53))
    f = q(u2, 0x0602)
    s.frame(0.015, f, out=to_a(f), new_conn=(A, 53))
    f = q(u1, 0x0603)
    s.frame(0.016, f, out=to_b(f))
    f = q(u2, 0x0604, tos=0x03)                                 # CE, no DSCP: outer traffic class 0x02
    s.frame(0.017, f, out=to_a(f))
    f = q(u3, 0x0605)
    s.frame(0.018, f, out=to_b(f), new_conn=(B, 53))
    # 40 + 8 + 1413 = 1461 inner: outer 1501 -> too-big
    query = dns_query(0x0606)
    f = q(u3, 0, payload=query + b'\0' * (1413 - len(query)))
    assert len(f) == 14 + 1461
    s.frame(0.019, f, drop='too-big', answer=s.icmp(f, 'frag', VIP6, GW6_MAC, mtu=1460, quote_ttl_decremented=True))
    f = q(u3, 0x0607)
    s.frame(0.020, f, out=to_b(f))
    return s


MIXED_TUN_DIRECTOR = """
link eth0 mac 02:00:00:00:00:01 mtu 1500
addr 10.0.0.1/24 dev eth0
addr 2001:db8:10::1/64 dev eth0
neigh 10.0.0.254 lladdr 02:00:00:00:00:fe dev eth0
neigh 10.0.0.21 lladdr 02:00:00:00:01:21 dev eth0
neigh 2001:db8:10::fe lladdr 02:00:00:00:06:fe dev eth0
neigh 2001:db8:10::21 lladdr 02:00:00:00:06:21 dev eth0
route default via 10.0.0.254 dev eth0
route default via 2001:db8:10::fe dev eth0
"""


def ipv6_tun_mixed():
    rules = """
# Mixed-family tunnels (only TUN may reach a real server of the other family).
# IPv4 service, list (newest first): [2001:db8:10::21] (4in6), 10.0.0.21 (4in4).
-A -t 192.0.2.10:80 -s rr
-a -t 192.0.2.10:80 -r 10.0.0.21:80 -i -w 1 --tun-type ipip
-a -t 192.0.2.10:80 -r [2001:db8:10::21]:80 -i -w 1 --tun-type ipip
# IPv6 service, list (newest first): 10.0.0.21 (6in4), [2001:db8:10::21] (6in6).
-A -u [2001:db8::10]:53 -s rr
-a -u [2001:db8::10]:53 -r [2001:db8:10::21]:53 -i -w 1 --tun-type ipip
-a -u [2001:db8::10]:53 -r 10.0.0.21:53 -i -w 1 --tun-type ipip
"""
    readme = """
Tunnels whose outer family is the real server's, not the client's. The director has 10.0.0.1 and
2001:db8:10::1 on eth0.

IPv4 TCP service 192.0.2.10:80, rr: K1 -> 2001:db8:10::21 (4in6), K2 -> 10.0.0.21 (4in4), K3 -> 2001:db8:10::21.
4in6: outer IPv6 from 2001:db8:10::1, next header 4, hop limit = the inner TTL after the decrement, traffic
class = the inner TOS by the ECN rule (0x13 CE -> 0x12), flow label 0; inside, the IPv4 packet with TTL - 1 and its
header checksum recomputed. K3 has DF clear: the IPv6 outer header has no DF or ID, so nothing changes. An inner
packet of 1460 bytes makes a 1500-byte outer packet and is sent; 1461 (DF set) is too-big, answered with ICMP
Fragmentation Needed from the VIP carrying MTU 1460 (1500 less the IPv6 outer header). TTL 1: ttl-exceeded, answered
with ICMP Time Exceeded.

IPv6 UDP service [2001:db8::10]:53, rr: flows U1 -> 10.0.0.21 (6in4), U2 -> 2001:db8:10::21 (6in6),
U3 -> 10.0.0.21. 6in4: outer IPv4 from 10.0.0.1, protocol 41, TTL = the inner hop limit after the decrement, TOS
by the ECN rule (0x8b -> 0x8a), DF clear (an inner IPv6 packet has no DF to copy), so the outer ID comes from the
real server's counter: 1, 2, 3, 4, then a 1481-byte inner packet (outer 1501) is dropped (too-big; ICMPv6 Packet
Too Big with MTU 1480 goes back to the client) without taking
an ID, and the next datagram gets 5.
"""
    R6, R4 = '2001:db8:10::21', '10.0.0.21'
    s = Scenario('ipv6-tun-mixed', rules, MIXED_TUN_DIRECTOR, readme, [(R4, 80), (R6, 80), (R6, 53), (R4, 53)])

    def t6(f):
        return tun(f, R6, MAC[R6], '2001:db8:10::1', None)

    def t4(f, counter_id=None):
        return tun(f, R4, MAC[R4], '10.0.0.1', counter_id)

    k1 = Tcp('198.51.100.1', 40001, VIP, 80, cisn=0x41000000, sisn=0x91000000, ipid=0x4100, tos=0x10)
    k2 = Tcp('203.0.113.2', 40002, VIP, 80, cisn=0x42000000, sisn=0x92000000, ipid=0x4200)
    k3 = Tcp('198.51.100.3', 40003, VIP, 80, cisn=0x43000000, sisn=0x93000000, ipid=0x4300, df=False)
    # TCP rr: K1 -> head [::21] (4in6), K2 -> 10.0.0.21 (4in4), K3 -> wraps to [::21]. DF set: 4in4 outer ID 0.
    f = k1.c('S', options=SYN_OPTIONS)
    s.frame(0.001, f, out=t6(f), new_conn=(R6, 80))
    k1.server_sent(1)
    f = k1.c('A')
    s.frame(0.002, f, out=t6(f))
    f = k2.c('S', options=SYN_OPTIONS)
    s.frame(0.003, f, out=t4(f), new_conn=(R4, 80))
    k2.server_sent(1)
    f = k1.c('PA', GET)
    s.frame(0.004, f, out=t6(f))
    f = k1.c('PA', b'x' * 100, tos=0x13)                        # DSCP 4 + CE: outer traffic class 0x12
    s.frame(0.005, f, out=t6(f))
    f = k2.c('A')
    s.frame(0.006, f, out=t4(f))
    f = k3.c('S', options=SYN_OPTIONS)
    s.frame(0.007, f, out=t6(f), new_conn=(R6, 80))
    k3.server_sent(1)
    f = k3.c('A')
    s.frame(0.008, f, out=t6(f))
    # 20 + 20 + 1420 = 1460 inner IPv4; outer 40 + 1460 = 1500: sent
    f = k1.c('PA', bytes(range(256)) * 5 + bytes(range(140)))
    assert len(f) == 14 + 1460
    s.frame(0.009, f, out=t6(f))
    f = k1.c('PA', bytes(range(256)) * 5 + bytes(range(141)))
    assert len(f) == 14 + 1461
    s.frame(0.010, f, drop='too-big', answer=s.icmp(f, 'frag', VIP, GW_MAC, mtu=1460, quote_ttl_decremented=True))
    f = k1.c('PA', b'late\n', ttl=1)
    s.frame(0.011, f, drop='ttl-exceeded', answer=s.icmp(f, 'ttl', VIP, GW_MAC))
    f = k2.c('FA')
    s.frame(0.012, f, out=t4(f))
    f = k1.c('FA')
    s.frame(0.013, f, out=t6(f))

    # UDP rr: U1 -> head 10.0.0.21 (6in4), U2 -> [::21] (6in6), U3 -> 10.0.0.21. 10.0.0.21's counter: 1, 2, ...
    u1, u2, u3 = ('2001:db8:3::300', 5001), ('2001:db8:4::400', 5002), ('2001:db8:3::301', 5003)

    def q(flow, qid, payload=None, **kw):
        return ipv6_udp_frame(flow[0], flow[1], VIP6, 53, payload or dns_query(qid), **kw)

    f = q(u1, 0x0701)
    s.frame(0.014, f, out=t4(f, 1), new_conn=(R4, 53))
    f = q(u2, 0x0702)
    s.frame(0.015, f, out=t6(f), new_conn=(R6, 53))
    f = q(u1, 0x0703, tos=0x8b)                                 # CE: outer TOS 0x8a
    s.frame(0.016, f, out=t4(f, 2))
    f = q(u3, 0x0704)
    s.frame(0.017, f, out=t4(f, 3), new_conn=(R4, 53))
    # 40 + 8 + 1432 = 1480 inner IPv6; outer 20 + 1480 = 1500: sent
    query = dns_query(0x0705)
    f = q(u3, 0, payload=query + b'\0' * (1432 - len(query)))
    assert len(f) == 14 + 1480
    s.frame(0.018, f, out=t4(f, 4))
    f = q(u3, 0, payload=query + b'\0' * (1433 - len(query)))
    assert len(f) == 14 + 1481
    s.frame(0.019, f, drop='too-big',                           # no ID taken
            answer=s.icmp(f, 'frag', VIP6, GW6_MAC, mtu=1480, quote_ttl_decremented=True))
    f = q(u1, 0x0706)
    s.frame(0.020, f, out=t4(f, 5))
    f = q(u2, 0x0707, tos=0x8b)
    s.frame(0.021, f, out=t6(f))
    return s


FULLNAT6_DIRECTOR = """
link eth0 mac 02:00:00:00:00:01 mtu 1500
addr 2001:db8:10::1/64 dev eth0
addr 2001:db8:10::2/64 dev eth0
addr 2001:db8:10::3/64 dev eth0
addr 2001:db8:10::4/64 dev eth0
neigh 2001:db8:10::fe lladdr 02:00:00:00:06:fe dev eth0
neigh 2001:db8:10::11 lladdr 02:00:00:00:06:11 dev eth0
neigh 2001:db8:10::12 lladdr 02:00:00:00:06:12 dev eth0
route default via 2001:db8:10::fe dev eth0
"""


def ipv6_fullnat():
    rules = """
# FULLNAT over IPv6, rr. TCP [VIP]:80 -> port 8080 with local addresses 2001:db8:10::2 then ::3;
# UDP [VIP]:53 -> port 5353 with the local address 2001:db8:10::4.
# Both lists (newest first): 2001:db8:10::12, 2001:db8:10::11.
-A -t [2001:db8::10]:80 -s rr
-a -t [2001:db8::10]:80 -r [2001:db8:10::11]:8080 --fullnat -w 1
-a -t [2001:db8::10]:80 -r [2001:db8:10::12]:8080 --fullnat -w 1
-P -t [2001:db8::10]:80 -z 2001:db8:10::2
-P -t [2001:db8::10]:80 -z 2001:db8:10::3
-A -u [2001:db8::10]:53 -s rr
-a -u [2001:db8::10]:53 -r [2001:db8:10::11]:5353 --fullnat -w 1
-a -u [2001:db8::10]:53 -r [2001:db8:10::12]:5353 --fullnat -w 1
-P -u [2001:db8::10]:53 -z 2001:db8:10::4
"""
    readme = """
FULLNAT over IPv6. TCP: four connections, rr ::12, ::11, ::12, ::11, local [::2]:1025, [::3]:1025, [::2]:1026,
[::3]:1026. Client -> server becomes laddr:lport -> RS:8080, replies RS:8080 -> laddr:lport become VIP:80 ->
client:cport through the default gateway; hop limit - 1 both ways; traffic class and flow label kept; TCP
checksums follow the 16-byte address changes.

The TOA for an IPv6 client is DPVS's: kind 254, length 20 (client port, then the 16-byte client address), right
after the fixed TCP header; data offset + 5 words, payload length + 20, TCP checksum recomputed. It goes into the
first client packet without SYN/RST acking the server's ISN + 1, if it fits:
- K1: the handshake ACK (data offset 5 -> 10); K1's later packets get none.
- K2: its first data segment fills the MTU (40 + 20 + 1440 = 1500): with the TOA it would be 1520, so it is sent
  without; the next segment, still acking ISN + 1, carries it - after the fixed TCP header, which there follows a
  destination options header.
- K3: the ACK with NOP NOP timestamp gets it before those options (data offset 8 -> 13).
- K4: the ACK has 24 option bytes (timestamp and a SACK block): 24 + 20 > 40, no room (an IPv4 TOA of 8 would
  have fitted); the next segment (12 option bytes) carries it.
A segment from [::12]:8080 to the unused [::2]:1030 is dropped (unknown-reply).

UDP: flows F1 -> ::12 and F2 -> ::11, local [::4]:1025 and [::4]:1026; answers mapped back; F1's second query
reuses its connection; an answer from [::11]:5353 to the unused [::4]:1030 is dropped (unknown-reply).
"""
    RS1, RS2 = '2001:db8:10::11', '2001:db8:10::12'
    L1, L2, L3 = '2001:db8:10::2', '2001:db8:10::3', '2001:db8:10::4'
    s = Scenario('ipv6-fullnat', rules, FULLNAT6_DIRECTOR, readme, [(RS1, 8080), (RS2, 8080), (RS1, 5353), (RS2, 5353)])
    # K1: rr head ::12, laddr cursor at L1, L1's port cursor 1025 -> L1:1025
    # K2: rr ::11, L2:1025 ; K3: rr wraps to ::12, L1:1026 ; K4: ::11, L2:1026
    k1 = Tcp('2001:db8:1::100', 40001, VIP6, 80, cisn=0x01000000, sisn=0x6eed0001, ipid=0, flow=0x11111,
             server=RS2, rport=8080, server_to=(L1, 1025))
    k2 = Tcp('2001:db8:2::200', 40002, VIP6, 80, cisn=0x02000000, sisn=0x6eed0002, ipid=0, tos=0x28,
             server=RS1, rport=8080, server_to=(L2, 1025))
    k3 = Tcp('2001:db8:1::100', 40003, VIP6, 80, cisn=0x03000000, sisn=0x6eed0003, ipid=0,
             server=RS2, rport=8080, server_to=(L1, 1026))
    k4 = Tcp('2001:db8:3::300', 40004, VIP6, 80, cisn=0x04000000, sisn=0x6eed0004, ipid=0,
             server=RS1, rport=8080, server_to=(L2, 1026))

    def cin(t, k, laddr, lport, f, toa=False, **kw):
        s.frame(t, f, out=fullnat_in(f, laddr, lport, k.server, 8080, toa=toa), **kw)

    def sout(t, k, f):
        s.frame(t, f, out=fullnat_out(f, VIP6, 80, k.client, k.cport, GW6_MAC))

    cin(0.001, k1, L1, 1025, k1.c('S', options=SYN_OPTIONS), new_conn=(RS2, 8080))
    sout(0.002, k1, k1.s('SA', options=[('MSS', 1440), ('NOP', None), ('WScale', 7)]))  # ISN 0x6eed0001
    cin(0.003, k1, L1, 1025, k1.c('A'), toa=True)           # ack = ISN + 1: TOA, 20 bytes
    cin(0.004, k1, L1, 1025, k1.c('PA', GET))                # ack still ISN + 1, but the TOA was done
    sout(0.005, k1, k1.s('PA', OK))
    cin(0.006, k2, L2, 1025, k2.c('S', options=SYN_OPTIONS), new_conn=(RS1, 8080))
    sout(0.007, k2, k2.s('SA', options=[('MSS', 1440)]))
    big = k2.c('PA', bytes(range(256)) * 5 + bytes(range(160)))
    assert len(big) == 14 + 1500
    cin(0.008, k2, L2, 1025, big)                             # 1500 + 20 > MTU: no TOA, sent as it is
    # still acks ISN + 1: TOA now, after the fixed TCP header, which here follows a destination options header
    cin(0.009, k2, L2, 1025, k2.c('PA', GET, ext=dest_opts()), toa=True)
    ts_syn = [('MSS', 1440), ('SAckOK', b''), ('Timestamp', (7000, 0)), ('NOP', None), ('WScale', 7)]
    cin(0.010, k3, L1, 1026, k3.c('S', options=ts_syn), new_conn=(RS2, 8080))
    sout(0.011, k3, k3.s('SA', options=[('MSS', 1440), ('SAckOK', b''), ('Timestamp', (9000, 7000)),
                                        ('NOP', None), ('WScale', 7)]))
    cin(0.012, k3, L1, 1026, k3.c('A', options=[('NOP', None), ('NOP', None), ('Timestamp', (7001, 9000))]),
        toa=True)                                            # TOA before NOP NOP TS: data offset 8 -> 13
    cin(0.013, k3, L1, 1026, k3.c('PA', GET, options=[('NOP', None), ('NOP', None), ('Timestamp', (7002, 9000))]))
    cin(0.014, k4, L2, 1026, k4.c('S', options=ts_syn), new_conn=(RS1, 8080))
    sout(0.015, k4, k4.s('SA', options=[('MSS', 1440), ('SAckOK', b''), ('Timestamp', (9100, 7000)),
                                        ('NOP', None), ('WScale', 7)]))
    opts24 = [('NOP', None), ('NOP', None), ('Timestamp', (7001, 9100)), ('NOP', None), ('NOP', None),
              ('SAck', (0x04000100, 0x04000200))]
    cin(0.016, k4, L2, 1026, k4.c('A', options=opts24))      # 24 + 20 > 40 option bytes: no TOA
    cin(0.017, k4, L2, 1026, k4.c('PA', GET, options=[('NOP', None), ('NOP', None), ('Timestamp', (7002, 9100))]),
        toa=True)                                            # 12 + 20 = 32: TOA now
    cin(0.018, k1, L1, 1025, k1.c('A'))                      # acks the server's data: no TOA
    cin(0.019, k1, L1, 1025, k1.c('FA'))
    sout(0.020, k1, k1.s('FA'))
    cin(0.021, k1, L1, 1025, k1.c('A'))
    stray = Tcp(L1, 1030, VIP6, 80, cisn=0, sisn=0x6eed0009, ipid=0, server=RS2, rport=8080, server_to=(L1, 1030))
    s.frame(0.022, stray.s('A'), drop='unknown-reply')
    sout(0.023, k2, k2.s('PA', OK))

    # UDP (its own laddr ::4): F1 -> rr ::12, [::4]:1025 ; F2 -> ::11, [::4]:1026
    F1, F2 = ('2001:db8:3::300', 5001), ('2001:db8:4::400', 5002)

    def q(t, flow, qid, rs, lport, new=False):
        f = ipv6_udp_frame(flow[0], flow[1], VIP6, 53, dns_query(qid))
        s.frame(t, f, out=fullnat_in(f, L3, lport, rs, 5353), new_conn=(rs, 5353) if new else None)

    def a(t, flow, qid, rs, lport):
        f = ipv6_udp_frame(rs, 5353, L3, lport, dns_answer(qid), ttl=64, src_mac=MAC[rs])
        s.frame(t, f, out=fullnat_out(f, VIP6, 53, flow[0], flow[1], GW6_MAC))

    q(0.030, F1, 0x0801, RS2, 1025, new=True)
    a(0.031, F1, 0x0801, RS2, 1025)
    q(0.032, F2, 0x0802, RS1, 1026, new=True)
    a(0.033, F2, 0x0802, RS1, 1026)
    q(0.034, F1, 0x0803, RS2, 1025)
    f = ipv6_udp_frame(RS1, 5353, L3, 1030, dns_answer(0x0809), ttl=64, src_mac=MAC[RS1])
    s.frame(0.035, f, drop='unknown-reply')
    a(0.036, F1, 0x0803, RS2, 1025)
    return s


def ipv6_udp():
    rules = """
# IPv6 UDP. NAT, rr, [VIP]:53 mapped to port 5353; DR, rr, [VIP]:123.
# Both lists (newest first): 2001:db8:10::12, 2001:db8:10::11.
-A -u [2001:db8::10]:53 -s rr
-a -u [2001:db8::10]:53 -r [2001:db8:10::11]:5353 -m -w 1
-a -u [2001:db8::10]:53 -r [2001:db8:10::12]:5353 -m -w 1
-A -u [2001:db8::10]:123 -s rr
-a -u [2001:db8::10]:123 -r [2001:db8:10::11]:123 -g -w 1
-a -u [2001:db8::10]:123 -r [2001:db8:10::12]:123 -g -w 1
"""
    readme = """
IPv6 UDP over NAT and DR.

NAT ([VIP]:53 -> RS:5353, rr ::12, ::11, ::12): queries get the real server's address and port, answers the VIP
and port 53; hop limit - 1 both ways; the UDP checksum follows the 16-byte address change. Flow 3's query and
its answer are built so that the checksum after the rewrite comes out as 0, which is sent as 0xffff (on IPv6 a
zero UDP checksum is illegal, on IPv4 it means "none"). An answer from [::11]:5353 to a client with no
connection is dropped (unknown-reply). Flow 1's last query carries a destination options header: the UDP header
is found past it and its checksum updated. (A zero-checksum IPv6 datagram through NAT gets a fully computed
checksum, as on IPv4; that case is in test/ipv6-addresses.test.ts, since tshark rightly flags such an input as
malformed.)

DR ([VIP]:123, rr ::12, ::11, ::12): only the MACs and the hop limit change; traffic class and the UDP checksum
stay; a datagram with a destination options header is carried as it came; a datagram of flow 2 arriving with an
802.1Q tag leaves untagged; one arriving with hop limit 1 is dropped (ttl-exceeded) and answered with ICMPv6 Time
Exceeded from the VIP.
"""
    RS1, RS2 = '2001:db8:10::11', '2001:db8:10::12'
    s = Scenario('ipv6-udp', rules, DIRECTOR_V6, readme, [(RS1, 5353), (RS2, 5353), (RS1, 123), (RS2, 123)])
    c1, c2, c3 = ('2001:db8:1::100', 5001), ('2001:db8:2::200', 5002), ('2001:db8:3::300', 5003)

    def qin(t, c, payload, rs, new=False, **kw):
        f = ipv6_udp_frame(c[0], c[1], VIP6, 53, payload, **kw)
        s.frame(t, f, out=nat_in(f, rs, 5353), new_conn=(rs, 5353) if new else None)
        return f

    def aout(t, c, payload, rs):
        f = ipv6_udp_frame(rs, 5353, c[0], c[1], payload, ttl=64, src_mac=MAC[rs])
        out = nat_out(f, VIP6, 53, GW6_MAC)
        s.frame(t, f, out=out)
        return out

    # NAT rr: c1 -> ::12 (head), c2 -> ::11, c3 -> ::12
    qin(0.001, c1, dns_query(0x0901), RS2, new=True)
    aout(0.002, c1, dns_answer(0x0901), RS2)
    qin(0.003, c2, dns_query(0x0902), RS1, new=True, tos=0x28)
    aout(0.004, c2, dns_answer(0x0902), RS1)
    # Flow 3: the last payload word is chosen so that the rewritten datagram sums to 0xffff (checksum 0 -> 0xffff).
    # Query: c3 -> RS2:5353 after the rewrite; answer: VIP:53 -> c3 after the rewrite.
    q3 = zero_sum_payload(dns_query(0x0903) + b'\0', c3[0], c3[1], RS2, 5353)
    f = qin(0.005, c3, q3, RS2, new=True)
    assert UDP(bytes(ip_of(nat_in(f, RS2, 5353)).payload)).chksum == 0xffff
    assert UDP(bytes(ip_of(f).payload)).chksum not in (0, 0xffff)
    a3 = zero_sum_payload(dns_answer(0x0903) + b'\0', VIP6, 53, c3[0], c3[1])
    out = aout(0.006, c3, a3, RS2)
    assert UDP(bytes(ip_of(out).payload)).chksum == 0xffff
    f = ipv6_udp_frame(RS1, 5353, '2001:db8:9::900', 5009, dns_answer(0x0909), ttl=64, src_mac=MAC[RS1])
    s.frame(0.007, f, drop='unknown-reply')
    qin(0.008, c1, dns_query(0x0904), RS2, ext=dest_opts())   # the UDP header sits past an extension header

    # DR rr (own cursor): n1 -> ::12, n2 -> ::11, n3 -> ::12
    ntp = bytes([0x23]) + bytes(47)
    n1, n2, n3 = ('2001:db8:1::100', 123), ('2001:db8:2::200', 40123), ('2001:db8:3::300', 123)

    def dr6(t, c, rs, new=False, **kw):
        f = ipv6_udp_frame(c[0], c[1], VIP6, 123, ntp, **kw)
        s.frame(t, f, out=dr(f, rs), new_conn=(rs, 123) if new else None)

    dr6(0.010, n1, RS2, new=True, tos=0xb8)
    dr6(0.011, n2, RS1, new=True)
    dr6(0.012, n1, RS2, ext=dest_opts())
    dr6(0.013, n2, RS1, vlan=100)
    f = ipv6_udp_frame(n2[0], n2[1], VIP6, 123, ntp, ttl=1)
    s.frame(0.014, f, drop='ttl-exceeded', answer=s.icmp(f, 'ttl', VIP6, GW6_MAC))
    dr6(0.015, n3, RS2, new=True)
    return s


def ipv6_persist():
    rules = """
# IPv6, rr, every list (newest first): 2001:db8:10::13, ::12, ::11.
# -p 60 with the default IPv6 netmask /128: one template per whole client address (DR).
-A -t [2001:db8::10]:80 -s rr -p 60
-a -t [2001:db8::10]:80 -r [2001:db8:10::11]:80 -g -w 1
-a -t [2001:db8::10]:80 -r [2001:db8:10::12]:80 -g -w 1
-a -t [2001:db8::10]:80 -r [2001:db8:10::13]:80 -g -w 1
# -M 52: one template per client /52, a prefix that ends inside a byte (DR).
-A -t [2001:db8::10]:443 -s rr -p 60 -M 52
-a -t [2001:db8::10]:443 -r [2001:db8:10::11]:443 -g -w 1
-a -t [2001:db8::10]:443 -r [2001:db8:10::12]:443 -g -w 1
-a -t [2001:db8::10]:443 -r [2001:db8:10::13]:443 -g -w 1
# Firewall mark 6 over IPv6 (`mark 6` rule in the director file: TCP to [VIP] ports 9000-9099), -p 60, DR:
# templates keyed (0, client /128, fwmark 6): one per client for every marked port.
-A -f 6 -6 -s rr -p 60
-a -f 6 -6 -r [2001:db8:10::11]:0 -g -w 1
-a -f 6 -6 -r [2001:db8:10::12]:0 -g -w 1
-a -f 6 -6 -r [2001:db8:10::13]:0 -g -w 1
# Source hashing over IPv6 (DR): the kernel hashes the XOR of the four words of the client address.
-A -t [2001:db8::10]:8080 -s sh
-a -t [2001:db8::10]:8080 -r [2001:db8:10::11]:8080 -g -w 1
-a -t [2001:db8::10]:8080 -r [2001:db8:10::12]:8080 -g -w 1
-a -t [2001:db8::10]:8080 -r [2001:db8:10::13]:8080 -g -w 1
# No persistence, NAT (list ::12, ::11): connections keyed on whole addresses, expiring after 300 s.
-A -u [2001:db8::10]:53 -s rr
-a -u [2001:db8::10]:53 -r [2001:db8:10::11]:5353 -m -w 1
-a -u [2001:db8::10]:53 -r [2001:db8:10::12]:5353 -m -w 1
"""
    readme = """
Nothing folds IPv6 addresses to 32 bits. Clients X 2001:db8:1::5, Y 2001:db8:2::5 and Z 2001:db8::1:0:0:5 share
their low 32 bits (X and Y their low 64 bits), and X and Z even the XOR of their four 32-bit words (the fold of the
hashing schedulers); all three use source port 40000, then 40001.

[VIP]:80, -p 60, netmask /128 (DR, rr .13, .12, .11): X, Y and Z are three connections and three templates:
X -> .13, Y -> .12, Z -> .11. Their second connections follow their own templates (Z -> .11, Y -> .12, X -> .13,
where plain rr would have given .13, .12, .11); W 2001:db8:1::6 is a fourth client: rr .13.

[VIP]:443, -p 60 -M 52 (rr .13, .12, .11): 2001:db8:1:a123::7 and 2001:db8:1:afff::8 share the template of
2001:db8:1:a000::/52 (.13), as does 2001:db8:1:a000::1 later; 2001:db8:1:b123::7 differs in bit 52 only
(another /52: .12); 2001:db8:2:a123::7 another (.11).

Firewall mark 6 (TCP to [VIP] ports 9000-9099, `-f 6 -6 -p 60`, DR, rr .13, .12, .11): X:40000 -> port 9000 .13,
Z -> 9000 .12, X -> 9050 and Z -> 9099 follow their own templates (.13, .12), Y -> 9001 .11. The DR output keeps
every port. Port 9100 is not marked (no-service).

[VIP]:8080, sh (DR, equal weights): here the kernel itself folds an IPv6 client to 32 bits (XOR of its words,
then hash_32 into 256 buckets). X and Z share the fold, hence the bucket (63) and the server (.13), but
are two connections; Y falls in bucket 210 (.13 too), 2001:db8:1::6 in 161 (.11), 2001:db8:6::1 in 100 (.12).
Decisions from scripts/sched_reference.py.

UDP [VIP]:53, NAT (rr .12, .11): X, Z and Y on port 5000 are three connections (.12, .11, .12), and each answer
goes back to its own client. The entries live 300 s from their last packet: X, refreshed at 200 s, keeps .12 at
301.008 s; Y's entry (last packet at 1.005 s) is gone at 301.005 s, so Y's query then is a new connection (rr:
.11), and a late answer from .12 to Y is dropped (unknown-reply) while .11's answer reaches Y.
"""
    RS1, RS2, RS3 = '2001:db8:10::11', '2001:db8:10::12', '2001:db8:10::13'
    director = DIRECTOR_V6.replace('route default',
                                   f'neigh {RS3} lladdr {MAC[RS3]} dev eth0\nroute default') + \
        '\n# Packet classifier\nmark 6 proto tcp dst 2001:db8::10/128 dport 9000-9099\n'
    s = Scenario('ipv6-persist', rules, director, readme,
                 [(a, p) for p in (80, 443, 0, 8080) for a in (RS1, RS2, RS3)] + [(RS1, 5353), (RS2, 5353)])
    X, Y, Z, W = '2001:db8:1::5', '2001:db8:2::5', '2001:db8::1:0:0:5', '2001:db8:1::6'

    def conn(client, cport, vport, n):
        return Tcp(client, cport, VIP6, vport, cisn=0x01000000 * n, sisn=0x81000000 + n, ipid=0)

    def send(t, c, flags, rs, new=False, data=b''):
        f = c.c(flags, data, options=SYN_OPTIONS if flags == 'S' else None)
        if flags == 'S':
            c.server_sent(1)  # the SYN-ACK goes straight to the client (DR)
        s.frame(t, f, out=dr(f, rs), new_conn=(rs, c.vport) if new else None)

    # [VIP]:80. T(x) = the template of client x. Times in seconds; no timer fires before the last TCP packet.
    x1, y1, z1 = conn(X, 40000, 80, 1), conn(Y, 40000, 80, 2), conn(Z, 40000, 80, 3)
    x2, y2, z2 = conn(X, 40001, 80, 4), conn(Y, 40001, 80, 5), conn(Z, 40001, 80, 6)
    send(0.001, x1, 'S', RS3, new=True)   # no T(X): rr #1 -> .13
    send(0.002, y1, 'S', RS2, new=True)   # same port and low 64 bits, another client: no T(Y): rr #2 -> .12
    send(0.003, z1, 'S', RS1, new=True)   # same fold as X: no T(Z): rr #3 -> .11
    send(0.004, x1, 'A', RS3)             # each ACK finds its own connection
    send(0.005, y1, 'A', RS2)
    send(0.006, z1, 'A', RS1)
    send(0.007, z2, 'S', RS1, new=True)   # T(Z) -> .11 (rr would say .13)
    send(0.008, y2, 'S', RS2, new=True)   # T(Y) -> .12
    send(0.009, x2, 'S', RS3, new=True)   # T(X) -> .13
    send(0.010, x1, 'PA', RS3, data=GET)
    send(0.011, y1, 'PA', RS2, data=GET)
    send(0.012, z1, 'PA', RS1, data=GET)
    send(0.013, conn(W, 40000, 80, 7), 'S', RS3, new=True)  # no T(W): rr #4 wraps -> .13

    # [VIP]:443 -M 52: the key is the client's first 52 bits. Own rr cursor: .13, .12, .11.
    send(0.020, conn('2001:db8:1:a123::7', 41001, 443, 11), 'S', RS3, new=True)  # new T(2001:db8:1:a000::/52): .13
    send(0.021, conn('2001:db8:1:afff::8', 41002, 443, 12), 'S', RS3, new=True)  # same /52 -> .13
    send(0.022, conn('2001:db8:1:b123::7', 41003, 443, 13), 'S', RS2, new=True)  # 2001:db8:1:b000::/52: rr #2 .12
    send(0.023, conn('2001:db8:2:a123::7', 41004, 443, 14), 'S', RS1, new=True)  # 2001:db8:2:a000::/52: rr #3 .11
    send(0.024, conn('2001:db8:1:a000::1', 41005, 443, 15), 'S', RS3, new=True)  # the first /52 again -> .13

    # Firewall mark 6, -p 60: template key (0, client /128, 0, fwmark 6, 0), whatever the port. Own rr: .13, .12, .11.
    def fwm(t, c, flags, rs, new=False):
        f = c.c(flags, options=SYN_OPTIONS if flags == 'S' else None)
        if flags == 'S':
            c.server_sent(1)
        s.frame(t, f, out=dr(f, rs), new_conn=(rs, 0) if new else None)

    fx1, fz1 = conn(X, 40000, 9000, 21), conn(Z, 40000, 9000, 22)
    fwm(0.025, fx1, 'S', RS3, new=True)        # no T(X, fwm 6): rr #1 -> .13
    fwm(0.026, fz1, 'S', RS2, new=True)        # Z folds like X, same ports: no T(Z, fwm 6): rr #2 -> .12
    fwm(0.027, conn(X, 40001, 9050, 23), 'S', RS3, new=True)   # T(X, fwm 6) -> .13
    fwm(0.028, conn(Z, 40001, 9099, 24), 'S', RS2, new=True)   # T(Z, fwm 6) -> .12
    fwm(0.029, conn(Y, 40000, 9001, 25), 'S', RS1, new=True)   # no T(Y, fwm 6): rr #3 -> .11
    fwm(0.030, fx1, 'A', RS3)
    fwm(0.031, fz1, 'A', RS2)
    s.frame(0.032, conn(X, 40002, 9100, 26).c('S', options=SYN_OPTIONS), drop='no-service')  # not marked

    # [VIP]:8080, sh: decisions from the reference (an IPv6 service folds the client's four words).
    sh = sched_reference.Service(6, 0, sched_reference.SH)
    for a in (RS1, RS2, RS3):  # the -a order: the list is .13, .12, .11
        sh.add(endpoint_key(a, 8080), a, 8080, 1)

    def sh_pick(client):
        key = sched_reference.fold(ipaddress.ip_address(client), 6)
        return str(sh.sched.lookup(key, 0, 0, sched_reference.TCP).addr), sh.sched.bucket(key, 0, sched_reference.TCP)

    assert sched_reference.fold(ipaddress.ip_address(X), 6) == sched_reference.fold(ipaddress.ip_address(Z), 6)
    expected_sh = {X: (RS3, 63), Z: (RS3, 63), Y: (RS3, 210), W: (RS1, 161), '2001:db8:6::1': (RS2, 100)}
    assert {c: sh_pick(c) for c in expected_sh} == expected_sh  # the README's table
    # The same source port for all: X and Z are two connections on .13, each ACK finds its own.
    sh_conns = [(conn(client, 40000, 8080, 31 + i), rs) for i, (client, (rs, _)) in enumerate(expected_sh.items())]
    for i, (c, rs) in enumerate(sh_conns):
        send(0.040 + i / 1000, c, 'S', rs, new=True)
    for i, (c, rs) in enumerate(sh_conns):
        send(0.050 + i / 1000, c, 'A', rs)

    # UDP [VIP]:53, NAT. Own rr cursor: .12, .11. Every packet (either way) re-arms its entry to now + 300.
    def qin(t, client, qid, rs, new=False):
        f = ipv6_udp_frame(client, 5000, VIP6, 53, dns_query(qid))
        s.frame(t, f, out=nat_in(f, rs, 5353), new_conn=(rs, 5353) if new else None)

    def answer(client, qid, rs):
        return ipv6_udp_frame(rs, 5353, client, 5000, dns_answer(qid), ttl=64, src_mac=MAC[rs])

    def aout(t, client, qid, rs):
        f = answer(client, qid, rs)
        s.frame(t, f, out=nat_out(f, VIP6, 53, GW6_MAC))

    qin(1.000, X, 0x0a01, RS2, new=True)   # rr #1 -> .12
    qin(1.001, Z, 0x0a02, RS1, new=True)   # same port, same fold as X: another connection, rr #2 -> .11
    qin(1.002, Y, 0x0a03, RS2, new=True)   # rr #3 -> .12
    aout(1.003, Z, 0x0a02, RS1)            # .11's answer to Z:5000 goes back to Z from VIP:53
    aout(1.004, X, 0x0a01, RS2)            # X's entry: expires 301.004
    aout(1.005, Y, 0x0a03, RS2)            # Y's entry: expires 301.005
    qin(200.000, X, 0x0a04, RS2)           # X alive: expires 500
    qin(301.005, Y, 0x0a05, RS1, new=True)  # 301.005 <= 301.005: gone. New connection, rr #4 -> .11
    s.frame(301.006, answer(Y, 0x0a03, RS2), drop='unknown-reply')  # .12 no longer serves Y:5000
    aout(301.007, Y, 0x0a05, RS1)
    qin(301.008, X, 0x0a06, RS2)
    return s


# ----------------------------------------------------------------------------------------------------------
# Issue 4: hashing schedulers (sh, mh), persistence, firewall marks

def director_with(*addrs):
    """DIRECTOR_V4 plus neighbour entries for the extra real servers `addrs`."""
    lines = ''.join(f'neigh {a} lladdr {MAC[a]} dev eth0\n' for a in addrs)
    return DIRECTOR_V4.replace('route default', lines + 'route default')


def hash_service(kind, flags, dests):
    """
    sched_reference's model of a `-s kind` service (kind sh or mh, `-b` flag bits `flags`) after the `-a` lines
    `dests` = [(addr, port, weight), ...] were applied in that order: the reference, like the kernel, puts each
    new dest at the head of its list and rebuilds the table on every add.
    """
    scheduler = {'sh': sched_reference.SH, 'mh': sched_reference.MH}[kind]
    svc = sched_reference.Service(4, flags, scheduler)
    for addr, port, weight in dests:
        svc.add(endpoint_key(addr, port), addr, port, weight)
    return svc


def hash_pick(svc, client, sport=0):
    """The reference's decision for a new TCP connection from client:sport: the dest address, or None."""
    key = sched_reference.fold(ipaddress.ip_address(client), 4)
    d = svc.sched.lookup(key, 0, sport, sched_reference.TCP)
    return None if d is None else str(d.addr)


def sh_bucket(svc, client, sport=0):
    return svc.sched.bucket(sched_reference.fold(ipaddress.ip_address(client), 4), sport, sched_reference.TCP)


def sh_dr():
    sched_reference.self_check()  # the reference first proves itself against the spec's fixed values
    RS1, RS2, RS3, RS4 = '10.0.0.11', '10.0.0.12', '10.0.0.13', '10.0.0.14'
    added = [(RS4, 0), (RS1, 1), (RS2, 2), (RS3, 3)]  # the order of the -a lines
    lines = []
    for port, flags in ((80, ''), (443, ' -b sh-port')):
        lines.append(f'-A -t 192.0.2.10:{port} -s sh{flags}')
        lines += [f'-a -t 192.0.2.10:{port} -r {a}:{port} -g -w {w}' for a, w in added]
    rules = """
# Source hashing, DR. Added .14 (w 0), .11 (w 1), .12 (w 2), .13 (w 3): the list (newest first) is
# .13(3), .12(2), .11(1), .14(0), so the 256-bucket table is laps of .13 .13 .13 .12 .12 .11 .14
# (36 laps + .13 .13 .13 .12). VIP:80 hashes the client address only; VIP:443 also the source port (sh-port).
""" + '\n'.join(lines) + '\n'
    sh80 = hash_service('sh', 0, [(a, 80, w) for a, w in added])
    sh443 = hash_service('sh', sched_reference.FLAG_2, [(a, 443, w) for a, w in added])
    # The table shape stated above, checked against the reference (ipvs-schedulers.md 11: max(weight, 1)
    # buckets per dest per lap, weight 0 still one; 256 = 36 * 7 + 4).
    names = [str(d.addr) for d in sh80.sched.table]
    assert names[:7] == [RS3, RS3, RS3, RS2, RS2, RS1, RS4] and names[252:] == [RS3, RS3, RS3, RS2]
    assert [names.count(a) for a in (RS3, RS2, RS1, RS4)] == [111, 73, 36, 36]

    clients = [f'198.51.100.{i}' for i in range(1, 11)] + [f'203.0.113.{i}' for i in range(11, 21)]
    picks = {c: hash_pick(sh80, c) for c in clients}
    # the scenario must show every kind of decision: each weighted server, and the weight-0 one (none)
    assert set(picks.values()) == {RS1, RS2, RS3, None}, picks
    ported_client = '198.51.100.1'
    ported = [(ported_client, p) for p in range(50001, 50009)] + [('203.0.113.14', 50001), ('203.0.113.14', 50002)]
    port_picks = [hash_pick(sh443, c, p) for c, p in ported]
    assert len({p for (c, _), p in zip(ported, port_picks) if c == ported_client}) >= 2, port_picks

    table = '\n'.join(f'| {c} | {sh_bucket(sh80, c)} | {picks[c] or "none (weight 0): no-destination"} |'
                      for c in clients)
    port_table = '\n'.join(f'| {c}:{p} | {sh_bucket(sh443, c, p)} | {r or "none (weight 0): no-destination"} |'
                           for (c, p), r in zip(ported, port_picks))
    readme = f"""
Source hashing (`-s sh`) over DR real servers .13 (weight 3), .12 (2), .11 (1) and .14 (0), list newest first.
The 256-bucket table is laps of .13 .13 .13 .12 .12 .11 .14; a client's bucket is hash_32(address, 8) (with
`-b sh-port`: hash_32(address + source port, 8)). The bucket of the weight-0 server answers none: such clients are
dropped (no-destination) and answered with ICMP Port Unreachable from the VIP, and their next ACK matches nothing
(not-connection-start). Every decision comes from
scripts/sched_reference.py (sh), not from uvs.

VIP:80 (no port flag): 20 clients each open a connection (SYN, ACK), later a second connection from another
source port goes to the same server, and the first connection's data follows its entry.

| client | bucket | server |
|---|---|---|
{table}

VIP:443 (`-b sh-port`): the source port joins the key, so one client's connections spread over servers, and
203.0.113.14, whose address alone falls in the weight-0 server's bucket on VIP:80, is served on VIP:443:

| client:port | bucket | server |
|---|---|---|
{port_table}
"""
    s = Scenario('sh-dr', rules, director_with(RS4), readme,
                 [(a, port) for port in (80, 443) for a, _ in added])

    def send(t, conn, flags, rs, port, new=False, data=b''):
        f = conn.c(flags, data, options=SYN_OPTIONS if flags == 'S' else None)
        if flags == 'S':
            conn.server_sent(1)  # the SYN-ACK goes straight to the client (DR)
        if rs is None:
            if flags == 'S':
                s.frame(t, f, drop='no-destination', answer=s.icmp(f, 'port', VIP, GW_MAC))
            else:
                s.frame(t, f, drop='not-connection-start')
        else:
            s.frame(t, f, out=dr(f, rs), new_conn=(rs, port) if new else None)

    first = {c: Tcp(c, 40000 + i, VIP, 80, cisn=0x01000000 * i, sisn=0x81000000 + i, ipid=0x100 * i)
             for i, c in enumerate(clients, start=1)}
    for i, c in enumerate(clients, start=1):
        send(i / 100, first[c], 'S', picks[c], 80, new=True)
        send(i / 100 + 0.001, first[c], 'A', picks[c], 80)
    for i, c in enumerate(clients, start=1):
        # another connection of the same client: same bucket, same server (or none again)
        second = Tcp(c, 42000 + i, VIP, 80, cisn=0x02000000 * i, sisn=0x82000000 + i, ipid=0x100 * i + 0x80)
        send(1 + i / 100, second, 'S', picks[c], 80, new=True)
        if picks[c] is not None:
            send(1 + i / 100 + 0.001, second, 'A', picks[c], 80)
            send(1 + i / 100 + 0.002, first[c], 'PA', picks[c], 80, data=GET)
    conns = []
    for j, ((c, p), rs) in enumerate(zip(ported, port_picks), start=1):
        conn = Tcp(c, p, VIP, 443, cisn=0x03000000 * j, sisn=0x83000000 + j, ipid=0x5000 + 0x10 * j)
        conns.append((conn, rs))
        send(2 + j / 100, conn, 'S', rs, 443, new=True)
    for j, (conn, rs) in enumerate(conns, start=1):
        if rs is not None:
            send(3 + j / 100, conn, 'A', rs, 443)
    return s


def mh_nat():
    sched_reference.self_check()
    servers = ['10.0.0.11', '10.0.0.12', '10.0.0.13', '10.0.0.14', '10.0.0.15', '10.0.0.16']
    weights = [1, 2, 1, 3, 1, 2]
    rules = """
# Maglev hashing, NAT, VIP:80 mapped to port 8080. Added .11 .. .16 in this order, so the list (newest first)
# is .16, .15, .14, .13, .12, .11; weights (gcd 1, rshift 0) give 2, 1, 3, 1, 2, 1 turns per lap.
-A -t 192.0.2.10:80 -s mh
""" + ''.join(f'-a -t 192.0.2.10:80 -r {a}:8080 -m -w {w}\n' for a, w in zip(servers, weights))
    mh = hash_service('mh', 0, [(a, 8080, w) for a, w in zip(servers, weights)])
    assert [d.name for d in mh.dests] == [endpoint_key(a, 8080) for a in reversed(servers)]
    assert [mh.sched.setup[endpoint_key(a, 8080)]['turns'] for a in servers] == weights
    clients = [f'198.51.100.{i}' for i in range(21, 33)] + [f'203.0.113.{i}' for i in range(41, 53)]
    picks = {c: hash_pick(mh, c) for c in clients}
    assert set(picks.values()) == set(servers), picks  # every server is chosen by some client
    slots = {d: sum(1 for x in mh.sched.table if x.name == endpoint_key(d, 8080)) for d in servers}
    table = '\n'.join(f'| {c} | {picks[c]}:8080 |' for c in clients)
    setup = '\n'.join(f'| {a}:8080 | {w} | {mh.sched.setup[endpoint_key(a, 8080)]["offset"]} | '
                      f'{mh.sched.setup[endpoint_key(a, 8080)]["skip"]} | {slots[a]} |'
                      for a, w in zip(servers, weights))
    readme = f"""
Maglev hashing (`-s mh`) over six NAT real servers (VIP:80 -> RS:8080), list .16, .15, .14, .13, .12, .11
(newest first). The 4093-slot table and every client's slot come from scripts/sched_reference.py (mh), not from
uvs:

| dest | weight (turns) | offset | skip | slots |
|---|---|---|---|---|
{setup}

24 clients open a connection each (SYN in, SYN-ACK out, ACK in; every fourth one also a request and an answer);
client -> server packets get RS:8080, replies VIP:80 (TTL - 1, checksums updated) to the default gateway. A second
connection from each of the first six clients, from another source port, lands on the same server (mh without
`mh-port` hashes the address only). Finally a segment from 10.0.0.15:8080 to a client it has no connection
with is dropped (unknown-reply).

| client | server |
|---|---|
{table}
"""
    s = Scenario('mh-nat', rules, director_with('10.0.0.14', '10.0.0.15', '10.0.0.16'), readme,
                 [(a, 8080) for a in servers])

    def cin(t, conn, f, **kw):
        s.frame(t, f, out=nat_in(f, conn.server, 8080), **kw)

    def sout(t, f):
        s.frame(t, f, out=nat_out(f, VIP, 80))

    def handshake(t, conn):
        cin(t, conn, conn.c('S', options=SYN_OPTIONS), new_conn=(conn.server, 8080))
        sout(t + 0.001, conn.s('SA', options=SYNACK_OPTIONS))
        cin(t + 0.002, conn, conn.c('A'))

    for i, c in enumerate(clients, start=1):
        conn = Tcp(c, 40000 + i, VIP, 80, cisn=0x05000000 * i, sisn=0x85000000 + i, ipid=0x100 * i,
                   server=picks[c], rport=8080)
        t = i / 100
        handshake(t, conn)
        if i % 4 == 0:
            cin(t + 0.003, conn, conn.c('PA', GET))
            sout(t + 0.004, conn.s('PA', OK))
    for i, c in enumerate(clients[:6], start=1):
        conn = Tcp(c, 43000 + i, VIP, 80, cisn=0x06000000 * i, sisn=0x86000000 + i, ipid=0x100 * i + 0x80,
                   server=picks[c], rport=8080)
        handshake(1 + i / 100, conn)
    stray = Tcp('198.51.100.99', 40099, VIP, 80, cisn=0, sisn=0x87000000, ipid=0, server='10.0.0.15', rport=8080)
    s.frame(2.000, stray.s('PA', OK), drop='unknown-reply')
    return s


def persist_rr():
    rules = """
# Persistence (-p 60) with rr, DR. Every list (newest first): .13, .12, .11 (rr picks .13, .12, .11, .13, ...).
-A -t 192.0.2.10:80 -s rr -p 60
-a -t 192.0.2.10:80 -r 10.0.0.11:80 -g -w 1
-a -t 192.0.2.10:80 -r 10.0.0.12:80 -g -w 1
-a -t 192.0.2.10:80 -r 10.0.0.13:80 -g -w 1
# one template per client /24
-A -t 192.0.2.10:443 -s rr -p 60 -M 255.255.255.0
-a -t 192.0.2.10:443 -r 10.0.0.11:443 -g -w 1
-a -t 192.0.2.10:443 -r 10.0.0.12:443 -g -w 1
-a -t 192.0.2.10:443 -r 10.0.0.13:443 -g -w 1
-A -u 192.0.2.10:53 -s rr -p 60
-a -u 192.0.2.10:53 -r 10.0.0.11:53 -g -w 1
-a -u 192.0.2.10:53 -r 10.0.0.12:53 -g -w 1
-a -u 192.0.2.10:53 -r 10.0.0.13:53 -g -w 1
"""
    readme = """
Persistence templates (ipvs-facts section 3) with rr and DR, -p 60; every decision and timer is worked out in
scripts/make_goldens.py (persist_rr). Clients A 198.51.100.1, B 198.51.100.2, C 203.0.113.3.

VIP:80 (rr picks .13 A1, .12 B1, .11 C1, .13 C2, .12 A4, .11 B3):
- A: A1 and A2 (another source port) go to .13 through A's template; A1/A2 are reset (gone at 14 s). A2 re-armed
  the template to 62 s, so A3 at 61.5 s still goes to .13 although its first 60 s are over and it controls
  nothing. A3 is reset; the template expires at 121.5 s; A4 at 122 s is scheduled afresh: .12.
- B: B1 stays ESTABLISHED, so when B's template fires at 61 s it lives on for 60 s (to 121 s); B2 at 100 s
  still goes to .12 and re-arms it to 160 s. B1 and B2 are reset (gone by 120.001 s); the template fires at
  160 s with nothing to control and is freed: B3 at 160.5 s is scheduled afresh: .11.
- C: C1's data at 40 s does not refresh the template (only new connections do); C1 is reset at 50 s (gone at
  60 s); the template expires at 63 s; C2 at 63.5 s is scheduled afresh: .13. C2 stays ESTABLISHED: the new
  template fires at 123.5 s and 183.5 s and lives on each time, so C3 at 200 s still goes to .13.

VIP:443 with -M 255.255.255.0: 198.51.100.1, .77 and .200 share one template (.13), 203.0.113.5 and .99
another (.12).

UDP VIP:53 (entries live 300 s): U (198.51.100.1) -> .13, V (203.0.113.3) -> .12, W (198.51.100.9) -> .11.
U's flow keeps its template alive (fired at 70, 130, 190 s), so a new flow from U at 245 s still goes to .13.
W's flow lasts until 312.5 s; its template fired at 312 s while it was alive and got another 60 s, so a new flow
from W at 370 s still goes to .11.
"""
    s = Scenario('persist-rr', rules, DIRECTOR_V4, readme,
                 [(a, p) for p in (80, 443, 53) for a in ('10.0.0.11', '10.0.0.12', '10.0.0.13')])
    RS1, RS2, RS3 = '10.0.0.11', '10.0.0.12', '10.0.0.13'
    A, B, C = '198.51.100.1', '198.51.100.2', '203.0.113.3'

    def conn(client, cport, vport, n):
        return Tcp(client, cport, VIP, vport, cisn=0x01000000 * n, sisn=0x81000000 + n, ipid=0x100 * n)

    def send(t, c, flags, rs, new=False, data=b''):
        f = c.c(flags, data, options=SYN_OPTIONS if flags == 'S' else None)
        if flags == 'S':
            c.server_sent(1)  # the SYN-ACK goes straight to the client (DR)
        s.frame(t, f, out=dr(f, rs), new_conn=(rs, c.vport) if new else None)

    def udp(t, client, cport, qid, rs, new=False):
        f = udp_frame(client, cport, VIP, 53, dns_query(qid), ipid=qid)
        s.frame(t, f, out=dr(f, rs), new_conn=(rs, 53) if new else None)

    # Notation: T(x) = the template of client x on that service; "exp" = when an entry's timer fires.
    # TCP DR entries (INPUT-ONLY table): SYN -> SYN_RECV (60 s), ACK -> ESTABLISHED (900 s), RST -> CLOSE (10 s).
    # A template is created with timeout 60 and expires 60 s after its creation; each NEW connection through it
    # re-arms it to now + its current timeout; packets of existing connections never touch it. When it fires
    # while it controls a live connection it lives on: timeout 60 for good, re-armed to now + 60; when it fires
    # controlling nothing it is freed. No two timers (or a timer and a packet) below fall on the same instant.
    # Times in seconds.
    a1, b1, a2, c1 = conn(A, 40001, 80, 1), conn(B, 40002, 80, 2), conn(A, 40003, 80, 3), conn(C, 40004, 80, 4)
    send(0.000, a1, 'S', RS3, new=True)   # no T(A): rr #1 -> .13 (head). T(A) exp 60. A1 SYN_RECV exp 60
    send(0.001, a1, 'A', RS3)             # A1 ESTABLISHED, exp 900.001
    send(1.000, b1, 'S', RS2, new=True)   # no T(B): rr #2 -> .12. T(B) exp 61
    send(1.001, b1, 'A', RS2)             # B1 ESTABLISHED, exp 901.001 (B1 lives to the end)
    send(2.000, a2, 'S', RS3, new=True)   # T(A) alive (60 > 2): .13, no rr. T(A) re-armed: 2 + 60 = 62
    send(2.001, a2, 'A', RS3)
    send(3.000, c1, 'S', RS1, new=True)   # no T(C): rr #3 -> .11. T(C) exp 63
    send(3.001, c1, 'A', RS1)             # C1 ESTABLISHED, exp 903.001
    send(4.000, a1, 'RA', RS3)            # A1 CLOSE, exp 14.000
    send(4.001, a2, 'RA', RS3)            # A2 CLOSE, exp 14.001: from then on T(A) controls nothing
    # VIP:443, -M 255.255.255.0: the template key is the client's /24. Own rr cursor: .13, .12, ...
    m = [conn(A, 41001, 443, 11), conn('198.51.100.77', 41002, 443, 12), conn('203.0.113.5', 41003, 443, 13),
         conn('198.51.100.200', 41004, 443, 14), conn('203.0.113.99', 41005, 443, 15)]
    send(5.000, m[0], 'S', RS3, new=True)  # no T(198.51.100.0/24): rr #1 -> .13. Template exp 65
    send(5.001, m[0], 'A', RS3)
    send(6.000, m[1], 'S', RS3, new=True)  # 198.51.100.77 -> same /24 template: .13 (re-armed to 66)
    send(6.001, m[1], 'A', RS3)
    send(7.000, m[2], 'S', RS2, new=True)  # no T(203.0.113.0/24): rr #2 -> .12. Template exp 67
    send(7.001, m[2], 'A', RS2)
    send(8.000, m[3], 'S', RS3, new=True)  # 198.51.100.200 -> .13 (template re-armed to 68)
    send(8.001, m[3], 'A', RS3)
    send(9.000, m[4], 'S', RS2, new=True)  # 203.0.113.99 -> .12 (template re-armed to 69)
    send(9.001, m[4], 'A', RS2)
    # UDP VIP:53: every datagram re-arms its flow's entry to now + 300. Own rr cursor: .13, .12, .11.
    U, V, W = (A, 5001), (C, 5003), ('198.51.100.9', 5005)
    udp(10.000, *U, 0x0001, RS3, new=True)   # rr #1 -> .13. T(U) exp 70. U flow exp 310
    udp(11.000, *V, 0x0002, RS2, new=True)   # rr #2 -> .12. T(V) exp 71. V flow exp 311
    udp(11.250, *V, 0x0003, RS2)             # V flow exp 311.25 (T(V) fires 71, 131, .., 311 with V alive)
    udp(12.000, *W, 0x0004, RS1, new=True)   # rr #3 -> .11. T(W) exp 72. W flow exp 312
    udp(12.500, *W, 0x0005, RS1)             # W flow exp 312.5
    send(40.000, c1, 'PA', RS1, data=GET)    # C1's data: C1 exp 940; T(C) NOT refreshed, still 63
    send(50.000, c1, 'RA', RS1)              # C1 CLOSE, exp 60.000
    # 60.000 C1 gone. 61.000 T(B) fires: it controls B1 (ESTABLISHED) -> lives on, exp 121.000.
    a3 = conn(A, 40005, 80, 5)
    send(61.500, a3, 'S', RS3, new=True)  # T(A) alive (62 > 61.5; without A2's re-arm it would have gone at 60)
    #                                       -> .13, no rr. T(A) re-armed to 121.5
    send(61.501, a3, 'A', RS3)
    send(62.000, a3, 'RA', RS3)           # A3 CLOSE, exp 72.000
    # 63.000 T(C) fires: C1 gone at 60 -> controls nothing -> freed.
    c2 = conn(C, 40006, 80, 6)
    send(63.500, c2, 'S', RS3, new=True)  # no T(C): rr #4 -> after .11 wraps to .13. New T(C) exp 123.5
    send(63.501, c2, 'A', RS3)            # C2 ESTABLISHED, exp 963.501 (lives to the end)
    # 70 T(U) fires with the U flow alive (310) -> 130; 71 T(V) -> 131; 72 T(W) -> 132; 72.000 A3 gone.
    b2 = conn(B, 40007, 80, 7)
    send(100.000, b2, 'S', RS2, new=True)  # T(B) alive (121 > 100; its first 60 s ended at 61): .12, no rr.
    #                                        Re-armed to 100 + 60 = 160
    send(100.001, b2, 'A', RS2)
    send(110.000, b1, 'RA', RS2)          # B1 CLOSE, exp 120.000
    send(110.001, b2, 'RA', RS2)          # B2 CLOSE, exp 120.001
    # 120.000 B1 gone, 120.001 B2 gone. 121.500 T(A) fires: A1, A2, A3 all gone -> freed.
    a4 = conn(A, 40008, 80, 8)
    send(122.000, a4, 'S', RS2, new=True)  # no T(A): rr #5 -> after .13: .12. New T(A) exp 182
    send(122.001, a4, 'A', RS2)
    # 123.5 T(C) fires: C2 ESTABLISHED -> lives on, exp 183.5. 130/131/132 T(U)/T(V)/T(W) -> 190/191/192.
    # 160.000 T(B) fires: B1, B2 gone -> freed.
    b3 = conn(B, 40009, 80, 9)
    send(160.500, b3, 'S', RS1, new=True)  # no T(B): rr #6 -> after .12: .11. New T(B) exp 220.5
    send(160.501, b3, 'A', RS1)
    # 183.5 T(C) fires: C2 still ESTABLISHED -> exp 243.5. 190/191/192 templates -> 250/251/252.
    c3 = conn(C, 40010, 80, 10)
    send(200.000, c3, 'S', RS3, new=True)  # T(C) alive (243.5): .13, no rr. Re-armed to 260
    send(200.001, c3, 'A', RS3)
    # UDP: T(U) fired at 70, 130, 190 with the U flow alive (exp 310): exp 250 now.
    udp(245.000, A, 5002, 0x0006, RS3, new=True)  # new flow of U's client: T(U) alive -> .13; re-armed to 305
    # T(W) fires at 252 and 312 with the W flow alive (exp 312.5 > 312) -> exp 372. 312.5: W flow gone.
    udp(370.000, '198.51.100.9', 5006, 0x0007, RS1, new=True)  # T(W) alive (372 > 370) -> .11, no rr
    return s


def fwmark_dr():
    rules = """
# Firewall-mark service 5, rr, DR; the dests have port 0: a connection keeps the packet's port.
# List (newest first): .13, .12, .11.
-A -f 5 -s rr
-a -f 5 -r 10.0.0.11:0 -g -w 1
-a -f 5 -r 10.0.0.12:0 -g -w 1
-a -f 5 -r 10.0.0.13:0 -g -w 1
# ordinary services on ports that the classifier marks too (443) or marks with a mark no service has (8080)
-A -t 192.0.2.10:443 -s rr
-a -t 192.0.2.10:443 -r 10.0.0.14:443 -g -w 1
-A -t 192.0.2.10:8080 -s rr
-a -t 192.0.2.10:8080 -r 10.0.0.14:8080 -g -w 1
"""
    director = director_with('10.0.0.14') + """
# Packet classifier (tried in order, first match wins)
mark 7 proto tcp dst 192.0.2.10 dport 8080
mark 5 proto tcp dst 192.0.2.10 dport 80-443
mark 6 proto tcp dst 192.0.2.10 dport 443
mark 5 proto udp src 198.51.100.0/24 dst 192.0.2.10 dport 53
"""
    readme = """
A firewall-mark service (`-A -f 5 -s rr`, DR dests with port 0) fed by the director file's classifier: TCP to
VIP ports 80-443 and UDP from 198.51.100.0/24 to VIP:53 get mark 5. rr (list .13, .12, .11) over the
connections of both protocols in arrival order: VIP:80 .13, VIP:443 .12, VIP:200 .11, UDP VIP:53 .13, VIP:80
again (same client, no persistence) .12, VIP:443 .11. DR keeps every port and address (only MACs, TTL and the
IPv4 checksum change).

- VIP:443 also has an ordinary service (-> .14): the mark wins (service lookup tries the fwmark first), and the
  shadowed later rule `mark 6 ... dport 443` never applies (first match wins), so .14:443 gets nothing.
- VIP:8080 matches `mark 7`, a mark no service has: the lookup falls through to the ordinary VIP:8080 service
  (-> .14:8080).
- Not marked, no service (no-service): TCP to VIP:22, :79 and :444 (outside 80-443), TCP to 192.0.2.11:80 (another
  destination), UDP to VIP:53 from 203.0.113.6 (outside the source prefix), UDP to VIP:80 (the rule is TCP).
"""
    s = Scenario('fwmark-dr', rules, director, readme,
                 [('10.0.0.11', 0), ('10.0.0.12', 0), ('10.0.0.13', 0), ('10.0.0.14', 443), ('10.0.0.14', 8080)])
    RS1, RS2, RS3, RS4 = '10.0.0.11', '10.0.0.12', '10.0.0.13', '10.0.0.14'

    def conn(client, cport, vport, n, dst=VIP):
        return Tcp(client, cport, dst, vport, cisn=0x01000000 * n, sisn=0x81000000 + n, ipid=0x100 * n)

    def send(t, c, flags, rs, key_port=None, data=b''):
        f = c.c(flags, data, options=SYN_OPTIONS if flags == 'S' else None)
        if flags == 'S':
            c.server_sent(1)
        s.frame(t, f, out=dr(f, rs), new_conn=(rs, key_port) if key_port is not None else None)

    def no_service(t, c):
        s.frame(t, c.c('S', options=SYN_OPTIONS), drop='no-service')

    f1, f2 = conn('198.51.100.1', 40001, 80, 1), conn('198.51.100.2', 40002, 443, 2)
    f3 = conn('203.0.113.3', 40003, 200, 3)
    send(0.001, f1, 'S', RS3, 0)                  # mark 5 -> fwmark service: rr #1 -> .13
    send(0.002, f1, 'A', RS3)
    send(0.003, f2, 'S', RS2, 0)                  # first match mark 5 (not 6); fwmark before VIP:443: rr #2 -> .12
    send(0.004, f2, 'A', RS2)
    no_service(0.005, conn('198.51.100.1', 40009, 22, 9))    # no mark, no VIP:22 service
    send(0.006, f3, 'S', RS1, 0)                  # port 200 is inside 80-443: rr #3 -> .11
    no_service(0.007, conn('198.51.100.10', 40010, 79, 10))
    no_service(0.008, conn('198.51.100.11', 40011, 444, 11))
    f4 = conn('198.51.100.4', 40004, 8080, 4)
    send(0.009, f4, 'S', RS4, 8080)               # mark 7: no fwmark-7 service -> VIP:8080 service -> .14
    q = udp_frame('198.51.100.5', 5005, VIP, 53, dns_query(0x0501), ipid=0x0501)
    s.frame(0.010, q, out=dr(q, RS3), new_conn=(RS3, 0))  # UDP, mark 5: rr #4 (shared cursor) wraps -> .13
    q = udp_frame('203.0.113.6', 5006, VIP, 53, dns_query(0x0601), ipid=0x0601)
    s.frame(0.011, q, drop='no-service')          # source outside 198.51.100.0/24: no mark
    q = udp_frame('198.51.100.7', 5007, VIP, 80, dns_query(0x0701), ipid=0x0701)
    s.frame(0.012, q, drop='no-service')          # UDP to port 80: the 80-443 rule is TCP only
    f5 = conn('198.51.100.1', 40005, 80, 5)
    send(0.013, f5, 'S', RS2, 0)                  # same client as f1, not persistent: rr #5 -> .12
    send(0.014, f1, 'PA', RS3, data=GET)          # f1's entry
    no_service(0.015, conn('198.51.100.12', 40012, 80, 12, dst='192.0.2.11'))  # dst is not the VIP: no mark
    send(0.016, f2, 'PA', RS2, data=GET)
    f6 = conn('198.51.100.8', 40006, 443, 6)
    send(0.017, f6, 'S', RS1, 0)                  # rr #6 -> .11
    q = udp_frame('198.51.100.5', 5005, VIP, 53, dns_query(0x0502), ipid=0x0502)
    s.frame(0.018, q, out=dr(q, RS3))             # the UDP flow's entry: .13
    send(0.019, f3, 'A', RS1)
    send(0.020, f4, 'A', RS4)
    return s


SCENARIOS = {
    'dr-tcp-rr': dr_tcp_rr,
    'dr-udp-wrr': dr_udp_wrr,
    'tun-tcp': tun_tcp,
    'tun-udp': tun_udp,
    'nat-tcp': nat_tcp,
    'nat-udp': nat_udp,
    'fullnat-tcp': fullnat_tcp,
    'fullnat-udp': fullnat_udp,
    'expiry': expiry,
    'wlc-counts': wlc_counts,
    'ipv6-dr': ipv6_dr,
    'ipv6-nat': ipv6_nat,
    'ipv6-tun': ipv6_tun,
    'ipv6-tun-mixed': ipv6_tun_mixed,
    'ipv6-fullnat': ipv6_fullnat,
    'ipv6-udp': ipv6_udp,
    'ipv6-persist': ipv6_persist,
    'sh-dr': sh_dr,
    'mh-nat': mh_nat,
    'persist-rr': persist_rr,
    'fwmark-dr': fwmark_dr,
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
