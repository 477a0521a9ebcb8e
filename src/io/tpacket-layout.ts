/**
 * The TPACKET_V3 ring layout (linux/if_packet.h) that packet-port.ts walks in JavaScript:
 * a ring is blockCount blocks of blockSize bytes; each block starts with a tpacket_block_desc,
 * then num_pkts frames, each a tpacket3_hdr followed (at tp_mac) by the frame's bytes.
 * test/io-packet-port.test.ts checks these numbers against the addon's offsetof() values.
 */

/** tpacket_block_desc.hdr.bh1 fields (byte offsets from the block start). */
export const BLOCK_STATUS = 8;
export const BLOCK_NUM_PKTS = 12;
export const BLOCK_OFFSET_TO_FIRST_PKT = 16;

/** tpacket3_hdr fields (byte offsets from the frame header). */
export const PKT_NEXT_OFFSET = 0;
export const PKT_SEC = 4;
export const PKT_NSEC = 8;
export const PKT_SNAPLEN = 12;
export const PKT_LEN = 16;
export const PKT_STATUS = 20;
/** u16: where the frame's Ethernet header starts, from the frame header. */
export const PKT_MAC = 24;

/** tp_status bits. */
export const TP_STATUS_USER = 1;
/** The checksum of an outgoing or veth-forwarded frame was left for the NIC (CHECKSUM_PARTIAL). */
export const TP_STATUS_CSUMNOTREADY = 8;

/**
 * The fewest ring bytes one frame takes: its header area (tp_mac is at least 82, for a 14-byte
 * link header) rounded up to TPACKET_ALIGNMENT (16). A block holds at most blockSize / this frames.
 */
export const MIN_FRAME_FOOTPRINT = 96;
