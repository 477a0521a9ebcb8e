/**
 * Builds the lab's namespaces and links as notes/issue6.md plans them:
 *
 *   client eth0 ── c0 router f0 ── eth0 director eth1 ── d0 ┐
 *                     router b0 ─────────────────────── r0 ├ br0 (switch)
 *                     rsI eth0 ──────────────────────── sI ┘
 *
 * with the addresses, routes and sysctls every mode shares, then each real server as its mode
 * needs. Synchronous: a few dozen iproute2 commands. IPv6 is off on every lab link so the
 * director's links carry only what the lab sends (no router solicitations, DAD or MLD).
 */
import { addNamespace, addVeth, nsIp, nsRun, nsSysctl } from './netns';
import {
  CLIENT_ADDR,
  DIRECTOR_BACK_ADDR,
  DIRECTOR_FRONT_ADDR,
  FULLNAT_LADDRS,
  PREFIX_LEN,
  ROUTER_BACK_ADDR,
  ROUTER_CLIENT_ADDR,
  ROUTER_FRONT_ADDR,
  VIP,
  allNamespaces,
  type LabSpec,
  type RealServerPlan,
} from './lab-plan';

const cidr = (addr: string): string => `${addr}/${PREFIX_LEN}`;

/** MTU of the back network in a TUN-mode lab: room for an IPIP header around a 1500-byte packet. */
export const TUN_BACK_MTU = 1600;

/** Makes every namespace, link, address and route of the lab (not the processes). */
export function buildTopology(spec: LabSpec, onNamespace: (ns: string) => void = () => undefined): void {
  const n = spec.namespaces;
  for (const ns of allNamespaces(spec)) {
    addNamespace(ns);
    onNamespace(ns);
    baseSysctls(ns);
  }
  nsIp(n.switch, 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0', 'mcast_snooping', '0');
  nsIp(n.switch, 'link', 'set', 'br0', 'up');
  plainSwitch(n.switch);

  addVeth(n.client, 'eth0', n.router, 'c0');
  addVeth(n.router, 'f0', n.director, 'eth0');
  addVeth(n.director, 'eth1', n.switch, 'd0');
  addVeth(n.router, 'b0', n.switch, 'r0');
  for (const ns of ['d0', 'r0']) nsIp(n.switch, 'link', 'set', ns, 'master', 'br0');
  spec.realServers.forEach((rs, i) => {
    const port = `s${i + 1}`;
    addVeth(rs.namespace, 'eth0', n.switch, port);
    nsIp(n.switch, 'link', 'set', port, 'master', 'br0');
  });
  if (spec.mode === 'tun') {
    // IPIP adds 20 bytes to every packet: the back network carries 1520-byte packets, as LVS-TUN
    // sites give their tunnel network a larger MTU, so full-size client packets fit once encapsulated.
    const back: [string, string][] = [[n.director, 'eth1'], [n.switch, 'd0'], [n.switch, 'r0'], [n.router, 'b0'], [n.switch, 'br0']];
    spec.realServers.forEach((rs, i) => back.push([rs.namespace, 'eth0'], [n.switch, `s${i + 1}`]));
    for (const [ns, dev] of back) nsIp(ns, 'link', 'set', dev, 'mtu', String(TUN_BACK_MTU));
  }

  nsIp(n.client, 'addr', 'add', cidr(CLIENT_ADDR), 'dev', 'eth0');
  nsIp(n.client, 'route', 'add', 'default', 'via', ROUTER_CLIENT_ADDR);

  nsIp(n.router, 'addr', 'add', cidr(ROUTER_CLIENT_ADDR), 'dev', 'c0');
  nsIp(n.router, 'addr', 'add', cidr(ROUTER_FRONT_ADDR), 'dev', 'f0');
  nsIp(n.router, 'addr', 'add', cidr(ROUTER_BACK_ADDR), 'dev', 'b0');
  nsIp(n.router, 'route', 'add', `${VIP}/32`, 'via', DIRECTOR_FRONT_ADDR);
  nsSysctl(n.router, 'net.ipv4.ip_forward', 1);

  nsIp(n.director, 'addr', 'add', cidr(DIRECTOR_FRONT_ADDR), 'dev', 'eth0');
  nsIp(n.director, 'addr', 'add', cidr(DIRECTOR_BACK_ADDR), 'dev', 'eth1');
  nsIp(n.director, 'route', 'add', 'default', 'via', ROUTER_FRONT_ADDR, 'dev', 'eth0');
  nsSysctl(n.director, 'net.ipv4.ip_forward', 1);
  if (spec.mode === 'fullnat') {
    // The kernel owns the local addresses too, so it answers ARP for them on the back link.
    for (const laddr of FULLNAT_LADDRS) nsIp(n.director, 'addr', 'add', cidr(laddr), 'dev', 'eth1');
  }

  for (const rs of spec.realServers) {
    nsIp(rs.namespace, 'addr', 'add', cidr(rs.address), 'dev', 'eth0');
    configureRealServer(spec, rs);
  }
}

/**
 * Set before any link exists, so every link inherits them through `default`: no IPv6, and no
 * reverse-path filter (replies in DR, TUN and NAT take another way than the requests did).
 */
function baseSysctls(ns: string): void {
  for (const scope of ['all', 'default']) {
    nsSysctl(ns, `net.ipv6.conf.${scope}.disable_ipv6`, 1);
    nsSysctl(ns, `net.ipv4.conf.${scope}.rp_filter`, 0);
  }
}

/**
 * The switch forwards frames and nothing more: where the kernel has bridge netfilter (br_netfilter),
 * every bridged IPv4 frame would also go through the IP hooks of the switch namespace, as no
 * hardware switch does; that costs a quarter of a core at the live bench's rates, billed to
 * whichever process transmits onto the bridge. Off when present (the sysctls exist per namespace
 * only where the module is loaded).
 */
function plainSwitch(ns: string): void {
  const dir = '/proc/sys/net/bridge';
  nsRun(ns, 'sh', '-c', `for f in ${dir}/bridge-nf-call-iptables ${dir}/bridge-nf-call-ip6tables ${dir}/bridge-nf-call-arptables; do [ -e "$f" ] && echo 0 > "$f"; done; true`);
}

/** What each mode needs on a real server (the TUN decapsulator is started with the processes). */
export function configureRealServer(spec: LabSpec, rs: RealServerPlan): void {
  const ns = rs.namespace;
  switch (spec.mode) {
    case 'dr':
    case 'tun':
      // The VIP is local (so the real server accepts packets for it) but never announced.
      nsIp(ns, 'addr', 'add', `${VIP}/32`, 'dev', 'lo');
      for (const scope of ['all', 'eth0']) {
        nsSysctl(ns, `net.ipv4.conf.${scope}.arp_ignore`, 1);
        nsSysctl(ns, `net.ipv4.conf.${scope}.arp_announce`, 2);
      }
      nsIp(ns, 'route', 'add', 'default', 'via', ROUTER_BACK_ADDR);
      break;
    case 'nat':
      // Replies must pass the director so it can rewrite them back to the VIP.
      nsIp(ns, 'route', 'add', 'default', 'via', DIRECTOR_BACK_ADDR);
      break;
    case 'fullnat':
      // Replies go to the local addresses, which are on-link; the default is for anything else.
      nsIp(ns, 'route', 'add', 'default', 'via', ROUTER_BACK_ADDR);
      break;
  }
}
