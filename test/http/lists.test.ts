import { createTestApp, USER, type ScimClient, type TestApp } from '../helpers/app';

describe('SCIM lists: paging, sorting, attributes', () => {
  let t: TestApp;
  let scim: ScimClient;
  const names = Array.from({ length: 25 }, (_, i) => `user${String(i).padStart(2, '0')}@example.com`);

  beforeAll(async () => {
    t = await createTestApp({ maxPageSize: 10, defaultPageSize: 5 });
    scim = await t.scim();
    for (const [i, userName] of names.entries()) {
      const res = await scim.post('/Users', {
        schemas: [USER],
        userName,
        name: { givenName: `Given${i}`, familyName: i % 2 ? 'Odd' : 'Even' },
        title: i % 5 === 0 ? 'Manager' : undefined,
        emails: [{ type: 'work', value: userName, primary: true }],
      });
      expect(res.status).toBe(201);
    }
  });
  afterAll(() => t.close());

  const page = async (query: string) => {
    const res = await scim.get(`/Users?${query}`);
    expect(res.status).toBe(200);
    return res.body as { totalResults: number; startIndex: number; itemsPerPage: number; Resources: Record<string, unknown>[] };
  };

  it('pages in a stable order, with itemsPerPage equal to what was returned', async () => {
    const seen: string[] = [];
    for (let start = 1; start <= 25; start += 10) {
      const body = await page(`startIndex=${start}&count=10`);
      expect(body.totalResults).toBe(25);
      expect(body.startIndex).toBe(start);
      expect(body.itemsPerPage).toBe(body.Resources.length);
      seen.push(...body.Resources.map((r) => r.userName as string));
    }
    expect(seen).toEqual(names);
  });

  it('uses the default page size, caps count at the maximum, and answers an empty page past the end', async () => {
    expect((await page('')).itemsPerPage).toBe(5);
    const capped = await page('count=500');
    expect(capped.itemsPerPage).toBe(10);
    const past = await page('startIndex=100&count=10');
    expect(past).toMatchObject({ totalResults: 25, startIndex: 100, itemsPerPage: 0, Resources: [] });
    const zero = await page('count=0');
    expect(zero).toMatchObject({ totalResults: 25, itemsPerPage: 0, Resources: [] });
  });

  it('answers 400 for a count or startIndex that is not a number', async () => {
    const res = await scim.get('/Users?count=ten');
    expect(res.status).toBe(400);
    expect(res.body.scimType).toBe('invalidValue');
  });

  it('sorts by an attribute, ascending or descending', async () => {
    const asc = await page('sortBy=name.givenName&count=3');
    expect(asc.Resources.map((r) => (r.name as { givenName: string }).givenName)).toEqual(['Given0', 'Given1', 'Given10']);
    const desc = await page('sortBy=userName&sortOrder=descending&count=2');
    expect(desc.Resources.map((r) => r.userName)).toEqual(['user24@example.com', 'user23@example.com']);
  });

  it('filters with and/or/not and parentheses in SQL', async () => {
    const f = encodeURIComponent('name.familyName eq "odd" and (title eq "Manager" or userName sw "user0") and not (userName eq "user01@example.com")');
    const body = await page(`filter=${f}&count=10`);
    expect(body.Resources.map((r) => r.userName)).toEqual([
      'user03@example.com',
      'user05@example.com',
      'user07@example.com',
      'user09@example.com',
      'user15@example.com',
    ]);
  });

  it('returns only the attributes asked for, and id always', async () => {
    const body = await page('attributes=userName,name.givenName&count=1');
    expect(body.Resources[0]).toEqual({ schemas: [USER], id: expect.any(String), userName: 'user00@example.com', name: { givenName: 'Given0' } });
    const excluded = await page('excludedAttributes=emails,groups,meta,id&count=1');
    expect(excluded.Resources[0]).not.toHaveProperty('emails');
    expect(excluded.Resources[0]).not.toHaveProperty('meta');
    expect(excluded.Resources[0]).toHaveProperty('id');
  });

  it('searches across resource types with POST /.search at the root', async () => {
    const group = await scim.post('/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Searchable' });
    const res = await scim.post('/.search', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
      filter: 'displayName eq "Searchable" or userName eq "user03@example.com"',
      count: 10,
    });
    expect(res.status).toBe(200);
    expect(res.body.totalResults).toBe(2);
    expect(res.body.Resources.map((r: { id: string; meta: { resourceType: string } }) => r.meta.resourceType).sort()).toEqual(['Group', 'User']);
    expect(res.body.Resources.map((r: { id: string }) => r.id)).toContain(group.body.id);
    const unknown = await scim.post('/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: 'shoeSize eq 42' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.scimType).toBe('invalidFilter');
  });
});
