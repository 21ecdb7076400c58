import fs from 'node:fs';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { migrationSource } from '../../migrations';
import { newId } from '../ids';
import { Checkpointer } from './checkpointer';
import { ChannelWatch } from './notify';
import { pgQuery, sqliteValue, StatementNames, transaction, type PgConnection, type TransactionOptions, type Tx } from './tx';

export type Dialect = 'sqlite' | 'postgres';

interface SqliteConnection {
  prepare(sql: string): unknown;
  pragma(sql: string): unknown;
  function(name: string, options: { deterministic: boolean }, fn: (...values: unknown[]) => unknown): unknown;
}

export interface Db {
  knex: Knex;
  dialect: Dialect;
  /**
   * Runs one read-only statement (SQL with `?` placeholders) outside knex's query builder and pool,
   * for the reads every request makes (a token, a user, a page). On SQLite it runs on a reader
   * connection of its own with its statements prepared once: WAL lets it read the last committed state
   * while a write transaction holds the writer, so a GET never queues behind a 100,000-member fan-out.
   * On PostgreSQL it runs on a connection of knex's pool, prepared once it recurs (StatementNames).
   */
  read<T>(sql: string, bindings: readonly unknown[]): Promise<T[]>;
  /**
   * Runs `work` in one write transaction (see tx.ts): it commits if `work` resolves, rolls back if it
   * throws, and always rolls back a dry run.
   */
  transaction<T>(work: (tx: Tx) => T | Promise<T>, options?: TransactionOptions): Promise<T>;
  /**
   * A number that changes whenever a token or a tenant changes, by this process or another: a token
   * read under an unchanged number is still current. Undefined while that cannot be known. SQLite: its
   * `data_version`, which any commit changes. PostgreSQL: a count of the notifications a trigger on
   * those tables sends (migration 007), received on a listening connection of this process (notify.ts).
   */
  credentialsVersion?: () => number | undefined;
  /**
   * SQLite: loads the planner statistics (sqlite_stat1) into the reader again if they changed since
   * it last did. A connection reads them once, when it opens; ANALYZE on another connection (the
   * writer's PRAGMA optimize, another process, an operator) leaves it planning with the old ones.
   */
  refreshStatistics?: () => void;
  /** SQLite's checkpointer, once the writer has connected (tests read what it did). */
  checkpoints?: () => Checkpointer | undefined;
  close(): Promise<void>;
}

/** The store named by a URL: `sqlite:PATH` (or `sqlite::memory:`) or `postgres://…`. */
export interface DbOptions {
  searchPath?: string;
  poolMax?: number;
  /** How long a request waits for a connection before it is refused with 503 (SQLite has one). */
  acquireTimeoutMs?: number;
  /**
   * PostgreSQL: keep recurring statements prepared on each connection (default). Off behind a
   * connection pooler in transaction mode that cannot keep them (PgBouncer before 1.21).
   */
  preparedStatements?: boolean;
}

/** The channel migration 007's trigger notifies when tokens or tenants change (PostgreSQL). */
export const CREDENTIALS_CHANNEL = 'roster_credentials';

