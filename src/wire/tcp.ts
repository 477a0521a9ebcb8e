/**
 * TCP header (RFC 9293): field offsets relative to the transport header (the frame's l4Off),
 * option kinds, and the option walk that MSS clamping, timestamp removal and TOA need.
 */
export const TCP_SPORT = 0;
export const TCP_DPORT = 2;
export const TCP_SEQ = 4;
export const TCP_ACK_SEQ = 8;
/** Data offset in the high nibble (32-bit words). */
export const TCP_DOFF = 12;
export const TCP_FLAGS = 13;
export const TCP_WINDOW = 14;
export const TCP_CHECK = 16;
export const TCP_URG_PTR = 18;
export const TCP_MIN_HLEN = 20;
/** Data offset is 4 bits of 32-bit words: at most 60 bytes, so 40 bytes of options. */
export const TCP_MAX_HLEN = 60;

export const TCPOPT_EOL = 0;
export const TCPOPT_NOP = 1;
export const TCPOPT_MSS = 2;
export const TCPOPT_WSCALE = 3;
export const TCPOPT_SACK_PERM = 4;
export const TCPOPT_SACK = 5;
export const TCPOPT_TIMESTAMP = 8;
/** TCP Option Address (client address for FULLNAT): kind 254 (IPv4 len 8, IPv6 len 20 in the kernel module). */
export const TCPOPT_TOA = 254;
/** DPVS uses its own kind for the IPv6 TOA. */
export const TCPOPT_TOA_V6_DPVS = 253;

/** Data offset in bytes. */
export function tcpHeaderLen(buf: Uint8Array, l4Off: number): number {
  return (buf[l4Off + TCP_DOFF] >>> 4) << 2;
}

/**
 * Offset (absolute, into buf) of the first option of `kind` in the TCP header at l4Off whose
 * data offset is hdrLen bytes, or -1. The walk stops at End of Option List and at the first
 * malformed option (length < 2 or running past the header): what follows can not be trusted.
 * For kinds other than NOP the whole option (buf[offset + 1] bytes) lies inside the header.
 */
export function findTcpOption(buf: Uint8Array, l4Off: number, hdrLen: number, kind: number): number {
  const end = l4Off + hdrLen;
  let p = l4Off + TCP_MIN_HLEN;
  while (p < end) {
    const k = buf[p];
    if (k === TCPOPT_EOL) return -1;
    if (k === TCPOPT_NOP) {
      if (kind === TCPOPT_NOP) return p;
      p++;
      continue;
    }
    if (p + 1 >= end) return -1;
    const len = buf[p + 1];
    if (len < 2 || p + len > end) return -1;
    if (k === kind) return p;
    p += len;
  }
  return -1;
}
