/**
 * Load measures shared by the connection-counting schedulers (wlc now; lc, sed, nq, lblc, lblcr,
 * twos later). Everything here mirrors the kernel's integer arithmetic exactly.
 */
import type { DestTable } from '../ipvs/dest-table';

/**
 * The classic IPVS overhead of a dest: `activeconns * 256 + inactconns`, as the kernel's `int`
 * (a 32-bit signed value that wraps; only absurd counters, active >= 2^23, ever wrap). The 2026+
 * variant (active * 256 + total) is deliberately not offered: uvs implements the classic rule.
 */
export function destOverhead(dests: DestTable, id: number): number {
  return ((dests.activeConns[id] << 8) + dests.inactConns[id]) | 0;
}

/**
 * True when A is strictly more loaded per unit of weight than B, i.e. `loadA * weightB >
 * loadB * weightA`, compared as exact 64-bit signed products the way the kernel does
 * (`(__s64)loh * weight`). Nothing is ever divided. Loads and weights must be 32-bit signed
 * integers (what destOverhead and the DestTable's Int32Arrays give).
 *
 * Why plain numbers are enough in the normal case: a load is an int32, so |load| <= 2^31, and
 * ipvsadm limits weights to 0..65535 (< 2^16); each product is therefore below 2^47 in magnitude,
 * well inside the 2^53 range where doubles represent integers exactly, so `*` and `>` give the
 * kernel's answer bit for bit. The kernel itself accepts any weight >= 0 (up to 2^31 - 1) and the
 * DestTable stores int32, so a larger weight takes the split path below instead of risking a
 * rounded product: with w = hi * 2^16 + lo, every partial product stays below 2^48, and the
 * final comparison `hiDiff * 2^16 > -loDiff` compares two exactly represented doubles.
 */
export function moreLoadedPerWeight(loadA: number, weightA: number, loadB: number, weightB: number): boolean {
  if (((weightA | weightB) & ~0xffff) === 0) return loadA * weightB > loadB * weightA;
  const hiDiff = loadA * (weightB >> 16) - loadB * (weightA >> 16);
  const loDiff = loadA * (weightB & 0xffff) - loadB * (weightA & 0xffff);
  return hiDiff * 65536 > -loDiff;
}
