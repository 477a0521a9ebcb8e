/**
 * An independent structural check of frames, for the hostile-input tests and the fuzz bench: it
 * shares no code with src/wire (its own header walk, ones' complement sum and CRC32c), so a bug
 * in the parser or the rewriters cannot hide itself here.
 *
 *   checkOutputFrame   is a frame the engine transmitted well-formed? (untagged Ethernet, IPv4
 *                      header checksum, IHL / total length / IPv6 payload length exactly matching
 *                      the frame, TTL >= 1, IPv6 extension headers inside the packet, transport
 *                      header lengths and the transport checksum of a whole packet; an IPIP /
 *                      ip6ip6 packet's inner packet likewise)
 *   transportStatus    the transport checksum status of an input frame, so that an output can be
 *                      held to "a checksum that was right stays right": uvs, like IPVS, does not
 *                      verify transport checksums (DR does not touch them, NAT adjusts them), so a
 *                      client's bad checksum legitimately stays bad.
 */

/** Transport checksum of a packet: right, wrong, absent (IPv4 UDP 0), or not checkable (fragment, other protocol). */
export type ChecksumStatus = 'good' | 'bad' | 'none' | 'n/a';

/** The result of a walk: a structural problem (null when none) and the transport checksum status. */
interface Walk {
  problem: string | null;
  status: ChecksumStatus;
}

const ETH_HLEN = 14;
const TPID_8021Q = 0x8100;
const TPID_8021AD = 0x88a8;
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
/** Nested IP-in-IP deeper than this is not followed (an output is at most one tunnel deep). */
const MAX_DEPTH = 3;

function u16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

/** Ones' complement sum of the 16-bit big-endian words of b[off, off+len), unfolded (odd byte padded). */
function wordSum(b: Uint8Array, off: number, len: number, sum: number): number {
  let i = off;
  const end = off + (len & ~1);
  for (; i < end; i += 2) sum += (b[i] << 8) | b[i + 1];
  if (len & 1) sum += b[i] << 8;
  return sum;
}

