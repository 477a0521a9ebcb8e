/**
 * `uvs realserver --decap ipip` put together: a TUN device the inner packets are written into (so
 * the host receives them as if its kernel had decapsulated them), the raw-socket receiver, and
 * the sysctls that make the host accept what comes out of the TUN device.
 */
import { writeFileSync } from 'node:fs';
import { TunPort } from '../io/tun-port';
import type { DecapCounters } from './ipip-decap';
import { IpipReceiver } from './ipip-receiver';

export interface DecapServiceOptions {
  /** TUN device name (created if missing). */
  tun: string;
  /** Only packets that arrived on this interface. */
  device?: string;
  /** Largest inner packet delivered. */
  maxInner?: number;
  /** A receive socket failed (it is closed: the service no longer receives that protocol). */
  onError?: (message: string) => void;
}

export class IpipDecapService {
  /** Packets the host routed into the TUN device (read and discarded, so its queue never fills). */
  tunDiscarded = 0;
  private stopped = false;

  private constructor(
    private readonly tun: TunPort,
    private readonly receiver: IpipReceiver,
  ) {}

  get counters(): DecapCounters {
    return this.receiver.counters;
  }

  get tunName(): string {
    return this.tun.name;
  }

  static start(options: DecapServiceOptions): IpipDecapService {
    // up: IFF_UP, what `ip link set NAME up` does.
    const tun = TunPort.open(options.tun, { up: true, batchFrames: 64, txFrames: 256 });
    let receiver: IpipReceiver | null = null;
    try {
      // Reverse-path filtering: a decapsulated packet enters through the TUN device with the
      // client's source address, but the route back to the client leaves through the real
      // interface. Strict rp_filter (1) would drop every such packet as spoofed. The kernel uses
      // the larger of `all` and the device's value, so both must be 0 (2, loose, would also do
      // only while a route to the client exists at all).
      setRpFilter(tun.name, 0);
      setRpFilter('all', 0);
      receiver = new IpipReceiver(tun, { device: options.device, maxInner: options.maxInner, onError: options.onError });
    } catch (e) {
      tun.close();
      throw e;
    }
    const service = new IpipDecapService(tun, receiver);
    tun.start(() => service.discardTunReads());
    return service;
  }

  /** Closes the sockets and the TUN device (which disappears with it). Safe to call twice. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.receiver.close();
    this.tun.close();
  }

  private discardTunReads(): void {
    for (let b = this.tun.receive(); b !== null; b = this.tun.receive()) {
      this.tunDiscarded += b.count;
      this.tun.release();
    }
  }
}

function setRpFilter(conf: string, value: number): void {
  const file = `/proc/sys/net/ipv4/conf/${conf}/rp_filter`;
  try {
    writeFileSync(file, `${value}\n`);
  } catch (e) {
    throw new Error(`cannot set ${file} to ${value}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
