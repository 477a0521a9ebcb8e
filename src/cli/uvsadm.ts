#!/usr/bin/env node
/**
 * `uvsadm`: ipvsadm for the uvs director. It sends its arguments (and, for -R, its stdin) to the
 * director over the control socket (UVS_SOCKET, default /run/uvs/uvs.sock), prints the reply's
 * stdout and stderr exactly and exits with its status, so it behaves as ipvsadm 1.31 does; where
 * ipvsadm prints its own name (usage, "Try ... -h"), uvsadm prints `uvsadm`. If the director
 * cannot be reached it says so in ipvsadm's "Can't initialize ipvs" shape and exits 2.
 */
import * as fs from 'node:fs';
import { EXIT_INIT, sendRequest } from '../control/daemon/control-client';
import { PROGRAM_NAME, socketPath } from '../control/daemon/protocol';
import { parseIpvsadmArgs } from '../control/ipvsadm-args';

/** True when argv is an -R command (the only one that reads stdin). */
function isRestore(argv: string[]): boolean {
  try {
    return parseIpvsadmArgs(argv, PROGRAM_NAME).kind === 'restore';
  } catch {
    return false; // the director reports the mistake
  }
}

// A reader that stops early (`uvsadm -L -n -c | head`) closes the pipe: stop quietly, as ipvsadm
// does when SIGPIPE ends it, instead of dying on the write error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit();
    throw e;
  });
}

async function main(argv: string[]): Promise<number> {
  const stdin = isRestore(argv) ? fs.readFileSync(0, 'utf8') : undefined;
  const r = await sendRequest(socketPath(null), stdin === undefined ? { argv } : { argv, stdin });
  if (r.stdout !== '') process.stdout.write(r.stdout);
  if (r.stderr !== '') process.stderr.write(r.stderr);
  return r.exitCode;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`${PROGRAM_NAME}: ${(e as Error).message}\n`);
    process.exitCode = EXIT_INIT;
  },
);
