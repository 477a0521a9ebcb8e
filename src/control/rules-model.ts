/**
 * The kernel side of ipvsadm, on the configuration model: applies one parsed command to a
 * RulesConfig with the checks and answers of Linux IPVS (ip_vs_ctl.c), so a rules file (or a
 * uvsadm command) ends in the state the same commands would leave in the kernel. Refusals are
 * IpvsadmError with ipvsadm's message for the kernel's errno and exit status 255.
 */
import {
  ForwardMethod,
  type DestConfig,
  type IpAddress,
  type RulesConfig,
  type ServiceConfig,
  type ServiceKey,
} from './config';
import { ipEquals } from './ip-address';
import type { DestAddress, IpvsadmCommand, ServiceSettings } from './ipvsadm-args';
import { EXIT_FAILURE, IpvsadmError, KERNEL_MESSAGES } from './ipvsadm-error';

/** The schedulers of Linux 6.x IPVS, plus `none` (no scheduler bound). */
export const KERNEL_SCHEDULERS: readonly string[] = [
  'rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos', 'none',
];
/** Persistence engines the kernel knows. */
export const KERNEL_PERSISTENCE_ENGINES: readonly string[] = ['sip'];

export interface ApplyOptions {
  /** Scheduler names accepted by -A/-E (default KERNEL_SCHEDULERS). */
  schedulers?: readonly string[];
  persistenceEngines?: readonly string[];
}

/** The commands that change the configuration. */
export type ConfigCommand = Extract<
  IpvsadmCommand,
  {
    kind:
      | 'add-service'
      | 'edit-service'
      | 'delete-service'
      | 'flush'
      | 'add-server'
      | 'edit-server'
      | 'delete-server'
      | 'set'
      | 'add-laddr'
      | 'del-laddr';
  }
>;

const CONFIG_KINDS: ReadonlySet<string> = new Set<ConfigCommand['kind']>([
  'add-service', 'edit-service', 'delete-service', 'flush', 'add-server', 'edit-server', 'delete-server', 'set',
  'add-laddr', 'del-laddr',
]);

export function isConfigCommand(c: IpvsadmCommand): c is ConfigCommand {
  return CONFIG_KINDS.has(c.kind);
}

export function emptyRules(): RulesConfig {
  return { services: [], timeouts: { tcp: 0, tcpFin: 0, udp: 0 } };
}

/** A deep copy (addresses are immutable values and are shared). */
export function cloneRules(c: RulesConfig): RulesConfig {
  return {
    services: c.services.map((s) => ({ ...s, key: { ...s.key }, laddrs: [...s.laddrs], dests: s.dests.map((d) => ({ ...d })) })),
    timeouts: { ...c.timeouts },
  };
}

export function serviceKeyEquals(a: ServiceKey, b: ServiceKey): boolean {
  if (a.kind === 'fwmark' || b.kind === 'fwmark') {
    return a.kind === 'fwmark' && b.kind === 'fwmark' && a.fwmark === b.fwmark && a.af === b.af;
  }
  return a.protocol === b.protocol && a.port === b.port && ipEquals(a.addr, b.addr);
}

export function serviceFamily(key: ServiceKey): 4 | 6 {
  return key.kind === 'fwmark' ? key.af : key.addr.af;
}

export function findService(c: RulesConfig, key: ServiceKey): ServiceConfig | undefined {
  return c.services.find((s) => serviceKeyEquals(s.key, key));
}

function findDest(s: ServiceConfig, d: DestAddress): number {
  return s.dests.findIndex((x) => x.port === d.port && ipEquals(x.addr, d.addr));
}

function refuse(message: string): never {
  throw new IpvsadmError(message, EXIT_FAILURE);
}

/**
 * Applies one command, in place. On a refusal nothing has been changed and IpvsadmError is
 * thrown. Returns the service the command touched (null for flush and set).
 */
