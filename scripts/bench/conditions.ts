/** The conditions a bench ran under, printed with and stored beside its figures. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';

export interface Conditions {
  date: string;
  node: string;
  cpu: string;
  cores: number;
  kernel: string;
  loadAverage1m: number;
  tcprewrite: string;
  runsPerProgram: number;
}

function cpuModel(): string {
  try {
    const line = fs
      .readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) return line.slice(line.indexOf(':') + 1).trim();
  } catch {
    // fall through to os.cpus()
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

/** tcprewrite's version line, or null when it is not installed. */
export function tcprewriteVersion(): string | null {
  const probe = spawnSync('tcprewrite', ['--version'], { encoding: 'utf8' });
  if (probe.error) return null;
  const text = `${probe.stdout}${probe.stderr}`;
  const line = text.split('\n').find((l) => l.includes('version'));
  return (line ?? text.split('\n')[0] ?? '').trim();
}

export function collectConditions(tcprewrite: string | null, runsPerProgram: number): Conditions {
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpuModel(),
    cores: os.cpus().length,
    kernel: `${os.type()} ${os.release()}`,
    loadAverage1m: os.loadavg()[0],
    tcprewrite: tcprewrite ?? 'not installed',
    runsPerProgram,
  };
}

export function describeConditions(c: Conditions): string {
  return (
    `conditions: ${c.date}, node ${c.node}, ${c.cpu}, ${c.cores} cores, ${c.kernel}, ` +
    `load ${c.loadAverage1m.toFixed(2)}, ${c.tcprewrite}`
  );
}
