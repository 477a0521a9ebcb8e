/**
 * Names in listings without -n. ipvsadm asks the C library: gethostbyaddr() for addresses (the
 * hosts file, then DNS) and getservbyport() for ports (the services file), falling back to the
 * number. uvs does not query DNS; it answers from the text of a hosts file and a services file
 * the caller read (normally /etc/hosts and /etc/services), the way glibc's "files" lookups do:
 * the first line that matches wins and gives its first (official) name.
 */
import type { IpAddress, Protocol } from './config';
import { ipFromBytes, parseIpv4, parseIpv6 } from './ip-address';

export interface NameLookup {
  /** The host name of an address, or null to print the address. */
  hostName(addr: IpAddress): string | null;
  /** The service name of a port for a protocol, or null to print the number. */
  serviceName(port: number, protocol: Protocol): string | null;
}

/** Never a name: every address and port printed as a number. */
export const NUMERIC_NAMES: NameLookup = {
  hostName: () => null,
  serviceName: () => null,
};

function addressKey(addr: IpAddress): string {
  return `${addr.af}/${Array.from(addr.bytes).join('.')}`;
}

/** The fields of one line of a hosts or services file: comments after '#' dropped, split on blanks. */
function fields(line: string): string[] {
  const hash = line.indexOf('#');
  const text = hash < 0 ? line : line.slice(0, hash);
  return text.split(/[ \t\r\f\v]+/).filter((f) => f !== '');
}

/**
 * Address -> official name, from hosts-file text ("ADDRESS NAME [ALIAS...]" lines). As glibc
 * does for an IPv4 query, an IPv6 line also answers for its IPv4 address when it is v4-mapped
 * (::ffff:a.b.c.d), and `::1` answers for 127.0.0.1.
 */
export function parseHostsFile(text: string): Map<string, string> {
  const names = new Map<string, string>();
  const add = (addr: IpAddress, name: string): void => {
    const key = addressKey(addr);
    if (!names.has(key)) names.set(key, name);
  };
  for (const line of text.split('\n')) {
    const f = fields(line);
    if (f.length < 2) continue;
    const addr = parseIpv4(f[0]) ?? parseIpv6(f[0]);
    if (addr === null) continue;
    add(addr, f[1]);
    if (addr.af === 6) {
      const v4 = ipv4Answer(addr.bytes);
      if (v4 !== null) add(v4, f[1]);
    }
  }
  return names;
}

/** The IPv4 address an IPv6 hosts line stands for in an IPv4 lookup, if any. */
function ipv4Answer(b: Uint8Array): IpAddress | null {
  const zeros = (from: number, to: number): boolean => b.subarray(from, to).every((x) => x === 0);
  if (zeros(0, 10) && b[10] === 0xff && b[11] === 0xff) return ipFromBytes(b.slice(12, 16));
  if (zeros(0, 15) && b[15] === 1) return ipFromBytes(Uint8Array.of(127, 0, 0, 1));
  return null;
}

/** "port/protocol" -> official name, from services-file text ("NAME PORT/PROTO [ALIAS...]" lines). */
export function parseServicesFile(text: string): Map<string, string> {
  const names = new Map<string, string>();
  for (const line of text.split('\n')) {
    const f = fields(line);
    if (f.length < 2) continue;
    const m = /^([0-9]+)\/([^/]+)$/.exec(f[1]);
    if (m === null) continue;
    const port = Number(m[1]) % 65536; // glibc stores the number as a 16-bit port
    const key = `${port}/${m[2]}`;
    if (!names.has(key)) names.set(key, f[0]);
  }
  return names;
}

/** A NameLookup answering from hosts-file and services-file text (either may be absent). */
export function namesFromFiles(files: { hosts?: string; services?: string }): NameLookup {
  const hosts = parseHostsFile(files.hosts ?? '');
  const services = parseServicesFile(files.services ?? '');
  return {
    hostName: (addr) => hosts.get(addressKey(addr)) ?? null,
    serviceName: (port, protocol) => services.get(`${port}/${protocol}`) ?? null,
  };
}
