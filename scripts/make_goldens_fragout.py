#!/usr/bin/python3
"""
Golden scenarios of IPv4 fragmentation on output (docs/forwarding.md, "Fragmentation on output"): a forwarded IPv4
packet longer than its egress link's MTU with DF clear leaves as fragments, as the kernel's ip_do_fragment cuts it;
with DF set it is still dropped and answered with Fragmentation Needed. Built like scripts/make_goldens.py, with its
frame builders and per-method rewrites (imported, not copied), independently of uvs:

    pcaps/fragment-out-nat   NAT both ways over links of MTU 1000 / 1500 / 9000, UDP, incl. input fragments
    pcaps/fragment-out-dr    DR over a 1000-byte link, TCP, with IP options (copied and not copied)
    pcaps/fragment-out-tun   IPIP: the outer IPv4 packet fragmented when the inner DF is clear

The expected fragments come from scapy's fragment() applied to the expected whole output frame (that function
copies the Ethernet and IP header onto each piece, cuts the data in multiples of 8 bytes but the last, sets MF on all
but the last, adds to the packet's own offset and keeps its MF on the last), plus, for IP options, the text's
"copied options only after the first fragment" done on bytes here (scapy repeats every option). Each fragmented
output is then checked by reassembling it and summing its transport checksum over the whole datagram.

Run:  /usr/bin/python3 scripts/make_goldens_fragout.py [scenario ...]      (Debian's python3-scapy)
"""

import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import icmp_model  # noqa: E402
import make_goldens as mg  # noqa: E402
from make_goldens import GW_MAC, MAC, VIP, Scenario, Tcp, udp_frame  # noqa: E402
from make_goldens_icmp import fragment as fragment_input, translate_fragments, udp_datagram  # noqa: E402

from scapy.all import IP, IPOption_NOP, IPOption_RR, IPOption_Router_Alert, Ether, Raw, UDP  # noqa: E402
from scapy.layers.inet import fragment as scapy_fragment  # noqa: E402

ones_sum, checksum = icmp_model.ones_sum, icmp_model.checksum

ETH0_MAC, ETH1_MAC, ETH2_MAC = mg.DIRECTOR_MAC, '02:00:00:00:00:02', '02:00:00:00:00:03'
RS_NAT_A, RS_NAT_B, RS_DR, RS_TUN = '10.0.1.12', '10.0.2.13', '10.0.1.31', '10.0.0.21'
MAC.update({RS_NAT_A: '02:00:00:00:02:12', RS_NAT_B: '02:00:00:00:03:13', RS_DR: '02:00:00:00:02:31'})


def mac_bytes(mac):
    return bytes(int(x, 16) for x in mac.split(':'))


def via(frame, src_mac):
    """The frame as it leaves a link whose MAC is src_mac (mg.out_frame writes eth0's)."""
    return frame[:6] + mac_bytes(src_mac) + frame[12:]


def ip_packet(frame):
    return icmp_model.ip_packet(frame)


def keep_copied_options(b):
    """
    The fragments after the first carry only the options whose copied bit (0x80) is set: the others become NOPs
    (End of Options ends the walk; the header keeps its length). b: the IPv4 packet (bytearray); checksum redone.
    """
    ihl = (b[0] & 15) * 4
    p = 20
    while p < ihl:
        kind = b[p]
        if kind == 0:
            break
        if kind == 1:
            p += 1
            continue
        length = b[p + 1]
        assert 2 <= length <= ihl - p, 'malformed option in a golden input'
        if not kind & 0x80:
            b[p:p + length] = b'\x01' * length
        p += length
    icmp_model.ipv4_header_checksum_fixed(b, 0)


def fragments_of(frame, mtu):
    """
    The frames an IPv4 output frame (DF clear) becomes on a link of `mtu` bytes: itself when it fits; else scapy's
    fragment() with (mtu - header length) bytes of room per piece, and the options rule above.
    """
    b = ip_packet(frame)
    assert len(frame) == 14 + len(b)
    if len(b) <= mtu:
        return [frame]
    assert not b[6] & 0x40, 'DF set: not fragmented'
    ihl = (b[0] & 15) * 4
    outs = [bytes(f) for f in scapy_fragment(Ether(frame), fragsize=mtu - ihl)]
    fixed = [outs[0]]
    for f in outs[1:]:
        p = bytearray(f[14:])
        keep_copied_options(p)
        fixed.append(f[:14] + bytes(p))
    for f in fixed:
        assert len(f) - 14 <= mtu, 'fragment over the MTU'
    check_fragments(fixed, b)
    return fixed


