import type { Db } from '../db/knex';
import { fromJson } from '../db/tables';
import { groupExists } from '../membership/store';
import type { EventType } from '../outbox/outbox';

/**
 * One thing that happened in a group, newest first in its feed. `id` is the outbox event's, `at` its
 * time, `cause` the request that caused it (the sync log's request id).
 * - `joined`, `left`: members pushed in or out by one request (up to 500 users per item, as the event).
 * - `completed`: a member completed content assigned to the group (an open grant of the group led to
 *   the enrollment when it completed).
 * - `message`: an admin's message to the group; `author` is the token that posted it.
 */
export type ActivityItem = { id: string; at: string; cause: string } & (
  | { type: 'joined' | 'left'; userIds: string[] }
  | { type: 'completed'; userId: string; contentId: string; enrollmentId: string }
  | { type: 'message'; messageId: string; author: string; text: string }
);

/** The outbox events a group's feed shows, as its item types. */
const FEED_TYPES = {
  'membership.added': 'joined',
  'membership.removed': 'left',
  'group.enrollmentCompleted': 'completed',
  'group.message': 'message',
} as const satisfies Partial<Record<EventType, ActivityItem['type']>>;

type FeedEventType = keyof typeof FEED_TYPES;
const FEED_EVENT_TYPES = Object.keys(FEED_TYPES) as FeedEventType[];

interface EventRow {
  seq: number | string;
  id: string;
  type: FeedEventType;
  payload: string | Record<string, unknown>;
  cause: string;
  created_at: string;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

function itemOf(r: EventRow): ActivityItem {
  const p = fromJson(r.payload);
  const base = { id: r.id, at: r.created_at, cause: r.cause };
  const type = FEED_TYPES[r.type];
  switch (type) {
    case 'joined':
    case 'left':
      return { ...base, type, userIds: Array.isArray(p.userIds) ? p.userIds.map(str) : [] };
    case 'completed':
      return { ...base, type, userId: str(p.userId), contentId: str(p.contentId), enrollmentId: str(p.enrollmentId) };
    case 'message':
      return { ...base, type, messageId: str(p.messageId), author: str(p.author), text: str(p.text) };
  }
}

/** The statement of a feed page: the (tenant_id, group_id, seq) index read backwards from the cursor. */
export function feedPageStatement(tenantId: string, groupId: string, limit: number, before?: number): { sql: string; bindings: unknown[] } {
  return {
    sql: `select seq, id, type, payload, cause, created_at from events
          where tenant_id = ? and group_id = ?${before === undefined ? '' : ' and seq < ?'} and type in (${FEED_EVENT_TYPES.map(() => '?').join(', ')})
          order by seq desc limit ${limit + 1}`,
    bindings: [tenantId, groupId, ...(before === undefined ? [] : [before]), ...FEED_EVENT_TYPES],
  };
}

/**
 * A group's activity feed, read from the outbox: the events tagged with the group (events.group_id),
 * newest first, paged by their sequence number. On PostgreSQL an event's seq is taken at insert and
 * seen at commit, so an event of a transaction still running when a page was read can appear later
 * above that page's cursor: the first page, read again, shows it.
 */
export class GroupActivity {
  constructor(private readonly db: Db) {}

  /** A page of the feed before `before` (a seq), and the seq to continue before; undefined for no such group of the tenant. */
  async feed(tenantId: string, groupId: string, opts: { limit: number; before?: number }): Promise<{ items: ActivityItem[]; next: number | null } | undefined> {
    if (!(await groupExists(this.db, tenantId, groupId))) return undefined;
    const { sql, bindings } = feedPageStatement(tenantId, groupId, opts.limit, opts.before);
    const rows = await this.db.read<EventRow>(sql, bindings);
    const page = rows.slice(0, opts.limit);
    const last = page[page.length - 1];
    return { items: page.map(itemOf), next: rows.length > opts.limit && last ? Number(last.seq) : null };
  }
}
