import { isDeepStrictEqual } from 'node:util';
import type { Statement, Tx } from '../db/tx';
import type { Db, Dialect } from '../db/knex';
import { constraintOf } from '../db/errors';
import { insertRows, insertStatements, placeholders, updateStatement } from '../db/sql';
import { chunks, fromJson, now, toBool, type GroupRow, type UserRow } from '../db/tables';
import { StoreError, StoreErrors } from './errors';
import { Hooks } from './hooks';
import { DEFAULT_GROUP_SETTINGS, type RuleCompiler, type Cause, type GroupOwner, type GroupProfile, type GroupRef, type GroupRecord, type GroupSettings, type GroupStep, type Member, type UserProfile, type UserRecord } from './types';

/** What a group change did: the group as it is now, and who joined and left. */
export interface GroupChange {
  group: GroupRecord;
  added: string[];
  removed: string[];
}

/** Who a rule would bring into a group and take out of it (the first of each, and how many). */
export interface RulePreview {
  join: { count: number; users: { id: string; userName: string }[] };
  leave: { count: number; users: { id: string; userName: string }[] };
}

interface RuleGroupRow {
  id: string;
  rule: string;
}

const noRules: RuleCompiler = () => {
  throw new StoreError('invalid', 'membership rules are not available in this store');
};

/** A group to create: settings not given take their defaults. */
export type NewGroup = Omit<GroupProfile, 'settings'> & { settings?: Partial<GroupSettings> };
import { newId } from '../ids';

export interface WriteOptions {
  cause: Cause;
  /** Refuse the change unless the stored version is this one (SCIM If-Match). */
  ifVersion?: number;
  /** A user's password hash to store (SCIM_PASSWORDS=scrypt; null removes it); undefined leaves it as it is. */
  passwordHash?: string | null;
  /** A member joining or leaving by themselves: only a public group allows it. */
  selfService?: boolean;
}

export interface ListOptions {
  /** A compiled SQL predicate on the table (see scim/filter compileFilter). */
  where?: { sql: string; bindings: readonly unknown[] };
  orderBy?: { expr: string; bindings?: unknown[]; desc?: boolean };
  offset: number;
  limit: number;
}

export interface ListResult<T> {
  items: T[];
  total: number;
}

/**
 * The membership store: users, groups and memberships of each tenant. Every write is one transaction
 * that computes the real delta (adding an existing member is no change) and emits it to the hooks
 * inside that transaction. It knows nothing of SCIM or of courses.
 */
export class MembershipStore {
  readonly hooks = new Hooks();

  /**
   * `compileRule` turns a rule group's rule (a SCIM filter on users) into SQL and an in-memory
   * matcher; the store knows no SCIM, so the transport hands it in.
   */
  constructor(
    private readonly db: Db,
    private readonly compileRule: RuleCompiler = noRules,
  ) {}

  // ---------- users ----------

  async getUser(tenantId: string, id: string): Promise<UserRecord | undefined> {
    const [row] = await this.db.read<UserRow>('select * from users where tenant_id = ? and id = ?', [tenantId, id]);
    return row && userFromRow(row);
  }

  /**
   * A user and the groups they belong to, in one statement (GET /Users/{id}): on PostgreSQL a round
   * trip fewer, and each round trip is most of a read's cost there.
   */
  async getUserWithGroups(tenantId: string, id: string): Promise<{ user: UserRecord; groups: GroupRef[] } | undefined> {
    const [row] = await this.db.read<UserRow & { groups_json: GroupsJson }>(`select users.*, ${this.groupsOfRow()} as groups_json from users where tenant_id = ? and id = ?`, [tenantId, id]);
    return row && { user: userFromRow(row), groups: groupsFromJson(row.groups_json) };
  }

  /** A page of users; with `withGroups`, the groups of each in the same statements (see getUserWithGroups). */
  async listUsers(tenantId: string, opts: ListOptions, withGroups = false): Promise<ListResult<UserRecord> & { groups?: Map<string, GroupRef[]> }> {
    if (!withGroups) return this.page('users', userFromRow, tenantId, opts);
    const page = await this.page('users', (r: UserRow & { groups_json: GroupsJson }) => ({ user: userFromRow(r), groups: groupsFromJson(r.groups_json) }), tenantId, opts, `, ${this.groupsOfRow()} as groups_json`);
    return { items: page.items.map((i) => i.user), total: page.total, groups: new Map(page.items.map((i) => [i.user.id, i.groups])) };
  }

  private groupsOfRow(): string {
    return userGroupsJson(this.db.dialect);
  }

  async createUser(tenantId: string, profile: UserProfile, opts: WriteOptions): Promise<UserRecord> {
    return this.write(opts, async (tx) => {
      const at = now();
      const user: UserRecord = { ...profile, id: newId(), tenantId, createdAt: at, updatedAt: at, version: 1 };
      let rules: RuleGroupRow[];
      try {
        const row = opts.passwordHash === undefined ? userToRow(user) : { ...userToRow(user), password_hash: opts.passwordHash };
        // The tenant's rule groups come back from the statement of the inserts (on PostgreSQL).
        rules = await tx.batchAndRead<RuleGroupRow>([...insertStatements('users', [row]), ...insertStatements('user_emails', emailRows(user))], this.ruleGroupsStatement(tenantId));
      } catch (err) {
        throw translateUserConflict(err, profile.userName);
      }
      await this.hooks.emit(tx, { type: 'user.created', tenantId, user, cause: opts.cause });
      await this.applyRulesToUser(tx, user, rules, opts.cause);
      return user;
    });
  }

