import type { Tx } from '../db/tx';
import type { Dialect } from '../db/knex';
import { chunks, now } from '../db/tables';
import type { Hooks } from '../membership/hooks';
import type { Cause } from '../membership/types';
import { writeEvents, writeGroupEvents } from '../outbox/outbox';
import type { ChangeSink } from '../synclog/changes';
import { placeholders } from '../db/sql';

/** Rule 8: a late joiner whose absolute due date has already passed gets this many days from joining. */
export const LATE_JOINER_MIN_DAYS = 7;

/** `iso + n days` (or months), as an ISO-8601 UTC string with milliseconds, on either engine. */
function plus(dialect: Dialect, isoColumn: string, nSql: string, unit: 'day' | 'month' = 'day'): string {
  return dialect === 'sqlite'
    ? `strftime('%Y-%m-%dT%H:%M:%fZ', ${isoColumn}, '+' || (${nSql}) || ' ${unit}s')`
    : `to_char((cast(${isoColumn} as timestamptz) + (${nSql}) * interval '1 ${unit}') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}

/**
 * Rule 8: the due date one grant gives, started at `startedAt` (SQL): a relative due date counts from
 * the start, and an absolute one already past at joining gives LATE_JOINER_MIN_DAYS.
 */
function dueOf(dialect: Dialect, startedAt: string): string {
  return `case
      when a.due_in_days is not null then ${plus(dialect, startedAt, 'a.due_in_days')}
      when a.due_date is not null and a.due_date < ${startedAt} then ${plus(dialect, startedAt, String(LATE_JOINER_MIN_DAYS))}
      else a.due_date end`;
}

/**
 * Rules 7 and 8, overlaps resolve to the strictest: mandatory if any open grant's assignment is, and
 * the earliest due date of the open grants (dueOf each). One statement per 500 enrollments; a
 * completed enrollment's dates never move.
 */
export async function recomputeTerms(tx: Tx, env: RuleEnv, enrollmentIds: readonly string[]): Promise<void> {
  const at = now();
  const open = `from grants g join assignments a on a.id = g.assignment_id where g.enrollment_id = enrollments.id and g.ended_at is null`;
  for (const ids of chunks([...new Set(enrollmentIds)], 500)) {
    await tx.query(
      `update enrollments set
         mandatory = (coalesce((select max(case when a.mandatory then 1 else 0 end) ${open}), 0) = 1),
         due_at = (select min(${dueOf(env.dialect, 'g.started_at')}) ${open}),
         updated_at = ?
       where state <> 'completed' and id in (${placeholders(ids)})`,
      [at, ...ids],
    );
  }
}

/** What the rules need besides the transaction: the SQL dialect, and where changes are recorded. */
export interface RuleEnv {
  dialect: Dialect;
  changes: ChangeSink;
}

type EnrollmentChange = 'enrollment.created' | 'enrollment.reactivated' | 'enrollment.suspended' | 'enrollment.completed' | 'enrollment.reopened';

/** A real change to enrollments: an outbox event (rule 12) and a sync-log record, in the same transaction. */
export function changed(tx: Tx, env: RuleEnv, tenantId: string, kind: EnrollmentChange, ids: readonly string[], cause: Cause): void {
  writeEvents(tx, tenantId, kind, ids, 'enrollmentIds', cause);
  env.changes.record(tx, tenantId, cause, kind, ids);
}

/** An open grant through a group's assignment, as a completion needs it (see groupGrantsOf). */
export interface GroupGrant {
  enrollment_id: string;
  user_id: string;
  content_id: string;
  group_id: string;
  recertify_months: number | string | null;
}

/**
 * The open grants through groups of these enrollments, one statement per 500: the groups in whose
 * feed their completion belongs (a member's completion of content assigned to the group: a grant
 * is open exactly while both the membership and the assignment are), and the recertification each asks.
 */
export async function groupGrantsOf(tx: Tx, enrollmentIds: readonly string[]): Promise<GroupGrant[]> {
  const out: GroupGrant[] = [];
  for (const ids of chunks([...new Set(enrollmentIds)], 500)) {
    out.push(
      ...(await tx.query<GroupGrant>(
        `select g.enrollment_id, e.user_id, e.content_id, g.group_id, a.recertify_months
         from grants g join assignments a on a.id = g.assignment_id join enrollments e on e.id = g.enrollment_id
         where g.enrollment_id in (${placeholders(ids)}) and g.ended_at is null`,
        ids,
      )),
    );
  }
  return out;
}

/**
 * Enrollments completed: their `enrollment.completed` events as before, and for each group whose
 * open grant (groupGrantsOf) leads to one, a `group.enrollmentCompleted` event tagged with the group,
 * for its feed. A type of its own, so a subscriber of `enrollment.completed` hears of a completion
 * once however many groups lead to it.
 */
export function completed(tx: Tx, env: RuleEnv, tenantId: string, enrollmentIds: readonly string[], grants: readonly GroupGrant[], cause: Cause): void {
  changed(tx, env, tenantId, 'enrollment.completed', enrollmentIds, cause);
  const done = new Set(enrollmentIds);
  const perGroup = new Map(grants.filter((g) => done.has(g.enrollment_id)).map((g) => [`${g.group_id} ${g.enrollment_id}`, g]));
  writeGroupEvents(
    tx,
    tenantId,
    'group.enrollmentCompleted',
    [...perGroup.values()].map((g) => ({ groupId: g.group_id, enrollmentId: g.enrollment_id, userId: g.user_id, contentId: g.content_id })),
    cause,
  );
}

/** What a fan-out did: counts for the caller (and, later, the sync log). */
export interface GrantDelta {
  enrollmentsCreated: number;
  enrollmentsReactivated: number;
  grantsOpened: number;
}

export interface EndDelta {
  grantsEnded: number;
  enrollmentsSuspended: number;
}

const causeOf = (c: Cause): string => c.requestId || c.source;

/**
 * Which (membership, assignment) pairs a fan-out covers: members of one group (those who just joined,
 * or all of them for a new assignment), or the whole tenant (reconcile).
 */
export type MemberScope = { groupId: string; userIds: readonly string[] | 'allMembers'; assignmentIds?: readonly string[] } | { tenantWide: true };

/**
 * Rule 1, joining enrolls: for each (member, assignment) of the group, the enrollment is created, or
 * a suspended one reactivated with its progress, and a grant opens. Set-based: three statements per
 * chunk of members, whatever the number of assignments. Doing it twice changes nothing. A futureOnly
 * assignment covers only memberships that began after it.
 */
export async function openGrants(tx: Tx, env: RuleEnv, tenantId: string, scope: MemberScope, cause: Cause): Promise<GrantDelta> {
  const delta: GrantDelta = { enrollmentsCreated: 0, enrollmentsReactivated: 0, grantsOpened: 0 };
  const at = now();
  const base = `m.tenant_id = ? and (not a.future_only or m.created_at >= a.created_at)`;
  // Every member at once (a new assignment, reconcile), or the members who just joined, in chunks.
  const parts: { sql: string; bindings: string[] }[] = [];
  if ('tenantWide' in scope) parts.push({ sql: base, bindings: [tenantId] });
  else {
    const onlyAssignments = scope.assignmentIds ? ` and a.id in (${placeholders(scope.assignmentIds)})` : '';
    const userChunks = scope.userIds === 'allMembers' ? [undefined] : chunks(scope.userIds, 500);
    for (const part of userChunks) {
      parts.push({
        sql: `${base} and m.group_id = ?${part ? ` and m.user_id in (${placeholders(part)})` : ''}${onlyAssignments}`,
        bindings: [tenantId, scope.groupId, ...(part ?? []), ...(scope.assignmentIds ?? [])],
      });
    }
  }
  // Rule 6 under concurrency (PostgreSQL): what this fan-out reads of each member's `active` must
  // hold until it commits. A deactivation locks its user FOR UPDATE (lockUser), which conflicts with
  // FOR KEY SHARE: members who just joined are held by their membership insert's foreign-key check;
  // a fan-out to members already there (a new assignment, reconcile) holds them here. Either the
  // deactivation waits and then sees these enrollments, or this waits and reads the user inactive.
  if (env.dialect === 'postgres' && (!('groupId' in scope) || scope.userIds === 'allMembers')) {
    const which = 'groupId' in scope ? { sql: 'm.tenant_id = ? and m.group_id = ?', bindings: [tenantId, scope.groupId] } : { sql: 'm.tenant_id = ?', bindings: [tenantId] };
    await tx.query(`select count(*) as n from (select 1 from memberships m join users u on u.id = m.user_id where ${which.sql} for key share of u) held`, which.bindings);
  }
  for (const { sql: members, bindings } of parts) {
    // A deactivated user's new enrollment starts paused (rule 6). A new enrollment's only open grants
    // are the ones this fan-out opens, from one assignment per content in a group (assignments are
    // unique per group and content): its terms are that assignment's, written here rather than
    // recomputed. Tenant-wide, several groups may lead to it; those are recomputed below.
    // The grants' insert selects the enrollments the first one made: two statements in order, sent
    // together (one round trip on PostgreSQL).
    const [created, opened] = (await tx.pipeline([
      {
        sql: `insert into enrollments (id, tenant_id, user_id, content_id, state, paused, progress, mandatory, due_at, created_at, updated_at)
       select cast(gen_random_uuid() as varchar(36)), ?, m.user_id, a.content_id,
              case when u.active then 'active' else 'suspended' end, not u.active, 0, a.mandatory, ${dueOf(env.dialect, 't.started_at')}, ?, ?
       from (select cast(? as varchar(30)) as started_at) t
       cross join memberships m join assignments a on a.group_id = m.group_id join users u on u.id = m.user_id
       where ${members}
       on conflict (user_id, content_id) do nothing
       returning id`,
        bindings: [tenantId, at, at, at, ...bindings],
      },
      {
        sql: `insert into grants (id, tenant_id, enrollment_id, assignment_id, group_id, started_at, start_cause)
       select cast(gen_random_uuid() as varchar(36)), ?, e.id, a.id, a.group_id, ?, ?
       from memberships m
       join assignments a on a.group_id = m.group_id
       join enrollments e on e.user_id = m.user_id and e.content_id = a.content_id
       where ${members}
       on conflict (enrollment_id, assignment_id) where ended_at is null do nothing
       returning enrollment_id`,
        bindings: [tenantId, at, causeOf(cause), ...bindings],
      },
    ])) as [{ id: string }[], { enrollment_id: string }[]];
    delta.enrollmentsCreated += created.length;
    changed(tx, env, tenantId, 'enrollment.created', created.map((r) => r.id), cause);
    delta.grantsOpened += opened.length;
    const fresh = new Set(created.map((r) => r.id));
    // Enrollments that existed before and got a grant now: they may resume, and their terms change.
    const existing = [...new Set(opened.map((r) => r.enrollment_id))].filter((id) => !fresh.has(id));
    for (const ids of chunks(existing, 500)) {
      // Reactivated, or, for a deactivated user, marked to resume when the user is reactivated.
      const reactivated = await tx.query<{ id: string; state: string }>(
        `update enrollments
         set state = case when (select active from users where users.id = enrollments.user_id) then 'active' else state end,
             paused = not (select active from users where users.id = enrollments.user_id),
             updated_at = ?
         where state = 'suspended' and id in (${placeholders(ids)})
         returning id, state`,
        [at, ...ids],
      );
      const active = reactivated.filter((r) => r.state === 'active').map((r) => r.id);
      delta.enrollmentsReactivated += active.length;
      changed(tx, env, tenantId, 'enrollment.reactivated', active, cause);
    }
    await recomputeTerms(tx, env, 'tenantWide' in scope ? opened.map((r) => r.enrollment_id) : existing);
  }
  return delta;
}

/**
 * Suspends the given enrollments that have no open grant left and meet `condition`. A paused one
 * (deactivated user) loses its claim to resume too. A completed one is never touched.
 */
async function suspendUngranted(
  tx: Tx,
  enrollmentIds: readonly string[],
  at: string,
  condition: { sql: string; bindings: readonly unknown[] },
): Promise<string[]> {
  const suspended: string[] = [];
  for (const ids of chunks([...new Set(enrollmentIds)], 500)) {
    const rows = await tx.query<{ id: string }>(
      `update enrollments set state = 'suspended', paused = false, updated_at = ?
       where (state = 'active' or (state = 'suspended' and paused)) and id in (${placeholders(ids)})
         and not exists (select 1 from grants g where g.enrollment_id = enrollments.id and g.ended_at is null)
         and ${condition.sql}
       returning id`,
      [at, ...ids, ...condition.bindings],
    );
    suspended.push(...rows.map((r) => r.id));
  }
  return suspended;
}

/** After members left (grants ended at `at` with `endCause`): the leave policy of those grants' assignments. */
const applyLeavePolicy = (tx: Tx, enrollmentIds: readonly string[], at: string, endCause: string) =>
  suspendUngranted(tx, enrollmentIds, at, {
    sql: `not exists (
            select 1 from grants g join assignments a on a.id = g.assignment_id
            where g.enrollment_id = enrollments.id and g.ended_at = ? and g.end_cause = ?
              and (a.on_leave = 'keep' or (a.on_leave = 'suspendIfNotStarted' and enrollments.progress > 0)))`,
    bindings: [at, endCause],
  });

/** After an assignment went: only access-only content (bots, personas) ends; courses stay. */
const endAccessOnly = (tx: Tx, enrollmentIds: readonly string[], at: string) =>
  suspendUngranted(tx, enrollmentIds, at, { sql: `content_id in (select id from content where kind in ('bot', 'persona'))`, bindings: [] });

/**
 * Rule 2, leaving ends the group's grants, never the progress: when no open grant is left, the leave
 * policy of the assignments whose grants just ended applies: `keep` stays active,
 * `suspendIfNotStarted` suspends only without progress, `suspend` (the default) suspends. A completed
 * enrollment stays completed.
 */
export async function endGrants(
  tx: Tx,
  env: RuleEnv,
  tenantId: string,
  groupId: string,
  userIds: readonly string[],
  cause: Cause,
): Promise<EndDelta> {
  const delta: EndDelta = { grantsEnded: 0, enrollmentsSuspended: 0 };
  const at = now();
  const endCause = causeOf(cause);
  for (const part of chunks(userIds, 500)) {
    const ended = await tx.query<{ enrollment_id: string }>(
      `update grants set ended_at = ?, end_cause = ?
       where ended_at is null and group_id = ?
         and enrollment_id in (select id from enrollments where user_id in (${placeholders(part)}))
       returning enrollment_id`,
      [at, endCause, groupId, ...part],
    );
    delta.grantsEnded += ended.length;
    const enrollmentIds = ended.map((r) => r.enrollment_id);
    const suspended = await applyLeavePolicy(tx, enrollmentIds, at, endCause);
    delta.enrollmentsSuspended += suspended.length;
    changed(tx, env, tenantId, 'enrollment.suspended', suspended, cause);
    await recomputeTerms(tx, env, enrollmentIds);
  }
  return delta;
}

/**
 * Rule 4, unassigning stops new enrollments and does not un-enroll: the assignment's grants end;
 * course-like enrollments stay as they are, while access-only content (bots, personas) is available
 * exactly while an open grant exists, so it is suspended at once.
 */
export async function unassign(tx: Tx, env: RuleEnv, tenantId: string, assignmentId: string, cause: Cause): Promise<EndDelta> {
  const at = now();
  const ended = await tx.query<{ enrollment_id: string }>(
    `update grants set ended_at = ?, end_cause = ? where ended_at is null and tenant_id = ? and assignment_id = ? returning enrollment_id`,
    [at, causeOf(cause), tenantId, assignmentId],
  );
  const enrollmentIds = ended.map((r) => r.enrollment_id);
  const suspended = await endAccessOnly(tx, enrollmentIds, at);
  changed(tx, env, tenantId, 'enrollment.suspended', suspended, cause);
  await recomputeTerms(tx, env, enrollmentIds);
  return { grantsEnded: ended.length, enrollmentsSuspended: suspended.length };
}

/**
 * Rule 9, recertification: a completed enrollment reopens once completion + N months (of an open
 * grant's assignment) is reached, with progress reset and the earlier completion kept in its history.
 * `at` is injected, so tests need not wait months.
 */
export async function recertifyDue(tx: Tx, env: RuleEnv, tenantId: string, at: string, cause: Cause): Promise<number> {
  const appendCompletion =
    env.dialect === 'sqlite'
      ? `json_insert(history, '$[#]', json_object('completedAt', completed_at))`
      : `history || jsonb_build_array(jsonb_build_object('completedAt', completed_at))`;
  const reopened = await tx.query<{ id: string }>(
    `update enrollments set
       history = ${appendCompletion},
       state = case when (select active from users where users.id = enrollments.user_id) then 'active' else 'suspended' end,
       paused = not coalesce((select active from users where users.id = enrollments.user_id), false),
       progress = 0, completed_at = null, expires_at = null, updated_at = ?
     where tenant_id = ? and state = 'completed' and exists (
       select 1 from grants g join assignments a on a.id = g.assignment_id
       where g.enrollment_id = enrollments.id and g.ended_at is null and a.recertify_months is not null
         and ${plus(env.dialect, 'enrollments.completed_at', 'a.recertify_months', 'month')} <= ?)
     returning id`,
    [at, tenantId, at],
  );
  const ids = reopened.map((r) => r.id);
  changed(tx, env, tenantId, 'enrollment.reopened', ids, cause);
  await recomputeTerms(tx, env, ids);
  return ids.length;
}

export interface ReconcileCounts extends GrantDelta {
  grantsEnded: number;
  enrollmentsSuspended: number;
  enrollmentsReopened: number;
}

/**
 * Rule 11's repair: recomputes what the grants should be from memberships and assignments and fixes
 * drift, set-based over the whole tenant: missing enrollments and grants open (rule 1), grants whose
 * membership is gone end by the leave policy (rule 2), grants whose assignment is gone end as an
 * unassignment (rule 4), and the terms of everything touched are recomputed (rule 7).
 */
export async function reconcile(tx: Tx, env: RuleEnv, tenantId: string, cause: Cause): Promise<ReconcileCounts> {
  const opened = await openGrants(tx, env, tenantId, { tenantWide: true }, cause);
  const at = now();
  const endCause = causeOf(cause);
  const orphaned = await tx.query<{ enrollment_id: string }>(
    `update grants set ended_at = ?, end_cause = ?
     where tenant_id = ? and ended_at is null and assignment_id is not null
       and not exists (select 1 from assignments a where a.id = grants.assignment_id)
     returning enrollment_id`,
    [at, endCause, tenantId],
  );
  const left = await tx.query<{ enrollment_id: string }>(
    `update grants set ended_at = ?, end_cause = ?
     where tenant_id = ? and ended_at is null and group_id is not null
       and not exists (
         select 1 from memberships m join enrollments e on e.user_id = m.user_id
         where e.id = grants.enrollment_id and m.group_id = grants.group_id)
     returning enrollment_id`,
    [at, endCause, tenantId],
  );
  const suspended = [
    ...(await endAccessOnly(tx, orphaned.map((r) => r.enrollment_id), at)),
    ...(await applyLeavePolicy(tx, left.map((r) => r.enrollment_id), at, endCause)),
  ];
  changed(tx, env, tenantId, 'enrollment.suspended', suspended, cause);
  await recomputeTerms(tx, env, [...orphaned, ...left].map((r) => r.enrollment_id));
  const reopened = await recertifyDue(tx, env, tenantId, at, cause);
  return { ...opened, grantsEnded: orphaned.length + left.length, enrollmentsSuspended: suspended.length, enrollmentsReopened: reopened };
}

/** Rule 6: deactivating a user pauses every active enrollment; reactivating resumes exactly those. */
export async function pauseUser(tx: Tx, env: RuleEnv, tenantId: string, userId: string, active: boolean, cause: Cause): Promise<number> {
  const at = now();
  const rows = active
    ? await tx.query<{ id: string }>(
        `update enrollments set state = 'active', paused = false, updated_at = ? where tenant_id = ? and user_id = ? and paused returning id`,
        [at, tenantId, userId],
      )
    : await tx.query<{ id: string }>(
        `update enrollments set state = 'suspended', paused = true, updated_at = ? where tenant_id = ? and user_id = ? and state = 'active' returning id`,
        [at, tenantId, userId],
      );
  changed(tx, env, tenantId, active ? 'enrollment.reactivated' : 'enrollment.suspended', rows.map((r) => r.id), cause);
  return rows.length;
}

/** The name of the enrollment rules' probe of a group (Hooks.probe). */
const ASSIGNED = 'enrollment.assigned';

/** The enrollment rules as hooks on the membership store: they run in the transaction of the change. */
export function registerEnrollmentRules(hooks: Hooks, env: RuleEnv): void {
  // Whether the group has an assignment, read with the group's lock by the member change: without one
  // a member who joins has nothing to be enrolled in, and one who leaves no open grant of the group
  // (an assignment's removal ends its grants), so the fan-out and its round trip are skipped. An
  // assignment being made holds the group FOR UPDATE: either it committed before the lock (and the
  // probe, a statement after the lock, sees it), or it waits for this change and then fans out to
  // the members this change leaves.
  hooks.probe(ASSIGNED, (tenantId, groupId) => ({ sql: 'select 1 as assigned from assignments where tenant_id = ? and group_id = ? limit 1', bindings: [tenantId, groupId] }));
  const unassigned = (probed: Readonly<Record<string, readonly unknown[]>> | undefined) => probed?.[ASSIGNED]?.length === 0;
  hooks.register(async (tx, event) => {
    switch (event.type) {
      case 'membership.added':
        writeEvents(tx, event.tenantId, 'membership.added', event.userIds, 'userIds', event.cause, { groupId: event.groupId });
        if (!unassigned(event.probed)) await openGrants(tx, env, event.tenantId, { groupId: event.groupId, userIds: event.userIds }, event.cause);
        return;
      case 'membership.removed':
        writeEvents(tx, event.tenantId, 'membership.removed', event.userIds, 'userIds', event.cause, { groupId: event.groupId });
        if (!unassigned(event.probed)) await endGrants(tx, env, event.tenantId, event.groupId, event.userIds, event.cause);
        return;
      case 'user.deactivated':
      case 'user.reactivated':
        await pauseUser(tx, env, event.tenantId, event.userId, event.type === 'user.reactivated', event.cause);
        return;
      default:
        return;
    }
  });
}
