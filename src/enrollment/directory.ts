import type { Db } from '../db/knex';
import { placeholders } from '../db/sql';
import { toBool, type GroupRow, type UserRow } from '../db/tables';
import { groupsFromJson, settingsFromRow, userGroupsJson, type GroupsJson } from '../membership/store';
import type { GroupOwner, GroupSettings } from '../membership/types';

/** A keyset position in a list ordered by (createdAt, id): the last item of the page before. */
export interface After {
  createdAt: string;
  id: string;
}

export interface Page<T> {
  items: T[];
  next: After | null;
}

/** A group as the admin API lists it: what it is, its settings, and how much hangs on it. */
export interface GroupOverview extends GroupSettings {
  id: string;
  displayName: string;
  externalId: string | null;
  /** Who owns the membership: `identityProvider` (pushed over SCIM) or `roster` (its admins, or its rule). */
  managedBy: GroupOwner;
  createdAt: string;
  updatedAt: string;
  members: number;
  assignments: number;
  bots: number;
  personas: number;
}

/** A user as the admin API's member list shows them, with their groups. */
export interface UserSummary {
  id: string;
  userName: string;
  displayName: string | null;
  externalId: string | null;
  active: boolean;
  department: string | null;
  createdAt: string;
  groups: { id: string; displayName: string }[];
}

/** Something a user can use now, and the groups that give it (the open grants of an active enrollment). */
export interface Access {
  contentId: string;
  kind: string;
  title: string;
  enrollmentId: string;
  /** `active`, or `completed` for a course finished and still granted. */
  state: string;
  through: { groupId: string; displayName: string; assignmentId: string }[];
}

export interface UserQuery {
  /** Users in every one of these groups (`groupMode: 'all'`, the default) or in any of them. */
  groupIds?: readonly string[];
  groupMode?: 'all' | 'any';
  /** The enterprise `department`, exactly as pushed. */
  department?: string;
  active?: boolean;
  limit: number;
  after?: After;
}

/** At most this many members are read first and sorted (see Directory.users). */
const FEW_MEMBERS = 5_000;

/** The most groups one user query may name: each is a condition of its own. */
export const MAX_QUERY_GROUPS = 20;

const keyset = (table: string, after: After | undefined) =>
  after ? { sql: ` and (${table}.created_at > ? or (${table}.created_at = ? and ${table}.id > ?))`, bindings: [after.createdAt, after.createdAt, after.id] } : { sql: '', bindings: [] };

/** A page of rows read one more than asked, so the caller knows whether there is a next page (keyset on created_at, id). */
export function pageOf<R extends { id: string; created_at: string }, T>(rows: R[], limit: number, map: (r: R) => T): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items: items.map(map), next: rows.length > limit && last ? { createdAt: last.created_at, id: last.id } : null };
}

/**
 * Read models for the admin API across the store's and the enrollment rules' tables: groups with
 * their counts, and users found by groups, department and status. Reads only; oldest first, paged
 * by keyset, so a page deep in the list costs what the first does.
 */
export class Directory {
  constructor(private readonly db: Db) {}

  /** The tenant's groups with their member, assignment, bot and persona counts (counted per page). */
  async groups(tenantId: string, opts: { limit: number; after?: After; ids?: readonly string[]; archived?: 'exclude' | 'include' | 'only' }): Promise<Page<GroupOverview>> {
    const after = keyset('g', opts.after);
    const archived = opts.archived === 'only' ? ' and g.archived' : opts.archived === 'exclude' ? ' and not g.archived' : '';
    const only = (opts.ids ? ` and g.id in (${placeholders(opts.ids)})` : '') + archived;
    const assigned = (kind: string) => `(select count(*) from assignments a join content c on c.id = a.content_id where a.group_id = g.id and c.kind = '${kind}')`;
    const rows = await this.db.read<GroupRow & { members: number | string; assignments: number | string; bots: number | string; personas: number | string }>(
      `select g.*,
              (select count(*) from memberships m where m.group_id = g.id) as members,
              (select count(*) from assignments a where a.group_id = g.id) as assignments,
              ${assigned('bot')} as bots, ${assigned('persona')} as personas
       from groups g where g.tenant_id = ?${only}${after.sql}
       order by g.created_at, g.id limit ${opts.limit + 1}`,
      [tenantId, ...(opts.ids ?? []), ...after.bindings],
    );
    return pageOf(rows, opts.limit, (r) => ({
      id: r.id,
      displayName: r.display_name,
      externalId: r.external_id,
      managedBy: r.managed_by,
      ...settingsFromRow(r),
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      members: Number(r.members),
      assignments: Number(r.assignments),
      bots: Number(r.bots),
      personas: Number(r.personas),
    }));
  }

  /** How many memberships the groups have together, counted no further than FEW_MEMBERS + 1. */
  private async boundedCount(groupIds: readonly string[]): Promise<number> {
    const [row] = await this.db.read<{ n: number | string }>(
      `select count(*) as n from (select 1 from memberships where group_id in (${placeholders(groupIds)}) limit ${FEW_MEMBERS + 1}) few`,
      [...groupIds],
    );
    return Number(row?.n ?? 0);
  }

