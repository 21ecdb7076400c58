import type { Tx } from './tx';

/** `?, ?, ?` for an `in (…)` list of the given values. */
export const placeholders = (values: readonly unknown[]): string => values.map(() => '?').join(', ');

/**
 * Inserts rows (objects with the same keys) in one statement per `chunk` rows: `insert into t (…)
 * values (…), (…) <suffix>`. Column names are quoted (`primary` is a keyword).
 */
export async function insertRows<T = never>(tx: Tx, table: string, objects: readonly object[], suffix = '', chunk = 400): Promise<T[]> {
  if (!objects.length) return [];
  const rows = objects as readonly Record<string, unknown>[];
  const columns = Object.keys(rows[0]!);
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  const out: T[] = [];
  for (let i = 0; i < rows.length; i += chunk) {
    const part = rows.slice(i, i + chunk);
    const sql = `insert into ${table} (${columns.map((c) => `"${c}"`).join(', ')}) values ${part.map(() => tuple).join(', ')}${suffix ? ` ${suffix}` : ''}`;
    out.push(...(await tx.query<T>(sql, part.flatMap((r) => columns.map((c) => r[c])))));
  }
  return out;
}

/** `update <table> set <columns> where tenant_id = ? and id = ?` for one row; how many rows it changed. */
export function updateRow(tx: Tx, table: string, tenantId: string, id: string, values: object): Promise<number> {
  const columns = values as Record<string, unknown>;
  const keys = Object.keys(columns);
  return tx.execute(`update ${table} set ${keys.map((k) => `"${k}" = ?`).join(', ')} where tenant_id = ? and id = ?`, [...keys.map((k) => columns[k]), tenantId, id]);
}
