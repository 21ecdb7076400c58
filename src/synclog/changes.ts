import type { Tx } from '../db/tx';
import { now } from '../db/tables';
import type { Hooks } from '../membership/hooks';
import type { Cause } from '../membership/types';

export const CHANGE_KINDS = [
  'user.created',
  'user.updated',
  'user.deactivated',
  'user.reactivated',
  'user.deleted',
  'group.created',
  'group.updated',
  'group.deleted',
  'membership.added',
  'membership.removed',
  'assignment.created',
  'assignment.updated',
  'assignment.removed',
  'enrollment.created',
  'enrollment.reactivated',
  'enrollment.suspended',
  'enrollment.completed',
  'enrollment.reopened',
] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];

/** Kinds whose ids are users: those are indexed for "every entry that touched this user". */
const USER_KINDS: ReadonlySet<ChangeKind> = new Set([
  'user.created',
  'user.updated',
  'user.deactivated',
  'user.reactivated',
  'user.deleted',
  'membership.added',
  'membership.removed',
]);

/** Where the rules and stores report what they changed, inside the transaction that changed it. */
export interface ChangeSink {
  /** Records a change; the rows are written with the transaction's other deferred rows, just before it commits. */
  record(tx: Tx, tenantId: string, cause: Cause, kind: ChangeKind, ids: readonly string[], groupId?: string): void;
}

export interface ChangeRecorderOptions {
  /** Off: nothing is written (the bench measures Roster with and without the log). */
  enabled: boolean;
  /** How many ids of one change are kept (the count is always exact). */
  maxIds: number;
  /** Called once the transaction has committed, per kind (metrics count only what really happened). */
  onCommitted?: (kind: ChangeKind, count: number) => void;
}

/**
 * Records changes in the sync log: one `sync_changes` row per change (kind, count, the first ids),
 * written in the caller's transaction, so the record commits or rolls back with the change itself.
 * Changes without a request id (a test calling the store directly) are counted, not written.
 */
export class ChangeRecorder implements ChangeSink {
  /** Per transaction and kind: how many changed, and how many ids are listed so far. */
  private readonly perTx = new WeakMap<Tx, Map<ChangeKind, { count: number; listed: number }>>();

  constructor(private readonly options: ChangeRecorderOptions) {}

  record(tx: Tx, tenantId: string, cause: Cause, kind: ChangeKind, ids: readonly string[], groupId?: string): void {
    if (!ids.length) return;
    const tally = this.tallyOf(tx, kind);
    // A fan-out reports in chunks; the limit on ids holds for the whole transaction, not each chunk.
    const listed = ids.slice(0, Math.max(0, this.options.maxIds - tally.listed));
    tally.count += ids.length;
    tally.listed += listed.length;
    if (!this.options.enabled || !cause.requestId) return;
    const at = now();
    const users = USER_KINDS.has(kind) ? [...new Set(listed)] : [];
    // One user (a POST, a PUT, a one-member PATCH): one row. Several: one row, and one per user.
    tx.insertLater('sync_changes', [
      {
        tenant_id: tenantId,
        request_id: cause.requestId,
        kind,
        group_id: groupId ?? null,
        user_id: users.length === 1 ? users[0] : null,
        count: ids.length,
        ids: JSON.stringify(listed),
        at,
      },
    ]);
    if (users.length < 2) return;
    tx.insertLater(
      'sync_change_users',
      users.map((userId) => ({ tenant_id: tenantId, user_id: userId, request_id: cause.requestId, at })),
    );
  }

  private tallyOf(tx: Tx, kind: ChangeKind): { count: number; listed: number } {
    let kinds = this.perTx.get(tx);
    if (!kinds) {
      const fresh = new Map<ChangeKind, { count: number; listed: number }>();
      this.perTx.set(tx, fresh);
      kinds = fresh;
      const onCommitted = this.options.onCommitted;
      if (onCommitted) tx.afterCommit(() => fresh.forEach((t, k) => onCommitted(k, t.count))); // rolled back: nothing happened
    }
    let tally = kinds.get(kind);
    if (!tally) {
      tally = { count: 0, listed: 0 };
      kinds.set(kind, tally);
    }
    return tally;
  }
}

/** The membership store's deltas, recorded as they happen (a hook: same transaction). */
export function registerChangeLog(hooks: Hooks, changes: ChangeSink): void {
  hooks.register((tx, event) => {
    switch (event.type) {
      case 'user.created':
      case 'user.updated':
        return changes.record(tx, event.tenantId, event.cause, event.type, [event.user.id]);
      case 'user.deactivated':
      case 'user.reactivated':
      case 'user.deleted':
        return changes.record(tx, event.tenantId, event.cause, event.type, [event.userId]);
      case 'group.created':
      case 'group.updated':
        return changes.record(tx, event.tenantId, event.cause, event.type, [event.group.id], event.group.id);
      case 'group.deleted':
        return changes.record(tx, event.tenantId, event.cause, event.type, [event.groupId], event.groupId);
      case 'membership.added':
      case 'membership.removed':
        return changes.record(tx, event.tenantId, event.cause, event.type, event.userIds, event.groupId);
    }
  });
}
