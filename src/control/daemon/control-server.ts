/**
 * The director's Unix socket: JSON lines in, JSON lines out (protocol.ts), one request at a time.
 *
 * Who may talk to it is decided by the socket file, since Node does not expose the peer's
 * credentials (SO_PEERCRED): the socket is created while the umask leaves it to its owner alone,
 * then given to root (the director's user when it is not root) and the configured group with
 * mode 0660. connect() by anybody else fails with EACCES, which uvsadm reports as ipvsadm does
 * for a non-root user.
 *
 * Requests are handled synchronously as each line arrives: Node runs one callback at a time, so
 * a request is applied completely (configuration, engine, state file) before the next one, from
 * this or another client, is even read.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { Logger } from './logger';
import {
  decodeRequest, encodeLine, LineSplitter, MAX_REQUEST_BYTES, ProtocolError, type ControlReply, type ControlRequest,
} from './protocol';

export interface ControlServerOptions {
  path: string;
  /** Group allowed besides root (numeric gid), or null for root only. */
  gid: number | null;
  handle: (req: ControlRequest) => ControlReply;
  logger: Logger;
  maxRequestBytes?: number;
}

export class ControlServerError extends Error {}

/** 0660: owner and group read/write (connect needs write permission). */
export const SOCKET_MODE = 0o660;

export class ControlServer {
  private readonly connections = new Set<net.Socket>();
  private closed = false;

  private constructor(
    private readonly server: net.Server,
    readonly path: string,
  ) {}

  /** Creates the socket (replacing a stale one) and starts serving. */
  static async listen(opts: ControlServerOptions): Promise<ControlServer> {
    fs.mkdirSync(path.dirname(opts.path), { recursive: true, mode: 0o755 });
    await removeStaleSocket(opts.path);
    const server = net.createServer();
    const control = new ControlServer(server, opts.path);
    server.on('connection', (socket) => control.serve(socket, opts));
    const oldMask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(opts.path, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      throw new ControlServerError(`cannot listen on ${opts.path}: ${(e as Error).message}`);
    } finally {
      process.umask(oldMask);
    }
    try {
      const uid = process.getuid?.() ?? 0;
      const gid = opts.gid ?? (uid === 0 ? 0 : -1);
      fs.chownSync(opts.path, uid === 0 ? 0 : uid, gid);
      fs.chmodSync(opts.path, SOCKET_MODE);
    } catch (e) {
      await control.close();
      throw new ControlServerError(`cannot set the owner and mode of ${opts.path}: ${(e as Error).message}`);
    }
    server.on('error', (e) => opts.logger.log('error', 'control socket error', { error: e.message }));
    return control;
  }

  private serve(socket: net.Socket, opts: ControlServerOptions): void {
    this.connections.add(socket);
    socket.on('close', () => this.connections.delete(socket));
    socket.on('error', (e) => opts.logger.log('debug', 'client connection error', { error: e.message }));
    const answer = (r: ControlReply): void => {
      if (!socket.destroyed) socket.write(encodeLine(r));
    };
    const lines = new LineSplitter((line) => {
      if (line.trim() === '') return;
      let req: ControlRequest;
      try {
        req = decodeRequest(line);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
        opts.logger.log('warn', 'bad request', { error: e.message });
        answer({ stdout: '', stderr: `uvs director: bad request: ${e.message}\n`, exitCode: 2 });
        return;
      }
      let r: ControlReply;
      try {
        r = opts.handle(req);
      } catch (e) {
        // A bug, not the user's mistake: say so, keep serving.
        opts.logger.log('error', 'internal error', { command: req.argv, error: (e as Error).stack ?? String(e) });
        r = { stdout: '', stderr: `uvs director: internal error: ${(e as Error).message}\n`, exitCode: 255 };
      }
      answer(r);
    }, opts.maxRequestBytes ?? MAX_REQUEST_BYTES);
    socket.on('data', (chunk: Buffer) => {
      if (!lines.push(chunk)) {
        opts.logger.log('warn', 'request too long', { limitBytes: opts.maxRequestBytes ?? MAX_REQUEST_BYTES });
        answer({ stdout: '', stderr: 'uvs director: request too long\n', exitCode: 2 });
        socket.end();
        socket.pause();
      }
    });
    socket.on('end', () => socket.end());
  }

  /** Stops serving, drops the clients and removes the socket file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.connections) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    fs.rmSync(this.path, { force: true });
  }
}

/**
 * A socket file left by a director that died is removed; one a live director answers on is an
 * error (two directors must not share a socket); any other file is not ours to remove.
 */
async function removeStaleSocket(file: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new ControlServerError(`${file} exists and is not a socket`);
  const alive = await new Promise<boolean>((resolve) => {
    const c = net.connect(file);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (alive) throw new ControlServerError(`another director is already serving ${file}`);
  fs.rmSync(file, { force: true });
}
