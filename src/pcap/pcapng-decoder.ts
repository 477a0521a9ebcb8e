import { CaptureFormatError } from './capture-format-error';
import {
  BLOCK_ENHANCED_PACKET,
  BLOCK_INTERFACE_DESCRIPTION,
  BLOCK_OBSOLETE_PACKET,
  BLOCK_SECTION_HEADER,
  BLOCK_SIMPLE_PACKET,
  hex32,
  MAX_CAPTURE_LENGTH,
  OPT_END_OF_OPTIONS,
  OPT_IF_NAME,
  OPT_IF_TSOFFSET,
  OPT_IF_TSRESOL,
  PCAPNG_BLOCK_OVERHEAD,
  PCAPNG_BYTE_ORDER_MAGIC,
  PCAPNG_MAX_PARSED_BLOCK,
  PCAPNG_VERSION_MAJOR,
  padTo4,
} from './capture-format';
import type { CaptureInterface, CaptureRecord, RecordDecoder } from './capture-record';
import type { ChunkedFile } from './chunked-file';
import { TimestampResolution } from './timestamp-resolution';

/** An Interface Description Block, with its timestamp converter. */
export class PcapngInterface implements CaptureInterface {
  readonly unitsPerSecond: number;
  readonly nanosecond: boolean;
  constructor(
    readonly name: string,
    readonly linkType: number,
    readonly snapLen: number,
    readonly resolution: TimestampResolution,
  ) {
    this.unitsPerSecond = resolution.unitsPerSecond;
    this.nanosecond = resolution.nanosecond;
  }
}

/** Fixed part of an Enhanced (and obsolete) Packet Block before the packet data, block header included. */
const EPB_DATA_OFFSET = 28;
/** Fixed part of a Simple Packet Block before the packet data. */
const SPB_DATA_OFFSET = 12;
/** Fixed part of an Interface Description Block before its options. */
const IDB_OPTIONS_OFFSET = 16;
/** Fixed part of a Section Header Block before its options. */
const SHB_OPTIONS_OFFSET = 24;

/**
 * pcapng: a sequence of sections, each a Section Header Block (which fixes the byte order) followed by
 * Interface Description Blocks and packet blocks. Enhanced, Simple and obsolete Packet Blocks yield packets;
 * every other block (name resolution, statistics, decryption secrets, custom ...) is skipped by its length.
 */
export class PcapngDecoder implements RecordDecoder {
  interfaces: PcapngInterface[] = [];
  littleEndian = true;
  /** Number of Section Header Blocks read so far. */
  sections = 0;

  constructor(private readonly file: ChunkedFile) {
    this.readSectionHeader();
    // Read the interface descriptions that follow, so `interfaces` describes the file before the first
    // packet (a replay sets up its output from it). Later ones are read as they come.
    const f = file;
    while (f.ensure(8) && f.view.getUint32(f.pos, this.littleEndian) === BLOCK_INTERFACE_DESCRIPTION) {
      this.readInterfaceDescription();
    }
  }

  next(out: CaptureRecord): boolean {
    const f = this.file;
    for (;;) {
      if (f.end - f.pos < 8 && !f.ensure(8)) {
        const left = f.remaining;
        if (left === 0) return false;
        throw new CaptureFormatError(f.path, f.offset, `truncated block header (8 bytes needed, ${left} left)`);
      }
      const type = f.view.getUint32(f.pos, this.littleEndian);
      switch (type) {
        case BLOCK_ENHANCED_PACKET:
        case BLOCK_OBSOLETE_PACKET:
          this.readEnhancedPacket(out, type === BLOCK_OBSOLETE_PACKET);
          return true;
        case BLOCK_SIMPLE_PACKET:
          this.readSimplePacket(out);
          return true;
        case BLOCK_SECTION_HEADER:
          this.readSectionHeader();
          break;
        case BLOCK_INTERFACE_DESCRIPTION:
          this.readInterfaceDescription();
          break;
        default:
          this.skipBlock();
      }
    }
  }

