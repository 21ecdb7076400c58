import { createTestApp, type ScimClient, type TestApp } from '../helpers/app';

describe('admin API: content', () => {
  let t: TestApp;
  let admin: ScimClient;

  beforeAll(async () => {
    t = await createTestApp();
    admin = await t.admin();
  });
  afterAll(() => t.close());

  it('creates, reads, renames and deletes content', async () => {
    const created = await admin.post('/content', { kind: 'course', title: 'Security Basics', externalId: 'lms-101' });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.any(String),
      kind: 'course',
      title: 'Security Basics',
      externalId: 'lms-101',
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    const id = created.body.id as string;
    expect((await admin.get(`/content/${id}`)).body.title).toBe('Security Basics');
    const renamed = await admin.patch(`/content/${id}`, { title: 'Security Basics 2027' });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ id, title: 'Security Basics 2027', kind: 'course', externalId: 'lms-101' });
    expect((await admin.delete(`/content/${id}`)).status).toBe(204);
    const gone = await admin.get(`/content/${id}`);
    expect(gone.status).toBe(404);
    expect(gone.body).toEqual({ error: { code: 'notFound', message: `Content ${id} not found` } });
  });

  it('refuses an invalid body with every problem named, and creates nothing', async () => {
    const before = (await admin.get('/content?limit=500')).body.items.length as number;
    const res = await admin.post('/content', { kind: 'video', title: '', colour: 'red' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalidBody');
    const messages = (res.body.error.details as { path: string; message: string }[]).map((d) => `${d.path} ${d.message}`).join('; ');
    expect(messages).toMatch(/\/kind/);
    expect(messages).toMatch(/\/title/);
    expect(messages).toMatch(/unknown property "colour"/);
    expect((await admin.get('/content?limit=500')).body.items).toHaveLength(before);
    expect((await admin.post('/content').set('content-type', 'application/json').send('{"kind":')).body.error.code).toBe('invalidBody');
  });

  it('answers 409 for an externalId already used in the tenant, and allows it in another tenant', async () => {
    expect((await admin.post('/content', { kind: 'bot', title: 'Coach', externalId: 'bot-1' })).status).toBe(201);
    const dup = await admin.post('/content', { kind: 'bot', title: 'Coach again', externalId: 'bot-1' });
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe('conflict');
    expect((await (await t.admin('globex')).post('/content', { kind: 'bot', title: 'Coach', externalId: 'bot-1' })).status).toBe(201);
  });

  it('pages with a cursor, filters by kind, and rejects a cursor it did not issue', async () => {
    const t2 = await createTestApp();
    try {
      const a = await t2.admin();
      for (let i = 0; i < 5; i++) await a.post('/content', { kind: i % 2 ? 'persona' : 'course', title: `Item ${i}` });
      const first = await a.get('/content?limit=2');
      expect(first.body.items.map((c: { title: string }) => c.title)).toEqual(['Item 0', 'Item 1']);
      const second = await a.get(`/content?limit=2&cursor=${first.body.next as string}`);
      expect(second.body.items.map((c: { title: string }) => c.title)).toEqual(['Item 2', 'Item 3']);
      const last = await a.get(`/content?limit=2&cursor=${second.body.next as string}`);
      expect(last.body).toMatchObject({ items: [{ title: 'Item 4' }], next: null });
      expect((await a.get('/content?kind=persona')).body.items.map((c: { title: string }) => c.title)).toEqual(['Item 1', 'Item 3']);
      expect((await a.get('/content?cursor=nonsense')).body.error.code).toBe('invalidQuery');
      expect((await a.get('/content?limit=0')).status).toBe(400);
      expect((await a.get('/content?kind=video')).status).toBe(400);
    } finally {
      await t2.close();
    }
  });

  it('keeps tenants apart and takes only admin tokens', async () => {
    const mine = await admin.post('/content', { kind: 'course', title: 'Private' });
    const other = await t.admin('initech');
    expect((await other.get(`/content/${mine.body.id as string}`)).status).toBe(404);
    expect((await other.patch(`/content/${mine.body.id as string}`, { title: 'Stolen' })).status).toBe(404);
    expect((await other.delete(`/content/${mine.body.id as string}`)).status).toBe(404);
    const scimTokenOnAdmin = await (await import('supertest')).default(t.app).get('/admin/v1/content').set('authorization', `Bearer ${await t.token()}`);
    expect(scimTokenOnAdmin.status).toBe(401);
    expect(scimTokenOnAdmin.body).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
    const adminTokenOnScim = await (await import('supertest')).default(t.app).get('/scim/v2/Users').set('authorization', `Bearer ${await t.token('acme', 'admin')}`);
    expect(adminTokenOnScim.status).toBe(401);
  });

  it('answers an unknown admin route with a 404 in the admin error format', async () => {
    const res = await admin.get('/nothing-here');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('notFound');
  });
});
