/** Maps engine-specific constraint errors to one shape, once per dialect. */
export type DbConstraint = { kind: 'unique'; constraint: string } | { kind: 'foreignKey' };

export function constraintOf(err: unknown): DbConstraint | undefined {
  const e = err as { code?: string; constraint?: string; message?: string };
  // PostgreSQL: 23505 unique_violation, 23503 foreign_key_violation
  if (e.code === '23505') return { kind: 'unique', constraint: e.constraint ?? '' };
  if (e.code === '23503') return { kind: 'foreignKey' };
  // SQLite (better-sqlite3): SQLITE_CONSTRAINT_UNIQUE / _PRIMARYKEY / _FOREIGNKEY
  if (e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    return { kind: 'unique', constraint: e.message ?? '' };
  }
  if (e.code === 'SQLITE_CONSTRAINT_FOREIGNKEY') return { kind: 'foreignKey' };
  return undefined;
}
