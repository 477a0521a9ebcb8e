/**
 * Where an IP fragment sits in its datagram: the identification shared by all fragments of one
 * datagram, the byte offset of its data, the length of that data and whether more follow. The
 * IPv4 header has these fields itself; IPv6 keeps them in the Fragment extension header
 * (RFC 8200 4.5), found here by walking the extension headers before it.
 */
import { IPV4_FLAG_MF, IPV4_FRAG_OFF, IPV4_ID, IPV4_OFFSET_MASK } from './ipv4';
import {
  IPV6_FRAG_HLEN, IPV6_FRAG_MF, IPV6_FRAG_OFFSET_MASK, IPV6_FRAG_OFFSET_WORD, IPV6_HLEN, IPV6_NEXT_HEADER,
  IPV6_NH_DSTOPTS, IPV6_NH_FRAGMENT, IPV6_NH_HOPOPTS, IPV6_NH_ROUTING,
} from './ipv6';
import type { ParsedFrame } from './parsed-frame';

/** Re-filled per fragment (one instance per engine). */
export class FragmentInfo {
  /** IPv4: the 16-bit identification; IPv6: the 32-bit one, as a signed 32-bit integer. */
  id = 0;
  /** Offset of this fragment's data in the datagram's fragmentable part, in bytes. */
  offset = 0;
  /** Bytes of that data this fragment carries. */
  dataLen = 0;
  /** More fragments follow (false for the last one). */
  more = false;
}

/**
 * Fills info for the fragment pf describes (pf.fragment 1 or 2) in buf. False when pf is no
 * fragment, or (IPv6) when no Fragment header is found before the upper layer.
 */
export function readFragmentInfo(buf: Uint8Array, pf: ParsedFrame, info: FragmentInfo): boolean {
  if (pf.fragment === 0) return false;
  const l3 = pf.l3Off;
  const end = l3 + pf.ipTotalLen;
  if (pf.af === 4) {
    const word = (buf[l3 + IPV4_FRAG_OFF] << 8) | buf[l3 + IPV4_FRAG_OFF + 1];
    info.id = (buf[l3 + IPV4_ID] << 8) | buf[l3 + IPV4_ID + 1];
    info.offset = (word & IPV4_OFFSET_MASK) << 3;
    info.more = (word & IPV4_FLAG_MF) !== 0;
    info.dataLen = pf.ipTotalLen - pf.ipHeaderLen;
    return true;
  }
  if (pf.af !== 6) return false;
  let nh = buf[l3 + IPV6_NEXT_HEADER];
  let p = l3 + IPV6_HLEN;
  // The parser accepted this chain, so it lies within the packet; each step moves on by 8 bytes at least.
  while (nh === IPV6_NH_HOPOPTS || nh === IPV6_NH_ROUTING || nh === IPV6_NH_DSTOPTS) {
    if (p + 2 > end) return false;
    nh = buf[p];
    p += (buf[p + 1] + 1) << 3;
  }
  if (nh !== IPV6_NH_FRAGMENT || p + IPV6_FRAG_HLEN > end) return false;
  const word = (buf[p + IPV6_FRAG_OFFSET_WORD] << 8) | buf[p + IPV6_FRAG_OFFSET_WORD + 1];
  info.id = (buf[p + 4] << 24) | (buf[p + 5] << 16) | (buf[p + 6] << 8) | buf[p + 7];
  info.offset = word & IPV6_FRAG_OFFSET_MASK;
  info.more = (word & IPV6_FRAG_MF) !== 0;
  info.dataLen = end - (p + IPV6_FRAG_HLEN);
  return true;
}
