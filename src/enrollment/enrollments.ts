import type { Db } from '../db/knex';
import { updateRow } from '../db/sql';
import { now, toBool } from '../db/tables';
import type { Cause } from '../membership/types';
import type { ChangeSink } from '../synclog/changes';
import { completed, groupGrantsOf, type RuleEnv } from './rules';
import type { Page } from './content';

export type EnrollmentState = 'active' | 'suspended' | 'completed';

export interface Grant {
  groupId: string | null;
  assignmentId: string | null;
  startedAt: string;
  endedAt: string | null;
  cause: { started: string; ended: string | null };
}

export interface PageOptions {
  limit: number;
  after?: { createdAt: string; id: string };
}

export interface GroupStats {
  groupId: string;
  members: number;
  content: {
    contentId: string;
    title: string;
    kind: string;
    enrolled: number;
    notStarted: number;
    inProgress: number;
    completed: number;
    overdue: number;
    averageProgress: number | null;
  }[];
}

export interface Enrollment {
  id: string;
  userId: string;
  contentId: string;
  state: EnrollmentState;
  progress: number;
  dueAt: string | null;
  mandatory: boolean;
  completedAt: string | null;
  expiresAt: string | null;
  /** Earlier completions, kept when recertification reopened the enrollment. */
  history: { completedAt: string }[];
  grants: Grant[];
}

interface EnrollmentRow {
  id: string;
  user_id: string;
  content_id: string;
  state: string;
  progress: number;
  due_at: string | null;
  mandatory: boolean | number;
  completed_at: string | null;
  expires_at: string | null;
  history: string | { completedAt: string }[];
  created_at: string;
}

interface GrantRow {
  enrollment_id: string;
  group_id: string | null;
  assignment_id: string | null;
  started_at: string;
  ended_at: string | null;
  start_cause: string;
  end_cause: string | null;
}

/** `iso` plus whole months, in UTC (the same calendar arithmetic as the SQL that reopens it). */
function addMonths(iso: string, months: number): string {
  const d = new Date(iso);
  d.setUTCMonth(d.getUTCMonth() + months);
  return d.toISOString();
}

/** Enrollments with the grants behind them (rule 10: every enrollment can say why). Queries only. */
export class EnrollmentStore {
  private readonly env: RuleEnv;

  constructor(
    private readonly db: Db,
    changes: ChangeSink,
  ) {
    this.env = { dialect: db.dialect, changes };
  }

  /**
   * How the learning platform reports progress. Completing sets progress to 100 and the completion
   * time; a completed enrollment keeps its state when its grants end (rule 2).
   */
  async reportProgress(tenantId: string, id: string, report: { progress?: number; completed?: true }, cause: Cause): Promise<Enrollment | undefined> {
    const at = now();
    const row = await this.db.transaction(async (tx) => {
      const [current] = await tx.query<{ user_id: string; state: string }>('select user_id, state from enrollments where tenant_id = ? and id = ?', [tenantId, id]);
      if (!current) return undefined;
      if (report.completed) {
        if (current.state === 'completed') return current; // no change, no event (rule 12)
        // A completion expires when the soonest recertification among its open grants comes due
        // (rule 9); the same grants say in which groups' feeds it shows.
        const grants = await groupGrantsOf(tx, [id]);
        const months = grants.flatMap((g) => (g.recertify_months == null ? [] : [Number(g.recertify_months)]));
        const expiresAt = months.length ? addMonths(at, Math.min(...months)) : null;
        await updateRow(tx, 'enrollments', tenantId, id, { state: 'completed', paused: false, progress: 100, completed_at: at, expires_at: expiresAt, updated_at: at });
        completed(tx, this.env, tenantId, [id], grants, cause);
      } else {
        await updateRow(tx, 'enrollments', tenantId, id, { progress: report.progress, updated_at: at });
      }
      return current;
    }, { deadline: cause.deadline });
    if (!row) return undefined;
    const page = await this.forUser(tenantId, row.user_id, { limit: 1, only: id });
    return page.items[0];
  }

  forUser(tenantId: string, userId: string, opts: PageOptions & { only?: string }): Promise<Page<Enrollment>> {
    return this.page(tenantId, { user_id: userId, ...(opts.only ? { id: opts.only } : {}) }, opts);
  }

  forContent(tenantId: string, contentId: string, opts: PageOptions & { state?: EnrollmentState }): Promise<Page<Enrollment>> {
    return this.page(tenantId, { content_id: contentId, ...(opts.state ? { state: opts.state } : {}) }, opts);
  }

