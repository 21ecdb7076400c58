import { migrationSource } from '../../migrations';
import { pendingMigrations } from '../../src/db/knex';
import { createTestDb } from '../helpers/db';

describe('migrations', () => {
  it('apply every migration and leave none pending, then roll back cleanly', async () => {
    const db = await createTestDb();
    try {
      expect(await pendingMigrations(db)).toEqual([]);
      for (const table of ['tenants', 'tokens', 'users', 'user_emails', 'groups', 'memberships']) {
        expect(await db.knex.schema.hasTable(table)).toBe(true);
      }
      await db.knex.migrate.rollback({ migrationSource }, true);
      expect(await db.knex.schema.hasTable('users')).toBe(false);
    } finally {
      await db.drop();
    }
  });
});
