/**
 * The two files the lab's director starts from: the rules (ipvsadm -S -n lines, as `uvs director
 * --rules` loads them) and the director file (its links with the MACs the kernel gave the veths,
 * its addresses and its default route; no neighbour lines: the director resolves those itself;
 * the `sysctl` lines of `uvs lab up --sysctl`).
 */
import { SYSCTL_NAMES, type Sysctls } from '../ipvs/sysctls';
import {
  DIRECTOR_BACK_ADDR,
  DIRECTOR_FRONT_ADDR,
  FULLNAT_LADDRS,
  PREFIX_LEN,
  ROUTER_FRONT_ADDR,
  VIP,
  type LabMode,
  type LabSpec,
} from './lab-plan';

/** The forwarding switch of `ipvsadm -a` per mode. */
const FORWARD_SWITCH: Readonly<Record<LabMode, string>> = {
  dr: '-g',
  nat: '-m',
  tun: '-i',
  fullnat: '--fullnat',
};

export function rulesText(spec: LabSpec): string {
  const lines = [`# uvs lab ${spec.name}: ${spec.mode}, ${spec.scheduler}, ${spec.rsCount} real servers (written by uvs lab up)`];
  for (const s of spec.services) {
    const svc = `${s.protocol === 'tcp' ? '-t' : '-u'} ${VIP}:${s.port}`;
    lines.push(`-A ${svc} -s ${spec.scheduler}${s.persistence > 0 ? ` -p ${s.persistence}` : ''}`);
    for (const rs of spec.realServers) {
      const tunnel = spec.mode === 'tun' ? ' --tun-type ipip' : '';
      lines.push(`-a ${svc} -r ${rs.address}:${s.rsPort} ${FORWARD_SWITCH[spec.mode]} -w 1${tunnel}`);
    }
    if (spec.mode === 'fullnat') {
      for (const laddr of FULLNAT_LADDRS) lines.push(`-P ${svc} -z ${laddr}`);
    }
  }
  return lines.join('\n') + '\n';
}

export interface DirectorLink {
  mac: string;
  mtu: number;
}

export interface DirectorMacs {
  /** The director's front link (towards the router). */
  eth0: DirectorLink;
  /** The director's back link (on the bridge with the real servers). */
  eth1: DirectorLink;
}

export function directorText(spec: LabSpec, macs: DirectorMacs, sysctls: Partial<Sysctls> = {}): string {
  const lines = [
    `# uvs lab ${spec.name}: the director's links as the lab made them (written by uvs lab up)`,
    `link eth0 mac ${macs.eth0.mac} mtu ${macs.eth0.mtu}`,
    `link eth1 mac ${macs.eth1.mac} mtu ${macs.eth1.mtu}`,
    `addr ${DIRECTOR_FRONT_ADDR}/${PREFIX_LEN} dev eth0`,
    `addr ${DIRECTOR_BACK_ADDR}/${PREFIX_LEN} dev eth1`,
  ];
  if (spec.mode === 'fullnat') {
    for (const laddr of FULLNAT_LADDRS) lines.push(`addr ${laddr}/${PREFIX_LEN} dev eth1`);
  }
  lines.push(`route default via ${ROUTER_FRONT_ADDR} dev eth0`);
  for (const name of SYSCTL_NAMES) {
    const value = sysctls[name];
    if (value !== undefined) lines.push(`sysctl ${name} ${value}`);
  }
  return lines.join('\n') + '\n';
}
