import type { Knex } from 'knex';
import pg from 'pg';
import type { Dialect } from './knex';
import { insertStatements } from './sql';

/**
 * A write transaction, as the store, the enrollment rules, the change log and the outbox see it:
 * plain SQL with `?` placeholders, run on the transaction's own connection. knex is not in the way
 * here: its transaction object, runner and promise chain cost more than SQLite took to run most of
 * these statements, and on PostgreSQL they lengthen every round trip a row lock is held across.
 */
export interface Tx {
  readonly dialect: Dialect;
  /** The rows of a statement (a select, or a write with RETURNING); a write without rows gives []. */
  query<T>(sql: string, bindings?: readonly unknown[]): Promise<T[]>;
  /** Runs a write and says how many rows it changed. */
  execute(sql: string, bindings?: readonly unknown[]): Promise<number>;
  /**
   * Runs writes that do not depend on one another's effects (an UPDATE and an INSERT of other
   * tables, a DELETE and an INSERT of different rows): on SQLite one after the other, on PostgreSQL
   * as one statement of data-modifying WITH queries, one round trip, in an order of its choosing (two
   * inserts into one table may take their sequence numbers either way). They must not touch a row twice.
   */
  batch(statements: readonly Statement[]): Promise<void>;
  /**
   * Inserts rows at the end of the transaction, just before it commits, with the other deferred
   * rows: rows nothing in the transaction reads back (the outbox's events, the sync log's change
   * records). On PostgreSQL they all go in one statement, one round trip fewer per table while the
   * transaction holds its locks.
   */
  insertLater(table: string, rows: readonly object[], chunk?: number): void; // rows of one table have the same keys
  /**
   * Runs a write at the end of the transaction, with the deferred inserts (in their statement on
   * PostgreSQL): a write nothing later in the transaction reads back, of rows no deferred insert
   * touches, such as a group's new version under the group's row lock.
   */
  executeLater(statement: Statement): void;
  /** Runs `fn` once the transaction has committed (never after a rollback or a dry run). */
  afterCommit(fn: () => void): void;
}

export interface Statement {
  sql: string;
  bindings: readonly unknown[];
}

export interface TransactionOptions {
  /** Do all the work, then roll it back: the result is exactly what the real run would return. */
  dryRun?: boolean;
  /**
   * When the request behind the transaction must be answered by (epoch ms): past it the transaction
   * rolls back and fails with BudgetExceeded, at its next statement or before COMMIT; on PostgreSQL a
   * statement still running then is cancelled. A single SQLite statement cannot be interrupted; the
   * check follows it.
   */
  deadline?: number;
}

interface PoolClient<C> {
  acquireConnection(): Promise<C>;
  releaseConnection(conn: C): Promise<void>;
}

interface SqliteStatement {
  reader: boolean;
  all(bindings: unknown[]): unknown[];
  run(bindings: unknown[]): { changes: number };
}

interface SqliteConnection {
  prepare(sql: string): SqliteStatement;
  readonly inTransaction: boolean;
}

export interface PgConnection {
  query(config: { name?: string; text: string; values: unknown[] }): Promise<{ rows: unknown[]; rowCount: number | null }>;
}

/** better-sqlite3 binds numbers, strings, bigints, buffers and null; booleans become 1/0 and dates epoch ms, as knex does. */
export const sqliteValue = (v: unknown): unknown => (typeof v === 'boolean' ? (v ? 1 : 0) : v instanceof Date ? v.valueOf() : v === undefined ? null : v);

/** The request's time budget ran out (TransactionOptions.deadline): nothing of the transaction was applied. */
export class BudgetExceeded extends Error {
  override name = 'BudgetExceeded';
  constructor() {
    super('the request did not finish within its time budget; nothing was applied');
  }
}

const pastDeadline = (deadline: number | undefined) => deadline !== undefined && Date.now() > deadline;

