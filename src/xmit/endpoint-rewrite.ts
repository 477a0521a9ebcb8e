/**
 * Address and port translation inside an already copied IP packet, keeping the transport
 * checksum right the way IPVS does:
 *   TCP   incremental update (RFC 1624) for each changed address and port word;
 *   UDP   incremental likewise, but a zero checksum (IPv4 "none") is computed in full, and a
 *         result of 0 is sent as 0xFFFF (0 would mean "none");
 *   SCTP  no pseudo-header: the CRC32c is recomputed over the whole packet.
 * A later fragment (pf.fragment === 2) has no transport header: only the addresses change (its
 * checksum lives in the first fragment). A first fragment holds only part of the datagram, so
 * a checksum that needs the whole of it (UDP "none", SCTP) is left as it is.
 */
import { adjust16, adjustBytes, readU16, transportChecksum, writeU16 } from '../wire/checksum';
import { setSctpChecksum } from '../wire/crc32c';
import { copyBytes } from '../wire/bytes';
import { IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, ParsedFrame } from '../wire/parsed-frame';
import { TCP_CHECK, TCP_DPORT, TCP_SPORT } from '../wire/tcp';
import { UDP_CHECK, UDP_LEN } from '../wire/udp';

/** How the transport checksum is brought up to date after the rewrite. */
const FIX_NONE = 0;
/** Adjusted word by word while the fields change (TCP, UDP with a checksum). */
const FIX_INCREMENTAL = 1;
/** Summed in full once all fields have changed (UDP "none", TCP whose length changed). */
const FIX_FULL = 2;
const FIX_SCTP_CRC = 3;

// TCP, UDP and SCTP all carry the source port at +0 and the destination port at +2.
const SPORT = TCP_SPORT;
const DPORT = TCP_DPORT;

/**
 * Rewrites, in buf, the IP packet described by pf but now lying `shift` bytes further on (the
 * output copy): the source address and port when sAddr is not null / sPort > 0, the destination
 * address and port when dAddr is not null / dPort > 0 (a port of 0 keeps the packet's own).
 * Addresses are pf.af-family bytes at (xAddr, xAddrOff). l4Len is the transport length of the
 * copy (it differs from pf.l4Len when a TCP option was inserted); fullTcpChecksum sums the TCP
 * checksum afresh instead of adjusting it (the length, and bytes, changed). The IPv4 header
 * checksum is not touched here (see decrementTtl).
 */
export function rewriteEndpoints(
  buf: Uint8Array,
  pf: ParsedFrame,
  shift: number,
  l4Len: number,
  fullTcpChecksum: boolean,
  sAddr: Uint8Array | null,
  sAddrOff: number,
  sPort: number,
  dAddr: Uint8Array | null,
  dAddrOff: number,
  dPort: number,
): void {
  const addrLen = pf.af === 6 ? 16 : 4;
  const srcOff = pf.srcOff + shift;
  const dstOff = pf.dstOff + shift;
  const l4 = pf.l4Off + shift;
  const proto = pf.proto;
  const hasPorts =
    pf.fragment !== 2 && (proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === IPPROTO_SCTP);

  let fix = FIX_NONE;
  let checkOff = -1;
  if (hasPorts) {
    if (proto === IPPROTO_TCP) {
      checkOff = l4 + TCP_CHECK;
      fix = fullTcpChecksum ? FIX_FULL : FIX_INCREMENTAL;
    } else if (proto === IPPROTO_UDP) {
      checkOff = l4 + UDP_CHECK;
      if (readU16(buf, checkOff) !== 0) fix = FIX_INCREMENTAL;
      else if (pf.fragment === 0) fix = FIX_FULL;
    } else if (pf.fragment === 0) {
      fix = FIX_SCTP_CRC;
    }
  }
  // Only an incremental fix follows the field changes; the others recompute at the end.
  const adjustOff = fix === FIX_INCREMENTAL ? checkOff : -1;

  if (sAddr !== null) replaceBytes(buf, srcOff, sAddr, sAddrOff, addrLen, adjustOff);
  if (dAddr !== null) replaceBytes(buf, dstOff, dAddr, dAddrOff, addrLen, adjustOff);
  if (hasPorts) {
    if (sPort > 0) replacePort(buf, l4 + SPORT, sPort, adjustOff);
    if (dPort > 0) replacePort(buf, l4 + DPORT, dPort, adjustOff);
  }

  if (fix === FIX_INCREMENTAL) {
    if (proto === IPPROTO_UDP && readU16(buf, checkOff) === 0) writeU16(buf, checkOff, 0xffff);
  } else if (fix === FIX_FULL) {
    // A UDP datagram shorter than the IP payload (the parser keeps its length within it) is summed
    // as receivers sum it, over its UDP length; the kernel's sum over the whole payload would
    // give a checksum every receiver rejects.
    const n = proto === IPPROTO_UDP ? readU16(buf, l4 + UDP_LEN) : l4Len;
    const sum = transportChecksum(buf, srcOff, dstOff, addrLen, proto, l4, n, checkOff - l4);
    writeU16(buf, checkOff, proto === IPPROTO_UDP && sum === 0 ? 0xffff : sum);
  } else if (fix === FIX_SCTP_CRC) {
    setSctpChecksum(buf, l4, l4Len);
  }
}

/** Overwrites buf[off..off+len) with val[valOff..], first adjusting the checksum at checkOff (if >= 0). */
function replaceBytes(
  buf: Uint8Array,
  off: number,
  val: Uint8Array,
  valOff: number,
  len: number,
  checkOff: number,
): void {
  if (checkOff >= 0) writeU16(buf, checkOff, adjustBytes(readU16(buf, checkOff), buf, off, val, valOff, len));
  copyBytes(val, valOff, buf, off, len);
}

function replacePort(buf: Uint8Array, off: number, port: number, checkOff: number): void {
  if (checkOff >= 0) writeU16(buf, checkOff, adjust16(readU16(buf, checkOff), readU16(buf, off), port & 0xffff));
  writeU16(buf, off, port);
}