def check_fragments(frags, whole):
    """
    Independent check of a fragment list against the whole packet it came from: same ID, TTL, protocol and
    addresses; offsets consecutive from the packet's own, data multiples of 8 but the last; MF on all but the last,
    the last keeping the packet's MF; the data, put back together, is the packet's.
    """
    ihl = (whole[0] & 15) * 4
    word = struct.unpack('!H', whole[6:8])[0]
    at = (word & 0x1fff) * 8
    data = b''
    for i, f in enumerate(frags):
        b = f[14:]
        assert ones_sum(b[:(b[0] & 15) * 4]) == 0xffff, 'fragment header checksum'
        assert (b[0] & 15) * 4 == ihl and b[4:6] == whole[4:6] and b[8:10] == whole[8:10] and b[12:20] == whole[12:20]
        fw = struct.unpack('!H', b[6:8])[0]
        assert (fw & 0x1fff) * 8 == at, f'fragment {i}: offset'
        last = i == len(frags) - 1
        assert bool(fw & 0x2000) == (bool(word & 0x2000) if last else True), f'fragment {i}: MF'
        chunk = b[ihl:struct.unpack('!H', b[2:4])[0]]
        assert last or len(chunk) % 8 == 0
        data += chunk
        at += len(chunk)
    assert data == bytes(whole[ihl:]), 'fragments do not put back together into the packet'


def check_datagram(frames, length):
    """Reassembles output frames (fragments of one datagram, any order) and checks the transport checksum whole."""
    data = bytearray(length)
    seen = 0
    for f in frames:
        b = ip_packet(f)
        ihl = (b[0] & 15) * 4
        off = (struct.unpack('!H', b[6:8])[0] & 0x1fff) * 8
        chunk = b[ihl:]
        data[off:off + len(chunk)] = chunk
        seen += len(chunk)
        src, dst, proto = b[12:16], b[16:20], b[9]
    assert seen == length, f'{seen} of {length} bytes'
    if proto == 17 and struct.unpack('!H', data[6:8])[0] == 0:
        return
    pseudo = src + dst + struct.pack('!xBH', proto, length)
    assert ones_sum(pseudo + bytes(data)) == 0xffff, 'reassembled transport checksum'


# test/hostile-input.test.ts mutates every golden input inside a 2912-byte buffer (FRAME_ROOM of
# test/support/hostile-source.ts): inputs stay within it.
MAX_INPUT = 2912


class FragScenario(Scenario):
    """A Scenario whose inputs may each give several output frames (the fragments, in order)."""

    def __init__(self, *args):
        super().__init__(*args)
        self.extra = 0

    def fragmented(self, t, frame, outs, new_conn=None):
        """One input whose expected outputs are `outs` (its fragments, first to last), all with its timestamp."""
        self.frame(t, frame, out=outs[0], new_conn=new_conn)
        ts = self.outputs[-1][0]
        for f in outs[1:]:
            mg.check_ip_packet(f[14:], f'{self.name} t={t}')
            self.outputs.append((ts, f))
        self.extra += len(outs) - 1

    def write(self):
        assert all(len(f) <= MAX_INPUT for _, f in self.inputs), f'{self.name}: an input longer than {MAX_INPUT} bytes'
        d = os.path.join(mg.PCAPS, self.name)
        os.makedirs(d, exist_ok=True)
        mg.write_pcap(os.path.join(d, 'in.pcap'), self.inputs)
        mg.write_pcap(os.path.join(d, 'expected.pcap'), self.outputs)
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
        # Every fragment is a frame out: in + ICMP answers + fragments beyond the first = out + dropped.
        assert summary['in'] + self.answers + self.extra == summary['out'] + sum(self.dropped.values())
        with open(os.path.join(d, 'expected.json'), 'w') as f:
            f.write(json.dumps(summary, indent=2) + '\n')


def payload(n, seed):
    return bytes((seed + 7 * i) & 0xff for i in range(n))


