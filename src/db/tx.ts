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
   * A batch and a read that does not depend on it, in one statement on PostgreSQL (the read is the
   * statement whose rows come back, beside the writes' WITH queries: it sees the database as it was
   * before them); on SQLite the writes, then the read. Gives the read's rows.
   */
  batchAndRead<T = unknown>(writes: readonly Statement[], read: Statement): Promise<T[]>;
  /**
   * Inserts rows at the end of the transaction, just before it commits, with the other deferred
   * rows: rows nothing in the transaction reads back (the outbox's events, the sync log's change
   * records). On PostgreSQL they all go in one statement, one round trip fewer per table while the
   * transaction holds its locks.
   */
  insertLater(table: string, rows: readonly object[], chunk?: number): void; // rows of one table have the same keys
  /**
   * Runs a write at the end of the transaction with the deferred inserts (on PostgreSQL in one
   * statement with them, in the round trip of the COMMIT): a write nothing later in the transaction
   * reads back, of rows no deferred insert touches, such as a group's new version. `then` gets its
   * rows (RETURNING) once it has run.
   */
  executeLater<T>(statement: Statement, then?: (rows: T[]) => void): void;
  /**
   * Runs statements one after the other, each seeing what the ones before it did, and gives each
   * one's rows; on PostgreSQL they are sent together, one round trip. For statements whose bindings
   * do not come from the rows of the ones before (an insert, then an insert that selects what it
   * inserted). The first that fails fails the call, and the transaction with it.
   */
  pipeline<T = unknown>(statements: readonly Statement[]): Promise<T[][]>;
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
  /** A query object of pg's own (pg.Query): submitted as it is, nothing copied (see submit). */
  query(query: pg.Query): unknown;
  /** pg's pipeline mode (openDb turns it on): queries are sent without waiting for the ones before. */
  readonly pipeline?: boolean;
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

/** A deferred write, the table it inserts into (none for an executeLater write), and what to tell of its rows. */
interface Deferred {
  statement: Statement;
  table?: string;
  then?: (rows: unknown[]) => void;
}

/** What every transaction does whatever the engine: the end guard, the deadline and the after-commit callbacks. */
abstract class BaseTx implements Tx {
  abstract readonly dialect: Dialect;
  /** See TransactionOptions.deadline. */
  deadline: number | undefined;
  protected ended = false;
  private readonly committed: (() => void)[] = [];
  /** Rows to insert before COMMIT, by table, in the order they were given. */
  private deferred = new Map<string, { rows: object[]; chunk: number | undefined }>();
  /** Writes to run before the deferred inserts. */
  private later: Deferred[] = [];

  abstract query<T>(sql: string, bindings?: readonly unknown[]): Promise<T[]>;
  abstract execute(sql: string, bindings?: readonly unknown[]): Promise<number>;

  insertLater(table: string, rows: readonly object[], chunk?: number): void {
    if (!rows.length) return;
    const entry = this.deferred.get(table) ?? { rows: [], chunk };
    entry.rows.push(...rows);
    this.deferred.set(table, entry);
  }

  executeLater<T>(statement: Statement, then?: (rows: T[]) => void): void {
    this.later.push({ statement, then: then as ((rows: unknown[]) => void) | undefined });
  }

  /**
   * The deferred writes, in the order they run: the executeLater writes, then each table's rows in
   * the order they were given (their sequence numbers follow it; the outbox delivers events in that
   * order). Taken once: after this the transaction has none.
   */
  protected takeDeferred(): Deferred[] {
    const inserts = [...this.deferred].flatMap(([table, { rows, chunk }]) => insertStatements(table, rows, '', chunk).map((statement) => ({ statement, table })));
    const all = [...this.later, ...inserts];
    this.deferred = new Map();
    this.later = [];
    return all;
  }

  async batch(statements: readonly Statement[]): Promise<void> {
    for (const { sql, bindings } of statements) await this.execute(sql, bindings);
  }

  async batchAndRead<T = unknown>(writes: readonly Statement[], read: Statement): Promise<T[]> {
    await this.batch(writes);
    return this.query<T>(read.sql, read.bindings);
  }

