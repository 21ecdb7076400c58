import type { Db } from '../db/knex';
import type { Tx } from '../db/tx';
import { insertRows, updateRow } from '../db/sql';
import { constraintOf } from '../db/errors';
import { now, toBool } from '../db/tables';
import { StoreError, StoreErrors } from '../membership/errors';
import { lockGroupStatement } from '../membership/store';
import type { Cause } from '../membership/types';
import type { ChangeSink } from '../synclog/changes';
import { openGrants, recertifyDue, recomputeTerms, reconcile, unassign, type EndDelta, type GrantDelta, type ReconcileCounts, type RuleEnv } from './rules';
import { newId } from '../ids';

export type LeavePolicy = 'suspend' | 'keep' | 'suspendIfNotStarted';

export interface AssignmentInput {
  contentId: string;
  mandatory?: boolean;
  dueDate?: string;
  dueInDays?: number;
  recertifyMonths?: number;
  onLeave?: LeavePolicy;
  futureOnly?: boolean;
}

export interface AssignmentUpdate {
  mandatory?: boolean;
  dueDate?: string | null;
  dueInDays?: number | null;
  recertifyMonths?: number | null;
  onLeave?: LeavePolicy;
}

export interface Assignment {
  id: string;
  groupId: string;
  contentId: string;
  mandatory: boolean;
  dueDate: string | null;
  dueInDays: number | null;
  recertifyMonths: number | null;
  onLeave: LeavePolicy;
  futureOnly: boolean;
  createdAt: string;
}

interface AssignmentRow {
  id: string;
  tenant_id: string;
  group_id: string;
  content_id: string;
  mandatory: boolean | number;
  due_date: string | null;
  due_in_days: number | null;
  recertify_months: number | null;
  on_leave: string;
  future_only: boolean | number;
  created_at: string;
  cause: string;
}

const fromRow = (r: AssignmentRow): Assignment => ({
  id: r.id,
  groupId: r.group_id,
  contentId: r.content_id,
  mandatory: toBool(r.mandatory),
  dueDate: r.due_date,
  dueInDays: r.due_in_days,
  recertifyMonths: r.recertify_months,
  onLeave: r.on_leave as LeavePolicy,
  futureOnly: toBool(r.future_only),
  createdAt: r.created_at,
});

export class AssignmentStore {
  private readonly env: RuleEnv;

  constructor(
    private readonly db: Db,
    private readonly changes: ChangeSink,
  ) {
    this.env = { dialect: db.dialect, changes };
  }

  /**
   * Rule 3, assigning reaches current and future members: the assignment, then one set-based fan-out
   * to every current member (unless futureOnly); later joiners get it through the membership hook.
   * A dry run does all of it in a transaction that is rolled back, so its counts are exact.
   */
  async assign(
    tenantId: string,
    groupId: string,
    input: AssignmentInput,
    cause: Cause,
    opts: { dryRun?: boolean } = {},
  ): Promise<{ assignment: Assignment; delta: GrantDelta }> {
    return this.db.transaction(async (tx) => {
      if (!(await this.lockGroup(tx, tenantId, groupId))) throw StoreErrors.groupNotFound(groupId);
      const [content] = await tx.query('select id from content where tenant_id = ? and id = ?', [tenantId, input.contentId]);
      if (!content) throw StoreErrors.contentNotFound(input.contentId);
      const row: AssignmentRow = {
        id: newId(),
        tenant_id: tenantId,
        group_id: groupId,
        content_id: input.contentId,
        mandatory: input.mandatory ?? false,
        due_date: input.dueDate ? new Date(input.dueDate).toISOString() : null,
        due_in_days: input.dueInDays ?? null,
        recertify_months: input.recertifyMonths ?? null,
        on_leave: input.onLeave ?? 'suspend',
        future_only: input.futureOnly ?? false,
        created_at: now(),
        cause: cause.requestId || cause.source,
      };
      try {
        await insertRows(tx, 'assignments', [row]);
      } catch (err) {
        if (constraintOf(err)?.kind === 'unique') {
          throw new StoreError('conflict', `Content ${input.contentId} is already assigned to group ${groupId}`, { groupId, contentId: input.contentId });
        }
        throw err;
      }
      // futureOnly: no current membership began after the assignment, so the fan-out finds nobody
      this.changes.record(tx, tenantId, cause, 'assignment.created', [row.id], groupId);
      const delta = await openGrants(tx, this.env, tenantId, { groupId, userIds: 'allMembers', assignmentIds: [row.id] }, cause);
      return { assignment: fromRow(row), delta };
    }, { ...opts, deadline: cause.deadline });
  }