  /**
   * Replaces a user's profile with what `change` computes from the current one, in one transaction
   * (the read is locked on PostgreSQL, so concurrent PATCHes of one user never lose an update).
   */
  async modifyUser(
    tenantId: string,
    id: string,
    change: (current: UserRecord) => UserProfile | Promise<UserProfile>,
    opts: WriteOptions,
  ): Promise<UserRecord> {
    return this.write(opts, async (tx) => {
      // Rule groups first (FOR KEY SHARE), then the user: a group change locks its group before its
      // members, and so must this, which may join or leave rule groups.
      const [rules, [row]] = (await tx.pipeline([this.ruleGroupsStatement(tenantId), this.lockUserStatement(tenantId, id)])) as [RuleGroupRow[], UserRow[]];
      if (!row) throw StoreErrors.userNotFound(id);
      const previous = userFromRow(row);
      if (opts.ifVersion !== undefined && opts.ifVersion !== previous.version) throw StoreErrors.versionMismatch('User', id);
      const profile = await change(previous);
      // No change: no write, no event (a new password is a change, though it shows nowhere).
      if (sameProfile(profile, previous) && opts.passwordHash === undefined) return previous;
      const user: UserRecord = {
        ...profile,
        id,
        tenantId,
        createdAt: previous.createdAt,
        updatedAt: now(),
        version: previous.version + 1,
      };
      // The row and, if they changed, its emails, in one batch (one round trip on PostgreSQL).
      const emails = isDeepStrictEqual(user.emails, previous.emails)
        ? []
        : [{ sql: 'delete from user_emails where user_id = ?', bindings: [id] }, ...insertStatements('user_emails', emailRows(user))];
      try {
        const columns = { ...changedColumns(userToRow(user), userToRow(previous)), ...(opts.passwordHash === undefined ? {} : { password_hash: opts.passwordHash }) };
        await tx.batch([updateStatement('users', tenantId, id, columns), ...emails]);
      } catch (err) {
        throw translateUserConflict(err, profile.userName);
      }
      await this.hooks.emit(tx, { type: 'user.updated', tenantId, user, previous, cause: opts.cause });
      if (previous.active !== user.active) {
        await this.hooks.emit(tx, {
          type: user.active ? 'user.reactivated' : 'user.deactivated',
          tenantId,
          userId: id,
          cause: opts.cause,
        });
      }
      await this.applyRulesToUser(tx, user, rules, opts.cause);
      return user;
    });
  }

  /** Deletes a user: their memberships end first (each group's removal is emitted), the user goes last. */
  async deleteUser(tenantId: string, id: string, opts: WriteOptions): Promise<void> {
    await this.write(opts, async (tx) => {
      // Lock order is groups, then the user, as in a group change (group row, then the member's key):
      // two changes never wait on each other in a circle.
      const groupIds = (await tx.query<{ group_id: string }>('select group_id from memberships where tenant_id = ? and user_id = ?', [tenantId, id]))
        .map((r) => r.group_id)
        .sort();
      if (this.db.dialect === 'postgres') {
        for (const part of chunks(groupIds)) await tx.query(`select id from groups where tenant_id = ? and id in (${placeholders(part)}) order by id for update`, [tenantId, ...part]);
      }
      const user = await this.lockUser(tx, tenantId, id);
      if (opts.ifVersion !== undefined && opts.ifVersion !== user.version) throw StoreErrors.versionMismatch('User', id);
      await tx.execute('delete from memberships where tenant_id = ? and user_id = ?', [tenantId, id]);
      for (const part of chunks(groupIds)) {
        await tx.execute(`update groups set updated_at = ?, version = version + 1 where tenant_id = ? and id in (${placeholders(part)})`, [now(), tenantId, ...part]);
      }
      for (const groupId of groupIds) {
        await this.hooks.emit(tx, { type: 'membership.removed', tenantId, groupId, userIds: [id], cause: opts.cause });
      }
      await tx.execute('delete from users where tenant_id = ? and id = ?', [tenantId, id]);
      await this.hooks.emit(tx, { type: 'user.deleted', tenantId, userId: id, cause: opts.cause });
    });
  }

  /** The groups each of the given users belongs to (for rendering SCIM's User.groups). */
  async groupsOfUsers(tenantId: string, userIds: string[]): Promise<Map<string, GroupRef[]>> {
    const out = new Map<string, GroupRef[]>();
    for (const part of chunks(userIds)) {
      const rows = await this.db.read<{ user_id: string; id: string; display_name: string }>(
        `select m.user_id, g.id, g.display_name from memberships m join groups g on g.id = m.group_id
         where m.tenant_id = ? and m.user_id in (${placeholders(part)}) order by m.user_id, g.display_name_lc, g.id`,
        [tenantId, ...part],
      );
      for (const r of rows) {
        const list = out.get(r.user_id) ?? [];
        list.push({ id: r.id, displayName: r.display_name });
        out.set(r.user_id, list);
      }
    }
    return out;
  }

  // ---------- groups ----------

  async getGroup(tenantId: string, id: string): Promise<GroupRecord | undefined> {
    const [row] = await this.db.read<GroupRow>('select * from groups where tenant_id = ? and id = ?', [tenantId, id]);
    return row && groupFromRow(row);
  }

  listGroups(tenantId: string, opts: ListOptions): Promise<ListResult<GroupRecord>> {
    return this.page('groups', groupFromRow, tenantId, opts);
  }

  /** Members of the given groups, each list ordered by userName. */
  async membersOfGroups(tenantId: string, groupIds: string[]): Promise<Map<string, Member[]>> {
    const out = new Map<string, Member[]>();
    const [only] = groupIds;
    if (groupIds.length === 1 && only !== undefined) {
      // One group (GET /Groups/{id}): its id is not read back with each of its 100,000 members.
      const rows = await this.db.read<{ id: string; user_name: string; display_name: string | null }>(
        `select u.id, u.user_name, u.display_name from memberships m join users u on u.id = m.user_id
         where m.tenant_id = ? and m.group_id = ? order by u.user_name_lc`,
        [tenantId, only],
      );
      return out.set(only, rows.map((r) => ({ userId: r.id, userName: r.user_name, displayName: r.display_name })));
    }
    for (const part of chunks(groupIds)) {
      const rows = await this.db.read<{ group_id: string; id: string; user_name: string; display_name: string | null }>(
        `select m.group_id, u.id, u.user_name, u.display_name from memberships m join users u on u.id = m.user_id
         where m.tenant_id = ? and m.group_id in (${placeholders(part)}) order by m.group_id, u.user_name_lc`,
        [tenantId, ...part],
      );
      for (const r of rows) {
        const list = out.get(r.group_id) ?? [];
        list.push({ userId: r.id, userName: r.user_name, displayName: r.display_name });
        out.set(r.group_id, list);
      }
    }
    return out;
  }

  async countMembers(tenantId: string, groupId: string): Promise<number> {
    const { sql, bindings } = countMembersStatement(tenantId, groupId);
    const [row] = await this.db.read<{ n: number | string }>(sql, bindings);
    return Number(row?.n ?? 0);
  }

