import type { Knex } from 'knex';

/** Rows of a raw statement, whichever engine ran it (pg wraps them in `rows`; better-sqlite3 returns them). */
export function rowsOf<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}

interface SqliteStatement {
  reader: boolean;
  all(bindings: unknown[]): unknown[];
  run(bindings: unknown[]): unknown;
}

interface TxClient {
  driverName?: string;
  acquireConnection(): Promise<{ prepare(sql: string): SqliteStatement }>;
}

/** better-sqlite3 binds numbers, strings, bigints, buffers and null; booleans become 1/0 and dates epoch ms, as knex does. */
export const sqliteValue = (v: unknown): unknown => (typeof v === 'boolean' ? (v ? 1 : 0) : v instanceof Date ? v.valueOf() : v === undefined ? null : v);

/**
 * Runs one statement (SQL with `?` placeholders) and returns its rows (RETURNING included). Inside a
 * SQLite transaction it runs straight on the transaction's connection, its statement prepared once
 * (the connection caches them): knex's runner, query builder and promise chain cost 35–50 µs a
 * statement, several times what SQLite takes for a one-row insert. Elsewhere it is `knex.raw`.
 */
export async function raw<T>(tx: Knex | Knex.Transaction, sql: string, bindings: readonly unknown[]): Promise<T[]> {
  const client = tx.client as TxClient;
  if ((tx as Knex.Transaction).isTransaction && client.driverName === 'better-sqlite3') {
    if ((tx as Knex.Transaction).isCompleted()) throw new Error(`statement after the transaction ended: ${sql.slice(0, 80)}`);
    const statement = (await client.acquireConnection()).prepare(sql);
    const values = bindings.map(sqliteValue);
    if (statement.reader) return statement.all(values) as T[];
    statement.run(values);
    return [];
  }
  return rowsOf<T>(await tx.raw(sql, bindings as Knex.RawBinding[]));
}

/** `?, ?, ?` for an `in (…)` list of the given values. */
export const placeholders = (values: readonly unknown[]): string => values.map(() => '?').join(', ');

/**
 * Inserts rows (objects with the same keys) in one statement per `chunk` rows: `insert into t (…)
 * values (…), (…) <suffix>`. Column names are quoted (`primary` is a keyword).
 */
export async function insertRows<T = never>(
  tx: Knex.Transaction,
  table: string,
  objects: readonly object[],
  suffix = '',
  chunk = 400,
): Promise<T[]> {
  if (!objects.length) return [];
  const rows = objects as readonly Record<string, unknown>[];
  const columns = Object.keys(rows[0]!);
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  const out: T[] = [];
  for (let i = 0; i < rows.length; i += chunk) {
    const part = rows.slice(i, i + chunk);
    const sql = `insert into ${table} (${columns.map((c) => `"${c}"`).join(', ')}) values ${part.map(() => tuple).join(', ')}${suffix ? ` ${suffix}` : ''}`;
    out.push(...(await raw<T>(tx, sql, part.flatMap((r) => columns.map((c) => r[c])))));
  }
  return out;
}

/** `update <table> set <columns> where tenant_id = ? and id = ?` for one row. */
export async function updateRow(tx: Knex.Transaction, table: string, tenantId: string, id: string, values: object): Promise<void> {
  const columns = values as Record<string, unknown>;
  const keys = Object.keys(columns);
  await raw(tx, `update ${table} set ${keys.map((k) => `"${k}" = ?`).join(', ')} where tenant_id = ? and id = ?`, [...keys.map((k) => columns[k]), tenantId, id]);
}
