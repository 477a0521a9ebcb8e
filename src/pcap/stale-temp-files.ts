/**
 * Temporary outputs (`OUT.tmp-PID`) left by runs that were killed before they could rename or
 * remove them. A run that finishes OUT removes those of processes that no longer exist; one whose
 * process is still alive (another run writing the same OUT right now) is left alone.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Removes OUT.tmp-PID files beside `output` whose PID is not a live process; returns their names. */
export function removeStaleTempFiles(output: string): string[] {
  const dir = path.dirname(output);
  const prefix = `${path.basename(output)}.tmp-`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pidText = name.slice(prefix.length);
    if (!/^[1-9][0-9]{0,9}$/.test(pidText)) continue;
    const pid = Number(pidText);
    if (pid === process.pid || processExists(pid)) continue;
    try {
      fs.unlinkSync(path.join(dir, name));
      removed.push(name);
    } catch {
      // Gone already, or not ours to remove: leave it.
    }
  }
  return removed;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
