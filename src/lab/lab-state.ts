/**
 * DIR/lab.json: everything `uvs lab status` and `uvs lab down` need, written as `lab up` goes
 * (so a crashed `up` still leaves the pids it started) and completed at the end.
 */
import * as fs from 'node:fs';
import {
  HTTP_PORT,
  IPERF_PORT,
  LAB_FILES,
  UDP_PORT,
  VIP,
  labFile,
  type LabMode,
  type LabNamespaces,
  type LabSpec,
  type RealServerPlan,
} from './lab-plan';
import type { LabProcess } from './lab-process';

export interface LabState {
  version: 1;
  name: string;
  mode: LabMode;
  scheduler: string;
  rsCount: number;
  dir: string;
  prefix: string;
  namespaces: LabNamespaces;
  clientNamespace: string;
  vip: string;
  port: number;
  udpPort: number;
  iperfPort: number;
  realServers: RealServerPlan[];
  rules: string;
  directorFile: string;
  state: string;
  socket: string;
  directorLog: string;
  /** False with --no-director. */
  withDirector: boolean;
  /** True once `lab up` finished. */
  complete: boolean;
  processes: LabProcess[];
}

export function newLabState(spec: LabSpec, withDirector: boolean): LabState {
  return {
    version: 1,
    name: spec.name,
    mode: spec.mode,
    scheduler: spec.scheduler,
    rsCount: spec.rsCount,
    dir: spec.dir,
    prefix: spec.prefix,
    namespaces: spec.namespaces,
    clientNamespace: spec.namespaces.client,
    vip: VIP,
    port: HTTP_PORT,
    udpPort: UDP_PORT,
    iperfPort: IPERF_PORT,
    realServers: spec.realServers,
    rules: labFile(spec, 'rules'),
    directorFile: labFile(spec, 'director'),
    state: labFile(spec, 'state'),
    socket: labFile(spec, 'socket'),
    directorLog: labFile(spec, 'directorLog'),
    withDirector,
    complete: false,
    processes: [],
  };
}

export function labJsonPath(dir: string): string {
  return `${dir}/${LAB_FILES.lab}`;
}

/** Written whole to a temporary file and renamed, so a reader never sees half of it. */
export function writeLabState(state: LabState): void {
  const file = labJsonPath(state.dir);
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n');
  fs.renameSync(tmp, file);
}

export class LabStateError extends Error {}

/** The lab's state, or null when DIR has no lab.json. Throws LabStateError for a damaged file. */
export function readLabState(dir: string): LabState | null {
  let text: string;
  try {
    text = fs.readFileSync(labJsonPath(dir), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new LabStateError(`cannot read ${labJsonPath(dir)}: ${(e as Error).message}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new LabStateError(`${labJsonPath(dir)} is not JSON`);
  }
  const o = v as Partial<LabState> | null;
  if (o === null || typeof o !== 'object' || o.version !== 1 || typeof o.name !== 'string' || !Array.isArray(o.processes)) {
    throw new LabStateError(`${labJsonPath(dir)} is not a uvs lab state (version 1)`);
  }
  return o as LabState;
}
