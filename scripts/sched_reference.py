#!/usr/bin/python3
"""
Independent reference for the IPVS hashing schedulers sh, dh and mh (uvs issue 4).

Written straight from /work/shared/ipvs-schedulers.md (sections 1.4-1.7, 11, 12, 13) with
/work/shared/ipvs-facts.md 2.9-2.11 as a second opinion. It deliberately shares nothing with
uvs's TypeScript: its own SipHash (Python integers, 64-bit words as the text describes them),
its own hash_32, its own address folding (the ipaddress module) and its own table fills, all
written the naive way so that a slip in the clever zero-allocation code of src/sched/ cannot be
repeated here.

Output: test/fixtures/sched/{sh,dh,mh}.json, committed; the mocha tests replay every case on our
schedulers and compare tables and decisions. The script first checks itself against every fixed
value the two specification files give (kernel self-test values of hsiphash, SipHash-2-4
vectors, hash_32 examples, the sh bucket examples, the mh dest offsets/skips, the sh count
example), and refuses to write anything if one of them fails.

Run:  /usr/bin/python3 scripts/sched_reference.py        (deterministic: same bytes every run)
"""

import ipaddress
import json
import math
import os
import struct
import sys

M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF

TCP, UDP, SCTP, ICMP = 6, 17, 132, 1
FLAG_1 = 0x0008  # sh-fallback / mh-fallback
FLAG_2 = 0x0010  # sh-port / mh-port

# ---------------------------------------------------------------------------------------------
# Hash functions (ipvs-schedulers.md 1.7)
# ---------------------------------------------------------------------------------------------


def hash_32(v, bits):
    """The top `bits` bits of the 32-bit product v * 0x61C88647."""
    return ((v * 0x61C88647) & M32) >> (32 - bits)


def rotl64(x, b):
    return ((x << b) | (x >> (64 - b))) & M64


def sip_round(v):
    v0, v1, v2, v3 = v
    v0 = (v0 + v1) & M64
    v1 = rotl64(v1, 13) ^ v0
    v0 = rotl64(v0, 32)
    v2 = (v2 + v3) & M64
    v3 = rotl64(v3, 16) ^ v2
    v0 = (v0 + v3) & M64
    v3 = rotl64(v3, 21) ^ v0
    v2 = (v2 + v1) & M64
    v1 = rotl64(v1, 17) ^ v2
    v2 = rotl64(v2, 32)
    return [v0, v1, v2, v3]


def siphash(k0, k1, data, c_rounds, d_rounds):
    """SipHash-c-d of bytes `data` with 64-bit key words k0, k1: the 64-bit result."""
    v = [k0 ^ 0x736F6D6570736575, k1 ^ 0x646F72616E646F6D, k0 ^ 0x6C7967656E657261, k1 ^ 0x7465646279746573]
    full = len(data) - len(data) % 8
    for i in range(0, full, 8):
        m = int.from_bytes(data[i:i + 8], 'little')
        v[3] ^= m
        for _ in range(c_rounds):
            v = sip_round(v)
        v[0] ^= m
    b = ((len(data) & 0xFF) << 56) | int.from_bytes(data[full:], 'little')
    v[3] ^= b
    for _ in range(c_rounds):
        v = sip_round(v)
    v[0] ^= b
    v[2] ^= 0xFF
    for _ in range(d_rounds):
        v = sip_round(v)
    return v[0] ^ v[1] ^ v[2] ^ v[3]


def hsiphash(k0, k1, data):
    """The 64-bit kernel's hsiphash: SipHash-1-3, low 32 bits."""
    return siphash(k0, k1, data, 1, 3) & M32


def hsiphash_u32(key, v):
    """hsiphash of the 4-byte in-memory image of the 32-bit number v on a little-endian CPU."""
    return hsiphash(key[0], key[1], struct.pack('<I', v & M32))


