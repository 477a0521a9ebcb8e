// Capture file readers and writers: the public surface of src/pcap.
export { CaptureFormatError } from './capture-format-error';
export { CaptureReader, type CaptureReaderOptions } from './capture-reader';
export type { CaptureInterface, CaptureRecord } from './capture-record';
export type { CaptureWriter } from './capture-writer';
export { PcapWriter, type PcapWriterOptions } from './pcap-writer';
export { PcapngWriter, type PcapngWriterInterface, type PcapngWriterOptions } from './pcapng-writer';
export { TimestampResolution } from './timestamp-resolution';
export {
  LINKTYPE_ETHERNET,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_RAW,
  MAX_CAPTURE_LENGTH,
} from './capture-format';
