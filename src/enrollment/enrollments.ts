import type { Db } from '../db/knex';
import { now, toBool } from '../db/tables';
import type { Page } from './content';

export type EnrollmentState = 'active' | 'suspended' | 'completed';

export interface Grant {
  groupId: string | null;
  assignmentId: string | null;
  startedAt: string;
  endedAt: string | null;
  cause: { started: string; ended: string | null };
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

/** Enrollments with the grants behind them (rule 10: every enrollment can say why). Queries only. */
export class EnrollmentStore {
  constructor(private readonly db: Db) {}

  /**
   * How the learning platform reports progress. Completing sets progress to 100 and the completion
   * time; a completed enrollment keeps its state when its grants end (rule 2).
   */
  async reportProgress(tenantId: string, id: string, report: { progress?: number; completed?: true }): Promise<Enrollment | undefined> {
    const at = now();
    const change = report.completed
      ? { state: 'completed', progress: 100, completed_at: at, updated_at: at }
      : { progress: report.progress, updated_at: at };
    const n = await this.db.knex('enrollments').where({ tenant_id: tenantId, id }).update(change);
    if (!n) return undefined;
    const row = (await this.db.knex('enrollments').where({ tenant_id: tenantId, id }).first('user_id')) as { user_id: string };
    const page = await this.forUser(tenantId, row.user_id, { limit: 1, only: id });
    return page.items[0];
  }

  async forUser(
    tenantId: string,
    userId: string,
    opts: { limit: number; after?: { createdAt: string; id: string }; only?: string },
  ): Promise<Page<Enrollment>> {
    const q = this.db.knex('enrollments').where({ tenant_id: tenantId, user_id: userId });
    if (opts.only) q.where('id', opts.only);
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
      grants: byEnrollment.get(r.id) ?? [],
    }));
    const last = page.at(-1);
    return { items, next: rows.length > opts.limit && last ? { createdAt: last.created_at, id: last.id } : null };
  }
}
