/**
 * `uvs lab up|status|down`: the network-namespace lab (src/lab). A usage mistake is one line on
 * stderr and exit 2; a lab that cannot be built, shown or found is one message and exit 1.
 */
import { SysctlError, sysctlConflict, sysctlName, sysctlValue, type Sysctls } from '../ipvs/sysctls';
import { LabError } from '../lab/lab-error';
import { DEFAULT_LAB_NAME, DEFAULT_RS_COUNT, DEFAULT_SCHEDULER, LAB_MODES, LAB_NAME_PATTERN, MAX_RS_COUNT, VIP, type LabMode } from '../lab/lab-plan';
import type { LabState } from '../lab/lab-state';
import { NetnsError } from '../lab/netns';

export const LAB_USAGE = `usage: uvs lab up --mode dr|nat|tun|fullnat [--rs N] [--scheduler S] [--name NAME] [--no-director]
                 [--sysctl NAME=VALUE]...
       uvs lab status [--name NAME] [--json]
       uvs lab down [--name NAME]
  a client, a router, the director and N real servers (default ${DEFAULT_RS_COUNT}, at most ${MAX_RS_COUNT}) in network
  namespaces uvslab-NAME-*; VIP ${VIP} (tcp 80, tcp 5201, udp 9000); files in /run/uvs-lab/NAME (default NAME: ${DEFAULT_LAB_NAME})
  --sysctl puts "sysctl NAME VALUE" in the director file: expire_nodest_conn=0|1 (what happens to the
  connections of a real server deleted with uvsadm -d: 0 drops their packets, 1 ends them at once) or
  drain_nodest_conn=1 (they finish on it); net.ipv4.vs.NAME is accepted too
`;

class LabUsageError extends Error {}

type Sub = 'up' | 'status' | 'down';
const VALUE_OPTIONS: Readonly<Record<Sub, readonly string[]>> = {
  up: ['--mode', '--rs', '--scheduler', '--name'],
  status: ['--name'],
  down: ['--name'],
};
/** Options that may be given more than once (their values in order). */
const LIST_OPTIONS: Readonly<Record<Sub, readonly string[]>> = {
  up: ['--sysctl'],
  status: [],
  down: [],
};
const FLAG_OPTIONS: Readonly<Record<Sub, readonly string[]>> = {
  up: ['--no-director'],
  status: ['--json'],
  down: [],
};

interface Parsed {
  values: Map<string, string>;
  lists: Map<string, string[]>;
  flags: Set<string>;
}

function parseOptions(sub: Sub, argv: readonly string[]): Parsed {
  const values = new Map<string, string>();
  const lists = new Map<string, string[]>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    let name = argv[i];
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (name.startsWith('--') && eq > 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    if (FLAG_OPTIONS[sub].includes(name)) {
      if (value !== undefined) throw new LabUsageError(`option ${name} takes no value`);
      flags.add(name);
      continue;
    }
    const listed = LIST_OPTIONS[sub].includes(name);
    if (!VALUE_OPTIONS[sub].includes(name) && !listed) {
      throw new LabUsageError(name.startsWith('-') ? `unknown option ${name}` : `unexpected argument '${name}'`);
    }
    if (values.has(name)) throw new LabUsageError(`option ${name} given twice`);
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new LabUsageError(`option ${name} needs a value`);
      value = argv[++i];
    }
    if (value === '') throw new LabUsageError(`option ${name} needs a value`);
    if (listed) lists.set(name, [...(lists.get(name) ?? []), value]);
    else values.set(name, value);
  }
  return { values, lists, flags };
}

function labName(p: Parsed): string {
  const name = p.values.get('--name') ?? DEFAULT_LAB_NAME;
  if (!LAB_NAME_PATTERN.test(name)) {
    throw new LabUsageError(`--name '${name}': use 1 to 24 letters, digits or _`);
  }
  return name;
}

/** --sysctl NAME=VALUE (repeatable), checked as the director file's `sysctl` lines are. */
function sysctlOptions(p: Parsed): Partial<Sysctls> {
  const out: Partial<Sysctls> = {};
  for (const text of p.lists.get('--sysctl') ?? []) {
    const eq = text.indexOf('=');
    if (eq <= 0) throw new LabUsageError(`--sysctl '${text}': expected NAME=VALUE (like expire_nodest_conn=1)`);
    try {
      const name = sysctlName(text.slice(0, eq));
      if (out[name] !== undefined) throw new LabUsageError(`--sysctl ${name} given twice`);
      out[name] = sysctlValue(name, text.slice(eq + 1));
    } catch (e) {
      if (e instanceof SysctlError) throw new LabUsageError(`--sysctl '${text}': ${e.message}`);
      throw e;
    }
  }
  const conflict = sysctlConflict(out);
  if (conflict !== null) throw new LabUsageError(`--sysctl: ${conflict}`);
  return out;
}

