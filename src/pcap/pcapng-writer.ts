import { CaptureFileOutput, DEFAULT_OUTPUT_BUFFER_SIZE } from './capture-file-output';
import {
  BLOCK_ENHANCED_PACKET,
  BLOCK_INTERFACE_DESCRIPTION,
  BLOCK_SECTION_HEADER,
  MAX_CAPTURE_LENGTH,
  OPT_END_OF_OPTIONS,
  OPT_IF_NAME,
  OPT_IF_TSRESOL,
  PCAPNG_BYTE_ORDER_MAGIC,
  PCAPNG_VERSION_MAJOR,
  padTo4,
} from './capture-format';
import { checkPacketArguments, type CaptureWriter } from './capture-writer';

/** An interface of the output: one Interface Description Block each, in this order (ifIndex = position). */
export interface PcapngWriterInterface {
  name: string;
  linkType: number;
}

export interface PcapngWriterOptions {
  /** Output buffer size in bytes (default 4 MiB). */
  bufferSize?: number;
}

const OPT_SHB_USERAPPL = 4;
/** Enhanced Packet Block without options: 28 bytes before the data, 4 after. */
const EPB_OVERHEAD = 32;

/**
 * Writes a little-endian pcapng file: one section, one Interface Description Block per interface (with
 * if_name and if_tsresol), then one Enhanced Packet Block per packet. Timestamps are in microseconds, or
 * nanoseconds when asked, for every interface.
 */
export class PcapngWriter implements CaptureWriter {
  packets = 0;
  private readonly out: CaptureFileOutput;
  private readonly unitsPerSecond: number;
  private readonly interfaceCount: number;

  constructor(readonly path: string, interfaces: readonly PcapngWriterInterface[], readonly nanosecond: boolean,
    options: PcapngWriterOptions = {}) {
    if (interfaces.length === 0) throw new RangeError(`${path}: a pcapng file needs at least one interface`);
    this.interfaceCount = interfaces.length;
    this.unitsPerSecond = nanosecond ? 1e9 : 1e6;
    this.out = new CaptureFileOutput(path, options.bufferSize ?? DEFAULT_OUTPUT_BUFFER_SIZE);
    this.writeSectionHeader();
    for (const iface of interfaces) this.writeInterfaceDescription(iface);
  }

  writePacket(ifIndex: number, buf: Uint8Array, off: number, len: number, tsSec: number, tsNsec: number, origLen: number = len): void {
    checkPacketArguments(this.path, buf, off, len, tsSec, tsNsec, origLen, MAX_CAPTURE_LENGTH);
    if (!(ifIndex >= 0 && ifIndex < this.interfaceCount) || !Number.isInteger(ifIndex)) {
      throw new RangeError(`${this.path}: interface ${ifIndex} was not declared (${this.interfaceCount} interfaces)`);
    }
    const padded = padTo4(len);
    const total = EPB_OVERHEAD + padded;
    const o = this.out;
    o.reserve(total);
    const v = o.view;
    const p = o.pos;
    v.setUint32(p, BLOCK_ENHANCED_PACKET, true);
    v.setUint32(p + 4, total, true);
    v.setUint32(p + 8, ifIndex, true);
    // The 64-bit count sec * R + fraction, split in 32-bit words without leaving the exact range of doubles:
    // sec = a * 2^16 + b, so the count is (a * R) * 2^16 + (b * R + fraction), every term below 2^53.
    const R = this.unitsPerSecond;
    const fraction = this.nanosecond ? tsNsec : Math.floor(tsNsec / 1000);
    const x = Math.floor(tsSec / 65536) * R;
    const xHigh = Math.floor(x / 65536);
    const low = (x - xHigh * 65536) * 65536 + (tsSec % 65536) * R + fraction;
    const carry = Math.floor(low / 4294967296);
    v.setUint32(p + 12, xHigh + carry, true);
    v.setUint32(p + 16, low - carry * 4294967296, true);
    v.setUint32(p + 20, len, true);
    v.setUint32(p + 24, origLen, true);
    const data = p + 28;
    // See PcapWriter: the subarray is the one short-lived allocation memcpy needs in Node.
    o.bytes.set(buf.subarray(off, off + len), data);
    for (let i = data + len; i < data + padded; i++) o.bytes[i] = 0;
    v.setUint32(data + padded, total, true);
    o.pos = p + total;
    this.packets++;
  }

  close(): void {
    this.out.close();
  }

  abort(): void {
    this.out.abort();
  }

  private writeSectionHeader(): void {
    const userAppl = new TextEncoder().encode('uvs');
    const total = 28 + 4 + padTo4(userAppl.length) + 4;
    const v = this.beginBlock(BLOCK_SECTION_HEADER, total);
    let p = this.out.pos + 8;
    v.setUint32(p, PCAPNG_BYTE_ORDER_MAGIC, true);
    v.setUint16(p + 4, PCAPNG_VERSION_MAJOR, true);
    v.setUint16(p + 6, 0, true);
    v.setInt32(p + 8, -1, true); // section length: not given (-1 as a 64-bit value)
    v.setInt32(p + 12, -1, true);
    p = this.writeOption(p + 16, OPT_SHB_USERAPPL, userAppl);
    this.endBlock(p, total);
  }

  private writeInterfaceDescription(iface: PcapngWriterInterface): void {
    const name = new TextEncoder().encode(iface.name);
    if (name.length > 0xffff) throw new RangeError(`${this.path}: interface name is too long`);
    const nameOption = name.length > 0 ? 4 + padTo4(name.length) : 0;
    const total = 20 + nameOption + 8 + 4;
    const v = this.beginBlock(BLOCK_INTERFACE_DESCRIPTION, total);
    let p = this.out.pos + 8;
    v.setUint16(p, iface.linkType, true);
    v.setUint16(p + 2, 0, true);
    v.setUint32(p + 4, MAX_CAPTURE_LENGTH, true);
    p += 8;
    if (name.length > 0) p = this.writeOption(p, OPT_IF_NAME, name);
    p = this.writeOption(p, OPT_IF_TSRESOL, Uint8Array.of(this.nanosecond ? 9 : 6));
    this.endBlock(p, total);
  }

  private beginBlock(type: number, total: number): DataView {
    this.out.reserve(total);
    const v = this.out.view;
    v.setUint32(this.out.pos, type, true);
    v.setUint32(this.out.pos + 4, total, true);
    return v;
  }

  /** Writes an option (padded) at p and returns the position after it. */
  private writeOption(p: number, code: number, value: Uint8Array): number {
    const o = this.out;
    o.view.setUint16(p, code, true);
    o.view.setUint16(p + 2, value.length, true);
    o.bytes.set(value, p + 4);
    const end = p + 4 + padTo4(value.length);
    o.bytes.fill(0, p + 4 + value.length, end);
    return end;
  }

  /** Writes the end-of-options option at p and the trailing block length. */
  private endBlock(p: number, total: number): void {
    const o = this.out;
    o.view.setUint32(p, OPT_END_OF_OPTIONS, true); // code 0, length 0
    o.view.setUint32(p + 4, total, true);
    if (p + 8 - o.pos !== total) throw new Error(`internal: block of ${p + 8 - o.pos} bytes, ${total} announced`);
    o.pos = p + 8;
  }
}
