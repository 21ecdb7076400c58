import { openDb } from '../../src/db/knex';
import { freshDatabase, roster, startServer, type RunningServer } from '../support/server';
import { startReceiver, type Receiver } from '../support/receiver';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const pg = /^postgres(ql)?:\/\//.test(process.env.DATABASE_URL ?? '');

/**
 * Two Roster processes on one database (a fresh PostgreSQL database when DATABASE_URL names one, else
 * one SQLite file in WAL mode), sent interleaved pushes for the same groups and users at the same
 * time. Afterwards: memberships are exactly what some order of the pushes gives, enrollments and grants
 * are exactly what the rules say (a reconcile dry run finds nothing to repair), nothing answered 5xx,
 * and the two dispatchers delivered every event once.
 */
describe(`two Roster instances on one ${pg ? 'PostgreSQL database' : 'SQLite file'}`, () => {
  let servers: RunningServer[] = [];
  let receiver: Receiver;
  let env: Record<string, string>;
  let cleanup: () => Promise<void>;
  let scimToken: string;
  let adminToken: string;
  const statuses: number[] = [];

  beforeAll(async () => {
    const db = await freshDatabase('multi');
    cleanup = db.drop;
    env = { DATABASE_URL: db.url, WEBHOOK_POLL_MS: '50' };
    scimToken = (await roster(['token', 'create', '--tenant', 'acme', '--scope', 'scim'], env)).trim();
    adminToken = (await roster(['token', 'create', '--tenant', 'acme', '--scope', 'admin'], env)).trim();
    servers = await Promise.all([startServer(env), startServer(env)]);
    receiver = await startReceiver();
  });

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await receiver?.close();
    await cleanup?.();
  });

  const call = async (server: RunningServer, method: string, path: string, body?: unknown) => {
    const token = path.startsWith('/admin') ? adminToken : scimToken;
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    statuses.push(res.status);
    if (res.status >= 300) throw new Error(`${method} ${path} → ${res.status} ${await res.text()}`);
    return (res.status === 204 ? {} : await res.json()) as Record<string, unknown> & { id: string };
  };
  const on = (i: number) => servers[i % 2]!;
  const members = (ids: string[]) => ids.map((value) => ({ value }));
  const patch = (...ops: unknown[]) => ({ schemas: [PATCH], Operations: ops });

  it('keeps memberships, enrollments and grants exact under interleaved pushes, with no 5xx and no event sent twice', async () => {
    await call(on(0), 'POST', '/admin/v1/webhooks', { url: receiver.url, events: ['*'] });
    const users: string[] = [];
    for (let i = 0; i < 40; i++) users.push((await call(on(i), 'POST', '/scim/v2/Users', { schemas: [USER], userName: `user${i}@example.com` })).id);
    const g1 = (await call(on(0), 'POST', '/scim/v2/Groups', { schemas: [GROUP], displayName: 'Sales', members: members(users.slice(20, 30)) })).id;
    const g2 = (await call(on(1), 'POST', '/scim/v2/Groups', { schemas: [GROUP], displayName: 'Support', members: members(users.slice(37, 39)) })).id;
    const c1 = (await call(on(0), 'POST', '/admin/v1/content', { kind: 'course', title: 'Security Basics' })).id;
    const c2 = (await call(on(1), 'POST', '/admin/v1/content', { kind: 'course', title: 'Sales Onboarding' })).id;
    await call(on(1), 'POST', `/admin/v1/groups/${g1}/assignments`, { contentId: c1 });

    // All at once, alternating instances.
    await Promise.all([
      ...users.slice(0, 20).map((u, i) => call(on(i), 'PATCH', `/scim/v2/Groups/${g1}`, patch({ op: 'add', path: 'members', value: [{ value: u }] }))),
      ...users.slice(20, 30).map((u, i) => call(on(i + 1), 'PATCH', `/scim/v2/Groups/${g1}`, patch({ op: 'remove', path: `members[value eq "${u}"]` }))),
      // a group replace racing a member add
      call(on(0), 'PUT', `/scim/v2/Groups/${g2}`, { schemas: [GROUP], displayName: 'Support', members: members(users.slice(30, 35)) }),
      call(on(1), 'PATCH', `/scim/v2/Groups/${g2}`, patch({ op: 'add', path: 'members', value: [{ value: users[35] }] })),
      // a deactivation racing a membership add
      call(on(0), 'PATCH', `/scim/v2/Users/${users[36]}`, patch({ op: 'replace', value: { active: false } })),
      call(on(1), 'PATCH', `/scim/v2/Groups/${g1}`, patch({ op: 'add', path: 'members', value: [{ value: users[36] }] })),
      // an assignment created while members join
      call(on(1), 'POST', `/admin/v1/groups/${g1}/assignments`, { contentId: c2 }),
    ]);
    expect(statuses.filter((s) => s >= 500)).toEqual([]);

    const db = openDb(env.DATABASE_URL!, { poolMax: 1 });
    try {
      const memberIds = async (g: string) => ((await db.knex('memberships').where({ group_id: g }).pluck('user_id')) as string[]).sort();
      // G1: every add landed, every remove landed; no phantom member.
      expect(await memberIds(g1)).toEqual([...users.slice(0, 20), users[36]!].sort());
      // G2: the replace and the add in one of the two orders, nothing in between.
      const g2Members = await memberIds(g2);
      expect([[...users.slice(30, 35)].sort(), [...users.slice(30, 36)].sort()]).toContainEqual(g2Members);
      // Both instances read the same thing.
      for (const s of servers) {
        const group = await call(s, 'GET', `/scim/v2/Groups/${g1}`);
        expect(((group.members as { value: string }[]).map((m) => m.value)).sort()).toEqual(await memberIds(g1));
      }

      // Enrollments: each of G1's members in both courses; the deactivated joiner's are paused; leavers suspended, progress kept.
      const enrollments = (await db.knex('enrollments').select('user_id', 'content_id', 'state', 'paused')) as { user_id: string; content_id: string; state: string; paused: boolean | number }[];
      const of = (u: string, c: string) => enrollments.filter((e) => e.user_id === u && e.content_id === c);
      for (const u of users.slice(0, 20)) for (const c of [c1, c2]) expect(of(u, c)).toEqual([expect.objectContaining({ state: 'active' })]);
      for (const c of [c1, c2]) expect(of(users[36]!, c)).toEqual([expect.objectContaining({ state: 'suspended' })]);
      for (const u of users.slice(20, 30)) expect(of(u, c1)).toEqual([expect.objectContaining({ state: 'suspended' })]);
      const reconcile = await call(on(0), 'POST', '/admin/v1/reconcile', { dryRun: true });
      expect(reconcile).toEqual({
        dryRun: true,
        enrollmentsCreated: 0,
        enrollmentsReactivated: 0,
        grantsOpened: 0,
        grantsEnded: 0,
        enrollmentsSuspended: 0,
        enrollmentsReopened: 0,
      });

      // Webhooks: the two dispatchers together delivered every event, none twice.
      const written = (await db.knex('events').pluck('id')) as string[];
      const deadline = Date.now() + 20_000;
      const received = () => receiver.received.flatMap((r) => (JSON.parse(r.body) as { events: { id: string }[] }).events.map((e) => e.id));
      while (new Set(received()).size < written.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(new Set(received())).toEqual(new Set(written));
      expect(received()).toHaveLength(written.length);
    } finally {
      await db.close();
    }
  });
});
