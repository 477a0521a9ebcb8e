/**
 * Binding a connection to its real server and unbinding it on expiry: the connection counts and
 * the OVERLOAD flag's set/clear rules of -x/-y (ipvs-schedulers 1.3, classic rules).
 */
import { DEST_OVERLOAD, type DestTable } from './dest-table';

/** A new (non-template) connection starts inactive; the first state transition may make it active. */
export function bindConnection(dests: DestTable, d: number): void {
  dests.inactConns[d]++;
  const u = dests.uThreshold[d];
  if (u !== 0 && dests.activeConns[d] + dests.inactConns[d] >= u) dests.flags[d] |= DEST_OVERLOAD;
  dests.touch(d);
}

export function unbindConnection(dests: DestTable, d: number, inactive: boolean): void {
  if (inactive) dests.inactConns[d]--;
  else dests.activeConns[d]--;
  const total = dests.activeConns[d] + dests.inactConns[d];
  const l = dests.lThreshold[d];
  const u = dests.uThreshold[d];
  let clear: boolean;
  if (l !== 0) clear = total < l;
  else if (u !== 0) clear = total * 4 < u * 3;
  else clear = true;
  if (clear) dests.flags[d] &= ~DEST_OVERLOAD;
  dests.touch(d);
}
