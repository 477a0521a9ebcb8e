/**
 * What the parser learned about one frame: offsets into the caller's buffer and a few header
 * values. One instance is allocated per engine and re-filled for every frame, so the hot path
 * allocates nothing. All offsets are absolute indexes into the buffer handed to parseFrame.
 */
export class ParsedFrame {
  /** Offset of the Ethernet header and number of captured bytes of the frame. */
  l2Off = 0;
  frameLen = 0;
  /** Number of 802.1Q / 802.1ad tags skipped, and the EtherType after them. */
  vlanCount = 0;
  etherType = 0;
  /** Start of the network header (after Ethernet and any VLAN tags). */
  l3Off = 0;
  /** 4 or 6 for IP frames, 0 for anything else (ARP, unknown EtherType). */
  af = 0;
  /** IPv4: IHL*4. IPv6: 40 plus every extension header skipped before the transport header. */
  ipHeaderLen = 0;
  /** IPv4 total length; IPv6 40 + payload length. Bytes past it (Ethernet padding) are not part of the packet. */
  ipTotalLen = 0;
  /** Transport protocol number (IPv6: after extension headers). */
  proto = 0;
  /** IPv4 TTL or IPv6 hop limit. */
  ttl = 0;
  /** IPv4 DF bit (always false for IPv6). */
  df = false;
  /** 0 = not a fragment, 1 = first fragment (offset 0, more fragments), 2 = a later fragment. */
  fragment = 0;
  /** Offsets of the source and destination addresses (4 bytes for IPv4, 16 for IPv6). */
  srcOff = 0;
  dstOff = 0;
  /** Transport header offset and length of transport header + payload (ipTotalLen - ipHeaderLen). */
  l4Off = 0;
  l4Len = 0;
  /** TCP/UDP/SCTP ports in host order (0 when the protocol has none or for later fragments). */
  sport = 0;
  dport = 0;
  /** TCP: flags byte (FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 URG 0x20 ECE 0x40 CWR 0x80) and data offset in bytes. */
  tcpFlags = 0;
  tcpHeaderLen = 0;
  /** SCTP: type of the first chunk (-1 when there is none). */
  sctpChunk = -1;
  /** ICMP / ICMPv6 type and code (-1 when not ICMP). */
  icmpType = -1;
  icmpCode = -1;
  /** ARP operation (1 request, 2 reply), 0 when not ARP. */
  arpOp = 0;
}

export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;
export const ETH_P_IPV6 = 0x86dd;
export const ETH_P_8021Q = 0x8100;
export const ETH_P_8021AD = 0x88a8;

export const IPPROTO_ICMP = 1;
export const IPPROTO_IPIP = 4;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_IPV6 = 41;
export const IPPROTO_GRE = 47;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_SCTP = 132;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

/**
 * Why a frame was not forwarded. Every frame the engine does not transmit is counted under
 * exactly one of these; names (DROP_REASON_NAMES) are what summaries and metrics print.
 */
export enum DropReason {
  None = 0,
  /** Shorter than an Ethernet header, or a VLAN tag. */
  TruncatedEthernet,
  /** EtherType the engine does not handle (after VLAN tags). */
  UnknownEtherType,
  /** ARP: the host's kernel answers it, never the balancer. */
  Arp,
  TruncatedIp,
  BadIpVersion,
  BadIpHeaderLength,
  BadIpTotalLength,
  BadIpChecksum,
  /** IPv6 extension header chain that runs past the packet or is not understood. */
  BadIpv6ExtensionHeader,
  /**
   * A later IP fragment (offset > 0): what the parser reports for one, with its IP fields filled.
   * The engine then lets it follow its first fragment's connection; as a drop reason it counts
   * later fragments of what the engine does not balance (ICMP, other protocols).
   */
  Fragment,
  TruncatedTransport,
  BadTransportHeader,
  /** Transport protocol is not TCP, UDP or SCTP (for example ICMP): not balanced. */
  NotBalancedProtocol,
  /** No virtual service for (protocol, destination address, port). */
  NoService,
  /** A TCP packet without SYN (or with RST), or an SCTP packet not starting with INIT, that matches no connection. */
  NotConnectionStart,
  /** FTP data source port 20 never creates a connection. */
  FtpDataSourcePort,
  /** The service exists but the scheduler found no usable real server. */
  NoDestination,
  /** The connection's real server was deleted (expire_nodest_conn = 0 drops). */
  DestinationGone,
  /** TTL (hop limit) would reach zero. */
  TtlExceeded,
  /** The rewritten packet would exceed the egress link MTU and may not be fragmented. */
  TooBig,
  /** No route, or no neighbour (MAC) for the next hop. */
  NoRoute,
  /** A reply from a real server that matches no connection (NAT / FULLNAT). */
  UnknownReply,
  /** FULLNAT: every local address and port of the service is in use. */
  LocalPortsExhausted,
  /** The connection table is full. */
  ConnectionTableFull,
  /** The output batch had no room (the caller must flush more often). */
  OutputFull,
  /** IPv4 options the kernel refuses (malformed, source routing, CIPSO): see ipv4-options.ts. */
  BadIpOptions,
  /** An ICMP error whose quoted packet belongs to no connection (or that arrived fragmented): not relayed. */
  IcmpNoConnection,
  /** An ICMP error for a connection whose ICMP checksum is wrong: not relayed. */
  BadIcmpChecksum,
  /** A later fragment whose first fragment was not forwarded (never seen, dropped, or longer ago than the fragment timeout). */
  FragmentWithoutFirst,
  /** A first fragment that found no room in the fragment-tracking table. */
  FragmentTableFull,
}

export const DROP_REASON_NAMES: readonly string[] = [
  'none',
  'truncated-ethernet',
  'unknown-ethertype',
  'arp',
  'truncated-ip',
  'bad-ip-version',
  'bad-ip-header-length',
  'bad-ip-total-length',
  'bad-ip-checksum',
  'bad-ipv6-extension-header',
  'fragment',
  'truncated-transport',
  'bad-transport-header',
  'not-balanced-protocol',
  'no-service',
  'not-connection-start',
  'ftp-data-source-port',
  'no-destination',
  'destination-gone',
  'ttl-exceeded',
  'too-big',
  'no-route',
  'unknown-reply',
  'local-ports-exhausted',
  'connection-table-full',
  'output-full',
  'bad-ip-options',
  'icmp-no-connection',
  'bad-icmp-checksum',
  'fragment-without-first',
  'fragment-table-full',
];
