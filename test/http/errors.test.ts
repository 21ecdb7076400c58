import request from 'supertest';
import { createTestApp, ERROR, USER, type TestApp } from '../helpers/app';

describe('SCIM errors', () => {
  let t: TestApp;

  beforeEach(async () => {
    t = await createTestApp({ maxBodyBytes: 64 * 1024 });
  });
  afterEach(() => t.close());

  it('answers 413 with a SCIM error for a body over the limit', async () => {
    const scim = await t.scim();
    const res = await scim.post('/Users', { schemas: [USER], userName: 'big', title: 'x'.repeat(100 * 1024) });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ schemas: [ERROR], status: '413' });
  });

  it('refuses a write that runs past the request budget with 503 and Retry-After, and applies none of it', async () => {
    const slow = await createTestApp({ requestBudgetMs: 300 });
    try {
      const scim = await slow.scim();
      // A hook that makes the change outlast the budget: on PostgreSQL one statement that runs too
      // long (cancelled by PostgreSQL), on SQLite time spent between statements.
      slow.store.hooks.register(async (tx, e) => {
        if (e.type !== 'user.created' || !e.user.userName.startsWith('slow')) return;
        if (tx.dialect === 'postgres') await tx.query('select pg_sleep(5)');
        else await new Promise((r) => setTimeout(r, 500));
      });
      const sent = Date.now();
      const res = await scim.post('/Users', { schemas: [USER], userName: 'slow@example.com', emails: [{ value: 'slow@example.com', type: 'work' }] });
      expect(res.status).toBe(503);
      // Answered at the budget, not when the 5 s statement would have ended: PostgreSQL cancelled it.
      if (slow.db.dialect === 'postgres') expect(Date.now() - sent).toBeLessThan(4000);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.body).toMatchObject({ schemas: [ERROR], status: '503', detail: expect.stringMatching(/time budget .*nothing was applied/) });
      expect(await slow.db.knex('users').where({ user_name: 'slow@example.com' }).first()).toBeUndefined();
      expect(await slow.db.knex('user_emails').where({ value: 'slow@example.com' }).first()).toBeUndefined();
      // The connection is free again and the next request, within its budget, is applied.
      await scim.post('/Users', { schemas: [USER], userName: 'quick@example.com' }).expect(201);
    } finally {
      await slow.close();
    }
  });

  it('refuses NUL characters in ids, filters and bodies with 400 on either engine, and stores nothing', async () => {
    const scim = await t.scim();
    const admin = await t.admin();
    const nul = { schemas: [ERROR], status: '400', scimType: 'invalidValue', detail: 'NUL characters (U+0000) are not allowed in requests' };
    expect((await scim.get('/Users/%00')).body).toMatchObject(nul);
    expect((await scim.get(`/Users?filter=${encodeURIComponent('userName eq "a\u0000"')}`)).body).toMatchObject(nul);
    expect((await scim.post('/Users', { schemas: [USER], userName: 'a\u0000b' })).body).toMatchObject(nul);
    expect((await scim.post('/Users', { schemas: [USER], userName: 'n', name: { givenName: 'x\u0000' } })).body).toMatchObject(nul);
    expect((await admin.post('/content', { kind: 'course', title: 'T\u0000' })).body).toMatchObject({ error: { code: 'invalidBody', message: nul.detail } });
    expect((await admin.get('/sync-log?status=%00')).body).toMatchObject({ error: { code: 'invalidQuery', message: nul.detail } });
    expect((await scim.get('/Users')).body).toMatchObject({ totalResults: 0 });
    // A backslash followed by the text u0000 is no NUL: it is kept as sent.
    const literal = await scim.post('/Users', { schemas: [USER], userName: 'back\\u0000slash' }).expect(201);
    expect(literal.body.userName).toBe('back\\u0000slash');
  });

  it('answers 400 invalidValue for a value longer than its column on either engine, and stores nothing', async () => {
    const scim = await t.scim();
    const long = 'x'.repeat(301);
    const cases = [
      { schemas: [USER], userName: long },
      { schemas: [USER], userName: 'ok1', displayName: long },
      { schemas: [USER], userName: 'ok2', emails: [{ value: `${long}@example.com`, type: 'work' }] },
    ];
    for (const body of cases) {
      const res = await scim.post('/Users', body);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ schemas: [ERROR], status: '400', scimType: 'invalidValue', detail: expect.stringMatching(/longer than 300 characters/) });
    }
    const group = await scim.post('/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: long });
    expect(group.status).toBe(400);
    expect((await scim.get('/Users')).body.totalResults).toBe(0);
    expect((await scim.get('/Groups')).body.totalResults).toBe(0);
  });

  it('answers 404 with a SCIM error for an unknown endpoint', async () => {
    const scim = await t.scim();
    const res = await scim.get('/Widgets');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ schemas: [ERROR], status: '404' });
  });

  it('routes resources in any case, with a trailing slash and for HEAD, and refuses an id that is not valid percent-encoding with 400', async () => {
    const scim = await t.scim();
    const created = await scim.post('/Users', { schemas: [USER], userName: 'routed@example.com' }).expect(201);
    const id: string = created.body.id;
    expect((await scim.get(`/users/${id}`).expect(200)).body.id).toBe(id);
    expect((await scim.get(`/USERS/${id}/`).expect(200)).body.id).toBe(id);
    expect((await scim.get('/Users/').expect(200)).body.totalResults).toBe(1);
    const auth = `Bearer ${await t.token()}`;
    const headRes = await request(t.app).head(`/scim/v2/Users/${id}`).set('authorization', auth);
    expect(headRes.status).toBe(200);
    expect(headRes.headers.etag).toBe(created.headers.etag);
    // Percent-encoded ids are decoded (the id of a user that does not exist: 404), a broken one is a 400.
    expect((await scim.get('/Users/no%2Dsuch').expect(404)).body.detail).toBe('User no-such not found');
    const broken = await scim.get('/Users/%E0%A4%A');
    expect(broken.status).toBe(400);
    expect(broken.body).toMatchObject({ schemas: [ERROR], status: '400', scimType: 'invalidSyntax' });
    // `.search` in any case is the search, and more segments than /Resource/id is no endpoint.
    expect((await scim.post('/users/.SEARCH', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'] }).expect(200)).body.totalResults).toBe(1);
    expect((await scim.get(`/Users/${id}/groups`).expect(404)).body.detail).toBe(`No SCIM endpoint GET /Users/${id}/groups`);
    expect((await scim.get(`/Users//${id}`).expect(404)).body.detail).toMatch(/^No SCIM endpoint/);
    // A method the resource does not have is no endpoint either (and changes nothing).
    const options = await request(t.app).options(`/scim/v2/Users/${id}`).set('authorization', auth);
    expect(options.status).toBe(404);
  });

  it('answers a database failure with 500, never 404, and says where to look', async () => {
    const scim = await t.scim();
    const created = await scim.post('/Users', { schemas: [USER], userName: 'victim' });
    // Break the store underneath the server: the users table disappears.
    await t.db.knex.schema.renameTable('users', 'users_gone');
    const res = await scim.get(`/Users/${created.body.id}`);
    expect(res.status).toBe(500);
    expect(res.body).toMatchObject({ schemas: [ERROR], status: '500' });
    expect(res.body.detail).toContain(res.headers['x-request-id']);
    await t.db.knex.schema.renameTable('users_gone', 'users');
  });

  it('answers 401 before reading the body', async () => {
    const res = await request(t.app).post('/scim/v2/Users').set('content-type', 'application/json').send('{not json');
    expect(res.status).toBe(401);
  });
});

describe('SCIM under a busy database', () => {
  it('answers 503 with a whole-seconds Retry-After when no connection comes free in time, and applies nothing', async () => {
    const t = await createTestApp({}, { acquireTimeoutMs: 300 });
    try {
      const scim = await t.scim();
      const token = await t.token();
      // Hold every connection of the pool (SQLite has one) in open transactions.
      const poolSize = t.db.dialect === 'sqlite' ? 1 : 10;
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const started: Promise<void>[] = [];
      const holders = Array.from({ length: poolSize }, () => {
        let begun!: () => void;
        started.push(new Promise<void>((r) => (begun = r)));
        return t.db.knex.transaction(() => {
          begun();
          return held;
        });
      });
      await Promise.all(started);
      const res = await request(t.app)
        .post('/scim/v2/Users')
        .set('authorization', `Bearer ${token}`)
        .send({ schemas: [USER], userName: 'queued' });
      release();
      await Promise.all(holders);
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toMatch(/^\d+$/);
      expect(res.body).toMatchObject({ schemas: [ERROR], status: '503' });
      const list = await scim.get('/Users?filter=userName eq "queued"');
      expect(list.body.totalResults).toBe(0);
    } finally {
      await t.close();
    }
  });
});

describe('SCIM rate limits', () => {
  it('answers 429 with a whole-seconds Retry-After past a token’s limit, applies nothing, and limits each token alone', async () => {
    const t = await createTestApp({ rateLimitPerSecond: 1, rateLimitBurst: 2 });
    try {
      const acme = await t.scim('acme');
      expect((await acme.get('/Users')).status).toBe(200);
      expect((await acme.get('/Users')).status).toBe(200);
      const refused = await acme.post('/Users', { schemas: [USER], userName: 'over.the.limit' });
      expect(refused.status).toBe(429);
      expect(refused.headers['retry-after']).toMatch(/^[1-9]\d*$/);
      expect(refused.body).toMatchObject({ schemas: [ERROR], status: '429' });
      expect(await t.db.knex('users').where({ user_name: 'over.the.limit' }).first()).toBeUndefined();
      // another tenant's token has its own bucket
      expect((await (await t.scim('globex')).get('/Users')).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});