def udp_of_size(src, sport, dst, dport, ip_len, seed, **kw):
    """A UDP frame whose IPv4 packet is ip_len bytes long."""
    f = udp_frame(src, sport, dst, dport, payload(ip_len - 28, seed), **kw)
    assert len(f) == 14 + ip_len
    return f


# ----------------------------------------------------------------------------------------------------------
# NAT

NAT_DIRECTOR = """
link eth0 mac 02:00:00:00:00:01 mtu 1500
link eth1 mac 02:00:00:00:00:02 mtu 1000
link eth2 mac 02:00:00:00:00:03 mtu 9000
addr 10.0.0.1/24 dev eth0
addr 10.0.1.1/24 dev eth1
addr 10.0.2.1/24 dev eth2
neigh 10.0.0.254 lladdr 02:00:00:00:00:fe dev eth0
neigh 10.0.1.12 lladdr 02:00:00:00:02:12 dev eth1
neigh 10.0.2.13 lladdr 02:00:00:00:03:13 dev eth2
route default via 10.0.0.254 dev eth0
"""


def fragment_out_nat():
    rules = """
# NAT, UDP: VIP:9001 -> 10.0.1.12:9100, on eth1 (MTU 1000)
-A -u 192.0.2.10:9001 -s rr
-a -u 192.0.2.10:9001 -r 10.0.1.12:9100 -m -w 1
# NAT, UDP: VIP:9002 -> 10.0.2.13:9200, on eth2 (MTU 9000); its replies go to the clients on eth0 (MTU 1500)
-A -u 192.0.2.10:9002 -s rr
-a -u 192.0.2.10:9002 -r 10.0.2.13:9200 -m -w 1
"""
    readme = """
NAT with IPv4 fragmentation on output (docs/forwarding.md, "Fragmentation on output"). Clients are on eth0 (MTU
1500), real server .12 on eth1 (MTU 1000), real server .13 on eth2 (MTU 9000). Every datagram is UDP with DF clear
unless said otherwise; the director rewrites it (destination .12:9100, or source VIP:9002 on replies; TTL - 1; the
UDP checksum for the whole datagram) and then, when it is longer than the egress MTU, cuts it: each fragment has the
IP header (same ID), (MTU - 20) rounded down to 8 bytes of data but the last, MF on all but the last, its offset in
8-byte units and its own header checksum; the port rewrite and the UDP checksum are in the first fragment only.

- VIP:9001 -> .12 (MTU 1000): 200 bytes (whole); 1400 bytes -> 976 + 404 data bytes; 1000 bytes (exactly the MTU:
  whole); 1001 bytes -> 976 + 5; 2500 bytes -> 976 + 976 + 528; 1400 bytes with DF set -> dropped (too-big),
  Fragmentation Needed with MTU 1000 from the VIP, quoting the datagram with TTL - 1; 1400 bytes with a zero UDP
  checksum -> the checksum computed over the whole datagram (NAT's rule), then 976 + 404.
- Fragments in: a 3008-byte datagram arriving as 1480 + 1480 + 48 (a new client): the first two are longer than
  1000, so each is cut again (976 + 504 data bytes at offsets 0 / 976 and 1480 / 2456, MF on all four, the second
  piece of each keeping its input's MF); the 48-byte last fragment goes whole. Reassembled at .12, the datagram
  checks (the first fragment's incremental checksum update covers the whole datagram).
- VIP:9002 -> .13 (MTU 9000): a query (whole); the server's 2800-byte answer leaves on eth0 (MTU 1500) as 1480 +
  1300, source VIP:9002 in the first; the same answer with DF set is dropped by the director's forwarding
  before IPVS (too-big) and .13 gets Fragmentation Needed with MTU 1500 from 10.0.2.1 (quoted as it arrived).
"""
    s = FragScenario('fragment-out-nat', rules, NAT_DIRECTOR, readme, [(RS_NAT_A, 9100), (RS_NAT_B, 9200)])

    def to_a(f):
        return fragments_of(via(mg.nat_in(f, RS_NAT_A, 9100), ETH1_MAC), 1000)

    a = ('198.51.100.1', 5001)
    f = udp_of_size(a[0], a[1], VIP, 9001, 200, 1, ipid=0x1001)
    outs = to_a(f)
    assert len(outs) == 1
    s.fragmented(0.001, f, outs, new_conn=(RS_NAT_A, 9100))
    f = udp_of_size(a[0], a[1], VIP, 9001, 1400, 2, ipid=0x1002)
    outs = to_a(f)
    assert [len(o) - 14 - 20 for o in outs] == [976, 404]
    assert outs[0][14 + 20 + 2:14 + 20 + 4] == struct.pack('!H', 9100)   # the port, in the first fragment
    check_datagram(outs, 1380)
    s.fragmented(0.002, f, outs)
    f = udp_of_size(a[0], a[1], VIP, 9001, 1000, 3, ipid=0x1003)
    outs = to_a(f)
    assert len(outs) == 1
    s.fragmented(0.003, f, outs)
    f = udp_of_size(a[0], a[1], VIP, 9001, 1001, 4, ipid=0x1004)
    outs = to_a(f)
    assert [len(o) - 14 - 20 for o in outs] == [976, 5]
    check_datagram(outs, 981)
    s.fragmented(0.004, f, outs)
    f = udp_of_size(a[0], a[1], VIP, 9001, 2500, 10, ipid=0x1007)
    outs = to_a(f)
    assert [len(o) - 14 - 20 for o in outs] == [976, 976, 528]
    check_datagram(outs, 2480)
    s.fragmented(0.0045, f, outs)
    f = udp_of_size(a[0], a[1], VIP, 9001, 1400, 5, ipid=0x1005, df=True)
    s.frame(0.005, f, drop='too-big', answer=s.icmp(f, 'frag', VIP, GW_MAC, mtu=1000, quote_ttl_decremented=True))
    f = udp_of_size(a[0], a[1], VIP, 9001, 1400, 6, ipid=0x1006, chksum=0)
    outs = to_a(f)
    assert outs[0][14 + 20 + 6:14 + 20 + 8] != b'\0\0'    # computed, for the whole datagram
    check_datagram(outs, 1380)
    s.fragmented(0.006, f, outs)

    # ---- fragments in, cut again
    c = ('198.51.100.3', 5003)
    whole = udp_datagram(c[0], c[1], VIP, 9001, payload(3000, 7))
    frs = fragment_input(c[0], VIP, whole, [1480, 1480, 48], ipid=0x3003)
    per_input = translate_fragments(frs, MAC[RS_NAT_A], whole, dst=RS_NAT_A, dport=9100)
    outs = [fragments_of(via(o, ETH1_MAC), 1000) for o in per_input]
    assert [[len(o) - 14 - 20 for o in group] for group in outs] == [[976, 504], [976, 504], [48]]
    check_datagram([o for group in outs for o in group], 3008)
    s.fragmented(0.010, frs[0][1], outs[0], new_conn=(RS_NAT_A, 9100))
    s.fragmented(0.011, frs[1][1], outs[1])
    s.fragmented(0.012, frs[2][1], outs[2])

    # ---- replies leaving on eth0 (MTU 1500)
    b = ('198.51.100.2', 5002)
    f = udp_of_size(b[0], b[1], VIP, 9002, 100, 8, ipid=0x2001)
    outs = fragments_of(via(mg.nat_in(f, RS_NAT_B, 9200), ETH2_MAC), 9000)
    s.fragmented(0.020, f, outs, new_conn=(RS_NAT_B, 9200))
    answer = payload(2800 - 28, 9)
    f = mg.eth(MAC[RS_NAT_B], IP(src=RS_NAT_B, dst=b[0], ttl=64, id=0x4001, flags=0) / UDP(sport=9200, dport=b[1]) /
               Raw(answer), dst_mac=ETH2_MAC)
    outs = fragments_of(mg.nat_out(f, VIP, 9002), 1500)
    assert [len(o) - 14 - 20 for o in outs] == [1480, 1300]
    assert outs[0][14 + 20:14 + 20 + 2] == struct.pack('!H', 9002)
    check_datagram(outs, 2780)
    s.fragmented(0.021, f, outs)
    f = mg.eth(MAC[RS_NAT_B], IP(src=RS_NAT_B, dst=b[0], ttl=64, id=0x4002, flags='DF') /
               UDP(sport=9200, dport=b[1]) / Raw(answer), dst_mac=ETH2_MAC)
    err = via(s.icmp(f, 'frag', '10.0.2.1', MAC[RS_NAT_B], mtu=1500), ETH2_MAC)
    s.frame(0.022, f, drop='too-big', answer=err)
    return s


