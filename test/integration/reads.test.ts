import request from 'supertest';
import { createTestDb } from '../helpers/db';
import { createTestApp, USER, type TestApp } from '../helpers/app';

/**
 * Reads go through Db.read: on SQLite a reader connection of its own beside knex's one writer, on
 * PostgreSQL the pool. Either way a read sees what is committed and does not wait for a writer.
 */
describe('reads beside a running write transaction', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({}, { acquireTimeoutMs: 2000 });
  });
  afterAll(async () => t.close());

  it('answers GET, a filter and a page at once with the committed state while a transaction holds the writer', async () => {
    const scim = await t.scim();
    const created = await scim.post('/Users', { schemas: [USER], userName: 'reader@example.com', displayName: 'Committed' }).expect(201);
    const id = created.body.id as string;
    await t.db.knex.transaction(async (tx) => {
      await tx('users').where({ id }).update({ display_name: 'Uncommitted', user_name: 'changed@example.com', user_name_lc: 'changed@example.com' });
      const started = Date.now();
      const byId = await scim.get(`/Users/${id}`).expect(200);
      expect(byId.body.displayName).toBe('Committed');
      const byName = await scim.get(`/Users?filter=${encodeURIComponent('userName eq "reader@example.com"')}`).expect(200);
      expect(byName.body.totalResults).toBe(1);
      const uncommitted = await scim.get(`/Users?filter=${encodeURIComponent('userName eq "changed@example.com"')}`).expect(200);
      expect(uncommitted.body.totalResults).toBe(0);
      // Under the acquire timeout (2 s): these reads did not wait for the writer's connection.
      expect(Date.now() - started).toBeLessThan(2000);
    });
    const after = await scim.get(`/Users/${id}`).expect(200);
    expect(after.body.displayName).toBe('Committed'); // the raw update left `data` alone: the columns changed
    expect(after.body.userName).toBe('changed@example.com');
  });

  it('refuses a revoked token on the very next request, and a new token of the tenant at once', async () => {
    const token = (await t.tenancy.createToken('acme', 'scim', 'short-lived')).token;
    const get = (bearer: string) => request(t.app).get('/scim/v2/Users').set('authorization', `Bearer ${bearer}`);
    expect((await get(token)).status).toBe(200);
    expect((await get(token)).status).toBe(200); // now from the token cache
    const info = (await t.tenancy.listTokens('acme')).find((i) => i.name === 'short-lived')!;
    await t.tenancy.revokeToken(info.id);
    expect((await get(token)).status).toBe(401);
    const fresh = (await t.tenancy.createToken('acme', 'scim', 'fresh')).token;
    expect((await get(fresh)).status).toBe(200);
  });
});

describe('reads and commits in one turn of the event loop', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => t.close());

  const tenantNamed = async (name: string) => (await t.db.read<{ name: string }>('select name from tenants where name = ?', [name])).length;

  it('sees a commit at once, even where an earlier read of the same turn began its snapshot', async () => {
    let turnEnded = false;
    setImmediate(() => (turnEnded = true));
    expect(await tenantNamed('same-turn')).toBe(0); // on SQLite: the turn's snapshot begins here
    await t.db.transaction((tx) => tx.execute('insert into tenants (id, name, created_at) values (?, ?, ?)', ['same-turn-id', 'same-turn', new Date().toISOString()]));
    expect(await tenantNamed('same-turn')).toBe(1);
    // On SQLite all of it ran in one turn, so the commit ended the snapshot, not the turn. PostgreSQL
    // has no such snapshot: its reads are round trips, each turns of their own.
    expect(turnEnded).toBe(t.db.dialect === 'postgres');
  });

  it('sees a commit made through knex (the webhook dispatcher, token revocation) at once too', async () => {
    expect(await tenantNamed('by-knex')).toBe(0);
    await t.db.knex('tenants').insert({ id: 'by-knex-id', name: 'by-knex', created_at: new Date().toISOString() });
    expect(await tenantNamed('by-knex')).toBe(1);
  });
});

describe('reads issued together', () => {
  let db: Awaited<ReturnType<typeof createTestDb>>;
  beforeAll(async () => {
    db = await createTestDb({ acquireTimeoutMs: 2000 });
  });
  afterAll(() => db.drop());

  it('gives each read of one turn its own answer, fails a bad one alone, and gives the connections back', async () => {
    const sql = db.dialect === 'postgres' ? 'select cast(? as integer) * 2 as n' : 'select ? * 2 as n';
    // On PostgreSQL the reads of one turn share a connection, in one write (knex.ts turnReader).
    for (let round = 0; round < 30; round++) {
      const reads = Array.from({ length: 40 }, (_, i) => (i === 17 ? db.read('select no_such_column from tenants', []) : db.read<{ n: number | string }>(sql, [i])));
      const settled = await Promise.allSettled(reads);
      expect(settled.map((r, i) => (i === 17 ? r.status : r.status === 'fulfilled' ? Number((r.value[0] as { n: number | string }).n) : r.reason))).toEqual(
        Array.from({ length: 40 }, (_, i) => (i === 17 ? 'rejected' : i * 2)),
      );
    }
    // 1,200 reads later every pooled connection is free again: a transaction that needs one gets it.
    await db.transaction((tx) => tx.execute('insert into tenants (id, name, created_at) values (?, ?, ?)', ['after-reads', 'after-reads', new Date().toISOString()]));
    expect(await db.read('select id from tenants where id = ?', ['after-reads'])).toEqual([{ id: 'after-reads' }]);
  });
});
