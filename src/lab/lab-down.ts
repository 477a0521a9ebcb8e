/**
 * `uvs lab down`: stops the lab's processes (SIGTERM, SIGKILL after a bound), deletes its
 * namespaces and removes DIR. It trusts nothing to be whole: without lab.json (a crash) it
 * still finds the namespaces by the lab's prefix and every process inside them.
 */
import * as fs from 'node:fs';
import { labDir, labPrefix } from './lab-plan';
import { stopProcesses } from './lab-process';
import { readLabState, type LabState } from './lab-state';
import { deleteNamespaces, listNamespaces, run } from './netns';

export interface LabDownResult {
  /** False when there was nothing of the lab at all. */
  found: boolean;
  /** Processes that were still running and were stopped. */
  stopped: number;
  namespaces: string[];
  /** DIR, when it existed and is now removed. */
  dir: string | null;
}

/** The lab's namespaces that exist now. */
export function labNamespacesPresent(name: string): string[] {
  const prefix = labPrefix(name);
  try {
    return listNamespaces().filter((n) => n.startsWith(prefix));
  } catch {
    return [];
  }
}

export function labExists(name: string): boolean {
  return fs.existsSync(labDir(name)) || labNamespacesPresent(name).length > 0;
}

/** Every pid inside the namespace (empty when it cannot be listed). */
function namespacePids(ns: string): number[] {
  try {
    return run('ip', ['netns', 'pids', ns]).split('\n').filter((p) => /^\d+$/.test(p)).map(Number);
  } catch {
    return [];
  }
}

function stateOrNull(dir: string): LabState | null {
  try {
    return readLabState(dir);
  } catch {
    return null; // a damaged lab.json: the namespaces still tell what to remove
  }
}

export function labDown(name: string, graceMs = 5000): LabDownResult {
  const dir = labDir(name);
  const dirExists = fs.existsSync(dir);
  const state = dirExists ? stateOrNull(dir) : null;
  const namespaces = labNamespacesPresent(name);
  const procs: { pid: number; namespace: string }[] = [...(state?.processes ?? [])];
  for (const ns of namespaces) {
    for (const pid of namespacePids(ns)) procs.push({ pid, namespace: ns });
  }
  const seen = new Set<number>();
  const unique = procs.filter((p) => !seen.has(p.pid) && seen.add(p.pid) !== undefined);
  const stopped = stopProcesses(unique, graceMs);
  const deleted = deleteNamespaces(labPrefix(name));
  if (dirExists) fs.rmSync(dir, { recursive: true, force: true });
  return { found: dirExists || namespaces.length > 0, stopped, namespaces: deleted, dir: dirExists ? dir : null };
}