MH_KEY1 = (2654435761, 2654435761)
MH_KEY2 = (2654446892, 2654446892)
MH_PRIMES = [251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071]
MH_TAB_INDEX = 12
MH_SIZE = MH_PRIMES[MH_TAB_INDEX - 8]
MH_TAB_BITS = MH_TAB_INDEX // 2

# ---------------------------------------------------------------------------------------------
# The service model (ipvs-schedulers.md 1.1, 1.2, 1.4, 1.6)
# ---------------------------------------------------------------------------------------------


class Dest:
    def __init__(self, name, addr, port, weight):
        self.name = name
        self.addr = ipaddress.ip_address(addr)
        self.port = port
        self.weight = weight
        self.last_weight = weight  # set on every add
        self.available = True
        self.overload = False


def fold(addr, service_af):
    """1.6: IPv4 -> its value; IPv6 -> XOR of its four words. The SERVICE's family decides:
    in an IPv4 service an IPv6 dest contributes its first word; in an IPv6 service an IPv4
    dest folds to its own value (the other three words are zero)."""
    raw = addr.packed
    if len(raw) == 4:
        raw = raw + bytes(12)
    words = [int.from_bytes(raw[i:i + 4], 'big') for i in range(0, 16, 4)]
    if service_af == 4:
        return words[0]
    return words[0] ^ words[1] ^ words[2] ^ words[3]


def usable(d):
    """weight > 0 and OVERLOAD clear (the rule of sh and mh)."""
    return d.weight > 0 and not d.overload


def hashed_port(flags, sport, proto):
    """1.5: the source port only with flag 2 and TCP/UDP/SCTP, else 0."""
    return sport if (flags & FLAG_2) and proto in (TCP, UDP, SCTP) else 0


class Service:
    def __init__(self, af, flags, scheduler):
        self.af = af
        self.flags = flags
        self.dests = []  # list order: index 0 is the newest
        self.sched = scheduler(self)

    def find(self, name):
        for d in self.dests:
            if d.name == name:
                return d
        raise KeyError(name)

    def add(self, name, addr, port, weight):
        d = Dest(name, addr, port, weight)
        self.dests.insert(0, d)  # 1.1: a new dest goes to the front
        self.sched.on_add()
        return d

    def edit(self, name, weight):
        d = self.find(name)
        d.weight = weight
        if weight != 0:
            d.last_weight = weight  # 1.2: only a non-zero weight becomes last_weight
        self.sched.on_edit()

    def delete(self, name):
        d = self.find(name)
        self.dests.remove(d)
        d.available = False
        self.sched.on_delete()

    def set_overload(self, name, on):
        self.find(name).overload = on


# ---------------------------------------------------------------------------------------------
# sh (section 11)
# ---------------------------------------------------------------------------------------------


class SH:
    def __init__(self, svc, bits=8):
        self.svc = svc
        self.bits = bits
        self.size = 1 << bits
        self.table = [None] * self.size

    def rebuild(self):
        dests = self.svc.dests
        if not dests:
            self.table = [None] * self.size
            return
        table = []
        i = 0
        while len(table) < self.size:
            d = dests[i % len(dests)]
            for _ in range(max(d.weight, 1)):
                if len(table) == self.size:
                    break
                table.append(d)
            i += 1
        self.table = table

    on_add = on_delete = on_edit = rebuild  # table 1.4: every change rebuilds

    def bucket(self, src_key, sport, proto):
        port = hashed_port(self.svc.flags, sport, proto)
        return hash_32((port + src_key) & M32, self.bits)

    def lookup(self, src_key, dst_key, sport, proto):
        ihash = self.bucket(src_key, sport, proto)
        d = self.table[ihash]
        if not self.svc.flags & FLAG_1:
            return d if d is not None and usable(d) else None
        if d is None:
            return None
        if usable(d):
            return d
        for k in range(self.size):
            d = self.table[(k + 2 * ihash) % self.size]
            if d is None:
                return None
            if usable(d):
                return d
        return None


