/**
 * Sequence and acknowledgement numbers of a parsed TCP segment: what FULLNAT needs to learn the
 * real server's initial sequence number from its SYN-ACK (tcpSeq of that reply) and to spot the
 * client packet that completes the handshake (tcpAck === ISN + 1, see isToaTrigger).
 */
import { readU32 } from '../wire/bytes';
import { ParsedFrame } from '../wire/parsed-frame';
import { TCP_ACK_SEQ, TCP_SEQ } from '../wire/tcp';

/** The sequence number (unsigned 32-bit) of the TCP segment pf describes. pf.proto must be TCP. */
export function tcpSeq(buf: Uint8Array, pf: ParsedFrame): number {
  return readU32(buf, pf.l4Off + TCP_SEQ);
}

/** The acknowledgement number (unsigned 32-bit) of the TCP segment pf describes. pf.proto must be TCP. */
export function tcpAck(buf: Uint8Array, pf: ParsedFrame): number {
  return readU32(buf, pf.l4Off + TCP_ACK_SEQ);
}
