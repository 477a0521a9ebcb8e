/** The part of the untyped npm package pcap-parser (0.2.x) that the bench's baseline reader uses. */
declare module 'pcap-parser' {
  import { EventEmitter } from 'node:events';

  export interface PcapPacketHeader {
    timestampSeconds: number;
    timestampMicroseconds: number;
    capturedLength: number;
    originalLength: number;
  }

  export interface PcapPacket {
    header: PcapPacketHeader;
    data: Buffer;
  }

  export interface PcapParser extends EventEmitter {
    on(event: 'packet', listener: (packet: PcapPacket) => void): this;
    on(event: 'end', listener: () => void): this;
    on(event: 'error', listener: (err: Error) => void): this;
  }

  export function parse(input: string | NodeJS.ReadableStream): PcapParser;
}
