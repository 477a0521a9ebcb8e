/**
 * The rules file written back: exactly the lines `ipvsadm -S -n` prints (services and real
 * servers in ipvsadm's sorted order, see ipvsadm-sort.ts), plus the uvs extensions ipvsadm
 * cannot express: `--fullnat` real servers and one `-P <svc> -z LADDR` line per FULLNAT local
 * address after the service's real servers.
 *
 * Like ipvsadm -S, the default output drops what -S does not save: thresholds (-x/-y), the -M
 * of a non-persistent service, --set timeouts, and the list order of real servers (a reload
 * adds them in sorted order). `{ lossless: true }` keeps all of it: services in model order,
 * real servers oldest first (so a reload rebuilds the same newest-first list), -x/-y, -M
 * whenever it differs from the default, fwmarks of 2^31 and more as they are (not negative), and
 * a final `--set` line when a timeout is set.
 */
import { ForwardMethod, type DestConfig, type RulesConfig, type ServiceConfig, type ServiceKey } from './config';
import { ipv4FromNumber } from './ip-address';
import { schedFlagNames } from './ipvsadm-args';
import { ipvsadmDestOrder, ipvsadmServiceOrder } from './ipvsadm-sort';

export interface FormatRulesOptions {
  lossless?: boolean;
}

const SERVICE_OPTION = { tcp: '-t', udp: '-u', sctp: '--sctp-service' } as const;
const PROTOCOL_NAME = { tcp: 'TCP', udp: 'UDP', sctp: 'SCTP' } as const;

/** addr:port as ipvsadm -n prints it: IPv6 in brackets. */
export function hostPort(addr: { af: 4 | 6; text: string }, port: number): string {
  return addr.af === 4 ? `${addr.text}:${port}` : `[${addr.text}]:${port}`;
}

/**
 * The service as ipvsadm -S names it: `-t 1.2.3.4:80`, `-f 5 -6`. ipvsadm 1.31 prints marks as
 * signed ints (4294967295 as -1, which its own -R then refuses); `signedMarks: false` does not.
 */
export function serviceOption(key: ServiceKey, signedMarks = true): string {
  if (key.kind === 'fwmark') return `-f ${signedMarks ? key.fwmark | 0 : key.fwmark}${key.af === 6 ? ' -6' : ''}`;
  return `${SERVICE_OPTION[key.protocol]} ${hostPort(key.addr, key.port)}`;
}

/** The service for messages: `TCP 1.2.3.4:80`, `FWM 5 IPv6`. */
export function describeService(key: ServiceKey): string {
  if (key.kind === 'fwmark') return `FWM ${key.fwmark}${key.af === 6 ? ' IPv6' : ''}`;
  return `${PROTOCOL_NAME[key.protocol]} ${hostPort(key.addr, key.port)}`;
}

function netmaskText(s: ServiceConfig): string | null {
  const af = s.key.kind === 'fwmark' ? s.key.af : s.key.addr.af;
  if (af === 4) {
    return s.netmask >>> 0 === 0xffffffff ? null : ipv4FromNumber(s.netmask).text;
  }
  return s.netmask === 128 ? null : String(s.netmask);
}

function serviceLine(svc: string, s: ServiceConfig, lossless: boolean): string {
  let line = `-A ${svc} -s ${s.scheduler}`;
  const mask = netmaskText(s);
  if (s.persistent) line += ` -p ${s.timeout}`;
  if (mask !== null && (s.persistent || lossless)) line += ` -M ${mask}`;
  if (s.pe !== null) line += ` --pe ${s.pe}`;
  if (s.ops) line += ' -o';
  if (s.schedFlags !== 0) line += ` -b ${schedFlagNames(s.scheduler, s.schedFlags).join(',')}`;
  return line;
}

const METHOD_SWITCH: Readonly<Record<ForwardMethod, string>> = {
  [ForwardMethod.Masq]: '-m',
  [ForwardMethod.Local]: '-g', // ipvsadm saves Local as -g
  [ForwardMethod.Tunnel]: '-i',
  [ForwardMethod.Route]: '-g',
  [ForwardMethod.FullNat]: '--fullnat',
};

function destLine(svc: string, d: DestConfig, lossless: boolean): string {
  let line = `-a ${svc} -r ${hostPort(d.addr, d.port)} ${METHOD_SWITCH[d.method]} -w ${d.weight}`;
  if (d.method === ForwardMethod.Tunnel) {
    line += ` --tun-type ${d.tunType}`;
    if (d.tunType === 'gue') line += ` --tun-port ${d.tunPort}`;
    if (d.tunType !== 'ipip') line += ` --tun-${d.tunChecksum}`;
  }
  if (lossless && (d.uThreshold !== 0 || d.lThreshold !== 0)) line += ` -x ${d.uThreshold} -y ${d.lThreshold}`;
  return line;
}

export function formatRules(c: RulesConfig, opts: FormatRulesOptions = {}): string {
  const lossless = opts.lossless === true;
  const lines: string[] = [];
  const services = lossless ? c.services : ipvsadmServiceOrder(c.services);
  for (const s of services) {
    const svc = serviceOption(s.key, !lossless);
    lines.push(serviceLine(svc, s, lossless));
    const dests = lossless ? [...s.dests].reverse() : ipvsadmDestOrder(s.dests);
    for (const d of dests) lines.push(destLine(svc, d, lossless));
    for (const a of s.laddrs) lines.push(`-P ${svc} -z ${a.text}`);
  }
  const t = c.timeouts;
  if (lossless && (t.tcp !== 0 || t.tcpFin !== 0 || t.udp !== 0)) lines.push(`--set ${t.tcp} ${t.tcpFin} ${t.udp}`);
  return lines.map((l) => `${l}\n`).join('');
}
