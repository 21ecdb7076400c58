import type { Tx } from '../db/tx';
import { chunks, now } from '../db/tables';
import type { Cause } from '../membership/types';
import { newId } from '../ids';

export type EventType =
  | 'membership.added'
  | 'membership.removed'
  | 'enrollment.created'
  | 'enrollment.reactivated'
  | 'enrollment.suspended'
  | 'enrollment.completed'
  | 'enrollment.reopened';

/**
 * Writes events to the outbox in the caller's transaction, with its deferred rows (rule 12: only for
 * real changes, which is what callers pass). A bulk change becomes events of at most 500 ids each, so a receiver can take
 * them in batches.
 */
export function writeEvents(
  tx: Tx,
  tenantId: string,
  type: EventType,
  ids: readonly string[],
  idsKey: 'userIds' | 'enrollmentIds',
  cause: Cause,
  extra: Record<string, string> = {},
): void {
  if (!ids.length) return;
  const at = now();
  const rows = chunks([...new Set(ids)], 500).map((part) => ({
    id: newId(),
    tenant_id: tenantId,
    type,
    payload: JSON.stringify({ ...extra, [idsKey]: part }),
    cause: cause.requestId || cause.source,
    created_at: at,
  }));
  tx.insertLater('events', rows, 100);
}
