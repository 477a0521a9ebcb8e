/**
 * `uvs lab status`: what lab.json recorded, checked against what runs now (namespaces present,
 * processes alive), and the director's table through uvsadm on the lab's socket.
 */
import { execFileSync } from 'node:child_process';
import { LabError } from './lab-error';
import { allNamespaces, labDir, labSpec, type LabNamespaces, type RealServerPlan } from './lab-plan';
import { processAlive, type LabProcess } from './lab-process';
import { labNamespacesPresent } from './lab-down';
import { readLabState, LabStateError, type LabState } from './lab-state';
import { UVSADM_JS } from './lab-servers';

/** `uvs lab status --json`: the fields scripts drive a lab with. */
export interface LabStatusJson {
  name: string;
  mode: string;
  scheduler: string;
  dir: string;
  namespaces: LabNamespaces;
  clientNamespace: string;
  vip: string;
  port: number;
  udpPort: number;
  iperfPort: number;
  realServers: { name: string; namespace: string; address: string; port: number }[];
  socket: string;
  director: { pid: number | null; alive: boolean; log: string };
  processes: (LabProcess & { alive: boolean })[];
  /** Namespaces the lab should have but that are gone. */
  missingNamespaces: string[];
  /** False when `lab up` did not finish (it crashed or is still running). */
  complete: boolean;
}

export interface LabStatus {
  state: LabState;
  json: LabStatusJson;
}

export function labStatus(name: string): LabStatus {
  let state: LabState | null;
  try {
    state = readLabState(labDir(name));
  } catch (e) {
    if (e instanceof LabStateError) throw new LabError(`${e.message} (run 'uvs lab down --name ${name}' to clear it)`);
    throw e;
  }
  if (state === null) {
    const left = labNamespacesPresent(name);
    if (left.length > 0) {
      throw new LabError(`lab '${name}' has no ${labDir(name)}/lab.json but its namespaces are there (${left.join(', ')}); run 'uvs lab down --name ${name}' to clear them`);
    }
    throw new LabError(`no lab named '${name}' (start one with 'uvs lab up --mode dr|nat|tun|fullnat${name === 'uvs' ? '' : ` --name ${name}`}')`);
  }
  const present = new Set(labNamespacesPresent(name));
  const expected = allNamespaces(labSpec(state.name, state.mode, state.rsCount, state.scheduler));
  const processes = state.processes.map((p) => ({ ...p, alive: processAlive(p) }));
  const director = processes.find((p) => p.role === 'director');
  const realServers = state.realServers.map((r: RealServerPlan) => ({ name: r.name, namespace: r.namespace, address: r.address, port: r.port }));
  return {
    state,
    json: {
      name: state.name,
      mode: state.mode,
      scheduler: state.scheduler,
      dir: state.dir,
      namespaces: state.namespaces,
      clientNamespace: state.clientNamespace,
      vip: state.vip,
      port: state.port,
      udpPort: state.udpPort,
      iperfPort: state.iperfPort,
      realServers,
      socket: state.socket,
      director: { pid: director?.pid ?? null, alive: director?.alive ?? false, log: state.directorLog },
      processes,
      missingNamespaces: expected.filter((n) => !present.has(n)),
      complete: state.complete,
    },
  };
}

/** `uvsadm -L -n` against the lab's director; its output, or what went wrong. */
export function directorTable(socket: string): string {
  try {
    return execFileSync(process.execPath, [UVSADM_JS, '-L', '-n'], {
      encoding: 'utf8',
      env: { ...process.env, UVS_SOCKET: socket },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 10_000,
    });
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string; message: string };
    return `uvsadm -L -n failed: ${((err.stderr ?? '') + (err.stdout ?? '')).trim() || err.message}\n`;
  }
}

/** The human form of `uvs lab status`. */
export function formatLabStatus(s: LabStatus): string {
  const j = s.json;
  const lines: string[] = [];
  lines.push(`lab ${j.name}: mode ${j.mode}, scheduler ${j.scheduler}, ${j.realServers.length} real servers, VIP ${j.vip} (tcp ${j.port}, tcp ${j.iperfPort}, udp ${j.udpPort})${j.complete ? '' : '  [lab up did not finish]'}`);
  lines.push(`files: ${j.dir}`);
  const ns = j.namespaces;
  lines.push(`namespaces: client ${ns.client}, router ${ns.router}, director ${ns.director}, switch ${ns.switch}`);
  lines.push(`  real servers: ${j.realServers.map((r) => `${r.name} ${r.address}:${r.port} (${r.namespace})`).join(', ')}`);
  if (j.missingNamespaces.length > 0) lines.push(`  MISSING: ${j.missingNamespaces.join(', ')}`);
  lines.push('processes:');
  const width = Math.max(8, ...j.processes.map((p) => p.role.length));
  for (const p of j.processes) {
    lines.push(`  ${p.role.padEnd(width)}  pid ${String(p.pid).padEnd(7)} ${p.alive ? 'running' : 'NOT RUNNING'}  log ${p.log}`);
  }
  if (j.director.pid === null) {
    lines.push(`director: not started (the lab was brought up with --no-director)`);
  } else if (!j.director.alive) {
    lines.push(`director: not running (pid ${j.director.pid} is gone; see ${j.director.log})`);
  } else {
    lines.push(`director table (UVS_SOCKET=${j.socket} uvsadm -L -n):`);
    lines.push(directorTable(j.socket).trimEnd());
  }
  return lines.join('\n') + '\n';
}
