import { constraintOf } from '../../src/db/errors';
import { createTestDb } from '../helpers/db';

/**
 * Db.transaction on the engine of the run (SQLite, or PostgreSQL with DATABASE_URL): commit,
 * rollback, dry run, after-commit callbacks, rows inserted just before COMMIT (insertLater) and
 * statements sent together (pipeline), which on PostgreSQL share a round trip: BEGIN with the first
 * statement, the deferred writes with COMMIT.
 */
describe('write transactions', () => {
  let db: Awaited<ReturnType<typeof createTestDb>>;
  beforeAll(async () => {
    db = await createTestDb();
    await db.knex('tenants').insert({ id: 't1', name: 'acme', created_at: new Date().toISOString() });
  });
  afterAll(() => db.drop());

  const event = (id: string, type = 'membership.added') => ({ id, tenant_id: 't1', type, payload: '{}', cause: 'test', created_at: new Date().toISOString() });
  const change = (requestId: string, kind: string) => ({ tenant_id: 't1', request_id: requestId, kind, group_id: null, user_id: null, count: 1, ids: '[]', at: new Date().toISOString() });
  const eventIds = async (prefix: string) => ((await db.knex('events').where('id', 'like', `${prefix}%`).orderBy('seq').pluck('id')) as string[]);

  it('writes deferred rows of several tables at commit, each table in the order given', async () => {
    let seenInside = -1;
    await db.transaction(async (tx) => {
      for (let i = 0; i < 5; i++) tx.insertLater('events', [event(`a-${i}`)]);
      tx.insertLater('sync_changes', [change('req-a', 'membership.added'), change('req-a', 'enrollment.created')]);
      tx.insertLater('events', [event('a-5'), event('a-6')]);
      seenInside = (await tx.query<{ id: string }>(`select id from events where id like 'a-%'`)).length;
    });
    expect(seenInside).toBe(0); // not written until the transaction ends
    expect(await eventIds('a-')).toEqual(['a-0', 'a-1', 'a-2', 'a-3', 'a-4', 'a-5', 'a-6']);
    expect(await db.knex('sync_changes').where({ request_id: 'req-a' }).orderBy('seq').pluck('kind')).toEqual(['membership.added', 'enrollment.created']);
  });

  it('keeps the order of a table whose deferred rows need several statements', async () => {
    const many = Array.from({ length: 250 }, (_, i) => event(`b-${String(i).padStart(3, '0')}`));
    await db.transaction((tx) => {
      tx.insertLater('events', many, 100); // three statements of events, and one of changes
      tx.insertLater('sync_changes', [change('req-b', 'membership.added')]);
    });
    expect(await eventIds('b-')).toEqual(many.map((e) => e.id));
  });

  it('writes no deferred row when the work fails, or in a dry run, and calls after-commit only on commit', async () => {
    const committed: string[] = [];
    await expect(
      db.transaction((tx) => {
        tx.insertLater('events', [event('c-1')]);
        tx.afterCommit(() => committed.push('failed'));
        throw new Error('no');
      }),
    ).rejects.toThrow('no');
    const result = await db.transaction(
      (tx) => {
        tx.insertLater('events', [event('c-2')]);
        tx.afterCommit(() => committed.push('dry'));
        return 42;
      },
      { dryRun: true },
    );
    expect(result).toBe(42);
    await db.transaction((tx) => {
      tx.insertLater('events', [event('c-3')]);
      tx.afterCommit(() => committed.push('committed'));
    });
    expect(await eventIds('c-')).toEqual(['c-3']);
    expect(committed).toEqual(['committed']);
  });

  it('runs a batch of independent writes together, and none of them when one is refused', async () => {
    await db.transaction((tx) =>
      tx.batch([
        { sql: `insert into events (id, tenant_id, type, payload, cause, created_at) values ('e-1', 't1', 'x', '{}', 'test', 'now')`, bindings: [] },
        { sql: 'update tenants set name = ? where id = ?', bindings: ['acme corp', 't1'] },
        { sql: `insert into events (id, tenant_id, type, payload, cause, created_at) values (?, 't1', 'x', '{}', 'test', 'now')`, bindings: ['e-2'] },
      ]),
    );
    expect((await eventIds('e-')).sort()).toEqual(['e-1', 'e-2']); // in either order: PostgreSQL picks one
    expect(await db.knex('tenants').where({ id: 't1' }).first('name')).toEqual({ name: 'acme corp' });
    const refused = await db
      .transaction((tx) =>
        tx.batch([
          { sql: 'update tenants set name = ? where id = ?', bindings: ['renamed', 't1'] },
          { sql: `insert into events (id, tenant_id, type, payload, cause, created_at) values ('e-1', 't1', 'x', '{}', 'test', 'now')`, bindings: [] },
        ]),
      )
      .then(() => 'committed', (err: unknown) => err);
    expect(constraintOf(refused)).toMatchObject({ kind: 'unique' });
    expect(await db.knex('tenants').where({ id: 't1' }).first('name')).toEqual({ name: 'acme corp' });
  });

  it('runs a batch with a read beside it, giving the read rows, and none of it when a write is refused', async () => {
    const insert = (id: string): { sql: string; bindings: unknown[] } => ({ sql: `insert into events (id, tenant_id, type, payload, cause, created_at) values (?, 't1', 'x', '{}', 'test', 'now')`, bindings: [id] });
    const read = { sql: 'select name from tenants where id = ?', bindings: ['t1'] };
    const rows = await db.transaction((tx) => tx.batchAndRead<{ name: string }>([insert('br-1'), insert('br-2')], read));
    expect(rows).toEqual([{ name: 'acme corp' }]);
    expect((await eventIds('br-')).sort()).toEqual(['br-1', 'br-2']);
    const refused = await db.transaction((tx) => tx.batchAndRead([insert('br-3'), insert('br-1')], read)).then(() => 'committed', (err: unknown) => err);
    expect(constraintOf(refused)).toMatchObject({ kind: 'unique' });
    expect((await eventIds('br-')).sort()).toEqual(['br-1', 'br-2']);
  });

  it('rolls back the whole transaction when a deferred row is refused', async () => {
    const refused = await db
      .transaction(async (tx) => {
        await tx.execute(`insert into events (id, tenant_id, type, payload, cause, created_at) values ('d-1', 't1', 'x', '{}', 'test', ?)`, [new Date().toISOString()]);
        tx.insertLater('events', [event('d-1')]); // the same id again: a unique violation at commit
      })
      .then(() => 'committed', (err: unknown) => err);
    // (the driver's errors come from another realm under jest, so no instanceof Error here)
    expect(constraintOf(refused)).toMatchObject({ kind: 'unique' });
    expect(await eventIds('d-')).toEqual([]);
  });
  it('runs executeLater writes just before commit, with the deferred rows, and never after a failure', async () => {
    await db.knex('tenants').insert({ id: 'later-t', name: 'before', created_at: new Date().toISOString() });
    const nameOf = async () => ((await db.knex('tenants').where({ id: 'later-t' }).first()) as { name: string }).name;
    let seenInside = '';
    await db.transaction(async (tx) => {
      tx.executeLater({ sql: 'update tenants set name = ? where id = ?', bindings: ['after', 'later-t'] });
      tx.insertLater('events', [event('l-1')]);
      seenInside = (await tx.query<{ name: string }>('select name from tenants where id = ?', ['later-t']))[0]!.name;
    });
    expect(seenInside).toBe('before');
    expect(await nameOf()).toBe('after');
    expect(await eventIds('l-')).toEqual(['l-1']);
    await expect(
      db.transaction((tx) => {
        tx.executeLater({ sql: 'update tenants set name = ? where id = ?', bindings: ['failed', 'later-t'] });
        throw new Error('work failed');
      }),
    ).rejects.toThrow('work failed');
    await db.transaction((tx) => tx.executeLater({ sql: 'update tenants set name = ? where id = ?', bindings: ['dry', 'later-t'] }), { dryRun: true });
    expect(await nameOf()).toBe('after');
  });

  it('gives an executeLater write its rows once it has run, in a dry run too', async () => {
    await db.knex('tenants').insert({ id: 'ret-t', name: 'v0', created_at: new Date().toISOString() });
    const seen: unknown[] = [];
    for (const dryRun of [false, true]) {
      await db.transaction((tx) => tx.executeLater<{ name: string }>({ sql: `update tenants set name = name || '+' where id = ? returning name`, bindings: ['ret-t'] }, (rows) => seen.push(rows)), { dryRun });
    }
    expect(seen).toEqual([[{ name: 'v0+' }], [{ name: 'v0++' }]]);
    expect(await db.knex('tenants').where({ id: 'ret-t' }).first('name')).toEqual({ name: 'v0+' });
  });

  const insertEvent = (id: string) => ({ sql: `insert into events (id, tenant_id, type, payload, cause, created_at) values (?, 't1', 'x', '{}', 'test', 'now') returning id`, bindings: [id] });

  it('runs a pipeline in order, each statement seeing the ones before, and gives each its rows', async () => {
    const rows = await db.transaction((tx) =>
      tx.pipeline<{ id: string }>([insertEvent('p-1'), { sql: `select id from events where id like 'p-%' order by id`, bindings: [] }, insertEvent('p-2'), { sql: 'select id from events where id = ?', bindings: ['p-2'] }]),
    );
    expect(rows).toEqual([[{ id: 'p-1' }], [{ id: 'p-1' }], [{ id: 'p-2' }], [{ id: 'p-2' }]]);
    expect(await eventIds('p-')).toEqual(['p-1', 'p-2']);
  });

  it('fails a pipeline with its first failure and rolls the transaction back, the first statement of the transaction included', async () => {
    const failures: unknown[] = [];
    // A duplicate first (PostgreSQL sends it with BEGIN), in the middle, and in a deferred write.
    const attempts: ((tx: Parameters<Parameters<typeof db.transaction>[0]>[0]) => Promise<unknown>)[] = [
      (tx) => tx.pipeline([insertEvent('p-1'), insertEvent('q-1')]),
      (tx) => tx.pipeline([insertEvent('q-2'), insertEvent('p-1'), insertEvent('q-3')]),
      async (tx) => {
        await tx.pipeline([insertEvent('q-4')]);
        tx.insertLater('events', [event('p-2')]);
      },
    ];
    for (const attempt of attempts) failures.push(await db.transaction(attempt).then(() => 'committed', (err: unknown) => err));
    expect(failures.map((f) => constraintOf(f)?.kind)).toEqual(['unique', 'unique', 'unique']);
    expect(await eventIds('q-')).toEqual([]);
    // Every connection of the pool is usable after: none is left in an aborted transaction.
    const again = await Promise.all(Array.from({ length: 12 }, (_, i) => db.transaction((tx) => tx.pipeline<{ id: string }>([insertEvent(`r-${i}`), { sql: 'select count(*) as n from events where id = ?', bindings: [`r-${i}`] }]))));
    expect(again.map(([inserted, counted]) => [inserted![0]!.id, Number((counted![0] as unknown as { n: number | string }).n)])).toEqual(Array.from({ length: 12 }, (_, i) => [`r-${i}`, 1]));
  });

  it('keeps the answers of concurrent transactions apart', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `s-${String(i).padStart(2, '0')}`);
    const answers = await Promise.all(
      ids.map((id) =>
        db.transaction(async (tx) => {
          const [inserted] = await tx.pipeline<{ id: string }>([insertEvent(id)]);
          const [read] = await tx.pipeline<{ id: string }>([{ sql: 'select id from events where id = ?', bindings: [id] }]);
          return [inserted![0]!.id, read![0]!.id];
        }),
      ),
    );
    expect(answers).toEqual(ids.map((id) => [id, id]));
    expect((await eventIds('s-')).sort()).toEqual(ids); // in the order they committed
  });

  it('sends nothing for a transaction with nothing to do, and the next one works', async () => {
    expect(await db.transaction(() => 'nothing')).toBe('nothing');
    expect(await db.transaction((tx) => tx.query<{ n: number }>('select 1 as n'))).toEqual([{ n: 1 }]);
  });
});
