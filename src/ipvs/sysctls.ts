/**
 * The net.ipv4.vs.* sysctls uvs follows (ipvs-facts 4.6): their names, the kernel's defaults and
 * the values each accepts. A director file sets them with `sysctl NAME VALUE` lines
 * (src/control/director-file.ts); the engine reads the resolved record (Engine.sysctls). A new
 * sysctl joins by adding one entry to SPECS and a field to Sysctls.
 *
 * - expire_nodest_conn (kernel, Linux >= 5.9 semantics): 0 drops the client's packets of a
 *   connection whose real server was deleted; 1 removes every such connection right after the
 *   delete and treats a packet that still meets one as new (a TCP non-SYN is then not scheduled);
 *   with 1, a TCP SYN or SCTP INIT meeting a connection whose real server has weight 0 also ends
 *   it and is scheduled afresh.
 * - drain_nodest_conn (uvs only): 1 lets a deleted real server's connections go on to their end,
 *   as if its weight had been set to 0 (no new connection or persistence template ever picks it).
 *   It contradicts expire_nodest_conn = 1; the two together are refused.
 */

export interface Sysctls {
  expire_nodest_conn: number;
  drain_nodest_conn: number;
}

export type SysctlName = keyof Sysctls;

interface SysctlSpec {
  readonly defaultValue: number;
  /** The values accepted, as the message names them. */
  readonly values: readonly number[];
  readonly valuesText: string;
}

const SPECS: Readonly<Record<SysctlName, SysctlSpec>> = {
  expire_nodest_conn: { defaultValue: 0, values: [0, 1], valuesText: '0 or 1' },
  drain_nodest_conn: { defaultValue: 0, values: [0, 1], valuesText: '0 or 1' },
};

/** Every sysctl uvs knows, in the order messages list them. */
export const SYSCTL_NAMES: readonly SysctlName[] = Object.keys(SPECS) as SysctlName[];

/** The kernel's path prefix, accepted in front of a name (net.ipv4.vs.expire_nodest_conn). */
export const SYSCTL_PREFIX = 'net.ipv4.vs.';

/** A sysctl name or value uvs does not accept, or a combination that contradicts itself. */
export class SysctlError extends Error {}

export function defaultSysctls(): Sysctls {
  return { expire_nodest_conn: SPECS.expire_nodest_conn.defaultValue, drain_nodest_conn: SPECS.drain_nodest_conn.defaultValue };
}

/** The sysctl `text` names (with or without net.ipv4.vs.); throws SysctlError for one uvs does not know. */
export function sysctlName(text: string): SysctlName {
  const bare = text.startsWith(SYSCTL_PREFIX) ? text.slice(SYSCTL_PREFIX.length) : text;
  if (!Object.prototype.hasOwnProperty.call(SPECS, bare)) {
    throw new SysctlError(`unknown sysctl "${text}" (uvs knows ${SYSCTL_NAMES.join(', ')}; the ${SYSCTL_PREFIX} prefix is optional)`);
  }
  return bare as SysctlName;
}

/** The value `text` for sysctl `name`; throws SysctlError when it is not one the sysctl accepts. */
export function sysctlValue(name: SysctlName, text: string): number {
  const spec = SPECS[name];
  const value = /^[0-9]{1,10}$/.test(text) ? Number(text) : NaN;
  if (!spec.values.includes(value)) throw new SysctlError(`bad value "${text}" for ${name} (${spec.valuesText})`);
  return value;
}

/** Why the given values contradict each other, or null when they do not. */
export function sysctlConflict(values: Partial<Sysctls>): string | null {
  if ((values.expire_nodest_conn ?? 0) !== 0 && (values.drain_nodest_conn ?? 0) !== 0) {
    return 'expire_nodest_conn 1 and drain_nodest_conn 1 contradict each other (one ends a deleted real server\'s ' +
      'connections at once, the other lets them finish): set at most one of them';
  }
  return null;
}

/** The defaults with `values` over them, checked; throws SysctlError for a bad value or combination. */
export function resolveSysctls(values: Partial<Sysctls> = {}): Sysctls {
  const s = defaultSysctls();
  for (const name of SYSCTL_NAMES) {
    const v = values[name];
    if (v === undefined) continue;
    if (!SPECS[name].values.includes(v)) throw new SysctlError(`bad value ${v} for ${name} (${SPECS[name].valuesText})`);
    s[name] = v;
  }
  const conflict = sysctlConflict(s);
  if (conflict !== null) throw new SysctlError(conflict);
  return s;
}
