import SCIMMY from 'scimmy';
import { userResource, groupResource, etagOf } from '../../src/scim/resources';
import { ROSTER_GROUP_SCHEMA } from '../../src/scim/schemas';
import { createTestApp, ENTERPRISE, GROUP, USER, type ScimClient, type TestApp } from '../helpers/app';

/**
 * Roster renders Users and Groups from rows itself (scimmy's per-request schema walk cost more than
 * the rest of a GET). scimmy's schema stays the single source of truth: for resources with every
 * kind of attribute, what Roster answers equals what scimmy renders from the same stored resource
 * (`new SCIMMY.Schemas.User(resource, "out", basepath)`), attribute for attribute.
 */
describe('rendering from rows agrees with scimmy', () => {
  let t: TestApp;
  let scim: ScimClient;
  beforeAll(async () => {
    t = await createTestApp();
    scim = await t.scim();
  });
  afterAll(() => t.close());

  const rich = (i: number) => ({
    schemas: [USER, ENTERPRISE],
    externalId: `ext-${i}`,
    userName: `Render.${i}@Example.com`,
    name: { formatted: `Ms. Barbara J Jensen ${i}`, familyName: 'Jensen', givenName: 'Barbara', middleName: 'Jane', honorificPrefix: 'Ms.', honorificSuffix: 'III' },
    displayName: `Babs ${i}`,
    nickName: 'Babs',
    profileUrl: 'https://login.example.com/bjensen',
    title: 'Tour Guide',
    userType: 'Employee',
    preferredLanguage: 'en-US',
    locale: 'en-US',
    timezone: 'America/Los_Angeles',
    active: i % 2 === 0,
    password: 't1meMa$heen', // never returned
    emails: [
      { value: `render.${i}@example.com`, type: 'work', primary: true },
      { value: `babs.${i}@home.example.com`, type: 'home' },
    ],
    phoneNumbers: [{ value: '555-555-5555', type: 'work' }],
    ims: [{ value: 'someaimhandle', type: 'aim' }],
    photos: [{ value: 'https://photos.example.com/profilephoto/72930000000Ccne/F', type: 'photo' }],
    addresses: [{ type: 'work', streetAddress: '100 Universal City Plaza', locality: 'Hollywood', region: 'CA', postalCode: '91608', country: 'USA', formatted: '100 Universal City Plaza\nHollywood, CA 91608 USA', primary: true }],
    entitlements: [{ value: 'learner' }],
    roles: [{ value: 'student', primary: true }],
    x509Certificates: [{ value: 'MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx' }],
    [ENTERPRISE]: { employeeNumber: `${i}`, costCenter: '4130', organization: 'Universal Studios', division: 'Theme Park', department: 'Tour Operations', manager: { value: '26118915-6090-4610-87e4-49d8ca9f808d', displayName: 'John Smith' } },
  });
  const shapes = [
    (i: number) => rich(i),
    (i: number) => ({ schemas: [USER], userName: `plain.${i}@example.com` }),
    // Entra's shape: a string boolean, attributes in other cases, the extension with one attribute
    (i: number) => ({
      schemas: [USER, ENTERPRISE],
      externalId: `entra-${i}`,
      UserName: `entra.${i}@contoso.com`,
      active: 'True',
      displayName: `Entra ${i}`,
      emails: [{ primary: true, type: 'work', value: `entra.${i}@contoso.com` }],
      name: { givenName: 'Entra', familyName: `${i}` },
      [ENTERPRISE]: { department: 'Sales' },
    }),
    // Okta's shape
    (i: number) => ({
      schemas: [USER],
      userName: `okta.${i}@example.com`,
      name: { givenName: 'Okta', familyName: `${i}` },
      emails: [{ primary: true, value: `okta.${i}@example.com`, type: 'work' }],
      displayName: `Okta ${i}`,
      locale: 'en-US',
      externalId: `00u${i}`,
      groups: [],
      password: 'ignored-Pa55',
      active: true,
    }),
  ];

  const scimmyUser = async (id: string, base: string) => {
    const record = (await t.store.getUser(await t.tenantId(), id))!;
    const groups = (await t.store.groupsOfUsers(await t.tenantId(), [id])).get(id) ?? [];
    const stored = {
      ...userResource(record),
      id: record.id,
      ...(record.externalId !== null ? { externalId: record.externalId } : {}),
      groups: groups.map((g) => ({ value: g.id, $ref: `${base}/Groups/${g.id}`, display: g.displayName, type: 'direct' })),
      meta: { created: record.createdAt, lastModified: record.updatedAt, version: etagOf(record.version) },
    };
    return JSON.parse(JSON.stringify(new SCIMMY.Schemas.User(stored, 'out', `${base}/Users`))) as Record<string, unknown>;
  };

  it('Users of every shape, with and without groups, alone and in a list', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await scim.post('/Users', shapes[i % shapes.length]!(i));
      expect(res.status).toBe(201);
      ids.push(res.body.id as string);
    }
    await scim.post('/Groups', { schemas: [GROUP], displayName: 'Render group', members: ids.slice(0, 6).map((value) => ({ value })) }).expect(201);
    await scim.post('/Groups', { schemas: [GROUP], displayName: 'Another', members: ids.slice(3, 9).map((value) => ({ value })) }).expect(201);
    const list = await scim.get('/Users?count=100&filter=' + encodeURIComponent('userName sw "render" or userName sw "plain" or userName sw "entra" or userName sw "okta"')).expect(200);
    expect(list.body.totalResults).toBe(12);
    const listed = new Map((list.body.Resources as { id: string; meta: { location: string } }[]).map((r) => [r.id, r]));
    const baseOf = (r: { meta: { location: string } }) => r.meta.location.replace(/\/(Users|Groups)\/[^/]+$/, '');
    for (const id of ids) {
      const ours = await scim.get(`/Users/${id}`).expect(200);
      expect(ours.body).toEqual(await scimmyUser(id, baseOf(ours.body)));
      expect(listed.get(id)).toEqual(await scimmyUser(id, baseOf(listed.get(id)!)));
      expect(JSON.stringify(ours.body)).not.toContain('t1meMa$heen');
    }
  });

  it('Groups with and without members and the Roster extension, alone and in a list', async () => {
    const users: string[] = [];
    for (let i = 0; i < 3; i++) users.push((await scim.post('/Users', { schemas: [USER], userName: `member.${i}@example.com`, displayName: i === 1 ? undefined : `Member ${i}` }).expect(201)).body.id);
    const bodies = [
      { schemas: [GROUP], displayName: 'Empty' },
      { schemas: [GROUP], displayName: 'Members', externalId: 'grp-1', members: users.map((value) => ({ value })) },
      {
        schemas: [GROUP, ROSTER_GROUP_SCHEMA],
        displayName: 'Cohort',
        members: [{ value: users[0] }],
        [ROSTER_GROUP_SCHEMA]: { description: 'New hires', color: '#3366ff', maxMembers: 30, visibility: 'private', archived: false },
      },
    ];
    const tenantId = await t.tenantId();
    const scimmyGroup = async (id: string, base: string) => {
      const record = (await t.store.getGroup(tenantId, id))!;
      const members = (await t.store.membersOfGroups(tenantId, [id])).get(id) ?? [];
      const stored = {
        ...groupResource(record),
        id,
        members: members.map((m) => ({ value: m.userId, $ref: `${base}/Users/${m.userId}`, display: m.displayName ?? m.userName, type: 'User' })),
        meta: { created: record.createdAt, lastModified: record.updatedAt, version: etagOf(record.version) },
      };
      return JSON.parse(JSON.stringify(new SCIMMY.Schemas.Group(stored, 'out', `${base}/Groups`))) as Record<string, unknown>;
    };
    const baseOf = (r: { meta: { location: string } }) => r.meta.location.replace(/\/Groups\/[^/]+$/, '');
    // More members than fit in one piece: Roster writes them in pieces (stream.ts), scimmy renders them whole.
    const many: string[] = [];
    for (let i = 0; i < 1200; i++) many.push((await scim.post('/Users', { schemas: [USER], userName: `many.${String(i).padStart(4, '0')}@example.com` }).expect(201)).body.id);
    bodies.push({ schemas: [GROUP, ROSTER_GROUP_SCHEMA], displayName: 'Many', externalId: 'grp-many', members: many.map((value) => ({ value })), [ROSTER_GROUP_SCHEMA]: { description: 'Big' } } as never);
    for (const body of bodies) {
      const created = await scim.post('/Groups', body).expect(201);
      const id = created.body.id as string;
      const read = await scim.get(`/Groups/${id}`).expect(200);
      const ours = read.body as { meta: { location: string } };
      expect(ours).toEqual(await scimmyGroup(id, baseOf(ours)));
      expect(created.body).toEqual(await scimmyGroup(id, baseOf(created.body as { meta: { location: string } })));
      // written in pieces exactly when the members are many
      expect([body.displayName, read.headers['transfer-encoding'] === 'chunked']).toEqual([body.displayName, body.displayName === 'Many']);
      const list = await scim.get(`/Groups?filter=${encodeURIComponent(`displayName eq "${body.displayName}"`)}`).expect(200);
      const [listed] = list.body.Resources as { meta: { location: string } }[];
      expect(listed).toEqual(await scimmyGroup(id, baseOf(listed!)));
    }
  });
});