# ---------------------------------------------------------------------------------------------
# dh (section 12)
# ---------------------------------------------------------------------------------------------


class DH:
    size = 256

    def __init__(self, svc):
        self.svc = svc
        self.table = [None] * self.size

    def rebuild(self):
        dests = self.svc.dests
        self.table = [dests[i % len(dests)] if dests else None for i in range(self.size)]

    on_add = on_delete = rebuild

    def on_edit(self):
        pass  # 1.4: dh has no edit hook

    def lookup(self, src_key, dst_key, sport, proto):
        d = self.table[hash_32(dst_key, 8)]
        if d is None or not d.available or d.weight <= 0 or d.overload:
            return None
        return d


# ---------------------------------------------------------------------------------------------
# mh (section 13)
# ---------------------------------------------------------------------------------------------


class MH:
    size = MH_SIZE

    def __init__(self, svc):
        self.svc = svc
        self.table = [None] * self.size
        self.setup = {}
        self.gcd = 0
        self.rshift = 0

    def dest_hashes(self, d):
        v = (d.port + fold(d.addr, self.svc.af)) & M32
        offset = hsiphash_u32(MH_KEY1, v) % self.size
        skip = hsiphash_u32(MH_KEY2, v) % (self.size - 1) + 1
        return offset, skip

    def rebuild(self):
        dests = self.svc.dests
        positive = [d.last_weight for d in dests if d.last_weight > 0]
        self.gcd = 0
        for w in positive:
            self.gcd = math.gcd(self.gcd, w)
        self.rshift = max(0, (max(positive) // self.gcd).bit_length() - MH_TAB_BITS) if positive else 0
        if len(dests) > self.size:
            return  # more dests than slots: the table is left as it was
        if self.gcd < 1:
            self.setup = {}
            self.table = [None] * self.size  # no positive last_weight: every slot empty
            return
        perm, skip, turns = [], [], []
        self.setup = {}
        for d in dests:
            o, s = self.dest_hashes(d)
            t = (d.last_weight // self.gcd) >> self.rshift
            if t == 0 and d.last_weight != 0:
                t = 1
            if d.last_weight == 0:
                t = 0
            perm.append(o)
            skip.append(s)
            turns.append(t)
            self.setup[d.name] = {'offset': o, 'skip': s, 'turns': t}
        table = [None] * self.size
        taken = 0
        while taken < self.size:
            for i, d in enumerate(dests):
                for _ in range(turns[i]):
                    while table[perm[i]] is not None:
                        perm[i] = (perm[i] + skip[i]) % self.size
                    table[perm[i]] = d
                    taken += 1
                    if taken == self.size:
                        break
                if taken == self.size:
                    break
        self.table = table

    on_add = on_delete = on_edit = rebuild

    def lookup(self, src_key, dst_key, sport, proto):
        port = hashed_port(self.svc.flags, sport, proto)
        ihash = hsiphash_u32(MH_KEY1, (port + src_key) & M32) % self.size
        d = self.table[ihash]
        if not self.svc.flags & FLAG_1:
            return d if d is not None and usable(d) else None
        if d is None:
            return None
        if usable(d):
            return d
        for k in range(self.size):
            r = (ihash + k) % self.size
            d = self.table[hsiphash_u32(MH_KEY1, (r + port + src_key) & M32) % self.size]
            if d is None:
                return None
            if usable(d):
                return d
        return None


# ---------------------------------------------------------------------------------------------
# Self-checks against every fixed value the specification gives
# ---------------------------------------------------------------------------------------------

SIPHASH24_VECTORS = {  # official reference vectors (key 00..0f, input 00..n-1), little-endian bytes
    0: '310e0edd47db6f72', 1: 'fd67dc93c539f874', 2: '5a4fa9d909806c0d', 3: '2d7efbd796666785',
    7: '37d1018bf50002ab', 8: '6224939a79f5f593', 15: 'e545be4961ca29a1', 63: '724506eb4c328a95',
}


def self_check():
    key = bytes(range(16))
    k0 = int.from_bytes(key[:8], 'little')
    k1 = int.from_bytes(key[8:], 'little')
    for n, want in SIPHASH24_VECTORS.items():
        got = siphash(k0, k1, bytes(range(n)), 2, 4).to_bytes(8, 'little').hex()
        assert got == want, f'SipHash-2-4 n={n}: {got} != {want}'
    for n, want in {0: 0x050FC4DC, 4: 0x88D38328, 63: 0xB7BBB3A8}.items():  # 1.7 kernel self-test
        got = hsiphash(k0, k1, bytes(range(n)))
        assert got == want, f'hsiphash n={n}: {got:#x} != {want:#x}'
    assert hash_32(1, 8) == 97 and hash_32(2, 8) == 195 and hash_32(0x0A000001, 8) == 39
    assert (0x0A000001 * 0x61C88647) & M32 == 0x27C88647
    # 13: 10.0.0.1:80
    v = (80 + 0x0A000001) & M32
    assert v == 0x0A000051
    assert hsiphash_u32(MH_KEY1, v) == 0x439C0CBE and hsiphash_u32(MH_KEY1, v) % 4093 == 3167
    assert hsiphash_u32(MH_KEY2, v) == 0x97B3DC47 and hsiphash_u32(MH_KEY2, v) % 4092 + 1 == 700
    # facts 2.11
    for addr, off, skip in (('10.0.0.11', 4032, 1541), ('10.0.0.12', 870, 874), ('10.0.0.13', 2586, 2286)):
        v = (80 + int(ipaddress.ip_address(addr))) & M32
        assert hsiphash_u32(MH_KEY1, v) % 4093 == off, addr
        assert hsiphash_u32(MH_KEY2, v) % 4092 + 1 == skip, addr
    # facts 2.9 bucket examples, without and with sh-port (sport 40000)
    for addr, b0, b1 in (('10.1.2.3', 2, 166), ('192.0.2.10', 162, 70), ('203.0.113.7', 124, 32)):
        a = int(ipaddress.ip_address(addr))
        assert hash_32(a, 8) == b0, addr
        assert hash_32((a + 40000) & M32, 8) == b1, addr
    # 11: weights 1..5 added in order -> counts 86, 68, 51, 34, 17 (for 5, 4, 3, 2, 1)
    svc = Service(4, 0, SH)
    for w in range(1, 6):
        svc.add(str(w), f'10.0.0.{w}', 80, w)
    counts = [sum(1 for d in svc.sched.table if d.name == str(w)) for w in (5, 4, 3, 2, 1)]
    assert counts == [86, 68, 51, 34, 17], counts
    # facts 2.9: C:1, B:2, A:3 (A added first) -> C,B,B,A,A,A,... A 127, B 86, C 43
    svc = Service(4, 0, SH)
    for name, w in (('A', 3), ('B', 2), ('C', 1)):
        svc.add(name, '10.0.0.1', 80, w)
    names = ''.join(d.name for d in svc.sched.table)
    assert names.startswith('CBBAAACBBAAA'), names[:12]
    assert (names.count('A'), names.count('B'), names.count('C')) == (127, 86, 43)
    # 13: 4093 slots over 7 equal dests give 584 or 585 each
    svc = Service(4, 0, MH)
    for i in range(7):
        svc.add(chr(65 + i), f'10.0.0.{11 + i}', 80, 1)
    counts = sorted(sum(1 for d in svc.sched.table if d.name == chr(65 + i)) for i in range(7))
    assert counts[0] >= 584 and counts[-1] <= 585 and sum(counts) == 4093, counts


# ---------------------------------------------------------------------------------------------
# Deterministic inputs
# ---------------------------------------------------------------------------------------------


class XorShift32:
    """Marsaglia's xorshift32: a fixed, documented stream of 32-bit words."""

    def __init__(self, seed):
        self.x = seed & M32 or 1

    def next(self):
        x = self.x
        x ^= (x << 13) & M32
        x ^= x >> 17
        x ^= (x << 5) & M32
        self.x = x
        return x


def ipv4_clients(seed, count, first=()):
    rng = XorShift32(seed)
    out = list(first)
    while len(out) < count:
        out.append(str(ipaddress.IPv4Address(rng.next())))
    return out


def ipv6_clients(seed, count):
    rng = XorShift32(seed)
    out = []
    while len(out) < count:
        value = 0
        for _ in range(4):
            value = (value << 32) | rng.next()
        out.append(str(ipaddress.IPv6Address(value)))
    return out


def ports_and_protos(seed, count):
    rng = XorShift32(seed)
    sports, protos = [], []
    cycle = (TCP, UDP, SCTP, TCP, ICMP)  # ICMP: the port must be ignored even with the port flag
    for i in range(count):
        sports.append(1024 + rng.next() % 64512)
        protos.append(cycle[i % len(cycle)])
    return sports, protos


PACKETS = {}


def packet_set(name, src=None, dst=None, sports=None, protos=None):
    count = len(src if src is not None else dst)
    PACKETS[name] = {
        'src': src, 'dst': dst,
        'sport': sports if sports is not None else [0] * count,
        'proto': protos if protos is not None else [TCP] * count,
    }
    return name


def run_lookups(svc, set_name):
    p = PACKETS[set_name]
    out = []
    count = len(p['sport'])
    for i in range(count):
        src_key = fold(ipaddress.ip_address(p['src'][i]), svc.af) if p['src'] is not None else 0
        dst_key = fold(ipaddress.ip_address(p['dst'][i]), svc.af) if p['dst'] is not None else 0
        d = svc.sched.lookup(src_key, dst_key, p['sport'][i], p['proto'][i])
        out.append(d.name if d is not None else '-')
    return ''.join(out)


def table_text(svc):
    return ''.join(d.name if d is not None else '-' for d in svc.sched.table)


# ---------------------------------------------------------------------------------------------
# Cases: a case is a list of steps replayed on a fresh service; 'check' records expectations
# ---------------------------------------------------------------------------------------------


def build_case(name, scheduler_name, af, flags, steps, why):
    scheduler = {'sh': SH, 'dh': DH, 'mh': MH}[scheduler_name]
    svc = Service(af, flags, scheduler)
    out_steps = []
    for step in steps:
        op = step['op']
        if op == 'add':
            svc.add(step['name'], step['addr'], step['port'], step['weight'])
        elif op == 'edit':
            svc.edit(step['name'], step['weight'])
        elif op == 'delete':
            svc.delete(step['name'])
        elif op == 'overload':
            svc.set_overload(step['name'], step['on'])
        elif op == 'check':
            step = dict(step)
            step['table'] = table_text(svc)
            step['expect'] = {s: run_lookups(svc, s) for s in step['packets']}
            if scheduler_name == 'mh':
                step['gcd'] = svc.sched.gcd
                step['rshift'] = svc.sched.rshift
                step['setup'] = svc.sched.setup
            del step['packets']
            step['op'] = 'check'
        else:
            raise ValueError(op)
        out_steps.append(step)
    return {'name': name, 'why': why, 'af': af, 'flags': flags, 'steps': out_steps}


def adds(names, addrs, weights, port=80):
    return [{'op': 'add', 'name': n, 'addr': a, 'port': port, 'weight': w} for n, a, w in zip(names, addrs, weights)]


def check(*packet_sets, note=''):
    step = {'op': 'check', 'packets': list(packet_sets)}
    if note:
        step['note'] = note
    return step


def sh_cases():
    clients = packet_set('clients4', src=ipv4_clients(0x5EED0001, 1000, ('10.1.2.3', '192.0.2.10', '203.0.113.7')))
    sports, protos = ports_and_protos(0x5EED0002, 1000)
    ported = packet_set('clients4_ports', src=PACKETS[clients]['src'], sports=sports, protos=protos)
    clients6 = packet_set('clients6', src=ipv6_clients(0x5EED0003, 300))
    five = adds('ABCDE', [f'10.0.0.{i}' for i in range(1, 6)], [1, 2, 3, 4, 5])
    odd = adds('ABCDE', [f'10.0.1.{i}' for i in range(1, 6)], [3, 0, 7, 2, 100])
    return [
        build_case('five weighted servers', 'sh', 4, 0, five + [check(clients, ported)],
                   'weights 1..5 added A..E (list E D C B A): laps of 5xE 4xD 3xC 2xB 1xA; no port flag, '
                   'so the port set gives the same decisions'),
        build_case('sh-port', 'sh', 4, FLAG_2, five + [check(clients, ported)],
                   'the source port joins the key for TCP/UDP/SCTP only (every 5th packet is ICMP)'),
        build_case('odd weights, edits and deletes', 'sh', 4, 0, odd + [
            check(clients, note='weight 0 still takes one bucket; weight 100 takes 100 in a row'),
            {'op': 'edit', 'name': 'E', 'weight': 1}, check(clients, note='an edit rebuilds'),
            {'op': 'delete', 'name': 'C'}, check(clients, note='a delete rebuilds'),
            {'op': 'add', 'name': 'F', 'addr': '10.0.1.6', 'port': 80, 'weight': 4}, check(clients),
        ], 'layout and no-fallback lookups across add, edit and delete'),
        build_case('quiesced and overloaded, no fallback', 'sh', 4, 0, five + [
            {'op': 'edit', 'name': 'C', 'weight': 0}, {'op': 'overload', 'name': 'D', 'on': True},
            check(clients, ported),
        ], 'C at weight 0 (still one bucket per lap after the rebuild) and D overloaded answer none'),
        build_case('sh-fallback', 'sh', 4, FLAG_1, five + [
            check(clients, note='all usable: same as without the flag'),
            {'op': 'edit', 'name': 'C', 'weight': 0}, check(clients, note='C quiesced: probes from 2*hash'),
            {'op': 'overload', 'name': 'D', 'on': True}, check(clients, note='and D overloaded'),
            {'op': 'edit', 'name': 'A', 'weight': 0}, {'op': 'edit', 'name': 'B', 'weight': 0},
            {'op': 'overload', 'name': 'E', 'on': True}, check(clients, note='nothing usable: none'),
            {'op': 'overload', 'name': 'E', 'on': False}, check(clients, note='only E usable'),
        ], 'the fallback probe (k + 2*ihash) mod 256'),
        build_case('sh-fallback with sh-port', 'sh', 4, FLAG_1 | FLAG_2, five + [
            {'op': 'overload', 'name': 'B', 'on': True}, check(ported),
        ], 'both flags'),
        build_case('IPv6 service', 'sh', 6, 0,
                   adds('ABC', ['2001:db8::1', '2001:db8::2', '10.0.0.9'], [2, 1, 3]) + [check(clients6)],
                   'IPv6 clients fold to the XOR of their words; dests do not matter to the bucket'),
    ]


def dh_cases():
    dsts = packet_set('dsts4', dst=ipv4_clients(0x5EED0011, 1000, ('10.1.2.3', '192.0.2.10', '203.0.113.7')))
    dsts6 = packet_set('dsts6', dst=ipv6_clients(0x5EED0013, 300))
    five = adds('ABCDE', [f'10.0.0.{i}' for i in range(1, 6)], [1, 2, 3, 4, 5])
    return [
        build_case('five weighted servers', 'dh', 4, 0, five + [check(dsts)],
                   'one bucket per dest in list order (E D C B A E ...): weights do not shape the table'),
        build_case('edits do not rebuild', 'dh', 4, 0, five + [
            {'op': 'edit', 'name': 'C', 'weight': 0}, check(dsts, note='C quiesced: its buckets answer none'),
            {'op': 'overload', 'name': 'D', 'on': True}, check(dsts, note='D overloaded: none too'),
            {'op': 'edit', 'name': 'C', 'weight': 9}, {'op': 'overload', 'name': 'D', 'on': False},
            check(dsts, note='back to the first decisions; the table never changed'),
            {'op': 'delete', 'name': 'B'}, check(dsts, note='a delete rebuilds: E D C A E D C A ...'),
            {'op': 'add', 'name': 'F', 'addr': '10.0.0.6', 'port': 80, 'weight': 1}, check(dsts),
        ], 'dh rebuilds on add and delete only'),
        build_case('weight-0 dest added', 'dh', 4, 0,
                   adds('ABC', ['10.0.0.1', '10.0.0.2', '10.0.0.3'], [1, 0, 1]) + [check(dsts)],
                   'a dest added at weight 0 still gets every third bucket, and answers none'),
        build_case('IPv6 service', 'dh', 6, 0,
                   adds('ABC', ['2001:db8::1', '2001:db8::2', '2001:db8::3'], [1, 1, 1]) + [check(dsts6)],
                   'IPv6 destinations fold to the XOR of their words'),
    ]


def mh_cases():
    clients = packet_set('clients4', src=ipv4_clients(0x5EED0021, 1000, ('10.1.2.3', '192.0.2.10', '203.0.113.7')))
    sports, protos = ports_and_protos(0x5EED0022, 1000)
    ported = packet_set('clients4_ports', src=PACKETS[clients]['src'], sports=sports, protos=protos)
    clients6 = packet_set('clients6', src=ipv6_clients(0x5EED0023, 300))
    names = 'ABCDEFG'
    seven_addrs = [f'10.0.0.{11 + i}' for i in range(7)]
    seven = adds(names, seven_addrs, [1] * 7)
    weighted = adds(names, seven_addrs, [1, 2, 3, 4, 5, 6, 7])
    return [
        build_case('seven equal servers', 'mh', 4, 0, seven + [check(clients, ported)],
                   'full 4093-slot table; no port flag, so the port set gives the same decisions'),
        build_case('seven equal servers, mh-port', 'mh', 4, FLAG_2, seven + [check(clients, ported)],
                   'the source port joins the hashed value for TCP/UDP/SCTP only'),
        build_case('seven weighted servers', 'mh', 4, 0, weighted + [check(clients)],
                   'turns = last_weight / gcd = 1..7'),
        build_case('large weights: gcd and rshift', 'mh', 4, 0,
                   adds('ABCDE', seven_addrs[:5], [300, 1200, 65535, 150, 4500]) + [
                       check(clients, note='gcd 15: 65535/15 = 4369 has 13 bits, rshift 7'),
                       {'op': 'edit', 'name': 'C', 'weight': 3000},
                       check(clients, note='gcd 150, max 4500/150 = 30 has 5 bits: rshift 0')],
                   'rshift = max(0, bitlength(max/gcd) - 6); a turn count of 0 becomes 1'),
        build_case('quiesce keeps the table, delete rebuilds', 'mh', 4, 0, seven + [
            {'op': 'edit', 'name': 'C', 'weight': 0},
            check(clients, note='last_weight kept: same table, C slots answer none'),
            {'op': 'overload', 'name': 'D', 'on': True}, check(clients, ported),
            {'op': 'delete', 'name': 'C'}, check(clients, note='rebuilt without C'),
            {'op': 'add', 'name': 'H', 'addr': '10.0.0.18', 'port': 80, 'weight': 2}, check(clients),
        ], 'weight 0 by edit keeps last_weight; delete and add rebuild'),
        build_case('mh-fallback', 'mh', 4, FLAG_1, seven + [
            check(clients, note='all usable'),
            {'op': 'edit', 'name': 'C', 'weight': 0}, check(clients, note='C quiesced: rehash with offset r'),
            {'op': 'overload', 'name': 'D', 'on': True}, check(clients, note='and D overloaded'),
            {'op': 'edit', 'name': 'A', 'weight': 0}, {'op': 'edit', 'name': 'B', 'weight': 0},
            {'op': 'edit', 'name': 'E', 'weight': 0}, {'op': 'overload', 'name': 'F', 'on': True},
            check(clients, note='only G usable'),
            {'op': 'overload', 'name': 'G', 'on': True}, check(clients, note='nothing usable: none'),
        ], 'the fallback feeds (ihash + k) mod M into the hash'),
        build_case('mh-fallback with mh-port', 'mh', 4, FLAG_1 | FLAG_2, seven + [
            {'op': 'overload', 'name': 'B', 'on': True}, {'op': 'edit', 'name': 'E', 'weight': 0},
            check(ported)], 'both flags'),
        build_case('zero last weights', 'mh', 4, FLAG_1,
                   adds('ABC', seven_addrs[:3], [0, 2, 0]) + [
                       check(clients, note='A and C added at weight 0 get no slots'),
                       {'op': 'delete', 'name': 'B'}, check(clients, note='no positive last_weight: empty')],
                   'a dest whose last_weight is 0 takes no slot; all zero empties the table'),
        build_case('IPv6 service with an IPv4 dest', 'mh', 6, 0,
                   adds('ABC', ['2001:db8::1', '2001:db8::2', '10.0.0.9'], [1, 1, 2]) + [check(clients6)],
                   'dest and client keys fold in the service family'),
        build_case('IPv4 service with an IPv6 dest', 'mh', 4, 0,
                   adds('AB', ['2001:db8::1', '10.0.0.9'], [1, 1]) + [check(clients)],
                   'an IPv6 dest in an IPv4 service contributes its first word only'),
    ]


def write(path, cases, spec):
    used = sorted({s for c in cases for st in c['steps'] if st['op'] == 'check' for s in st['expect']})
    doc = {
        'generated_by': 'scripts/sched_reference.py (independent of src/sched; run with /usr/bin/python3)',
        'specification': spec,
        'encoding': 'table and expect: one character per bucket/packet, the dest name or "-" for none; '
                    'packets: parallel lists, src/dst as addresses (null: absent), proto numbers',
        'packets': {k: PACKETS[k] for k in used},
        'cases': cases,
    }
    with open(path, 'w') as f:
        f.write(compact_json(doc) + '\n')


def compact_json(value, indent=''):
    """JSON with one key per line, but a list of plain values (addresses, ports) on one line."""
    inner = indent + ' '
    if isinstance(value, dict):
        if not value:
            return '{}'
        items = [f'{inner}{json.dumps(k)}: {compact_json(v, inner)}' for k, v in value.items()]
        return '{\n' + ',\n'.join(items) + '\n' + indent + '}'
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        return '[\n' + ',\n'.join(inner + compact_json(v, inner) for v in value) + '\n' + indent + ']'
    return json.dumps(value)


def main():
    self_check()
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
    out = os.path.join(root, 'test', 'fixtures', 'sched')
    os.makedirs(out, exist_ok=True)
    PACKETS.clear()
    write(os.path.join(out, 'sh.json'), sh_cases(), 'ipvs-schedulers.md 1.4-1.7, 11; ipvs-facts.md 2.9')
    PACKETS.clear()
    write(os.path.join(out, 'dh.json'), dh_cases(), 'ipvs-schedulers.md 1.4-1.7, 12; ipvs-facts.md 2.10')
    PACKETS.clear()
    write(os.path.join(out, 'mh.json'), mh_cases(), 'ipvs-schedulers.md 1.2, 1.4-1.7, 13; ipvs-facts.md 2.11')
    print('sched_reference: self-checks passed; wrote test/fixtures/sched/{sh,dh,mh}.json')
    return 0


if __name__ == '__main__':
    sys.exit(main())
