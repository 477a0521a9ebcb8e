/**
 * IPv4 fragmentation on output: a finished frame (14-byte Ethernet header + IPv4 packet) longer
 * than its egress link's MTU, with DF clear, leaves as several frames, the way the kernel's
 * ip_do_fragment (net/ipv4/ip_output.c, slow path) cuts a forwarded packet:
 *
 *   - every fragment carries the packet's IP header, of the same length (IHL unchanged); the first
 *     with its options as they are, every later one with the options whose "copied" bit (0x80) is
 *     clear overwritten by NOPs (ip_options_fragment), so record route and timestamp appear once;
 *   - data per fragment: (mtu - header length) rounded down to a multiple of 8, except the last,
 *     which takes what is left;
 *   - flags/offset word: the offset in 8-byte units counted from the packet's own offset (a packet
 *     that is itself a fragment stays one piece of its datagram), MF on every fragment but the last
 *     and on the last too when the packet had MF; DF and the reserved bit clear;
 *   - total length and header checksum per fragment; identification, TOS, TTL, protocol and
 *     addresses unchanged;
 *   - the frame's Ethernet header copied onto each; the fragments leave in order, first to last.
 *
 * All or nothing: when the output has no room (slab bytes or frame slots) for every fragment, none
 * is written. Nothing is allocated per packet: the fragmenter's scratch frame and hop are made once.
 */
import { setIpv4HeaderChecksum, writeU16 } from '../wire/checksum';
import { ETH_HLEN } from '../wire/ethernet';
import { IPV4_FLAG_DF, IPV4_FLAG_MF, IPV4_FRAG_OFF, IPV4_MIN_HLEN, IPV4_OFFSET_MASK, IPV4_TOT_LEN } from '../wire/ipv4';
import { DropReason } from '../wire/parsed-frame';
import { copyPacket } from './copy-packet';
import { NextHop } from './next-hop';

/** The largest IPv4 packet (its 16-bit total length). */
const IPV4_MAX_LEN = 0xffff;
const ETH_P_IP_HI = 0x08;
const ETH_P_IP_LO = 0x00;
const IPOPT_END = 0;
const IPOPT_NOOP = 1;
/** The option type's "copied" flag: the option goes into every fragment. */
const IPOPT_COPIED = 0x80;

/**
 * Where fragments are written: the engine's OutputBatch (src/ipvs/frame-batch.ts) has this shape.
 * Declared here so that src/xmit needs nothing from src/ipvs.
 */
export interface FragmentOutput {
  /** The slab frames are written into, at `used`. */
  readonly buf: Uint8Array;
  readonly used: number;
  /** Frames recorded so far, and how many the output can hold. */
  readonly count: number;
  readonly maxFrames: number;
  /** Records the frame of `len` bytes just written at `used`, for egress `link`, caused by input frame `cause`. */
  commit(len: number, link: number, cause: number): void;
}

/**
 * The number of fragments an IPv4 packet of `ipLen` bytes with a `hlen`-byte header makes on a link
 * of `mtu` bytes, or 0 when it can not be cut (less than 8 bytes of data fit beside the header).
 */
export function ipv4FragmentCount(ipLen: number, hlen: number, mtu: number): number {
  const room = mtu - hlen;
  if (room < 8) return 0;
  const data = ipLen - hlen;
  if (data <= room) return 1;
  // Full pieces of (room & ~7) bytes while more than `room` bytes are left, then the rest.
  return Math.ceil((data - room) / (room & ~7)) + 1;
}

/**
 * Writes the fragments of the frame frame[off, off + len) - a 14-byte Ethernet header and an IPv4
 * packet with DF clear - for a link of `mtu` bytes into `out`, as consecutive frames for `link`
 * tagged `cause`. Returns the number of frames written (1 when the packet already fits: it is then
 * copied, its header rewritten by the same rules), or -DropReason: TooBig (DF set, or a link too
 * small to carry 8 bytes of data beside the header), OutputFull (not room for all the fragments:
 * none written), TruncatedIp / UnknownEtherType / BadIpVersion / BadIpHeaderLength /
 * BadIpTotalLength for a frame that is not such a packet.
 */