# ----------------------------------------------------------------------------------------------------------
# DR

DR_DIRECTOR = """
link eth0 mac 02:00:00:00:00:01 mtu 1500
link eth1 mac 02:00:00:00:00:02 mtu 1000
addr 10.0.0.1/24 dev eth0
addr 10.0.1.1/24 dev eth1
neigh 10.0.0.254 lladdr 02:00:00:00:00:fe dev eth0
neigh 10.0.1.31 lladdr 02:00:00:00:02:31 dev eth1
route default via 10.0.0.254 dev eth0
"""

# Record Route (type 7: copied bit clear) with two empty slots, a NOP, Router Alert (type 148: copied bit set).
OPTIONS = [IPOption_RR(pointer=4, routers=['0.0.0.0', '0.0.0.0']), IPOption_NOP(), IPOption_Router_Alert()]


def with_options(frame, options):
    """The frame with these IPv4 options (header length, total length and checksums redone)."""
    p = Ether(frame)
    p[IP].options = options
    del p[IP].ihl, p[IP].len, p[IP].chksum
    return bytes(p)


def fragment_out_dr():
    rules = """
# DR, TCP: VIP:80 -> 10.0.1.31, on eth1 (MTU 1000)
-A -t 192.0.2.10:80 -s rr
-a -t 192.0.2.10:80 -r 10.0.1.31:80 -g -w 1
"""
    readme = """
DR with IPv4 fragmentation on output (docs/forwarding.md, "Fragmentation on output"): the real server 10.0.1.31 is
on eth1, MTU 1000. A TCP connection whose client clears DF. The director changes only the TTL (and the header
checksum) and then cuts a segment longer than 1000 bytes into fragments with the same ID, each with the IP header,
MF on all but the last, offsets in 8-byte units, TTL - 1 in each.

- SYN and ACK: whole.
- A 1400-byte segment without options: 976 + 404 data bytes.
- A 1400-byte segment with 16 bytes of IP options (IHL 9): Record Route (type 7, copied bit clear), NOP, Router
  Alert (type 148, copied bit set). Room per fragment 1000 - 36 = 964, so 960 + 404 data bytes; the first fragment
  has the options as they came, the second the same 36-byte header with Record Route overwritten by NOPs (only
  copied options are repeated, as ip_options_fragment does) and Router Alert kept.
- A 1400-byte segment with DF set: dropped (too-big), Fragmentation Needed with MTU 1000 from the VIP to the client,
  quoting it with TTL - 1.
- FIN: whole.
"""
    s = FragScenario('fragment-out-dr', rules, DR_DIRECTOR, readme, [(RS_DR, 80)])

    def out(f):
        return fragments_of(via(mg.dr(f, RS_DR), ETH1_MAC), 1000)

    k = Tcp('198.51.100.1', 40001, VIP, 80, cisn=0x11000000, sisn=0x91000000, ipid=0x1100, df=False)
    f = k.c('S', options=mg.SYN_OPTIONS)
    s.fragmented(0.001, f, out(f), new_conn=(RS_DR, 80))
    k.server_sent(1)
    f = k.c('A')
    s.fragmented(0.002, f, out(f))
    f = k.c('PA', payload(1360, 1))
    assert len(f) == 14 + 1400
    outs = out(f)
    assert [len(o) - 14 - 20 for o in outs] == [976, 404]
    check_datagram(outs, 1380)
    s.fragmented(0.003, f, outs)
    f = with_options(k.c('PA', payload(1344, 2)), OPTIONS)
    assert len(f) == 14 + 1400 and f[14] == 0x49
    outs = out(f)
    assert [len(o) - 14 - 36 for o in outs] == [960, 404]
    assert outs[0][14 + 20:14 + 36] == f[14 + 20:14 + 36]                          # options as they came
    assert outs[1][14 + 20:14 + 36] == b'\x01' * 12 + bytes([148, 4, 0, 0])        # RR gone, Router Alert kept
    check_datagram(outs, 1364)
    s.fragmented(0.004, f, outs)
    k.df = True
    f = k.c('PA', payload(1360, 3))
    s.frame(0.005, f, drop='too-big', answer=s.icmp(f, 'frag', VIP, GW_MAC, mtu=1000, quote_ttl_decremented=True))
    k.df = False
    f = k.c('FA')
    s.fragmented(0.006, f, out(f))
    return s


