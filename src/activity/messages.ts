import type { Db } from '../db/knex';
import { now, toBool } from '../db/tables';
import { pageOf, type After, type Page } from '../enrollment/directory';
import { newId } from '../ids';
import { StoreErrors } from '../membership/errors';
import { groupExists, lockGroupStatement } from '../membership/store';
import type { Cause } from '../membership/types';
import { writeGroupEvents } from '../outbox/outbox';

/** A message an admin posted to a group. */
export interface GroupMessage {
  id: string;
  groupId: string;
  /** The name of the token that posted it. */
  author: string;
  text: string;
  requestId: string;
  createdAt: string;
}

interface MessageRow {
  id: string;
  group_id: string;
  author: string;
  text: string;
  request_id: string;
  created_at: string;
}

const fromRow = (r: MessageRow): GroupMessage => ({ id: r.id, groupId: r.group_id, author: r.author, text: r.text, requestId: r.request_id, createdAt: r.created_at });

/** Messages from admins to a group: kept with the group, and told to the outbox for notifications. */
export class GroupMessages {
  constructor(private readonly db: Db) {}

  /**
   * Posts a message, and a `group.message` event in the same transaction so webhooks can notify the
   * members. An archived group is read-only. On PostgreSQL the group's row is held FOR KEY SHARE, as
   * a member change holds it: an archiving (a settings change, which holds it FOR UPDATE) waits for
   * the post or the post waits and sees the group archived, while member changes run beside it.
   */
  post(tenantId: string, groupId: string, text: string, cause: Cause): Promise<GroupMessage> {
    return this.db.transaction(
      async (tx) => {
        const { sql, bindings } = lockGroupStatement(tx.dialect, tenantId, groupId, 'for key share');
        const [group] = await tx.query<{ archived: boolean | number }>(sql, bindings);
        if (!group) throw StoreErrors.groupNotFound(groupId);
        if (toBool(group.archived)) throw StoreErrors.groupArchived(groupId);
        const message: GroupMessage = { id: newId(), groupId, author: cause.actor ?? cause.source, text, requestId: cause.requestId, createdAt: now() };
        tx.insertLater('group_messages', [
          { id: message.id, tenant_id: tenantId, group_id: groupId, author: message.author, text, request_id: message.requestId, created_at: message.createdAt },
        ]);
        writeGroupEvents(tx, tenantId, 'group.message', [{ groupId, messageId: message.id, author: message.author, text }], cause);
        return message;
      },
      { deadline: cause.deadline },
    );
  }

  /** A group's messages, newest first, paged by keyset; undefined for no such group of the tenant. */
  async list(tenantId: string, groupId: string, opts: { limit: number; after?: After }): Promise<Page<GroupMessage> | undefined> {
    if (!(await groupExists(this.db, tenantId, groupId))) return undefined;
    const after = opts.after ? ' and (created_at < ? or (created_at = ? and id < ?))' : '';
    const rows = await this.db.read<MessageRow>(
      `select id, group_id, author, text, request_id, created_at from group_messages
       where group_id = ? and tenant_id = ?${after}
       order by created_at desc, id desc limit ${opts.limit + 1}`,
      [groupId, tenantId, ...(opts.after ? [opts.after.createdAt, opts.after.createdAt, opts.after.id] : [])],
    );
    return pageOf(rows, opts.limit, fromRow);
  }
}
