"""
The ICMP errors the director sends itself, as docs/forwarding.md ("ICMP errors the director sends") describes
them: the expected-output model shared by scripts/make_goldens.py (whose TTL-1, too-big and no-destination frames
are now answered) and scripts/make_goldens_icmp.py. Written from the text, on bytes, with its own checksum code;
scapy only assembles the outer IP header. Nothing here knows uvs's code.
"""

import socket
import struct

from scapy.all import IP, IPv6, Raw

ICMP4_MAX_LEN = 576      # RFC 1812: the whole ICMPv4 error at most 576 bytes
ICMP6_MAX_LEN = 1280     # RFC 4443: the ICMPv6 error fits the IPv6 minimum MTU
ANSWER_TTL = 64

# (type, code) per family for the three kinds of answer
KINDS = {
    4: {'ttl': (11, 0), 'frag': (3, 4), 'port': (3, 3)},
    6: {'ttl': (3, 0), 'frag': (2, 0), 'port': (1, 4)},
}


def ones_sum(data, s=0):
    if len(data) % 2:
        data = data + b'\0'
    for i in range(0, len(data), 2):
        s += (data[i] << 8) | data[i + 1]
    while s > 0xffff:
        s = (s & 0xffff) + (s >> 16)
    return s


def checksum(data, s=0):
    return ~ones_sum(data, s) & 0xffff


def ip_packet(frame):
    """The IP packet of an Ethernet frame: past the Ethernet header and any 802.1Q/802.1ad tags, cut at its IP length."""
    off = 12
    while frame[off:off + 2] in (b'\x81\x00', b'\x88\xa8'):
        off += 4
    ethertype = frame[off:off + 2]
    b = frame[off + 2:]
    if ethertype == b'\x08\x00':
        return b[:struct.unpack('!H', b[2:4])[0]]
    assert ethertype == b'\x86\xdd', ethertype
    return b[:40 + struct.unpack('!H', b[4:6])[0]]


def ipv4_header_checksum_fixed(b, off):
    """b (bytearray) with the IPv4 header at off given its correct checksum."""
    ihl = (b[off] & 15) * 4
    b[off + 10:off + 12] = b'\0\0'
    b[off + 10:off + 12] = struct.pack('!H', checksum(bytes(b[off:off + ihl])))


def icmp6_checksum(src, dst, msg):
    pseudo = socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) + \
        struct.pack('!IxxxB', len(msg), 58)
    return checksum(msg, ones_sum(pseudo))


def answer(frame, kind, src, ipid=0, mtu=None, quote_ttl_decremented=False, link_mtu=1500):
    """
    The ICMP error (kind 'ttl', 'frag' or 'port') about input `frame`, from `src` to the frame's source: an IP
    packet (scapy layer) for make_goldens.out_frame.
      IPv4: TOS = (offending TOS & 0x1e) | 0xc0, ID = ipid (the director's counter: 1, 2, 3, ...), DF clear,
            TTL 64; ICMP type/code, 4 bytes (Fragmentation Needed: 0, then the 16-bit MTU); the quote is the
            offending IP packet cut so that the whole error is at most min(576, link MTU) bytes.
      IPv6: traffic class 0, flow label 0, hop limit 64; ICMPv6 type/code, 4 bytes (Packet Too Big: the
            32-bit MTU); the quote cut so that the error is at most 1280 bytes.
    quote_ttl_decremented: the quote shows TTL/hop limit - 1 (and its IPv4 header checksum updated), as when
    IPVS refuses a packet on MTU after its TTL decrement.
    """
    pkt = bytearray(ip_packet(frame))
    v6 = pkt[0] >> 4 == 6
    icmp_type, code = KINDS[6 if v6 else 4][kind]
    info = (mtu if kind == 'frag' else 0)
    if kind == 'frag':
        assert mtu is not None
    if quote_ttl_decremented:
        if v6:
            pkt[7] -= 1
        else:
            pkt[8] -= 1
            ipv4_header_checksum_fixed(pkt, 0)
    if v6:
        quote = bytes(pkt[:ICMP6_MAX_LEN - 40 - 8])
        osrc = socket.inet_ntop(socket.AF_INET6, bytes(pkt[8:24]))
        msg = struct.pack('!BBHI', icmp_type, code, 0, info) + quote
        msg = msg[:2] + struct.pack('!H', icmp6_checksum(src, osrc, msg)) + msg[4:]
        return IPv6(src=src, dst=osrc, hlim=ANSWER_TTL, tc=0, fl=0, nh=58) / Raw(msg)
    quote = bytes(pkt[:min(ICMP4_MAX_LEN, link_mtu) - 20 - 8])
    osrc = socket.inet_ntoa(bytes(pkt[12:16]))
    msg = struct.pack('!BBHHH', icmp_type, code, 0, 0, info & 0xffff) + quote
    msg = msg[:2] + struct.pack('!H', checksum(msg)) + msg[4:]
    tos = (pkt[1] & 0x1e) | 0xc0
    return IP(src=src, dst=osrc, ttl=ANSWER_TTL, id=ipid, flags=0, tos=tos, proto=1) / Raw(msg)


def check_icmp(ip_bytes, where):
    """Asserts the ICMP / ICMPv6 checksum of an IP packet carrying one (and, in it, a valid quoted IPv4 header)."""
    if ip_bytes[0] >> 4 == 4:
        ihl = (ip_bytes[0] & 15) * 4
        assert ip_bytes[9] == 1, where
        msg = ip_bytes[ihl:]
        assert ones_sum(msg) == 0xffff, f'{where}: bad ICMP checksum'
        q = msg[8:]
        if len(q) >= 20:
            qihl = (q[0] & 15) * 4
            assert ones_sum(q[:qihl]) == 0xffff, f'{where}: bad quoted IPv4 header checksum'
    else:
        assert ip_bytes[6] == 58, where
        src = socket.inet_ntop(socket.AF_INET6, ip_bytes[8:24])
        dst = socket.inet_ntop(socket.AF_INET6, ip_bytes[24:40])
        assert icmp6_checksum(src, dst, ip_bytes[40:]) == 0, f'{where}: bad ICMPv6 checksum'
