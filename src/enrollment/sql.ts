import type { Knex } from 'knex';

/** Rows of a raw statement, whichever engine ran it (pg wraps them in `rows`; better-sqlite3 returns them). */
export function rowsOf<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}

export const placeholders = (values: readonly unknown[]): string => values.map(() => '?').join(', ');

export async function raw<T>(tx: Knex | Knex.Transaction, sql: string, bindings: readonly unknown[]): Promise<T[]> {
  return rowsOf<T>(await tx.raw(sql, bindings as Knex.RawBinding[]));
}
