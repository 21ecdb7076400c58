import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { migrateLatest, openDb, type Db, type DbOptions } from '../../src/db/knex';

/**
 * A real, migrated database for one test file: a fresh SQLite file in the temp folder, or, when
 * DATABASE_URL names PostgreSQL, a fresh schema in that database (so parallel test files never meet).
 */
export async function createTestDb(options: Pick<DbOptions, 'acquireTimeoutMs'> = {}): Promise<Db & { url: string; searchPath?: string; drop(): Promise<void> }> {
  const url = process.env.DATABASE_URL;
  if (url && /^postgres(ql)?:\/\//.test(url)) {
    const schema = `t_${crypto.randomBytes(6).toString('hex')}`;
    const admin = openDb(url, { poolMax: 1 });
    await admin.knex.raw(`create schema ${schema}`);
    await admin.close();
    const db = openDb(url, { ...options, searchPath: schema });
    await migrateLatest(db);
    return {
      ...db,
      url,
      searchPath: schema,
      drop: async () => {
        await db.close();
        const cleanup = openDb(url, { poolMax: 1 });
        await cleanup.knex.raw(`drop schema ${schema} cascade`);
        await cleanup.close();
      },
    };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roster-test-'));
  const sqliteUrl = `sqlite:${path.join(dir, 'roster.db')}`;
  const db = openDb(sqliteUrl, options);
  await migrateLatest(db);
  return {
    ...db,
    url: sqliteUrl,
    drop: async () => {
      await db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
