/**
 * The uvs native addon (native/, built by node-gyp): TUN/TAP devices and AF_PACKET sockets with
 * a TPACKET_V3 ring. This file loads it and gives it types; the ports (packet-port.ts,
 * tun-port.ts) are what the director uses. Loaded lazily, so replay and the control plane run on
 * hosts where the addon was never built.
 */
import * as path from 'node:path';

/** A classic BPF program: sock_filter entries, 8 bytes each (see bpf.ts). */
export type BpfProgram = Uint8Array | Uint32Array;

export interface NativePacketSocketOptions {
  ifname: string;
  /** Open the socket inside this network namespace (a name under /var/run/netns, or a path). */
  netns?: string;
  /** EtherType to receive, host order (default ETH_P_ALL = 3: every frame, before the IP stack). */
  protocol?: number;
  blockSize?: number;
  blockCount?: number;
  frameSize?: number;
  /** tp_retire_blk_tov: a block with frames is handed over after at most this many ms. */
  retireMs?: number;
  ignoreOutgoing?: boolean;
  qdiscBypass?: boolean;
  /** SO_SNDBUF in bytes (0: the kernel's default). */
  sndbuf?: number;
  filter?: BpfProgram;
  /** PACKET_FANOUT: type = mode | flag bits (PACKET_FANOUT_* values); program for the cbpf mode. */
  fanout?: { group: number; type: number; program?: BpfProgram };
}

export interface NativePacketSocket {
  /** The whole ring, mapped (no copy). Detached (byteLength 0) by close(). */
  ring(): ArrayBuffer;
  fd(): number;
  ifindex(): number;
  /** Index of block head+ahead when user space owns it (TP_STATUS_USER), else -1. */
  readyBlock(ahead: number): number;
  /** Gives block `index` (must be the head) back to the kernel and advances the head. */
  releaseBlock(index: number): void;
  /** Registers memory transmit descriptors may point into; returns its region index. */
  addRegion(memory: Uint8Array): number;
  /** One sendmmsg per 1024 frames of [start, start + count); returns how many the kernel took. */
  send(region: Int32Array, off: Int32Array, len: Int32Array, start: number, count: number): number;
  /** errno of the last refused frame (0: none yet). */
  lastSendErrno(): number;
  /** out[0] packets seen (drops included), out[1] ring drops, out[2] freeze count; totals since open. */
  readStats(out: Float64Array): void;
  /** Replaces the socket filter (null: none). */
  setFilter(program: BpfProgram | null): void;
  /** Calls onReadable once per event-loop wake-up while the socket has ready blocks. */
  startPoll(onReadable: () => void): void;
  stopPoll(): void;
  /** Stops the poll, closes the socket, detaches ring(). Safe to call twice. */
  close(): void;
}

export interface NativeTunDeviceOptions {
  name: string;
  tap?: boolean;
  multiQueue?: boolean;
  netns?: string;
  /** Set the device up (IFF_UP) after creating it. */
  up?: boolean;
  mtu?: number;
}

export interface NativeTunDevice {
  name(): string;
  fd(): number;
  /** Reads waiting packets: packet i at buf[start + i * stride], at most room bytes, length into len[i]. */
  readBatch(buf: Uint8Array, start: number, stride: number, room: number, max: number, len: Int32Array): number;
  addRegion(memory: Uint8Array): number;
  /** One write() per packet of [start, start + count); returns how many the kernel took. */
  write(region: Int32Array, off: Int32Array, len: Int32Array, start: number, count: number): number;
  lastWriteErrno(): number;
  startPoll(onReadable: () => void): void;
  stopPoll(): void;
  close(): void;
}

/** Byte offsets of the TPACKET_V3 structures and status bits, as the addon was compiled. */
export interface NativeTpacketLayout {
  blockStatus: number;
  numPkts: number;
  offsetToFirstPkt: number;
  blkLen: number;
  tpNextOffset: number;
  tpSec: number;
  tpNsec: number;
  tpSnaplen: number;
  tpLen: number;
  tpStatus: number;
  tpMac: number;
  tpNet: number;
  tpVlanTci: number;
  tpacket3HdrLen: number;
  statusUser: number;
  statusCsumNotReady: number;
  statusVlanValid: number;
  statusCsumValid: number;
}

export interface NativeAddon {
  PacketSocket: new (options: NativePacketSocketOptions) => NativePacketSocket;
  TunDevice: new (options: NativeTunDeviceOptions) => NativeTunDevice;
  layout: NativeTpacketLayout;
}

/** An error thrown by the addon: `code` is the errno name ("ENODEV", "EPERM", "EBUSY" ...). */
export interface NativeError extends Error {
  code: string;
  errno?: number;
}

export function isNativeError(e: unknown): e is NativeError {
  return e instanceof Error && typeof (e as { code?: unknown }).code === 'string';
}

/** Where the built addon lies: UVS_NATIVE_ADDON, else native/build/Release under the repository root. */
export function nativeAddonPath(): string {
  const override = process.env.UVS_NATIVE_ADDON;
  if (override !== undefined && override !== '') return path.resolve(override);
  // This file runs as dist/src/io/native-addon.js: the repository root is three levels up.
  return path.resolve(__dirname, '..', '..', '..', 'native', 'build', 'Release', 'uvs_native.node');
}

let loaded: NativeAddon | null = null;

/** Loads the addon once; a missing build says how to make it. */
export function loadNativeAddon(): NativeAddon {
  if (loaded !== null) return loaded;
  const file = nativeAddonPath();
  let mod: unknown;
  try {
    mod = require(file) as unknown;
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    const err = new Error(
      `the uvs native addon could not be loaded from ${file} (build it with \`npm install\` or ` +
        `\`npx node-gyp rebuild --directory=native\`): ${why}`,
    ) as NativeError;
    err.code = 'ENOADDON';
    throw err;
  }
  const m = mod as Partial<NativeAddon>;
  if (typeof m.PacketSocket !== 'function' || typeof m.TunDevice !== 'function' || typeof m.layout !== 'object') {
    throw new Error(`${file} is not the uvs native addon (no PacketSocket, TunDevice or layout)`);
  }
  loaded = m as NativeAddon;
  return loaded;
}
