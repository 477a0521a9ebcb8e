/**
 * rr and wrr resume their walk after "the dest chosen last time", which the kernel keeps as a
 * pointer into the dest list (or the list head). We keep the dest's id and, as a hint, its index
 * in `svc.list` so that resuming costs O(1). The hint is kept in step by the schedulers' update()
 * hooks; this check only guards against a list changed without telling the scheduler.
 */

/** The list head: the walk starts at the first dest. */
export const AT_HEAD = -1;

/** Where the cursor dest `id` sits in `list` now (`hint` first), or AT_HEAD if it is not there. */
export function cursorPosition(list: readonly number[], hint: number, id: number): number {
  if (id < 0) return AT_HEAD;
  if (list[hint] === id) return hint;
  return list.indexOf(id);
}
