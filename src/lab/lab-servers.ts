/**
 * What runs in the lab: per real server the small HTTP/UDP server (rs-server.js), iperf3 -s when
 * it is installed and, in TUN mode, `uvs realserver --decap ipip`; and the director. Each start
 * is one function that waits (bounded) until its process is ready, or throws saying why.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NetnsError, nsIp, nsSysctl } from './netns';
import { IPERF_PORT, LAB_FILES, labFile, type LabSpec, type RealServerPlan } from './lab-plan';
import { fileContains, startDetached, waitFor, type LabProcess } from './lab-process';

/** dist/src/cli/uvs.js of this build. */
export const UVS_JS = path.resolve(__dirname, '../cli/uvs.js');
export const UVSADM_JS = path.resolve(__dirname, '../cli/uvsadm.js');
export const RS_SERVER_JS = path.join(__dirname, 'rs-server.js');
/** The module `uvs realserver` loads; TUN mode cannot run without it. */
export const REALSERVER_COMMAND_JS = path.resolve(__dirname, '../cli/realserver-command.js');

const READY_MS = 10_000;

export interface Command {
  cmd: string;
  args: string[];
}

function logPath(spec: LabSpec, file: string): string {
  return path.join(spec.dir, file);
}

/** The director's command line, as notes/issue6.md fixes it. */
export function directorCommand(spec: LabSpec): Command {
  return {
    cmd: process.execPath,
    args: [
      UVS_JS,
      'director',
      '--rules', labFile(spec, 'rules'),
      '--director', labFile(spec, 'director'),
      '--socket', labFile(spec, 'socket'),
      '--state', labFile(spec, 'state'),
    ],
  };
}

function isSocket(file: string): boolean {
  try {
    return fs.statSync(file).isSocket();
  } catch {
    return false;
  }
}

/**
 * Starts the director in the director namespace and waits until it forwards: its control socket
 * exists before its links are attached, so readiness is the "director started" log line, written
 * once the links, the kernel guard and the socket are all in place.
 */
export function startDirector(spec: LabSpec, record: (p: LabProcess) => void): LabProcess {
  const { cmd, args } = directorCommand(spec);
  const p = startDetached('director', spec.namespaces.director, cmd, args, logPath(spec, LAB_FILES.directorLog));
  record(p);
  const socket = labFile(spec, 'socket');
  waitFor(p, `the control socket ${socket} and the "director started" line`,
    () => isSocket(socket) && fileContains(p.log, '"msg":"director started"'), READY_MS);
  return p;
}

/** The line rs-server.js prints once it listens everywhere. */
export function rsReadyLine(name: string): string {
  return `${name} ready`;
}

export function rsServerCommand(rs: RealServerPlan): Command {
  return { cmd: process.execPath, args: [RS_SERVER_JS, '--name', rs.name] };
}

function rsLog(spec: LabSpec, rs: RealServerPlan, what: string): string {
  return logPath(spec, `${rs.name}-${what}.log`);
}

/** Starts every real server's HTTP/UDP server (and iperf3 when installed) and waits until they listen. */
export function startRealServers(spec: LabSpec, record: (p: LabProcess) => void): void {
  const waits: (() => void)[] = [];
  const iperf = findExecutable('iperf3');
  for (const rs of spec.realServers) {
    const { cmd, args } = rsServerCommand(rs);
    const http = startDetached(`${rs.name}-http`, rs.namespace, cmd, args, rsLog(spec, rs, 'http'));
    record(http);
    waits.push(() => waitFor(http, `the "${rsReadyLine(rs.name)}" line`, () => fileContains(http.log, rsReadyLine(rs.name)), READY_MS));
    if (iperf !== null) {
      const log = rsLog(spec, rs, 'iperf3');
      const p = startDetached(`${rs.name}-iperf3`, rs.namespace, iperf,
        ['-s', '-p', String(IPERF_PORT), '-B', '0.0.0.0', '--logfile', log, '--forceflush'], log);
      record(p);
      waits.push(() => waitFor(p, `the "Server listening" line`, () => fileContains(log, 'Server listening'), READY_MS));
    }
  }
  for (const wait of waits) wait();
}

/** True when `uvs realserver` is part of this build. */
export function realserverCommandAvailable(): boolean {
  return fs.existsSync(REALSERVER_COMMAND_JS);
}

export function decapCommand(): Command {
  return { cmd: process.execPath, args: [UVS_JS, 'realserver', '--decap', 'ipip', '--dev', 'eth0'] };
}

/** TUN devices in ns. */
function tunDevices(ns: string): string[] {
  const links = JSON.parse(nsIp(ns, '-d', '-j', 'link', 'show')) as { ifname: string; linkinfo?: { info_kind?: string } }[];
  return links.filter((l) => l.linkinfo?.info_kind === 'tun').map((l) => l.ifname);
}

/**
 * Starts `uvs realserver --decap ipip` in each real server (TUN mode), waits for its TUN device
 * and turns the reverse-path filter off on it (decapsulated packets come in from the VIP's
 * clients on a device that has no route back to them).
 */
export function startDecapsulators(spec: LabSpec, record: (p: LabProcess) => void): void {
  if (!realserverCommandAvailable()) {
    throw new NetnsError(`--mode tun needs 'uvs realserver --decap ipip', which this build lacks (${REALSERVER_COMMAND_JS} is missing)`);
  }
  const { cmd, args } = decapCommand();
  const started = spec.realServers.map((rs) => {
    const p = startDetached(`${rs.name}-decap`, rs.namespace, cmd, args, rsLog(spec, rs, 'decap'));
    record(p);
    return p;
  });
  for (const p of started) {
    waitFor(p, 'a TUN device', () => tunDevices(p.namespace).length > 0, READY_MS);
    for (const dev of tunDevices(p.namespace)) nsSysctl(p.namespace, `net.ipv4.conf.${dev}.rp_filter`, 0);
  }
}

/** The path of an executable on PATH, or null. */
export function findExecutable(name: string): string | null {
  for (const dir of (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':')) {
    if (dir === '') continue;
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return null;
}
