import crypto from 'node:crypto';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { Db } from '../db/knex';
import { SIGNATURE_HEADER, sign } from './signature';
import type { WebhookRow } from './webhooks';

export interface DispatcherOptions {
  /** How often due subscriptions are looked for. */
  pollMs: number;
  /** Events per delivery (one POST). */
  batchSize: number;
  /** Failed attempts at one batch before the subscription is parked. */
  maxAttempts: number;
  /** Backoff after the n-th failure: base × 2^(n−1), at most max. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** A receiver that has not answered by then has failed. */
  timeoutMs: number;
}

export const DEFAULT_DISPATCHER_OPTIONS: DispatcherOptions = {
  pollMs: 1000,
  batchSize: 100,
  maxAttempts: 10,
  backoffBaseMs: 1000,
  backoffMaxMs: 600_000,
  timeoutMs: 10_000,
};

interface EventRow {
  seq: number | string;
  txid: number | string;
  id: string;
  type: string;
  payload: string | Record<string, unknown>;
  cause: string;
  created_at: string;
}

/**
 * Delivers the outbox to webhook subscriptions: at least once, in order per subscription, retried
 * with exponential backoff and parked after `maxAttempts`. Each subscription is worked on by one
 * dispatcher at a time: on PostgreSQL by a row lock taken with FOR UPDATE SKIP LOCKED and held for
 * the delivery (other instances pass over it), on SQLite by a lease written to the row (so a second
 * process on the same file waits its turn, and no write transaction stays open during the POST).
 */
export class Dispatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    private readonly options: DispatcherOptions = DEFAULT_DISPATCHER_OPTIONS,
  ) {}

  start(): void {
    this.stopped = false;
    const tick = () => {
      this.running = this.runOnce()
        .then(() => undefined)
        .catch((err: unknown) => this.log.warn({ err }, 'webhook dispatch failed; will retry'))
        .finally(() => {
          if (!this.stopped) {
            this.timer = setTimeout(tick, this.options.pollMs);
            this.timer.unref();
          }
        });
    };
    tick();
  }

  /** Stops polling and waits for the delivery in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One round: every due subscription gets at most one delivery. */
  async runOnce(): Promise<number> {
    const now = new Date().toISOString();
    const due = (await this.db
      .knex('webhooks')
      .whereNull('parked_at')
      .where('next_attempt_at', '<=', now)
      .where((w) => void w.whereNull('lease_until').orWhere('lease_until', '<', now))
      .orderBy('next_attempt_at')
      .limit(50)
      .pluck('id')) as string[];
    let delivered = 0;
    for (const id of due) {
      if (this.stopped) break;
      delivered += this.db.dialect === 'postgres' ? await this.claimLocked(id) : await this.claimLeased(id);
    }
    return delivered;
  }

  private claimLocked(id: string): Promise<number> {
    return this.db.knex.transaction(async (tx) => {
      const row = (await tx('webhooks')
        .where({ id })
        .whereNull('parked_at')
        .where('next_attempt_at', '<=', new Date().toISOString())
        .forUpdate()
        .skipLocked()
        .first()) as WebhookRow | undefined;
      return row ? this.attempt(tx, row) : 0;
    });
  }

  private async claimLeased(id: string): Promise<number> {
    const now = new Date();
    const leaseUntil = new Date(now.getTime() + this.options.timeoutMs * 2 + 5000).toISOString();
    const claimed = await this.db
      .knex('webhooks')
      .where({ id })
      .whereNull('parked_at')
      .where('next_attempt_at', '<=', now.toISOString())
      .where((w) => void w.whereNull('lease_until').orWhere('lease_until', '<', now.toISOString()))
      .update({ lease_until: leaseUntil });
    if (!claimed) return 0;
    const row = (await this.db.knex('webhooks').where({ id }).first()) as WebhookRow | undefined;
    return row ? this.attempt(this.db.knex, row) : 0;
  }

  /** The next batch after the cursor, POSTed and signed; the outcome moves the cursor or the retry clock. */
  private async attempt(q: Knex | Knex.Transaction, hook: WebhookRow): Promise<number> {
    const events = await this.nextBatch(q, hook);
    if (!events.length) {
      if (hook.lease_until) await q('webhooks').where({ id: hook.id }).update({ lease_until: null });
      return 0;
    }
    const body = JSON.stringify({
      webhookId: hook.id,
      events: events.map((e) => ({
        id: e.id,
        seq: Number(e.seq),
        type: e.type,
        createdAt: e.created_at,
        requestId: e.cause,
        data: typeof e.payload === 'string' ? (JSON.parse(e.payload) as unknown) : e.payload,
      })),
    });
    const started = Date.now();
    const attempt = hook.attempts + 1;
    let status: number | null = null;
    let error: string | null = null;
    try {
      const res = await fetch(hook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Roster-Webhooks/1',
          [SIGNATURE_HEADER]: sign(hook.secret, body),
          'Roster-Delivery': crypto.randomUUID(),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      status = res.status;
      await res.arrayBuffer().catch(() => undefined);
      if (status < 200 || status >= 300) error = `the receiver answered ${status}`;
    } catch (err) {
      error = (err as Error).name === 'TimeoutError' ? `no answer within ${this.options.timeoutMs} ms` : `could not reach the receiver: ${(err as Error).message}`;
    }
    const at = new Date().toISOString();
    const last = events[events.length - 1]!;
    await q('webhook_deliveries').insert({
      tenant_id: hook.tenant_id,
      webhook_id: hook.id,
      first_seq: events[0]!.seq,
      last_seq: last.seq,
      events: events.length,
      attempt,
      status,
      error,
      duration_ms: Date.now() - started,
      at,
    });
    if (!error) {
      await q('webhooks')
        .where({ id: hook.id })
        .update({ cursor_txid: last.txid, cursor_seq: last.seq, attempts: 0, last_error: null, next_attempt_at: at, lease_until: null });
      return events.length;
    }
    const parked = attempt >= this.options.maxAttempts;
    const wait = Math.min(this.options.backoffMaxMs, this.options.backoffBaseMs * 2 ** (attempt - 1));
    await q('webhooks')
      .where({ id: hook.id })
      .update({
        attempts: attempt,
        last_error: error.slice(0, 1000),
        next_attempt_at: new Date(Date.now() + wait).toISOString(),
        parked_at: parked ? at : null,
        lease_until: null,
      });
    if (parked) this.log.warn({ webhookId: hook.id, attempts: attempt, error }, 'webhook parked after repeated failures');
    return 0;
  }

  /**
   * Events after the cursor in (txid, seq) order, of the wanted types. On PostgreSQL only events of
   * transactions older than every running one: those can no longer be joined by an earlier event.
   */
  private nextBatch(q: Knex | Knex.Transaction, hook: WebhookRow): Promise<EventRow[]> {
    const types = JSON.parse(hook.event_types) as string[];
    const query = q('events')
      .where('tenant_id', hook.tenant_id)
      .where(
        (w) =>
          void w
            .where('txid', '>', hook.cursor_txid)
            .orWhere((x) => void x.where('txid', hook.cursor_txid).andWhere('seq', '>', hook.cursor_seq)),
      )
      .orderBy([{ column: 'txid' }, { column: 'seq' }])
      .limit(this.options.batchSize)
      .select('seq', 'txid', 'id', 'type', 'payload', 'cause', 'created_at');
    if (!types.includes('*')) query.whereIn('type', types);
    if (this.db.dialect === 'postgres') query.whereRaw('txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint');
    return query as unknown as Promise<EventRow[]>;
  }
}