export function openDb(url: string, options: DbOptions = {}): Db {
  const acquireConnectionTimeout = options.acquireTimeoutMs ?? 20_000;
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const knex = knexFactory({
      client: 'pg',
      // pg's pipeline mode: a transaction sends its BEGIN with its first statement and its deferred
      // writes with its COMMIT (tx.ts); a connection otherwise runs one statement at a time, as before.
      connection: { connectionString: url, pipeline: true } as Knex.PgConnectionConfig,
      searchPath: options.searchPath ? [options.searchPath] : undefined,
      pool: { min: 0, max: options.poolMax ?? 10 },
      acquireConnectionTimeout,
    });
    const client = knex.client as { acquireConnection(): Promise<PgConnection>; releaseConnection(c: unknown): Promise<void> };
    const names = options.preparedStatements === false ? undefined : new StatementNames();
    const credentials = new ChannelWatch(url, CREDENTIALS_CHANNEL);
    const read = turnReader(client, names);
    return {
      knex,
      dialect: 'postgres',
      read,
      transaction: (work, opts) => transaction(knex, 'postgres', work, opts, names),
      credentialsVersion: () => credentials.version(),
      close: async () => {
        await credentials.close();
        await knex.destroy();
      },
    };
  }
  if (url.startsWith('sqlite:')) {
    const filename = url.slice('sqlite:'.length);
    const onDisk = filename !== ':memory:';
    if (onDisk) fs.mkdirSync(path.dirname(path.resolve(filename)), { recursive: true });
    let checkpointer: Checkpointer | undefined;
    const reader = onDisk ? new SqliteReader(filename) : undefined;
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
          addFunctions(conn);
          conn.pragma('journal_mode = WAL');
          conn.pragma('synchronous = NORMAL');
          conn.pragma('foreign_keys = ON');
          conn.pragma('busy_timeout = 5000');
          // ANALYZE reads at most this many index rows per index: planner statistics in milliseconds
          conn.pragma('analysis_limit = 1000');
          conn.pragma(PAGE_CACHE);
          if (onDisk) {
            // Checkpoints run on a worker thread (checkpointer.ts); the writer's own, at 10,000 pages
            // instead of 1,000, is the backstop that lets the WAL start over under a sustained load.
            conn.pragma('wal_autocheckpoint = 10000');
            checkpointer ??= new Checkpointer(filename);
          }
          adaptStatements(conn, () => reader?.invalidate());
          done(null, conn);
        },
      },
    });
    const read = reader
      ? <T>(sql: string, bindings: readonly unknown[]): Promise<T[]> => {
          try {
            return Promise.resolve(reader.all<T>(sql, bindings));
          } catch (err) {
            return Promise.reject(err as Error);
          }
        }
      : async <T>(sql: string, bindings: readonly unknown[]) => (await knex.raw(sql, bindings as never[])) as T[];
    return {
      knex,
      dialect: 'sqlite',
      read,
      transaction: (work, opts) => transaction(knex, 'sqlite', work, opts),
      credentialsVersion: reader ? () => reader.dataVersion() : undefined,
      refreshStatistics: reader ? () => reader.refreshStatistics() : undefined,
      checkpoints: () => checkpointer,
      close: async () => {
        reader?.close();
        await checkpointer?.stop();
        await knex.destroy();
      },
    };
  }
  throw new Error(`DATABASE_URL must start with sqlite: or postgres:// (got "${url.replace(/\/\/[^@]*@/, '//***@')}")`);
}

/** SQLite functions Roster's SQL relies on, on every connection. */
function addFunctions(conn: SqliteConnection): void {
  // SQLite's own lower() folds ASCII only; fold all of Unicode, as JavaScript and PostgreSQL do,
  // so case-insensitive filters agree with the lower-cased columns written from JavaScript.
  conn.function('lower', { deterministic: true }, (s: unknown) => (typeof s === 'string' ? s.toLowerCase() : s));
  // PostgreSQL's gen_random_uuid(), so set-based inserts are the same SQL on both engines. Here the
  // ids are time-ordered (UUIDv7, see ids.ts): 100,000 new enrollments fill their index in order.
  conn.function('gen_random_uuid', { deterministic: false }, () => newId());
}

/**
 * SQLite's own default page cache, 2 MB a connection, instead of the 16 MB better-sqlite3 builds
 * in. The pages a request touches are a few random ones of a database the operating system caches
 * anyway: measured A/B at 100,000 users, GET, filters, POST, PUT and PATCH ran as fast with 2 MB as
 * with 16, and the server's peak RSS in the full benchmark went from 277 to 187 MB (the page caches
 * fill up, and the C heap keeps what they held).
 */
const PAGE_CACHE = 'cache_size = -2000';

interface SqliteStatement {
  reader: boolean;
  readonly: boolean;
  all(bindings: unknown[]): unknown[];
  run(bindings: unknown[]): unknown;
}

