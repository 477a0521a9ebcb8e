/**
 * ECN on encapsulation (RFC 6040 "normal mode", what the kernel's INET_ECN_encapsulate does):
 * the outer header copies the inner DSCP and ECN, except that Congestion Experienced (0b11) is
 * not copied outward but becomes ECT(0) (0b10), so a router that decapsulates can not mistake
 * it for congestion on the outer path.
 */
const ECN_MASK = 0x03;
const ECN_CE = 0x03;
const ECN_ECT0 = 0x02;

/** The outer TOS / traffic class for an inner one. */
export function ecnEncapsulate(innerTos: number): number {
  return (innerTos & ECN_MASK) === ECN_CE ? (innerTos & ~ECN_MASK & 0xff) | ECN_ECT0 : innerTos & 0xff;
}
