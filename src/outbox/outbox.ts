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
  | 'enrollment.reopened'
  | 'group.enrollmentCompleted'
  | 'group.message';

/** Event rows per insert statement. */
const EVENT_CHUNK = 100;

/**
 * One outbox row. `group_id` names the group the event is about, if it is about one (membership
 * changes, a completion in a group, a message): the group's feed reads its events by it. Every row
 * has it, null or not: the rows of one deferred insert have the same columns.
 */
const eventRow = (tenantId: string, type: EventType, payload: object, cause: Cause, groupId: string | null, at: string) => ({
  id: newId(),
  tenant_id: tenantId,
  type,
  payload: JSON.stringify(payload),
  cause: cause.requestId || cause.source,
  created_at: at,
  group_id: groupId,
});

/**
 * Writes events to the outbox in the caller's transaction, with its deferred rows (rule 12: only for
 * real changes, which is what callers pass). A bulk change becomes events of at most 500 ids each, so a receiver can take
 * them in batches. With a `groupId` the events are about that group (see eventRow).
 */
export function writeEvents(
  tx: Tx,
  tenantId: string,
  type: EventType,
  ids: readonly string[],
  idsKey: 'userIds' | 'enrollmentIds',
  cause: Cause,
  extra: { groupId?: string } = {},
): void {
  if (!ids.length) return;
  const at = now();
  const rows = chunks([...new Set(ids)], 500).map((part) => eventRow(tenantId, type, { ...extra, [idsKey]: part }, cause, extra.groupId ?? null, at));
  tx.insertLater('events', rows, EVENT_CHUNK);
}

/** Events each about one group, named by its payload's groupId; written as writeEvents writes. */
export function writeGroupEvents(tx: Tx, tenantId: string, type: EventType, payloads: readonly ({ groupId: string } & Record<string, string>)[], cause: Cause): void {
  if (!payloads.length) return;
  const at = now();
  tx.insertLater('events', payloads.map((p) => eventRow(tenantId, type, p, cause, p.groupId, at)), EVENT_CHUNK);
}
