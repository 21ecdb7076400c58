import crypto from 'node:crypto';
import request from 'supertest';
import type { EntrySummary } from '../../src/synclog/reader';
import { createTestApp, ENTERPRISE, GROUP, patchOp, USER, type ScimClient, type TestApp } from '../helpers/app';

/** An entry as the admin API answers it. */
type Entry = EntrySummary;

/** The sync log through the real path: SCIM and admin requests in, GET /admin/v1/sync-log out. */
describe('sync log', () => {
  let t: TestApp;
  let scim: ScimClient;
  let admin: ScimClient;

  beforeAll(async () => {
    t = await createTestApp();
    scim = await t.scim();
    admin = await t.admin();
  });
  afterAll(() => t.close());

  const uniq = () => crypto.randomUUID().slice(0, 8);
  const newUser = async (extra: Record<string, unknown> = {}) => {
    const res = await scim.post('/Users', { schemas: [USER], userName: `u.${uniq()}@example.com`, ...extra }).expect(201);
    return res.body.id as string;
  };
  const newGroup = async (members: string[] = []) =>
    (await scim.post('/Groups', { schemas: [GROUP], displayName: `G ${uniq()}`, members: members.map((value) => ({ value })) }).expect(201)).body.id as string;
  const entry = async (requestId: string) => {
    const res = await admin.get(`/sync-log/${requestId}`).expect(200);
    return res.body as { entry: Entry; changes: { kind: string; groupId: string | null; count: number; ids: string[] }[] };
  };
  const list = async (query: string) => {
    const res = await admin.get(`/sync-log?${query}`).expect(200);
    return res.body as { items: Entry[]; next: string | null };
  };
  const rawRows = async () => {
    const [entries, changes] = await Promise.all([t.db.knex('sync_log').select('*'), t.db.knex('sync_changes').select('*')]);
    return JSON.stringify([entries, changes]);
  };

  it('logs a create with who, what, the result and what it changed; the request id is the response header', async () => {
    const userName = `alice.${uniq()}@example.com`;
    const res = await scim
      .post('/Users', { schemas: [USER, ENTERPRISE], userName, externalId: 'ext-alice', password: 'hunter2-secret', [ENTERPRISE]: { department: 'Sales' } })
      .set('user-agent', 'Okta SCIM Client 1.0.0')
      .expect(201);
    const requestId = res.headers['x-request-id'] as string;
    const { entry: e, changes } = await entry(requestId);
    expect(e).toMatchObject({
      id: requestId,
      tenantId: await t.tenantId(),
      source: 'scim',
      tokenLabel: 'test-acme-scim',
      client: 'Okta SCIM Client 1.0.0',
      method: 'POST',
      path: '/scim/v2/Users',
      resourceType: 'User',
      resourceId: res.body.id,
      externalId: 'ext-alice',
      status: 201,
      scimType: null,
      error: null,
      changes: { 'user.created': 1 },
    });
    expect(e.durationMs).toBeGreaterThanOrEqual(0);
    expect(Date.parse(e.at)).not.toBeNaN();
    expect(JSON.parse(e.requestBody!)).toMatchObject({ userName, password: '[redacted]' });
    expect(JSON.parse(e.responseBody!)).toMatchObject({ id: res.body.id, userName });
    expect(changes).toEqual([{ kind: 'user.created', groupId: null, count: 1, ids: [res.body.id] }]);
    expect(await rawRows()).not.toContain('hunter2-secret');
  });

  it('logs rejected requests with their status, scimType and error, and records no change for them', async () => {
    await newUser({ userName: 'dup@example.com' });
    const dup = await scim.post('/Users', { schemas: [USER], userName: 'DUP@example.com' }).expect(409);
    const badFilter = await scim.get('/Users?filter=userName%20zz%20%22x%22').expect(400);
    const missing = await scim.get(`/Users/${crypto.randomUUID()}`).expect(404);
    const g = await newGroup();
    const unknownMember = await scim.patch(`/Groups/${g}`, patchOp({ op: 'add', path: 'members', value: [{ value: crypto.randomUUID() }] })).expect(400);

    const d = await entry(dup.headers['x-request-id'] as string);
    expect(d.entry).toMatchObject({ status: 409, scimType: 'uniqueness', error: expect.stringContaining('DUP@example.com') });
    expect(d.changes).toEqual([]);
    expect((await entry(badFilter.headers['x-request-id'] as string)).entry).toMatchObject({ status: 400, scimType: 'invalidFilter', method: 'GET' });
    expect((await entry(missing.headers['x-request-id'] as string)).entry).toMatchObject({ status: 404, resourceType: 'User' });
    const u = await entry(unknownMember.headers['x-request-id'] as string);
    expect(u.entry).toMatchObject({ status: 400, resourceType: 'Group', resourceId: g, changes: {} });
    expect(u.changes).toEqual([]);
    expect(JSON.parse(u.entry.responseBody!)).toMatchObject({ status: '400', detail: expect.any(String) });
  });

  it('logs a 401 with a revoked token under its tenant with the reason, and an unknown token under no tenant', async () => {
    const { token, info } = await t.tenancy.createToken('acme', 'scim', 'entra-old');
    await t.tenancy.revokeToken(info.id);
    const revoked = await request(t.app).get('/scim/v2/Users').set('authorization', `Bearer ${token}`).expect(401);
    const unknown = await request(t.app).get('/scim/v2/Users').set('authorization', 'Bearer rst_scim_not-a-real-token').expect(401);
    const wrongScope = await request(t.app).get('/scim/v2/Users').set('authorization', `Bearer ${await t.token('acme', 'admin')}`).expect(401);

    expect((await entry(revoked.headers['x-request-id'] as string)).entry).toMatchObject({
      status: 401,
      tokenLabel: 'entra-old',
      error: expect.stringMatching(/^token "entra-old" was revoked at /),
    });
    expect((await entry(wrongScope.headers['x-request-id'] as string)).entry).toMatchObject({ status: 401, error: expect.stringContaining('has scope admin, not scim') });
    // No tenant's admin can see it; it is in the database for the machine's operator (roster log).
    await admin.get(`/sync-log/${unknown.headers['x-request-id'] as string}`).expect(404);
    const row = await t.db.knex('sync_log').where({ id: unknown.headers['x-request-id'] }).first();
    expect(row).toMatchObject({ tenant_id: null, status: 401, token_label: null });
    expect(await rawRows()).not.toContain(token);
  });

  it('records membership and enrollment changes with counts and ids, in the entry of the push that caused them', async () => {
    const [a, b, c] = [await newUser(), await newUser(), await newUser()];
    const g = await newGroup([a]);
    const course = (await admin.post('/content', { kind: 'course', title: 'Security Basics' }).expect(201)).body.id as string;
    const assigned = await admin.post(`/groups/${g}/assignments`, { contentId: course }).expect(201);
    const assignLog = await entry(assigned.headers['x-request-id'] as string);
    expect(assignLog.entry).toMatchObject({ source: 'admin', method: 'POST', resourceType: 'Assignment', resourceId: assigned.body.id, changes: { 'assignment.created': 1, 'enrollment.created': 1 } });

    const push = await scim.patch(`/Groups/${g}`, patchOp({ op: 'Add', path: 'members', value: [{ value: b }, { value: c }] }, { op: 'Remove', path: 'members', value: [{ value: a }] })).expect(204);
    const { entry: e, changes } = await entry(push.headers['x-request-id'] as string);
    expect(e.changes).toEqual({ 'membership.added': 2, 'membership.removed': 1, 'enrollment.created': 2, 'enrollment.suspended': 1 });
    const added = changes.find((x) => x.kind === 'membership.added')!;
    expect(added.groupId).toBe(g);
    expect(added.ids.sort()).toEqual([b, c].sort());
    expect(changes.find((x) => x.kind === 'membership.removed')).toMatchObject({ groupId: g, count: 1, ids: [a] });

    // A repeated push is logged, and says it changed nothing (rule 12).
    const again = await scim.patch(`/Groups/${g}`, patchOp({ op: 'add', path: 'members', value: [{ value: b }] })).expect(204);
    expect((await entry(again.headers['x-request-id'] as string)).entry.changes).toEqual({});
  });

  it('logs admin calls that change state, not the ones that only read', async () => {
    const created = await admin.post('/content', { kind: 'course', title: 'Onboarding' }).expect(201);
    const invalid = await admin.post('/content', { kind: 'nope' }).expect(400);
    const read = await admin.get(`/content/${created.body.id as string}`).expect(200);
    expect((await entry(created.headers['x-request-id'] as string)).entry).toMatchObject({ source: 'admin', resourceType: 'Content', resourceId: created.body.id, status: 201 });
    expect((await entry(invalid.headers['x-request-id'] as string)).entry).toMatchObject({ status: 400, error: 'The request body is not valid' });
    await admin.get(`/sync-log/${read.headers['x-request-id'] as string}`).expect(404);
  });

  it('filters by user: the user resource, memberships naming them, and the grants behind their enrollments', async () => {
    const u = await newUser();
    const other = await newUser();
    const g = await newGroup();
    const course = (await admin.post('/content', { kind: 'course', title: 'Why course' }).expect(201)).body.id as string;
    await admin.post(`/groups/${g}/assignments`, { contentId: course }).expect(201);
    const join = await scim.patch(`/Groups/${g}`, patchOp({ op: 'add', path: 'members', value: [{ value: u }] })).expect(204);
    const deactivate = await scim.patch(`/Users/${u}`, patchOp({ op: 'replace', value: { active: false } }));
    expect(deactivate.status).toBeLessThan(300);
    await scim.patch(`/Groups/${g}`, patchOp({ op: 'add', path: 'members', value: [{ value: other }] })).expect(204);
    const both = await scim.patch(`/Groups/${g}`, patchOp({ op: 'remove', path: 'members', value: [{ value: u }, { value: other }] })).expect(204);

    const { items } = await list(`user=${u}`);
    const ids = items.map((i) => i.id);
    expect(ids).toContain(join.headers['x-request-id']); // a change naming the user alone
    expect(ids).toContain(both.headers['x-request-id']); // a change naming several users
    expect(ids).toContain(deactivate.headers['x-request-id']); // the user's own resource
    expect(items.every((i) => i.resourceId === u || i.resourceId === g)).toBe(true);
    expect(items).toHaveLength(4); // create, join, deactivate, the removal of both; not the other user's join
  });

  it('filters by status class, method, resource, token and request id, newest first', async () => {
    const u = await newUser();
    await scim.get(`/Users/${crypto.randomUUID()}`).expect(404);
    const put = await scim.put(`/Users/${u}`, { schemas: [USER], userName: `renamed.${uniq()}` }).expect(200);

    const failed = await list('status=failed&limit=500');
    expect(failed.items.length).toBeGreaterThan(0);
    expect(failed.items.every((i) => i.status >= 400)).toBe(true);
    const ok = await list('status=2xx&limit=500');
    expect(ok.items.every((i) => i.status >= 200 && i.status < 300)).toBe(true);
    expect((await list('status=4xx,5xx&limit=500')).items.map((i) => i.id)).toEqual(failed.items.map((i) => i.id));
    expect((await list('method=put&limit=500')).items.every((i) => i.method === 'PUT')).toBe(true);
    expect((await list(`resourceType=user&resourceId=${u}`)).items.map((i) => i.method)).toEqual(['PUT', 'POST']);
    expect((await list(`requestId=${put.headers['x-request-id'] as string}`)).items).toHaveLength(1);
    const byToken = (await list('token=test-acme-scim&limit=500')).items;
    expect(byToken.length).toBeGreaterThan(0);
    expect(byToken.every((i) => i.tokenLabel === 'test-acme-scim')).toBe(true);
    const all = (await list('limit=500')).items;
    const times = all.map((i) => i.at);
    expect([...times].sort().reverse()).toEqual(times);
  });

  it('filters by time range, relative or absolute', async () => {
    const res = await scim.get('/Users?count=1').expect(200);
    const id = res.headers['x-request-id'] as string;
    expect((await list('since=1m&limit=500')).items.map((i) => i.id)).toContain(id);
    const { entry: e } = await entry(id);
    expect((await list(`since=${encodeURIComponent(e.at)}&until=${encodeURIComponent(new Date(Date.parse(e.at) + 1).toISOString())}`)).items.map((i) => i.id)).toContain(id);
    expect((await list(`until=${encodeURIComponent(e.at)}&limit=500`)).items.map((i) => i.id)).not.toContain(id);
    expect(JSON.parse((await entry(id)).entry.responseBody!)).toEqual({ totalResults: expect.any(Number), itemsPerPage: 1 });
  });

  it('pages with a cursor: every entry once, newest first', async () => {
    for (let i = 0; i < 7; i++) await scim.get('/Users?count=1').expect(200);
    const all = (await list('limit=500')).items.map((i) => i.id);
    const paged: string[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const page: { items: Entry[]; next: string | null } = await list(`limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.items.length).toBeLessThanOrEqual(3);
      paged.push(...page.items.map((i) => i.id));
      cursor = page.next;
    }
    expect(paged).toEqual(all);
  });

  it('answers bad filters with a clear 400 naming the parameter', async () => {
    const cases: [string, RegExp][] = [
      ['status=6xx', /status must be/],
      ['since=yesterday', /since must be an ISO-8601 time or a duration/],
      ['method=FETCH', /method must be one of/],
      ['limit=0', /limit must be/],
      ['cursor=nonsense', /cursor is not one/],
      ['status=2xx&status=4xx', /status must be given once/],
    ];
    for (const [query, message] of cases) {
      const res = await admin.get(`/sync-log?${query}`).expect(400);
      expect(res.body.error).toMatchObject({ code: 'invalidQuery', message: expect.stringMatching(message) });
    }
  });

  it("never shows one tenant's entries to another", async () => {
    const res = await scim.get('/Users?count=1').expect(200);
    const otherAdmin = await t.admin('globex');
    await otherAdmin.get(`/sync-log/${res.headers['x-request-id'] as string}`).expect(404);
    await (await t.scim('globex')).get('/Users?count=1').expect(200);
    const theirs = (await otherAdmin.get('/sync-log?limit=500').expect(200)).body.items as Entry[];
    expect(theirs).toHaveLength(1);
    expect(theirs[0]!.tenantId).toBe(await t.tenantId('globex'));
    expect((await otherAdmin.get(`/sync-log?requestId=${res.headers['x-request-id'] as string}`).expect(200)).body.items).toEqual([]);
  });

  it('keeps a bounded number of ids per change and an exact count', async () => {
    const small = await createTestApp({ syncLog: { maxIds: 2 } });
    try {
      const client = await small.scim();
      const users: string[] = [];
      for (let i = 0; i < 5; i++) users.push((await client.post('/Users', { schemas: [USER], userName: `m${i}` }).expect(201)).body.id as string);
      const res = await client.post('/Groups', { schemas: [GROUP], displayName: 'Five', members: users.map((value) => ({ value })) }).expect(201);
      await small.syncLog.writer.flush();
      const detail = await small.syncLog.reader.get(await small.tenantId(), res.headers['x-request-id'] as string);
      const added = detail!.changes.find((c) => c.kind === 'membership.added')!;
      expect(added.count).toBe(5);
      expect(added.ids).toHaveLength(2);
      const touched = await small.db.knex('sync_change_users').where({ request_id: res.headers['x-request-id'] }).pluck('user_id');
      expect(touched).toHaveLength(2);
    } finally {
      await small.close();
    }
  });

  it('cuts a large request body at the configured size, as valid JSON that says so', async () => {
    const small = await createTestApp({ syncLog: { maxBodyChars: 200 } });
    try {
      const client = await small.scim();
      const res = await client.post('/Users', { schemas: [USER], userName: 'long', displayName: 'x'.repeat(290) }).expect(201);
      await small.syncLog.writer.flush();
      const detail = await small.syncLog.reader.get(await small.tenantId(), res.headers['x-request-id'] as string);
      const body = JSON.parse(detail!.entry!.requestBody!);
      expect(body).toMatchObject({ truncated: true, note: 'cut at 200 characters' });
      expect((body.start as string).length).toBeLessThanOrEqual(200);
    } finally {
      await small.close();
    }
  });

  it('records a change in the transaction of the change: a push that rolls back leaves no change behind, and its 500 is logged', async () => {
    const u = await newUser();
    const g = await newGroup();
    const unregister = t.store.hooks.register((_tx, event) => {
      if (event.type === 'membership.added') throw new Error('hook failed on purpose');
    });
    try {
      const res = await scim.patch(`/Groups/${g}`, patchOp({ op: 'add', path: 'members', value: [{ value: u }] })).expect(500);
      const { entry: e, changes } = await entry(res.headers['x-request-id'] as string);
      expect(e).toMatchObject({ status: 500, error: expect.stringContaining(res.headers['x-request-id'] as string) });
      expect(changes).toEqual([]);
      expect(await t.db.knex('memberships').where({ group_id: g })).toEqual([]);
    } finally {
      unregister();
    }
  });

  it('writes nothing when the log is off, and SCIM works the same', async () => {
    const off = await createTestApp({ syncLog: { enabled: false } });
    try {
      const client = await off.scim();
      const u = (await client.post('/Users', { schemas: [USER], userName: 'quiet' }).expect(201)).body.id as string;
      await client.post('/Groups', { schemas: [GROUP], displayName: 'Quiet', members: [{ value: u }] }).expect(201);
      await off.syncLog.writer.flush();
      for (const table of ['sync_log', 'sync_changes', 'sync_change_users']) {
        expect(Number(((await off.db.knex(table).count({ n: '*' }).first()) as { n: number | string }).n)).toBe(0);
      }
    } finally {
      await off.close();
    }
  });

  it('prunes entries and changes older than the retention, and keeps the rest', async () => {
    const pruneApp = await createTestApp();
    try {
      const client = await pruneApp.scim();
      const [a, b] = [
        (await client.post('/Users', { schemas: [USER], userName: 'a' }).expect(201)).body.id as string,
        (await client.post('/Users', { schemas: [USER], userName: 'b' }).expect(201)).body.id as string,
      ];
      // The old request touches all three tables: its entry, two changes, two indexed users.
      const old = await client.post('/Groups', { schemas: [GROUP], displayName: 'Old', members: [{ value: a }, { value: b }] }).expect(201);
      const recent = await client.post('/Users', { schemas: [USER], userName: 'recent' }).expect(201);
      await pruneApp.syncLog.writer.flush();
      const oldId = old.headers['x-request-id'] as string;
      const longAgo = new Date(Date.now() - 40 * 86_400_000).toISOString();
      await pruneApp.db.knex('sync_log').where({ id: oldId }).update({ at: longAgo });
      await pruneApp.db.knex('sync_changes').where({ request_id: oldId }).update({ at: longAgo });
      await pruneApp.db.knex('sync_change_users').where({ request_id: oldId }).update({ at: longAgo });
      const cutoff = new Date(Date.now() - 30 * 86_400_000).toISOString();
      expect(await pruneApp.syncLog.writer.prune(cutoff, 1)).toBe(5);
      const tenantId = await pruneApp.tenantId();
      expect(await pruneApp.syncLog.reader.get(tenantId, oldId)).toBeUndefined();
      expect((await pruneApp.syncLog.reader.get(tenantId, recent.headers['x-request-id'] as string))?.entry?.status).toBe(201);
    } finally {
      await pruneApp.close();
    }
  });
});
