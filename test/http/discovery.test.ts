import { createTestApp, type ScimClient, type TestApp } from '../helpers/app';

describe('SCIM discovery', () => {
  let t: TestApp;
  let scim: ScimClient;
  beforeAll(async () => {
    t = await createTestApp();
    scim = await t.scim();
  });
  afterAll(() => t.close());

  it('describes what Roster supports in /ServiceProviderConfig', async () => {
    const res = await scim.get('/ServiceProviderConfig');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      patch: { supported: true },
      bulk: { supported: false },
      filter: { supported: true, maxResults: 1000 },
      sort: { supported: true },
      etag: { supported: true },
      changePassword: { supported: false },
      authenticationSchemes: [expect.objectContaining({ type: 'oauthbearertoken' })],
    });
  });

  it('lists User (with the enterprise extension) first, then Group (with Roster’s extension)', async () => {
    const res = await scim.get('/ResourceTypes');
    expect(res.status).toBe(200);
    expect(res.body.Resources.map((r: { endpoint: string }) => r.endpoint)).toEqual(['/Users', '/Groups']);
    expect(res.body.Resources[0].schemaExtensions).toEqual([{ schema: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', required: false }]);
    expect(res.body.Resources[1].schemaExtensions).toEqual([{ schema: 'urn:ietf:params:scim:schemas:extension:roster:2.0:Group', required: false }]);
  });

  it('serves every schema, Roster’s group extension included', async () => {
    const res = await scim.get('/Schemas');
    expect(res.status).toBe(200);
    const ids = res.body.Resources.map((r: { id: string }) => r.id);
    expect(ids).toEqual(
      expect.arrayContaining([
        'urn:ietf:params:scim:schemas:core:2.0:User',
        'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
        'urn:ietf:params:scim:schemas:core:2.0:Group',
        'urn:ietf:params:scim:schemas:extension:roster:2.0:Group',
      ]),
    );
    const one = await scim.get('/Schemas/urn:ietf:params:scim:schemas:extension:roster:2.0:Group');
    expect(one.body.attributes.map((a: { name: string }) => a.name)).toEqual(['description', 'color', 'maxMembers', 'visibility', 'archived']);
  });

  it('answers /Bulk with 501, as the configuration says', async () => {
    const res = await scim.post('/Bulk', { schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'], Operations: [] });
    expect(res.status).toBe(501);
  });
});