  async pipeline<T = unknown>(statements: readonly Statement[]): Promise<T[][]> {
    const out: T[][] = [];
    for (const { sql, bindings } of statements) out.push(await this.query<T>(sql, bindings));
    return out;
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

  /** The work, then the deferred writes; after that, whatever happened, no statement runs on this transaction. */
  async run<T>(work: (tx: Tx) => T | Promise<T>): Promise<T> {
    try {
      const result = await work(this);
      for (const { statement, then } of this.takeDeferred()) {
        const rows = await this.query(statement.sql, statement.bindings);
        then?.(rows);
      }
      return result;
    } finally {
      this.ended = true;
    }
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

/**
 * Deferred writes as few statements as PostgreSQL allows: a round holds at most one statement per
 * table, so a table's rows keep the order they were given, and runs as one statement, every write
 * but the last a data-modifying WITH query of the last (which gives the round's rows: a write that
 * wants them comes last, one to a round). The writes of a round see one snapshot and run in an order
 * of PostgreSQL's choosing: deferred writes are independent (see Tx.executeLater).
 */
function inRounds(deferred: readonly Deferred[]): Deferred[] {
  const rounds: Deferred[][] = [];
  const next = new Map<string, number>();
  for (const d of deferred) {
    let r = d.table === undefined ? 0 : (next.get(d.table) ?? 0);
    while (d.then && rounds[r]?.some((x) => x.then)) r++;
    (rounds[r] ??= []).push(d);
    if (d.table !== undefined) next.set(d.table, r + 1);
  }
  return rounds.flatMap((round) => {
    const ordered = [...round.filter((d) => !d.then), ...round.filter((d) => d.then)];
    const one = asOneStatement(ordered.map((d) => d.statement));
    return one ? [{ statement: one, then: ordered[ordered.length - 1]!.then }] : round;
  });
}

/**
 * Statements as one (PostgreSQL): every statement but the last a data-modifying WITH query of the
 * last, whose rows are the statement's. Undefined for fewer than two, or too many values to bind in
 * one statement (65,535 at most; a chunk of rows is 400, so this is rare).
 */
function asOneStatement(statements: readonly Statement[]): Statement | undefined {
  const bound = statements.reduce((n, st) => n + st.bindings.length, 0);
  if (statements.length < 2 || bound > 30_000) return undefined;
  const last = statements[statements.length - 1]!;
  const withs = statements.slice(0, -1).map((st, i) => `d${i} as (${st.sql})`);
  return { sql: `with ${withs.join(', ')} ${last.sql}`, bindings: statements.flatMap((st) => st.bindings) };
}

interface PgResult {
  rows: unknown[];
  rowCount: number | null;
}

const BEGIN: Statement = { sql: 'begin', bindings: [] };

/**
 * A PostgreSQL transaction whose BEGIN goes with its first statement and whose deferred writes go
 * with its COMMIT, each in one round trip (pgPipeline): a one-member PATCH of a group makes four
 * round trips instead of eight, and its version bump, the one lock concurrent member changes of the
 * group wait on, is held only within the last of them.
 */
class PgTx extends BaseTx {
  readonly dialect = 'postgres';
  /** BEGIN has been sent. */
  private begun = false;
  /** COMMIT or ROLLBACK has been sent: the transaction ends whatever the answer. */
  private finished = false;

  constructor(
    private readonly conn: PgConnection,
    private readonly names?: StatementNames,
  ) {
    super();
  }

  /** Whether a transaction is open on the connection (a ROLLBACK would end it). */
  get open(): boolean {
    return this.begun && !this.finished;
  }

  async query<T>(sql: string, bindings: readonly unknown[] = []): Promise<T[]> {
    this.check(sql);
    return (await this.one(sql, bindings)).rows as T[];
  }

  async execute(sql: string, bindings: readonly unknown[] = []): Promise<number> {
    this.check(sql);
    return (await this.one(sql, bindings)).rowCount ?? 0;
  }

  override async pipeline<T = unknown>(statements: readonly Statement[]): Promise<T[][]> {
    for (const { sql } of statements) this.check(sql);
    return (await this.send(statements)).map((r) => r.rows as T[]);
  }

  /**
   * One statement: every statement but the last a data-modifying WITH query of the last. They see one
   * snapshot and run in an order of PostgreSQL's choosing, which is why they must be independent.
   */
  override async batch(statements: readonly Statement[]): Promise<void> {
    const one = asOneStatement(statements);
    if (!one) return super.batch(statements);
    await this.execute(one.sql, one.bindings);
  }

  override async batchAndRead<T = unknown>(writes: readonly Statement[], read: Statement): Promise<T[]> {
    const one = asOneStatement([...writes, read]);
    if (!one) return super.batchAndRead<T>(writes, read);
    return this.query<T>(one.sql, one.bindings);
  }

  /** The work alone: its deferred writes go with the COMMIT (end). */
  async run<T>(work: (tx: Tx) => T | Promise<T>): Promise<T> {
    try {
      return await work(this);
    } finally {
      this.ended = true;
    }
  }

  /**
   * The deferred writes and COMMIT (ROLLBACK for a dry run) in one round trip. Should a deferred
   * write fail, PostgreSQL ends the aborted transaction at that COMMIT with a rollback, and the
   * write's error is what this throws. A transaction that sent nothing and has nothing to write
   * sends nothing at all.
   */
  async end(finish: 'commit' | 'rollback'): Promise<void> {
    const deferred = inRounds(this.takeDeferred());
    if (!this.begun && !deferred.length) return;
    const results = await this.send([...deferred.map((d) => d.statement), { sql: finish, bindings: [] }]);
    deferred.forEach((d, i) => d.then?.(results[i]!.rows));
  }

  private async one(sql: string, bindings: readonly unknown[]): Promise<PgResult> {
    if (!this.begun) return (await this.send([{ sql, bindings }]))[0]!;
    return pgQuery(this.conn, sql, bindings, this.names);
  }

  /** Statements in one round trip, BEGIN ahead of them if it has not been sent; their results in order. */
  private async send(statements: readonly Statement[]): Promise<PgResult[]> {
    const opening = !this.begun;
    this.begun = true;
    const last = statements[statements.length - 1]?.sql;
    if (last === 'commit' || last === 'rollback') this.finished = true;
    const results = await pgPipeline(this.conn, opening ? [BEGIN, ...statements] : statements, this.names);
    return opening ? results.slice(1) : results;
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
    return await submit(conn, text, values, name);
  } catch (err) {
    if (!name || !isStalePlan(err)) throw err;
    names!.forget(text);
    if (!retry) throw err;
    return submit(conn, text, values);
  }
}

/**
 * One query as a pg.Query of our own making: pg copies a query given as a config object, property
 * descriptors and all, before it builds the same Query (3% of Node's time on a one-member PATCH).
 */
function submit(conn: PgConnection, text: string, values: unknown[], name?: string): Promise<PgResult> {
  return new Promise((resolve, reject) => {
    const query = new pg.Query(text, values, (err: Error | undefined, result: PgResult) => (err ? reject(err) : resolve(result)));
    if (name) (query as { name?: string }).name = name; // a named (prepared) statement: pg reads it when it submits
    conn.query(query);
  });
}

/**
 * Statements sent one after the other without waiting for answers (pg's pipeline mode, in one write),
 * so they cost one round trip; PostgreSQL runs them in order. Each has its own sync point: inside a
 * transaction, one that fails aborts it and the ones after it fail unrun ("current transaction is
 * aborted"), so the first failure is the one thrown. Values pg would have to serialise are serialised
 * here first, so none can fail to send and let the statements after it (a COMMIT) run without it.
 */
export async function pgPipeline(conn: PgConnection, statements: readonly Statement[], names?: StatementNames): Promise<PgResult[]> {
  if (statements.length === 1 || !conn.pipeline) {
    const out: PgResult[] = [];
    for (const { sql, bindings } of statements) out.push(await pgQuery(conn, sql, bindings, names));
    return out;
  }
  const prepared = statements.map(({ sql, bindings }) => ({ sql, bindings: bindings.map(serialisedEarly) }));
  const stream = (conn as { connection?: { stream?: { cork?(): void; uncork?(): void } } }).connection?.stream;
  stream?.cork?.();
  let sent: Promise<PgResult>[];
  try {
    sent = prepared.map(({ sql, bindings }) => pgQuery(conn, sql, bindings, names));
  } finally {
    stream?.uncork?.();
  }
  const settled = await Promise.allSettled(sent);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<PgResult>).value);
}

/** A plain object as the JSON text pg would send for it (so JSON.stringify fails here, before anything is sent); anything else as it is. */
const serialisedEarly = (v: unknown): unknown =>
  v !== null && typeof v === 'object' && !(v instanceof Date) && !Buffer.isBuffer(v) && !Array.isArray(v) ? JSON.stringify(v) : v;

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
  // With a deadline, a statement still running when it comes is cancelled (pg_cancel_backend on a
  // connection of its own, so a full pool cannot hold it up): nothing per transaction but a timer,
  // where a statement_timeout would cost a statement (PATCH 0.9x). The cancel is awaited before the
  // connection goes back to the pool, and PostgreSQL ignores one that reaches a backend between
  // statements, so it never hits the next user's.
  let cancelling: Promise<unknown> | undefined;
  const timer =
    options.deadline === undefined
      ? undefined
      : setTimeout(() => {
          const pid = (conn as { processID?: number }).processID;
          if (tx.open && pid) cancelling = cancelBackend(knex, pid).catch(() => undefined);
        }, Math.max(1, options.deadline - Date.now()));
  try {
    if (pastDeadline(options.deadline)) throw new BudgetExceeded();
    const result = await tx.run(work);
    if (pastDeadline(options.deadline)) throw new BudgetExceeded();
    await tx.end(options.dryRun ? 'rollback' : 'commit');
    if (!options.dryRun) tx.runCommitted();
    return result;
  } catch (err) {
    // A broken connection cannot roll back; the pool discards it (knex marks it disposed on error).
    if (tx.open) await pgQuery(conn, 'rollback', []).catch(() => undefined);
    // 57014: the statement was cancelled at the deadline.
    if (options.deadline !== undefined && (err as { code?: string }).code === '57014') throw new BudgetExceeded();
    throw err;
  } finally {
    clearTimeout(timer);
    await cancelling;
    await client.releaseConnection(conn);
  }
}
