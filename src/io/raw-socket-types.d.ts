/**
 * Types for what uvs uses of the `raw-socket` package (1.8.x; it ships no types). Read from its
 * README, index.js and src/raw.cc. Besides the documented Socket, uvs calls the Socket's `wrap`
 * (the native SocketWrap) directly: its send() and recv() are synchronous sendto/recvfrom calls,
 * whereas Socket.send queues a request object and a closure per packet until the socket is writable.
 */
declare module 'raw-socket' {
  export interface SocketOptions {
    /** AddressFamily.IPv4 (1, default) or AddressFamily.IPv6 (2). */
    addressFamily?: number;
    /** IP protocol number of the socket (0 when omitted; 255 = IPPROTO_RAW, send-only with header included). */
    protocol?: number;
    /** Size of the Socket's own receive Buffer (unused when calling wrap.recv with our own buffer). */
    bufferSize?: number;
  }

  /** The native socket: an EventEmitter ('recvReady', 'sendReady', 'error', 'close'). */
  export interface SocketWrap {
    /**
     * sendto(fd, buffer + offset, length, address) now (the fd is non-blocking); calls
     * afterSend(bytes) synchronously on success and throws the system error's text on failure.
     * `address` is parsed per call (uv_ip4_addr / uv_ip6_addr).
     */
    send(buffer: Uint8Array, offset: number, length: number, address: string, afterSend: (bytes: number) => void): SocketWrap;
    /**
     * recvfrom(fd) into `buffer` (from its start) now; calls onMessage(buffer, bytes, source)
     * synchronously; throws the system error's text (EAGAIN included) on failure.
     */
    recv(buffer: Uint8Array, onMessage: (buffer: Uint8Array, bytes: number, source: string) => void): SocketWrap;
    /** Which poll events the socket watches (true = not watched; a watched socket keeps the loop alive). */
    pause(pauseRecv: boolean, pauseSend: boolean): SocketWrap;
    on(event: 'recvReady' | 'sendReady' | 'close', listener: () => void): SocketWrap;
    on(event: 'error', listener: (error: Error) => void): SocketWrap;
    removeAllListeners(event: string): SocketWrap;
  }

  export interface Socket {
    readonly wrap: SocketWrap;
    close(): Socket;
    /** setsockopt with an integer value (4 bytes) or with `value`'s first `length` bytes. */
    setOption(level: number, option: number, value: number | Uint8Array, length?: number): void;
    on(event: 'error', listener: (error: Error) => void): Socket;
    on(event: 'close', listener: () => void): Socket;
    /** A packet read by the Socket's own reader (a new Buffer per packet; IPv4 includes the IP header). */
    on(event: 'message', listener: (buffer: Buffer, source: string) => void): Socket;
  }

  export function createSocket(options?: SocketOptions): Socket;

  export const AddressFamily: { readonly IPv4: number; readonly IPv6: number };
  export const SocketLevel: { readonly SOL_SOCKET: number; readonly IPPROTO_IP: number; readonly IPPROTO_IPV6: number };
  export const SocketOption: {
    readonly SO_RCVBUF: number;
    readonly SO_SNDBUF: number;
    readonly IP_HDRINCL: number;
    /** Linux only. */
    readonly SO_BINDTODEVICE?: number;
  };
}
