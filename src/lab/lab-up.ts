/**
 * `uvs lab up`: namespaces and links, the real servers as the mode needs them, the rules and
 * director files, the real servers' processes and (unless --no-director) the director. Any
 * failure tears down everything made so far and throws LabError saying why.
 */
import * as fs from 'node:fs';
import { loadDirector } from '../control/director-file';
import { loadRules } from '../control/rules-file';
import type { Sysctls } from '../ipvs/sysctls';
import { schedulerNames } from '../sched/registry';
import { LabError } from './lab-error';
import { LAB_ROOT, labFile, labSpec, type LabMode, type LabSpec } from './lab-plan';
import { directorText, rulesText, type DirectorLink } from './lab-config-files';
import { labDown, labExists } from './lab-down';
import { newLabState, writeLabState, type LabState } from './lab-state';
import { realserverCommandAvailable, REALSERVER_COMMAND_JS, startDecapsulators, startDirector, startRealServers } from './lab-servers';
import { linkMac, linkMtu } from './netns';
import { buildTopology } from './topology';

export interface LabUpOptions {
  name: string;
  mode: LabMode;
  rsCount: number;
  scheduler: string;
  /** False for --no-director: everything but the director. */
  director: boolean;
  /** --sysctl NAME=VALUE: `sysctl` lines of the director file (default: none, the kernel's defaults). */
  sysctls?: Partial<Sysctls>;
}

export function labUp(opts: LabUpOptions): LabState {
  const spec = labSpec(opts.name, opts.mode, opts.rsCount, opts.scheduler);
  if (labExists(spec.name)) {
    throw new LabError(`a lab named '${spec.name}' already exists (run 'uvs lab down --name ${spec.name}' first)`);
  }
  if (spec.mode === 'tun' && !realserverCommandAvailable()) {
    throw new LabError(`--mode tun needs 'uvs realserver --decap ipip' on the real servers, which this build lacks (${REALSERVER_COMMAND_JS} is missing)`);
  }
  fs.mkdirSync(LAB_ROOT, { recursive: true, mode: 0o755 });
  try {
    fs.mkdirSync(spec.dir, { mode: 0o755 });
  } catch (e) {
    throw new LabError(`cannot create ${spec.dir}: ${(e as Error).message}`);
  }
  const state = newLabState(spec, opts.director);
  try {
    writeLabState(state);
    build(spec, state, opts.sysctls ?? {});
    state.complete = true;
    writeLabState(state);
    return state;
  } catch (e) {
    labDown(spec.name, 2000);
    throw new LabError(`${(e as Error).message}\n(everything the lab had made is removed again)`);
  }
}

function build(spec: LabSpec, state: LabState, sysctls: Partial<Sysctls>): void {
  buildTopology(spec);
  writeConfigFiles(spec, sysctls);
  const record = (p: LabState['processes'][number]): void => {
    state.processes.push(p);
    writeLabState(state);
  };
  startRealServers(spec, record);
  if (spec.mode === 'tun') startDecapsulators(spec, record);
  if (state.withDirector) startDirector(spec, record);
}

/** Writes DIR/rules and DIR/director, each checked by the loader the director uses. */
function writeConfigFiles(spec: LabSpec, sysctls: Partial<Sysctls>): void {
  const rulesFile = labFile(spec, 'rules');
  const rules = rulesText(spec);
  loadRules(rules, rulesFile, { schedulers: schedulerNames() });
  fs.writeFileSync(rulesFile, rules);

  const directorFile = labFile(spec, 'director');
  const link = (dev: string): DirectorLink => ({ mac: linkMac(spec.namespaces.director, dev), mtu: linkMtu(spec.namespaces.director, dev) });
  const director = directorText(spec, { eth0: link('eth0'), eth1: link('eth1') }, sysctls);
  loadDirector(director, directorFile);
  fs.writeFileSync(directorFile, director);
}