  /**
   * Creates a group. Its membership belongs to whoever created it: an identity provider (a SCIM
   * push) or Roster's admins (the admin API, the CLI).
   */
  async createGroup(tenantId: string, profile: NewGroup, memberIds: string[], opts: WriteOptions): Promise<GroupRecord> {
    return this.write(opts, async (tx) => {
      const at = now();
      const managedBy: GroupOwner = opts.cause.source === 'scim' ? 'identityProvider' : 'roster';
      const group: GroupRecord = { ...profile, settings: { ...DEFAULT_GROUP_SETTINGS, ...profile.settings }, id: newId(), tenantId, managedBy, createdAt: at, updatedAt: at, version: 1 };
      const { rule, maxMembers } = group.settings;
      checkSettingsChange({ ...group, settings: { ...DEFAULT_GROUP_SETTINGS } }, group, opts.cause);
      if (rule !== null && memberIds.length) throw StoreErrors.managedByRule(group.id, group.displayName);
      const unknown = await unknownUsers(tx, tenantId, memberIds);
      if (unknown.length) throw StoreErrors.unknownMembers(unknown);
      await insertRows(tx, 'groups', [groupToRow(group)]);
      await this.hooks.emit(tx, { type: 'group.created', tenantId, group, cause: opts.cause });
      const added = rule !== null && !group.settings.archived ? (await this.applyRule(tx, tenantId, group.id, rule)).joined : await insertMembers(tx, tenantId, group.id, memberIds);
      if (maxMembers !== null && added.length > maxMembers) throw StoreErrors.groupFull(group.id, group.displayName, maxMembers, added.length);
      if (added.length) await this.hooks.emit(tx, { type: 'membership.added', tenantId, groupId: group.id, userIds: added, cause: opts.cause });
      return group;
    });
  }

  /**
   * Applies the steps to one group in one transaction, in order, and emits the net delta: a member
   * added and removed again in the same change is no change. The cost grows with the number of
   * members named in the steps, not with the size of the group (except replaceMembers, which must
   * compare against the whole current set).
   */
  async changeGroup(tenantId: string, id: string, steps: GroupStep[], opts: WriteOptions): Promise<GroupChange> {
    const [change] = await this.changeGroups(tenantId, [{ groupId: id, steps }], opts);
    return change!;
  }

  /**
   * Changes several groups in one transaction (an admin setting a user's groups): all or nothing.
   * The groups are locked in id order, so two such changes never wait on each other in a circle.
   */
  async changeGroups(tenantId: string, changes: { groupId: string; steps: GroupStep[] }[], opts: WriteOptions): Promise<GroupChange[]> {
    if (new Set(changes.map((c) => c.groupId)).size !== changes.length) throw new StoreError('invalid', 'a group may be named once per change');
    const ordered = [...changes].sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
    const bumps = new Map<string, number>();
    const attempt = (early: boolean) =>
      this.write(opts, async (tx) => {
        const out = new Map<string, GroupChange>();
        for (const c of ordered) out.set(c.groupId, await this.changeOneGroup(tx, tenantId, c.groupId, c.steps, opts, (v) => bumps.set(c.groupId, v), early && ordered.length === 1));
        return changes.map((c) => out.get(c.groupId)!);
      });
    // A lone change whose round trip failed (its insert on a foreign key: the group that does not
    // exist, a user deleted meanwhile) is run again the long way, which says what is wrong as it
    // always has.
    let results: GroupChange[];
    try {
      results = await attempt(true);
    } catch (err) {
      if (!(err instanceof EarlyChangeFailed)) throw err;
      results = await attempt(false);
    }
    for (const r of results) r.group.version = bumps.get(r.group.id) ?? r.group.version;
    return results;
  }

