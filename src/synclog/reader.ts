import type { Knex } from 'knex';
import type { Db } from '../db/knex';
import { fromRow, type SyncLogEntry, type SyncLogRow } from './entries';
import type { ChangeKind } from './changes';

export const STATUS_CLASSES = ['2xx', '3xx', '4xx', '5xx'] as const;
export type StatusClass = (typeof STATUS_CLASSES)[number];

export interface LogFilter {
  /** Always set by the admin API and the pages; the CLI may read every tenant. */
  tenantId?: string;
  since?: string;
  until?: string;
  statuses?: StatusClass[];
  method?: string;
  resourceType?: string;
  resourceId?: string;
  /** Entries that touched the user: the user's own resource, changes naming them, their grants' causes. */
  userId?: string;
  tokenLabel?: string;
  requestId?: string;
}

export interface Position {
  at: string;
  seq: number;
}

/** An entry with what it changed, summed by kind (`{ "membership.added": 3 }`). */
export interface EntrySummary extends SyncLogEntry {
  changes: Partial<Record<ChangeKind, number>>;
}

export interface Change {
  kind: ChangeKind;
  groupId: string | null;
  count: number;
  /** The first ids (SYNC_LOG_MAX_IDS of them); `count` is exact. */
  ids: string[];
}

/** An entry and its changes. `entry` is null while the request is in flight or its entry not yet written. */
export interface EntryDetail {
  entry: EntrySummary | null;
  changes: Change[];
}

