import { StatementNames } from '../../src/db/tx';
import { createTestDb } from '../helpers/db';

describe('statement names (PostgreSQL prepared statements)', () => {
  it('names a statement at its third use, and keeps the name', () => {
    const names = new StatementNames();
    expect(names.nameOf('select 1')).toBeUndefined();
    expect(names.nameOf('select 1')).toBeUndefined();
    const name = names.nameOf('select 1');
    expect(name).toMatch(/^roster_\d+$/);
    expect(names.nameOf('select 1')).toBe(name);
    expect(names.nameOf('select 2')).toBeUndefined();
  });

  it('names at most as many texts as its limit, whatever it is sent', () => {
    const names = new StatementNames(5, 1);
    for (let i = 0; i < 50; i++) names.nameOf(`select ${i}`);
    expect(names.size).toBe(5);
    expect(names.nameOf('select 0')).toBeDefined();
    expect(names.nameOf('select 49')).toBeUndefined();
  });

  it('gives a forgotten statement a new name', () => {
    const names = new StatementNames(5, 1);
    const first = names.nameOf('select *');
    names.forget('select *');
    const second = names.nameOf('select *');
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
  });
});

/**
 * On the engine of the run: statements used often enough to be prepared keep working after another
 * connection changes the table under them (on PostgreSQL a prepared `select *` then fails with
 * "cached plan must not change result type" until it is prepared again).
 */
describe('prepared statements and a schema change', () => {
  let db: Awaited<ReturnType<typeof createTestDb>>;
  beforeAll(async () => {
    db = await createTestDb();
    await db.knex.schema.createTable('scratch', (t) => {
      t.string('id').primary();
      t.string('a');
    });
    await db.knex('scratch').insert({ id: 'x', a: 'one' });
  });
  afterAll(() => db.drop());

  it('a read sees the new column at once, and a transaction at the latest on its second attempt', async () => {
    const readSql = 'select * from scratch where id = ?';
    const txSql = 'select * from scratch where id = ? and a is not null';
    for (let i = 0; i < 20; i++) {
      expect(await db.read(readSql, ['x'])).toEqual([{ id: 'x', a: 'one' }]);
      expect(await db.transaction((tx) => tx.query(txSql, ['x']))).toEqual([{ id: 'x', a: 'one' }]);
    }
    await db.knex.schema.alterTable('scratch', (t) => t.string('b').defaultTo('two'));
    for (let i = 0; i < 20; i++) expect(await db.read(readSql, ['x'])).toEqual([{ id: 'x', a: 'one', b: 'two' }]);
    const failures: string[] = [];
    const attempt = () =>
      db.transaction((tx) => tx.query(txSql, ['x'])).catch((err: Error) => {
        failures.push(err.message);
        return db.transaction((tx) => tx.query(txSql, ['x']));
      });
    for (let i = 0; i < 20; i++) expect(await attempt()).toEqual([{ id: 'x', a: 'one', b: 'two' }]);
    // The first transaction after the change may fail (it is aborted); the statement then gets a new name.
    expect(failures.length).toBeLessThanOrEqual(1);
    for (const message of failures) expect(message).toMatch(/cached plan must not change result type/);
  });
});
