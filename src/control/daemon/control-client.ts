/**
 * The client side of the control socket (used by uvsadm): one request, one reply. A failure to
 * reach the director becomes a reply in ipvsadm's "Can't initialize ipvs" shape with exit 2;
 * a socket the user may not open gives ipvsadm's own words for a non-root user.
 */
import * as net from 'node:net';
import {
  decodeReply, encodeLine, LineSplitter, PROGRAM_NAME, ProtocolError, type ControlReply, type ControlRequest,
} from './protocol';

/** ipvsadm's exit status when it cannot initialise IPVS. */
export const EXIT_INIT = 2;

/** ipvsadm's words when the kernel refuses a non-root user (ipvs_init fails with EPERM). */
export const PERMISSION_DENIED =
  "Can't initialize ipvs: Permission denied (you must be root)\n" +
  'Are you sure that IP Virtual Server is built in the kernel or as module?\n';

export function notRunningMessage(path: string): string {
  return `Can't initialize ipvs: the uvs director is not running (no socket at ${path})\n` +
    'Are you sure that `uvs director` is running? (UVS_SOCKET names its socket)\n';
}

/** The reply standing for a connect() failure. */
export function connectFailure(path: string, e: NodeJS.ErrnoException): ControlReply {
  switch (e.code) {
    case 'EACCES':
    case 'EPERM':
      return { stdout: '', stderr: PERMISSION_DENIED, exitCode: EXIT_INIT };
    case 'ENOENT':
    case 'ECONNREFUSED':
    case 'ENOTDIR':
      return { stdout: '', stderr: notRunningMessage(path), exitCode: EXIT_INIT };
    default:
      return {
        stdout: '',
        stderr: `Can't initialize ipvs: cannot reach the uvs director at ${path}: ${e.message}\n`,
        exitCode: EXIT_INIT,
      };
  }
}

/** Sends one request to the director at `path` and resolves with its reply (never rejects). */
export function sendRequest(path: string, req: ControlRequest): Promise<ControlReply> {
  return new Promise((resolve) => {
    let done = false;
    let connected = false;
    const socket = net.connect(path);
    const finish = (r: ControlReply): void => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve(r);
    };
    // A reply may be large (-L -c of a busy director): no limit on its length.
    const lines = new LineSplitter((line) => {
      try {
        finish(decodeReply(line));
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
        finish({ stdout: '', stderr: `${PROGRAM_NAME}: bad reply from the director: ${e.message}\n`, exitCode: EXIT_INIT });
      }
    }, Number.POSITIVE_INFINITY);
    socket.once('connect', () => {
      connected = true;
      socket.write(encodeLine(req));
    });
    socket.on('data', (chunk: Buffer) => {
      lines.push(chunk);
    });
    socket.once('error', (e: NodeJS.ErrnoException) => {
      if (!connected) {
        finish(connectFailure(path, e));
      } else {
        finish({ stdout: '', stderr: `${PROGRAM_NAME}: lost the connection to the director: ${e.message}\n`, exitCode: EXIT_INIT });
      }
    });
    socket.once('close', () =>
      finish({ stdout: '', stderr: `${PROGRAM_NAME}: the director closed the connection without answering\n`, exitCode: EXIT_INIT }),
    );
  });
}
