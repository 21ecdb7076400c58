import { openDb } from '../../src/db/knex';
import { freshDatabase, roster, startServer, type RunningServer } from '../support/server';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const pg = /^postgres(ql)?:\/\//.test(process.env.DATABASE_URL ?? '');
const USERS = 6000;

/**
 * A server killed with SIGKILL in the middle of a large group replace and of a course assignment to a
 * large group (on a PostgreSQL database of its own, or a SQLite file): after a restart each change is
 * there whole or not at all, a reconcile dry run finds nothing to repair, and the client's retry of the
 * same request ends in the right state.
 */
describe(`a server killed mid-change (${pg ? 'PostgreSQL' : 'SQLite'})`, () => {
  let env: Record<string, string>;
  let server: RunningServer;
  let cleanup: () => Promise<void>;
  let scimToken: string;
  let adminToken: string;
  const userIds: string[] = [];

  beforeAll(async () => {
    const fresh = await freshDatabase('crash');
    cleanup = fresh.drop;
    env = { DATABASE_URL: fresh.url };
    scimToken = (await roster(['token', 'create', '--tenant', 'acme', '--scope', 'scim'], env)).trim();
    adminToken = (await roster(['token', 'create', '--tenant', 'acme', '--scope', 'admin'], env)).trim();
    server = await startServer(env);
    for (let i = 0; i < USERS; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: 50 }, (_, j) => call('POST', '/scim/v2/Users', { schemas: [USER], userName: `user${i + j}@example.com` }).then((r) => r.json.id as string)),
      );
      userIds.push(...batch);
    }
  });
  afterAll(async () => {
    await server?.stop();
    await cleanup?.();
  });

  async function call(method: string, path: string, body?: unknown, on = server) {
    const res = await fetch(`${on.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${path.startsWith('/admin') ? adminToken : scimToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
  }

  /**
   * Whether a write transaction of the server is open now and has been for a few milliseconds: on
   * SQLite another connection cannot take the write lock (three tries, 3 ms apart, so a sync-log batch
   * of a millisecond does not count); on PostgreSQL a backend is inside a transaction that writes
   * memberships, enrollments or grants.
   */
  async function inTransaction(): Promise<boolean> {
    if (pg) {
      const db = openDb(env.DATABASE_URL!, { poolMax: 1 });
      try {
        const rows = (await db.knex.raw(
          `select 1 from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and xact_start < now() - interval '3 milliseconds'
           and (query ilike '%memberships%' or query ilike '%enrollments%' or query ilike '%grants%')`,
        )) as { rows: unknown[] };
        return rows.rows.length > 0;
      } finally {
        await db.close();
      }
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the driver has no types of its own here
    const Database = require('better-sqlite3') as new (file: string, opts: { timeout: number }) => { exec(sql: string): void; close(): void };
    const conn = new Database(env.DATABASE_URL!.slice('sqlite:'.length), { timeout: 0 });
    try {
      for (let i = 0; i < 3; i++) {
        try {
          conn.exec('begin immediate');
          conn.exec('rollback');
          return false;
        } catch {
          await new Promise((r) => setTimeout(r, 3));
        }
      }
      return true;
    } finally {
      conn.close();
    }
  }

  /**
   * Sends the request and kills the server once its write transaction is under way; resolves once the
   * server is dead, saying whether a response came first (then the change had committed).
   */
  async function killDuring(method: string, path: string, body: unknown): Promise<{ answered: boolean; midTransaction: boolean }> {
    let answered = false;
    const sent = fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${path.startsWith('/admin') ? adminToken : scimToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).then(
      () => (answered = true),
      () => undefined,
    );
    let midTransaction = false;
    for (const deadline = Date.now() + 20_000; !answered && Date.now() < deadline; ) {
      if (await inTransaction()) {
        midTransaction = true;
        break;
      }
    }
    const dead = new Promise((r) => server.process.once('exit', r));
    server.process.kill('SIGKILL');
    await dead;
    await sent;
    return { answered, midTransaction };
  }

  const memberIds = async (groupId: string) => {
    const db = openDb(env.DATABASE_URL!, { poolMax: 1 });
    try {
      return ((await db.knex('memberships').where({ group_id: groupId }).pluck('user_id')) as string[]).sort();
    } finally {
      await db.close();
    }
  };
  const noDrift = async () =>
    expect((await call('POST', '/admin/v1/reconcile', { dryRun: true })).json).toEqual({
      dryRun: true,
      enrollmentsCreated: 0,
      enrollmentsReactivated: 0,
      grantsOpened: 0,
      grantsEnded: 0,
      enrollmentsSuspended: 0,
      enrollmentsReopened: 0,
    });

  it('applies a group replace whole or not at all, and its retry ends in the right state', async () => {
    const before = userIds.slice(0, USERS / 2);
    const after = userIds.slice(USERS / 4);
    const course = (await call('POST', '/admin/v1/content', { kind: 'course', title: 'Crash course' })).json.id as string;
    const group = (await call('POST', '/scim/v2/Groups', { schemas: [GROUP], displayName: 'Sales', members: before.map((value) => ({ value })) })).json.id as string;
    expect((await call('POST', `/admin/v1/groups/${group}/assignments`, { contentId: course })).status).toBe(201);

    const replace = { schemas: [GROUP], displayName: 'Sales', members: after.map((value) => ({ value })) };
    const { answered, midTransaction } = await killDuring('PUT', `/scim/v2/Groups/${group}`, replace);
    expect({ answered, midTransaction }).toEqual({ answered: false, midTransaction: true });
    server = await startServer(env);
    const members = await memberIds(group);
    // Killed inside the transaction: nothing of it was committed (the retry below applies it).
    expect(members).toEqual([...before].sort());
    await noDrift();

    expect((await call('PUT', `/scim/v2/Groups/${group}`, replace)).status).toBe(200);
    expect(await memberIds(group)).toEqual([...after].sort());
    await noDrift();
  });

  it('applies a course assignment to a large group whole or not at all, and its retry ends in the right state', async () => {
    const members = userIds.slice(0, USERS - 1);
    const group = (await call('POST', '/scim/v2/Groups', { schemas: [GROUP], displayName: 'Everyone', members: members.map((value) => ({ value })) })).json.id as string;
    const course = (await call('POST', '/admin/v1/content', { kind: 'course', title: 'Fire safety' })).json.id as string;

    const { answered, midTransaction } = await killDuring('POST', `/admin/v1/groups/${group}/assignments`, { contentId: course });
    expect({ answered, midTransaction }).toEqual({ answered: false, midTransaction: true });
    server = await startServer(env);
    const db = openDb(env.DATABASE_URL!, { poolMax: 1 });
    const state = async () => ({
      assignments: Number(((await db.knex('assignments').where({ group_id: group, content_id: course }).count({ n: '*' })) as [{ n: number | string }])[0].n),
      enrollments: Number(((await db.knex('enrollments').where({ content_id: course }).count({ n: '*' })) as [{ n: number | string }])[0].n),
    });
    try {
      const whole = { assignments: 1, enrollments: members.length };
      const none = { assignments: 0, enrollments: 0 };
      expect(await state()).toEqual(none);
      await noDrift();

      const retry = await call('POST', `/admin/v1/groups/${group}/assignments`, { contentId: course });
      expect(retry.status).toBe(201);
      expect(await state()).toEqual(whole);
      await noDrift();
    } finally {
      await db.close();
    }
  });
});
