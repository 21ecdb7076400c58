import type { Logger } from 'pino';
import type { Db } from '../db/knex';
import { toRow, type SyncLogEntry, type SyncLogRow } from './entries';

/** The part of a better-sqlite3 connection the writer uses. */
interface SqliteDatabase {
  prepare(sql: string): { run(values: unknown[]): unknown };
  transaction<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void;
}

const COLUMNS: (keyof SyncLogRow)[] = [
  'id', 'tenant_id', 'at', 'source', 'token_label', 'client', 'method', 'path', 'resource_type', 'resource_id',
  'external_id', 'status', 'scim_type', 'error', 'duration_ms', 'request_body', 'response_body',
];
const INSERT_SQL = `insert into sync_log (${COLUMNS.join(', ')}) values (${COLUMNS.map(() => '?').join(', ')}) on conflict (id) do nothing`;
const INTEGER_COLUMNS = new Set<keyof SyncLogRow>(['status', 'duration_ms']);
/**
 * PostgreSQL: a whole batch in one statement of one array per column, whatever its size, so the text
 * never changes and stays prepared (knex's multi-row inserts of 50 rows cost PostgreSQL 40 µs of CPU
 * per logged GET, more than the GET itself). Rows keep the batch's order, and so their seq.
 */
const PG_INSERT_SQL = `insert into sync_log (${COLUMNS.join(', ')}) select ${COLUMNS.map((c) => `u.${c}`).join(', ')} from unnest(${COLUMNS.map(
  (c) => `?::${INTEGER_COLUMNS.has(c) ? 'integer' : 'text'}[]`,
).join(', ')}) with ordinality as u(${COLUMNS.join(', ')}, n) order by u.n on conflict (id) do nothing`;

export interface SyncLogWriterOptions {
  enabled: boolean;
  /** Entries wait at most this long before they are written (a batch is written sooner when full). */
  flushMs: number;
  batchSize: number;
  /** If the database refuses entries for long, the oldest beyond this many are dropped (and counted). */
  maxBuffered: number;
  onWritten?: (seconds: number, entries: number) => void;
  onDropped?: (entries: number) => void;
}

export const DEFAULT_WRITER_OPTIONS: SyncLogWriterOptions = { enabled: true, flushMs: 200, batchSize: 250, maxBuffered: 20_000 };

/**
 * Writes request entries after their responses, in batches: a push never waits for its log entry,
 * and under load many entries share one insert instead of each taking SQLite's write lock. The
 * changes a request made are not here: they were recorded in its own transaction (changes.ts).
 */
export class SyncLogWriter {
  private buffer: SyncLogEntry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    private readonly options: SyncLogWriterOptions = DEFAULT_WRITER_OPTIONS,
  ) {}

  get enabled(): boolean {
    return this.options.enabled;
  }

  add(entry: SyncLogEntry): void {
    if (!this.options.enabled) return;
    this.buffer.push(entry);
    if (this.buffer.length >= this.options.batchSize) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.options.flushMs);
      this.timer.unref();
    }
  }

  /**
   * Writes what is buffered; resolves once everything added before the call is written, or kept for
   * a retry if the database refused it.
   */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.buffer;
    this.buffer = [];
    this.writing = this.writing.then(() => this.write(batch));
    return this.writing;
  }

  private async write(batch: SyncLogEntry[]): Promise<void> {
    if (!batch.length) return;
    const started = process.hrtime.bigint();
    try {
      const rows = batch.map(toRow);
      if (this.db.dialect === 'sqlite') await this.writeSqlite(rows);
      else await this.db.transaction((tx) => tx.execute(PG_INSERT_SQL, COLUMNS.map((c) => rows.map((row) => row[c] ?? null))));
      this.options.onWritten?.(Number(process.hrtime.bigint() - started) / 1e9, batch.length);
    } catch (err) {
      // Keep them for the next flush rather than lose them; past the bound, the oldest go.
      this.buffer = [...batch, ...this.buffer];
      const excess = this.buffer.length - this.options.maxBuffered;
      if (excess > 0) {
        this.buffer.splice(0, excess);
        this.options.onDropped?.(excess);
      }
      this.log.warn({ err, buffered: this.buffer.length }, 'sync log entries could not be written; will retry');
      if (!this.timer) {
        this.timer = setTimeout(() => void this.flush(), Math.max(this.options.flushMs, 1000));
        this.timer.unref();
      }
    }
  }

  /**
   * On SQLite, one prepared insert run per entry inside one transaction, on the pool's connection:
   * a third of the cost of knex's multi-row inserts (measured: 11 µs against 32 µs an entry), and
   * this runs while every other request waits for the one connection.
   */
  private async writeSqlite(rows: SyncLogRow[]): Promise<void> {
    const client = this.db.knex.client as { acquireConnection(): Promise<SqliteDatabase>; releaseConnection(c: SqliteDatabase): Promise<void> };
    const conn = await client.acquireConnection();
    try {
      const insert = conn.prepare(INSERT_SQL);
      conn.transaction((all: SyncLogRow[]) => {
        for (const row of all) insert.run(COLUMNS.map((c) => row[c] ?? null));
      })(rows);
    } finally {
      await client.releaseConnection(conn);
    }
  }

  /** Deletes entries and changes older than the cutoff, a bounded batch at a time (no long write lock). */
  async prune(olderThan: string, batch = 5000): Promise<number> {
    let total = 0;
    // Entries by tenant, along the (tenant_id, at) index the reader uses too; no index of their own.
    const tenants = [null, ...((await this.db.knex('tenants').pluck('id')) as string[])];
    for (const tenantId of tenants) {
      for (;;) {
        const old = this.db.knex('sync_log').select('seq').where('tenant_id', tenantId).where('at', '<', olderThan).limit(batch);
        const n = await this.db.knex('sync_log').whereIn('seq', old).delete();
        total += n;
        if (n < batch) break;
      }
    }
    for (const table of ['sync_changes', 'sync_change_users'] as const) {
      for (;;) {
        const n = await this.pruneBatch(table, olderThan, batch);
        total += n;
        if (n < batch) break;
      }
    }
    return total;
  }

  private async pruneBatch(table: 'sync_changes' | 'sync_change_users', olderThan: string, batch: number): Promise<number> {
    const key = table === 'sync_change_users' ? (this.db.dialect === 'sqlite' ? 'rowid' : 'ctid') : 'seq';
    const old = this.db.knex(table).select(key).where('at', '<', olderThan).limit(batch);
    return this.db.knex(table).whereIn(key, old).delete();
  }
}
