import type { Statement, Tx } from '../db/tx';
import type { MembershipEvent } from './types';

export type Hook = (tx: Tx, event: MembershipEvent) => Promise<void> | void;

/** A statement a hook wants run on a group whose members are about to change (see Hooks.probe). */
export type GroupProbe = (tenantId: string, groupId: string) => Statement;

/**
 * Change hooks of the membership store. Every hook runs inside the transaction of the change, in the
 * order registered; a hook that throws rolls the whole change back (rule 11 of the design).
 */
export class Hooks {
  private readonly hooks: Hook[] = [];
  private readonly groupProbes = new Map<string, GroupProbe>();

  /**
   * Registers a read a hook needs before it acts on a change of a group's members. A change of
   * members runs it right after it has locked the group, in the same round trip (PostgreSQL), and
   * hands the rows to the hooks with its membership events as `probed[name]`: what the read saw then
   * holds until the change commits, as far as the group's lock holds it (the enrollment rules ask
   * whether the group has any assignment: one that is being made waits for the lock).
   */
  probe(name: string, probe: GroupProbe): void {
    this.groupProbes.set(name, probe);
  }

  /** The registered probes' statements for one group, by name. */
  probesFor(tenantId: string, groupId: string): [string, Statement][] {
    return [...this.groupProbes].map(([name, probe]) => [name, probe(tenantId, groupId)]);
  }

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