  private async changeOneGroup(tx: Tx, tenantId: string, id: string, steps: GroupStep[], opts: WriteOptions, onVersion: (v: number) => void, early = false): Promise<GroupChange> {
    // Members added or removed, and nothing else, need the group to stay (and keep its assignments)
    // until this commits, not to stay unchanged: on PostgreSQL they hold its row FOR KEY SHARE, as a
    // membership insert's foreign-key check does, so concurrent member changes of one group run side
    // by side, and each waits for the others only at its version bump, in its COMMIT's round trip.
    // Anything that reads the group to change it (a profile change, If-Match, replacing or removing
    // all members) and anything that fans out to its members (assign, unassign, change an
    // assignment) holds it FOR UPDATE, which waits for those and holds them off (rules 1 and 3).
    // A group with a member limit is counted after the change, so its member changes hold it FOR
    // UPDATE too: two additions must not both see room for one.
    const deltaOnly = opts.ifVersion === undefined && steps.every((s) => s.kind === 'addMembers' || s.kind === 'removeMembers');
    const memberSteps = steps.some((s) => s.kind !== 'update');
    const named = [...new Set(steps.flatMap((s) => (s.kind === 'addMembers' || s.kind === 'replaceMembers' ? s.userIds : [])))];
    // The members named that exist, and the group under its lock: one round trip. On PostgreSQL a
    // lone step of adding or removing members (what identity providers send) goes in it too, after
    // the lock: one round trip fewer (and a lone addition reads the users it names itself, one
    // statement fewer). Should a check below refuse the change, the transaction rolls it back with
    // the rest.
    const lock = lockForChange(this.db.dialect, tenantId, id, deltaOnly);
    const lone = early && this.db.dialect === 'postgres' && deltaOnly && steps.length === 1 ? memberStatement(tenantId, id, steps[0]!) : undefined;
    // The hooks' probes of the group (Hooks.probe) go with the lock too, after it.
    const probes = memberSteps ? this.hooks.probesFor(tenantId, id) : [];
    const users = lone?.reads ? [] : chunks(named, 500).map((part) => knownUsers(tenantId, part));
    const statements = [...users, lock.statement, ...(lone ? [lone.statement] : []), ...probes.map(([, st]) => st)];
    let found: unknown[][];
    try {
      found = await tx.pipeline(statements);
    } catch (err) {
      throw lone ? new EarlyChangeFailed() : err;
    }
    const probed = Object.fromEntries(found.splice(users.length + 1 + (lone ? 1 : 0)).map((rows, i) => [probes[i]![0], rows]));
    const loneRows = lone ? (found.pop() as LoneRow[]) : undefined;
    const locked = found.pop() as GroupRow[];
    const userRows = (lone?.reads ? loneRows! : found.flat()) as { id: string; active: boolean | number }[];
    // The lock found nothing when the group's limit was set or lifted between the lock's two reads
    // (lockForChange): lock it plainly (the long way, should a lone step have run before it).
    if (loneRows && lock.eitherOr && !locked.length) throw new EarlyChangeFailed();
    const groupRow = locked[0] ?? (lock.eitherOr ? (await tx.query<GroupRow>(lockGroupStatement(this.db.dialect, tenantId, id, 'for update').sql, [tenantId, id]))[0] : undefined);
    const known = new Map(userRows.map((r) => [r.id, toBool(r.active)]));
    const unknown = named.filter((u) => !known.has(u));
    // A missing group is a 404, and a stale If-Match a 412, before unknown members are a 400.
    if (!groupRow) throw StoreErrors.groupNotFound(id);
    const previous = groupFromRow(groupRow);
    if (opts.ifVersion !== undefined && opts.ifVersion !== previous.version) throw StoreErrors.versionMismatch('Group', id);
    if (unknown.length) throw StoreErrors.unknownMembers(unknown);
    if (memberSteps) checkMembershipOwner(previous, opts.cause);
    if (opts.selfService && previous.settings.visibility !== 'public') throw StoreErrors.privateGroup(id, previous.displayName);
    const inactive = opts.cause.source === 'admin' ? named.filter((u) => known.get(u) === false) : [];
    if (inactive.length) throw StoreErrors.inactiveMembers(inactive);
    const added = new Set<string>();
    const removed = new Set<string>();
    const noteAdded = (ids: string[]) => ids.forEach((u) => (removed.delete(u) ? undefined : added.add(u)));
    const noteRemoved = (ids: string[]) => ids.forEach((u) => (added.delete(u) ? undefined : removed.add(u)));
    let profile: GroupProfile = { displayName: previous.displayName, externalId: previous.externalId, attributes: previous.attributes, settings: previous.settings };
    let profileChanged = false;

    for (const step of steps) {
      switch (step.kind) {
        case 'update': {
          const next = step.apply(profile);
          if (!isDeepStrictEqual(next, profile)) profileChanged = true;
          profile = next;
          break;
        }
        case 'addMembers':
          noteAdded(loneRows ? loneMembers(step.userIds, loneRows) : await insertMembers(tx, tenantId, id, step.userIds));
          break;
        case 'removeMembers':
          noteRemoved(loneRows ? loneMembers(step.userIds, loneRows) : await deleteMembers(tx, tenantId, id, step.userIds));
          break;
        case 'removeAllMembers':
          noteRemoved(await deleteAllMembers(tx, tenantId, id));
          break;
        case 'replaceMembers': {
          const wanted = new Set(step.userIds);
          const current = await memberIdsOf(tx, tenantId, id);
          const currentSet = new Set(current);
          noteRemoved(await deleteMembers(tx, tenantId, id, current.filter((u) => !wanted.has(u))));
          noteAdded(await insertMembers(tx, tenantId, id, [...wanted].filter((u) => !currentSet.has(u))));
          break;
        }
      }
    }
    if (profileChanged) {
      checkSettingsChange(previous, profile, opts.cause);
      // A new rule, or a rule group taken out of the archive, is evaluated now, set-based.
      const s = profile.settings;
      if (s.rule !== null && !s.archived && (s.rule !== previous.settings.rule || previous.settings.archived)) {
        const delta = await this.applyRule(tx, tenantId, id, s.rule);
        noteAdded(delta.joined);
        noteRemoved(delta.left);
      }
    }
    const membersChanged = added.size > 0 || removed.size > 0;
    if (!profileChanged && !membersChanged) return { group: previous, added: [], removed: [] };
    // Read-only, except for taking it out of the archive (which may come with other changes).
    if (previous.settings.archived && profile.settings.archived) throw StoreErrors.groupArchived(id);
    const max = profile.settings.maxMembers;
    if (max !== null && (added.size > 0 || max !== previous.settings.maxMembers)) {
      const count = await countMembersIn(tx, tenantId, id);
      if (count > max) throw StoreErrors.groupFull(id, profile.displayName, max, count);
    }
    const group: GroupRecord = { ...profile, id, tenantId, managedBy: previous.managedBy, createdAt: previous.createdAt, updatedAt: now(), version: previous.version + 1 };
    this.bumpVersion(tx, group, previous, onVersion);
    if (profileChanged) await this.hooks.emit(tx, { type: 'group.updated', tenantId, group, cause: opts.cause });
    if (added.size) await this.hooks.emit(tx, { type: 'membership.added', tenantId, groupId: id, userIds: [...added], cause: opts.cause, probed });
    if (removed.size) await this.hooks.emit(tx, { type: 'membership.removed', tenantId, groupId: id, userIds: [...removed], cause: opts.cause, probed });
    return { group, added: [...added], removed: [...removed] };
  }

  /**
   * Writes the group's changed columns and its new version with the COMMIT (deferred). Under FOR KEY
   * SHARE another member change may have bumped the version since it was read: it is counted in
   * SQL, and the one this change made comes back from RETURNING.
   */
  private bumpVersion(tx: Tx, group: GroupRecord, previous: GroupRecord, onVersion: (v: number) => void): void {
    const { version: _counted, ...columns } = { ...changedColumns(groupToRow(group), groupToRow(previous)), updated_at: group.updatedAt };
    const update = updateStatement('groups', group.tenantId, group.id, columns);
    tx.executeLater<{ version: number }>({ sql: `${update.sql.replace(' set ', ' set version = version + 1, ')} returning version`, bindings: update.bindings }, ([row]) => row && onVersion(row.version));
  }

  addMembers(tenantId: string, groupId: string, userIds: string[], opts: WriteOptions) {
    return this.changeGroup(tenantId, groupId, [{ kind: 'addMembers', userIds }], opts);
  }

  removeMembers(tenantId: string, groupId: string, userIds: string[], opts: WriteOptions) {
    return this.changeGroup(tenantId, groupId, [{ kind: 'removeMembers', userIds }], opts);
  }

  replaceMembers(tenantId: string, groupId: string, userIds: string[], opts: WriteOptions) {
    return this.changeGroup(tenantId, groupId, [{ kind: 'replaceMembers', userIds }], opts);
  }

  /** Deletes a group: its memberships end (emitted as one removal), then the group goes. */
  async deleteGroup(tenantId: string, id: string, opts: WriteOptions): Promise<void> {
    await this.write(opts, async (tx) => {
      const group = await this.lockGroup(tx, tenantId, id);
      if (opts.ifVersion !== undefined && opts.ifVersion !== group.version) throw StoreErrors.versionMismatch('Group', id);
      if (opts.cause.source === 'admin' && group.managedBy === 'identityProvider') throw StoreErrors.managedByIdentityProvider(id, group.displayName, 'the group');
      const removed = await deleteAllMembers(tx, tenantId, id);
      if (removed.length) await this.hooks.emit(tx, { type: 'membership.removed', tenantId, groupId: id, userIds: removed, cause: opts.cause });
      await tx.execute('delete from groups where tenant_id = ? and id = ?', [tenantId, id]);
      await this.hooks.emit(tx, { type: 'group.deleted', tenantId, groupId: id, cause: opts.cause });
    });
  }

  // ---------- internals ----------

