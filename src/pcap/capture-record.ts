/**
 * What a decoder fills in for each packet. CaptureReader is the one implementation: the decoders write
 * straight into its fields, so reading a packet creates no object.
 */
export interface CaptureRecord {
  /** The buffer holding the packet; valid until the next call to next(). */
  data: Uint8Array;
  /** Index of the packet's first byte in `data`. */
  offset: number;
  /** Bytes captured (present in `data`). */
  capLen: number;
  /** Length of the packet on the wire (may exceed capLen when the capture was truncated). */
  origLen: number;
  tsSec: number;
  /** Nanoseconds within the second, whatever the file's resolution. */
  tsNsec: number;
  /** Interface of the packet within its pcapng section (0 for classic pcap). */
  ifIndex: number;
  linkType: number;
  /** True when the packet's timestamp resolution is finer than a microsecond. */
  nanosecond: boolean;
  /** File offset of the packet's record (pcap record header or pcapng block). */
  bytesRead: number;
}

/** An interface as a capture describes it (classic pcap: exactly one, from the file header). */
export interface CaptureInterface {
  /** pcapng if_name, or '' when not given. */
  readonly name: string;
  readonly linkType: number;
  /** Snap length from the header; 0 means no limit. */
  readonly snapLen: number;
  /** Timestamp units per second (10^6 for microseconds, 10^9 for nanoseconds). */
  readonly unitsPerSecond: number;
  readonly nanosecond: boolean;
}

/** One capture format's record parser, driven by CaptureReader. */
export interface RecordDecoder {
  /** Fills `out` with the next packet and returns true, or returns false at the clean end of the file. */
  next(out: CaptureRecord): boolean;
  /** The interfaces of the current section (pcapng) or the file (pcap). */
  readonly interfaces: readonly CaptureInterface[];
}
