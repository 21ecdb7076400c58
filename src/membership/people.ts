import type { Db } from '../db/knex';
import { placeholders } from '../db/sql';
import { chunks, toBool } from '../db/tables';
import { StoreError, StoreErrors } from './errors';
import type { GroupChange, MembershipStore, WriteOptions } from './store';
import type { GroupStep } from './types';

/** A user named by id, userName or email (exactly one). */
export type PersonRef = { id: string } | { userName: string } | { email: string };

/** Who to add to a group: named users, a department's active users, another group's active members. */
export interface PeopleToAdd {
  users?: PersonRef[];
  department?: string;
  copyFrom?: string;
}

export interface AddResult {
  /** Users who became members. */
  added: string[];
  /** Users named or found who were members already. */
  alreadyMembers: number;
  /** Deactivated users of the department or the copied group, left out (only active users are added). */
  skippedInactive: number;
}

/** What setting a user's groups did: the groups they joined and left. */
export interface SetGroupsResult {
  userId: string;
  joined: string[];
  left: string[];
}

/**
 * The admin API's ways of adding people, on top of the store: everything ends in store changes (so
 * enrollments follow the rules) made with the admin's cause, which is what makes the store refuse
 * deactivated users and groups that an identity provider or a rule owns.
 */
export class People {
  constructor(
    private readonly db: Db,
    private readonly store: MembershipStore,
  ) {}

  /** Adds people to a group, in one change. Names that match no user are a 400 listing them; an email shared by two users is one too. */
  async add(tenantId: string, groupId: string, who: PeopleToAdd, opts: WriteOptions): Promise<AddResult> {
    const named = who.users ? await this.resolve(tenantId, who.users) : [];
    let copied: { id: string; active: boolean }[] = [];
    if (who.department !== undefined) copied = copied.concat(await this.usersWhere(tenantId, 'department = ?', [who.department]));
    if (who.copyFrom !== undefined) {
      if (!(await this.store.getGroup(tenantId, who.copyFrom))) throw StoreErrors.groupNotFound(who.copyFrom);
      copied = copied.concat(await this.usersWhere(tenantId, 'id in (select user_id from memberships where group_id = ?)', [who.copyFrom]));
    }
    const fromCopies = [...new Set(copied.filter((u) => u.active).map((u) => u.id))];
    const skippedInactive = new Set(copied.filter((u) => !u.active).map((u) => u.id)).size;
    const wanted = [...new Set([...named, ...fromCopies])];
    const { added } = await this.store.changeGroup(tenantId, groupId, [{ kind: 'addMembers', userIds: wanted }], opts);
    return { added, alreadyMembers: wanted.length - added.length, skippedInactive };
  }

  /**
   * Sets the Roster-owned groups of each user to exactly `groupIds`, in one transaction: they join
   * the ones they are not in and leave the others. Groups of identity providers, rule groups and
   * archived groups they are in are not theirs to leave this way, and stay as they are; naming one
   * is refused by the store.
   */
  async setGroups(tenantId: string, userIds: string[], groupIds: string[], opts: WriteOptions): Promise<SetGroupsResult[]> {
    const current = await this.ownedGroupsOf(tenantId, userIds);
    const wanted = new Set(groupIds);
    const byGroup = new Map<string, { add: string[]; remove: string[] }>();
    const at = (g: string) => byGroup.get(g) ?? byGroup.set(g, { add: [], remove: [] }).get(g)!;
    for (const userId of userIds) {
      const mine = current.get(userId) ?? new Set<string>();
      for (const g of groupIds) if (!mine.has(g)) at(g).add.push(userId);
      for (const g of mine) if (!wanted.has(g)) at(g).remove.push(userId);
    }
    const changes = [...byGroup].map(([groupId, { add, remove }]) => ({
      groupId,
      steps: [...(add.length ? [{ kind: 'addMembers', userIds: add }] : []), ...(remove.length ? [{ kind: 'removeMembers', userIds: remove }] : [])] as GroupStep[],
    }));
    // Unknown users are a 404 even when nothing would change for them.
    const unknown = await this.unknownUsers(tenantId, userIds);
    if (unknown.length) throw StoreErrors.userNotFound(unknown[0]!);
    const done: GroupChange[] = changes.length ? await this.store.changeGroups(tenantId, changes, opts) : [];
    return userIds.map((userId) => ({
      userId,
      joined: done.filter((c) => c.added.includes(userId)).map((c) => c.group.id),
      left: done.filter((c) => c.removed.includes(userId)).map((c) => c.group.id),
    }));
  }