function folded(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** True when the SCTP packet at b[l4, l4+len) carries a right CRC32c (stored least significant byte first). */
function sctpCrcOk(b: Uint8Array, l4: number, len: number): boolean {
  let c = 0xffffffff;
  for (let i = 0; i < len; i++) {
    const byte = i >= 8 && i < 12 ? 0 : b[l4 + i];
    c = CRC32C_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  }
  c = (c ^ 0xffffffff) >>> 0;
  const stored = (b[l4 + 8] | (b[l4 + 9] << 8) | (b[l4 + 10] << 16) | (b[l4 + 11] << 24)) >>> 0;
  return c === stored;
}

/** Sum of the IPv4 / IPv6 pseudo-header. */
function pseudoSum(b: Uint8Array, srcOff: number, dstOff: number, addrLen: number, proto: number, len: number): number {
  return wordSum(b, srcOff, addrLen, wordSum(b, dstOff, addrLen, 0)) + proto + (len & 0xffff) + Math.floor(len / 0x10000);
}

/**
 * The transport header at b[l4, l4+l4Len) of an IP packet (proto, family af). `whole` is false
 * for a first fragment: only its header is checked, not its checksum. `pseudoOk` is false when
 * the pseudo-header is not the packet's own addresses (IPv6 routing header with segments left).
 */
function walkTransport(
  b: Uint8Array, af: 4 | 6, srcOff: number, dstOff: number, proto: number, l4: number, l4Len: number,
  whole: boolean, pseudoOk: boolean, depth: number, strict: boolean,
): Walk {
  const addrLen = af === 4 ? 4 : 16;
  if (proto === 4 || proto === 41) {
    if (!whole) return { problem: null, status: 'n/a' };
    return proto === 4 ? walkIpv4(b, l4, l4Len, strict, depth + 1) : walkIpv6(b, l4, l4Len, strict, depth + 1);
  }
  if (proto === 6) {
    if (l4Len < 20) return { problem: `TCP segment of ${l4Len} bytes (< 20)`, status: 'n/a' };
    const doff = (b[l4 + 12] >>> 4) * 4;
    if (doff < 20 || doff > l4Len) return { problem: `TCP data offset ${doff} with ${l4Len} bytes`, status: 'n/a' };
    if (!whole || !pseudoOk) return { problem: null, status: 'n/a' };
    const sum = wordSum(b, l4, l4Len, pseudoSum(b, srcOff, dstOff, addrLen, 6, l4Len));
    return { problem: null, status: folded(sum) === 0xffff ? 'good' : 'bad' };
  }
  if (proto === 17) {
    if (l4Len < 8) return { problem: `UDP datagram of ${l4Len} bytes (< 8)`, status: 'n/a' };
    const ulen = u16(b, l4 + 4);
    if (ulen < 8) return { problem: `UDP length ${ulen} (< 8)`, status: 'n/a' };
    if (!whole) return { problem: null, status: 'n/a' };
    if (ulen > l4Len) return { problem: `UDP length ${ulen} beyond the ${l4Len}-byte IP payload`, status: 'n/a' };
    if (!pseudoOk) return { problem: null, status: 'n/a' };
    if (u16(b, l4 + 6) === 0) return { problem: null, status: af === 4 ? 'none' : 'bad' };
    // Receivers (and Wireshark) sum the datagram as its UDP length gives it, not the IP payload.
    const sum = wordSum(b, l4, ulen, pseudoSum(b, srcOff, dstOff, addrLen, 17, ulen));
    return { problem: null, status: folded(sum) === 0xffff ? 'good' : 'bad' };
  }
  if (proto === 132) {
    if (l4Len < 12) return { problem: `SCTP packet of ${l4Len} bytes (< 12)`, status: 'n/a' };
    if (!whole) return { problem: null, status: 'n/a' };
    return { problem: null, status: sctpCrcOk(b, l4, l4Len) ? 'good' : 'bad' };
  }
  if ((proto === 1 && af === 4) || (proto === 58 && af === 6)) {
    if (l4Len < 4) return { problem: `ICMP message of ${l4Len} bytes (< 4)`, status: 'n/a' };
    if (!whole || !pseudoOk) return { problem: null, status: 'n/a' };
    const sum = af === 4 ? wordSum(b, l4, l4Len, 0) : wordSum(b, l4, l4Len, pseudoSum(b, srcOff, dstOff, 16, 58, l4Len));
    return { problem: null, status: folded(sum) === 0xffff ? 'good' : 'bad' };
  }
  return { problem: null, status: 'n/a' };
}

/**
 * What is wrong with the IPv4 options at b[p, end), or null: each option but EOL and NOP has a
 * length of at least 2 that stays inside the header (RFC 791; what Wireshark and Linux's
 * ip_options_compile check first), and source routing (LSRR 131, SSRR 137) is not forwarded
 * (Linux drops it with accept_source_route = 0, its default).
 */
function optionsProblem(b: Uint8Array, p: number, end: number): string | null {
  while (p < end) {
    const type = b[p];
    if (type === 0) return null;
    if (type === 1) {
      p++;
      continue;
    }
    if (end - p < 2) return `IPv4 option ${type} cut at the end of the header`;
    const len = b[p + 1];
    if (len < 2 || len > end - p) return `IPv4 option ${type} of length ${len} with ${end - p} header bytes left`;
    if (type === 131 || type === 137) return `IPv4 source route option ${type} forwarded`;
    p += len;
  }
  return null;
}

/**
 * The IPv4 packet at b[l3, l3+avail). strict (an output): the total length must be exactly
 * `avail` and the TTL at least 1; otherwise (an input) bytes past the total length are padding.
 */
function walkIpv4(b: Uint8Array, l3: number, avail: number, strict: boolean, depth: number): Walk {
  if (depth > MAX_DEPTH) return { problem: null, status: 'n/a' };
  if (avail < 20) return { problem: `IPv4 header cut at ${avail} bytes`, status: 'n/a' };
  if (b[l3] >>> 4 !== 4) return { problem: `IP version ${b[l3] >>> 4} in an IPv4 packet`, status: 'n/a' };
  const ihl = (b[l3] & 15) * 4;
  if (ihl < 20 || ihl > avail) return { problem: `IPv4 IHL ${ihl} with ${avail} bytes`, status: 'n/a' };
  const total = u16(b, l3 + 2);
  if (total < ihl) return { problem: `IPv4 total length ${total} < IHL ${ihl}`, status: 'n/a' };
  if (strict ? total !== avail : total > avail) {
    return { problem: `IPv4 total length ${total} with ${avail} bytes of packet`, status: 'n/a' };
  }
  if (folded(wordSum(b, l3, ihl, 0)) !== 0xffff) return { problem: 'bad IPv4 header checksum', status: 'n/a' };
  if (strict && b[l3 + 8] === 0) return { problem: 'IPv4 TTL 0 sent', status: 'n/a' };
  const options = optionsProblem(b, l3 + 20, l3 + ihl);
  if (options !== null) return { problem: options, status: 'n/a' };
  const frag = u16(b, l3 + 6);
  if ((frag & 0x1fff) !== 0) return { problem: null, status: 'n/a' };
  const whole = (frag & 0x2000) === 0;
  return walkTransport(b, 4, l3 + 12, l3 + 16, b[l3 + 9], l3 + ihl, total - ihl, whole, true, depth, strict);
}

/** The IPv6 packet at b[l3, l3+avail), strict as for walkIpv4. Extension headers must lie inside the payload. */
function walkIpv6(b: Uint8Array, l3: number, avail: number, strict: boolean, depth: number): Walk {
  if (depth > MAX_DEPTH) return { problem: null, status: 'n/a' };
  if (avail < 40) return { problem: `IPv6 header cut at ${avail} bytes`, status: 'n/a' };
  if (b[l3] >>> 4 !== 6) return { problem: `IP version ${b[l3] >>> 4} in an IPv6 packet`, status: 'n/a' };
  const total = 40 + u16(b, l3 + 4);
  if (strict ? total !== avail : total > avail) {
    return { problem: `IPv6 payload length ${total - 40} with ${avail - 40} bytes after the header`, status: 'n/a' };
  }
  if (strict && b[l3 + 7] === 0) return { problem: 'IPv6 hop limit 0 sent', status: 'n/a' };
  const end = l3 + total;
  let nh = b[l3 + 6];
  let p = l3 + 40;
  let whole = true;
  let pseudoOk = true;
  for (;;) {
    if (nh === 0 || nh === 43 || nh === 60) {
      if (nh === 0 && p !== l3 + 40) return { problem: 'IPv6 hop-by-hop header not first', status: 'n/a' };
      if (p + 8 > end) return { problem: `IPv6 extension header ${nh} cut by the payload length`, status: 'n/a' };
      const len = (b[p + 1] + 1) * 8;
      if (p + len > end) return { problem: `IPv6 extension header ${nh} of ${len} bytes past the payload`, status: 'n/a' };
      // Segments left > 0: the pseudo-header holds the final destination, not this packet's.
      if (nh === 43 && b[p + 3] !== 0) pseudoOk = false;
      nh = b[p];
      p += len;
    } else if (nh === 44) {
      if (p + 8 > end) return { problem: 'IPv6 fragment header cut by the payload length', status: 'n/a' };
      const word = u16(b, p + 2);
      nh = b[p];
      p += 8;
      if ((word & 0xfff8) !== 0) return { problem: null, status: 'n/a' };
      if ((word & 1) !== 0) whole = false;
    } else {
      break;
    }
  }
  return walkTransport(b, 6, l3 + 8, l3 + 24, nh, p, end - p, whole, pseudoOk, depth, strict);
}

/**
 * null when the transmitted frame b[off, off+len) is well-formed and its transport checksum is
 * as right as the input's was (`input`, from transportStatus of the frame that caused it);
 * otherwise what is wrong, in words.
 */
export function checkOutputFrame(b: Uint8Array, off: number, len: number, input: ChecksumStatus): string | null {
  if (len < ETH_HLEN) return `output frame of ${len} bytes`;
  if (off < 0 || off + len > b.length) return `output frame [${off}, ${off + len}) outside its ${b.length}-byte buffer`;
  const type = u16(b, off + 12);
  let walk: Walk;
  if (type === ETHERTYPE_IPV4) walk = walkIpv4(b, off + ETH_HLEN, len - ETH_HLEN, true, 0);
  else if (type === ETHERTYPE_IPV6) walk = walkIpv6(b, off + ETH_HLEN, len - ETH_HLEN, true, 0);
  else return `output EtherType 0x${type.toString(16)}`;
  if (walk.problem !== null) return walk.problem;
  const out = walk.status;
  if (out === 'bad' && input !== 'bad') return `transport checksum wrong in the output (input: ${input})`;
  if (out === 'none' && input !== 'none' && input !== 'bad') return `transport checksum dropped to none (input: ${input})`;
  return null;
}

/** The transport checksum status of an input frame (Ethernet, any VLAN tags); 'n/a' when it is not a checkable IP packet. */
export function transportStatus(b: Uint8Array, off: number, len: number): ChecksumStatus {
  if (len < ETH_HLEN || off + len > b.length) return 'n/a';
  let t = off + 12;
  const end = off + len;
  let type = u16(b, t);
  while (type === TPID_8021Q || type === TPID_8021AD) {
    t += 4;
    if (t + 2 > end) return 'n/a';
    type = u16(b, t);
  }
  const l3 = t + 2;
  let walk: Walk;
  if (type === ETHERTYPE_IPV4) walk = walkIpv4(b, l3, end - l3, false, 0);
  else if (type === ETHERTYPE_IPV6) walk = walkIpv6(b, l3, end - l3, false, 0);
  else return 'n/a';
  return walk.problem === null ? walk.status : 'n/a';
}
