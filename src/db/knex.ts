import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { migrationSource } from '../../migrations';

export type Dialect = 'sqlite' | 'postgres';

interface SqliteConnection {
  prepare(sql: string): unknown;
  pragma(sql: string): unknown;
  function(name: string, options: { deterministic: boolean }, fn: (...values: unknown[]) => unknown): unknown;
}

export interface Db {
  knex: Knex;
  dialect: Dialect;
  close(): Promise<void>;
}

/** The store named by a URL: `sqlite:PATH` (or `sqlite::memory:`) or `postgres://…`. */
export interface DbOptions {
  searchPath?: string;
  poolMax?: number;
  /** How long a request waits for a connection before it is refused with 503 (SQLite has one). */
  acquireTimeoutMs?: number;
}

export function openDb(url: string, options: DbOptions = {}): Db {
  const acquireConnectionTimeout = options.acquireTimeoutMs ?? 20_000;
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const knex = knexFactory({
      client: 'pg',
      connection: url,
      searchPath: options.searchPath ? [options.searchPath] : undefined,
      pool: { min: 0, max: options.poolMax ?? 10 },
      acquireConnectionTimeout,
    });
    return { knex, dialect: 'postgres', close: () => knex.destroy() };
  }
  if (url.startsWith('sqlite:')) {
    const filename = url.slice('sqlite:'.length);
    if (filename !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(filename)), { recursive: true });
    const knex = knexFactory({
      client: 'better-sqlite3',
      connection: { filename },
      useNullAsDefault: true,
      acquireConnectionTimeout,
      // One connection: better-sqlite3 is synchronous, and SQLite has one writer anyway. Transactions
      // queue on the pool instead of failing with SQLITE_BUSY.
      pool: {
        min: 1,
        max: 1,
        afterCreate: (conn: SqliteConnection, done: (err: Error | null, conn: unknown) => void) => {
          // SQLite's own lower() folds ASCII only; fold all of Unicode, as JavaScript and PostgreSQL do,
          // so case-insensitive filters agree with the lower-cased columns written from JavaScript.
          conn.function('lower', { deterministic: true }, (s: unknown) => (typeof s === 'string' ? s.toLowerCase() : s));
          // PostgreSQL's gen_random_uuid(), so set-based inserts are the same SQL on both engines
          conn.function('gen_random_uuid', { deterministic: false }, () => crypto.randomUUID());
          conn.pragma('journal_mode = WAL');
          conn.pragma('synchronous = NORMAL');
          conn.pragma('foreign_keys = ON');
          conn.pragma('busy_timeout = 5000');
          // ANALYZE reads at most this many index rows per index: planner statistics in milliseconds
          conn.pragma('analysis_limit = 1000');
          adaptStatements(conn);
          done(null, conn);
        },
      },
    });
    return { knex, dialect: 'sqlite', close: () => knex.destroy() };
  }
  throw new Error(`DATABASE_URL must start with sqlite: or postgres:// (got "${url.replace(/\/\/[^@]*@/, '//***@')}")`);
}

/**
 * Two adaptations of the statements knex sends to a SQLite connection:
 * - knex opens transactions with a deferred `BEGIN`: the write lock is taken at the first write, and a
 *   transaction that read first and then wants to write gets SQLITE_BUSY at once, without waiting, when
 *   another process holds the lock (SQLite cannot wait there without risking a deadlock). With several
 *   processes on one file that is a 500; `BEGIN IMMEDIATE` takes the lock up front, so writers queue
 *   (busy_timeout) instead of failing. In one process nothing changes: it has one connection.
 * - knex prepares every query anew; parsing and planning the same few dozen statements over and over
 *   was a quarter of a PATCH's CPU time. The most recent prepared statements are kept, keyed by SQL.
 *   Safe because knex runs each statement to completion (all()/run(), never an open iterator), and
 *   SQLite re-prepares a cached statement by itself after a schema change.
 */
function adaptStatements(conn: SqliteConnection, size = 500): void {
  const prepare = conn.prepare.bind(conn);
  const cache = new Map<string, unknown>();
  conn.prepare = (sql: string) => {
    let statement = cache.get(sql);
    if (statement === undefined) {
      statement = prepare(sql === 'BEGIN;' ? 'BEGIN IMMEDIATE;' : sql);
      if (cache.size >= size) cache.delete(cache.keys().next().value!);
    } else cache.delete(sql); // re-inserted below: most recently used last
    cache.set(sql, statement);
    return statement;
  };
}

export async function migrateLatest(db: Db): Promise<string[]> {
  const [, applied] = (await db.knex.migrate.latest({ migrationSource })) as [number, string[]];
  return applied;
}

export async function pendingMigrations(db: Db): Promise<string[]> {
  // With a custom migration source, knex lists pending migrations as that source names them.
  const [, pending] = (await db.knex.migrate.list({ migrationSource })) as [unknown[], (string | { file: string })[]];
  return pending.map((m) => (typeof m === 'string' ? m : m.file));
}

/**
 * Keeps SQLite's planner statistics current (PostgreSQL's autovacuum does this by itself). Without
 * them SQLite cannot tell that user_emails.value_lc is more selective than users.tenant_id, and an
 * email filter scans the tenant. `PRAGMA optimize` re-analyzes only tables that changed a lot, with
 * analysis_limit bounding the cost, so running it every minute is cheap.
 */
export async function keepStatisticsCurrent(db: Db, everyMs = 60_000): Promise<() => void> {
  if (db.dialect !== 'sqlite') return () => undefined;
  const run = () => db.knex.raw('PRAGMA optimize').catch(() => undefined);
  await run();
  const timer = setInterval(() => void run(), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** Thrown inside a transaction to roll it back while handing out what it computed. */
class RolledBack<T> extends Error {
  constructor(readonly result: T) {
    super('dry run: rolled back');
  }
}

/**
 * Runs `work` in a transaction; with `dryRun` the transaction is rolled back after the work is done,
 * so a dry run reports exactly what the real run would do and changes nothing.
 */
export async function transactionOrDryRun<T>(knex: Knex, dryRun: boolean, work: (tx: Knex.Transaction) => Promise<T>): Promise<T> {
  try {
    return await knex.transaction(async (tx) => {
      const result = await work(tx);
      if (dryRun) throw new RolledBack(result);
      return result;
    });
  } catch (err) {
    if (err instanceof RolledBack) return err.result as T;
    throw err;
  }
}