/** What every transaction does whatever the engine: the end guard, the deadline and the after-commit callbacks. */
abstract class BaseTx implements Tx {
  abstract readonly dialect: Dialect;
  /** See TransactionOptions.deadline. */
  deadline: number | undefined;
  private ended = false;
  private readonly committed: (() => void)[] = [];
  /** Rows to insert before COMMIT, by table, in the order they were given. */
  private deferred = new Map<string, { rows: object[]; chunk: number | undefined }>();
  /** Writes to run with the first round of deferred inserts. */
  private later: Statement[] = [];

  abstract query<T>(sql: string, bindings?: readonly unknown[]): Promise<T[]>;
  abstract execute(sql: string, bindings?: readonly unknown[]): Promise<number>;

  insertLater(table: string, rows: readonly object[], chunk?: number): void {
    if (!rows.length) return;
    const entry = this.deferred.get(table) ?? { rows: [], chunk };
    entry.rows.push(...rows);
    this.deferred.set(table, entry);
  }

  executeLater(statement: Statement): void {
    this.later.push(statement);
  }

  /**
   * The deferred writes, in rounds: a round holds at most one statement per table, so a table's
   * rows are written in the order they were given (their sequence numbers follow it; the outbox
   * delivers events in that order) even where a round runs as one statement (batch). The first round
   * also carries the executeLater writes.
   */
  private deferredRounds(): Statement[][] {
    const perTable = [...this.deferred].map(([table, { rows, chunk }]) => insertStatements(table, rows, '', chunk));
    const rounds: Statement[][] = this.later.length ? [[...this.later]] : [];
    this.deferred = new Map();
    this.later = [];
    for (const statements of perTable) statements.forEach((st, i) => (rounds[i] ??= []).push(st));
    return rounds;
  }

  async batch(statements: readonly Statement[]): Promise<void> {
    for (const { sql, bindings } of statements) await this.execute(sql, bindings);
  }

  /**
   * Runs the transaction's work, then the deferred inserts, a round at a time (one statement a round
   * on PostgreSQL); after that, whatever happened, no statement runs on this transaction.
   */
  async run<T>(work: (tx: Tx) => T | Promise<T>): Promise<T> {
    try {
      const result = await work(this);
      for (const round of this.deferredRounds()) await this.batch(round);
      return result;
    } finally {
      this.ended = true;
    }
  }

  afterCommit(fn: () => void): void {
    this.committed.push(fn);
  }

  /** A statement after the end would run outside the transaction (autocommit): refuse it. */
  protected check(sql: string): void {
    if (this.ended) throw new Error(`statement after the transaction ended: ${sql.slice(0, 80)}`);
    if (pastDeadline(this.deadline)) throw new BudgetExceeded();
  }

  runCommitted(): void {
    for (const fn of this.committed) {
      try {
        fn();
      } catch (err) {
        // The transaction has committed: its caller must hear so, whatever a listener does.
        process.emitWarning(err as Error);
      }
    }
  }
}

class SqliteTx extends BaseTx {
  readonly dialect = 'sqlite';

  constructor(private readonly conn: SqliteConnection) {
    super();
  }

