/**
 * Runs a packet through its connection's protocol state machine (ipvs-facts 4.2-4.4) and
 * keeps the real server's active/inactive counts in step. Returns the entry's new timeout (ms).
 */
import type { ParsedFrame } from '../wire/parsed-frame';
import { IPPROTO_SCTP, IPPROTO_TCP } from '../wire/parsed-frame';
import { CONN_F_INACTIVE, CONN_F_NOOUTPUT, type ConnTable } from './conn-table';
import type { DestTable } from './dest-table';
import { SCTP_ESTABLISHED, SCTP_EVENT_COUNT, SCTP_INPUT, SCTP_INPUT_ONLY, SCTP_OUTPUT, sctpEvent } from './sctp-states';
import { TCP_INPUT, TCP_INPUT_ONLY, TCP_OUTPUT, TCP_STATE_ACTIVE, tcpEvent } from './tcp-states';
import type { Timeouts } from './timeouts';

export const DIR_IN = 0;
export const DIR_OUT = 1;

export function transition(
  conns: ConnTable, slot: number, pf: ParsedFrame, direction: number, dests: DestTable, timeouts: Timeouts,
): number {
  const proto = conns.proto(slot);
  if (proto === IPPROTO_TCP) {
    const flags = conns.flags(slot);
    const table = (flags & CONN_F_NOOUTPUT) !== 0 ? TCP_INPUT_ONLY : direction === DIR_IN ? TCP_INPUT : TCP_OUTPUT;
    const state = conns.state(slot);
    const next = table[state * 5 + tcpEvent(pf.tcpFlags)];
    if (next !== state) {
      moveCounts(conns, slot, dests, TCP_STATE_ACTIVE[next] === 1);
      conns.setState(slot, next);
    }
    return timeouts.tcp[next];
  }
  if (proto === IPPROTO_SCTP) {
    const flags = conns.flags(slot);
    const table = (flags & CONN_F_NOOUTPUT) !== 0 ? SCTP_INPUT_ONLY : direction === DIR_IN ? SCTP_INPUT : SCTP_OUTPUT;
    const state = conns.state(slot);
    const next = table[state * SCTP_EVENT_COUNT + sctpEvent(pf.sctpChunk)];
    if (next !== state) {
      moveCounts(conns, slot, dests, next === SCTP_ESTABLISHED);
      conns.setState(slot, next);
    }
    return timeouts.sctp[next];
  }
  // UDP: one state, never active.
  return timeouts.udp;
}

/** Moves the entry between its dest's active and inactive counts when its activity changed. */
function moveCounts(conns: ConnTable, slot: number, dests: DestTable, active: boolean): void {
  const d = conns.dest(slot);
  const inactive = (conns.flags(slot) & CONN_F_INACTIVE) !== 0;
  if (inactive && active) {
    conns.setFlags(slot, conns.flags(slot) & ~CONN_F_INACTIVE);
    dests.inactConns[d]--;
    dests.activeConns[d]++;
    dests.touch(d);
  } else if (!inactive && !active) {
    conns.setFlags(slot, conns.flags(slot) | CONN_F_INACTIVE);
    dests.activeConns[d]--;
    dests.inactConns[d]++;
    dests.touch(d);
  }
}
