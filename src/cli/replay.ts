/**
 * `uvs replay IN -o OUT --rules RULES --director DIRECTOR [--summary-json FILE]`: runs every frame
 * of a capture through the engine on the capture's own clock and writes what the director
 * transmits. The output goes to a temporary file renamed into place at the end, so an
 * interrupted replay never leaves a partial OUT behind.
 */
import * as fs from 'node:fs';
import { loadDirectorFile, requireLinkMacs } from '../control/director-file';
import { loadRulesFile } from '../control/rules-file';
import { schedulerNames } from '../sched/registry';
import { engineLimits } from '../ipvs/engine-limits';
import { buildEngine, type BuiltEngine } from '../ipvs/engine-builder';
import { OutputBatch } from '../ipvs/frame-batch';
import { summarize, type EngineSummary } from '../ipvs/summary';
import { CaptureReader } from '../pcap/capture-reader';
import type { CaptureWriter } from '../pcap/capture-writer';
import { PCAP_RECORD_HEADER_LENGTH } from '../pcap/capture-format';
import { PcapWriter } from '../pcap/pcap-writer';
import { PcapngWriter } from '../pcap/pcapng-writer';

const LINKTYPE_ETHERNET = 1;

export interface ReplayOptions {
  input: string;
  output: string;
  rules: string;
  director: string;
  /** Entries each connection table may hold (default: the engine's, 4,194,304). */
  maxConnections?: number;
  /** Progress callback, called every few thousand frames with (frames, bytes read, file size). */
  progress?: (frames: number, bytes: number, total: number) => void;
}

export interface ReplayResult {
  summary: EngineSummary;
  built: BuiltEngine;
  format: 'pcap' | 'pcapng';
}

export class ReplayError extends Error {}

/** Runs a replay; throws ConfigError, CaptureFormatError or ReplayError with a message for the user. */
export function replay(opts: ReplayOptions): ReplayResult {
  const rules = loadRulesFile(opts.rules, { schedulers: schedulerNames() });
  const director = loadDirectorFile(opts.director);
  requireLinkMacs(director, opts.director, 'a replay');
  const built = buildEngine(rules, director, engineLimits(opts.maxConnections));
  const { engine } = built;
  // Three shared read buffers taken in turn: while the engine rewrites one, a second thread
  // writes the output out of another (see BackgroundWriter).
  const reader = CaptureReader.open(opts.input, { buffers: 3, shared: true });
  let writer: CaptureWriter | null = null;
  try {
    const links = director.links;
    const multi = links.length > 1;
    const nanosecond = reader.nanosecond;
    writer = multi
      ? new PcapngWriter(opts.output, links.map((l) => ({ name: l.name, linkType: LINKTYPE_ETHERNET })), nanosecond)
      : new PcapWriter(opts.output, LINKTYPE_ETHERNET, { nanosecond, background: true });
    const out = new OutputBatch();
    // The input buffer is ours to rewrite: same-size rewrites happen where the frame lies.
    out.allowInPlace = true;
    // When the input's records look exactly like ours (little-endian classic pcap, same timestamp
    // resolution), a frame rewritten in place with its length unchanged is, header included, its
    // own output record: runs of them go out in one write, straight from the read buffer.
    const pcapOut = writer instanceof PcapWriter ? writer : null;
    const passthrough = pcapOut !== null && reader.littleEndianPcapRecords && pcapOut.nanosecond === reader.nanosecond;
    let runBuf: Uint8Array | null = null;
    let runStart = 0;
    let runEnd = 0;
    let runCount = 0;
    const flushRun = (): void => {
      if (runCount > 0 && pcapOut !== null && runBuf !== null) pcapOut.writeRecords(runBuf, runStart, runEnd - runStart, runCount);
      runCount = 0;
    };
    reader.onBufferReuse(flushRun);
    if (pcapOut !== null) reader.onBufferRecycle((buf) => pcapOut.release(buf));
    let frames = 0;
    while (reader.next()) {
      if (reader.linkType !== LINKTYPE_ETHERNET) {
        throw new ReplayError(`${opts.input}: byte ${reader.bytesRead}: link type ${reader.linkType} is not supported (Ethernet, link type 1, only)`);
      }
      const data = reader.data;
      const at = reader.offset;
      const len = reader.capLen;
      if (engine.processFrameAt(data, at, len, reader.tsSec, reader.tsNsec, out, frames)) {
        if (passthrough && out.frameBuf[0] === data && out.off[0] === at && out.len[0] === len && reader.origLen === len) {
          const recordStart = at - PCAP_RECORD_HEADER_LENGTH;
          if (runCount > 0 && runBuf === data && recordStart === runEnd) {
            runEnd = at + len;
            runCount++;
          } else {
            flushRun();
            runBuf = data;
            runStart = recordStart;
            runEnd = at + len;
            runCount = 1;
          }
        } else {
          flushRun();
          // Usually one frame; a packet sent as IPv4 fragments gives one per fragment, in order.
          for (let i = 0; i < out.count; i++) {
            writer.writePacket(multi ? out.link[i] : 0, out.frameBuf[i], out.off[i], out.len[i], reader.tsSec, reader.tsNsec);
          }
        }
        out.reset();
      }
      frames++;
      if (opts.progress !== undefined && (frames & 0xffff) === 0) opts.progress(frames, reader.bytesRead, reader.fileSize);
    }
    flushRun();
    reader.onBufferReuse(null);
    reader.onBufferRecycle(null);
    writer.close();
    writer = null;
    return { summary: summarize(built), built, format: multi ? 'pcapng' : 'pcap' };
  } finally {
    reader.close();
    if (writer !== null) writer.abort();
  }
}

/** The summary as the replay command prints it. */
export function formatSummary(s: EngineSummary, input: string, output: string): string {
  const lines: string[] = [];
  lines.push(`replayed ${input} -> ${output}`);
  lines.push(`frames in ${s.in}, out ${s.out}, dropped ${s.droppedTotal}`);
  for (const [reason, n] of Object.entries(s.dropped)) lines.push(`  dropped ${reason.padEnd(26)} ${n}`);
  lines.push(`connections made ${s.connections}, still live at the end ${s.liveConnections}`);
  for (const svc of s.services) {
    lines.push(`${svc.service} ${svc.scheduler}: ${svc.connections} connections, ${svc.inPackets} packets in, ${svc.outPackets} out`);
    for (const rs of svc.realServers) {
      lines.push(`  -> ${rs.server.padEnd(28)} conns ${String(rs.connections).padStart(8)}  in ${String(rs.inPackets).padStart(9)} pkts ${String(rs.inBytes).padStart(11)} B  out ${String(rs.outPackets).padStart(9)} pkts ${String(rs.outBytes).padStart(11)} B`);
    }
  }
  return lines.join('\n') + '\n';
}

export function writeSummaryJson(path: string, s: EngineSummary): void {
  const tmp = `${path}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(s, null, 2) + '\n');
  fs.renameSync(tmp, path);
}