/**
 * A read-only connection beside knex's writer, opened at the first read (after migrations made the
 * file).
 *
 * Its reads share one read transaction per turn of the event loop: the first read of a turn begins
 * it and a setImmediate ends it. A statement in autocommit begins and ends a read transaction of its
 * own (locks on the -shm file, the WAL header), which cost more than the lookups themselves; under
 * load one turn serves several requests. A turn's reads see what was committed before it began, and
 * a write on this process's writer ends the snapshot at once (`invalidate`, called from the writer's
 * statements), so a read after a commit always sees it; a request that arrives after another
 * process's commit is read in a later turn, so it sees that too.
 */
class SqliteReader {
  private conn: (SqliteConnection & { close(): void; readonly inTransaction: boolean }) | undefined;
  private readonly statements = new Map<string, SqliteStatement>();
  private inSnapshot = false;
  private readonly endSnapshot = () => {
    if (!this.inSnapshot) return;
    this.inSnapshot = false;
    if (this.conn?.inTransaction) this.statement('COMMIT').run([]);
  };

  constructor(private readonly filename: string) {}

  all<T>(sql: string, bindings: readonly unknown[]): T[] {
    const statement = this.statement(sql);
    if (!this.inSnapshot) {
      this.statement('BEGIN').run([]);
      this.inSnapshot = true;
      setImmediate(this.endSnapshot);
    }
    return statement.all(bindings.map(sqliteValue)) as T[];
  }

  /** The writer is about to change the database: the next read takes a fresh snapshot. */
  invalidate(): void {
    this.endSnapshot();
  }

  dataVersion(): number {
    return this.all<{ data_version: number }>('pragma data_version', [])[0]!.data_version;
  }

  /** What the statistics were when this connection opened (see Db.refreshStatistics). */
  private statistics: string | undefined;

  refreshStatistics(): void {
    if (!this.conn) return; // opens with the current ones
    this.endSnapshot(); // a snapshot begun earlier in this turn may predate the ANALYZE
    const now = this.statisticsNow();
    if (now === this.statistics) return;
    // A read-only connection cannot run `ANALYZE sqlite_schema` (the reload): it opens again instead,
    // and its statements are prepared again, under the new statistics, as they are next used.
    this.close();
    this.statistics = now;
  }

  private statisticsNow(): string {
    try {
      return JSON.stringify(this.all('select tbl, idx, stat from sqlite_stat1 order by tbl, idx', []));
    } catch {
      return ''; // no sqlite_stat1 until the first ANALYZE
    }
  }

  close(): void {
    this.endSnapshot();
    this.conn?.close();
    this.conn = undefined;
    this.statements.clear();
  }

  private statement(sql: string): SqliteStatement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.connection().prepare(sql) as SqliteStatement;
      if (this.statements.size >= 500) this.statements.delete(this.statements.keys().next().value!);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private connection() {
    if (!this.conn) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const Database = require('better-sqlite3') as new (file: string, opts: { readonly: boolean; fileMustExist: boolean }) => SqliteConnection & {
        close(): void;
        readonly inTransaction: boolean;
      };
      const conn = new Database(this.filename, { readonly: true, fileMustExist: true });
      addFunctions(conn);
      conn.pragma('busy_timeout = 5000');
      conn.pragma(PAGE_CACHE);
      this.conn = conn;
      this.statistics = this.statisticsNow();
    }
    return this.conn;
  }
}

/**
 * Three adaptations of the statements sent to the writer connection (knex's and tx.ts's alike):
 * - knex opens transactions with a deferred `BEGIN`: the write lock is taken at the first write, and a
 *   transaction that read first and then wants to write gets SQLITE_BUSY at once, without waiting, when
 *   another process holds the lock (SQLite cannot wait there without risking a deadlock). With several
 *   processes on one file that is a 500; `BEGIN IMMEDIATE` takes the lock up front, so writers queue
 *   (busy_timeout) instead of failing. In one process nothing changes: it has one connection.
 * - knex prepares every query anew; parsing and planning the same few dozen statements over and over
 *   was a quarter of a PATCH's CPU time. The most recent prepared statements are kept, keyed by SQL.
 *   Safe because each statement runs to completion (all()/run(), never an open iterator), and SQLite
 *   re-prepares a cached statement by itself after a schema change.
 * - a statement that may write (a COMMIT among them) calls `onWrite` first: the reader's snapshot ends,
 *   so no read after this write is served from before it.
 */
