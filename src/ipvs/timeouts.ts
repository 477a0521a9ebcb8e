/**
 * The live timeout table in milliseconds, per protocol state. `--set tcp tcpfin udp` replaces
 * ESTABLISHED, FIN_WAIT (only) and UDP (ipvs-facts 4.5); 0 keeps the current value.
 */
import type { TimeoutConfig } from '../control/config';
import { SCTP_DEFAULT_TIMEOUTS } from './sctp-states';
import { TCP_DEFAULT_TIMEOUTS, TCP_ESTABLISHED, TCP_FIN_WAIT } from './tcp-states';

export const UDP_DEFAULT_TIMEOUT = 300;

export class Timeouts {
  readonly tcp = Uint32Array.from(TCP_DEFAULT_TIMEOUTS, (s) => s * 1000);
  readonly sctp = Uint32Array.from(SCTP_DEFAULT_TIMEOUTS, (s) => s * 1000);
  udp = UDP_DEFAULT_TIMEOUT * 1000;

  apply(t: TimeoutConfig): void {
    if (t.tcp > 0) this.tcp[TCP_ESTABLISHED] = t.tcp * 1000;
    if (t.tcpFin > 0) this.tcp[TCP_FIN_WAIT] = t.tcpFin * 1000;
    if (t.udp > 0) this.udp = t.udp * 1000;
  }

  /** Seconds, as `ipvsadm -L --timeout` prints them. */
  get tcpSeconds(): number {
    return this.tcp[TCP_ESTABLISHED] / 1000;
  }
  get tcpFinSeconds(): number {
    return this.tcp[TCP_FIN_WAIT] / 1000;
  }
  get udpSeconds(): number {
    return this.udp / 1000;
  }
}
