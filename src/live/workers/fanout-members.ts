/**
 * Which worker sits at which position of the links' fanout groups. The kernel keeps a group's
 * members in an array: a socket that joins goes to the end; one that leaves is replaced by the
 * last member. Every worker opens its links in the same order and closes them all when it ends,
 * and the master starts one worker at a time, so every link's group has the same arrangement,
 * which this class follows from what the master sees (a worker ready, a worker gone).
 *
 * positions() is the table of the fanout program: for each worker number (slot), the position
 * its packets go to. A slot whose worker is gone is lent to a live worker meanwhile, so every
 * position the program returns exists.
 */
export class FanoutMembers {
  /** Worker number at each position. */
  private readonly members: number[] = [];

  constructor(readonly workers: number) {}

  /** Worker numbers in position order. */
  get order(): readonly number[] {
    return this.members;
  }

  has(worker: number): boolean {
    return this.members.includes(worker);
  }

  /** Worker `worker`'s sockets joined (appended at the end). */
  join(worker: number): void {
    if (this.members.includes(worker)) throw new Error(`internal error: worker ${worker} joined twice`);
    this.members.push(worker);
  }

  /** Worker `worker`'s sockets closed: the last member takes its position. */
  leave(worker: number): void {
    const at = this.members.indexOf(worker);
    if (at < 0) return;
    const last = this.members.pop() as number;
    if (at < this.members.length) this.members[at] = last;
  }

  /** The program's table now: positions[slot]. */
  positions(): number[] {
    return tableFor(this.members, this.workers);
  }
}

function tableFor(members: readonly number[], workers: number): number[] {
  const out: number[] = [];
  for (let slot = 0; slot < workers; slot++) {
    const at = members.indexOf(slot);
    out.push(at >= 0 ? at : members.length === 0 ? 0 : slot % members.length);
  }
  return out;
}
