/**
 * SCTP common header and chunk header (RFC 9260): offsets relative to the transport header
 * (the frame's l4Off). The checksum is CRC32c, see crc32c.ts.
 */
export const SCTP_SPORT = 0;
export const SCTP_DPORT = 2;
export const SCTP_VTAG = 4;
export const SCTP_CHECK = 8;
export const SCTP_COMMON_HLEN = 12;

/** Chunk header, relative to the chunk: type, flags, length (includes the 4-byte header, excludes padding). */
export const SCTP_CHUNK_TYPE = 0;
export const SCTP_CHUNK_FLAGS = 1;
export const SCTP_CHUNK_LEN = 2;
export const SCTP_CHUNK_HLEN = 4;

export const SCTP_DATA = 0;
export const SCTP_INIT = 1;
export const SCTP_INIT_ACK = 2;
export const SCTP_SACK = 3;
export const SCTP_HEARTBEAT = 4;
export const SCTP_HEARTBEAT_ACK = 5;
export const SCTP_ABORT = 6;
export const SCTP_SHUTDOWN = 7;
export const SCTP_SHUTDOWN_ACK = 8;
export const SCTP_ERROR = 9;
export const SCTP_COOKIE_ECHO = 10;
export const SCTP_COOKIE_ACK = 11;
export const SCTP_SHUTDOWN_COMPLETE = 14;
