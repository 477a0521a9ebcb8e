/**
 * The connection snapshot on disk, next to the state file (STATE.conns): written at a clean stop
 * (temporary file, fsync, rename, fsync of the directory, as the state file is), read back at the
 * next start once the configuration is in the engine, and deleted then, restored or not (a
 * snapshot is used once: a later start must not bring back connections from an older life).
 * The format and what is kept are src/ipvs/conn-snapshot.ts's business.
 */
import * as fs from 'node:fs';
import { ConnSnapshotError, restoreConnSnapshot, writeConnSnapshot, type SnapshotWritten } from '../../ipvs/conn-snapshot';
import type { Engine } from '../../ipvs/engine';
import { writeFileAtomicWith } from './config-store';
import type { Logger } from './logger';

export function connSnapshotPath(stateFile: string): string {
  return `${stateFile}.conns`;
}

/** Writes the engine's connections to `file` atomically. Throws a file system error. */
export function saveConnSnapshot(engine: Engine, file: string, nowMs = Date.now()): SnapshotWritten {
  return writeFileAtomicWith(file, (fd) =>
    writeConnSnapshot(engine, nowMs, (bytes) => {
      for (let off = 0; off < bytes.length;) off += fs.writeSync(fd, bytes, off, bytes.length - off);
    }),
  );
}

/**
 * Restores the snapshot at `file` into `engine` (configuration already in it) when there is one,
 * logs what was restored and skipped, or why nothing was, and deletes the file. `restore` false:
 * the file is only deleted, with `reason` logged. Never throws.
 */
export function takeConnSnapshot(engine: Engine, file: string, logger: Logger, restore: boolean, reason = '', nowMs = Date.now()): void {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      logger.log('error', 'cannot read the connection snapshot: no connection restored', { file, error: (e as Error).message });
      remove(file, logger);
    }
    return;
  }
  if (!restore) {
    logger.log('warn', 'connection snapshot not restored', { file, reason });
  } else {
    try {
      const started = performance.now();
      const r = restoreConnSnapshot(engine, bytes, nowMs);
      logger.log('info', 'connections restored from the snapshot', {
        file,
        downtimeMs: r.downtimeMs,
        restored: r.restored,
        skipped: r.skipped,
        ms: Math.round(performance.now() - started),
      });
    } catch (e) {
      // ConnSnapshotError: the file's fault, found before anything was inserted. Anything else is
      // a bug, reported with its stack; the director starts all the same.
      logger.log('error', 'connection snapshot unusable: no connection restored', {
        file, error: e instanceof ConnSnapshotError ? e.message : String((e as Error).stack ?? e),
      });
    }
  }
  remove(file, logger);
}

function remove(file: string, logger: Logger): void {
  try {
    fs.rmSync(file, { force: true });
  } catch (e) {
    logger.log('warn', 'cannot delete the used connection snapshot', { file, error: (e as Error).message });
  }
}
