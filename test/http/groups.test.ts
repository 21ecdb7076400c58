import crypto from 'node:crypto';
import { createTestApp, ERROR, GROUP, patchOp, USER, type ScimClient, type TestApp } from '../helpers/app';

describe('SCIM Groups', () => {
  let t: TestApp;
  let scim: ScimClient;

  beforeAll(async () => {
    t = await createTestApp();
    scim = await t.scim();
  });
  afterAll(() => t.close());

  const newUser = async (name = `u.${crypto.randomUUID()}`) => {
    const res = await scim.post('/Users', { schemas: [USER], userName: name, displayName: `Name ${name}` });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };
  const newGroup = async (members: string[] = [], displayName = `Group ${crypto.randomUUID()}`) => {
    const res = await scim.post('/Groups', { schemas: [GROUP], displayName, members: members.map((value) => ({ value })) });
    expect(res.status).toBe(201);
    return res.body as { id: string; meta: { version: string } };
  };
  const memberIds = async (groupId: string) => {
    const res = await scim.get(`/Groups/${groupId}`);
    expect(res.status).toBe(200);
    return ((res.body.members ?? []) as { value: string }[]).map((m) => m.value).sort();
  };

  it('creates a group with members and reads them back with each member’s name', async () => {
    const [a, b] = [await newUser('alice'), await newUser('bob')];
    const res = await scim.post('/Groups', {
      schemas: [GROUP, 'urn:ietf:params:scim:schemas:extension:roster:2.0:Group'],
      displayName: 'Sales',
      externalId: 'okta-sales',
      members: [{ value: a, display: 'whatever the client says' }, { value: b }],
      'urn:ietf:params:scim:schemas:extension:roster:2.0:Group': { description: 'The sales team', color: '#3366ff' },
    });
    expect(res.status).toBe(201);
    expect(res.headers.location).toMatch(new RegExp(`/scim/v2/Groups/${res.body.id}$`));
    expect(res.body).toMatchObject({
      displayName: 'Sales',
      externalId: 'okta-sales',
      'urn:ietf:params:scim:schemas:extension:roster:2.0:Group': { description: 'The sales team', color: '#3366ff' },
    });
    expect(res.body.members).toEqual([
      { value: a, $ref: expect.stringMatching(new RegExp(`/Users/${a}$`)), display: 'Name alice', type: 'User' },
      { value: b, $ref: expect.stringMatching(new RegExp(`/Users/${b}$`)), display: 'Name bob', type: 'User' },
    ]);
    const user = await scim.get(`/Users/${a}`);
    expect(user.body.groups).toEqual([expect.objectContaining({ value: res.body.id, display: 'Sales', type: 'direct' })]);
  });

  it('lists groups without members when Entra asks excludedAttributes=members', async () => {
    const g = await newGroup([await newUser()], `Entra ${crypto.randomUUID()}`);
    const res = await scim.get(`/Groups?excludedAttributes=members&filter=${encodeURIComponent(`id eq "${g.id}"`)}`);
    expect(res.status).toBe(200);
    expect(res.body.Resources).toHaveLength(1);
    expect(res.body.Resources[0]).not.toHaveProperty('members');
    expect(res.body.Resources[0].id).toBe(g.id);
  });

  describe('PATCH, as Entra sends it', () => {
    it('adds members with capitalised "Add" and removes only the listed members with "Remove" + value list', async () => {
      const [a, b, c] = [await newUser(), await newUser(), await newUser()];
      const g = await newGroup([a]);
      await scim.patch(`/Groups/${g.id}`, patchOp({ op: 'Add', path: 'members', value: [{ $ref: null, value: b }, { $ref: null, value: c }] })).expect(204);
      expect(await memberIds(g.id)).toEqual([a, b, c].sort());
      await scim.patch(`/Groups/${g.id}`, patchOp({ op: 'Remove', path: 'members', value: [{ $ref: null, value: b }] })).expect(204);
      expect(await memberIds(g.id)).toEqual([a, c].sort());
    });

    it('treats an empty Operations list as no change', async () => {
      const g = await newGroup([await newUser()]);
      await scim.patch(`/Groups/${g.id}`, patchOp()).expect(204);
      expect((await scim.get(`/Groups/${g.id}`)).body.meta.version).toBe(g.meta.version);
    });
  });

  describe('PATCH and PUT, as Okta sends them', () => {
    it('applies a rename beside a membership change in one request', async () => {
      const [a, b] = [await newUser(), await newUser()];
      const g = await newGroup([a]);
      await scim
        .patch(
          `/Groups/${g.id}`,
          patchOp({ op: 'replace', value: { id: g.id, displayName: 'Renamed by Okta' } }, { op: 'add', path: 'members', value: [{ value: b, display: 'b' }] }),
        )
        .expect(204);
      const read = await scim.get(`/Groups/${g.id}`);
      expect(read.body.displayName).toBe('Renamed by Okta');
      expect(read.body.members.map((m: { value: string }) => m.value).sort()).toEqual([a, b].sort());
    });

    it('removes one member by a value filter path', async () => {
      const [a, b] = [await newUser(), await newUser()];
      const g = await newGroup([a, b]);
      await scim.patch(`/Groups/${g.id}`, patchOp({ op: 'remove', path: `members[value eq "${a}"]` })).expect(204);
      expect(await memberIds(g.id)).toEqual([b]);
    });

    it('replaces all members with "replace" on members, and removes all with a bare "remove"', async () => {
      const [a, b, c] = [await newUser(), await newUser(), await newUser()];
      const g = await newGroup([a, b]);
      await scim.patch(`/Groups/${g.id}`, patchOp({ op: 'replace', path: 'members', value: [{ value: b }, { value: c }] })).expect(204);
      expect(await memberIds(g.id)).toEqual([b, c].sort());
      await scim.patch(`/Groups/${g.id}`, patchOp({ op: 'remove', path: 'members' })).expect(204);
      expect(await memberIds(g.id)).toEqual([]);
    });

    it('replaces the group with PUT, members included', async () => {
      const [a, b] = [await newUser(), await newUser()];
      const g = await newGroup([a]);
      const res = await scim.put(`/Groups/${g.id}`, { schemas: [GROUP], displayName: 'Put name', members: [{ value: b }] });
      expect(res.status).toBe(200);
      expect(res.body.displayName).toBe('Put name');
      expect(res.body.members.map((m: { value: string }) => m.value)).toEqual([b]);
    });
  });

  it('changes nothing, not even the version, when a PUT repeats the current group', async () => {
    const a = await newUser();
    const body = {
      schemas: [GROUP, 'urn:ietf:params:scim:schemas:extension:roster:2.0:Group'],
      displayName: `Repeat ${crypto.randomUUID()}`,
      members: [{ value: a }],
      'urn:ietf:params:scim:schemas:extension:roster:2.0:Group': { description: 'Same', color: '#000000', maxMembers: 10 },
    };
    const created = await scim.post('/Groups', body);
    const again = await scim.put(`/Groups/${created.body.id as string}`, body);
    expect(again.status).toBe(200);
    expect(again.body.meta.version).toBe(created.body.meta.version);
  });

  it('answers 400 for a member that is not a user of the tenant, and changes nothing', async () => {
    const a = await newUser();
    const g = await newGroup([a]);
    const stranger = await (await t.scim('initech')).post('/Users', { schemas: [USER], userName: 'stranger' });
    const res = await scim.patch(`/Groups/${g.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: stranger.body.id }] }));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ schemas: [ERROR], scimType: 'invalidValue' });
    expect(await memberIds(g.id)).toEqual([a]);
  });

  it('loses nothing when 20 "add one member" PATCHes arrive at once', async () => {
    const g = await newGroup();
    const users = await Promise.all(Array.from({ length: 20 }, () => newUser()));
    const results = await Promise.all(users.map((u) => scim.patch(`/Groups/${g.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: u }] }))));
    expect(results.map((r) => r.status)).toEqual(users.map(() => 204));
    expect(await memberIds(g.id)).toEqual(users.sort());
    expect((await scim.get(`/Groups/${g.id}`)).body.meta.version).toBe('W/"21"');
  });

  it('never fails with a server error when users are deleted while their groups change', async () => {
    const users = await Promise.all(Array.from({ length: 10 }, () => newUser()));
    const g = await newGroup(users.slice(0, 5));
    const results = await Promise.all(
      users.flatMap((u) => [
        scim.delete(`/Users/${u}`),
        scim.patch(`/Groups/${g.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: u }] }, { op: 'replace', path: 'displayName', value: `n-${u}` })),
      ]),
    );
    // A PATCH that lost the race to the delete names a user who no longer exists: 400, nothing applied.
    for (const r of results) expect([204, 400]).toContain(r.status);
    expect(await memberIds(g.id)).toEqual([]);
  });

  it('deletes a group and keeps its members’ accounts', async () => {
    const a = await newUser();
    const g = await newGroup([a]);
    await scim.delete(`/Groups/${g.id}`).expect(204);
    expect((await scim.get(`/Groups/${g.id}`)).status).toBe(404);
    const user = await scim.get(`/Users/${a}`);
    expect(user.status).toBe(200);
    expect(user.body.groups).toEqual([]);
  });

  it('answers 412 to a PATCH with a stale If-Match', async () => {
    const g = await newGroup();
    await scim.patch(`/Groups/${g.id}`, patchOp({ op: 'replace', path: 'displayName', value: 'v2' })).expect(204);
    const res = await scim.patch(`/Groups/${g.id}`, patchOp({ op: 'replace', path: 'displayName', value: 'v3' })).set('if-match', g.meta.version);
    expect(res.status).toBe(412);
    expect((await scim.get(`/Groups/${g.id}`)).body.displayName).toBe('v2');
  });
});
