/**
 * IP and MAC address text: parsing, canonical formatting and prefix helpers for the
 * configuration loaders. Nothing here resolves names: uvs configuration is numeric only.
 *
 * Canonical text is what glibc's inet_ntop prints, because ipvsadm -S -n prints addresses
 * with inet_ntop and uvs must reproduce that output byte for byte: IPv4 dotted decimal;
 * IPv6 lower-case hex, the longest run of two or more zero groups (the first on a tie)
 * compressed to "::", and the last 32 bits dotted when the first 96 bits are zero (with a
 * non-zero 7th group) or are ::ffff: (a v4-mapped address).
 */
import type { AddressFamily, IpAddress } from './config';

/** The one message uvs gives wherever a host name is offered instead of an address. */
export const HOST_NAMES_NOT_RESOLVED = 'host names are not resolved; use a numeric address';

/** Builds an IpAddress from its network-order bytes (4 or 16), computing the canonical text. */
export function ipFromBytes(bytes: Uint8Array): IpAddress {
  if (bytes.length === 4) return { af: 4, bytes, text: formatIpv4(bytes) };
  if (bytes.length === 16) return { af: 6, bytes, text: formatIpv6(bytes) };
  throw new RangeError(`an IP address has 4 or 16 bytes, not ${bytes.length}`);
}

/** An IPv4 address from its host-order 32-bit value. */
export function ipv4FromNumber(value: number): IpAddress {
  const v = value >>> 0;
  return ipFromBytes(Uint8Array.of(v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255));
}

/** The host-order 32-bit value of an IPv4 address (or of one 32-bit word of an IPv6 address). */
export function ipWord(addr: IpAddress, word = 0): number {
  const b = addr.bytes;
  const i = word * 4;
  return ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
}

export function formatIpv4(bytes: Uint8Array): string {
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

export function formatIpv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);

  // The longest run of zero groups; a later run must be strictly longer to win.
  let bestStart = -1;
  let bestLen = 0;
  let runStart = -1;
  for (let i = 0; i <= 8; i++) {
    if (i < 8 && groups[i] === 0) {
      if (runStart < 0) runStart = i;
    } else if (runStart >= 0) {
      const len = i - runStart;
      if (len > bestLen) {
        bestStart = runStart;
        bestLen = len;
      }
      runStart = -1;
    }
  }
  if (bestLen < 2) bestStart = -1;

  const dottedTail = bestStart === 0 && (bestLen === 6 || (bestLen === 5 && groups[5] === 0xffff));
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestStart >= 0 && i >= bestStart && i < bestStart + bestLen) {
      if (i === bestStart) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && dottedTail) {
      out += formatIpv4(bytes.subarray(12, 16));
      return out;
    }
    out += groups[i].toString(16);
  }
  if (bestStart >= 0 && bestStart + bestLen === 8) out += ':';
  return out;
}

/** Strict dotted quad: four decimal numbers 0..255 without leading zeros (as inet_pton). */
export function parseIpv4(text: string): IpAddress | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i];
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    bytes[i] = n;
  }
  return ipFromBytes(bytes);
}

/** IPv6 text in any RFC 4291 form: full, "::"-compressed, with a dotted IPv4 tail. No zone ids. */
export function parseIpv6(text: string): IpAddress | null {
  if (text.length === 0 || text.length > 45) return null;
  const doubleColon = text.indexOf('::');
  if (doubleColon >= 0 && text.indexOf('::', doubleColon + 1) >= 0) return null;

  const head = doubleColon >= 0 ? text.slice(0, doubleColon) : text;
  const tail = doubleColon >= 0 ? text.slice(doubleColon + 2) : '';
  const headGroups = parseGroups(head, doubleColon < 0);
  const tailGroups = parseGroups(tail, true);
  if (headGroups === null || tailGroups === null) return null;

  const total = headGroups.length + tailGroups.length;
  if (doubleColon >= 0 ? total > 7 : total !== 8) return null;
  const groups = [...headGroups, ...new Array<number>(8 - total).fill(0), ...tailGroups];
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >>> 8;
    bytes[2 * i + 1] = g & 255;
  });
  return ipFromBytes(bytes);
}

/** Colon-separated hex groups; the last may be a dotted IPv4 address (worth two groups). */
function parseGroups(text: string, dottedTailAllowed: boolean): number[] | null {
  if (text === '') return [];
  const parts = text.split(':');
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (i === parts.length - 1 && dottedTailAllowed && p.includes('.')) {
      const v4 = parseIpv4(p);
      if (v4 === null) return null;
      groups.push((v4.bytes[0] << 8) | v4.bytes[1], (v4.bytes[2] << 8) | v4.bytes[3]);
    } else {
      if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return null;
      groups.push(parseInt(p, 16));
    }
  }
  return groups;
}

/** IPv4 or IPv6 text, or null. */
export function tryParseIp(text: string): IpAddress | null {
  return text.includes(':') ? parseIpv6(text) : parseIpv4(text);
}