function adaptStatements(conn: SqliteConnection, onWrite: () => void, size = 500): void {
  const prepare = conn.prepare.bind(conn);
  const cache = new Map<string, SqliteStatement>();
  conn.prepare = (sql: string) => {
    let statement = cache.get(sql);
    if (statement === undefined) {
      statement = prepare(sql === 'BEGIN;' ? 'BEGIN IMMEDIATE;' : sql) as SqliteStatement;
      if (cache.size >= size) cache.delete(cache.keys().next().value!);
    } else cache.delete(sql); // re-inserted below: most recently used last
    cache.set(sql, statement);
    if (!statement.reader || !statement.readonly) onWrite(); // a write, RETURNING or not, or COMMIT
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
 * analysis_limit bounding the cost, so running it every minute is cheap. The reader loads the new
 * statistics within `checkMs` (it would otherwise plan with those it opened with for good).
 */
export async function keepStatisticsCurrent(db: Db, everyMs = 60_000, checkMs = 10_000): Promise<() => void> {
  if (db.dialect !== 'sqlite') return () => undefined;
  const refresh = () => db.refreshStatistics?.();
  const optimize = async () => {
    await db.knex.raw('PRAGMA optimize').catch(() => undefined);
    refresh();
  };
  await optimize();
  const timers = [setInterval(() => void optimize(), everyMs), setInterval(refresh, checkMs)];
  for (const t of timers) t.unref();
  return () => timers.forEach(clearInterval);
}

/**
 * Reads on pooled connections, without knex's runner in between; the reads of one turn of the event
 * loop share one connection, its stream corked until the turn ends (setImmediate), so they reach
 * PostgreSQL in one write and their answers tend to come back in one read. pg's pipeline mode keeps
 * them in flight together; each has its own sync point, so one that fails fails alone. Sending a
 * statement is a system call that cost a GET /Users/{id} a quarter of its CPU time (most of it in
 * the kernel's loopback TCP), and concurrent requests mostly arrive in the same turn: measured with
 * 8 clients, GET /Users/{id} went from 4,258 to 4,732 req/s (+11%, five alternating runs each) and
 * a userName filter likewise. The cost: reads of one turn answer in order, so a slow one (a big
 * group's members) holds up the others of its turn, not those of later turns, which take other
 * connections. The connection goes back to the pool when its turn has ended and its last read has
 * answered.
 */
function turnReader(client: { acquireConnection(): Promise<PgConnection>; releaseConnection(c: unknown): Promise<void> }, names: StatementNames | undefined) {
  interface Turn {
    conn: Promise<PgConnection>;
    inFlight: number;
    open: boolean;
  }
  let current: Turn | undefined;
  const streamOf = (conn: PgConnection) => (conn as { connection?: { stream?: { cork?(): void; uncork?(): void } } }).connection?.stream;
  const releaseIfDone = async (turn: Turn) => {
    if (turn.inFlight === 0 && !turn.open) await client.releaseConnection(await turn.conn);
  };
  const begin = (): Turn => {
    const turn: Turn = { conn: client.acquireConnection().then((c) => (streamOf(c)?.cork?.(), c)), inFlight: 0, open: true };
    setImmediate(() => {
      if (current === turn) current = undefined;
      turn.conn.then(
        async (c) => {
          streamOf(c)?.uncork?.();
          turn.open = false;
          await releaseIfDone(turn);
        },
        () => undefined, // no connection came: each read of the turn has its error
      );
    });
    return turn;
  };
  return async <T>(sql: string, bindings: readonly unknown[]): Promise<T[]> => {
    const turn = (current ??= begin());
    turn.inFlight++;
    try {
      const conn = await turn.conn;
      return (await pgQuery(conn, sql, bindings, names, true)).rows as T[];
    } finally {
      turn.inFlight--;
      await turn.conn.then(() => releaseIfDone(turn), () => undefined);
    }
  };
}