  /**
   * Per assigned content, how the group's active members stand: not started, in progress, completed,
   * overdue (not completed and past due), and their average progress. One grouped query.
   */
  async groupStats(tenantId: string, groupId: string, at = new Date().toISOString()): Promise<GroupStats | undefined> {
    const group = (await this.db.knex('groups').where({ tenant_id: tenantId, id: groupId }).first('id')) as { id: string } | undefined;
    if (!group) return undefined;
    const members = (await this.db.knex('memberships').where({ tenant_id: tenantId, group_id: groupId }).count({ n: '*' }).first()) as { n: number | string };
    const rows = (await this.db.knex.raw(
      `select a.content_id, c.title, c.kind,
              count(e.id) as enrolled,
              sum(case when e.state <> 'completed' and e.due_at < ? then 1 else 0 end) as overdue,
              sum(case when e.state = 'completed' then 1 else 0 end) as completed,
              sum(case when e.state <> 'completed' and (e.due_at is null or e.due_at >= ?) and e.progress = 0 then 1 else 0 end) as not_started,
              sum(case when e.state <> 'completed' and (e.due_at is null or e.due_at >= ?) and e.progress > 0 then 1 else 0 end) as in_progress,
              avg(e.progress) as average_progress
       from assignments a
       join content c on c.id = a.content_id
       left join memberships m on m.group_id = a.group_id
       left join users u on u.id = m.user_id and u.active
       left join enrollments e on e.user_id = u.id and e.content_id = a.content_id
       where a.tenant_id = ? and a.group_id = ?
       group by a.content_id, c.title, c.kind, a.created_at
       order by a.created_at`,
      [at, at, at, tenantId, groupId],
    )) as unknown;
    const list = (Array.isArray(rows) ? rows : ((rows as { rows: unknown[] }).rows ?? [])) as Record<string, string | number | null>[];
    return {
      groupId,
      members: Number(members.n),
      content: list.map((r) => ({
        contentId: String(r.content_id),
        title: String(r.title),
        kind: String(r.kind),
        enrolled: Number(r.enrolled),
        notStarted: Number(r.not_started ?? 0),
        inProgress: Number(r.in_progress ?? 0),
        completed: Number(r.completed ?? 0),
        overdue: Number(r.overdue ?? 0),
        averageProgress: r.average_progress === null ? null : Math.round(Number(r.average_progress) * 10) / 10,
      })),
    };
  }

  private async page(tenantId: string, where: Record<string, string>, opts: PageOptions): Promise<Page<Enrollment>> {
    const q = this.db.knex('enrollments').where({ tenant_id: tenantId, ...where });
    if (opts.after) {
      const { createdAt, id } = opts.after;
      q.where((w) => w.where('created_at', '>', createdAt).orWhere((w2) => w2.where('created_at', createdAt).where('id', '>', id)));
    }
    const rows = (await q.orderBy([{ column: 'created_at' }, { column: 'id' }]).limit(opts.limit + 1)) as EnrollmentRow[];
    const page = rows.slice(0, opts.limit);
    const grants = page.length
      ? ((await this.db
          .knex('grants')
          .whereIn(
            'enrollment_id',
            page.map((r) => r.id),
          )
          .orderBy([{ column: 'started_at' }, { column: 'id' }])) as GrantRow[])
      : [];
    const byEnrollment = new Map<string, Grant[]>();
    for (const g of grants) {
      const list = byEnrollment.get(g.enrollment_id) ?? [];
      list.push({
        groupId: g.group_id,
        assignmentId: g.assignment_id,
        startedAt: g.started_at,
        endedAt: g.ended_at,
        cause: { started: g.start_cause, ended: g.end_cause },
      });
      byEnrollment.set(g.enrollment_id, list);
    }
    const items = page.map((r) => ({
      id: r.id,
      userId: r.user_id,
      contentId: r.content_id,
      state: r.state as EnrollmentState,
      progress: r.progress,
      dueAt: r.due_at,
      mandatory: toBool(r.mandatory),
      completedAt: r.completed_at,
      expiresAt: r.expires_at,
      history: typeof r.history === 'string' ? (JSON.parse(r.history) as { completedAt: string }[]) : r.history,
      grants: byEnrollment.get(r.id) ?? [],
    }));
    const last = page.at(-1);
    return { items, next: rows.length > opts.limit && last ? { createdAt: last.created_at, id: last.id } : null };
  }
}