  query<T>(sql: string, bindings: readonly unknown[] = []): Promise<T[]> {
    try {
      this.check(sql);
      const statement = this.conn.prepare(sql); // the connection keeps its prepared statements (knex.ts)
      const values = bindings.map(sqliteValue);
      if (statement.reader) return Promise.resolve(statement.all(values) as T[]);
      statement.run(values);
      return Promise.resolve([]);
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  execute(sql: string, bindings: readonly unknown[] = []): Promise<number> {
    try {
      this.check(sql);
      return Promise.resolve(this.conn.prepare(sql).run(bindings.map(sqliteValue)).changes);
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }
}

class PgTx extends BaseTx {
  readonly dialect = 'postgres';

  constructor(
    private readonly conn: PgConnection,
    private readonly names?: StatementNames,
  ) {
    super();
  }

  async query<T>(sql: string, bindings: readonly unknown[] = []): Promise<T[]> {
    this.check(sql);
    return (await pgQuery(this.conn, sql, bindings, this.names)).rows as T[];
  }

  async execute(sql: string, bindings: readonly unknown[] = []): Promise<number> {
    this.check(sql);
    return (await pgQuery(this.conn, sql, bindings, this.names)).rowCount ?? 0;
  }

  /**
   * One statement: every statement but the last a data-modifying WITH query of the last. They see one
   * snapshot and run in an order of PostgreSQL's choosing, which is why they must be independent.
   */
  override async batch(statements: readonly Statement[]): Promise<void> {
    const bound = statements.reduce((n, st) => n + st.bindings.length, 0);
    // One statement binds at most 65,535 values; batches rarely come near (a chunk is 400 rows)
    if (statements.length < 2 || bound > 30_000) return super.batch(statements);
    const last = statements[statements.length - 1]!;
    const withs = statements.slice(0, -1).map((st, i) => `d${i} as (${st.sql})`);
    await this.execute(`with ${withs.join(', ')} ${last.sql}`, statements.flatMap((st) => st.bindings));
  }
}

/** `?` placeholders as PostgreSQL's `$1, $2…`, computed once per statement text. */
const positional = new Map<string, string>();
function pgText(sql: string): string {
  let text = positional.get(sql);
  if (text === undefined) {
    let n = 0;
    text = sql.replace(/\?/g, () => `$${++n}`);
    if (positional.size >= 1000) positional.delete(positional.keys().next().value!);
    positional.set(sql, text);
  }
  return text;
}

/**
 * Names for the statements PostgreSQL keeps parsed and planned on each connection (named prepared
 * statements). Parsing and planning every statement anew was two thirds of PostgreSQL's CPU time on a
 * GET /Users/{id} (298 µs a request; 94 µs prepared). A text gets a name at its third use, so one-off
 * statements (a 400-row insert, an `in` list of an unusual length) are not kept, and at most 200 texts
 * are named in a process, so the backends' memory stays bounded whatever Roster is asked.
 */
export class StatementNames {
  private readonly uses = new Map<string, number>();
  private readonly names = new Map<string, string>();
  private next = 0;

  constructor(
    private readonly max = 200,
    private readonly after = 3,
  ) {}

  nameOf(text: string): string | undefined {
    const name = this.names.get(text);
    if (name !== undefined || this.names.size >= this.max) return name;
    const n = (this.uses.get(text) ?? 0) + 1;
    if (n < this.after) {
      if (this.uses.size >= 2000) this.uses.clear();
      this.uses.set(text, n);
      return undefined;
    }
    this.uses.delete(text);
    const named = `roster_${++this.next}`;
    this.names.set(text, named);
    return named;
  }

  /** The statement's prepared plan is stale (see pgQuery): its next use prepares it under a new name. */
  forget(text: string): void {
    this.names.delete(text);
  }

  get size(): number {
    return this.names.size;
  }
}

/**
 * One statement on a pg connection, prepared by name once it recurs (see StatementNames). A prepared
 * `select *` fails with "cached plan must not change result type" (0A000) once another instance's
 * migration has added a column; the statement is then prepared again under a new name, at once for a
 * read outside a transaction (`retry`), from the next transaction on otherwise (this one is aborted).
 */
export async function pgQuery(conn: PgConnection, sql: string, bindings: readonly unknown[], names?: StatementNames, retry = false) {
  const text = pgText(sql);
  const values = bindings.map((v) => (v === undefined ? null : v));
  const name = values.length > 0 ? names?.nameOf(text) : undefined;
  try {
    return await conn.query(name ? { name, text, values } : { text, values });
  } catch (err) {
    if (!name || !isStalePlan(err)) throw err;
    names!.forget(text);
    if (!retry) throw err;
    return conn.query({ text, values });
  }
}

const isStalePlan = (err: unknown) => (err as { code?: string }).code === '0A000' && /cached plan must not change result type/.test(String((err as Error).message));

/**
 * Runs `work` in one transaction on a connection of knex's pool, so knex's own transactions (the
 * webhook dispatcher's) and these take turns on SQLite's single writer. On SQLite the transaction
 * begins IMMEDIATE: the write lock is taken up front, so writers of several processes queue on
 * busy_timeout rather than fail at their first write.
 */
export async function transaction<T>(knex: Knex, dialect: Dialect, work: (tx: Tx) => T | Promise<T>, options: TransactionOptions = {}, names?: StatementNames): Promise<T> {
  return dialect === 'sqlite' ? sqliteTransaction(knex, work, options) : pgTransaction(knex, work, options, names);
}

async function sqliteTransaction<T>(knex: Knex, work: (tx: Tx) => T | Promise<T>, options: TransactionOptions): Promise<T> {
  const client = knex.client as PoolClient<SqliteConnection>;
  const conn = await client.acquireConnection();
  const tx = new SqliteTx(conn);
  tx.deadline = options.deadline;
  try {
    if (pastDeadline(options.deadline)) throw new BudgetExceeded(); // the wait for the writer took it all
    conn.prepare('BEGIN IMMEDIATE').run([]);
    const result = await tx.run(work);
    if (pastDeadline(options.deadline)) throw new BudgetExceeded();
    conn.prepare(options.dryRun ? 'ROLLBACK' : 'COMMIT').run([]);
    if (!options.dryRun) tx.runCommitted();
    return result;
  } finally {
    try {
      if (conn.inTransaction) conn.prepare('ROLLBACK').run([]);
    } finally {
      await client.releaseConnection(conn);
    }
  }
}

/** Cancels the statement a backend is running, if any, from a short-lived connection of its own. */
async function cancelBackend(knex: Knex, pid: number): Promise<void> {
  // knex keeps the connection settings it was given as an object (it parses a URL into one)
  const settings = (knex.client as { config: { connection: string | pg.ClientConfig } }).config.connection;
  const client = new pg.Client(typeof settings === 'string' ? { connectionString: settings } : settings);
  await client.connect();
  try {
    await client.query('select pg_cancel_backend($1)', [pid]);
  } finally {
    await client.end();
  }
}

async function pgTransaction<T>(knex: Knex, work: (tx: Tx) => T | Promise<T>, options: TransactionOptions, names?: StatementNames): Promise<T> {
  const client = knex.client as PoolClient<PgConnection>;
  const conn = await client.acquireConnection();
  const tx = new PgTx(conn, names);
  tx.deadline = options.deadline;
  let open = false;
  // With a deadline, a statement still running when it comes is cancelled (pg_cancel_backend on a
  // connection of its own, so a full pool cannot hold it up): nothing per transaction but a timer,
  // where a statement_timeout would cost a statement (PATCH 0.9x). The cancel is awaited before the connection goes back to the pool, and PostgreSQL
  // ignores one that reaches a backend between statements, so it never hits the next user's.
  let cancelling: Promise<unknown> | undefined;
  const timer =
    options.deadline === undefined
      ? undefined
      : setTimeout(() => {
          const pid = (conn as { processID?: number }).processID;
          if (open && pid) cancelling = cancelBackend(knex, pid).catch(() => undefined);
        }, Math.max(1, options.deadline - Date.now()));
  try {
    if (pastDeadline(options.deadline)) throw new BudgetExceeded();
    await pgQuery(conn, 'begin', []);
    open = true;
    const result = await tx.run(work);
    if (pastDeadline(options.deadline)) throw new BudgetExceeded();
    open = false;
    await pgQuery(conn, options.dryRun ? 'rollback' : 'commit', []);
    if (!options.dryRun) tx.runCommitted();
    return result;
  } catch (err) {
    // A broken connection cannot roll back; the pool discards it (knex marks it disposed on error).
    if (open) await pgQuery(conn, 'rollback', []).catch(() => undefined);
    // 57014: the statement was cancelled at the deadline.
    if (options.deadline !== undefined && (err as { code?: string }).code === '57014') throw new BudgetExceeded();
    throw err;
  } finally {
    clearTimeout(timer);
    await cancelling;
    await client.releaseConnection(conn);
  }
}