const SINCE = /^(\d+)\s*(s|m|h|d)$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `15m`, `1h`, `7d` before `now`, or an ISO-8601 time; undefined if it is neither. */
export function parseTime(value: string, now = Date.now()): string | undefined {
  const rel = SINCE.exec(value.trim());
  if (rel) return new Date(now - Number(rel[1]) * UNIT_MS[rel[2] as keyof typeof UNIT_MS]).toISOString();
  if (!/^\d{4}-\d{2}-\d{2}/.test(value)) return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

/** Reads the sync log: filtered lists newest first with keyset paging, one entry with its changes, and tailing. */
export class SyncLogReader {
  constructor(private readonly db: Db) {}

  async list(filter: LogFilter, page: { limit: number; after?: Position }): Promise<{ items: EntrySummary[]; next: Position | null }> {
    const q = this.filtered(filter).orderBy([
      { column: 'l.at', order: 'desc' },
      { column: 'l.seq', order: 'desc' },
    ]);
    if (page.after) {
      const { at, seq } = page.after;
      q.where((w) => void w.where('l.at', '<', at).orWhere((x) => void x.where('l.at', at).andWhere('l.seq', '<', seq)));
    }
    const rows = (await q.limit(page.limit + 1).select('l.*')) as (SyncLogRow & { seq: number | string })[];
    const more = rows.length > page.limit;
    const shown = rows.slice(0, page.limit);
    const items = await this.withSummaries(shown);
    const last = shown[shown.length - 1];
    return { items, next: more && last ? { at: last.at, seq: Number(last.seq) } : null };
  }

  /** Entries written after `seq`, oldest first (`roster log --follow`). */
  async since(filter: LogFilter, seq: number, limit = 500): Promise<(EntrySummary & { seq: number })[]> {
    const rows = (await this.filtered(filter).where('l.seq', '>', seq).orderBy('l.seq').limit(limit).select('l.*')) as (SyncLogRow & { seq: number | string })[];
    const items = await this.withSummaries(rows);
    return items.map((item, i) => ({ ...item, seq: Number(rows[i]!.seq) }));
  }

  async lastSeq(): Promise<number> {
    const row = (await this.db.knex('sync_log').max({ seq: 'seq' }).first()) as { seq: number | string | null } | undefined;
    return Number(row?.seq ?? 0);
  }

  /** One entry and everything it changed; undefined when the log knows nothing of the request. */
  async get(tenantId: string | undefined, requestId: string): Promise<EntryDetail | undefined> {
    const row = (await this.db
      .knex('sync_log')
      .where({ id: requestId })
      .modify((q) => void (tenantId !== undefined && q.where('tenant_id', tenantId)))
      .first()) as SyncLogRow | undefined;
    const changeRows = (await this.db
      .knex('sync_changes')
      .where({ request_id: requestId })
      .modify((q) => void (tenantId !== undefined && q.where('tenant_id', tenantId)))
      .orderBy('seq')) as { kind: string; group_id: string | null; count: number | string; ids: string }[];
    if (!row && !changeRows.length) return undefined;
    const changes: Change[] = changeRows.map((c) => ({ kind: c.kind as ChangeKind, groupId: c.group_id, count: Number(c.count), ids: JSON.parse(c.ids) as string[] }));
    const entry = row ? { ...fromRow(row), changes: summarise(changes) } : null;
    return { entry, changes };
  }

  private filtered(f: LogFilter): Knex.QueryBuilder {
    const q = this.db.knex('sync_log as l');
    if (f.tenantId !== undefined) q.where('l.tenant_id', f.tenantId);
    if (f.since) q.where('l.at', '>=', f.since);
    if (f.until) q.where('l.at', '<', f.until);
    if (f.statuses?.length) {
      const classes = f.statuses;
      q.where((w) => {
        for (const c of classes) {
          const base = Number(c[0]) * 100;
          void w.orWhereBetween('l.status', [base, base + 99]);
        }
      });
    }
    if (f.method) q.where('l.method', f.method.toUpperCase());
    if (f.resourceType) q.whereRaw('lower(l.resource_type) = ?', [f.resourceType.toLowerCase()]);
    if (f.resourceId) q.where('l.resource_id', f.resourceId);
    if (f.tokenLabel) q.where('l.token_label', f.tokenLabel);
    if (f.requestId) q.where('l.id', f.requestId);
    if (f.userId) {
      const userId = f.userId;
      const tenant = (sub: Knex.QueryBuilder, column: string) => (f.tenantId !== undefined ? sub.where(column, f.tenantId) : sub);
      const knex = this.db.knex;
      q.where((w) => {
        void w
          .where((x) => void x.whereRaw('lower(l.resource_type) = ?', ['user']).andWhere('l.resource_id', userId))
          .orWhereIn('l.id', tenant(knex('sync_changes').select('request_id').where('user_id', userId), 'tenant_id'))
          .orWhereIn('l.id', tenant(knex('sync_change_users').select('request_id').where('user_id', userId), 'tenant_id'))
          .orWhereIn(
            'l.id',
            tenant(knex('grants as g').join('enrollments as e', 'e.id', 'g.enrollment_id').select('g.start_cause').where('e.user_id', userId), 'e.tenant_id'),
          )
          .orWhereIn(
            'l.id',
            tenant(
              knex('grants as g').join('enrollments as e', 'e.id', 'g.enrollment_id').select('g.end_cause').where('e.user_id', userId).whereNotNull('g.end_cause'),
              'e.tenant_id',
            ),
          );
      });
    }
    return q;
  }

  private async withSummaries(rows: SyncLogRow[]): Promise<EntrySummary[]> {
    if (!rows.length) return [];
    const sums = (await this.db
      .knex('sync_changes')
      .whereIn(
        'request_id',
        rows.map((r) => r.id),
      )
      .groupBy('request_id', 'kind')
      .select('request_id', 'kind')
      .sum({ n: 'count' })) as { request_id: string; kind: string; n: number | string }[];
    const byRequest = new Map<string, Partial<Record<ChangeKind, number>>>();
    for (const s of sums) {
      const m = byRequest.get(s.request_id) ?? {};
      m[s.kind as ChangeKind] = Number(s.n);
      byRequest.set(s.request_id, m);
    }
    return rows.map((r) => ({ ...fromRow(r), changes: byRequest.get(r.id) ?? {} }));
  }
}

function summarise(changes: Change[]): Partial<Record<ChangeKind, number>> {
  const out: Partial<Record<ChangeKind, number>> = {};
  for (const c of changes) out[c.kind] = (out[c.kind] ?? 0) + c.count;
  return out;
}
