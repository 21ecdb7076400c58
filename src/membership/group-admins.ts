import type { Db } from '../db/knex';
import { now, toBool } from '../db/tables';
import { StoreError, StoreErrors } from './errors';
import { groupExists } from './store';

export interface GroupAdmin {
  userId: string;
  userName: string;
  displayName: string | null;
  since: string;
  appointedBy: string | null;
}

/**
 * Who administers which group. A group admin must be an active member of the group: appointing
 * checks it, and every use checks it again (isAdminOf), so one who leaves the group or is
 * deactivated can do nothing through it, without the appointment having to be cleaned up.
 */
export class GroupAdmins {
  constructor(private readonly db: Db) {}

  /** Makes the user an admin of the group; true when they were not one already. */
  async appoint(tenantId: string, groupId: string, userId: string, actor: string | null): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const [group] = await tx.query('select id from groups where tenant_id = ? and id = ?', [tenantId, groupId]);
      if (!group) throw StoreErrors.groupNotFound(groupId);
      const [user] = await tx.query<{ active: boolean | number; member: string | null }>(
        'select u.active, m.user_id as member from users u left join memberships m on m.user_id = u.id and m.group_id = ? where u.tenant_id = ? and u.id = ?',
        [groupId, tenantId, userId],
      );
      if (!user) throw StoreErrors.userNotFound(userId);
      if (!toBool(user.active)) throw StoreErrors.inactiveMembers([userId]);
      if (!user.member) throw new StoreError('invalid', `user ${userId} is not a member of group ${groupId}; a group admin must be one`, { userId, groupId });
      const inserted = await tx.query(
        'insert into group_admins (tenant_id, group_id, user_id, created_at, created_by) values (?, ?, ?, ?, ?) on conflict (group_id, user_id) do nothing returning user_id',
        [tenantId, groupId, userId, now(), actor],
      );
      return inserted.length > 0;
    });
  }

  async revoke(tenantId: string, groupId: string, userId: string): Promise<boolean> {
    return this.db.transaction(async (tx) => (await tx.query('delete from group_admins where tenant_id = ? and group_id = ? and user_id = ? returning user_id', [tenantId, groupId, userId])).length > 0);
  }

  /** The group's admins (undefined: no such group); those who left it or were deactivated are listed, and can do nothing. */
  async list(tenantId: string, groupId: string): Promise<(GroupAdmin & { effective: boolean })[] | undefined> {
    if (!(await groupExists(this.db, tenantId, groupId))) return undefined;
    const rows = await this.db.read<{ user_id: string; user_name: string; display_name: string | null; created_at: string; created_by: string | null; active: boolean | number; member: string | null }>(
      `select ga.user_id, u.user_name, u.display_name, ga.created_at, ga.created_by, u.active, m.user_id as member
       from group_admins ga join users u on u.id = ga.user_id
       left join memberships m on m.group_id = ga.group_id and m.user_id = ga.user_id
       where ga.tenant_id = ? and ga.group_id = ? order by ga.created_at, ga.user_id`,
      [tenantId, groupId],
    );
    return rows.map((r) => ({ userId: r.user_id, userName: r.user_name, displayName: r.display_name, since: r.created_at, appointedBy: r.created_by, effective: toBool(r.active) && r.member !== null }));
  }

  /** Whether the user administers the group now: appointed, still a member, still active. */
  async isAdminOf(tenantId: string, groupId: string, userId: string): Promise<boolean> {
    const rows = await this.db.read(
      `select 1 as ok from group_admins ga
       join memberships m on m.group_id = ga.group_id and m.user_id = ga.user_id
       join users u on u.id = ga.user_id
       where ga.tenant_id = ? and ga.group_id = ? and ga.user_id = ? and u.active`,
      [tenantId, groupId, userId],
    );
    return rows.length > 0;
  }

  /** Whether the user exists in the tenant and is active (a member token of anyone else does nothing). */
  async isActiveUser(tenantId: string, userId: string): Promise<boolean> {
    const [row] = await this.db.read<{ active: boolean | number }>('select active from users where tenant_id = ? and id = ?', [tenantId, userId]);
    return row !== undefined && toBool(row.active);
  }
}
