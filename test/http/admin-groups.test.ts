import { createTestApp, ENTERPRISE, GROUP, patchOp, USER, type ScimClient, type TestApp } from '../helpers/app';
import { ROSTER_GROUP_SCHEMA } from '../../src/scim/schemas';

/**
 * Learning groups through the admin API, beside the identity providers' groups pushed over SCIM:
 * settings, member limits, archiving, who owns a group's membership, the ways of adding people and
 * setting a user's groups. Each refusal is checked to change nothing.
 */
describe('admin API: learning groups', () => {
  let t: TestApp;
  let admin: ScimClient;
  let scim: ScimClient;
  let n = 0;

  beforeAll(async () => {
    t = await createTestApp();
    admin = await t.admin();
    scim = await t.scim();
  });
  afterAll(() => t.close());

  const person = async (name: string, opts: { department?: string; active?: boolean; email?: string } = {}) => {
    const body = {
      schemas: [USER, ENTERPRISE],
      userName: `${name}.${++n}@example.com`,
      active: opts.active ?? true,
      ...(opts.email ? { emails: [{ value: opts.email, type: 'work', primary: true }] } : {}),
      ...(opts.department ? { [ENTERPRISE]: { department: opts.department } } : {}),
    };
    const res = await scim.post('/Users', body).expect(201);
    return { id: res.body.id as string, userName: res.body.userName as string };
  };
  const cohort = async (displayName: string, settings: Record<string, unknown> = {}) =>
    (await admin.post('/groups', { displayName, ...settings }).expect(201)).body as { id: string; managedBy: string; members: number };
  const idpGroup = async (displayName: string, members: string[] = [], ext?: Record<string, unknown>) =>
    (await scim.post('/Groups', { schemas: ext ? [GROUP, ROSTER_GROUP_SCHEMA] : [GROUP], displayName, members: members.map((value) => ({ value })), ...(ext ? { [ROSTER_GROUP_SCHEMA]: ext } : {}) }).expect(201)).body.id as string;
  const memberIds = async (groupId: string) => (await t.store.membersOfGroups(await t.tenantId(), [groupId])).get(groupId)?.map((m) => m.userId).sort() ?? [];
  const groupOf = async (id: string) => (await admin.get(`/groups/${id}`).expect(200)).body as Record<string, unknown>;
  const sorted = (ids: string[]) => [...ids].sort();

  it('creates a Roster-owned group with its settings, which SCIM shows in the Roster extension', async () => {
    const created = await admin
      .post('/groups', { displayName: 'New Hires March', description: 'Everyone who starts in March', color: '#3366ff', maxMembers: 30, visibility: 'public', creditLimitPerSession: 5 })
      .expect(201);
    expect(created.headers.location).toBe(`/admin/v1/groups/${created.body.id as string}`);
    expect(created.body).toMatchObject({
      displayName: 'New Hires March',
      managedBy: 'roster',
      description: 'Everyone who starts in March',
      color: '#3366ff',
      maxMembers: 30,
      visibility: 'public',
      archived: false,
      rule: null,
      creditLimitPerSession: 5,
      members: 0,
    });
    const viaScim = await scim.get(`/Groups/${created.body.id as string}`).expect(200);
    expect(viaScim.body.schemas).toEqual([GROUP, ROSTER_GROUP_SCHEMA]);
    expect(viaScim.body[ROSTER_GROUP_SCHEMA]).toEqual({ description: 'Everyone who starts in March', color: '#3366ff', maxMembers: 30, visibility: 'public', archived: false });
    // filterable through SCIM, from the column
    const found = await scim.get(`/Groups?filter=${encodeURIComponent(`${ROSTER_GROUP_SCHEMA}:visibility eq "public"`)}`).expect(200);
    expect(found.body.Resources.map((g: { id: string }) => g.id)).toEqual([created.body.id]);
  });

  it('refuses bad bodies, naming the problem, and creates nothing', async () => {
    const before = (await admin.get('/groups?archived=include&limit=500').expect(200)).body.items.length as number;
    for (const [body, path] of [
      [{}, '/'],
      [{ displayName: '   ' }, '/displayName'],
      [{ displayName: 'X', color: 'blue' }, '/color'],
      [{ displayName: 'X', maxMembers: 0 }, '/maxMembers'],
      [{ displayName: 'X', visibility: 'secret' }, '/visibility'],
      [{ displayName: 'X', owner: 'me' }, '/'],
    ] as [Record<string, unknown>, string][]) {
      const res = await admin.post('/groups', body).expect(400);
      expect(res.body.error.code).toBe('invalidBody');
      expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
    }
    const rule = await admin.post('/groups', { displayName: 'X', rule: 'department eq' }).expect(400);
    expect(rule.body.error.message).toMatch(/^rule is not a valid filter on users/);
    expect((await admin.get('/groups?archived=include&limit=500').expect(200)).body.items).toHaveLength(before);
  });

  it('adds people by id, userName and email, and enrollments follow', async () => {
    const group = await cohort('Sales Refresher Q1');
    const course = (await admin.post('/content', { kind: 'course', title: 'Objection handling' }).expect(201)).body.id as string;
    await admin.post(`/groups/${group.id}/assignments`, { contentId: course }).expect(201);
    const [a, b, c] = [await person('ann'), await person('ben'), await person('cat', { email: 'Cat.Work@Example.com' })];
    const res = await admin.post(`/groups/${group.id}/members`, { users: [{ id: a.id }, { userName: b.userName.toUpperCase() }, { email: 'cat.work@example.com' }] }).expect(200);
    expect(res.body).toMatchObject({ added: 3, alreadyMembers: 0, skippedInactive: 0 });
    expect(sorted(res.body.addedUserIds)).toEqual(sorted([a.id, b.id, c.id]));
    expect(await memberIds(group.id)).toEqual(sorted([a.id, b.id, c.id]));
    for (const u of [a, b, c]) {
      const access = (await admin.get(`/users/${u.id}/access`).expect(200)).body.items as { contentId: string }[];
      expect(access.map((x) => x.contentId)).toEqual([course]);
    }
    // again: nothing new
    const again = await admin.post(`/groups/${group.id}/members`, { users: [{ id: a.id }] }).expect(200);
    expect(again.body).toMatchObject({ added: 0, alreadyMembers: 1 });
  });

  it('refuses unknown names, deactivated users and an email two users share, changing nothing', async () => {
    const group = await cohort('Careful');
    const ok = await person('ok');
    const off = await person('off', { active: false });
    await person('twin1', { email: 'shared@example.com' });
    await person('twin2', { email: 'shared@example.com' });
    const unknown = await admin.post(`/groups/${group.id}/members`, { users: [{ id: ok.id }, { userName: 'nobody@example.com' }, { email: 'none@example.com' }] }).expect(400);
    expect(unknown.body.error.message).toBe('no user of this tenant has userName nobody@example.com, email none@example.com');
    const unknownId = await admin.post(`/groups/${group.id}/members`, { users: [{ id: ok.id }, { id: 'no-such-user' }] }).expect(400);
    expect(unknownId.body.error.message).toMatch(/no-such-user is not a user of this tenant/);
    const inactive = await admin.post(`/groups/${group.id}/members`, { users: [{ id: ok.id }, { id: off.id }] }).expect(400);
    expect(inactive.body.error).toMatchObject({ code: 'inactiveUsers', details: { ids: [off.id] } });
    const shared = await admin.post(`/groups/${group.id}/members`, { users: [{ email: 'shared@example.com' }] }).expect(400);
    expect(shared.body.error.message).toBe('email shared@example.com belongs to 2 users; name them by id or userName');
    const twoKeys = await admin.post(`/groups/${group.id}/members`, { users: [{ id: ok.id, userName: ok.userName }] }).expect(400);
    expect(twoKeys.body.error.code).toBe('invalidBody');
    await admin.post('/groups/no-such-group/members', { users: [{ id: ok.id }] }).expect(404);
    expect(await memberIds(group.id)).toEqual([]);
  });

  it('copies a department and another group once, active users only', async () => {
    const [s1, s2] = [await person('s1', { department: 'Field Sales' }), await person('s2', { department: 'Field Sales' })];
    const sOff = await person('s3', { department: 'Field Sales', active: false });
    const other = await person('other', { department: 'Support' });
    const group = await cohort('Field Sales Kickoff');
    const res = await admin.post(`/groups/${group.id}/members`, { department: 'Field Sales' }).expect(200);
    expect(res.body).toMatchObject({ added: 2, alreadyMembers: 0, skippedInactive: 1 });
    expect(await memberIds(group.id)).toEqual(sorted([s1.id, s2.id]));
    // copied once: a later joiner of the department is not added
    await person('s4', { department: 'Field Sales' });
    expect(await memberIds(group.id)).toEqual(sorted([s1.id, s2.id]));
    // a copy of an identity provider's group, with its deactivated member left out
    const source = await idpGroup('Support EMEA', [other.id, sOff.id, s1.id]);
    const copy = await admin.post(`/groups/${group.id}/members`, { copyFrom: source }).expect(200);
    expect(copy.body).toMatchObject({ added: 1, alreadyMembers: 1, skippedInactive: 1 });
    expect(await memberIds(group.id)).toEqual(sorted([s1.id, s2.id, other.id]));
    await admin.post(`/groups/${group.id}/members`, { copyFrom: 'no-such-group' }).expect(404);
    const foreign = await (await t.scim('globex')).post('/Groups', { schemas: [GROUP], displayName: 'Theirs' }).expect(201);
    await admin.post(`/groups/${group.id}/members`, { copyFrom: foreign.body.id }).expect(404);
  });

  it('removes a member, and says 404 for one who is not', async () => {
    const group = await cohort('Leavers');
    const u = await person('leaver');
    await admin.post(`/groups/${group.id}/members`, { users: [{ id: u.id }] }).expect(200);
    await admin.delete(`/groups/${group.id}/members/${u.id}`).expect(204);
    expect(await memberIds(group.id)).toEqual([]);
    const res = await admin.delete(`/groups/${group.id}/members/${u.id}`).expect(404);
    expect(res.body.error.code).toBe('notFound');
  });

  it('refuses a change over maxMembers, through the admin API and through SCIM, and logs the refused push', async () => {
    const [a, b, c] = [await person('m1'), await person('m2'), await person('m3')];
    const group = await cohort('Small', { maxMembers: 2 });
    await admin.post(`/groups/${group.id}/members`, { users: [{ id: a.id }] }).expect(200);
    const full = await admin.post(`/groups/${group.id}/members`, { users: [{ id: b.id }, { id: c.id }] }).expect(409);
    expect(full.body.error).toMatchObject({ code: 'groupFull', message: 'Group "Small" allows at most 2 members; this change would leave 3', details: { maxMembers: 2, members: 3 } });
    expect(await memberIds(group.id)).toEqual([a.id]);
    await admin.post(`/groups/${group.id}/members`, { users: [{ id: b.id }] }).expect(200);
    // lowering the limit below the members is the same refusal
    const lower = await admin.patch(`/groups/${group.id}`, { maxMembers: 1 }).expect(409);
    expect(lower.body.error.code).toBe('groupFull');
    expect((await groupOf(group.id)).maxMembers).toBe(2);

    // an identity provider's push over the limit (set in the Roster extension)
    const pushed = await idpGroup('Pushed Small', [a.id], { maxMembers: 1 });
    const res = await scim.patch(`/Groups/${pushed}`, patchOp({ op: 'add', path: 'members', value: [{ value: b.id }] })).expect(400);
    expect(res.body).toMatchObject({ scimType: 'invalidValue', detail: 'Group "Pushed Small" allows at most 1 member; this change would leave 2' });
    expect(await memberIds(pushed)).toEqual([a.id]);
    const logged = (await admin.get(`/sync-log/${res.headers['x-request-id'] as string}`).expect(200)).body;
    expect(logged.entry).toMatchObject({ status: 400, scimType: 'invalidValue', error: 'Group "Pushed Small" allows at most 1 member; this change would leave 2' });
    expect(logged.changes).toEqual([]);
    // a create over the limit is refused as well
    const created = await scim.post('/Groups', { schemas: [GROUP, ROSTER_GROUP_SCHEMA], displayName: 'Too small', members: [{ value: a.id }, { value: b.id }], [ROSTER_GROUP_SCHEMA]: { maxMembers: 1 } }).expect(400);
    expect(created.body.scimType).toBe('invalidValue');
    expect((await scim.get(`/Groups?filter=${encodeURIComponent('displayName eq "Too small"')}`).expect(200)).body.totalResults).toBe(0);
  });

  it('never lets concurrent additions pass the limit together', async () => {
    const people = await Promise.all(Array.from({ length: 12 }, (_, i) => person(`race${i}`)));
    const group = await idpGroup('Limited race', [], { maxMembers: 5 });
    const results = await Promise.all(people.map((p) => scim.patch(`/Groups/${group}`, patchOp({ op: 'add', path: 'members', value: [{ value: p.id }] }))));
    expect(results.map((r) => r.status).sort()).toEqual([...Array(5).fill(204), ...Array(7).fill(400)]);
    expect(await memberIds(group)).toHaveLength(5);
    // a group without a limit keeps the side-by-side path and takes them all
    const open = await idpGroup('Unlimited race', []);
    const all = await Promise.all(people.map((p) => scim.patch(`/Groups/${open}`, patchOp({ op: 'add', path: 'members', value: [{ value: p.id }] }))));
    expect(all.every((r) => r.status === 204)).toBe(true);
    expect(await memberIds(open)).toHaveLength(12);
  });

  it('archives a group: read-only, hidden from the active list, enrollments kept; unarchiving restores it', async () => {
    const u = await person('arch');
    const v = await person('arch2');
    const group = await cohort('Sales Refresher Q4');
    const course = (await admin.post('/content', { kind: 'course', title: 'Q4 pricing' }).expect(201)).body.id as string;
    await admin.post(`/groups/${group.id}/assignments`, { contentId: course }).expect(201);
    await admin.post(`/groups/${group.id}/members`, { users: [{ id: u.id }] }).expect(200);
    expect((await admin.patch(`/groups/${group.id}`, { archived: true }).expect(200)).body.archived).toBe(true);

    const listed = async (archived?: string) =>
      ((await admin.get(`/groups?limit=500${archived ? `&archived=${archived}` : ''}`).expect(200)).body.items as { id: string }[]).map((g) => g.id);
    expect(await listed()).not.toContain(group.id);
    expect(await listed('include')).toContain(group.id);
    expect(await listed('only')).toEqual([group.id]);
    expect((await admin.get('/groups?archived=yes').expect(400)).body.error.code).toBe('invalidQuery');

    // read-only, through every door
    const refusals = [
      await admin.post(`/groups/${group.id}/members`, { users: [{ id: v.id }] }),
      await admin.delete(`/groups/${group.id}/members/${u.id}`),
      await admin.patch(`/groups/${group.id}`, { displayName: 'Renamed' }),
      await admin.patch(`/groups/${group.id}`, { description: 'New text' }),
      await admin.post(`/groups/${group.id}/assignments`, { contentId: course }),
      await admin.put(`/users/${v.id}/groups`, { groupIds: [group.id] }),
    ];
    for (const r of refusals) expect([r.status, r.body.error?.code]).toEqual([409, 'archived']);
    const viaScim = await scim.patch(`/Groups/${group.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: v.id }] })).expect(400);
    expect(viaScim.body.scimType).toBe('mutability');
    expect(await memberIds(group.id)).toEqual([u.id]);
    expect((await groupOf(group.id)).displayName).toBe('Sales Refresher Q4');
    // archiving keeps everything: the member still has the course
    expect(((await admin.get(`/users/${u.id}/access`).expect(200)).body.items as { contentId: string }[]).map((x) => x.contentId)).toEqual([course]);

    // unarchive (with another change in the same call), then it takes changes again
    expect((await admin.patch(`/groups/${group.id}`, { archived: false, description: 'Back' }).expect(200)).body).toMatchObject({ archived: false, description: 'Back' });
    await admin.post(`/groups/${group.id}/members`, { users: [{ id: v.id }] }).expect(200);
    expect(await memberIds(group.id)).toEqual(sorted([u.id, v.id]));
    expect(await listed()).toContain(group.id);
  });

  it("leaves an identity provider's membership and name to it, and its settings free", async () => {
    const u = await person('idp');
    const group = await idpGroup('Engineering', []);
    expect((await groupOf(group)).managedBy).toBe('identityProvider');
    const refusals = [
      await admin.post(`/groups/${group}/members`, { users: [{ id: u.id }] }),
      await admin.patch(`/groups/${group}`, { displayName: 'Eng' }),
      await admin.patch(`/groups/${group}`, { visibility: 'public' }),
      await admin.delete(`/groups/${group}`),
    ];
    for (const r of refusals) expect([r.status, r.body.error?.code]).toEqual([409, 'managedByIdentityProvider']);
    expect(refusals[0]!.body.error.message).toBe('Group "Engineering" is pushed by an identity provider, which owns its members; change it there');
    const rule = await admin.patch(`/groups/${group}`, { rule: 'active eq true' }).expect(409);
    expect(rule.body.error.code).toBe('managedByIdentityProvider');
    expect(await memberIds(group)).toEqual([]);
    expect((await groupOf(group)).displayName).toBe('Engineering');

    // its settings are the admins' to set, and the provider's next PUT (without the extension) keeps them
    await admin.patch(`/groups/${group}`, { description: 'Builds things', color: '#00aa00', maxMembers: 50 }).expect(200);
    await scim.put(`/Groups/${group}`, { schemas: [GROUP], displayName: 'Engineering', members: [{ value: u.id }] }).expect(200);
    expect(await groupOf(group)).toMatchObject({ description: 'Builds things', color: '#00aa00', maxMembers: 50, members: 1 });
    // a PATCH that removes an extension attribute clears it
    await scim.patch(`/Groups/${group}`, patchOp({ op: 'remove', path: `${ROSTER_GROUP_SCHEMA}:color` })).expect(204);
    expect(await groupOf(group)).toMatchObject({ description: 'Builds things', color: null, maxMembers: 50 });
  });

  it("deletes a Roster group: members keep their learning progress", async () => {
    const u = await person('del');
    const group = await cohort('Short-lived');
    const course = (await admin.post('/content', { kind: 'course', title: 'Short course' }).expect(201)).body.id as string;
    await admin.post(`/groups/${group.id}/assignments`, { contentId: course }).expect(201);
    await admin.post(`/groups/${group.id}/members`, { users: [{ id: u.id }] }).expect(200);
    const [enrollment] = (await admin.get(`/users/${u.id}/enrollments`).expect(200)).body.items as { id: string }[];
    await admin.post(`/enrollments/${enrollment!.id}/progress`, { progress: 40 }).expect(200);
    await admin.delete(`/groups/${group.id}`).expect(204);
    await admin.get(`/groups/${group.id}`).expect(404);
    const [kept] = (await admin.get(`/users/${u.id}/enrollments`).expect(200)).body.items as { id: string; progress: number; state: string }[];
    expect(kept).toMatchObject({ id: enrollment!.id, progress: 40, state: 'suspended' });
  });

  it("sets a user's groups: joins and leaves Roster groups, leaves the provider's alone; several users in one transaction", async () => {
    const [u, w, x] = [await person('set1'), await person('set2'), await person('set3')];
    const off = await person('set-off', { active: false });
    const [a, b, c] = [await cohort('Set A'), await cohort('Set B'), await cohort('Set C')];
    const idp = await idpGroup('Set IdP', [u.id]);
    await admin.post(`/groups/${a.id}/members`, { users: [{ id: u.id }] }).expect(200);
    await admin.post(`/groups/${b.id}/members`, { users: [{ id: u.id }] }).expect(200);

    const res = await admin.put(`/users/${u.id}/groups`, { groupIds: [b.id, c.id] }).expect(200);
    expect(res.body).toEqual({ userId: u.id, joined: [c.id], left: [a.id] });
    expect([await memberIds(a.id), await memberIds(b.id), await memberIds(c.id), await memberIds(idp)]).toEqual([[], [u.id], [u.id], [u.id]]);

    // naming the provider's group is refused, and so the whole call changes nothing
    const refused = await admin.put(`/users/${u.id}/groups`, { groupIds: [a.id, idp] }).expect(409);
    expect(refused.body.error.code).toBe('managedByIdentityProvider');
    expect([await memberIds(a.id), await memberIds(b.id), await memberIds(c.id)]).toEqual([[], [u.id], [u.id]]);

    // several users at once
    const many = await admin.post('/users/groups', { userIds: [u.id, w.id, x.id], groupIds: [a.id] }).expect(200);
    expect(many.body.items).toEqual([
      { userId: u.id, joined: [a.id], left: sorted([b.id, c.id]) },
      { userId: w.id, joined: [a.id], left: [] },
      { userId: x.id, joined: [a.id], left: [] },
    ].map((r) => ({ ...r, left: expect.arrayContaining(r.left) as unknown })));
    expect([await memberIds(a.id), await memberIds(b.id), await memberIds(c.id), await memberIds(idp)]).toEqual([sorted([u.id, w.id, x.id]), [], [], [u.id]]);

    // one deactivated user among them: nobody's groups change
    const withOff = await admin.post('/users/groups', { userIds: [w.id, off.id], groupIds: [b.id] }).expect(400);
    expect(withOff.body.error.code).toBe('inactiveUsers');
    expect([await memberIds(a.id), await memberIds(b.id)]).toEqual([sorted([u.id, w.id, x.id]), []]);

    await admin.put('/users/no-such-user/groups', { groupIds: [a.id] }).expect(404);
    await admin.put(`/users/${u.id}/groups`, { groupIds: ['no-such-group'] }).expect(404);
    expect((await admin.put(`/users/${u.id}/groups`, { groupIds: [a.id, a.id] }).expect(400)).body.error.code).toBe('invalidBody');
  });

  it("never reaches another tenant's groups or users", async () => {
    const theirs = await (await t.admin('globex')).post('/groups', { displayName: 'Globex cohort' }).expect(201);
    const mine = await person('mine');
    const group = await cohort('Mine');
    await admin.patch(`/groups/${theirs.body.id as string}`, { description: 'x' }).expect(404);
    await admin.delete(`/groups/${theirs.body.id as string}`).expect(404);
    await admin.post(`/groups/${theirs.body.id as string}/members`, { users: [{ id: mine.id }] }).expect(404);
    const stranger = (await (await t.scim('globex')).post('/Users', { schemas: [USER], userName: 'stranger@example.com' }).expect(201)).body.id as string;
    await admin.post(`/groups/${group.id}/members`, { users: [{ id: stranger }] }).expect(400);
    await admin.post(`/groups/${group.id}/members`, { users: [{ userName: 'stranger@example.com' }] }).expect(400);
    expect(await memberIds(group.id)).toEqual([]);
    expect((await (await t.admin('globex')).get(`/groups/${theirs.body.id as string}`).expect(200)).body.description).toBeNull();
  });
});
