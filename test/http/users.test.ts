import crypto from 'node:crypto';
import { createTestApp, ENTERPRISE, ERROR, patchOp, USER, type ScimClient, type TestApp } from '../helpers/app';

/** Entra ID's create-user body, from Microsoft's SCIM provisioning tutorial. */
const entraUser = (suffix = crypto.randomUUID()) => ({
  schemas: [USER, ENTERPRISE],
  externalId: crypto.randomUUID(),
  userName: `Test_User_${suffix}@testuser.com`,
  active: true,
  emails: [{ primary: true, type: 'work', value: `Test_User_${suffix}@testuser.com` }],
  meta: { resourceType: 'User' },
  name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
  roles: [],
});

/** Okta's create-user body, from Okta's SCIM 2.0 guide (it sends a password and an empty groups list). */
const oktaUser = (login: string) => ({
  schemas: [USER],
  userName: login,
  name: { givenName: 'Test', familyName: 'User' },
  emails: [{ primary: true, value: login, type: 'work' }],
  displayName: 'Test User',
  locale: 'en-US',
  externalId: `00u${crypto.randomBytes(8).toString('hex')}`,
  groups: [],
  password: '1mz050nq',
  active: true,
});

describe('SCIM Users', () => {
  let t: TestApp;
  let scim: ScimClient;

  beforeAll(async () => {
    t = await createTestApp();
    scim = await t.scim();
  });
  afterAll(() => t.close());

  const create = async (body: unknown) => {
    const res = await scim.post('/Users', body);
    expect(res.status).toBe(201);
    return res.body as { id: string; userName: string; meta: { version: string; location: string } };
  };

  describe('create and read', () => {
    it('creates a user: 201 with Location, ETag and the resource', async () => {
      const body = entraUser();
      const res = await scim.post('/Users', body);
      expect(res.status).toBe(201);
      expect(res.headers['content-type']).toMatch(/application\/scim\+json/);
      expect(res.headers.location).toBe(res.body.meta.location);
      expect(res.headers.location).toMatch(new RegExp(`/scim/v2/Users/${res.body.id}$`));
      expect(res.headers.etag).toBe(res.body.meta.version);
      expect(res.body).toMatchObject({
        userName: body.userName,
        externalId: body.externalId,
        active: true,
        name: body.name,
        emails: body.emails,
        meta: { resourceType: 'User' },
      });
      const read = await scim.get(`/Users/${res.body.id}`);
      expect(read.status).toBe(200);
      // supertest serves each request on a new port, so the host part of the location differs
      const withoutLocation = (b: { meta: Record<string, unknown> }) => ({ ...b, meta: { ...b.meta, location: undefined } });
      expect(withoutLocation(read.body)).toEqual(withoutLocation(res.body));
    });

    it('never stores or returns a password pushed by Okta, and ignores its read-only groups', async () => {
      const created = await create(oktaUser(`okta.${crypto.randomUUID()}@example.com`));
      expect(created).not.toHaveProperty('password');
      const row = await t.db.knex('users').where({ id: created.id }).first();
      expect(JSON.stringify(row)).not.toContain('1mz050nq');
    });

    it('answers 409 uniqueness for a userName taken in any letter case', async () => {
      const body = oktaUser(`Dup.${crypto.randomUUID()}@Example.com`);
      await create(body);
      const res = await scim.post('/Users', { ...body, userName: body.userName.toUpperCase() });
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ schemas: [ERROR], status: '409', scimType: 'uniqueness' });
      expect(res.body.detail).toContain('already taken');
    });

    it('answers 400 invalidValue for a user without userName, and creates nothing', async () => {
      const before = await t.db.knex('users').count({ n: '*' }).first();
      const res = await scim.post('/Users', { schemas: [USER], active: true });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ schemas: [ERROR], status: '400', scimType: 'invalidValue' });
      expect(await t.db.knex('users').count({ n: '*' }).first()).toEqual(before);
    });

    it('answers 400 invalidSyntax for a body that is not JSON', async () => {
      const res = await scim.post('/Users').set('content-type', 'application/json').send('{"userName": tre');
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ schemas: [ERROR], scimType: 'invalidSyntax' });
    });

    it('coerces the string booleans Entra sends ("True") and accepts attribute names in any case', async () => {
      const res = await scim.post('/Users', {
        schemas: [USER, ENTERPRISE],
        UserName: `case.${crypto.randomUUID()}`,
        Active: 'True',
        emails: [{ Primary: 'true', type: 'work', Value: 'x@example.com' }],
        [ENTERPRISE]: { Department: 'Sales', Manager: { Value: 'mgr-1' } },
      });
      expect(res.status).toBe(201);
      expect(res.body.active).toBe(true);
      expect(res.body.emails).toEqual([{ primary: true, type: 'work', value: 'x@example.com' }]);
      expect(res.body[ENTERPRISE]).toEqual({ department: 'Sales', manager: { value: 'mgr-1' } });
    });

    it('answers 404 with a SCIM error body for an unknown id, however odd', async () => {
      for (const id of ['010101001010101011001010101011', crypto.randomUUID(), '00919288221112222']) {
        const res = await scim.get(`/Users/${id}`);
        expect(res.status).toBe(404);
        expect(res.body).toMatchObject({ schemas: [ERROR], status: '404' });
        expect(res.body.detail).toContain(id);
      }
    });

    it('answers 401 with a SCIM error body without a valid bearer token', async () => {
      for (const auth of [undefined, 'non-token', 'Bearer not-a-real-token']) {
        const req = (await import('supertest')).default(t.app).get('/scim/v2/Users');
        const res = await (auth ? req.set('authorization', auth) : req);
        expect(res.status).toBe(401);
        expect(res.body).toMatchObject({ schemas: [ERROR], status: '401' });
        expect(res.body.detail).toBeTruthy();
      }
    });

    it('serves paths in any letter case', async () => {
      const res = await scim.get('/users?count=1');
      expect(res.status).toBe(200);
      expect(res.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:ListResponse']);
    });

    it('answers 304 to If-None-Match with the current version', async () => {
      const u = await create(entraUser());
      const res = await scim.get(`/Users/${u.id}`).set('if-none-match', u.meta.version);
      expect(res.status).toBe(304);
    });
  });

  describe('filters, as Okta and Entra send them', () => {
    it('finds a user by userName in any letter case (Okta checks before every create)', async () => {
      const login = `Okta.Case.${crypto.randomUUID()}@example.com`;
      const u = await create(oktaUser(login));
      for (const variant of [login, login.toUpperCase(), login.toLowerCase()]) {
        const res = await scim.get(`/Users?filter=${encodeURIComponent(`userName eq "${variant}"`)}&startIndex=1&count=100`);
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ totalResults: 1, startIndex: 1, itemsPerPage: 1 });
        expect(res.body.Resources[0].id).toBe(u.id);
      }
    });

    it('answers a filter on a random GUID with 200 and an empty list (Entra)', async () => {
      for (const f of [`userName eq "${crypto.randomUUID()}"`, `id eq "${crypto.randomUUID()}"`, `externalId eq "${crypto.randomUUID()}"`]) {
        const res = await scim.get(`/Users?filter=${encodeURIComponent(f)}`);
        expect(res.status).toBe(200);
        expect(res.body).toEqual({
          schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
          totalResults: 0,
          startIndex: 1,
          itemsPerPage: 0,
          Resources: [],
        });
      }
    });

    it('filters on a value path: emails[type eq "work"].value', async () => {
      const body = entraUser();
      const u = await create(body);
      const value = body.emails[0]!.value.toUpperCase();
      const res = await scim.get(`/Users?filter=${encodeURIComponent(`emails[type eq "work"].value eq "${value}"`)}`);
      expect(res.body.Resources.map((r: { id: string }) => r.id)).toEqual([u.id]);
      const none = await scim.get(`/Users?filter=${encodeURIComponent(`emails[type eq "home"].value eq "${value}"`)}`);
      expect(none.body.totalResults).toBe(0);
    });

    it('answers 400 invalidFilter for a broken filter', async () => {
      for (const f of ['userName eq', 'userName zz "x"', '(userName eq "x"', 'nosuchattribute eq "x"']) {
        const res = await scim.get(`/Users?filter=${encodeURIComponent(f)}`);
        expect(res.status).toBe(400);
        expect(res.body).toMatchObject({ schemas: [ERROR], scimType: 'invalidFilter' });
      }
    });

    it('also searches by POST /Users/.search', async () => {
      const login = `search.${crypto.randomUUID()}@example.com`;
      const u = await create(oktaUser(login));
      const res = await scim.post('/Users/.search', {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
        filter: `userName eq "${login}"`,
        attributes: ['userName'],
        startIndex: 1,
        count: 10,
      });
      expect(res.status).toBe(200);
      expect(res.body.Resources).toEqual([{ schemas: [USER], id: u.id, userName: login }]);
    });
  });

  describe('PATCH, as Entra sends it', () => {
    it('applies capitalised ops, string booleans, a filtered-path add that creates the email, and a manager as a bare string', async () => {
      const u = await create({ schemas: [USER], userName: `patch.${crypto.randomUUID()}`, active: true });
      const res = await scim.patch(
        `/Users/${u.id}`,
        patchOp(
          { op: 'Add', path: 'emails[type eq "work"].value', value: 'new.work@example.com' },
          { op: 'Replace', path: 'name.familyName', value: 'Updated' },
          { op: 'Replace', path: 'active', value: 'False' },
          { op: 'Add', path: `${ENTERPRISE}:manager`, value: 'manager-id-1' },
          { op: 'Add', path: `${ENTERPRISE}:department`, value: 'Finance' },
        ),
      );
      expect(res.status).toBe(204);
      expect(res.headers.etag).toBe('W/"2"');
      const read = await scim.get(`/Users/${u.id}`);
      expect(read.body).toMatchObject({
        active: false,
        emails: [{ type: 'work', value: 'new.work@example.com' }],
        name: { familyName: 'Updated' },
        [ENTERPRISE]: { manager: { value: 'manager-id-1' }, department: 'Finance' },
      });
      expect(read.body.schemas).toEqual([USER, ENTERPRISE]);
    });

    it('replaces the value of an existing filtered email rather than adding one', async () => {
      const body = entraUser();
      const u = await create(body);
      await scim.patch(`/Users/${u.id}`, patchOp({ op: 'Replace', path: 'emails[type eq "work"].value', value: 'updated@example.com' })).expect(204);
      const read = await scim.get(`/Users/${u.id}`);
      expect(read.body.emails).toEqual([{ primary: true, type: 'work', value: 'updated@example.com' }]);
      const found = await scim.get(`/Users?filter=${encodeURIComponent('emails.value eq "updated@example.com"')}`);
      expect(found.body.Resources.map((r: { id: string }) => r.id)).toContain(u.id);
    });

    it('accepts an empty Operations list as no change', async () => {
      const u = await create(entraUser());
      await scim.patch(`/Users/${u.id}`, patchOp()).expect(204);
      const read = await scim.get(`/Users/${u.id}`);
      expect(read.body.meta.version).toBe(u.meta.version);
    });

    it('deactivates with Okta’s path-less replace and returns the resource when attributes are asked for', async () => {
      const u = await create(oktaUser(`deact.${crypto.randomUUID()}@example.com`));
      const res = await scim.patch(`/Users/${u.id}?attributes=active`, patchOp({ op: 'replace', value: { active: false } }));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ schemas: [USER], id: u.id, active: false });
    });

    it('answers 400 for an unknown attribute path and changes nothing', async () => {
      const u = await create(entraUser());
      const res = await scim.patch(`/Users/${u.id}`, patchOp({ op: 'replace', path: 'nosuch', value: 'x' }));
      expect(res.status).toBe(400);
      expect(res.body.scimType).toBe('invalidPath');
      expect((await scim.get(`/Users/${u.id}`)).body.meta.version).toBe(u.meta.version);
    });
  });

  describe('PUT, DELETE and ETags', () => {
    it('replaces the whole user with PUT (Okta), dropping attributes not sent', async () => {
      const login = `put.${crypto.randomUUID()}@example.com`;
      const u = await create({ ...oktaUser(login), title: 'Engineer' });
      const res = await scim.put(`/Users/${u.id}`, { ...oktaUser(login), displayName: 'Renamed', active: false });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: u.id, displayName: 'Renamed', active: false });
      expect(res.body).not.toHaveProperty('title');
    });

    it('changes nothing, not even the version, when a PUT repeats the current state (Okta re-pushes)', async () => {
      const login = `repeat.${crypto.randomUUID()}@example.com`;
      const body = { ...oktaUser(login), emails: [{ value: login, type: 'work' }], [ENTERPRISE]: { department: 'Sales' } };
      const u = await create({ ...body, schemas: [USER, ENTERPRISE] });
      const again = await scim.put(`/Users/${u.id}`, { ...body, schemas: [USER, ENTERPRISE] });
      expect(again.status).toBe(200);
      expect(again.body.meta.version).toBe(u.meta.version);
      expect(again.body.meta.lastModified).toBe((u.meta as unknown as { lastModified: string }).lastModified);
    });

    it('answers 412 when If-Match names an old version, and applies nothing', async () => {
      const u = await create(entraUser());
      await scim.patch(`/Users/${u.id}`, patchOp({ op: 'replace', path: 'displayName', value: 'v2' })).expect(204);
      const stale = await scim
        .patch(`/Users/${u.id}`, patchOp({ op: 'replace', path: 'displayName', value: 'stale' }))
        .set('if-match', u.meta.version);
      expect(stale.status).toBe(412);
      expect(stale.body).toMatchObject({ schemas: [ERROR], status: '412' });
      expect((await scim.get(`/Users/${u.id}`)).body.displayName).toBe('v2');
      await scim.patch(`/Users/${u.id}`, patchOp({ op: 'replace', path: 'displayName', value: 'v3' })).set('if-match', 'W/"2"').expect(204);
    });

    it('deletes a user: 204, then 404', async () => {
      const u = await create(entraUser());
      await scim.delete(`/Users/${u.id}`).expect(204);
      expect((await scim.get(`/Users/${u.id}`)).status).toBe(404);
      expect((await scim.delete(`/Users/${u.id}`)).status).toBe(404);
    });
  });

  describe('tenants', () => {
    it('never shows or changes another tenant’s user', async () => {
      const u = await create(entraUser());
      const other = await t.scim('globex');
      expect((await other.get(`/Users/${u.id}`)).status).toBe(404);
      expect((await other.patch(`/Users/${u.id}`, patchOp({ op: 'replace', path: 'active', value: false }))).status).toBe(404);
      expect((await other.delete(`/Users/${u.id}`)).status).toBe(404);
      const list = await other.get(`/Users?filter=${encodeURIComponent(`id eq "${u.id}"`)}`);
      expect(list.body.totalResults).toBe(0);
      expect((await scim.get(`/Users/${u.id}`)).body.active).toBe(true);
    });
  });
});
