import { migrationSource } from '../../migrations';
import { keepStatisticsCurrent, pendingMigrations } from '../../src/db/knex';
import { createTestDb } from '../helpers/db';

describe('migrations', () => {
  it('apply every migration and leave none pending, then roll back cleanly', async () => {
    const db = await createTestDb();
    try {
      expect(await pendingMigrations(db)).toEqual([]);
      for (const table of ['tenants', 'tokens', 'users', 'user_emails', 'groups', 'memberships', 'content']) {
        expect(await db.knex.schema.hasTable(table)).toBe(true);
      }
      await db.knex.migrate.rollback({ migrationSource }, true);
      expect(await db.knex.schema.hasTable('users')).toBe(false);
    } finally {
      await db.drop();
    }
  });
});

describe('planner statistics', () => {
  it('are gathered on SQLite once a table has grown, so the planner can pick the selective index', async () => {
    const db = await createTestDb();
    try {
      if (db.dialect !== 'sqlite') return void expect(await keepStatisticsCurrent(db)).toBeInstanceOf(Function);
      const at = new Date().toISOString();
      await db.knex('tenants').insert({ id: 't', name: 't', created_at: at });
      for (let i = 0; i < 2000; i += 400) {
        await db.knex('users').insert(
          Array.from({ length: 400 }, (_, j) => ({ id: `u${i + j}`, tenant_id: 't', user_name: `u${i + j}`, user_name_lc: `u${i + j}`, data: '{}', created_at: at, updated_at: at })),
        );
      }
      const stop = await keepStatisticsCurrent(db, 3_600_000);
      stop();
      const stats = (await db.knex('sqlite_stat1').where({ tbl: 'users' })) as { idx: string }[];
      expect(stats.map((s) => s.idx)).toContain('users_tenant_id_created_at_id_index');
    } finally {
      await db.drop();
    }
  });
});

describe('migration 012 (group activity)', () => {
  it('tags the membership events written before it with their group, from the payload, and only those', async () => {
    const db = await createTestDb();
    try {
      await db.knex.migrate.down({ migrationSource, name: '20261201_012_group_activity' }); // 012 undone, whatever came after it
      expect(await db.knex.schema.hasColumn('events', 'group_id')).toBe(false);
      const at = new Date().toISOString();
      await db.knex('tenants').insert({ id: 't', name: 't', created_at: at });
      const event = (id: string, type: string, payload: object) => ({ id, tenant_id: 't', type, payload: JSON.stringify(payload), cause: 'r', created_at: at });
      await db.knex('events').insert([
        event('e1', 'membership.added', { groupId: 'g1', userIds: ['u1'] }),
        event('e2', 'membership.removed', { groupId: 'g2', userIds: ['u1'] }),
        event('e3', 'enrollment.created', { enrollmentIds: ['n1'] }),
      ]);
      await db.knex.migrate.up({ migrationSource, name: '20261201_012_group_activity' });
      expect(await db.knex('events').orderBy('seq').select('id', 'group_id')).toEqual([
        { id: 'e1', group_id: 'g1' },
        { id: 'e2', group_id: 'g2' },
        { id: 'e3', group_id: null },
      ]);
    } finally {
      await db.drop();
    }
  });
});
