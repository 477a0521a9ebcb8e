/**
 * `uvs replay IN -o OUT --rules RULES --director DIRECTOR [--summary-json FILE]`: runs every frame
 * of a capture through the engine on the capture's own clock and writes what the director
 * transmits. The output goes to a temporary file renamed into place at the end, so an
 * interrupted replay never leaves a partial OUT behind.
 */
import * as fs from 'node:fs';
import { loadDirectorFile } from '../control/director-file';
import { loadRulesFile } from '../control/rules-file';
import { buildEngine, type BuiltEngine } from '../ipvs/engine-builder';
import { OutputBatch } from '../ipvs/frame-batch';
import { summarize, type EngineSummary } from '../ipvs/summary';
import { CaptureReader } from '../pcap/capture-reader';
import type { CaptureWriter } from '../pcap/capture-writer';
import { PcapWriter } from '../pcap/pcap-writer';
import { PcapngWriter } from '../pcap/pcapng-writer';

const LINKTYPE_ETHERNET = 1;

export interface ReplayOptions {
  input: string;
  output: string;
  rules: string;
  director: string;
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
  const rules = loadRulesFile(opts.rules);
  const director = loadDirectorFile(opts.director);
  const built = buildEngine(rules, director);
  const { engine } = built;
  const reader = CaptureReader.open(opts.input);
  let writer: CaptureWriter | null = null;
  try {
    const links = director.links;
    const multi = links.length > 1;
    const nanosecond = reader.nanosecond;
    writer = multi
      ? new PcapngWriter(opts.output, links.map((l) => ({ name: l.name, linkType: LINKTYPE_ETHERNET })), nanosecond)
      : new PcapWriter(opts.output, LINKTYPE_ETHERNET, { nanosecond });
    const out = new OutputBatch();
    // Timestamps of the input frames that caused each buffered output frame.
    const tsSec = new Float64Array(out.maxFrames);
    const tsNsec = new Float64Array(out.maxFrames);
    const flush = (w: CaptureWriter): void => {
      for (let i = 0; i < out.count; i++) {
        w.writePacket(multi ? out.link[i] : 0, out.buf, out.off[i], out.len[i], tsSec[i], tsNsec[i]);
      }
      out.reset();
    };
    let frames = 0;
    while (reader.next()) {
      if (reader.linkType !== LINKTYPE_ETHERNET) {
        throw new ReplayError(`${opts.input}: byte ${reader.bytesRead}: link type ${reader.linkType} is not supported (Ethernet, link type 1, only)`);
      }
      const nowMs = reader.tsSec * 1000 + reader.tsNsec / 1e6;
      const before = out.count;
      if (engine.processFrame(reader.data, reader.offset, reader.capLen, nowMs, out, frames)) {
        tsSec[before] = reader.tsSec;
        tsNsec[before] = reader.tsNsec;
      }
      frames++;
      if (out.nearlyFull()) flush(writer);
      if (opts.progress !== undefined && (frames & 0xffff) === 0) opts.progress(frames, reader.bytesRead, reader.fileSize);
    }
    flush(writer);
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