  /** User ids for the names given; the names that match nobody (or an email that matches several users) are a 400. */
  private async resolve(tenantId: string, refs: PersonRef[]): Promise<string[]> {
    const ids = refs.flatMap((r) => ('id' in r ? [r.id] : []));
    const names = [...new Set(refs.flatMap((r) => ('userName' in r ? [r.userName.toLowerCase()] : [])))];
    const emails = [...new Set(refs.flatMap((r) => ('email' in r ? [r.email.toLowerCase()] : [])))];
    const byName = new Map<string, string>();
    for (const part of chunks(names, 500)) {
      const rows = await this.db.read<{ id: string; user_name_lc: string }>(`select id, user_name_lc from users where tenant_id = ? and user_name_lc in (${placeholders(part)})`, [tenantId, ...part]);
      for (const r of rows) byName.set(r.user_name_lc, r.id);
    }
    const byEmail = new Map<string, Set<string>>();
    for (const part of chunks(emails, 500)) {
      const rows = await this.db.read<{ id: string; value_lc: string }>(
        `select distinct u.id, e.value_lc from user_emails e join users u on u.id = e.user_id where u.tenant_id = ? and e.value_lc in (${placeholders(part)})`,
        [tenantId, ...part],
      );
      for (const r of rows) byEmail.set(r.value_lc, (byEmail.get(r.value_lc) ?? new Set()).add(r.id));
    }
    const missing = [...names.filter((n) => !byName.has(n)).map((n) => `userName ${n}`), ...emails.filter((e) => !byEmail.has(e)).map((e) => `email ${e}`)];
    if (missing.length) throw new StoreError('unknownMembers', `no user of this tenant has ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}`, { missing: missing.slice(0, 100) });
    const shared = emails.filter((e) => byEmail.get(e)!.size > 1);
    if (shared.length) throw new StoreError('invalid', `email ${shared[0]} belongs to ${byEmail.get(shared[0]!)!.size} users; name them by id or userName`, { emails: shared.slice(0, 100) });
    return [...ids, ...names.map((n) => byName.get(n)!), ...emails.map((e) => [...byEmail.get(e)!][0]!)];
  }

  private async usersWhere(tenantId: string, condition: string, bindings: unknown[]): Promise<{ id: string; active: boolean }[]> {
    const rows = await this.db.read<{ id: string; active: boolean | number }>(`select id, active from users where tenant_id = ? and ${condition}`, [tenantId, ...bindings]);
    return rows.map((r) => ({ id: r.id, active: toBool(r.active) }));
  }

  private async unknownUsers(tenantId: string, userIds: string[]): Promise<string[]> {
    const found = new Set((await this.db.read<{ id: string }>(`select id from users where tenant_id = ? and id in (${placeholders(userIds)})`, [tenantId, ...userIds])).map((r) => r.id));
    return userIds.filter((u) => !found.has(u));
  }

  /** Each user's memberships of groups the admin API may change: Roster's own, without a rule, not archived. */
  private async ownedGroupsOf(tenantId: string, userIds: string[]): Promise<Map<string, Set<string>>> {
    const rows = await this.db.read<{ user_id: string; group_id: string }>(
      `select m.user_id, m.group_id from memberships m join groups g on g.id = m.group_id
       where m.tenant_id = ? and m.user_id in (${placeholders(userIds)}) and g.managed_by = 'roster' and g.rule is null and not g.archived`,
      [tenantId, ...userIds],
    );
    const out = new Map<string, Set<string>>();
    for (const r of rows) out.set(r.user_id, (out.get(r.user_id) ?? new Set()).add(r.group_id));
    return out;
  }
}
