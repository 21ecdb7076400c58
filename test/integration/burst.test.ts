import fs from 'node:fs';
import { openDb } from '../../src/db/knex';
import { roster, startServer, tempSqliteUrl, type RunningServer } from '../support/server';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

/**
 * A burst of 200 concurrent pushes at a started server on SQLite (one writer), with a per-token rate
 * limit: each push is applied whole and answered 2xx, or answered 429 (or 503) with a whole-seconds
 * Retry-After and a SCIM error body and applied not at all. Nothing is lost, nothing half-applied.
 */
describe('a burst of 200 concurrent pushes on SQLite', () => {
  let env: Record<string, string>;
  let dir: string;
  let server: RunningServer;
  let scimToken: string;
  let adminToken: string;

  beforeAll(async () => {
    const tmp = tempSqliteUrl('roster-burst-');
    dir = tmp.dir;
    env = { DATABASE_URL: tmp.url, SCIM_RATE_LIMIT_PER_SECOND: '40', SCIM_RATE_LIMIT_BURST: '120' };
    scimToken = (await roster(['token', 'create', '--tenant', 'acme', '--scope', 'scim'], env)).trim();
    adminToken = (await roster(['token', 'create', '--tenant', 'acme', '--scope', 'admin'], env)).trim();
    server = await startServer(env);
  });
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const send = async (method: string, path: string, body: unknown, token = scimToken) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': path.startsWith('/admin') ? 'application/json' : 'application/scim+json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, retryAfter: res.headers.get('retry-after'), json: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
  };

  it('applies each push whole or answers 429/503 and applies nothing', async () => {
    const group = (await send('POST', '/scim/v2/Groups', { schemas: [GROUP], displayName: 'Burst' })).json.id as string;
    const course = (await send('POST', '/admin/v1/content', { kind: 'course', title: 'Burst course' }, adminToken)).json.id as string;
    expect((await send('POST', `/admin/v1/groups/${group}/assignments`, { contentId: course }, adminToken)).status).toBe(201);
    await new Promise((r) => setTimeout(r, 3500)); // the bucket refills after the setup's requests

    // 200 at once: each creates a user with two emails and, in the same push, nothing else; then the
    // ones that were created are added to the group three at a time, again all at once.
    const creates = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        send('POST', '/scim/v2/Users', {
          schemas: [USER],
          userName: `burst${i}@example.com`,
          emails: [
            { value: `burst${i}@example.com`, type: 'work', primary: true },
            { value: `burst${i}@home.example`, type: 'home' },
          ],
        }).then((r) => ({ i, ...r })),
      ),
    );
    const refusedOk = (r: { status: number; retryAfter: string | null; json: Record<string, unknown> }) =>
      (r.status === 429 || r.status === 503) && /^[1-9][0-9]*$/.test(r.retryAfter ?? '') && (r.json.schemas as string[] | undefined)?.includes(ERROR) === true;
    for (const r of creates) expect(r.status === 201 || refusedOk(r)).toBe(true);
    const created = creates.filter((r) => r.status === 201);
    expect(created.length).toBeGreaterThan(0);
    expect(created.length).toBeLessThan(200); // the limit did refuse some: both paths were taken

    const createdIds = created.map((r) => r.json.id as string);
    const triples = Array.from({ length: Math.ceil(createdIds.length / 3) }, (_, k) => createdIds.slice(k * 3, k * 3 + 3));
    await new Promise((r) => setTimeout(r, 3500));
    const adds = await Promise.all(
      triples.map((ids) => send('PATCH', `/scim/v2/Groups/${group}`, { schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: ids.map((value) => ({ value })) }] }).then((r) => ({ ids, ...r }))),
    );
    for (const r of adds) expect(r.status === 204 || r.status === 200 || refusedOk(r)).toBe(true);

    const db = openDb(env.DATABASE_URL!, { poolMax: 1 });
    try {
      const users = (await db.knex('users').where('user_name', 'like', 'burst%').select('id', 'user_name')) as { id: string; user_name: string }[];
      // Exactly the answered creates, each with both of its emails.
      expect(users.map((u) => u.user_name).sort()).toEqual(created.map((r) => `burst${r.i}@example.com`).sort());
      const emails = (await db.knex('user_emails').whereIn('user_id', users.map((u) => u.id)).select('user_id')) as { user_id: string }[];
      expect(emails).toHaveLength(users.length * 2);
      // Exactly the answered adds' members, three by three, each enrolled.
      const members = ((await db.knex('memberships').where({ group_id: group }).pluck('user_id')) as string[]).sort();
      const applied = adds.filter((r) => r.status < 300).flatMap((r) => r.ids);
      expect(members).toEqual([...applied].sort());
      const enrolled = ((await db.knex('enrollments').where({ content_id: course }).pluck('user_id')) as string[]).sort();
      expect(enrolled).toEqual([...applied].sort());
    } finally {
      await db.close();
    }
    const reconcile = await send('POST', '/admin/v1/reconcile', { dryRun: true }, adminToken);
    expect(reconcile.json).toMatchObject({ dryRun: true, enrollmentsCreated: 0, grantsOpened: 0, grantsEnded: 0, enrollmentsSuspended: 0 });
  });
});
