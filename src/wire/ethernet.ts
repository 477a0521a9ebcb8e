/**
 * Ethernet II header (and 802.1Q / 802.1ad tags): field offsets relative to the frame start and
 * MAC accessors. A MAC lives in the frame or in a 6-byte Uint8Array (NextHop.dstMac/srcMac).
 */
export const ETH_ALEN = 6;
export const ETH_HLEN = 14;
export const ETH_DST = 0;
export const ETH_SRC = 6;
export const ETH_TYPE = 12;
/** One 802.1Q / 802.1ad tag: TPID (the EtherType slot) + TCI, 4 bytes inserted before the real EtherType. */
export const VLAN_TAG_LEN = 4;
/** Minimum Ethernet frame without FCS: shorter frames are padded to this on transmit. */
export const ETH_ZLEN = 60;

/** Copies the MAC at buf[off..off+6) into mac[macOff..]. */
export function readMac(buf: Uint8Array, off: number, mac: Uint8Array, macOff = 0): void {
  for (let i = 0; i < ETH_ALEN; i++) mac[macOff + i] = buf[off + i];
}

/** Stores mac[macOff..macOff+6) at buf[off..]. */
export function writeMac(buf: Uint8Array, off: number, mac: Uint8Array, macOff = 0): void {
  for (let i = 0; i < ETH_ALEN; i++) buf[off + i] = mac[macOff + i];
}

/** The MAC at buf[off] as a 48-bit number (exact in a double): a cheap key or comparison value. */
export function macToNumber(buf: Uint8Array, off: number): number {
  return (
    ((buf[off] << 8) | buf[off + 1]) * 0x100000000 +
    (((buf[off + 2] << 24) | (buf[off + 3] << 16) | (buf[off + 4] << 8) | buf[off + 5]) >>> 0)
  );
}

/** True for broadcast and multicast MACs (group bit of the first octet). */
export function isMulticastMac(buf: Uint8Array, off: number): boolean {
  return (buf[off] & 1) === 1;
}

/**
 * Writes the 14-byte untagged Ethernet header: destination, source, EtherType. Unrolled with
 * literal offsets (ETH_DST 0, ETH_SRC 6, ETH_TYPE 12): it runs for every forwarded frame.
 */
export function writeEthernetHeader(
  buf: Uint8Array,
  off: number,
  dstMac: Uint8Array,
  srcMac: Uint8Array,
  etherType: number,
): void {
  buf[off] = dstMac[0];
  buf[off + 1] = dstMac[1];
  buf[off + 2] = dstMac[2];
  buf[off + 3] = dstMac[3];
  buf[off + 4] = dstMac[4];
  buf[off + 5] = dstMac[5];
  buf[off + 6] = srcMac[0];
  buf[off + 7] = srcMac[1];
  buf[off + 8] = srcMac[2];
  buf[off + 9] = srcMac[3];
  buf[off + 10] = srcMac[4];
  buf[off + 11] = srcMac[5];
  buf[off + 12] = (etherType >>> 8) & 0xff;
  buf[off + 13] = etherType & 0xff;
}

/** "aa:bb:cc:dd:ee:ff" (lower case). Slow path only: allocates a string. */
export function formatMac(buf: Uint8Array, off = 0): string {
  let s = '';
  for (let i = 0; i < ETH_ALEN; i++) {
    if (i > 0) s += ':';
    s += buf[off + i].toString(16).padStart(2, '0');
  }
  return s;
}

/**
 * Parses "aa:bb:cc:dd:ee:ff" (or with '-') into out[outOff..]. Returns false, leaving `out`
 * untouched, when the text is not six hexadecimal octets. Slow path (configuration) only.
 */
export function parseMac(text: string, out: Uint8Array, outOff = 0): boolean {
  const parts = text.split(/[:-]/);
  if (parts.length !== ETH_ALEN) return false;
  for (const p of parts) if (!/^[0-9a-fA-F]{1,2}$/.test(p)) return false;
  for (let i = 0; i < ETH_ALEN; i++) out[outOff + i] = parseInt(parts[i], 16);
  return true;
}
