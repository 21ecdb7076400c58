import type { Tx } from '../db/tx';
import type { MembershipEvent } from './types';

export type Hook = (tx: Tx, event: MembershipEvent) => Promise<void> | void;

/**
 * Change hooks of the membership store. Every hook runs inside the transaction of the change, in the
 * order registered; a hook that throws rolls the whole change back (rule 11 of the design).
 */
export class Hooks {
  private readonly hooks: Hook[] = [];

  register(hook: Hook): () => void {
    this.hooks.push(hook);
    return () => {
      const i = this.hooks.indexOf(hook);
      if (i >= 0) this.hooks.splice(i, 1);
    };
  }

  async emit(tx: Tx, event: MembershipEvent): Promise<void> {
    for (const hook of this.hooks) await hook(tx, event);
  }
}
