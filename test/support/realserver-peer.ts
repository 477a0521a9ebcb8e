/**
 * The director's side of test/realserver-decap.test.ts, run inside the director namespace. It
 * sends IP-in-IPv4 packets with a RawPort (the kernel routes them and resolves the real server's
 * MAC) and watches what comes back. One JSON argument:
 *   {mode:'probe', outerSrc, rip}
 *       one IPIP packet; prints {protoUnreach} = ICMP protocol-unreachable messages about
 *       protocol 4 received from rip within 1.5 s
 *   {mode:'traffic', outerSrc, rip, client, vip, udpPort, tcpPort, bigInner}
 *       5 UDP datagrams from client:40000 to vip:udpPort and one TCP SYN from client:40001 to
 *       vip:tcpPort, each in IPIP; then 2 truncated IPIP packets, 1 whose inner packet is not IP and
 *       1 whose inner UDP packet is bigInner bytes long. Prints {replies:[text], synAck, protoUnreach,
 *       sent} once 5 replies and the SYN-ACK are in, or after 5 s.
 *   {mode:'traffic6', outerSrc, rip, client6, vip6, udpPort}
 *       3 IPv6 UDP datagrams from [client6]:40010 to [vip6]:udpPort, each in protocol 41 (as IPVS
 *       tunnels IPv6 to an IPv4 real server); prints {replies:[text], ...} once 3 replies are in, or after 5 s.
 */
import dgram from 'node:dgram';
import { createSocket } from 'raw-socket';
import { RawPort } from '../../src/io/raw-port';
import { setIpv4HeaderChecksum } from '../../src/wire/checksum';
import { frame } from './frames';

interface Plan {
  mode: 'probe' | 'traffic' | 'traffic6';
  client6?: string;
  vip6?: string;
  outerSrc: string;
  rip: string;
  client?: string;
  vip?: string;
  udpPort?: number;
  tcpPort?: number;
  bigInner?: number;
}

const plan = JSON.parse(process.argv[2] ?? '{}') as Plan;

function ipBytes(a: string): number[] {
  return a.split('.').map(Number);
}

/** An Ethernet frame (MACs left zero: a raw port ignores them) carrying IPv4 protocol `proto` around `inner`. */
function encap(inner: Uint8Array, proto = 4): Uint8Array {
  const f = new Uint8Array(14 + 20 + inner.length);
  f[12] = 0x08;
  const o = 14;
  f[o] = 0x45;
  const total = 20 + inner.length;
  f[o + 2] = total >> 8;
  f[o + 3] = total & 0xff;
  f[o + 6] = 0x40; // DF, ID 0: what IPVS sends with pmtu_disc on
  f[o + 8] = 64;
  f[o + 9] = proto;
  f.set(ipBytes(plan.outerSrc), o + 12);
  f.set(ipBytes(plan.rip), o + 16);
  setIpv4HeaderChecksum(f, o);
  f.set(inner, o + 20);
  return f;
}

/** The IP packet of a test frame (its Ethernet header cut off). */
function ipOf(f: Uint8Array): Uint8Array {
  return f.subarray(14);
}

function print(o: unknown): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

// ICMP "protocol unreachable" (type 3 code 2) from the real server about an IPIP packet.
let protoUnreach = 0;
const icmp = createSocket({ protocol: 1 });
icmp.on('message', (buf: Buffer, source: string) => {
  const ihl = (buf[0] & 15) * 4;
  if (source === plan.rip && buf[ihl] === 3 && buf[ihl + 1] === 2 && buf[ihl + 8 + 9] === 4) protoUnreach++;
});

const port = new RawPort('peer', { ipv6: false });
function send(f: Uint8Array): void {
  if (!port.queue(f, 0, f.length)) throw new Error('raw port queue full');
}

function finish(extra: Record<string, unknown>): void {
  print({ ...extra, protoUnreach, sent: port.stats().txFrames, sendError: port.lastSendError });
  port.close();
  icmp.close();
  process.exit(0);
}

