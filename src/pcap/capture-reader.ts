import { CaptureFormatError } from './capture-format-error';
import { BLOCK_SECTION_HEADER, hex32, PCAP_MAGIC_MICROSECONDS, PCAP_MAGIC_NANOSECONDS } from './capture-format';
import type { CaptureInterface, CaptureRecord, RecordDecoder } from './capture-record';
import { ChunkedFile } from './chunked-file';
import { ClassicPcapDecoder } from './classic-pcap-decoder';
import { PcapngDecoder } from './pcapng-decoder';

export interface CaptureReaderOptions {
  /** Bytes per read (default 4 MiB). Records larger than this grow the buffer. */
  chunkSize?: number;
  /** Read buffers taken in turn (default 1); see ChunkedFile. */
  buffers?: number;
  /** Put the read buffers in shared memory, so another thread can write packets out of them. */
  shared?: boolean;
}

const EMPTY = new Uint8Array(0);

/**
 * Pull-style reader of pcap and pcapng files (detected by their first four bytes). next() moves to the next
 * packet and exposes it as a view (data, offset, capLen) into a reused read buffer, valid until the next
 * call: reading allocates nothing per packet. Bad input throws CaptureFormatError naming the byte offset.
 *
 *     const r = CaptureReader.open('in.pcap');
 *     try { while (r.next()) handle(r.data, r.offset, r.capLen, r.tsSec, r.tsNsec); } finally { r.close(); }
 */
export class CaptureReader implements CaptureRecord {
  data: Uint8Array = EMPTY;
  offset = 0;
  capLen = 0;
  origLen = 0;
  tsSec = 0;
  tsNsec = 0;
  ifIndex = 0;
  linkType = 0;
  nanosecond = false;
  bytesRead = 0;
  /** Packets returned so far. */
  packets = 0;
  private closed = false;

  private constructor(
    private readonly file: ChunkedFile,
    private readonly decoder: RecordDecoder,
    readonly format: 'pcap' | 'pcapng',
  ) {
    // Until the first packet, describe the first interface (all a classic pcap has).
    const first = decoder.interfaces[0];
    if (first !== undefined) {
      this.linkType = first.linkType;
      this.nanosecond = first.nanosecond;
    }
  }

  static open(path: string, options: CaptureReaderOptions = {}): CaptureReader {
    const file = new ChunkedFile(path, options.chunkSize, options.buffers ?? 1, options.shared ?? false);
    try {
      const format = detectFormat(file);
      const decoder = format === 'pcap' ? new ClassicPcapDecoder(file) : new PcapngDecoder(file);
      return new CaptureReader(file, decoder, format);
    } catch (err) {
      file.close();
      throw err;
    }
  }

  /** Size of the file in bytes (for progress: bytesRead / fileSize). */
  get fileSize(): number {
    return this.file.fileSize;
  }

  get path(): string {
    return this.file.path;
  }

  /** Interfaces of the file (classic pcap) or of the current section (pcapng), indexed by ifIndex. */
  get interfaces(): readonly CaptureInterface[] {
    return this.decoder.interfaces;
  }

  /**
   * Registers `fn` to run before the read buffer is reused: views into `data` from earlier packets
   * (the current one included) stay valid until then. Lets a caller hold on to a run of packets
   * and write them out in one go.
   */
  onBufferReuse(fn: (() => void) | null): void {
    this.file.beforeRefill = fn;
  }

  /**
   * With several read buffers: registers `fn` to run with a buffer before a refill overwrites it
   * (packets of that buffer handed to a background writer must be written by then).
   */
  onBufferRecycle(fn: ((buf: Uint8Array) => void) | null): void {
    this.file.beforeReuse = fn;
  }

  /**
   * True when each packet sits in `data` behind a 16-byte little-endian classic pcap record header
   * at offset - 16, as PcapWriter writes them: then a rewritten packet of unchanged length can be
   * copied out together with its header.
   */
  get littleEndianPcapRecords(): boolean {
    return this.decoder instanceof ClassicPcapDecoder && this.decoder.littleEndian;
  }

  /** Advances to the next packet; false at the end of the file. */
  next(): boolean {
    if (this.closed) throw new Error(`${this.file.path}: read after close`);
    if (this.decoder.next(this)) {
      this.packets++;
      return true;
    }
    return false;
  }

  /** A copy of the current packet's captured bytes (for tests and slow paths; allocates). */
  copyPacket(): Uint8Array {
    return this.data.slice(this.offset, this.offset + this.capLen);
  }

  close(): void {
    this.closed = true;
    this.file.close();
  }
}

function detectFormat(file: ChunkedFile): 'pcap' | 'pcapng' {
  if (!file.ensure(4)) {
    const size = file.remaining;
    throw new CaptureFormatError(file.path, 0,
      size === 0 ? 'empty file (not a pcap or pcapng file)' : `not a pcap or pcapng file (only ${size} bytes)`);
  }
  const be = file.view.getUint32(file.pos, false);
  const le = file.view.getUint32(file.pos, true);
  if (be === BLOCK_SECTION_HEADER) return 'pcapng';
  if (be === PCAP_MAGIC_MICROSECONDS || be === PCAP_MAGIC_NANOSECONDS
    || le === PCAP_MAGIC_MICROSECONDS || le === PCAP_MAGIC_NANOSECONDS) return 'pcap';
  const hint = (be >>> 16) === 0x1f8b ? '; gzip-compressed? decompress it first' : '';
  throw new CaptureFormatError(file.path, 0, `not a pcap or pcapng file (magic 0x${hex32(be)} at byte 0${hint})`);
}
