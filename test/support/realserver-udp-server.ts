/**
 * A UDP server for namespace tests. One JSON argument: {bind, ports:[n], reply?, tcpPorts?:[n]}.
 * Prints {ready} once every socket is bound, then {port, from, fromPort, payload(hex)} per
 * datagram; with reply, answers each datagram with "reply:" + its payload. tcpPorts: also listen
 * on those TCP ports (accepting and closing), so SYNs get SYN-ACKs. Exits on SIGTERM.
 */
import dgram from 'node:dgram';
import net from 'node:net';

interface Plan {
  bind: string;
  ports: number[];
  reply?: boolean;
  tcpPorts?: number[];
}

function print(o: unknown): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

const plan = JSON.parse(process.argv[2] ?? '{}') as Plan;
const family = plan.bind.includes(':') ? 'udp6' : 'udp4';
const closers: (() => void)[] = [];
let pending = plan.ports.length + (plan.tcpPorts ?? []).length;
const bound = (): void => {
  if (--pending === 0) print({ ready: true });
};

for (const port of plan.ports) {
  const s = dgram.createSocket(family);
  s.on('message', (msg, rinfo) => {
    print({ port, from: rinfo.address, fromPort: rinfo.port, payload: msg.toString('hex') });
    if (plan.reply === true) s.send(Buffer.concat([Buffer.from('reply:'), msg]), rinfo.port, rinfo.address);
  });
  s.on('error', (e) => print({ error: e.message }));
  s.bind(port, plan.bind, bound);
  closers.push(() => s.close());
}
for (const port of plan.tcpPorts ?? []) {
  const server = net.createServer((c) => c.destroy());
  server.listen(port, plan.bind, bound);
  closers.push(() => server.close());
}

process.on('SIGTERM', () => {
  for (const c of closers) c();
  setTimeout(() => process.exit(0), 200).unref();
});
