import fs from 'node:fs';
import { openDb } from '../../src/db/knex';
import { roster, startServer, tempSqliteUrl, type RunningServer } from '../support/server';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/**
 * No token, password or secret anywhere it could leak: a started server at LOG_LEVEL=trace is sent
 * the secrets the way clients send them (bearer tokens good and bad, passwords in creates, replaces
 * and PATCHes, a webhook's secret, the metrics token), then its logs, the sync log (API and tables),
 * the outbox's events, the stored users, the metrics and every response after the one that showed a
 * secret once are searched for each of them.
 */
describe('secrets stay secret', () => {
  let env: Record<string, string>;
  let dir: string;
  let server: RunningServer;

  beforeAll(() => {
    const tmp = tempSqliteUrl('roster-secrets-');
    dir = tmp.dir;
    env = { DATABASE_URL: tmp.url, LOG_LEVEL: 'trace', METRICS_TOKEN: 'metrics-secret-7f3a9c' };
  });
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('never writes a token, a password or a secret to logs, the sync log, events, stored users, metrics or later responses', async () => {
    const scimToken = (await roster(['token', 'create', '--tenant', 'acme', '--scope', 'scim', '--name', 'okta'], env)).trim();
    const adminToken = (await roster(['token', 'create', '--tenant', 'acme', '--scope', 'admin'], env)).trim();
    server = await startServer(env);
    const passwords = ['Pa55w0rd!create-91c2', 'Pa55w0rd!put-4e7d', 'Pa55w0rd!patch-b81f', 'Pa55w0rd!path-0d3e'];
    const wrongToken = `rst_scim_${'Q'.repeat(43)}`;
    const responses: string[] = [];
    const call = async (method: string, path: string, body?: unknown, token = scimToken) => {
      const res = await fetch(`${server.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': path.startsWith('/admin') ? 'application/json' : 'application/scim+json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      responses.push(text);
      return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    };

    const created = await call('POST', '/scim/v2/Users', { schemas: [USER], userName: 'ada@example.com', password: passwords[0] });
    expect(created.status).toBe(201);
    expect(created.json.password).toBeUndefined();
    const id = created.json.id as string;
    expect((await call('PUT', `/scim/v2/Users/${id}`, { schemas: [USER], userName: 'ada@example.com', password: passwords[1] })).status).toBe(200);
    expect((await call('PATCH', `/scim/v2/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'replace', value: { password: passwords[2] } }] })).status).toBeLessThan(300);
    expect((await call('PATCH', `/scim/v2/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'password', value: passwords[3] }] })).status).toBeLessThan(300);
    expect((await call('GET', `/scim/v2/Users/${id}`)).json.password).toBeUndefined();
    expect((await call('GET', '/scim/v2/Users', undefined, wrongToken)).status).toBe(401);
    expect((await call('GET', '/admin/v1/content', undefined, scimToken)).status).toBe(401); // a SCIM token on the admin API
    const hook = await call('POST', '/admin/v1/webhooks', { url: 'http://127.0.0.1:9/hook', events: ['*'] }, adminToken);
    expect(hook.status).toBe(201);
    const webhookSecret = hook.json.secret as string;
    expect(webhookSecret.length).toBeGreaterThan(20);
    responses.pop(); // the one response that shows the secret, once
    const metrics = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${env.METRICS_TOKEN}` } });
    expect(metrics.status).toBe(200);
    const metricsText = await metrics.text();
    await call('GET', '/admin/v1/webhooks', undefined, adminToken);

    // The sync log's entries, in full, through the admin API, once they are written (batched).
    let entries: string[] = [];
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
      const list = (await call('GET', '/admin/v1/sync-log?limit=100', undefined, adminToken)).json as { items?: { id: string }[] };
      if ((list.items?.length ?? 0) >= 6) {
        entries = await Promise.all(list.items!.map(async (e) => JSON.stringify((await call('GET', `/admin/v1/sync-log/${e.id}`, undefined, adminToken)).json)));
        break;
      }
    }
    expect(entries.length).toBeGreaterThanOrEqual(6);
    expect(entries.join('\n')).toContain('ada@example.com'); // the bodies are there, only the secrets are not

    const db = openDb(env.DATABASE_URL!, { poolMax: 1 });
    let tables: string;
    try {
      const dump = await Promise.all(['sync_log', 'sync_changes', 'events', 'users', 'user_emails', 'tokens'].map((table) => db.knex(table).select()));
      tables = JSON.stringify(dump);
    } finally {
      await db.close();
    }
    await server.stop();
    const logs = server.output();
    expect(logs.length).toBeGreaterThan(1000); // trace level: every request was logged

    const secrets = { scimToken, adminToken, wrongToken, webhookSecret, metricsToken: env.METRICS_TOKEN!, ...Object.fromEntries(passwords.map((p, i) => [`password${i}`, p])) };
    const places = { logs, syncLog: entries.join('\n'), tables, metrics: metricsText, responses: responses.join('\n') };
    const leaks = Object.entries(places).flatMap(([place, text]) => Object.entries(secrets).filter(([, secret]) => text.includes(secret)).map(([name]) => `${name} in ${place}`));
    expect(leaks).toEqual([]);
  });
});