  /**
   * One page of a tenant's users or groups, and the total that match. The page's ids come first, from
   * the (tenant_id, created_at, id) index alone, then their rows: a page deep in the list does not read
   * every row it skips.
   */
  private async page<Row extends { id: string }, Rec>(
    table: 'users' | 'groups',
    fromRow: (r: Row) => Rec,
    tenantId: string,
    opts: ListOptions,
    /** More columns for each row, such as a user's groups (`, (select …) as groups_json`). */
    columns = '',
  ): Promise<ListResult<Rec>> {
    // Plain SQL (the filter arrives compiled): knex's query builder cost more than SQLite's work here.
    const where = `${table}.tenant_id = ?${opts.where ? ` and ${opts.where.sql}` : ''}`;
    const whereBindings = [tenantId, ...(opts.where?.bindings ?? [])];
    const dir = opts.orderBy?.desc ? 'desc' : 'asc';
    // Resources without the sort attribute come last in either direction; ties by creation, then id.
    const sortBy = opts.orderBy ? `(${opts.orderBy.expr}) is null, ${opts.orderBy.expr} ${dir}, ` : '';
    const sortBindings = opts.orderBy ? [...(opts.orderBy.bindings ?? []), ...(opts.orderBy.bindings ?? [])] : [];
    // The limit is written into the SQL, not bound: SQLite re-plans a statement whose LIMIT is a bound
    // parameter every time it runs (measured: 15 µs instead of 7 for a one-row page). It is an integer
    // of Roster's own (a page size no larger than SCIM_MAX_PAGE_SIZE), so few statements come of it.
    if (!Number.isSafeInteger(opts.limit) || opts.limit < 0) throw new Error(`page limit must be a whole number (got ${opts.limit})`);
    // No offset at all for the first page (a filter's usual one): PostgreSQL prices a prepared
    // statement's generic plan with an unknown offset dearer than a custom plan, so it would plan a
    // bound `offset $n` anew at every run (100 µs of its 170 for a userName filter).
    const page = `from ${table} where ${where} order by ${sortBy}${table}.created_at ${dir}, ${table}.id ${dir} limit ${opts.limit}${opts.offset > 0 ? ' offset ?' : ''}`;
    const pageBindings = [...whereBindings, ...sortBindings, ...(opts.offset > 0 ? [opts.offset] : [])];
    // Near the start, one statement reads the page's rows; deep in the list, the ids come first from
    // the index alone and only the page's rows are read (skipped rows cost an index step, not a row).
    const shallow = opts.offset < 1000;
    const firstRows = opts.limit > 0 && shallow ? await this.db.read<Row>(`select ${table}.*${columns} ${page}`, pageBindings) : undefined;
    const ids = firstRows
      ? firstRows.map((r) => r.id)
      : opts.limit > 0
        ? (await this.db.read<{ id: string }>(`select ${table}.id ${page}`, pageBindings)).map((r) => r.id)
        : [];
    // A page that is not full, and not past the end, tells the total without counting.
    const total =
      ids.length > 0 && ids.length < opts.limit
        ? opts.offset + ids.length
        : ids.length === 0 && opts.offset === 0 && opts.limit > 0
          ? 0
          : Number((await this.db.read<{ n: number | string }>(`select count(*) as n from ${table} where ${where}`, whereBindings))[0]?.n ?? 0);
    const rows =
      firstRows ?? (ids.length ? await this.db.read<Row>(`select ${table}.*${columns} from ${table} where tenant_id = ? and id in (${placeholders(ids)})`, [tenantId, ...ids]) : []);
    const byId = new Map(rows.map((r) => [r.id, r]));
    return { items: ids.flatMap((id) => (byId.has(id) ? [fromRow(byId.get(id)!)] : [])), total };
  }

  /** One write transaction, stopped at the request's deadline (the cause's). */
  private write<T>(opts: WriteOptions, work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.db.transaction(work, { deadline: opts.cause.deadline });
  }

  /**
   * Reads a user under a row lock on PostgreSQL: FOR UPDATE, which also waits for (and holds off) the
   * FOR KEY SHARE of a concurrent membership insert's foreign-key check and of a fan-out (openGrants),
   * so a deactivation and an enrollment of the same user never both miss each other (rule 6). The
   * only groups a user change locks are the tenant's rule groups, and it locks them first (see
   * ruleGroupsStatement), so it cannot wait in a circle with a group change (group, then user).
   */
  private async lockUser(tx: Tx, tenantId: string, id: string): Promise<UserRecord> {
    const { sql, bindings } = this.lockUserStatement(tenantId, id);
    const [row] = await tx.query<UserRow>(sql, bindings);
    if (!row) throw StoreErrors.userNotFound(id);
    return userFromRow(row);
  }

  private lockUserStatement(tenantId: string, id: string): Statement {
    return { sql: `select * from users where tenant_id = ? and id = ?${this.db.dialect === 'postgres' ? ' for update' : ''}`, bindings: [tenantId, id] };
  }

  // ---------- rule groups ----------

  /**
   * The tenant's live rule groups (not archived), held FOR KEY SHARE on PostgreSQL while a user change
   * decides which of them the user belongs to: a rule change or a fan-out (FOR UPDATE) waits for it,
   * or it for them, never half of each.
   */
  private ruleGroupsStatement(tenantId: string): Statement {
    return { sql: `select id, rule from groups where tenant_id = ? and rule is not null and not archived order by id${this.db.dialect === 'postgres' ? ' for key share' : ''}`, bindings: [tenantId] };
  }

  /**
   * Joins the user to the rule groups whose rule they now match and takes them out of those they no
   * longer match: one insert and one delete, sent together, whatever the number of groups.
   */
  private async applyRulesToUser(tx: Tx, user: UserRecord, rules: RuleGroupRow[], cause: Cause): Promise<void> {
    if (!rules.length) return;
    const { tenantId } = user;
    const ids = rules.map((r) => r.id);
    const current = new Set((await tx.query<{ group_id: string }>(`select group_id from memberships where user_id = ? and group_id in (${placeholders(ids)})`, [user.id, ...ids])).map((r) => r.group_id));
    const wanted = new Set(rules.filter((r) => this.compileRule(r.rule).matches(user)).map((r) => r.id));
    const joins = ids.filter((g) => wanted.has(g) && !current.has(g));
    const leaves = ids.filter((g) => !wanted.has(g) && current.has(g));
    if (!joins.length && !leaves.length) return;
    const at = now();
    const joinStatements = joins.length ? insertStatements('memberships', joins.map((g) => ({ tenant_id: tenantId, group_id: g, user_id: user.id, created_at: at })), 'on conflict (group_id, user_id) do nothing returning group_id') : [];
    const leaveStatements = leaves.length ? [{ sql: `delete from memberships where tenant_id = ? and user_id = ? and group_id in (${placeholders(leaves)}) returning group_id`, bindings: [tenantId, user.id, ...leaves] }] : [];
    const results = await tx.pipeline<{ group_id: string }>([...joinStatements, ...leaveStatements]);
    const joined = results.slice(0, joinStatements.length).flat().map((r) => r.group_id);
    const left = results.slice(joinStatements.length).flat().map((r) => r.group_id);
    for (const part of chunks([...joined, ...left])) {
      tx.executeLater({ sql: `update groups set version = version + 1, updated_at = ? where tenant_id = ? and id in (${placeholders(part)})`, bindings: [at, tenantId, ...part] });
    }
    for (const groupId of joined) await this.hooks.emit(tx, { type: 'membership.added', tenantId, groupId, userIds: [user.id], cause });
    for (const groupId of left) await this.hooks.emit(tx, { type: 'membership.removed', tenantId, groupId, userIds: [user.id], cause });
  }

