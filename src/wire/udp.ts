/** UDP header (RFC 768): field offsets relative to the transport header (the frame's l4Off). */
export const UDP_SPORT = 0;
export const UDP_DPORT = 2;
/** Length of header + payload. */
export const UDP_LEN = 4;
/** 0 over IPv4 means "no checksum"; a computed 0 is sent as 0xffff. */
export const UDP_CHECK = 6;
export const UDP_HLEN = 8;
