import fs from 'node:fs';
import { feedPageStatement } from '../../src/activity/feed';
import { keepStatisticsCurrent, migrateLatest, openDb, type Db } from '../../src/db/knex';
import { MembershipStore } from '../../src/membership/store';
import { USERS, runList } from '../../src/scim/kinds';
import { createTestDb } from '../helpers/db';
import { tempSqliteUrl } from '../support/server';

/**
 * How SQLite answers the lists identity providers ask for, read from the reader's query plans
 * (plans, not timings: they do not depend on the machine). Without planner statistics SQLite takes
 * the tenant index for selective and answers an email lookup by walking the tenant's users in page
 * order; with them it goes through the email index. A connection loads the statistics when it opens,
 * so the reader must load them again once they change. SQLite's own, so it runs on a SQLite file
 * whatever DATABASE_URL says.
 */
describe('SQLite query plans of SCIM lists', () => {
  let db: Db;
  let dir: string;
  let store: MembershipStore;
  const statements: { sql: string; bindings: readonly unknown[] }[] = [];

  beforeAll(async () => {
    const temp = tempSqliteUrl('roster-plans-');
    dir = temp.dir;
    db = openDb(temp.url);
    await migrateLatest(db);
    // sqlite_stat1 exists (ANALYZE of the empty tables), holding nothing for users: a later ANALYZE
    // changes its rows, not the schema, so the reader keeps what it read at opening until it refreshes.
    await db.knex.raw('analyze');
    await db.knex('tenants').insert({ id: 't1', name: 'acme', created_at: new Date().toISOString() });
    store = new MembershipStore(db);
    await db.transaction(async (tx) => {
      for (let i = 0; i < 2000; i++) {
        const id = `u${String(i).padStart(6, '0')}`;
        const name = `user${i}@example.com`;
        const at = new Date(Date.UTC(2026, 0, 1) + i).toISOString();
        await tx.execute(
          `insert into users (id, tenant_id, user_name, user_name_lc, external_id, active, data, created_at, updated_at, version) values (?, 't1', ?, ?, ?, true, '{}', ?, ?, 1)`,
          [id, name, name, `ext-${i}`, at, at],
        );
        await tx.execute(`insert into user_emails (tenant_id, user_id, value, value_lc, type, "primary") values ('t1', ?, ?, ?, 'work', true)`, [id, name, name]);
      }
    });
    const read = db.read.bind(db);
    db.read = <T>(sql: string, bindings: readonly unknown[]) => {
      statements.push({ sql, bindings });
      return read<T>(sql, bindings);
    };
  });
  afterAll(async () => {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The reader's plan of the page statement of GET /Users?filter=…&count=100. */
  const planOf = async (filter?: string) => {
    statements.length = 0;
    await runList({ db, store, limits: { defaultPageSize: 100, maxPageSize: 1000 }, passwords: 'drop' }, USERS, 't1', { filter, startIndex: 1, count: 100, descending: false });
    const page = statements.find((s) => s.sql.startsWith('select users.*'))!;
    const rows = await db.read<{ detail: string }>(`explain query plan ${page.sql}`, page.bindings);
    return rows.map((r) => r.detail).join(' | ');
  };
  const EMAIL = 'emails[type eq "work"].value eq "user700@example.com"';

  it('walks the tenant in page order for an email lookup while there are no statistics', async () => {
    expect(await planOf(EMAIL)).toContain('users_tenant_id_created_at_id_index');
  });

  it('keeps planning with the statistics it opened with when another connection analyzes', async () => {
    const other = openDb(`sqlite:${dir}/roster.db`, { poolMax: 1 });
    await other.knex.raw('analyze');
    await other.close();
    expect(await planOf(EMAIL)).toContain('users_tenant_id_created_at_id_index');
  });

  it('plans with the new statistics once it refreshes them: the email index, then the users by id', async () => {
    db.refreshStatistics!();
    const plan = await planOf(EMAIL);
    expect(plan).toContain('user_emails_value_lc_index');
    expect(plan).not.toContain('users_tenant_id_created_at_id_index');
  });

  it('looks users up by userName and by externalId through their own indexes, and pages in index order', async () => {
    expect(await planOf('userName eq "USER7@example.com"')).toContain('users_tenant_id_user_name_lc_unique');
    expect(await planOf('externalId eq "ext-7"')).toContain('users_tenant_id_external_id_index');
    const unfiltered = await planOf();
    expect(unfiltered).toContain('users_tenant_id_created_at_id_index');
    expect(unfiltered).not.toContain('TEMP B-TREE');
  });

  it('refreshes the reader’s statistics when the server keeps them current', async () => {
    await db.knex.raw(`delete from sqlite_stat1`);
    db.refreshStatistics!();
    expect(await planOf(EMAIL)).toContain('users_tenant_id_created_at_id_index');
    const stop = await keepStatisticsCurrent(db); // PRAGMA optimize analyzes what needs it, the reader reloads
    stop();
    expect(await planOf(EMAIL)).toContain('user_emails_value_lc_index');
  });
});

/**
 * A page of a group's activity feed is a range of the (tenant_id, group_id, seq) index read backwards
 * from the cursor, on the engine of the run: no scan of the tenant's events, no sort. The outbox is
 * seeded with 20,000 events of 40 groups and of no group, and the planner has its statistics.
 */
describe('the query plan of a group’s activity feed', () => {
  let db: Awaited<ReturnType<typeof createTestDb>>;

  beforeAll(async () => {
    db = await createTestDb();
    const at = new Date().toISOString();
    await db.knex('tenants').insert([{ id: 't1', name: 'acme', created_at: at }, { id: 't2', name: 'globex', created_at: at }]);
    const types = ['membership.added', 'membership.removed', 'enrollment.created', 'group.message'];
    const rows = Array.from({ length: 20_000 }, (_, i) => ({
      id: `e${i}`,
      tenant_id: i % 5 === 0 ? 't2' : 't1',
      type: types[i % types.length],
      payload: '{}',
      cause: 'seed',
      created_at: at,
      group_id: types[i % types.length] === 'enrollment.created' ? null : `g${i % 40}`,
    }));
    for (let i = 0; i < rows.length; i += 500) await db.knex('events').insert(rows.slice(i, i + 500));
    await db.knex.raw(db.dialect === 'postgres' ? 'analyze events' : 'analyze');
  });
  afterAll(() => db.drop());

  const planOf = async (before?: number) => {
    const { sql, bindings } = feedPageStatement('t1', 'g7', 50, before);
    if (db.dialect === 'postgres') {
      const res = (await db.knex.raw(`explain ${sql}`, bindings as never[])) as { rows: { 'QUERY PLAN': string }[] };
      return res.rows.map((r) => r['QUERY PLAN']).join(' | ');
    }
    const rows = (await db.knex.raw(`explain query plan ${sql}`, bindings as never[])) as { detail: string }[];
    return rows.map((r) => r.detail).join(' | ');
  };

  it.each([
    ['the first page', undefined],
    ['a page after a cursor', 10_000],
  ])('reads %s from the group index, newest first, without sorting', async (_label, before) => {
    const plan = await planOf(before);
    if (db.dialect === 'postgres') {
      expect(plan).toContain('Index Scan Backward using events_tenant_id_group_id_seq_index');
      expect(plan).not.toMatch(/Sort|Seq Scan/);
      if (before !== undefined) expect(plan).toMatch(/Index Cond: .*seq < /); // the cursor bounds the range, not a filter
    } else {
      expect(plan).toMatch(/SEARCH events USING INDEX events_tenant_id_group_id_seq_index \(tenant_id=\? AND group_id=\?(?: AND seq<\?)?\)/);
      expect(plan).not.toContain('TEMP B-TREE');
    }
  });
});