  /**
   * Makes a rule group's members exactly the users its rule matches: one statement for those who
   * join and one for those who leave, whatever the numbers.
   */
  private async applyRule(tx: Tx, tenantId: string, groupId: string, rule: string): Promise<{ joined: string[]; left: string[] }> {
    const { where } = this.compileRule(rule);
    const joined = await tx.query<{ user_id: string }>(
      `insert into memberships (tenant_id, group_id, user_id, created_at)
       select users.tenant_id, ?, users.id, ? from users where users.tenant_id = ? and (${where.sql})
       on conflict (group_id, user_id) do nothing returning user_id`,
      [groupId, now(), tenantId, ...where.bindings],
    );
    const left = await tx.query<{ user_id: string }>(
      `delete from memberships where tenant_id = ? and group_id = ?
       and user_id not in (select users.id from users where users.tenant_id = ? and (${where.sql})) returning user_id`,
      [tenantId, groupId, tenantId, ...where.bindings],
    );
    return { joined: joined.map((r) => r.user_id), left: left.map((r) => r.user_id) };
  }

  /** Who a rule would bring in and take out of a group, without changing anything (a dry run); the first `limit` of each, and the counts. */
  async previewRule(tenantId: string, groupId: string, rule: string, limit = 100): Promise<RulePreview | undefined> {
    const group = await this.getGroup(tenantId, groupId);
    if (!group) return undefined;
    const { where } = this.compileRule(rule);
    const matching = `select users.id from users where users.tenant_id = ? and (${where.sql})`;
    const joinFrom = `from users where users.tenant_id = ? and (${where.sql}) and not exists (select 1 from memberships m where m.group_id = ? and m.user_id = users.id)`;
    const leaveFrom = `from memberships m join users on users.id = m.user_id where m.tenant_id = ? and m.group_id = ? and m.user_id not in (${matching})`;
    const joinBindings = [tenantId, ...where.bindings, groupId];
    const leaveBindings = [tenantId, groupId, tenantId, ...where.bindings];
    const [join, leave, [joinCount], [leaveCount]] = await Promise.all([
      this.db.read<{ id: string; user_name: string }>(`select users.id, users.user_name ${joinFrom} order by users.user_name_lc limit ${limit}`, joinBindings),
      this.db.read<{ id: string; user_name: string }>(`select users.id, users.user_name ${leaveFrom} order by users.user_name_lc limit ${limit}`, leaveBindings),
      this.db.read<{ n: number | string }>(`select count(*) as n ${joinFrom}`, joinBindings),
      this.db.read<{ n: number | string }>(`select count(*) as n ${leaveFrom}`, leaveBindings),
    ]);
    const people = (rows: { id: string; user_name: string }[]) => rows.map((r) => ({ id: r.id, userName: r.user_name }));
    return { join: { count: Number(joinCount?.n ?? 0), users: people(join) }, leave: { count: Number(leaveCount?.n ?? 0), users: people(leave) } };
  }

  /** Locks the group row first, so concurrent changes of one group queue instead of interleaving. */
  private async lockGroup(tx: Tx, tenantId: string, id: string): Promise<GroupRecord> {
    const { sql, bindings } = lockGroupStatement(this.db.dialect, tenantId, id, 'for update');
    const [row] = await tx.query<GroupRow>(sql, bindings);
    if (!row) throw StoreErrors.groupNotFound(id);
    return groupFromRow(row);
  }
}

/**
 * The groups of the user row `users` (a table name or alias) of a statement, as one JSON list of
 * [id, displayName] in displayName order (read it with groupsFromJson).
 */
export function userGroupsJson(dialect: Dialect, users = 'users'): string {
  const pairs =
    dialect === 'sqlite'
      ? 'json_group_array(json_array(g.id, g.display_name) order by g.display_name_lc, g.id)'
      : `coalesce(json_agg(json_build_array(g.id, g.display_name) order by g.display_name_lc, g.id), '[]'::json)`;
  return `(select ${pairs} from memberships m join groups g on g.id = m.group_id where m.tenant_id = ${users}.tenant_id and m.user_id = ${users}.id)`;
}

/** A user's groups as userGroupsJson gives them: JSON text on SQLite, parsed on PostgreSQL. */
export type GroupsJson = string | [string, string][];

export const groupsFromJson = (v: GroupsJson): GroupRef[] => (typeof v === 'string' ? (JSON.parse(v) as [string, string][]) : v).map(([id, displayName]) => ({ id, displayName }));

/** The group's row under a row lock on PostgreSQL (SQLite has one writer: no lock needed). */
export function lockGroupStatement(dialect: Dialect, tenantId: string, id: string, lock: 'for update' | 'for key share'): Statement {
  return { sql: `select * from groups where tenant_id = ? and id = ?${dialect === 'postgres' ? ` ${lock}` : ''}`, bindings: [tenantId, id] };
}

/** Which of the given ids are users of this tenant (members must be: a foreign key alone would take another tenant's user). */
const knownUsers = (tenantId: string, ids: readonly string[]): Statement => ({ sql: `select id, active from users where tenant_id = ? and id in (${placeholders(ids)})`, bindings: [tenantId, ...ids] });

/**
 * The statement that reads and locks a group for a change. A change of members only holds it FOR KEY
 * SHARE unless it has a member limit, which needs FOR UPDATE (the count must not change under it):
 * on PostgreSQL one statement of two reads, of which exactly one finds the row (`eitherOr`); should
 * the limit be set or lifted between them, neither does.
 */