  /**
   * Checks the block total length at the cursor and loads the whole block (for blocks we parse).
   * Returns its length; the block is then bytes[pos .. pos+length).
   */
  private loadBlock(minLength: number, what: string): number {
    const f = this.file;
    const start = f.offset;
    const length = this.checkedBlockLength(minLength, what);
    if (length > PCAPNG_MAX_PARSED_BLOCK) {
      throw new CaptureFormatError(f.path, start + 4,
        `${what} length ${length} exceeds the ${PCAPNG_MAX_PARSED_BLOCK}-byte limit`);
    }
    if (!f.ensure(length)) {
      throw new CaptureFormatError(f.path, start,
        `truncated ${what} (block length says ${length} bytes, ${f.remaining} left)`);
    }
    const trailer = f.view.getUint32(f.pos + length - 4, this.littleEndian);
    if (trailer !== length) {
      throw new CaptureFormatError(f.path, start + length - 4,
        `${what} length mismatch: ${length} at the start of the block, ${trailer} at its end`);
    }
    return length;
  }

  /** Validates the total length field of the block at the cursor (whose first 8 bytes are loaded). */
  private checkedBlockLength(minLength: number, what: string): number {
    const f = this.file;
    const length = f.view.getUint32(f.pos + 4, this.littleEndian);
    if (length < minLength || length % 4 !== 0) {
      throw new CaptureFormatError(f.path, f.offset + 4,
        `bad ${what} length ${length} (must be a multiple of 4 and at least ${minLength})`);
    }
    if (length > f.remaining) {
      throw new CaptureFormatError(f.path, f.offset,
        `truncated ${what} (block length says ${length} bytes, ${f.remaining} left)`);
    }
    return length;
  }

  private readEnhancedPacket(out: CaptureRecord, obsolete: boolean): void {
    const what = obsolete ? 'packet block' : 'enhanced packet block';
    const length = this.loadBlock(EPB_DATA_OFFSET + 4, what);
    const f = this.file;
    const v = f.view;
    const p = f.pos;
    const le = this.littleEndian;
    const ifIndex = obsolete ? v.getUint16(p + 8, le) : v.getUint32(p + 8, le);
    const capLen = v.getUint32(p + 20, le);
    if (capLen > MAX_CAPTURE_LENGTH) {
      throw new CaptureFormatError(f.path, f.offset + 20,
        `captured length ${capLen} exceeds the ${MAX_CAPTURE_LENGTH}-byte limit`);
    }
    if (EPB_DATA_OFFSET + padTo4(capLen) + 4 > length) {
      throw new CaptureFormatError(f.path, f.offset + 20,
        `captured length ${capLen} does not fit in the ${length}-byte ${what}`);
    }
    const iface = this.interfaceFor(ifIndex, what);
    const clock = iface.resolution;
    clock.convert(v, p + 12, le);
    out.bytesRead = f.offset;
    out.tsSec = clock.sec;
    out.tsNsec = clock.nsec;
    out.capLen = capLen;
    out.origLen = v.getUint32(p + 24, le);
    out.data = f.bytes;
    out.offset = p + EPB_DATA_OFFSET;
    out.ifIndex = ifIndex;
    out.linkType = iface.linkType;
    out.nanosecond = iface.nanosecond;
    f.pos = p + length;
  }

  /** A Simple Packet Block belongs to interface 0 and has no timestamp (reported as 0). */
  private readSimplePacket(out: CaptureRecord): void {
    const length = this.loadBlock(SPB_DATA_OFFSET + 4, 'simple packet block');
    const f = this.file;
    const p = f.pos;
    const iface = this.interfaceFor(0, 'simple packet block');
    const origLen = f.view.getUint32(p + 8, this.littleEndian);
    // The captured part is the original length cut to the snap length and to what the block holds.
    let capLen = Math.min(origLen, length - SPB_DATA_OFFSET - 4);
    if (iface.snapLen > 0 && capLen > iface.snapLen) capLen = iface.snapLen;
    if (capLen > MAX_CAPTURE_LENGTH) {
      throw new CaptureFormatError(f.path, f.offset + 8,
        `packet length ${capLen} exceeds the ${MAX_CAPTURE_LENGTH}-byte limit`);
    }
    out.bytesRead = f.offset;
    out.tsSec = 0;
    out.tsNsec = 0;
    out.capLen = capLen;
    out.origLen = origLen;
    out.data = f.bytes;
    out.offset = p + SPB_DATA_OFFSET;
    out.ifIndex = 0;
    out.linkType = iface.linkType;
    out.nanosecond = iface.nanosecond;
    f.pos = p + length;
  }

