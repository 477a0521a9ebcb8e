/**
 * Numbers of the two capture formats, from the libpcap file format and the pcapng specification
 * (draft-ietf-opsawg-pcap, draft-ietf-opsawg-pcapng). Readers and writers share them from here.
 */

/** Largest captured length we accept for one packet: libpcap's MAXIMUM_SNAPLEN. Bigger means a corrupt file. */
export const MAX_CAPTURE_LENGTH = 262144;

/** Link types used by uvs (LINKTYPE_* values, which are what files carry). */
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LINUX_SLL = 113;

// Classic pcap: the magic as read in the file's own byte order.
export const PCAP_MAGIC_MICROSECONDS = 0xa1b2c3d4;
export const PCAP_MAGIC_NANOSECONDS = 0xa1b23c4d;
export const PCAP_GLOBAL_HEADER_LENGTH = 24;
export const PCAP_RECORD_HEADER_LENGTH = 16;
export const PCAP_VERSION_MAJOR = 2;
export const PCAP_VERSION_MINOR = 4;
/** libpcap keeps the link type in the low 26 bits; the high bits may carry FCS information. */
export const PCAP_LINKTYPE_MASK = 0x03ffffff;

// pcapng block types.
export const BLOCK_SECTION_HEADER = 0x0a0d0d0a;
export const BLOCK_INTERFACE_DESCRIPTION = 0x00000001;
export const BLOCK_OBSOLETE_PACKET = 0x00000002;
export const BLOCK_SIMPLE_PACKET = 0x00000003;
export const BLOCK_ENHANCED_PACKET = 0x00000006;
export const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
export const PCAPNG_VERSION_MAJOR = 1;
/** Block type + block total length at the front, block total length again at the end. */
export const PCAPNG_BLOCK_OVERHEAD = 12;
/** A block we parse (not merely skip) bigger than this is taken for corruption. */
export const PCAPNG_MAX_PARSED_BLOCK = 16 * 1024 * 1024;

// pcapng option codes.
export const OPT_END_OF_OPTIONS = 0;
export const OPT_IF_NAME = 2;
export const OPT_IF_TSRESOL = 9;
export const OPT_IF_TSOFFSET = 14;

/** Rounds a length up to the 4-byte alignment pcapng uses for packet data and option values. */
export function padTo4(length: number): number {
  return (length + 3) & ~3;
}

/** A 32-bit value as 8 hex digits, for error messages about magics and block types. */
export function hex32(n: number): string {
  return n.toString(16).padStart(8, '0');
}
