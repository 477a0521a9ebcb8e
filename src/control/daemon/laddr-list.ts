/**
 * `uvsadm -G` (`--get-laddr`): the FULLNAT local addresses of every service, or of one, in the
 * layout of DPVS's ipvsadm: a title, then per service its address and the number of local
 * addresses, then one row per local address with its port conflicts and connections.
 *
 *   VIP:VPORT            TOTAL    SNAT_IP              CONFLICTS  CONNS
 *   10.0.0.1:80          2
 *                                 192.168.0.1          0          12
 *
 * (`"%-20s %-8s %-20s %-10s %-10s"`; the service row is `"%-20s %-8u "`, so it ends in a space.)
 * The title comes once, before the first service; with no service at all nothing is printed.
 * A firewall-mark service (which DPVS does not have) is named as ipvsadm -L names it: `FWM  5`.
 */
import type { IpAddress, ServiceKey } from '../config';
import { hostPort } from '../rules-format';

export interface LaddrRow {
  addr: IpAddress;
  /** Ports that could not be taken because they were in use (always 0 in uvs, which skips used ports). */
  conflicts: number;
  /** Connections using the address. */
  conns: number;
}

export interface LaddrService {
  key: ServiceKey;
  laddrs: LaddrRow[];
}

function left(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

function serviceName(key: ServiceKey): string {
  if (key.kind === 'fwmark') return `FWM  ${key.fwmark}${key.af === 6 ? ' IPv6' : ''}`;
  return hostPort(key.addr, key.port);
}

export function formatLaddrTitle(): string {
  return `${left('VIP:VPORT', 20)} ${left('TOTAL', 8)} ${left('SNAT_IP', 20)} ${left('CONFLICTS', 10)} ${left('CONNS', 10)}\n`;
}

export function formatLaddrService(s: LaddrService): string {
  let out = `${left(serviceName(s.key), 20)} ${left(String(s.laddrs.length), 8)} \n`;
  for (const l of s.laddrs) {
    out += `${left('', 20)} ${left('', 8)} ${left(l.addr.text, 20)} ${left(String(l.conflicts), 10)} ${left(String(l.conns), 10)}\n`;
  }
  return out;
}

/** The whole -G output for these services (in the order given). */
export function formatLaddrList(services: readonly LaddrService[]): string {
  if (services.length === 0) return '';
  return formatLaddrTitle() + services.map(formatLaddrService).join('');
}
