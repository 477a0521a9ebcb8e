/**
 * The numeric id of the group given to `uvs director --group NAME`. Node has no getgrnam():
 * a number is taken as it is, a name is looked up in /etc/group and then through `getent group`
 * (which also asks NSS sources such as LDAP or systemd-userdb).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

export class UnknownGroupError extends Error {}

/** gid of NAME in group-file text ("name:x:gid:members" lines), or null. */
export function groupIdFromText(text: string, name: string): number | null {
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length >= 3 && f[0] === name && /^[0-9]+$/.test(f[2])) return Number(f[2]);
  }
  return null;
}

export function resolveGroup(name: string, groupFile = '/etc/group'): number {
  if (/^[0-9]+$/.test(name)) return Number(name);
  let text = '';
  try {
    text = fs.readFileSync(groupFile, 'utf8');
  } catch {
    // no group file: getent may still know the group
  }
  const fromFile = groupIdFromText(text, name);
  if (fromFile !== null) return fromFile;
  const r = spawnSync('getent', ['group', name], { encoding: 'utf8' });
  const fromNss = r.status === 0 ? groupIdFromText(r.stdout, name) : null;
  if (fromNss !== null) return fromNss;
  throw new UnknownGroupError(`unknown group '${name}'`);
}
