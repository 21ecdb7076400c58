import crypto from 'node:crypto';
import type { Knex } from 'knex';
import type { Db } from '../db/knex';
import { newId } from '../ids';

export interface Webhook {
  id: string;
  url: string;
  events: string[];
  createdAt: string;
  /** Failed attempts at the next batch; reset by a success. */
  attempts: number;
  nextAttemptAt: string;
  /** Set when the attempts ran out: nothing more is sent until it is resumed. */
  parkedAt: string | null;
  lastError: string | null;
}

export interface Delivery {
  at: string;
  events: number;
  firstSeq: number;
  lastSeq: number;
  attempt: number;
  status: number | null;
  error: string | null;
  durationMs: number;
}

export interface WebhookRow {
  id: string;
  tenant_id: string;
  url: string;
  event_types: string;
  secret: string;
  cursor_txid: number | string;
  cursor_seq: number | string;
  attempts: number;
  next_attempt_at: string;
  parked_at: string | null;
  last_error: string | null;
  lease_until: string | null;
  created_at: string;
}

const fromRow = (r: WebhookRow): Webhook => ({
  id: r.id,
  url: r.url,
  events: JSON.parse(r.event_types) as string[],
  createdAt: r.created_at,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  parkedAt: r.parked_at,
  lastError: r.last_error,
});

/**
 * Where a new subscription starts: after every event already final, so it receives what happens
 * from now on. On PostgreSQL that is every transaction older than the oldest one still running.
 */
async function startingCursor(knex: Knex, dialect: Db['dialect']): Promise<{ txid: string; seq: string }> {
  if (dialect === 'postgres') {
    const row = (await knex.raw(`select (pg_snapshot_xmin(pg_current_snapshot())::text::bigint - 1)::text as txid`)) as { rows: { txid: string }[] };
    return { txid: row.rows[0]!.txid, seq: '9223372036854775807' };
  }
  const max = (await knex('events').max({ seq: 'seq' }).first()) as { seq: number | string | null } | undefined;
  return { txid: '0', seq: String(max?.seq ?? 0) };
}

/** Webhook subscriptions of a tenant and their delivery history (the admin API's view). */
export class WebhookStore {
  constructor(private readonly db: Db) {}

  /** Creates a subscription; returns the signing secret, shown this once. */
  async create(tenantId: string, input: { url: string; events: string[]; secret?: string }): Promise<{ webhook: Webhook; secret: string }> {
    const secret = input.secret ?? `whsec_${crypto.randomBytes(24).toString('base64url')}`;
    const at = new Date().toISOString();
    const cursor = await startingCursor(this.db.knex, this.db.dialect);
    const row: WebhookRow = {
      id: newId(),
      tenant_id: tenantId,
      url: input.url,
      event_types: JSON.stringify(input.events),
      secret,
      cursor_txid: cursor.txid,
      cursor_seq: cursor.seq,
      attempts: 0,
      next_attempt_at: at,
      parked_at: null,
      last_error: null,
      lease_until: null,
      created_at: at,
    };
    await this.db.knex('webhooks').insert(row);
    return { webhook: fromRow(row), secret };
  }

  async list(tenantId: string): Promise<Webhook[]> {
    return ((await this.db.knex('webhooks').where({ tenant_id: tenantId }).orderBy(['created_at', 'id'])) as WebhookRow[]).map(fromRow);
  }

  async get(tenantId: string, id: string): Promise<Webhook | undefined> {
    const row = (await this.db.knex('webhooks').where({ tenant_id: tenantId, id }).first()) as WebhookRow | undefined;
    return row && fromRow(row);
  }

  async remove(tenantId: string, id: string): Promise<boolean> {
    return (await this.db.knex('webhooks').where({ tenant_id: tenantId, id }).delete()) > 0;
  }

  /** A parked subscription tries again now, from where it stopped (nothing is skipped). */
  async resume(tenantId: string, id: string): Promise<Webhook | undefined> {
    const n = await this.db
      .knex('webhooks')
      .where({ tenant_id: tenantId, id })
      .update({ parked_at: null, attempts: 0, next_attempt_at: new Date().toISOString() });
    return n ? this.get(tenantId, id) : undefined;
  }

  /** Delivery attempts, newest first. */
  async deliveries(tenantId: string, id: string, limit: number): Promise<Delivery[]> {
    const rows = (await this.db
      .knex('webhook_deliveries')
      .where({ tenant_id: tenantId, webhook_id: id })
      .orderBy('seq', 'desc')
      .limit(limit)) as {
      at: string;
      events: number;
      first_seq: number | string;
      last_seq: number | string;
      attempt: number;
      status: number | null;
      error: string | null;
      duration_ms: number;
    }[];
    return rows.map((r) => ({
      at: r.at,
      events: r.events,
      firstSeq: Number(r.first_seq),
      lastSeq: Number(r.last_seq),
      attempt: r.attempt,
      status: r.status,
      error: r.error,
      durationMs: r.duration_ms,
    }));
  }
}
