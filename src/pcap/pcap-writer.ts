import { CaptureFileOutput, DEFAULT_OUTPUT_BUFFER_SIZE } from './capture-file-output';
import {
  MAX_CAPTURE_LENGTH,
  PCAP_GLOBAL_HEADER_LENGTH,
  PCAP_MAGIC_MICROSECONDS,
  PCAP_MAGIC_NANOSECONDS,
  PCAP_RECORD_HEADER_LENGTH,
  PCAP_VERSION_MAJOR,
  PCAP_VERSION_MINOR,
} from './capture-format';
import { checkPacketArguments, type CaptureWriter } from './capture-writer';

export interface PcapWriterOptions {
  /** Nanosecond timestamps (magic a1b23c4d) instead of microseconds. */
  nanosecond?: boolean;
  /** Snap length recorded in the file header (default 262144). */
  snapLen?: number;
  /** Output buffer size in bytes (default 4 MiB). */
  bufferSize?: number;
  /** Write from a second thread (see CaptureFileOutput). */
  background?: boolean;
}

/** Writes a classic little-endian pcap file (version 2.4) with one link type. */
export class PcapWriter implements CaptureWriter {
  packets = 0;
  readonly nanosecond: boolean;
  private readonly out: CaptureFileOutput;

  constructor(readonly path: string, readonly linkType: number, options: PcapWriterOptions = {}) {
    this.nanosecond = options.nanosecond ?? false;
    this.out = new CaptureFileOutput(path, { bufferSize: options.bufferSize ?? DEFAULT_OUTPUT_BUFFER_SIZE, background: options.background });
    const o = this.out;
    const v = o.view;
    v.setUint32(0, this.nanosecond ? PCAP_MAGIC_NANOSECONDS : PCAP_MAGIC_MICROSECONDS, true);
    v.setUint16(4, PCAP_VERSION_MAJOR, true);
    v.setUint16(6, PCAP_VERSION_MINOR, true);
    v.setInt32(8, 0, true); // thiszone: always 0 (UTC)
    v.setUint32(12, 0, true); // sigfigs: always 0
    v.setUint32(16, options.snapLen ?? MAX_CAPTURE_LENGTH, true);
    v.setUint32(20, linkType, true);
    o.pos = PCAP_GLOBAL_HEADER_LENGTH;
  }

  writePacket(_ifIndex: number, buf: Uint8Array, off: number, len: number, tsSec: number, tsNsec: number, origLen: number = len): void {
    checkPacketArguments(this.path, buf, off, len, tsSec, tsNsec, origLen, MAX_CAPTURE_LENGTH);
    const o = this.out;
    o.reserve(PCAP_RECORD_HEADER_LENGTH + len);
    const v = o.view;
    const p = o.pos;
    v.setUint32(p, tsSec, true);
    v.setUint32(p + 4, this.nanosecond ? tsNsec : Math.floor(tsNsec / 1000), true);
    v.setUint32(p + 8, len, true);
    v.setUint32(p + 12, origLen, true);
    // The one allocation per packet: a short-lived subarray, because Node has no memcpy between two
    // different buffers without one (Buffer#copy makes the same view internally) and a byte loop is slower.
    o.bytes.set(buf.subarray(off, off + len), p + PCAP_RECORD_HEADER_LENGTH);
    o.pos = p + PCAP_RECORD_HEADER_LENGTH + len;
    this.packets++;
  }

  /**
   * Appends `count` complete records (little-endian record headers with this file's timestamp
   * resolution, then the packet bytes) lying in buf[off, off+len), as a reader found them.
   */
  writeRecords(buf: Uint8Array, off: number, len: number, count: number): void {
    if (len < 0 || off < 0 || off + len > buf.length) {
      throw new RangeError(`${this.path}: records [${off}, ${off + len}) are outside the ${buf.length}-byte buffer`);
    }
    if (len > 1 << 16) this.out.writeThrough(buf, off, len);
    else {
      this.out.reserve(len);
      this.out.bytes.set(buf.subarray(off, off + len), this.out.pos);
      this.out.pos += len;
    }
    this.packets += count;
  }

  /** Waits until nothing handed to writeRecords() from `buf` is still being written. */
  release(buf: Uint8Array): void {
    this.out.release(buf);
  }

  close(): void {
    this.out.close();
  }

  abort(): void {
    this.out.abort();
  }
}
