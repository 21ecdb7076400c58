import crypto from 'node:crypto';
import request from 'supertest';
import { createTestApp, GROUP, PATCH_OP, USER, type ScimClient, type TestApp } from '../helpers/app';

/**
 * Tenant isolation: with valid tokens of another tenant, every SCIM and admin endpoint is tried on
 * the first tenant's users, groups (their activity and messages too), memberships, content,
 * assignments, enrollments, webhooks, credits and sync log entries, by id, in lists and filters, and
 * as member or content references, and the operator pages are read signed in as the other tenant.
 * Each answer must be
 * exactly the answer for an id that does not exist anywhere (so it tells nothing, not even that the id
 * exists), lists and filters show none of the first tenant's resources, and nothing of the first
 * tenant changes.
 */
describe("one tenant's token against another tenant's data", () => {
  let t: TestApp;
  let victim: { scim: ScimClient; admin: ScimClient; tenantId: string };
  let intruder: { scim: ScimClient; admin: ScimClient };
  const a = {} as { user: string; userName: string; email: string; group: string; content: string; assignment: string; enrollment: string; webhook: string; request: string };
  const b = {} as { user: string; group: string; content: string };

  beforeAll(async () => {
    t = await createTestApp();
    victim = { scim: await t.scim('victim'), admin: await t.admin('victim'), tenantId: await t.tenantId('victim') };
    intruder = { scim: await t.scim('intruder'), admin: await t.admin('intruder') };
    a.userName = 'ada@victim.example';
    a.email = 'ada.work@victim.example';
    const created = await victim.scim.post('/Users', { schemas: [USER], userName: a.userName, externalId: 'victim-ext-1', emails: [{ value: a.email, type: 'work' }] }).expect(201);
    a.user = created.body.id as string;
    a.request = created.headers['x-request-id'] as string;
    a.group = (await victim.scim.post('/Groups', { schemas: [GROUP], displayName: 'Victim Sales', members: [{ value: a.user }] }).expect(201)).body.id as string;
    a.content = (await victim.admin.post('/content', { kind: 'course', title: 'Victim course' }).expect(201)).body.id as string;
    a.assignment = (await victim.admin.post(`/groups/${a.group}/assignments`, { contentId: a.content }).expect(201)).body.id as string;
    a.enrollment = ((await victim.admin.get(`/users/${a.user}/enrollments`).expect(200)).body as { items: { id: string }[] }).items[0]!.id;
    a.webhook = (await victim.admin.post('/webhooks', { url: 'http://127.0.0.1:9/victim', events: ['*'] }).expect(201)).body.id as string;
    await victim.admin.post(`/groups/${a.group}/messages`, { text: 'Victim news' }).expect(201);
    b.user = (await intruder.scim.post('/Users', { schemas: [USER], userName: 'eve@intruder.example' }).expect(201)).body.id as string;
    b.group = (await intruder.scim.post('/Groups', { schemas: [GROUP], displayName: 'Intruder group' }).expect(201)).body.id as string;
    b.content = (await intruder.admin.post('/content', { kind: 'course', title: 'Intruder course' }).expect(201)).body.id as string;
    // Credits in the victim's wallets; the intruder has coaching on too, so its answers are the 404s, not a 409.
    for (const side of [victim, intruder]) await side.admin.patch('/settings', { coaching: true }).expect(200);
    await victim.admin.post('/credits/deposits', { amount: 100 }).expect(201);
    await victim.admin.post(`/groups/${a.group}/credits`, { amount: 50 }).expect(201);
    await victim.admin.post(`/groups/${a.group}/credits/distributions`, { distributions: [{ userId: a.user, amount: 10 }] }).expect(201);
    await t.syncLog.writer.flush();
  });
  afterAll(async () => t.close());

  /** Everything of the victim's tenant, in a stable order. */
  const snapshot = async () => {
    const k = t.db.knex;
    const of = (table: string, order: string[]) => k(table).where({ tenant_id: victim.tenantId }).orderBy(order).select();
    return JSON.stringify(
      await Promise.all([
        of('users', ['id']),
        of('user_emails', ['user_id', 'value']),
        of('groups', ['id']),
        of('memberships', ['group_id', 'user_id']),
        of('content', ['id']),
        of('assignments', ['id']),
        of('enrollments', ['id']),
        of('grants', ['id']),
        of('webhooks', ['id']),
        of('group_messages', ['id']),
        of('events', ['seq']),
        of('credit_transfers', ['seq']),
        of('credit_wallets', ['wallet']),
        k('tenants').where({ id: victim.tenantId }).select(),
      ]),
    );
  };

  const nowhere = () => crypto.randomUUID();
  /** A response with the id in question written as <ID>, to compare with the answer for an id that exists nowhere. */
  const shape = (res: { status: number; text: string }, id: string) => ({ status: res.status, body: res.text.split(id).join('<ID>').replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<UUID>') });

  type Call = (client: { scim: ScimClient; admin: ScimClient }, id: string) => PromiseLike<{ status: number; text: string }>;
  const byId: [string, keyof typeof a, Call][] = [
    ['GET /Users/{id}', 'user', (c, id) => c.scim.get(`/Users/${id}`)],
    ['PUT /Users/{id}', 'user', (c, id) => c.scim.put(`/Users/${id}`, { schemas: [USER], userName: 'taken@intruder.example' })],
    ['PATCH /Users/{id}', 'user', (c, id) => c.scim.patch(`/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] })],
    ['DELETE /Users/{id}', 'user', (c, id) => c.scim.delete(`/Users/${id}`)],
    ['GET /Groups/{id}', 'group', (c, id) => c.scim.get(`/Groups/${id}`)],
    ['PUT /Groups/{id}', 'group', (c, id) => c.scim.put(`/Groups/${id}`, { schemas: [GROUP], displayName: 'Renamed', members: [] })],
    ['PATCH /Groups/{id}', 'group', (c, id) => c.scim.patch(`/Groups/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: 'members' }] })],
    ['DELETE /Groups/{id}', 'group', (c, id) => c.scim.delete(`/Groups/${id}`)],
    ['PATCH own group, add the other tenant\'s user', 'user', (c, id) => c.scim.patch(`/Groups/${b.group}`, { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: id }] }] })],
    ['PUT own group with the other tenant\'s user', 'user', (c, id) => c.scim.put(`/Groups/${b.group}`, { schemas: [GROUP], displayName: 'Intruder group', members: [{ value: id }] })],
    ['POST /Groups with the other tenant\'s user', 'user', (c, id) => c.scim.post('/Groups', { schemas: [GROUP], displayName: `Grab ${id}`, members: [{ value: id }] })],
    ['GET /content/{id}', 'content', (c, id) => c.admin.get(`/content/${id}`)],
    ['PATCH /content/{id}', 'content', (c, id) => c.admin.patch(`/content/${id}`, { title: 'Renamed' })],
    ['DELETE /content/{id}', 'content', (c, id) => c.admin.delete(`/content/${id}`)],
    ['GET /content/{id}/enrollments', 'content', (c, id) => c.admin.get(`/content/${id}/enrollments`)],
    ['POST /groups/{id}/assignments', 'group', (c, id) => c.admin.post(`/groups/${id}/assignments`, { contentId: b.content })],
    ['GET /groups/{id}/assignments', 'group', (c, id) => c.admin.get(`/groups/${id}/assignments`)],
    ['GET /groups/{id}/stats', 'group', (c, id) => c.admin.get(`/groups/${id}/stats`)],
    ['GET /groups/{id}/activity', 'group', (c, id) => c.admin.get(`/groups/${id}/activity`)],
    ['GET /groups/{id}/messages', 'group', (c, id) => c.admin.get(`/groups/${id}/messages`)],
    ['POST /groups/{id}/messages', 'group', (c, id) => c.admin.post(`/groups/${id}/messages`, { text: 'Hello from elsewhere' })],
    ['assign the other tenant\'s content to own group', 'content', (c, id) => c.admin.post(`/groups/${b.group}/assignments`, { contentId: id })],
    ['PATCH /assignments/{id}', 'assignment', (c, id) => c.admin.patch(`/assignments/${id}`, { mandatory: true })],
    ['DELETE /assignments/{id}', 'assignment', (c, id) => c.admin.delete(`/assignments/${id}`)],
    ['POST /enrollments/{id}/progress', 'enrollment', (c, id) => c.admin.post(`/enrollments/${id}/progress`, { completed: true })],
    ['GET /users/{id}/enrollments', 'user', (c, id) => c.admin.get(`/users/${id}/enrollments`)],
    ['GET /sync-log/{id}', 'request', (c, id) => c.admin.get(`/sync-log/${id}`)],
    ['GET /webhooks/{id}', 'webhook', (c, id) => c.admin.get(`/webhooks/${id}`)],
    ['GET /webhooks/{id}/deliveries', 'webhook', (c, id) => c.admin.get(`/webhooks/${id}/deliveries`)],
    ['POST /webhooks/{id}/resume', 'webhook', (c, id) => c.admin.post(`/webhooks/${id}/resume`)],
    ['DELETE /webhooks/{id}', 'webhook', (c, id) => c.admin.delete(`/webhooks/${id}`)],
    ['GET /groups/{id}/credits', 'group', (c, id) => c.admin.get(`/groups/${id}/credits`)],
    ['POST /groups/{id}/credits', 'group', (c, id) => c.admin.post(`/groups/${id}/credits`, { amount: 1 })],
    ['POST /groups/{id}/credits/distributions', 'group', (c, id) => c.admin.post(`/groups/${id}/credits/distributions`, { distributions: [{ userId: b.user, amount: 1 }] })],
    ['distribute from own group to the other tenant\'s user', 'user', (c, id) => c.admin.post(`/groups/${b.group}/credits/distributions`, { distributions: [{ userId: id, amount: 1 }] })],
    ['GET /users/{id}/credits', 'user', (c, id) => c.admin.get(`/users/${id}/credits`)],
    ['POST /users/{id}/credits/sessions', 'user', (c, id) => c.admin.post(`/users/${id}/credits/sessions`, { groupId: b.group, credits: 1 })],
    ['a session of own user through the other tenant\'s group', 'group', (c, id) => c.admin.post(`/users/${b.user}/credits/sessions`, { groupId: id, credits: 1 })],
  ];

  it.each(byId)('%s: the answer for an id that exists nowhere, and nothing changes', async (label, kind, send) => {
    const before = await snapshot();
    const theirs = await send(intruder, a[kind]);
    const missing = nowhere();
    const none = await send(intruder, missing);
    // A 404; the 400 of a reference to no such user or content (a member, an assignment's content);
    // or, for a list of something's enrollments, the empty list a missing id gets.
    const reference = /other tenant's/.test(label);
    expect(theirs.status === 404 || (reference && theirs.status === 400) || (theirs.status === 200 && /"items":\[\]/.test(theirs.text))).toBe(true);
    expect(shape(theirs, a[kind])).toEqual(shape(none, missing));
    expect(await snapshot()).toBe(before);
  });

  it('shows none of them on the operator pages signed in as the other tenant', async () => {
    const signIn = await request(t.app).post('/ops/login').type('form').send({ token: await t.token('intruder', 'admin') });
    const cookie = (signIn.headers['set-cookie'] as unknown as string[])[0]!.split(';')[0]!;
    const page = (path: string) => request(t.app).get(path).set('cookie', cookie);
    const before = await snapshot();
    for (const [path, id] of [
      ['/ops/users/', a.user],
      ['/ops/groups/', a.group],
      ['/ops/log/', a.request],
    ] as const) {
      const theirs = await page(`${path}${id}`);
      const missing = nowhere();
      expect(theirs.status).toBe(404);
      expect(shape(theirs, id)).toEqual(shape(await page(`${path}${missing}`), missing));
    }
    for (const path of ['/ops/users', '/ops/groups', '/ops/webhooks', `/ops/users?q=${encodeURIComponent(a.userName)}`]) {
      const res = await page(path);
      expect(res.status).toBe(200);
      for (const id of [a.user, a.group, a.content, a.assignment, a.enrollment, a.webhook, a.request]) expect(res.text).not.toContain(id);
      expect(res.text).not.toContain('Victim');
      // (the search page shows what was searched for in its search box, and finds nothing)
      if (!path.includes('?q=')) expect(res.text).not.toContain('victim.example');
    }
    // The log pages list the intruder's own requests (whose paths name the victim's ids: it sent
    // them), never one of the victim's.
    for (const path of ['/ops/log', `/ops/log?user=${a.user}`, `/ops/log?request=${a.request}`]) {
      const res = await page(path);
      expect(res.status).toBe(200);
      expect(res.text).not.toContain(`/ops/log/${a.request}`);
      expect(res.text).not.toContain('test-victim-');
    }
    expect((await page('/ops/users?q=eve')).text).toContain('eve@intruder.example'); // the search works: it finds its own users
    expect(await snapshot()).toBe(before);
  });

  it('finds none of them in lists, filters and searches', async () => {
    const before = await snapshot();
    const ids = Object.values(a);
    const lists = [
      await intruder.scim.get('/Users?count=1000'),
      await intruder.scim.get('/Groups?count=1000'),
      await intruder.scim.get(`/Users?filter=${encodeURIComponent(`userName eq "${a.userName}"`)}`),
      await intruder.scim.get(`/Users?filter=${encodeURIComponent(`id eq "${a.user}" or externalId eq "victim-ext-1" or emails.value eq "${a.email}"`)}`),
      await intruder.scim.get(`/Groups?filter=${encodeURIComponent('displayName eq "Victim Sales"')}`),
      await intruder.scim.get(`/Groups?filter=${encodeURIComponent(`members.value eq "${a.user}"`)}`),
      await intruder.scim.post('/.search', { filter: `userName eq "${a.userName}" or displayName eq "Victim Sales"` }),
      await intruder.scim.post('/Users/.search', { filter: `userName eq "${a.userName}"` }),
      await intruder.scim.post('/Groups/.search', { filter: 'displayName sw "Victim"' }),
      await intruder.admin.get('/content'),
      await intruder.admin.get('/webhooks'),
      await intruder.admin.get('/credits/transfers'),
    ];
    for (const res of lists) {
      expect(res.status).toBe(200);
      for (const id of ids) expect(res.text).not.toContain(id);
      expect(res.text).not.toContain('victim');
      expect(res.text).not.toContain('Victim');
    }
    // The intruder's own things are there: the lists work, they only hold its own.
    expect(lists[0]!.text).toContain(b.user);
    expect(lists[9]!.text).toContain(b.content);
    // Its sync log holds its own requests only (which name the victim's ids: it sent them), none of the victim's.
    await t.syncLog.writer.flush();
    for (const query of ['/sync-log?limit=100', `/sync-log?user=${a.user}`, `/sync-log?request=${a.request}`]) {
      const log = await intruder.admin.get(query).expect(200);
      const items = (log.body as { items: { id: string; tokenLabel: string | null }[] }).items;
      expect(items.map((e) => e.id)).not.toContain(a.request);
      for (const e of items) expect(e.tokenLabel).toMatch(/^test-intruder-/);
    }
    expect(((await intruder.admin.get('/sync-log?limit=100')).body as { items: unknown[] }).items.length).toBeGreaterThan(20);
    expect((await intruder.admin.post('/reconcile', { dryRun: false })).status).toBe(200);
    expect(await snapshot()).toBe(before);
  });
});