# ----------------------------------------------------------------------------------------------------------
# TUN

TUN_DIRECTOR = """
link eth0 mac 02:00:00:00:00:01 mtu 1500
addr 10.0.0.1/24 dev eth0
neigh 10.0.0.254 lladdr 02:00:00:00:00:fe dev eth0
neigh 10.0.0.21 lladdr 02:00:00:00:01:21 dev eth0
route default via 10.0.0.254 dev eth0
"""


def fragment_out_tun():
    rules = """
# TUN (ipip), UDP: VIP:9002 -> 10.0.0.21 (link MTU 1500, tunnel MTU 1480)
-A -u 192.0.2.10:9002 -s rr
-a -u 192.0.2.10:9002 -r 10.0.0.21:9002 -i -w 1 --tun-type ipip
"""
    readme = """
IPIP with fragmentation on output (docs/forwarding.md, "Fragmentation on output"). The outer IPv4 header copies the
inner DF; with DF clear, an outer packet longer than the link MTU (1500) is cut as any IPv4 packet: the outer header
(no options, ID from .21's counter, the same in every fragment) on each piece, 1480 data bytes per piece but the
last, MF on all but the last; the inner packet (TTL - 1) is the data, its header in the first fragment only.

- A 100-byte datagram: whole, outer ID 1.
- A 1481-byte datagram: outer 1501 -> 1480 + 1 data bytes, outer ID 2 in both.
- The same with DF set: dropped (too-big), Fragmentation Needed with the tunnel's MTU 1480 from the VIP, quoting it
  with TTL - 1; no outer ID used.
- A 2880-byte datagram: outer 2900 -> 1480 + 1400, outer ID 3.
- A 1480-byte datagram: outer 1500 = MTU: whole, outer ID 4.
"""
    s = FragScenario('fragment-out-tun', rules, TUN_DIRECTOR, readme, [(RS_TUN, 9002)])

    def out(f, counter):
        return fragments_of(mg.tun(f, RS_TUN, MAC[RS_TUN], '10.0.0.1', counter), 1500)

    a = ('198.51.100.1', 5001)
    f = udp_of_size(a[0], a[1], VIP, 9002, 100, 0, ipid=0x0101)
    s.fragmented(0.001, f, out(f, 1), new_conn=(RS_TUN, 9002))
    f = udp_of_size(a[0], a[1], VIP, 9002, 1481, 1, ipid=0x0102)
    outs = out(f, 2)
    assert [len(o) - 14 - 20 for o in outs] == [1480, 1]
    s.fragmented(0.002, f, outs)
    f = udp_of_size(a[0], a[1], VIP, 9002, 1481, 2, ipid=0x0103, df=True)
    s.frame(0.003, f, drop='too-big', answer=s.icmp(f, 'frag', VIP, GW_MAC, mtu=1480, quote_ttl_decremented=True))
    f = udp_of_size(a[0], a[1], VIP, 9002, 2880, 3, ipid=0x0104)
    outs = out(f, 3)
    assert [len(o) - 14 - 20 for o in outs] == [1480, 1400]
    s.fragmented(0.004, f, outs)
    f = udp_of_size(a[0], a[1], VIP, 9002, 1480, 4, ipid=0x0105)
    outs = out(f, 4)
    assert len(outs) == 1
    s.fragmented(0.005, f, outs)
    return s


SCENARIOS = {
    'fragment-out-nat': fragment_out_nat,
    'fragment-out-dr': fragment_out_dr,
    'fragment-out-tun': fragment_out_tun,
}


def main(names):
    for name in names or SCENARIOS:
        if name not in SCENARIOS:
            sys.exit(f'unknown scenario {name!r}; known: {", ".join(SCENARIOS)}')
        s = SCENARIOS[name]()
        s.write()
        print(f'{name}: {len(s.inputs)} in, {len(s.outputs)} out ({s.extra} of them extra fragments), '
              f'dropped {s.dropped}')


if __name__ == '__main__':
    main(sys.argv[1:])
