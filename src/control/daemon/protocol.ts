/**
 * The control socket's protocol, shared by the director (control-server.ts) and uvsadm: one JSON
 * object per line each way. A request carries an ipvsadm command line (without the program name)
 * and, for -R, what uvsadm read from its stdin; the reply carries exactly what ipvsadm would have
 * printed and the status it would have exited with.
 *
 *   → {"argv":["-a","-t","10.0.0.1:80","-r","10.1.0.1","-m"]}
 *   ← {"stdout":"","stderr":"","exitCode":0}
 *
 * A connection may carry several requests, answered in order. The socket path is UVS_SOCKET, or
 * /run/uvs/uvs.sock.
 */

export const DEFAULT_SOCKET_PATH = '/run/uvs/uvs.sock';
export const SOCKET_ENV = 'UVS_SOCKET';
/** The name printed where ipvsadm prints its argv[0] (usage and "Try ... -h" messages). */
export const PROGRAM_NAME = 'uvsadm';
/** A request line longer than this is refused (an -R input of ~100,000 rules fits). */
export const MAX_REQUEST_BYTES = 16 * 1024 * 1024;

export interface ControlRequest {
  argv: string[];
  /** The client's stdin, for -R only. */
  stdin?: string;
}

export interface ControlReply {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** The socket path for both the director and uvsadm: an explicit one, else UVS_SOCKET, else the default. */
export function socketPath(explicit?: string | null, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit !== undefined && explicit !== null && explicit !== '') return explicit;
  const fromEnv = env[SOCKET_ENV];
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_SOCKET_PATH;
}

export class ProtocolError extends Error {}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

/** Reads one request line; throws ProtocolError naming what is wrong. */
export function decodeRequest(line: string): ControlRequest {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new ProtocolError('request is not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ProtocolError('request is not a JSON object');
  const o = v as Record<string, unknown>;
  if (!isStringArray(o.argv)) throw new ProtocolError('request.argv must be an array of strings');
  if (o.stdin !== undefined && typeof o.stdin !== 'string') throw new ProtocolError('request.stdin must be a string');
  return o.stdin === undefined ? { argv: o.argv } : { argv: o.argv, stdin: o.stdin };
}

/** Reads one reply line; throws ProtocolError naming what is wrong. */
export function decodeReply(line: string): ControlReply {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new ProtocolError('reply is not JSON');
  }
  if (typeof v !== 'object' || v === null) throw new ProtocolError('reply is not a JSON object');
  const o = v as Record<string, unknown>;
  if (typeof o.stdout !== 'string' || typeof o.stderr !== 'string' || !Number.isInteger(o.exitCode)) {
    throw new ProtocolError('reply must have stdout, stderr (strings) and exitCode (integer)');
  }
  return { stdout: o.stdout, stderr: o.stderr, exitCode: o.exitCode as number };
}

export function encodeLine(message: ControlRequest | ControlReply): string {
  return `${JSON.stringify(message)}\n`;
}

/**
 * Splits a byte stream into lines without decoding a multi-byte character across chunks. Calls
 * `onLine` for each complete line; returns false (and stops) when a line exceeds `maxBytes`.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxBytes = MAX_REQUEST_BYTES,
  ) {}

  push(chunk: Buffer): boolean {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      const piece = chunk.subarray(start, nl);
      if (this.size + piece.length > this.maxBytes) return false;
      const line = Buffer.concat([...this.parts, piece]).toString('utf8');
      this.parts = [];
      this.size = 0;
      this.onLine(line);
      start = nl + 1;
    }
    const rest = chunk.subarray(start);
    if (rest.length > 0) {
      this.size += rest.length;
      if (this.size > this.maxBytes) return false;
      this.parts.push(Buffer.from(rest));
    }
    return true;
  }

  /** Bytes received after the last newline. */
  get pending(): number {
    return this.size;
  }
}