export function applyCommand(c: RulesConfig, cmd: ConfigCommand, opts: ApplyOptions = {}): ServiceConfig | null {
  switch (cmd.kind) {
    case 'flush':
      c.services.length = 0;
      return null;
    case 'set':
      // 0 keeps the current value
      if (cmd.timeouts.tcp !== 0) c.timeouts.tcp = cmd.timeouts.tcp;
      if (cmd.timeouts.tcpFin !== 0) c.timeouts.tcpFin = cmd.timeouts.tcpFin;
      if (cmd.timeouts.udp !== 0) c.timeouts.udp = cmd.timeouts.udp;
      return null;
    case 'add-service': {
      if (findService(c, cmd.service) !== undefined) refuse(KERNEL_MESSAGES.serviceExists);
      checkSettings(cmd.settings, serviceFamily(cmd.service), opts);
      const s: ServiceConfig = { key: cmd.service, ...cmd.settings, laddrs: [], dests: [] };
      c.services.push(s);
      return s;
    }
    case 'edit-service': {
      const s = findService(c, cmd.service) ?? refuse(KERNEL_MESSAGES.noSuchService);
      checkSettings(cmd.settings, serviceFamily(cmd.service), opts);
      // A full definition: whatever -E leaves out returns to its default.
      Object.assign(s, cmd.settings);
      return s;
    }
    case 'delete-service': {
      const s = findService(c, cmd.service) ?? refuse(KERNEL_MESSAGES.noSuchService);
      c.services.splice(c.services.indexOf(s), 1);
      return s;
    }
    case 'add-server': {
      const s = findService(c, cmd.service) ?? refuse(KERNEL_MESSAGES.serviceNotDefined);
      checkDestFamily(s, cmd.dest);
      checkDestValues(cmd.dest);
      if (findDest(s, cmd.dest) >= 0) refuse(KERNEL_MESSAGES.destExists);
      if (!isUnicast(cmd.dest.addr)) refuse(KERNEL_MESSAGES.invalid);
      s.dests.unshift({ ...cmd.dest }); // IPVS list order: the newest at the head
      return s;
    }
    case 'edit-server': {
      const s = findService(c, cmd.service) ?? refuse(KERNEL_MESSAGES.serviceNotDefined);
      checkDestFamily(s, cmd.dest);
      checkDestValues(cmd.dest);
      const i = findDest(s, cmd.dest);
      if (i < 0) refuse(KERNEL_MESSAGES.noSuchDest);
      s.dests[i] = { ...cmd.dest }; // edited in place: the list position is kept
      return s;
    }
    case 'delete-server': {
      const s = findService(c, cmd.service) ?? refuse(KERNEL_MESSAGES.serviceNotDefined);
      const i = findDest(s, cmd.dest);
      if (i < 0) refuse(KERNEL_MESSAGES.noSuchDest);
      s.dests.splice(i, 1);
      return s;
    }
    case 'add-laddr': {
      const s = findService(c, cmd.service) ?? refuse(KERNEL_MESSAGES.serviceNotDefined);
      if (cmd.laddr.af !== serviceFamily(s.key)) refuse(KERNEL_MESSAGES.laddrFamily);
      if (s.laddrs.some((a) => ipEquals(a, cmd.laddr))) refuse(KERNEL_MESSAGES.laddrExists);
      s.laddrs.push(cmd.laddr);
      return s;
    }
    case 'del-laddr': {
      const s = findService(c, cmd.service) ?? refuse(KERNEL_MESSAGES.serviceNotDefined);
      const i = s.laddrs.findIndex((a) => ipEquals(a, cmd.laddr));
      if (i < 0) refuse(KERNEL_MESSAGES.noSuchLaddr);
      s.laddrs.splice(i, 1);
      return s;
    }
  }
}

function checkSettings(settings: ServiceSettings, af: 4 | 6, opts: ApplyOptions): void {
  const schedulers = opts.schedulers ?? KERNEL_SCHEDULERS;
  const engines = opts.persistenceEngines ?? KERNEL_PERSISTENCE_ENGINES;
  if (!schedulers.includes(settings.scheduler)) refuse(KERNEL_MESSAGES.schedulerNotFound);
  if (settings.pe !== null && !engines.includes(settings.pe)) refuse(KERNEL_MESSAGES.schedulerNotFound);
  if (af === 6 && (settings.netmask < 1 || settings.netmask > 128)) refuse(KERNEL_MESSAGES.invalid);
}

/** Only a tunnel may reach a real server of the other family (ipvsadm checks this first). */
function checkDestFamily(s: ServiceConfig, d: DestConfig): void {
  if (d.addr.af !== serviceFamily(s.key) && d.method !== ForwardMethod.Tunnel) refuse(KERNEL_MESSAGES.invalid);
}

function checkDestValues(d: DestConfig): void {
  if (d.weight < 0 || d.lThreshold > d.uThreshold) refuse(KERNEL_MESSAGES.outOfRange);
  if (d.method === ForwardMethod.Tunnel && d.tunType === 'gue' && d.tunPort === 0) refuse(KERNEL_MESSAGES.invalid);
}

/**
 * The kernel's address check for a new real server (inet_addr_type / ipv6_addr_type), without
 * the routing table: IPv4 refuses 0.0.0.0/8, 224.0.0.0/4 and 255.255.255.255; IPv6 refuses ::,
 * ff00::/8, ::ffff:0:0/96 and fe80::/10.
 */
export function isUnicast(a: IpAddress): boolean {
  const b = a.bytes;
  if (a.af === 4) {
    if (b[0] === 0 || (b[0] & 0xf0) === 0xe0) return false;
    return !(b[0] === 255 && b[1] === 255 && b[2] === 255 && b[3] === 255);
  }
  if (b[0] === 0xff) return false;
  if (b[0] === 0xfe && (b[1] & 0xc0) === 0x80) return false;
  let firstTenZero = true;
  for (let i = 0; i < 10; i++) if (b[i] !== 0) firstTenZero = false;
  if (firstTenZero && b[10] === 0xff && b[11] === 0xff) return false;
  return !(firstTenZero && b[10] === 0 && b[11] === 0 && b[12] === 0 && b[13] === 0 && b[14] === 0 && b[15] === 0);
}