function upOptions(p: Parsed): {
  name: string; mode: LabMode; rsCount: number; scheduler: string; director: boolean; sysctls: Partial<Sysctls>;
} {
  const mode = p.values.get('--mode');
  if (mode === undefined) throw new LabUsageError('missing --mode dr|nat|tun|fullnat');
  if (!(LAB_MODES as readonly string[]).includes(mode)) {
    throw new LabUsageError(`--mode '${mode}': expected dr, nat, tun or fullnat`);
  }
  const rsText = p.values.get('--rs') ?? String(DEFAULT_RS_COUNT);
  const rsCount = /^\d{1,3}$/.test(rsText) ? Number(rsText) : NaN;
  if (!(rsCount >= 1 && rsCount <= MAX_RS_COUNT)) {
    throw new LabUsageError(`--rs '${rsText}': expected a number of real servers from 1 to ${MAX_RS_COUNT}`);
  }
  const scheduler = p.values.get('--scheduler') ?? DEFAULT_SCHEDULER;
  // Loaded here only: the registry pulls in every scheduler.
  const { schedulerNames } = require('../sched/registry') as typeof import('../sched/registry');
  const known = schedulerNames();
  if (!known.includes(scheduler)) {
    throw new LabUsageError(`--scheduler '${scheduler}': unknown (known: ${known.join(', ')})`);
  }
  return { name: labName(p), mode: mode as LabMode, rsCount, scheduler, director: !p.flags.has('--no-director'), sysctls: sysctlOptions(p) };
}

function requireRoot(sub: Sub): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new LabError(`lab ${sub} needs root (it makes network namespaces)`);
  }
}

function upReport(s: LabState): string {
  const rs = s.realServers.map((r) => `${r.name} ${r.address}:${r.port}`).join(', ');
  const nameOpt = s.name === DEFAULT_LAB_NAME ? '' : ` --name ${s.name}`;
  const lines = [
    `lab ${s.name} is up: mode ${s.mode}, scheduler ${s.scheduler}, VIP ${s.vip} (tcp ${s.port}, tcp ${s.iperfPort}, udp ${s.udpPort})`,
    `  real servers: ${rs}`,
    `  files:        ${s.dir} (rules, director, lab.json, logs)`,
    s.withDirector
      ? `  director:     pid ${s.processes.find((p) => p.role === 'director')?.pid ?? '?'} in ${s.namespaces.director}, log ${s.directorLog}`
      : `  director:     not started (--no-director)`,
    `try:`,
    `  ip netns exec ${s.clientNamespace} curl http://${s.vip}/`,
    `  UVS_SOCKET=${s.socket} uvsadm -L -n`,
    `  uvs lab status${nameOpt}`,
    `  uvs lab down${nameOpt}`,
  ];
  return lines.join('\n') + '\n';
}

function runSub(sub: Sub, argv: readonly string[]): number {
  const p = parseOptions(sub, argv);
  switch (sub) {
    case 'up': {
      const opts = upOptions(p);
      requireRoot(sub);
      const { labUp } = require('../lab/lab-up') as typeof import('../lab/lab-up');
      process.stdout.write(upReport(labUp(opts)));
      return 0;
    }
    case 'status': {
      const name = labName(p);
      const { labStatus, formatLabStatus } = require('../lab/lab-status') as typeof import('../lab/lab-status');
      const s = labStatus(name);
      process.stdout.write(p.flags.has('--json') ? JSON.stringify(s.json, null, 2) + '\n' : formatLabStatus(s));
      return 0;
    }
    case 'down': {
      const name = labName(p);
      requireRoot(sub);
      const { labDown } = require('../lab/lab-down') as typeof import('../lab/lab-down');
      const r = labDown(name);
      if (!r.found) {
        process.stdout.write(`no lab named '${name}': nothing to remove\n`);
      } else {
        process.stdout.write(
          `lab ${name} is down: ${r.stopped} processes stopped, ${r.namespaces.length} namespaces deleted` +
            `${r.dir === null ? '' : `, ${r.dir} removed`}\n`,
        );
      }
      return 0;
    }
  }
}

export function runLabCommand(argv: string[]): number {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '-h' || sub === '--help' || rest.includes('-h') || rest.includes('--help')) {
    (sub === undefined ? process.stderr : process.stdout).write(LAB_USAGE);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'up' && sub !== 'status' && sub !== 'down') {
    process.stderr.write(`uvs lab: unknown subcommand '${sub}' (expected up, status or down; see uvs lab -h)\n`);
    return 2;
  }
  try {
    return runSub(sub, rest);
  } catch (e) {
    if (e instanceof LabUsageError) {
      process.stderr.write(`uvs lab ${sub}: ${e.message} (see uvs lab -h)\n`);
      return 2;
    }
    if (e instanceof LabError || e instanceof NetnsError) {
      process.stderr.write(`uvs lab ${sub}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
