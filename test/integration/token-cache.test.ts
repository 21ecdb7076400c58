import { openDb, type Db } from '../../src/db/knex';
import { freshDatabase, roster, startServer, type RunningServer } from '../support/server';

const pg = /^postgres(ql)?:\/\//.test(process.env.DATABASE_URL ?? '');

/**
 * A started server caches token lookups (on PostgreSQL: until the credentials trigger's notification
 * arrives on its listening connection; on SQLite: until any commit). Revocation by another process, by
 * the CLI or by hand in SQL, is refused on the next request, and so is one made while the server's
 * listening connection was cut.
 */
describe(`token lookups cached by a started server (${pg ? 'PostgreSQL' : 'SQLite'})`, () => {
  let env: Record<string, string>;
  let server: RunningServer;
  let db: Db;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const fresh = await freshDatabase('tokens');
    cleanup = fresh.drop;
    env = { DATABASE_URL: fresh.url };
    await roster(['migrate'], env);
    server = await startServer(env);
    db = openDb(env.DATABASE_URL!, { poolMax: 1 });
  });
  afterAll(async () => {
    await server?.stop();
    await db?.close();
    await cleanup();
  });

  const newToken = async (name: string) => (await roster(['token', 'create', '--tenant', 'acme', '--scope', 'scim', '--name', name], env)).trim();
  const status = async (token: string) => (await fetch(`${server.url}/scim/v2/Users?count=1`, { headers: { authorization: `Bearer ${token}` } })).status;
  /** Several requests, so the token is cached (and, on PostgreSQL, the listening connection is up). */
  const warm = async (token: string) => {
    for (let i = 0; i < 20; i++) {
      expect(await status(token)).toBe(200);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  /** The server's listening connection, as notify.ts names it in pg_stat_activity. */
  const listenerName = () => `roster listen roster_credentials ${server.process.pid}`;
  const listener = () => db.knex.raw(`select pid from pg_stat_activity where application_name = ?`, [listenerName()]).then((r: { rows: unknown[] }) => r.rows.length);

  it('refuses a token revoked with the CLI on the next request', async () => {
    const token = await newToken('cli-revoked');
    await warm(token);
    if (pg) expect(await listener()).toBe(1);
    const [info] = (await roster(['token', 'list', '--json'], env))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; name: string })
      .filter((t) => t.name === 'cli-revoked');
    await roster(['token', 'revoke', info!.id], env);
    expect(await status(token)).toBe(401);
  });

  it('refuses a token revoked by hand in SQL on the next request', async () => {
    const token = await newToken('sql-revoked');
    await warm(token);
    await db.knex('tokens').where({ name: 'sql-revoked' }).update({ revoked_at: new Date().toISOString() });
    expect(await status(token)).toBe(401);
  });

  it('refuses a token revoked while its listening connection was cut, and listens again', async () => {
    const token = await newToken('cut-revoked');
    await warm(token);
    if (pg) {
      const cut = await db.knex.raw(`select pg_terminate_backend(pid) as done from pg_stat_activity where application_name = ?`, [listenerName()]);
      expect((cut as { rows: { done: boolean }[] }).rows).toEqual([{ done: true }]);
    }
    await db.knex('tokens').where({ name: 'cut-revoked' }).update({ revoked_at: new Date().toISOString() });
    expect(await status(token)).toBe(401);
    const fresh = await newToken('after-cut');
    await warm(fresh);
    if (pg) {
      // It connects again at a request a second after the cut at the earliest.
      const deadline = Date.now() + 5000;
      while ((await listener()) === 0 && Date.now() < deadline) expect(await status(fresh)).toBe(200);
      expect(await listener()).toBe(1);
    }
  });

});
