import fs from 'node:fs';
import { migrateLatest, openDb, type Db } from '../../src/db/knex';
import { tempSqliteUrl } from '../support/server';

/**
 * SQLite's WAL checkpoints run on the checkpointer's worker thread, not inside a request's COMMIT;
 * its connections' page caches are SQLite's default size. This is about the embedded engine, so it
 * runs on a SQLite file whatever DATABASE_URL says.
 */
describe('SQLite checkpoints on a worker thread', () => {
  let db: Db;
  let dir: string;
  let file: string;

  beforeAll(async () => {
    const temp = tempSqliteUrl('roster-checkpoint-');
    dir = temp.dir;
    file = temp.url.slice('sqlite:'.length);
    db = openDb(temp.url);
    await migrateLatest(db);
  });
  afterAll(async () => {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const size = (path: string) => (fs.existsSync(path) ? fs.statSync(path).size : 0);
  const writeMany = async (n: number, from: number) => {
    for (let i = from; i < from + n; i++) {
      await db.transaction((tx) => tx.execute('insert into tenants (id, name, created_at) values (?, ?, ?)', [`t${i}`, `tenant ${i} ${'x'.repeat(1500)}`, new Date().toISOString()]));
    }
  };

  it('keeps the writer’s own checkpoint as a backstop at 10,000 pages', async () => {
    expect(await db.knex.raw('pragma wal_autocheckpoint')).toEqual([{ wal_autocheckpoint: 10000 }]);
  });

  it('gives the writer and the reader SQLite’s 2 MB page cache, not better-sqlite3’s 16 MB', async () => {
    expect(await db.knex.raw('pragma cache_size')).toEqual([{ cache_size: -2000 }]);
    expect(await db.read('pragma cache_size', [])).toEqual([{ cache_size: -2000 }]);
  });

  it('copies committed pages into the database file from the worker, long before the writer would', async () => {
    const before = size(file);
    await writeMany(1500, 0); // about 2,000 WAL frames: past SQLite's default of 1,000, short of the backstop
    const stats = await db.checkpoints!()!.next();
    expect(stats.checkpoints).toBeGreaterThanOrEqual(1);
    // The rows reached the database file itself (1,500 rows of 1.5 KB), not only the WAL.
    expect(size(file) - before).toBeGreaterThan(1500 * 1500);
    const [{ n }] = (await db.read<{ n: number }>('select count(*) as n from tenants', [])) as [{ n: number }];
    expect(n).toBe(1500);
  });

  it('keeps the WAL bounded under a sustained write load', async () => {
    let largest = 0;
    for (let round = 0; round < 10; round++) {
      await writeMany(1500, 10_000 + round * 1500);
      largest = Math.max(largest, size(`${file}-wal`));
    }
    // 15,000 transactions of a page and a half each (about 90 MB of WAL frames): the WAL starts over
    // near the backstop's 10,000 pages (a checkpoint the worker is running can delay it a little)
    // instead of holding them all.
    expect(largest).toBeLessThan(16_000 * 4120);
  });
});