function lockForChange(dialect: Dialect, tenantId: string, id: string, deltaOnly: boolean): { statement: Statement; eitherOr: boolean } {
  if (!deltaOnly || dialect !== 'postgres') return { statement: lockGroupStatement(dialect, tenantId, id, 'for update'), eitherOr: false };
  const where = 'select * from groups where tenant_id = ? and id = ? and max_members is';
  return {
    statement: {
      sql: `with unlimited as (${where} null for key share), limited as (${where} not null for update) select * from unlimited union all select * from limited`,
      bindings: [tenantId, id, tenantId, id],
    },
    eitherOr: true,
  };
}

/** Who may change a group's members: not the admin API for an identity provider's group, nobody but its rule for a rule group. */
function checkMembershipOwner(group: GroupRecord, cause: Cause): void {
  if (group.settings.rule !== null) throw StoreErrors.managedByRule(group.id, group.displayName);
  if (cause.source === 'admin' && group.managedBy === 'identityProvider') throw StoreErrors.managedByIdentityProvider(group.id, group.displayName);
}

/** Settings that cannot go together, and what the admin API may not change on an identity provider's group. */
function checkSettingsChange(previous: GroupRecord, next: GroupProfile, cause: Cause): void {
  const s = next.settings;
  if (s.rule !== null && s.maxMembers !== null) throw new StoreError('invalid', 'a rule group has no member limit: its members are exactly the users its rule matches', { id: previous.id });
  const idp = previous.managedBy === 'identityProvider';
  if (idp && s.rule !== null) throw StoreErrors.managedByIdentityProvider(previous.id, previous.displayName, 'a rule');
  if (idp && s.visibility === 'public' && previous.settings.visibility !== 'public') throw StoreErrors.managedByIdentityProvider(previous.id, previous.displayName, 'public visibility (members joining by themselves)');
  if (idp && cause.source === 'admin' && (next.displayName !== previous.displayName || next.externalId !== previous.externalId)) {
    throw StoreErrors.managedByIdentityProvider(previous.id, previous.displayName, 'its name');
  }
}

const countMembersStatement = (tenantId: string, groupId: string): Statement => ({ sql: 'select count(*) as n from memberships where tenant_id = ? and group_id = ?', bindings: [tenantId, groupId] });

async function countMembersIn(tx: Tx, tenantId: string, groupId: string): Promise<number> {
  const { sql, bindings } = countMembersStatement(tenantId, groupId);
  const [row] = await tx.query<{ n: number | string }>(sql, bindings);
  return Number(row?.n ?? 0);
}

/** Whether the group is one of the tenant's. */
export async function groupExists(db: Db, tenantId: string, groupId: string): Promise<boolean> {
  return (await db.read('select 1 as found from groups where tenant_id = ? and id = ?', [tenantId, groupId])).length > 0;
}

/** The given ids that are not users of this tenant (see knownUsers). */
async function unknownUsers(tx: Tx, tenantId: string, userIds: readonly string[]): Promise<string[]> {
  const unknown: string[] = [];
  for (const part of chunks([...new Set(userIds)], 500)) {
    const { sql, bindings } = knownUsers(tenantId, part);
    const known = new Set((await tx.query<{ id: string }>(sql, bindings)).map((r) => r.id));
    unknown.push(...part.filter((u) => !known.has(u)));
  }
  return unknown;
}

/**
 * A lone step's statement (see changeOneGroup): an addition's insert that reads the users it names
 * (`reads`: addKnownMembersStatement), or the delete as deleteMembers writes it; none for more than
 * 500 members.
 */
function memberStatement(tenantId: string, groupId: string, step: GroupStep): { statement: Statement; reads: boolean } | undefined {
  if (step.kind !== 'addMembers' && step.kind !== 'removeMembers') return undefined;
  const ids = [...new Set(step.userIds)];
  if (!ids.length || ids.length > 500) return undefined;
  return step.kind === 'addMembers' ? { statement: addKnownMembersStatement(tenantId, groupId, ids, now()), reads: true } : { statement: deleteMembersStatement(tenantId, groupId, ids), reads: false };
}

/** What a lone step's statement answers: each user it added or removed, and for an addition each named user that exists, with `active` and whether it was added. */
type LoneRow = { user_id: string; id?: string; active?: boolean; added?: boolean };

/** The users a lone step added or removed, in the order the step named them. */
function loneMembers(named: readonly string[], rows: readonly LoneRow[]): string[] {
  const changed = new Set(rows.filter((r) => r.added !== false).map((r) => r.user_id));
  return [...new Set(named)].filter((u) => changed.has(u));
}

/**
 * Adds those of the named users that are users of this tenant (knownUsers) and not members yet, in
 * one statement that also answers which users exist: a row for each, with whether it was added.
 */
const addKnownMembersStatement = (tenantId: string, groupId: string, userIds: readonly string[], at: string): Statement => ({
  sql: `with known as (select id, active from users where tenant_id = ? and id in (${placeholders(userIds)})),
    added as (insert into memberships (tenant_id, group_id, user_id, created_at) select ?, ?, id, ? from known on conflict (group_id, user_id) do nothing returning user_id)
    select known.id, known.id as user_id, known.active, added.user_id is not null as added from known left join added on added.user_id = known.id`,
  bindings: [tenantId, ...userIds, tenantId, groupId, at],
});

/** The lone step's round trip failed before the checks could say why: the change runs again the long way. */
class EarlyChangeFailed extends Error {}

const insertMembersStatement = (tenantId: string, groupId: string, userIds: readonly string[], at: string): Statement =>
  insertStatements('memberships', userIds.map((userId) => ({ tenant_id: tenantId, group_id: groupId, user_id: userId, created_at: at })), 'on conflict (group_id, user_id) do nothing returning user_id', 500)[0]!;

const deleteMembersStatement = (tenantId: string, groupId: string, userIds: readonly string[]): Statement => ({
  sql: `delete from memberships where tenant_id = ? and group_id = ? and user_id in (${placeholders(userIds)}) returning user_id`,
  bindings: [tenantId, groupId, ...userIds],
});

/** Inserts the memberships that do not exist yet (of users unknownUsers knows); returns the users actually added. */
async function insertMembers(tx: Tx, tenantId: string, groupId: string, userIds: string[]): Promise<string[]> {
  const wanted = [...new Set(userIds)];
  const added: string[] = [];
  const at = now();
  for (const part of chunks(wanted, 500)) {
    const { sql, bindings } = insertMembersStatement(tenantId, groupId, part, at);
    try {
      const inserted = await tx.query<{ user_id: string }>(sql, bindings);
      for (const r of inserted) added.push(r.user_id);
    } catch (err) {
      // A user deleted since the check
      throw constraintOf(err)?.kind === 'foreignKey' ? StoreErrors.unknownMembers(part) : err;
    }
  }
  return added;
}

