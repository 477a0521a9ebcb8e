import { CaptureFormatError } from './capture-format-error';
import {
  hex32,
  MAX_CAPTURE_LENGTH,
  PCAP_GLOBAL_HEADER_LENGTH,
  PCAP_LINKTYPE_MASK,
  PCAP_MAGIC_MICROSECONDS,
  PCAP_MAGIC_NANOSECONDS,
  PCAP_RECORD_HEADER_LENGTH,
  PCAP_VERSION_MAJOR,
} from './capture-format';
import type { CaptureInterface, CaptureRecord, RecordDecoder } from './capture-record';
import type { ChunkedFile } from './chunked-file';

/**
 * Classic libpcap files: a 24-byte file header, then records of a 16-byte header (ts_sec, ts_usec or
 * ts_nsec, incl_len, orig_len) and incl_len bytes of packet. Either byte order, micro- or nanoseconds.
 */
export class ClassicPcapDecoder implements RecordDecoder {
  readonly littleEndian: boolean;
  readonly nanosecond: boolean;
  readonly linkType: number;
  readonly snapLen: number;
  readonly versionMajor: number;
  readonly versionMinor: number;
  readonly interfaces: readonly CaptureInterface[];

  constructor(private readonly file: ChunkedFile) {
    if (!file.ensure(PCAP_GLOBAL_HEADER_LENGTH)) {
      throw new CaptureFormatError(file.path, 0,
        `truncated pcap file header (${PCAP_GLOBAL_HEADER_LENGTH} bytes needed, ${file.remaining} present)`);
    }
    const v = file.view;
    const p = file.pos;
    const magicLe = v.getUint32(p, true);
    this.littleEndian = magicLe === PCAP_MAGIC_MICROSECONDS || magicLe === PCAP_MAGIC_NANOSECONDS;
    const magic = v.getUint32(p, this.littleEndian);
    if (magic !== PCAP_MAGIC_MICROSECONDS && magic !== PCAP_MAGIC_NANOSECONDS) {
      // CaptureReader only hands us files with one of the magics; this guards direct use.
      throw new CaptureFormatError(file.path, 0, `not a pcap file (magic 0x${hex32(v.getUint32(p, false))})`);
    }
    this.nanosecond = magic === PCAP_MAGIC_NANOSECONDS;
    this.versionMajor = v.getUint16(p + 4, this.littleEndian);
    this.versionMinor = v.getUint16(p + 6, this.littleEndian);
    if (this.versionMajor !== PCAP_VERSION_MAJOR) {
      throw new CaptureFormatError(file.path, 4,
        `unsupported pcap version ${this.versionMajor}.${this.versionMinor} (2.4 expected)`);
    }
    this.snapLen = v.getUint32(p + 16, this.littleEndian);
    this.linkType = v.getUint32(p + 20, this.littleEndian) & PCAP_LINKTYPE_MASK;
    this.interfaces = [{
      name: '',
      linkType: this.linkType,
      snapLen: this.snapLen,
      unitsPerSecond: this.nanosecond ? 1e9 : 1e6,
      nanosecond: this.nanosecond,
    }];
    file.pos += PCAP_GLOBAL_HEADER_LENGTH;
  }

  next(out: CaptureRecord): boolean {
    const f = this.file;
    if (f.end - f.pos < PCAP_RECORD_HEADER_LENGTH && !f.ensure(PCAP_RECORD_HEADER_LENGTH)) {
      const left = f.remaining;
      if (left === 0) return false;
      throw new CaptureFormatError(f.path, f.offset,
        `truncated record header (${PCAP_RECORD_HEADER_LENGTH} bytes needed, ${left} left)`);
    }
    const le = this.littleEndian;
    let p = f.pos;
    let v = f.view;
    const capLen = v.getUint32(p + 8, le);
    if (capLen > MAX_CAPTURE_LENGTH) {
      throw new CaptureFormatError(f.path, f.offset,
        `record length ${capLen} exceeds the ${MAX_CAPTURE_LENGTH}-byte limit`);
    }
    const size = PCAP_RECORD_HEADER_LENGTH + capLen;
    if (f.end - p < size) {
      if (!f.ensure(size)) {
        throw new CaptureFormatError(f.path, f.offset,
          `truncated record (header says ${capLen} bytes, ${f.remaining - PCAP_RECORD_HEADER_LENGTH} left)`);
      }
      p = f.pos;
      v = f.view;
    }
    out.bytesRead = f.offset;
    out.tsSec = v.getUint32(p, le);
    const fraction = v.getUint32(p + 4, le);
    out.tsNsec = this.nanosecond ? fraction : fraction * 1000;
    out.capLen = capLen;
    out.origLen = v.getUint32(p + 12, le);
    out.data = f.bytes;
    out.offset = p + PCAP_RECORD_HEADER_LENGTH;
    out.ifIndex = 0;
    out.linkType = this.linkType;
    out.nanosecond = this.nanosecond;
    f.pos = p + size;
    return true;
  }
}
