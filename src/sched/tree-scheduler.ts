/**
 * What lc, wlc, sed, nq, fo and ovf share: a tournament tree over the destination list answers
 * from TREE_FROM dests on (dest-tournament.ts), and the kernel's own walk, which each scheduler
 * writes out as the kernel does, answers for shorter lists and the states where the tree is not exact.
 */
import { DestTournament, NEEDS_WALK, type TournamentRule } from './dest-tournament';
import type { DestChange, SchedService, Scheduler } from './scheduler';

export abstract class TreeScheduler implements Scheduler {
  abstract readonly name: string;
  private readonly tree: DestTournament;

  constructor(protected readonly svc: SchedService, rule: TournamentRule, treeFrom: number) {
    this.tree = new DestTournament(svc, rule, treeFrom);
  }

  schedule(): number {
    const id = this.tree.winner();
    return id !== NEEDS_WALK ? id : this.walk();
  }

  /** The kernel's walk over the list, as is. */
  protected abstract walk(): number;

  update(change: DestChange, destId: number): void {
    if (change === 'edit') this.tree.destChanged(destId);
    else this.tree.listChanged();
  }
}
