import fs from 'node:fs';
import { openDb } from '../../src/db/knex';
import { roster, startServer, tempSqliteUrl } from '../support/server';

/** The compiled CLI as a user runs it (npm test builds first). */
describe('roster CLI', () => {
  let env: { DATABASE_URL: string };
  let dir: string;

  beforeEach(() => {
    const tmp = tempSqliteUrl('roster-cli-');
    dir = tmp.dir;
    env = { DATABASE_URL: tmp.url };
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('creates a token, printing it alone, and the token works against a started server', async () => {
    const out = await roster(['token', 'create', '--tenant', 'acme', '--scope', 'scim', '--name', 'okta-prod'], env);
    expect(out).toMatch(/^rst_scim_[A-Za-z0-9_-]{43}\n$/);
    const server = await startServer(env);
    try {
      const ok = await fetch(`${server.url}/scim/v2/Users`, { headers: { authorization: `Bearer ${out.trim()}` } });
      expect(ok.status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  it('lists tokens without their secrets, and revokes one with immediate effect', async () => {
    const token = (await roster(['token', 'create', '--tenant', 'acme', '--scope', 'admin'], env)).trim();
    const list = await roster(['token', 'list', '--json'], env);
    expect(list).not.toContain(token);
    const [info] = list.trim().split('\n').map((l) => JSON.parse(l) as { id: string; tenant: string; scope: string; revokedAt: string | null });
    expect(info).toMatchObject({ tenant: 'acme', scope: 'admin', revokedAt: null });
    const scimToken = (await roster(['token', 'create', '--tenant', 'acme', '--scope', 'scim'], env)).trim();
    const server = await startServer(env);
    try {
      const auth = { authorization: `Bearer ${scimToken}` };
      expect((await fetch(`${server.url}/scim/v2/Users`, { headers: auth })).status).toBe(200);
      const scimInfo = (await roster(['token', 'list', '--json'], env))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { id: string; scope: string })
        .find((t) => t.scope === 'scim')!;
      expect(await roster(['token', 'revoke', scimInfo.id], env)).toContain(`Revoked ${scimInfo.id}`);
      expect((await fetch(`${server.url}/scim/v2/Users`, { headers: auth })).status).toBe(401);
    } finally {
      await server.stop();
    }
  });

  it('creates tokens that expire, refuses them from then on (a cached one too), and says so in the list', async () => {
    const token = (await roster(['token', 'create', '--tenant', 'acme', '--scope', 'scim', '--name', 'short', '--expires-in', '30m'], env)).trim();
    const [info] = (await roster(['token', 'list', '--json'], env))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; expiresAt: string | null });
    expect(Date.parse(info!.expiresAt!) - Date.now()).toBeGreaterThan(29 * 60_000);
    expect(Date.parse(info!.expiresAt!) - Date.now()).toBeLessThanOrEqual(30 * 60_000);
    // Bring the expiry to a second and a half from now, as if the half hour had nearly passed.
    const db = openDb(env.DATABASE_URL, { poolMax: 1 });
    await db.knex('tokens').where({ id: info!.id }).update({ expires_at: new Date(Date.now() + 1500).toISOString() });
    await db.close();
    const server = await startServer(env);
    try {
      const get = async () => (await fetch(`${server.url}/scim/v2/Users`, { headers: { authorization: `Bearer ${token}` } })).status;
      expect(await get()).toBe(200);
      expect(await get()).toBe(200); // the row may come from the cache now: expiry is checked at every use
      await new Promise((r) => setTimeout(r, 1600));
      expect(await get()).toBe(401);
    } finally {
      await server.stop(); // writes the sync log's last entries
    }
    expect(await roster(['token', 'list'], env)).toMatch(/short\s.*\sexpired$/m);
    const refused = (await roster(['log', '--json'], env))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { status: number; error: string | null })
      .filter((e) => e.status === 401);
    expect(refused).toEqual([expect.objectContaining({ error: expect.stringMatching(/^token "short" expired at 20\d\d-/) })]);
  });

  it('refuses an expiry that is not a duration or a future time, naming what is wrong', async () => {
    const create = (...extra: string[]) => roster(['token', 'create', '--tenant', 'acme', '--scope', 'scim', ...extra], env);
    await expect(create('--expires-in', '0d')).rejects.toThrow(/--expires-in must be a whole number of minutes, hours or days/);
    await expect(create('--expires-in', '5x')).rejects.toThrow(/--expires-in must be/);
    await expect(create('--expires-in', '-1d')).rejects.toThrow(/--expires-in must be/);
    await expect(create('--expires-at', '2020-01-01')).rejects.toThrow(/--expires-at must be in the future/);
    await expect(create('--expires-at', 'next tuesday')).rejects.toThrow(/--expires-at must be an ISO 8601 date or time/);
    await expect(create('--expires-in', '1d', '--expires-at', '2030-01-01')).rejects.toThrow(/not both/);
    await expect(create('--expires-in', '4000d')).rejects.toThrow(/at most ten years/);
    expect((await roster(['token', 'list', '--json'], env)).trim()).toBe('');
  });

  it('refuses a token with an admin scope on SCIM, and a scim token is refused for nothing else', async () => {
    const admin = (await roster(['token', 'create', '--tenant', 'acme', '--scope', 'admin'], env)).trim();
    const server = await startServer(env);
    try {
      expect((await fetch(`${server.url}/scim/v2/Users`, { headers: { authorization: `Bearer ${admin}` } })).status).toBe(401);
    } finally {
      await server.stop();
    }
  });

  it('reconciles every tenant, or one, and says when it was a dry run', async () => {
    await roster(['token', 'create', '--tenant', 'acme', '--scope', 'scim'], env);
    await roster(['token', 'create', '--tenant', 'globex', '--scope', 'scim'], env);
    const all = await roster(['reconcile', '--dry-run'], env);
    expect(all).toMatch(/^TENANT\s+ENROLLMENTS CREATED/);
    expect(all).toMatch(/^acme\s+0\s+0\s+0\s+0\s+0\s+0$/m);
    expect(all).toMatch(/^globex\s/m);
    expect(all).toContain('dry run');
    const one = await roster(['reconcile', '--tenant', 'globex'], env);
    expect(one).not.toMatch(/^acme/m);
    await expect(roster(['reconcile', '--tenant', 'nobody'], env)).rejects.toThrow(/No tenant named "nobody"/);
  });

  it('fails with usage help on a bad command, and names the problem', async () => {
    await expect(roster(['token', 'create', '--tenant', 'acme', '--scope', 'root'], env)).rejects.toThrow(/--scope scim or --scope admin/);
    await expect(roster(['frobnicate'], env)).rejects.toThrow(/Unknown command "frobnicate"/);
    await expect(roster(['serve'], { ...env, PORT: 'eighty' })).rejects.toThrow(/PORT must be an integer/);
  });

  it('creates the default tenant and prints two tokens on the very first start only', async () => {
    const first = await startServer(env);
    await first.stop();
    const output = first.output();
    const scim = /SCIM token .*?(rst_scim_\S+)/.exec(output)?.[1];
    expect(scim).toBeDefined();
    expect(output).toMatch(/Admin token .*?rst_admin_\S+/);
    expect(output).toContain('npx roster token create');
    const second = await startServer(env);
    try {
      expect(second.output()).not.toContain('rst_');
      const res = await fetch(`${second.url}/scim/v2/Users`, { headers: { authorization: `Bearer ${scim}` } });
      expect(res.status).toBe(200);
    } finally {
      await second.stop();
    }
  });
});