  /**
   * Holds the group's row FOR UPDATE on PostgreSQL until the transaction ends: a member change holds
   * it FOR KEY SHARE (MembershipStore.changeGroup), so a fan-out to the group's members and a member
   * joining or leaving never run side by side and miss each other (rules 1, 3, 4 and 7). Whether it
   * exists.
   */
  private async lockGroup(tx: Tx, tenantId: string, groupId: string): Promise<boolean> {
    const { sql, bindings } = lockGroupStatement(tx.dialect, tenantId, groupId, 'for update');
    const [group] = await tx.query<{ archived: boolean | number }>(sql, bindings);
    // An archived group is read-only: its assignments stay as they are until it is unarchived.
    if (group && toBool(group.archived)) throw StoreErrors.groupArchived(groupId);
    return group !== undefined;
  }

  /** Changes an assignment's options (not its group or content). */
  async update(tenantId: string, id: string, change: AssignmentUpdate, cause: Cause): Promise<Assignment | undefined> {
    const patch: Partial<AssignmentRow> = {};
    if (change.mandatory !== undefined) patch.mandatory = change.mandatory;
    if (change.dueDate !== undefined) {
      patch.due_date = change.dueDate === null ? null : new Date(change.dueDate).toISOString();
      if (change.dueDate !== null) patch.due_in_days = null;
    }
    if (change.dueInDays !== undefined) {
      patch.due_in_days = change.dueInDays;
      if (change.dueInDays !== null) patch.due_date = null;
    }
    if (change.recertifyMonths !== undefined) patch.recertify_months = change.recertifyMonths;
    if (change.onLeave !== undefined) patch.on_leave = change.onLeave;
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<AssignmentRow>('select * from assignments where tenant_id = ? and id = ?', [tenantId, id]);
      if (!row) return undefined;
      await this.lockGroup(tx, tenantId, row.group_id);
      if (Object.keys(patch).length) await updateRow(tx, 'assignments', tenantId, id, patch);
      Object.assign(row, patch);
      this.changes.record(tx, tenantId, cause, 'assignment.updated', [id], row.group_id);
      // Rule 7: the terms of every enrollment this assignment currently grants follow the change.
      const granted = await tx.query<{ enrollment_id: string }>('select enrollment_id from grants where tenant_id = ? and assignment_id = ? and ended_at is null', [tenantId, id]);
      await recomputeTerms(tx, this.env, granted.map((g) => g.enrollment_id));
      return fromRow(row);
    }, { deadline: cause.deadline });
  }

  /** Rule 4: the assignment goes; its grants end; course enrollments stay, access-only content ends. */
  async remove(tenantId: string, id: string, cause: Cause): Promise<EndDelta | undefined> {
    return this.db.transaction(async (tx) => {
      const [found] = await tx.query<{ id: string; group_id: string }>('select id, group_id from assignments where tenant_id = ? and id = ?', [tenantId, id]);
      if (!found) return undefined;
      await this.lockGroup(tx, tenantId, found.group_id);
      this.changes.record(tx, tenantId, cause, 'assignment.removed', [id], found.group_id);
      const delta = await unassign(tx, this.env, tenantId, id, cause);
      await tx.execute('delete from assignments where tenant_id = ? and id = ?', [tenantId, id]);
      return delta;
    }, { deadline: cause.deadline });
  }

  /** Rule 11's repair for one tenant; a dry run reports the counts and changes nothing. */
  reconcile(tenantId: string, cause: Cause, opts: { dryRun?: boolean } = {}): Promise<ReconcileCounts> {
    return this.db.transaction((tx) => reconcile(tx, this.env, tenantId, cause), { ...opts, deadline: cause.deadline });
  }

  /** Rule 9 for one tenant at a given time (the server runs it hourly; reconcile runs it too). */
  /** How many enrollments recertify() would reopen now (a rolled-back run: exact, changes nothing). */
  recertificationDue(tenantId: string, at = new Date().toISOString()): Promise<number> {
    return this.db.transaction((tx) => recertifyDue(tx, this.env, tenantId, at, { requestId: '', source: 'rule' }), { dryRun: true });
  }

  recertify(tenantId: string, cause: Cause, at = new Date().toISOString()): Promise<number> {
    return this.db.transaction((tx) => recertifyDue(tx, this.env, tenantId, at, cause), { deadline: cause.deadline });
  }

  async listForGroup(tenantId: string, groupId: string): Promise<Assignment[] | undefined> {
    const group = (await this.db.knex('groups').where({ tenant_id: tenantId, id: groupId }).first('id')) as { id: string } | undefined;
    if (!group) return undefined;
    const rows = (await this.db.knex('assignments').where({ tenant_id: tenantId, group_id: groupId }).orderBy(['created_at', 'id'])) as AssignmentRow[];
    return rows.map(fromRow);
  }
}