  /** The given group ids that are not groups of this tenant. */
  async unknownGroups(tenantId: string, ids: readonly string[]): Promise<string[]> {
    if (!ids.length) return [];
    const found = new Set((await this.db.read<{ id: string }>(`select id from groups where tenant_id = ? and id in (${placeholders(ids)})`, [tenantId, ...ids])).map((r) => r.id));
    return ids.filter((id) => !found.has(id));
  }

  /** Users by groups, department and status, with their groups. */
  async users(tenantId: string, query: UserQuery): Promise<Page<UserSummary>> {
    const where: string[] = ['u.tenant_id = ?'];
    const bindings: unknown[] = [tenantId];
    const groupIds = [...new Set(query.groupIds ?? [])];
    // Two ways to find members, each fast where the other is slow (100,000 users, measured on
    // SQLite): walking the users in order and asking each whether it is a member stops after one
    // page in a big group (0.4 ms) but reads every user for a small one (20 ms); reading a small
    // group's members and sorting them is 0.3 ms, and a group of 100,000 sorted is 77 ms. So the
    // members are read first when there are few (the smallest group, or all of them for `any`),
    // and asked of each user otherwise.
    const few = async (ids: string[]) => (await this.boundedCount(ids)) <= FEW_MEMBERS;
    if (groupIds.length && query.groupMode === 'any') {
      const sub = `(select m.user_id from memberships m where m.group_id in (${placeholders(groupIds)}))`;
      where.push((await few(groupIds)) ? `u.id in ${sub}` : `exists (select 1 from memberships m where m.user_id = u.id and m.group_id in (${placeholders(groupIds)}))`);
      bindings.push(...groupIds);
    } else if (groupIds.length) {
      const sizes = await Promise.all(groupIds.map(async (g) => ({ g, n: await this.boundedCount([g]) })));
      const smallest = sizes.reduce((a, b) => (b.n < a.n ? b : a));
      for (const { g } of sizes) {
        where.push(g === smallest.g && smallest.n <= FEW_MEMBERS ? 'u.id in (select m.user_id from memberships m where m.group_id = ?)' : 'exists (select 1 from memberships m where m.group_id = ? and m.user_id = u.id)');
        bindings.push(g);
      }
    }
    if (query.department !== undefined) {
      where.push('u.department = ?');
      bindings.push(query.department);
    }
    if (query.active !== undefined) {
      where.push(query.active ? 'u.active' : 'not u.active');
    }
    const after = keyset('u', query.after);
    const rows = await this.db.read<UserRow & { groups_json: GroupsJson }>(
      `select u.id, u.tenant_id, u.user_name, u.display_name, u.external_id, u.active, u.department, u.created_at, ${userGroupsJson(this.db.dialect, 'u')} as groups_json
       from users u where ${where.join(' and ')}${after.sql}
       order by u.created_at, u.id limit ${query.limit + 1}`,
      [...bindings, ...after.bindings],
    );
    return pageOf(rows, query.limit, (r) => ({
      id: r.id,
      userName: r.user_name,
      displayName: r.display_name,
      externalId: r.external_id,
      active: toBool(r.active),
      department: r.department,
      createdAt: r.created_at,
      groups: groupsFromJson(r.groups_json),
    }));
  }

  /**
   * What the user can use now and through which groups: content with an open grant (a membership
   * of a group it is assigned to) and an enrollment that is active, or completed and still granted.
   * A deactivated user can use nothing (their enrollments are paused); undefined for no such user.
   */
  async access(tenantId: string, userId: string): Promise<Access[] | undefined> {
    const [user] = await this.db.read<{ active: boolean | number }>('select active from users where tenant_id = ? and id = ?', [tenantId, userId]);
    if (!user) return undefined;
    if (!toBool(user.active)) return [];
    const rows = await this.db.read<{ content_id: string; kind: string; title: string; enrollment_id: string; state: string; group_id: string; display_name: string; assignment_id: string }>(
      `select c.id as content_id, c.kind, c.title, e.id as enrollment_id, e.state, g.id as group_id, g.display_name, gr.assignment_id
       from enrollments e
       join content c on c.id = e.content_id
       join grants gr on gr.enrollment_id = e.id and gr.ended_at is null
       join groups g on g.id = gr.group_id
       where e.tenant_id = ? and e.user_id = ? and e.state in ('active', 'completed')
       order by c.title, c.id, g.display_name_lc, g.id`,
      [tenantId, userId],
    );
    const out = new Map<string, Access>();
    for (const r of rows) {
      const entry = out.get(r.content_id) ?? { contentId: r.content_id, kind: r.kind, title: r.title, enrollmentId: r.enrollment_id, state: r.state, through: [] };
      entry.through.push({ groupId: r.group_id, displayName: r.display_name, assignmentId: r.assignment_id });
      out.set(r.content_id, entry);
    }
    return [...out.values()];
  }
}
