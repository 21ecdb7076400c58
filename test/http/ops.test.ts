import crypto from 'node:crypto';
import pino from 'pino';
import request from 'supertest';
import { DEFAULT_DISPATCHER_OPTIONS, Dispatcher } from '../../src/outbox/dispatcher';
import { createTestApp, GROUP, patchOp, USER, type ScimClient, type TestApp } from '../helpers/app';

/** The operator pages through real HTTP: sign-in, the log and its filters, an entry, a user's "why", a group. */
describe('operator pages', () => {
  let t: TestApp;
  let scim: ScimClient;
  let admin: ScimClient;
  let cookie: string;
  let adminToken: string;
  const ids: Record<string, string> = {};

  const page = (path: string) => request(t.app).get(path).set('cookie', cookie);
  const signIn = async (token: string) => request(t.app).post('/ops/login').type('form').send({ token });

  beforeAll(async () => {
    t = await createTestApp();
    scim = await t.scim();
    admin = await t.admin();
    adminToken = await t.token('acme', 'admin');
    const alice = await scim.post('/Users', { schemas: [USER], userName: 'alice@example.com', displayName: 'Alice <script>alert(1)</script>', password: 'Pa55-word!' });
    ids.alice = alice.body.id;
    ids.aliceCreated = alice.headers['x-request-id'] as string;
    ids.duplicate = (await scim.post('/Users', { schemas: [USER], userName: 'ALICE@example.com' })).headers['x-request-id'] as string;
    const group = await scim.post('/Groups', { schemas: [GROUP], displayName: 'Sales <EMEA>' });
    ids.group = group.body.id;
    const content = await admin.post('/content', { kind: 'course', title: 'Security Basics' });
    await admin.post(`/groups/${ids.group}/assignments`, { contentId: content.body.id, mandatory: true });
    const join = await scim.patch(`/Groups/${ids.group}`, patchOp({ op: 'add', path: 'members', value: [{ value: ids.alice }] }));
    ids.join = join.headers['x-request-id'] as string;
    const res = await signIn(adminToken);
    cookie = (res.headers['set-cookie'] as unknown as string[])[0]!.split(';')[0]!;
  });
  afterAll(() => t.close());

  it('refuses a NUL character in the address with a 400 page, on either engine', async () => {
    for (const path of ['/ops/users/%00', '/ops/log?user=a%00b']) {
      const res = await request(t.app).get(path).expect(400).expect('content-type', /html/);
      expect(res.text).toContain('NUL characters (U+0000) are not allowed in requests');
    }
  });

  it('sends a visitor without a cookie to the sign-in page', async () => {
    for (const path of ['/ops', '/ops/log', `/ops/users/${ids.alice}`, '/ops/groups']) {
      const res = await request(t.app).get(path).expect(303);
      expect(res.headers.location).toBe('/ops/login');
    }
    const login = await request(t.app).get('/ops/login').expect(200).expect('content-type', /html/);
    expect(login.text).toContain('<label for="token">Admin token</label>');
    expect(login.text).toContain('type="password"');
  });

  it('signs in with an admin token into an HttpOnly, SameSite=Strict cookie, never a URL', async () => {
    const res = await signIn(adminToken);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/ops/log');
    const setCookie = (res.headers['set-cookie'] as unknown as string[])[0]!;
    expect(setCookie).toMatch(/^roster_ops=rst_admin_[^;]+; Path=\/ops; HttpOnly; SameSite=Strict$/);
    const log = await page('/ops/log').expect(200);
    expect(log.text).not.toContain(adminToken);
    expect(log.text).toContain('Tenant <strong>acme</strong>');
  });

  it('refuses a wrong token and a SCIM token, setting no cookie', async () => {
    for (const token of ['rst_admin_nope', await t.token('acme', 'scim'), '']) {
      const res = await signIn(token);
      expect(res.status).toBe(401);
      expect(res.headers['set-cookie']).toBeUndefined();
      expect(res.text).toContain('role="alert"');
    }
  });

  it('refuses a sign-in form posted from another site, and one too large to be a token', async () => {
    const crossSite = await request(t.app).post('/ops/login').set('sec-fetch-site', 'cross-site').type('form').send({ token: adminToken });
    expect(crossSite.status).toBe(403);
    expect(crossSite.headers['set-cookie']).toBeUndefined();
    const huge = await request(t.app).post('/ops/login').type('form').send({ token: 'x'.repeat(10_000) });
    expect(huge.status).toBe(413);
    expect(huge.headers['set-cookie']).toBeUndefined();
    expect(huge.text).toContain('<html lang="en">');
  });

  it('stops honouring the cookie once the token is revoked', async () => {
    const { token, info } = await t.tenancy.createToken('acme', 'admin', 'soon-revoked');
    const res = await signIn(token);
    const revokedCookie = (res.headers['set-cookie'] as unknown as string[])[0]!.split(';')[0]!;
    await request(t.app).get('/ops/log').set('cookie', revokedCookie).expect(200);
    await t.tenancy.revokeToken(info.id);
    const after = await request(t.app).get('/ops/log').set('cookie', revokedCookie).expect(303);
    expect(after.headers.location).toBe('/ops/login');
  });

  it('lists the log newest first and filters to failed requests', async () => {
    const all = await page('/ops/log').expect(200);
    expect(all.text).toContain(`/ops/log/${ids.join}`);
    expect(all.text).toContain(`/ops/log/${ids.duplicate}`);
    expect(all.text.indexOf(ids.join!)).toBeLessThan(all.text.indexOf(ids.duplicate!));
    const failed = await page('/ops/log?status=failed').expect(200);
    expect(failed.text).toContain(`/ops/log/${ids.duplicate}`);
    expect(failed.text).not.toContain(`/ops/log/${ids.join}`);
    expect(failed.text).toContain('<option value="failed" selected>');
  });

  it('shows a bad filter as a 400 page naming the problem', async () => {
    const res = await page('/ops/log?since=yesterday').expect(400);
    expect(res.text).toContain('since must be an ISO-8601 time or a duration');
    expect(res.text).toContain('value="yesterday"');
  });

  it('shows a cursor it did not make as a 400 page', async () => {
    const res = await page('/ops/log?cursor=bm9wZQ').expect(400);
    expect(res.text).toContain('cursor is not one this API returned');
  });

  it('pages through the log with an "Older entries" link that keeps the filters', async () => {
    for (let i = 0; i < 55; i++) await scim.get('/Users?count=1');
    const first = await page('/ops/log?method=GET').expect(200);
    const older = /href="(\/ops\/log\?[^"]*cursor=[^"]+)"/.exec(first.text)?.[1]?.replace(/&amp;/g, '&');
    expect(older).toContain('method=GET');
    const second = await page(older!).expect(200);
    expect(second.text).toMatch(/<td>GET<\/td>/);
    expect(second.text).not.toContain('Older entries');
  });

  it('shows one entry with its request, response and changes, password removed', async () => {
    const created = await page(`/ops/log/${ids.aliceCreated}`).expect(200);
    expect(created.text).toContain('POST /scim/v2/Users');
    expect(created.text).toContain('&quot;password&quot;: &quot;[redacted]&quot;');
    expect(created.text).not.toContain('Pa55-word!');
    expect(created.text).toContain(`<a class="mono" href="/ops/users/${ids.alice}">`);
    const dup = await page(`/ops/log/${ids.duplicate}`).expect(200);
    expect(dup.text).toMatch(/<span class="s4">409<\/span> <span class="muted">uniqueness<\/span>/);
    expect(dup.text).toContain('None: this request changed nothing.');
    expect(dup.text).toContain('<pre tabindex="0" aria-label="Response body">');
    expect(dup.text).toContain('&quot;scimType&quot;: &quot;uniqueness&quot;');
    expect(dup.text).toContain('userName &quot;ALICE@example.com&quot;');
    const join = await page(`/ops/log/${ids.join}`).expect(200);
    expect(join.text).toMatch(/<td>membership\.added<\/td><td class="num">1<\/td>/);
    expect(join.text).toMatch(/<td>enrollment\.created<\/td><td class="num">1<\/td>/);
  });

  it('says an entry is still being written when only its changes are logged, and how many ids it left out', async () => {
    const requestId = crypto.randomUUID();
    await t.db.knex('sync_changes').insert({
      tenant_id: await t.tenantId('acme'),
      request_id: requestId,
      kind: 'membership.added',
      group_id: ids.group,
      count: 3,
      ids: JSON.stringify([ids.alice]),
      at: new Date().toISOString(),
    });
    const res = await page(`/ops/log/${requestId}`).expect(200);
    expect(res.text).toContain('its entry is still being written');
    expect(res.text).toContain(`<a class="mono" href="/ops/users/${ids.alice}">`);
    expect(res.text).toContain('and 2 more');
  });

  it("shows a user's groups and enrollments, and for each enrollment the grants and the requests behind them", async () => {
    const res = await page(`/ops/users/${ids.alice}`).expect(200);
    expect(res.text).toContain('Security Basics');
    expect(res.text).toContain('active, 0%, mandatory');
    expect(res.text).toContain(`<a href="/ops/groups/${ids.group}">Sales &lt;EMEA&gt;</a>`);
    expect(res.text).toContain(`<a class="mono" href="/ops/log/${ids.join}">${ids.join!.slice(0, 8)}</a>`);
    expect(res.text).toContain(`/ops/log?user=${ids.alice}`);
  });

  it('shows a group with members, assignments and recent pushes', async () => {
    const res = await page(`/ops/groups/${ids.group}`).expect(200);
    expect(res.text).toContain('<h1>Sales &lt;EMEA&gt;</h1>');
    expect(res.text).toContain(`<a href="/ops/users/${ids.alice}">alice@example.com</a>`);
    expect(res.text).toMatch(/<td>Security Basics<\/td><td>yes<\/td>/);
    expect(res.text).toContain(`/ops/log/${ids.join}`);
  });

  it('finds users by userName or email prefix and groups by name', async () => {
    const users = await page('/ops/users?q=ALI').expect(200);
    expect(users.text).toContain(`href="/ops/users/${ids.alice}"`);
    expect((await page('/ops/users?q=bob').expect(200)).text).toContain('Nothing found.');
    expect((await page('/ops/users?q=%25').expect(200)).text).toContain('Nothing found.'); // % is a character, not a wildcard
    expect((await page('/ops/groups?q=sales').expect(200)).text).toContain(`href="/ops/groups/${ids.group}"`);
  });

  it('escapes everything that comes from a push', async () => {
    const res = await page(`/ops/users/${ids.alice}`).expect(200);
    expect(res.text).not.toContain('<script>');
    expect(res.text).toContain('Alice &lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it("answers 404 for another tenant's entry, user and group, and for unknown ones", async () => {
    const other = await signIn(await t.token('globex', 'admin'));
    const otherCookie = (other.headers['set-cookie'] as unknown as string[])[0]!.split(';')[0]!;
    for (const path of [`/ops/log/${ids.join}`, `/ops/users/${ids.alice}`, `/ops/groups/${ids.group}`, '/ops/nowhere']) {
      const res = await request(t.app).get(path).set('cookie', otherCookie).expect(404);
      expect(res.text).toContain('Not found');
    }
    expect((await request(t.app).get('/ops/log').set('cookie', otherCookie).expect(200)).text).toContain('No entries match.');
  });

  it('sends the security headers: no script, no framing, no caching', async () => {
    const res = await page('/ops/log').expect(200);
    expect(res.headers['content-security-policy']).toBe("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.text).not.toMatch(/<script|src="http|href="http/);
  });

  it('answers a server error with a 500 page naming the request id, not a 404', async () => {
    await t.db.knex.schema.renameTable('enrollments', 'enrollments_gone');
    try {
      const res = await page(`/ops/users/${ids.alice}`).expect(500);
      expect(res.text).toContain(res.headers['x-request-id']);
    } finally {
      await t.db.knex.schema.renameTable('enrollments_gone', 'enrollments');
    }
  });

  it('shows webhook subscriptions with their state and delivery attempts', async () => {
    const hook = (await admin.post('/webhooks', { url: 'http://127.0.0.1:9/nowhere', events: ['membership.added'] }).expect(201)).body as { id: string; secret: string };
    expect((await page('/ops/webhooks').expect(200)).text).toContain('Nothing sent yet.');
    const u = (await scim.post('/Users', { schemas: [USER], userName: 'webhook.page@example.com' })).body.id as string;
    await scim.patch(`/Groups/${ids.group}`, patchOp({ op: 'add', path: 'members', value: [{ value: u }] })).expect(204);
    await new Dispatcher(t.db, pino({ level: 'silent' }), { ...DEFAULT_DISPATCHER_OPTIONS, timeoutMs: 1000 }).runOnce();
    const res = await page('/ops/webhooks').expect(200);
    expect(res.text).toContain('http://127.0.0.1:9/nowhere');
    expect(res.text).toContain('<span class="s4">retrying</span>: 1 failed');
    expect(res.text).toContain('could not reach the receiver');
    expect(res.text).not.toContain(hook.secret);
  });

  it('signs out by clearing the cookie', async () => {
    const res = await request(t.app).post('/ops/logout').set('cookie', cookie).expect(303);
    expect(res.headers.location).toBe('/ops/login');
    expect((res.headers['set-cookie'] as unknown as string[])[0]).toMatch(/^roster_ops=; Path=\/ops; HttpOnly; SameSite=Strict; Max-Age=0$/);
  });
});
