/**
 * The two decisions lblc and lblcr share besides their cache (kernel ip_vs_lblc.c / ip_vs_lblcr.c,
 * which each carry an identical copy): the "pick from all" fallback, which is wlc's rule, and the
 * locality-overload test that decides when a cached dest must give way. Both read only the
 * DestTable and the list, and allocate nothing.
 */
import { DEST_OVERLOAD } from '../ipvs/dest-table';
import { destOverhead, moreLoadedPerWeight } from './overhead';
import type { SchedService } from './scheduler';

/**
 * wlc over the whole list: skipping OVERLOAD dests, the first with weight > 0 is the initial
 * choice; each later non-OVERLOAD dest replaces it when strictly less loaded per weight (so ties
 * keep the earlier, newer dest, and a later weight-0 dest cannot win). -1 when nothing qualifies.
 */
export function pickLeastLoaded(svc: SchedService): number {
  const list = svc.list;
  const dests = svc.dests;
  const { weight, flags } = dests;
  const n = list.length;
  let i = 0;
  while (i < n && ((flags[list[i]] & DEST_OVERLOAD) !== 0 || weight[list[i]] <= 0)) i++;
  if (i === n) return -1;
  let least = list[i];
  let leastOverhead = destOverhead(dests, least);
  for (i++; i < n; i++) {
    const id = list[i];
    if ((flags[id] & DEST_OVERLOAD) !== 0) continue;
    const overhead = destOverhead(dests, id);
    if (moreLoadedPerWeight(leastOverhead, weight[least], overhead, weight[id])) {
      least = id;
      leastOverhead = overhead;
    }
  }
  return least;
}

/**
 * The kernel's is_overloaded() of lblc/lblcr: `dest` has more active connections than its weight
 * AND some dest in the service list has `activeconns * 2 < weight` (somewhere clearly less busy to
 * go). Neither the OVERLOAD flag nor inactive connections play a part. `activeconns * 2` is the
 * kernel's int product, so it wraps like one (only for absurd counters).
 */
export function isLocalityOverloaded(svc: SchedService, dest: number): boolean {
  const { activeConns, weight } = svc.dests;
  if (activeConns[dest] <= weight[dest]) return false;
  const list = svc.list;
  for (let i = 0; i < list.length; i++) {
    const id = list[i];
    if (activeConns[id] << 1 < weight[id]) return true;
  }
  return false;
}