if (plan.mode === 'probe') {
  send(encap(ipOf(frame({ src: '10.77.200.99', dst: '10.77.100.1', sport: 1, dport: 9, proto: 'udp', payload: 8 }))));
  port.flush();
  setTimeout(() => finish({}), 1500);
} else if (plan.mode === 'traffic6') {
  const replies: string[] = [];
  const udp = dgram.createSocket('udp6');
  udp.on('message', (msg) => replies.push(msg.toString()));
  udp.bind(40010, plan.client6, () => {
    for (let i = 0; i < 3; i++) {
      const inner = ipOf(frame({ src: plan.client6 ?? '', dst: plan.vip6 ?? '', sport: 40010, dport: plan.udpPort ?? 0, proto: 'udp', payload: 10 + i }));
      send(encap(inner, 41));
    }
    port.flush();
  });
  const deadline = Date.now() + 5000;
  const timer = setInterval(() => {
    if (replies.length >= 3 || Date.now() > deadline) {
      clearInterval(timer);
      udp.close();
      finish({ replies: replies.sort() });
    }
  }, 50);
} else {
  const client = plan.client ?? '';
  const vip = plan.vip ?? '';
  const replies: string[] = [];
  let synAck = false;
  const udp = dgram.createSocket('udp4');
  udp.on('message', (msg) => replies.push(msg.toString()));
  const tcp = createSocket({ protocol: 6 });
  tcp.on('message', (buf: Buffer, source: string) => {
    const ihl = (buf[0] & 15) * 4;
    const sport = buf.readUInt16BE(ihl);
    const dport = buf.readUInt16BE(ihl + 2);
    if (source === vip && sport === plan.tcpPort && dport === 40001 && (buf[ihl + 13] & 0x12) === 0x12) synAck = true;
  });
  udp.bind(40000, client, () => {
    for (let i = 0; i < 5; i++) {
      const inner = frame({ src: client, dst: vip, sport: 40000, dport: plan.udpPort ?? 0, proto: 'udp', payload: 0 });
      const payload = Buffer.from(`hello-${i}`);
      // Rebuild with a text payload: frame() fills payloads with a pattern, so make the UDP part here.
      const ip = new Uint8Array(20 + 8 + payload.length);
      ip.set(ipOf(inner).subarray(0, 28));
      ip[2] = ip.length >> 8;
      ip[3] = ip.length & 0xff;
      ip[24] = (8 + payload.length) >> 8;
      ip[25] = (8 + payload.length) & 0xff;
      ip[26] = 0; // UDP checksum 0: none (allowed over IPv4)
      ip[27] = 0;
      ip.set(payload, 28);
      setIpv4HeaderChecksum(ip, 0);
      send(encap(ip));
    }
    send(encap(ipOf(frame({ src: client, dst: vip, sport: 40001, dport: plan.tcpPort ?? 0, proto: 'tcp', flags: 0x02 }))));
    // Truncated: an outer packet whose inner IPv4 header is cut short, and one whose inner length lies.
    send(encap(Uint8Array.of(0x45, 0, 0, 60, 0, 0, 0, 0, 64, 17)));
    const lying = ipOf(frame({ src: client, dst: vip, sport: 40002, dport: 9, proto: 'udp', payload: 10 })).slice();
    lying[3] = lying[3] + 40;
    send(encap(lying));
    // Inner not IP: version 5.
    send(encap(Uint8Array.from({ length: 40 }, (_, i) => (i === 0 ? 0x55 : i))));
    // Inner bigger than the helper's --max-inner.
    send(encap(ipOf(frame({ src: client, dst: vip, sport: 40003, dport: 9, proto: 'udp', payload: (plan.bigInner ?? 1200) - 28 }))));
    port.flush();
  });
  const deadline = Date.now() + 5000;
  const timer = setInterval(() => {
    if ((replies.length >= 5 && synAck) || Date.now() > deadline) {
      clearInterval(timer);
      // A little longer for ICMP errors that would follow the junk packets.
      setTimeout(() => {
        udp.close();
        tcp.close();
        finish({ replies: replies.sort(), synAck });
      }, 500);
    }
  }, 50);
}