// DELETE … RETURNING gives the rows this statement deleted: a member removed by a concurrent change (waited for on its row) is not counted twice.
async function deleteMembers(tx: Tx, tenantId: string, groupId: string, userIds: string[]): Promise<string[]> {
  const removed: string[] = [];
  for (const part of chunks([...new Set(userIds)], 500)) {
    const { sql, bindings } = deleteMembersStatement(tenantId, groupId, part);
    const deleted = await tx.query<{ user_id: string }>(sql, bindings);
    removed.push(...deleted.map((r) => r.user_id));
  }
  return removed;
}

async function memberIdsOf(tx: Tx, tenantId: string, groupId: string): Promise<string[]> {
  return (await tx.query<{ user_id: string }>('select user_id from memberships where tenant_id = ? and group_id = ?', [tenantId, groupId])).map((r) => r.user_id);
}

async function deleteAllMembers(tx: Tx, tenantId: string, groupId: string): Promise<string[]> {
  const present = await memberIdsOf(tx, tenantId, groupId);
  if (present.length) await tx.execute('delete from memberships where tenant_id = ? and group_id = ?', [tenantId, groupId]);
  return present;
}

function emailRows(user: UserRecord) {
  return user.emails.map((e) => ({
    tenant_id: user.tenantId,
    user_id: user.id,
    value: fits('emails.value', e.value),
    value_lc: e.value.toLowerCase(),
    type: fits('emails.type', e.type ?? null, 50),
    primary: e.primary === true,
  }));
}

const PROFILE_KEYS: (keyof UserProfile)[] = ['userName', 'externalId', 'displayName', 'active', 'emails', 'department', 'employeeNumber', 'managerId', 'attributes'];

/** Deep equality that ignores key order (PostgreSQL's jsonb keeps keys in an order of its own). */
function sameProfile(a: UserProfile, b: UserProfile): boolean {
  return PROFILE_KEYS.every((k) => isDeepStrictEqual(a[k], b[k]));
}

function translateUserConflict(err: unknown, userName: string): unknown {
  const c = constraintOf(err);
  return c?.kind === 'unique' ? StoreErrors.userNameTaken(userName) : err;
}

/**
 * The columns an UPDATE sets: those whose value changed. Never the keys: SQLite re-checks every child
 * row's foreign key when an UPDATE names the parent key, even to the same value, which made adding
 * one member to a group of 100,000 cost 15 ms instead of 1. And no unchanged indexed column: SQLite
 * rewrites the index entries of every indexed column an UPDATE names, so a one-member PATCH that set
 * the group's displayName and externalId to themselves dirtied two index pages more for its COMMIT.
 */
function changedColumns<R extends { id: string; tenant_id: string; created_at: string }>(row: R, previous: R): Partial<R> {
  const out: Partial<R> = {};
  for (const key of Object.keys(row) as (keyof R)[]) {
    if (key === 'id' || key === 'tenant_id' || key === 'created_at') continue;
    if (row[key] !== previous[key]) out[key] = row[key];
  }
  return out;
}

/** The indexed email facts of a profile's `emails`, in the one shape both sides of a comparison use. */
export function emailsOf(list: unknown): UserProfile['emails'] {
  if (!Array.isArray(list)) return [];
  return (list as Record<string, unknown>[])
    .filter((e) => typeof e?.value === 'string' && e.value !== '')
    .map((e) => ({ value: e.value as string, type: typeof e.type === 'string' ? e.type : null, primary: e.primary === true }));
}

/** Indexed columns hold 300 characters on both engines (SQLite would not enforce it; PostgreSQL would fail). */
export const MAX_INDEXED_CHARS = 300;

function fits<T extends string | null>(attribute: string, value: T, max = MAX_INDEXED_CHARS): T {
  if (value !== null && value.length > max) {
    throw new StoreError('invalid', `${attribute} is longer than ${max} characters (${value.length})`, { attribute, max });
  }
  return value;
}

function userToRow(u: UserRecord): UserRow {
  return {
    id: u.id,
    tenant_id: u.tenantId,
    user_name: fits('userName', u.userName),
    user_name_lc: u.userName.toLowerCase(),
    external_id: fits('externalId', u.externalId),
    display_name: fits('displayName', u.displayName),
    active: u.active,
    department: fits('department', u.department),
    employee_number: fits('employeeNumber', u.employeeNumber),
    manager_id: fits('manager', u.managerId),
    data: JSON.stringify(u.attributes),
    created_at: u.createdAt,
    updated_at: u.updatedAt,
    version: u.version,
  };
}

function userFromRow(r: UserRow): UserRecord {
  const attributes = fromJson(r.data);
  return {
    id: r.id,
    tenantId: r.tenant_id,
    userName: r.user_name,
    externalId: r.external_id,
    displayName: r.display_name,
    active: toBool(r.active),
    emails: emailsOf(attributes.emails),
    department: r.department,
    employeeNumber: r.employee_number,
    managerId: r.manager_id,
    attributes,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    version: r.version,
  };
}

function groupToRow(g: GroupRecord): GroupRow {
  return {
    id: g.id,
    tenant_id: g.tenantId,
    display_name: fits('displayName', g.displayName),
    display_name_lc: g.displayName.toLowerCase(),
    external_id: fits('externalId', g.externalId),
    data: JSON.stringify(g.attributes),
    created_at: g.createdAt,
    updated_at: g.updatedAt,
    version: g.version,
    ...settingsToColumns(g.settings),
    managed_by: g.managedBy,
  };
}

/** The settings as the columns of groups. */
export function settingsToColumns(s: GroupSettings): Pick<GroupRow, 'description' | 'color' | 'max_members' | 'visibility' | 'archived' | 'rule' | 'credit_limit_per_session'> {
  return {
    description: s.description,
    color: s.color,
    max_members: s.maxMembers,
    visibility: s.visibility,
    archived: s.archived,
    rule: s.rule,
    credit_limit_per_session: s.creditLimitPerSession,
  };
}

export function settingsFromRow(r: GroupRow): GroupSettings {
  return {
    description: r.description,
    color: r.color,
    maxMembers: r.max_members,
    visibility: r.visibility,
    archived: toBool(r.archived),
    rule: r.rule,
    creditLimitPerSession: r.credit_limit_per_session,
  };
}

function groupFromRow(r: GroupRow): GroupRecord {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    displayName: r.display_name,
    externalId: r.external_id,
    attributes: fromJson(r.data),
    settings: settingsFromRow(r),
    managedBy: r.managed_by,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    version: r.version,
  };
}