export function writeIpv4Fragments(
  frame: Uint8Array,
  off: number,
  len: number,
  mtu: number,
  out: FragmentOutput,
  link: number,
  cause: number,
): number {
  if (off < 0 || len < ETH_HLEN + IPV4_MIN_HLEN || off + len > frame.length) return -DropReason.TruncatedIp;
  if (frame[off + 12] !== ETH_P_IP_HI || frame[off + 13] !== ETH_P_IP_LO) return -DropReason.UnknownEtherType;
  const l3 = off + ETH_HLEN;
  if (frame[l3] >>> 4 !== 4) return -DropReason.BadIpVersion;
  const hlen = (frame[l3] & 0x0f) * 4;
  const ipLen = (frame[l3 + IPV4_TOT_LEN] << 8) | frame[l3 + IPV4_TOT_LEN + 1];
  if (hlen < IPV4_MIN_HLEN) return -DropReason.BadIpHeaderLength;
  if (ipLen < hlen || ETH_HLEN + ipLen > len) return -DropReason.BadIpTotalLength;
  const fragWord = (frame[l3 + IPV4_FRAG_OFF] << 8) | frame[l3 + IPV4_FRAG_OFF + 1];
  if ((fragWord & IPV4_FLAG_DF) !== 0) return -DropReason.TooBig;
  const count = ipv4FragmentCount(ipLen, hlen, mtu);
  if (count === 0) return -DropReason.TooBig;
  const dataLen = ipLen - hlen;
  const frameBytes = count * (ETH_HLEN + hlen) + dataLen;
  const buf = out.buf;
  if (out.count + count > out.maxFrames || out.used + frameBytes > buf.length) return -DropReason.OutputFull;

  const room = mtu - hlen;
  const piece = room & ~7;
  const hdrLen = ETH_HLEN + hlen;
  const moreAfterLast = (fragWord & IPV4_FLAG_MF) !== 0;
  // Byte offset in the datagram of this packet's first data byte.
  let offset = (fragWord & IPV4_OFFSET_MASK) * 8;
  let left = dataLen;
  let from = l3 + hlen;
  for (let i = 0; i < count; i++) {
    const n = left > room ? piece : left;
    left -= n;
    const at = out.used;
    const ip = at + ETH_HLEN;
    copyPacket(frame, off, buf, at, hdrLen);
    if (i > 0 && hlen > IPV4_MIN_HLEN) nopUncopiedOptions(buf, ip + IPV4_MIN_HLEN, hlen - IPV4_MIN_HLEN);
    copyPacket(frame, from, buf, ip + hlen, n);
    writeU16(buf, ip + IPV4_TOT_LEN, hlen + n);
    const more = left > 0 || moreAfterLast ? IPV4_FLAG_MF : 0;
    writeU16(buf, ip + IPV4_FRAG_OFF, more | ((offset >>> 3) & IPV4_OFFSET_MASK));
    setIpv4HeaderChecksum(buf, ip);
    out.commit(hdrLen + n, link, cause);
    from += n;
    offset += n;
  }
  return count;
}

/**
 * Overwrites with NOPs the options of buf[off, off + len) whose copied flag is clear, as
 * ip_options_fragment does for the fragments after the first; it stops at End of Options or at
 * an option whose length does not fit (the parser refused such packets already).
 */
export function nopUncopiedOptions(buf: Uint8Array, off: number, len: number): void {
  let p = off;
  const end = off + len;
  while (p < end) {
    const type = buf[p];
    if (type === IPOPT_END) return;
    if (type === IPOPT_NOOP) {
      p++;
      continue;
    }
    if (end - p < 2) return;
    const optLen = buf[p + 1];
    if (optLen < 2 || optLen > end - p) return;
    if ((type & IPOPT_COPIED) === 0) buf.fill(IPOPT_NOOP, p, p + optLen);
    p += optLen;
  }
}

/**
 * The engine's fragmenting transmitter: the forwarding methods write their frame into `frame`
 * (a scratch frame that holds the largest IPv4 packet) towards `unbounded(hop)`, a copy of the
 * hop with no MTU limit, and fragment() then cuts it for the real hop's MTU into the output.
 * Counts as the kernel's IP MIB does: packets fragmented (FragOKs), fragments sent (FragCreates),
 * packets that could not be (FragFails).
 */
export class Ipv4Fragmenter {
  /** Scratch frame: an Ethernet header and the largest IPv4 packet. */
  readonly frame = new Uint8Array(ETH_HLEN + IPV4_MAX_LEN);
  /** Packets sent as fragments. */
  packets = 0;
  /** Fragments sent (every frame of every fragmented packet). */
  fragments = 0;
  /** Packets that could not be fragmented (no room, link too small). */
  failures = 0;
  private readonly hop = new NextHop();

  /** Frames sent beyond one per fragmented packet: what fragmentation adds to the frames out. */
  get extraFrames(): number {
    return this.fragments - this.packets;
  }

  /** `hop` (egress link, MACs, source address) with an MTU no packet exceeds; one object, re-filled per call. */
  unbounded(hop: NextHop): NextHop {
    const h = this.hop;
    h.linkIndex = hop.linkIndex;
    h.mtu = 1 << 20;
    h.dstMac.set(hop.dstMac);
    h.srcMac.set(hop.srcMac);
    h.srcAf = hop.srcAf;
    h.srcAddr.set(hop.srcAddr);
    h.ethPrepared = hop.ethPrepared;
    h.ethWord0 = hop.ethWord0;
    h.ethWord1 = hop.ethWord1;
    h.ethWord2 = hop.ethWord2;
    return h;
  }

  /**
   * Fragments the frame[0, len) a forwarding method wrote for `hop`, into `out`: the number of
   * frames written, or -DropReason (see writeIpv4Fragments; len <= 0 is passed on as the method's
   * own result: 0 = no room, else -len is its DropReason).
   */
  fragment(len: number, hop: NextHop, out: FragmentOutput, cause: number): number {
    if (len <= 0) return len === 0 ? -DropReason.OutputFull : len;
    const n = writeIpv4Fragments(this.frame, 0, len, hop.mtu, out, hop.linkIndex, cause);
    if (n > 0) {
      this.packets++;
      this.fragments += n;
    } else {
      this.failures++;
    }
    return n;
  }
}
