/**
 * A child process for the native I/O tests: opens a port the way it is told and prints one JSON
 * line, so tests can check what an unprivileged user is told, and that a closed port lets the
 * process exit by itself.
 *
 *   node io-child.js packet-open IFNAME            -> {"ok":true} or {"message":..., "code":...}
 *   node io-child.js tun-open NAME
 *   node io-child.js packet-close NETNS IFNAME     opens, polls, closes twice, prints, then must exit
 *   node io-child.js tun-close NETNS NAME
 */
import { isNativeError } from '../../src/io/native-addon';
import { PacketPort } from '../../src/io/packet-port';
import { TunPort } from '../../src/io/tun-port';

function report(value: object): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

function tryOpen(open: () => { close(): void }): void {
  try {
    open().close();
    report({ ok: true });
  } catch (e) {
    if (isNativeError(e)) report({ message: e.message, code: e.code });
    else report({ message: e instanceof Error ? e.message : String(e), code: null });
  }
}

const [mode, a, b] = process.argv.slice(2);
switch (mode) {
  case 'packet-open':
    tryOpen(() => PacketPort.open(a));
    break;
  case 'tun-open':
    tryOpen(() => TunPort.open(a));
    break;
  case 'packet-close':
  case 'tun-close': {
    const port = mode === 'packet-close' ? PacketPort.open(b, { netns: a }) : TunPort.open(b, { netns: a, up: true });
    let wakeups = 0;
    port.start(() => {
      wakeups++;
      while (port.receive() !== null) port.release();
    });
    setTimeout(() => {
      port.close();
      port.close();
      // After close the ring (or read buffer for TUN) must not be reachable as live memory.
      report({ closed: true, wakeups, rxMemoryLength: port.rxMemory === null ? -1 : port.rxMemory.length });
      // No timers or handles remain: the process must now exit on its own.
    }, 100);
    break;
  }
  default:
    report({ message: `unknown mode ${String(mode)}`, code: null });
    process.exitCode = 2;
}