  private interfaceFor(ifIndex: number, what: string): PcapngInterface {
    const iface = this.interfaces[ifIndex];
    if (iface === undefined) {
      const n = this.interfaces.length;
      throw new CaptureFormatError(this.file.path, this.file.offset + 8,
        `${what} for interface ${ifIndex}, but ${n === 0 ? 'no interface is' : n === 1 ? 'only 1 interface is' : `only ${n} interfaces are`} defined in this section`);
    }
    return iface;
  }

  /** A Section Header Block: fixes the byte order of its section and starts a new list of interfaces. */
  private readSectionHeader(): void {
    const f = this.file;
    const start = f.offset;
    if (!f.ensure(12)) {
      throw new CaptureFormatError(f.path, start,
        `truncated section header block (12 bytes needed, ${f.remaining} left)`);
    }
    const bom = f.view.getUint32(f.pos + 8, true);
    if (bom === PCAPNG_BYTE_ORDER_MAGIC) this.littleEndian = true;
    else if (f.view.getUint32(f.pos + 8, false) === PCAPNG_BYTE_ORDER_MAGIC) this.littleEndian = false;
    else {
      throw new CaptureFormatError(f.path, start + 8,
        `bad byte-order magic 0x${hex32(f.view.getUint32(f.pos + 8, false))} in section header block`);
    }
    const length = this.loadBlock(SHB_OPTIONS_OFFSET + 4, 'section header block');
    const major = f.view.getUint16(f.pos + 12, this.littleEndian);
    const minor = f.view.getUint16(f.pos + 14, this.littleEndian);
    if (major !== PCAPNG_VERSION_MAJOR) {
      throw new CaptureFormatError(f.path, start + 12, `unsupported pcapng version ${major}.${minor} (1.0 expected)`);
    }
    this.interfaces = [];
    this.sections++;
    f.pos += length;
  }

  private readInterfaceDescription(): void {
    const what = 'interface description block';
    const length = this.loadBlock(IDB_OPTIONS_OFFSET + 4, what);
    const f = this.file;
    const v = f.view;
    const p = f.pos;
    const le = this.littleEndian;
    const linkType = v.getUint16(p + 8, le);
    const snapLen = v.getUint32(p + 12, le);
    let name = '';
    let tsresol = 6;
    let offsetSec = 0;
    const optionsEnd = p + length - 4;
    let o = p + IDB_OPTIONS_OFFSET;
    while (o + 4 <= optionsEnd) {
      const code = v.getUint16(o, le);
      const optLength = v.getUint16(o + 2, le);
      if (code === OPT_END_OF_OPTIONS) break;
      const value = o + 4;
      if (value + optLength > optionsEnd) {
        throw new CaptureFormatError(f.path, f.offset + (o - p),
          `option ${code} of length ${optLength} runs past the end of its ${what}`);
      }
      if (code === OPT_IF_NAME) {
        name = Buffer.from(f.bytes.buffer, f.bytes.byteOffset + value, optLength).toString('utf8');
      } else if (code === OPT_IF_TSRESOL) {
        if (optLength !== 1) {
          throw new CaptureFormatError(f.path, f.offset + (o - p), `if_tsresol option of length ${optLength} (1 expected)`);
        }
        tsresol = f.bytes[value] as number;
      } else if (code === OPT_IF_TSOFFSET) {
        if (optLength !== 8) {
          throw new CaptureFormatError(f.path, f.offset + (o - p), `if_tsoffset option of length ${optLength} (8 expected)`);
        }
        offsetSec = Number(v.getBigInt64(value, le));
      }
      o = value + padTo4(optLength);
    }
    const resolution = new TimestampResolution(tsresol, offsetSec);
    this.interfaces.push(new PcapngInterface(name, linkType, snapLen, resolution));
    f.pos += length;
  }

  /** Skips a block we do not read, without loading it: checks its length and the copy at its end. */
  private skipBlock(): void {
    const f = this.file;
    const start = f.offset;
    const type = f.view.getUint32(f.pos, this.littleEndian);
    const length = this.checkedBlockLength(PCAPNG_BLOCK_OVERHEAD, 'block');
    f.skip(length - 4);
    f.ensure(4); // cannot fail: checkedBlockLength made sure the whole block is in the file
    const trailer = f.view.getUint32(f.pos, this.littleEndian);
    if (trailer !== length) {
      throw new CaptureFormatError(f.path, start + length - 4,
        `block length mismatch: ${length} at the start of the block (type 0x${hex32(type)}), ${trailer} at its end`);
    }
    f.pos += 4;
  }
}
