import type { Statement, Tx } from './tx';

/** `?, ?, ?` for an `in (…)` list of the given values. */
export const placeholders = (values: readonly unknown[]): string => values.map(() => '?').join(', ');

/** One `insert into t (…) values (…), (…) <suffix>` per `chunk` rows (objects with the same keys; column names quoted: `primary` is a keyword). */
export function insertStatements(table: string, objects: readonly object[], suffix = '', chunk = 400): Statement[] {
  if (!objects.length) return [];
  const rows = objects as readonly Record<string, unknown>[];
  const columns = Object.keys(rows[0]!);
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  const out: Statement[] = [];
  for (let i = 0; i < rows.length; i += chunk) {
    const part = rows.slice(i, i + chunk);
    out.push({
      sql: `insert into ${table} (${columns.map((c) => `"${c}"`).join(', ')}) values ${part.map(() => tuple).join(', ')}${suffix ? ` ${suffix}` : ''}`,
      bindings: part.flatMap((r) => columns.map((c) => r[c])),
    });
  }
  return out;
}

/** Inserts rows in one statement per `chunk` rows and returns what RETURNING gives (see insertStatements). */
export async function insertRows<T = never>(tx: Tx, table: string, objects: readonly object[], suffix = '', chunk = 400): Promise<T[]> {
  const out: T[] = [];
  for (const { sql, bindings } of insertStatements(table, objects, suffix, chunk)) out.push(...(await tx.query<T>(sql, bindings)));
  return out;
}

/** `update <table> set <columns> where tenant_id = ? and id = ?` for one row. */
export function updateStatement(table: string, tenantId: string, id: string, values: object): Statement {
  const columns = values as Record<string, unknown>;
  const keys = Object.keys(columns);
  return { sql: `update ${table} set ${keys.map((k) => `"${k}" = ?`).join(', ')} where tenant_id = ? and id = ?`, bindings: [...keys.map((k) => columns[k]), tenantId, id] };
}

/** Updates one row (see updateStatement); how many rows it changed. */
export function updateRow(tx: Tx, table: string, tenantId: string, id: string, values: object): Promise<number> {
  const { sql, bindings } = updateStatement(table, tenantId, id, values);
  return tx.execute(sql, bindings);
}
