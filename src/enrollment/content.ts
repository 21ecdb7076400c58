import type { Db } from '../db/knex';
import { constraintOf } from '../db/errors';
import { now } from '../db/tables';
import { StoreError } from '../membership/errors';
import { newId } from '../ids';

export const CONTENT_KINDS = ['course', 'program', 'scenario', 'bot', 'persona'] as const;
export type ContentKind = (typeof CONTENT_KINDS)[number];

/** Courses, programs and scenarios carry enrollments and progress; bots and personas carry access only. */
export const carriesProgress = (kind: ContentKind): boolean => kind === 'course' || kind === 'program' || kind === 'scenario';

export interface Content {
  id: string;
  kind: ContentKind;
  title: string;
  externalId: string | null;
  createdAt: string;
  updatedAt: string;
}

interface ContentRow {
  id: string;
  tenant_id: string;
  kind: string;
  title: string;
  external_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface Page<T> {
  items: T[];
  /** Where the next page starts (created_at and id of the last item), or null at the end. */
  next: { createdAt: string; id: string } | null;
}

const fromRow = (r: ContentRow): Content => ({
  id: r.id,
  kind: r.kind as ContentKind,
  title: r.title,
  externalId: r.external_id,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const externalIdTaken = (externalId: string) =>
  new StoreError('conflict', `Content with externalId "${externalId}" already exists`, { externalId });

/** The tenant's content: queries only. */
export class ContentStore {
  constructor(private readonly db: Db) {}

  async create(tenantId: string, input: { kind: ContentKind; title: string; externalId?: string | null }): Promise<Content> {
    const at = now();
    const row: ContentRow = {
      id: newId(),
      tenant_id: tenantId,
      kind: input.kind,
      title: input.title,
      external_id: input.externalId ?? null,
      created_at: at,
      updated_at: at,
    };
    try {
      await this.db.knex('content').insert(row);
    } catch (err) {
      if (constraintOf(err)?.kind === 'unique') throw externalIdTaken(row.external_id ?? '');
      throw err;
    }
    return fromRow(row);
  }

  async get(tenantId: string, id: string): Promise<Content | undefined> {
    const row = (await this.db.knex('content').where({ tenant_id: tenantId, id }).first()) as ContentRow | undefined;
    return row && fromRow(row);
  }

  /** Oldest first, keyset-paged: a page deep in the list costs what the first does. */
  async list(tenantId: string, opts: { limit: number; after?: { createdAt: string; id: string }; kind?: ContentKind }): Promise<Page<Content>> {
    const q = this.db.knex('content').where('tenant_id', tenantId);
    if (opts.kind) q.where('kind', opts.kind);
    if (opts.after) {
      const { createdAt, id } = opts.after;
      q.where((w) => w.where('created_at', '>', createdAt).orWhere((w2) => w2.where('created_at', createdAt).where('id', '>', id)));
    }
    const rows = (await q.orderBy([{ column: 'created_at' }, { column: 'id' }]).limit(opts.limit + 1)) as ContentRow[];
    const items = rows.slice(0, opts.limit).map(fromRow);
    const last = items.at(-1);
    return { items, next: rows.length > opts.limit && last ? { createdAt: last.createdAt, id: last.id } : null };
  }

  async update(tenantId: string, id: string, change: { title?: string; externalId?: string | null }): Promise<Content | undefined> {
    const patch: Partial<ContentRow> = { updated_at: now() };
    if (change.title !== undefined) patch.title = change.title;
    if (change.externalId !== undefined) patch.external_id = change.externalId;
    try {
      const n = await this.db.knex('content').where({ tenant_id: tenantId, id }).update(patch);
      if (!n) return undefined;
    } catch (err) {
      if (constraintOf(err)?.kind === 'unique') throw externalIdTaken(change.externalId ?? '');
      throw err;
    }
    return this.get(tenantId, id);
  }

  async delete(tenantId: string, id: string): Promise<boolean> {
    return (await this.db.knex('content').where({ tenant_id: tenantId, id }).delete()) > 0;
  }
}
