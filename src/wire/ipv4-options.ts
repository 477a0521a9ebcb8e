/**
 * IPv4 options (RFC 791) as the Linux receive path judges them before IPVS sees a packet
 * (ip_rcv_options -> ip_options_compile, then the source-route check): a packet whose options
 * the kernel refuses is dropped there, so uvs drops it too (DropReason.BadIpOptions) instead of
 * forwarding a header the next hop would find malformed. Only the checks are kept; the kernel's
 * in-place updates (record route, timestamps) are not made, as IPVS forwards the options as they
 * arrived.
 */

const enum Opt {
  End = 0,
  Nop = 1,
  RecordRoute = 7,
  Timestamp = 68,
  LooseSourceRoute = 131,
  Cipso = 134,
  StrictSourceRoute = 137,
  RouterAlert = 148,
  /** Timestamp flags (low nibble of the fourth byte). */
  TsAndAddr = 1,
  TsPrespec = 3,
}

/**
 * True when the `len` option bytes at buf[off] pass the kernel's checks: every option but EOL
 * and NOP has a length of at least 2 that fits the header; record route and timestamp at most
 * once each, with their minimum lengths and a pointer that is in range (a full one is fine);
 * router alert at least 4 bytes. Refused outright: source routing (LSRR, SSRR; the kernel drops
 * it unless accept_source_route is set, which is off by default) and CIPSO (refused without a
 * configured CIPSO DOI). Anything after EOL is padding.
 */
export function ipv4OptionsOk(buf: Uint8Array, off: number, len: number): boolean {
  const end = off + len;
  let p = off;
  let seenRecordRoute = false;
  let seenTimestamp = false;
  while (p < end) {
    const type = buf[p];
    if (type === Opt.End) return true;
    if (type === Opt.Nop) {
      p++;
      continue;
    }
    if (end - p < 2) return false;
    const optLen = buf[p + 1];
    if (optLen < 2 || optLen > end - p) return false;
    switch (type) {
      case Opt.LooseSourceRoute:
      case Opt.StrictSourceRoute:
      case Opt.Cipso:
        return false;
      case Opt.RecordRoute: {
        const ptr = optLen >= 3 ? buf[p + 2] : 0;
        if (seenRecordRoute || optLen < 3 || ptr < 4 || (ptr <= optLen && ptr + 3 > optLen)) return false;
        seenRecordRoute = true;
        break;
      }
      case Opt.Timestamp: {
        if (seenTimestamp || optLen < 4) return false;
        const ptr = buf[p + 2];
        const flags = buf[p + 3] & 0x0f;
        if (ptr < 5) return false;
        if (ptr <= optLen) {
          if (ptr + 3 > optLen) return false;
          if ((flags === Opt.TsAndAddr || flags === Opt.TsPrespec) && ptr + 7 > optLen) return false;
        } else if (flags !== Opt.TsPrespec && buf[p + 3] >>> 4 === 15) {
          // A full timestamp option whose overflow counter is itself full.
          return false;
        }
        seenTimestamp = true;
        break;
      }
      case Opt.RouterAlert:
        if (optLen < 4) return false;
        break;
      default:
        break;
    }
    p += optLen;
  }
  return true;
}