/** True for text that reads as a DNS host name (so the error can say names are not resolved). */
export function looksLikeHostName(text: string): boolean {
  if (text.length === 0 || text.length > 253 || !/[A-Za-z]/.test(text)) return false;
  const label = '[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?';
  return new RegExp(`^${label}(\\.${label})*\\.?$`).test(text);
}

/** IPv4 or IPv6 text; throws an Error whose message says what is wrong. */
export function parseIp(text: string): IpAddress {
  const addr = tryParseIp(text);
  if (addr !== null) return addr;
  throw new Error(describeBadAddress(text));
}

export function describeBadAddress(text: string): string {
  if (looksLikeHostName(text)) return `${text}: ${HOST_NAMES_NOT_RESOLVED}`;
  return `"${text}" is not an IPv4 or IPv6 address`;
}

/**
 * The legacy IPv4 syntax of inet_aton, which ipvsadm uses for -t/-u/-r hosts and -M masks:
 * 1 to 4 parts separated by dots, each decimal, 0x-hex or 0-octal; the last part fills the
 * remaining bytes (so "10.1" is 10.0.0.1 and "4294967295" is 255.255.255.255). Anything after
 * the number must be nothing or begin with white space. Returns the host-order value or null.
 */
export function parseInetAton(text: string): number | null {
  const parts: number[] = [];
  let i = 0;
  for (;;) {
    if (!isDigit(text[i])) return null;
    let base = 10;
    let start = i;
    if (text[i] === '0' && (text[i + 1] === 'x' || text[i + 1] === 'X') && isHexDigit(text[i + 2])) {
      base = 16;
      start = i + 2;
    } else if (text[i] === '0') {
      base = 8;
    }
    let j = start;
    let value = 0;
    while (j < text.length && digitValue(text[j]) < base) {
      value = value * base + digitValue(text[j]);
      j++;
    }
    if (value > 0xffffffff) return null;
    i = j;
    if (text[i] === '.') {
      if (parts.length >= 3 || value > 0xff) return null;
      parts.push(value);
      i++;
      continue;
    }
    if (i < text.length && !/^[ \t\n\v\f\r]/.test(text.slice(i))) return null;
    const maxLast = [0xffffffff, 0xffffff, 0xffff, 0xff][parts.length];
    if (value > maxLast) return null;
    let result = value;
    parts.forEach((p, k) => {
      result += p * 2 ** (24 - 8 * k);
    });
    return result >>> 0;
  }
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

function isHexDigit(c: string | undefined): boolean {
  return c !== undefined && /^[0-9a-fA-F]$/.test(c);
}

function digitValue(c: string): number {
  const v = parseInt(c, 16);
  return Number.isNaN(v) ? 99 : v;
}

export function ipEquals(a: IpAddress, b: IpAddress): boolean {
  if (a.af !== b.af) return false;
  for (let i = 0; i < a.bytes.length; i++) if (a.bytes[i] !== b.bytes[i]) return false;
  return true;
}

export function maxPrefixLen(af: AddressFamily): number {
  return af === 4 ? 32 : 128;
}

/** The address with every bit after the first `prefixLen` cleared. */
export function networkOf(addr: IpAddress, prefixLen: number): IpAddress {
  const bytes = new Uint8Array(addr.bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, prefixLen - 8 * i));
    bytes[i] = addr.bytes[i] & ((0xff << (8 - keep)) & 0xff);
  }
  return ipFromBytes(bytes);
}

/** True when the address has a bit set after its first `prefixLen` bits. */
export function hasHostBits(addr: IpAddress, prefixLen: number): boolean {
  return !ipEquals(addr, networkOf(addr, prefixLen));
}

export interface Prefix {
  addr: IpAddress;
  prefixLen: number;
}

/**
 * "ADDR/PLEN" (a bare address means a host prefix). The address keeps its host bits: callers
 * that need a network check them with hasHostBits. Throws an Error saying what is wrong.
 */
export function parsePrefix(text: string): Prefix {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const addr = parseIp(addrText);
  if (slash < 0) return { addr, prefixLen: maxPrefixLen(addr.af) };
  const lenText = text.slice(slash + 1);
  const max = maxPrefixLen(addr.af);
  if (!/^(0|[1-9][0-9]*)$/.test(lenText) || Number(lenText) > max) {
    throw new Error(`bad prefix length "${lenText}" in ${text} (IPv${addr.af}: 0..${max})`);
  }
  return { addr, prefixLen: Number(lenText) };
}

/** "aa:bb:cc:dd:ee:ff" (hex, either case) as 6 bytes, or null. */
export function parseMac(text: string): Uint8Array | null {
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(text)) return null;
  return Uint8Array.from(text.split(':').map((h) => parseInt(h, 16)));
}

export function formatMac(mac: Uint8Array): string {
  return Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** Bit 0 of the first octet: group (multicast or broadcast) address. */
export function isMulticastMac(mac: Uint8Array): boolean {
  return (mac[0] & 1) === 1;
}
