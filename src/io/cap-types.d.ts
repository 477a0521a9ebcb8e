/**
 * Types for what uvs uses of the `cap` package (libpcap binding, 0.2.x; it ships no types).
 * Read from its README and src/binding.cc; only the members src/io/cap-port.ts calls are declared.
 */
declare module 'cap' {
  /** One libpcap capture handle. */
  export class Cap {
    constructor();
    /**
     * Opens `device` (promiscuous, snaplen 65535, immediate mode where libpcap has it, non-blocking)
     * with a libpcap filter ('' = everything) and starts polling it on the event loop. `buffer`
     * receives each packet before its 'packet' event. Returns the link type ('ETHERNET', 'RAW',
     * 'LINKTYPE_LINUX_SLL', ...). Throws libpcap's message on failure.
     */
    open(device: string, filter: string, kernelBufferBytes: number, buffer: Uint8Array): string;
    /** Stops capturing; true when a handle was open. */
    close(): boolean;
    /** pcap_sendpacket of `buffer`'s first nBytes (any ArrayBufferView; sent from its start). Throws on failure. */
    send(buffer: Uint8Array, nBytes?: number): void;
    /**
     * The addon calls `this.emit('packet', nbytes, truncated)` once per captured packet, the
     * method being looked up when the object is constructed (so a subclass may override it).
     */
    emit(event: string, nbytes: number, truncated: boolean): boolean;
    on(event: 'packet', listener: (nbytes: number, truncated: boolean) => void): this;
    static findDevice(ip?: string): string | undefined;
    static deviceList(): CapDevice[];
  }

  export interface CapDevice {
    name: string;
    description?: string;
    addresses: { addr?: string; netmask?: string; broadaddr?: string; dstaddr?: string }[];
    flags?: string;
  }
}
