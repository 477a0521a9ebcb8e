/**
 * What the bench checks after each run, outside the timing: the packet count, the output frames
 * (pcap-check.ts) and, for uvs, that its summary agrees: packets in = the capture, packets out =
 * in - drops = the frames in the output file, no drops at all on this capture, and rr's even split.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from './bench-setup';
import type { Program } from './bench-programs';
import { CaptureCheck, checkCapture } from './pcap-check';
import { UvsSummary, readUvsSummary } from './uvs-summary';

export interface RunVerdict {
  /** Packets written (or counted, for pcap-parser). */
  packets: number | null;
  check: CaptureCheck | null;
  summary: UvsSummary | null;
  /** Empty when all is well. */
  warnings: string[];
}

/** Checks one finished run's output (never inside the timing). */
export function verifyRun(p: Program, inputPackets: number, stdout: string): RunVerdict {
  const result: RunVerdict = { packets: null, check: null, summary: null, warnings: [] };
  const warnings = result.warnings;
  if (p.name === 'pcap-parser') {
    try {
      result.packets = (JSON.parse(stdout) as { packets: number }).packets;
    } catch {
      result.packets = null;
    }
    if (result.packets !== inputPackets) warnings.push(`counted ${result.packets ?? 'nothing'} packets, expected ${inputPackets}`);
    return result;
  }
  if (!p.output || !p.expect) return result;
  if (!fs.existsSync(p.output)) {
    warnings.push(`no output file ${path.relative(REPO_ROOT, p.output)}`);
    return result;
  }
  const check = checkCapture(p.output, p.expect);
  result.check = check;
  result.packets = check.packets;
  warnings.push(...check.problems);
  if (p.name === 'tcprewrite' || p.name === 'bare-loop') {
    if (check.packets !== inputPackets) warnings.push(`wrote ${check.packets} packets, expected ${inputPackets}`);
    return result;
  }
  // uvs: the summary must agree with the input, the output and "no drops".
  if (!p.summary) return result;
  const summary = readUvsSummary(p.summary);
  if (typeof summary === 'string') {
    warnings.push(summary);
    return result;
  }
  result.summary = summary;
  if (summary.packetsIn !== inputPackets) warnings.push(`summary packetsIn ${summary.packetsIn}, input has ${inputPackets}`);
  if (summary.packetsOut !== summary.packetsIn - summary.drops) {
    warnings.push(`summary packetsOut ${summary.packetsOut} != packetsIn ${summary.packetsIn} - drops ${summary.drops}`);
  }
  if (summary.drops !== 0) {
    const reasons = Object.entries(summary.dropReasons)
      .filter(([, n]) => n > 0)
      .map(([r, n]) => `${r} ${n}`)
      .join(', ');
    warnings.push(`${summary.drops} drops on a capture that should have none${reasons ? ` (${reasons})` : ''}`);
  }
  if (summary.packetsOut !== check.packets) warnings.push(`summary packetsOut ${summary.packetsOut}, output file has ${check.packets}`);
  const flows = check.flowsPer;
  if (flows.length > 0 && Math.max(...flows) - Math.min(...flows) > 1) {
    warnings.push(`rr over equal weights should split flows evenly; flows per RS: ${flows.join(' / ')}`);
  }
  return result;
}
