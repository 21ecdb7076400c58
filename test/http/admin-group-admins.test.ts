import request from 'supertest';
import { createTestApp, GROUP, patchOp, USER, type ScimClient, type TestApp } from '../helpers/app';

/**
 * Group admins acting through member tokens (bound to their user), and members joining and leaving
 * public groups with theirs. Every forbidden action is tried, and checked to have changed nothing.
 */
describe('admin API: group admins and member tokens', () => {
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

  const person = async (name: string, active = true) => (await scim.post('/Users', { schemas: [USER], userName: `${name}.${++n}@example.com`, active }).expect(201)).body.id as string;
  const cohort = async (displayName: string, settings: Record<string, unknown> = {}) => (await admin.post('/groups', { displayName, ...settings }).expect(201)).body.id as string;
  const add = (groupId: string, ...ids: string[]) => admin.post(`/groups/${groupId}/members`, { users: ids.map((id) => ({ id })) }).expect(200);
  const memberIds = async (groupId: string) => (await t.store.membersOfGroups(await t.tenantId(), [groupId])).get(groupId)?.map((m) => m.userId).sort() ?? [];
  const sorted = (ids: string[]) => [...ids].sort();
  const tokenFor = async (userId: string) => {
    const res = await admin.post(`/users/${userId}/tokens`, {}).expect(201);
    expect(res.body.token).toMatch(/^rst_member_/);
    return res.body as { id: string; token: string };
  };
  /** A client of the admin API with a member token. */
  const as = (token: string) => {
    const auth = `Bearer ${token}`;
    const url = (p: string) => `/admin/v1${p}`;
    return {
      get: (p: string) => request(t.app).get(url(p)).set('authorization', auth),
      post: (p: string, body: object = {}) => request(t.app).post(url(p)).set('authorization', auth).send(body),
      put: (p: string, body: object = {}) => request(t.app).put(url(p)).set('authorization', auth).send(body),
      patch: (p: string, body: object = {}) => request(t.app).patch(url(p)).set('authorization', auth).send(body),
      delete: (p: string) => request(t.app).delete(url(p)).set('authorization', auth),
    };
  };
  /** Everything about a group an admin could change, to compare before and after. */
  const snapshot = async (groupId: string) => ({
    group: (await admin.get(`/groups/${groupId}`).expect(200)).body as unknown,
    members: await memberIds(groupId),
    assignments: (await admin.get(`/groups/${groupId}/assignments`).expect(200)).body as unknown,
    admins: (await admin.get(`/groups/${groupId}/admins`).expect(200)).body as unknown,
  });

  it('appoints a group admin, who adds and removes members of that group through their token, with enrollments following', async () => {
    const [ann, bob, cy] = [await person('ann'), await person('bob'), await person('cy')];
    const group = await cohort('Onboarding Cohort 7');
    const course = (await admin.post('/content', { kind: 'course', title: 'Welcome' }).expect(201)).body.id as string;
    await admin.post(`/groups/${group}/assignments`, { contentId: course }).expect(201);

    // a group admin must be an active member
    expect((await admin.put(`/groups/${group}/admins/${ann}`).expect(400)).body.error.message).toBe(`user ${ann} is not a member of group ${group}; a group admin must be one`);
    await add(group, ann);
    expect((await admin.put(`/groups/${group}/admins/${ann}`).expect(201)).body).toEqual({ groupId: group, userId: ann, appointed: true });
    expect((await admin.put(`/groups/${group}/admins/${ann}`).expect(200)).body.appointed).toBe(false);
    await admin.put(`/groups/${group}/admins/no-such-user`).expect(404);
    await admin.put(`/groups/no-such-group/admins/${ann}`).expect(404);
    const listed = (await admin.get(`/groups/${group}/admins`).expect(200)).body.items as { userId: string; effective: boolean; appointedBy: string }[];
    expect(listed).toEqual([expect.objectContaining({ userId: ann, effective: true, appointedBy: 'test-acme-admin' })]);

    const annToken = await tokenFor(ann);
    const tokens = (await admin.get(`/users/${ann}/tokens`).expect(200)).body.items as Record<string, unknown>[];
    expect(tokens).toEqual([expect.objectContaining({ id: annToken.id, scope: 'member', userId: ann, name: expect.stringMatching(/^member-ann\./) as unknown })]);
    expect(JSON.stringify(tokens)).not.toContain(annToken.token);

    const asAnn = as(annToken.token);
    const added = await asAnn.post(`/groups/${group}/members`, { users: [{ id: bob }, { id: cy }] }).expect(200);
    expect(added.body.added).toBe(2);
    expect(await memberIds(group)).toEqual(sorted([ann, bob, cy]));
    expect(((await admin.get(`/users/${bob}/access`).expect(200)).body.items as { contentId: string }[]).map((a) => a.contentId)).toEqual([course]);
    await asAnn.delete(`/groups/${group}/members/${cy}`).expect(204);
    expect(await memberIds(group)).toEqual(sorted([ann, bob]));
    // the sync log names the group admin's token
    const logged = (await admin.get(`/sync-log/${added.headers['x-request-id'] as string}`).expect(200)).body.entry;
    expect(logged).toMatchObject({ source: 'admin', tokenLabel: expect.stringMatching(/^member-ann\./) as unknown, status: 200 });
    // and reads their group, its members and their own access
    expect((await asAnn.get(`/groups/${group}`).expect(200)).body.members).toBe(2);
    expect(((await asAnn.get(`/users?group=${group}`).expect(200)).body.items as { id: string }[]).map((u) => u.id).sort()).toEqual(sorted([ann, bob]));
    await asAnn.get(`/users/${ann}/access`).expect(200);
    // copying the members of another group they administer too
    const dan = await person('dan');
    const second = await cohort('Onboarding Cohort 8');
    await add(second, ann, dan);
    await admin.put(`/groups/${second}/admins/${ann}`).expect(201);
    expect((await asAnn.post(`/groups/${group}/members`, { copyFrom: second }).expect(200)).body.addedUserIds).toEqual([dan]);
  });

  it('refuses a group admin everything else, and each refusal changes nothing', async () => {
    const [ann, bob, outsider] = [await person('ga'), await person('gb'), await person('gout')];
    const group = await cohort('Sales Refresher Q2', { description: 'Before', maxMembers: 10 });
    const other = await cohort('Someone else’s');
    await add(group, ann, bob);
    await add(other, bob);
    const course = (await admin.post('/content', { kind: 'course', title: 'Pricing' }).expect(201)).body.id as string;
    const assignment = (await admin.post(`/groups/${group}/assignments`, { contentId: course }).expect(201)).body.id as string;
    await admin.put(`/groups/${group}/admins/${ann}`).expect(201);
    const asAnn = as((await tokenFor(ann)).token);
    const before = await snapshot(group);
    const otherBefore = await snapshot(other);

    const attempts: [string, () => request.Test][] = [
      ['rename the group', () => asAnn.patch(`/groups/${group}`, { displayName: 'Renamed' })],
      ['change its settings', () => asAnn.patch(`/groups/${group}`, { description: 'After', maxMembers: 99 })],
      ['archive it', () => asAnn.patch(`/groups/${group}`, { archived: true })],
      ['make it public', () => asAnn.patch(`/groups/${group}`, { visibility: 'public' })],
      ['delete it', () => asAnn.delete(`/groups/${group}`)],
      ['assign content', () => asAnn.post(`/groups/${group}/assignments`, { contentId: course })],
      ['change an assignment', () => asAnn.patch(`/assignments/${assignment}`, { mandatory: true })],
      ['unassign', () => asAnn.delete(`/assignments/${assignment}`)],
      ['appoint another group admin', () => asAnn.put(`/groups/${group}/admins/${bob}`)],
      ['revoke a group admin', () => asAnn.delete(`/groups/${group}/admins/${ann}`)],
      ['move workspace credits into the group', () => asAnn.post(`/groups/${group}/credits`, { amount: 10 })],
      ['add members to a group they do not administer', () => asAnn.post(`/groups/${other}/members`, { users: [{ id: outsider }] })],
      ['copy the members of a group they do not administer', () => asAnn.post(`/groups/${group}/members`, { copyFrom: other })],
      ['remove members of a group they do not administer', () => asAnn.delete(`/groups/${other}/members/${bob}`)],
      ['read a group they do not administer', () => asAnn.get(`/groups/${other}`)],
      ['list every user', () => asAnn.get('/users')],
      ['list the members of another group', () => asAnn.get(`/users?group=${other}`)],
      ["read another user's access", () => asAnn.get(`/users/${bob}/access`)],
      ["set a user's groups", () => asAnn.put(`/users/${outsider}/groups`, { groupIds: [group] })],
      ['issue a member token', () => asAnn.post(`/users/${bob}/tokens`, {})],
      ['create a group', () => asAnn.post('/groups', { displayName: 'Mine now' })],
      ['create content', () => asAnn.post('/content', { kind: 'course', title: 'Mine' })],
      ['read the sync log', () => asAnn.get('/sync-log')],
      ['turn coaching off', () => asAnn.patch('/settings', { coaching: false })],
      ['deposit credits', () => asAnn.post('/credits/deposits', { amount: 5 })],
      ['subscribe a webhook', () => asAnn.post('/webhooks', { url: 'http://127.0.0.1:9/x', events: ['*'] })],
      ['run a reconcile', () => asAnn.post('/reconcile', {})],
      ['use another spelling of an allowed route', () => asAnn.post(`/Groups/${group}/members`, { users: [{ id: outsider }] })],
    ];
    for (const [what, attempt] of attempts) {
      const res = await attempt();
      expect([what, res.status, res.body.error?.code]).toEqual([what, 403, 'forbidden']);
    }
    expect(await snapshot(group)).toEqual(before);
    expect(await snapshot(other)).toEqual(otherBefore);
    expect((await admin.get('/groups?limit=500').expect(200)).body.items.map((g: { displayName: string }) => g.displayName)).not.toContain('Mine now');
    // a member token is not a SCIM token
    await request(t.app).get('/scim/v2/Users').set('authorization', `Bearer ${(await tokenFor(bob)).token}`).expect(401);
  });

  it("lets a group admin distribute their group's credits to its members, and no other group's", async () => {
    const [ann, bob] = [await person('ca'), await person('cb')];
    const [group, other] = [await cohort('Coached'), await cohort('Coached elsewhere')];
    await add(group, ann, bob);
    await add(other, bob);
    await admin.patch('/settings', { coaching: true }).expect(200);
    await admin.post('/credits/deposits', { amount: 100 }).expect(201);
    await admin.post(`/groups/${group}/credits`, { amount: 30 }).expect(201);
    await admin.post(`/groups/${other}/credits`, { amount: 30 }).expect(201);
    await admin.put(`/groups/${group}/admins/${ann}`).expect(201);
    const asAnn = as((await tokenFor(ann)).token);
    const given = await asAnn.post(`/groups/${group}/credits/distributions`, { distributions: [{ userId: bob, amount: 12 }] }).expect(201);
    expect(JSON.stringify(given.body)).toContain('"actor":"member-ca.');
    expect((await asAnn.get(`/groups/${group}/credits`).expect(200)).body.balance).toBe(18);
    await asAnn.post(`/groups/${other}/credits/distributions`, { distributions: [{ userId: bob, amount: 1 }] }).expect(403);
    await asAnn.post(`/groups/${group}/credits`, { amount: 1 }).expect(403);
    expect((await admin.get(`/users/${bob}/credits`).expect(200)).body.balance).toBe(12);
    expect((await admin.get(`/groups/${other}/credits`).expect(200)).body.balance).toBe(30);
  });

  it('stops a group admin who is revoked, leaves the group or is deactivated; a revoked token is refused', async () => {
    const [ann, bob, cy] = [await person('ra'), await person('rb'), await person('rc')];
    const group = await cohort('Revocable');
    await add(group, ann);
    await admin.put(`/groups/${group}/admins/${ann}`).expect(201);
    const token = await tokenFor(ann);
    const asAnn = as(token.token);
    await asAnn.post(`/groups/${group}/members`, { users: [{ id: bob }] }).expect(200);

    await admin.delete(`/groups/${group}/admins/${ann}`).expect(204);
    await admin.delete(`/groups/${group}/admins/${ann}`).expect(404);
    await asAnn.post(`/groups/${group}/members`, { users: [{ id: cy }] }).expect(403);

    // appointed again, then they leave the group: the appointment stays, and does nothing
    await admin.put(`/groups/${group}/admins/${ann}`).expect(201);
    await admin.delete(`/groups/${group}/members/${ann}`).expect(204);
    await asAnn.post(`/groups/${group}/members`, { users: [{ id: cy }] }).expect(403);
    expect(((await admin.get(`/groups/${group}/admins`).expect(200)).body.items as { effective: boolean }[]).map((a) => a.effective)).toEqual([false]);
    await add(group, ann);
    await asAnn.post(`/groups/${group}/members`, { users: [{ id: cy }] }).expect(200);

    // deactivated: nothing at all; reactivated: back
    await scim.patch(`/Users/${ann}`, patchOp({ op: 'replace', path: 'active', value: false })).expect(204);
    const off = await asAnn.delete(`/groups/${group}/members/${cy}`).expect(403);
    expect(off.body.error.message).toBe(`the user this token acts for (${ann}) is deactivated`);
    await scim.patch(`/Users/${ann}`, patchOp({ op: 'replace', path: 'active', value: true })).expect(204);
    await asAnn.delete(`/groups/${group}/members/${cy}`).expect(204);

    // the token revoked by a workspace admin
    await admin.delete(`/users/${bob}/tokens/${token.id}`).expect(404);
    await admin.delete(`/users/${ann}/tokens/${token.id}`).expect(204);
    await asAnn.get(`/groups/${group}`).expect(401);
    expect(await memberIds(group)).toEqual(sorted([ann, bob]));
  });

  it('lets members join and leave public groups by themselves, and no other group', async () => {
    const [bob, cy] = [await person('pj'), await person('pk')];
    const open = await cohort('Lunch and Learn', { visibility: 'public', maxMembers: 1 });
    const closed = await cohort('Closed cohort');
    const idp = (await scim.post('/Groups', { schemas: [GROUP], displayName: 'Pushed' }).expect(201)).body.id as string;
    const course = (await admin.post('/content', { kind: 'course', title: 'Lunch talk' }).expect(201)).body.id as string;
    await admin.post(`/groups/${open}/assignments`, { contentId: course }).expect(201);
    const asBob = as((await tokenFor(bob)).token);
    const asCy = as((await tokenFor(cy)).token);

    expect((await asBob.post(`/groups/${open}/join`).expect(200)).body).toEqual({ joined: true });
    expect((await asBob.post(`/groups/${open}/join`).expect(200)).body).toEqual({ joined: false });
    expect(((await asBob.get(`/users/${bob}/access`).expect(200)).body.items as { contentId: string }[]).map((a) => a.contentId)).toEqual([course]);
    // the limit holds for those who join by themselves too
    expect((await asCy.post(`/groups/${open}/join`).expect(409)).body.error.code).toBe('groupFull');
    expect((await asCy.post(`/groups/${closed}/join`).expect(403)).body.error.message).toBe('Group "Closed cohort" is private: only admins add and remove its members');
    expect((await asCy.post(`/groups/${idp}/join`).expect(409)).body.error.code).toBe('managedByIdentityProvider');
    expect((await admin.post(`/groups/${open}/join`).expect(400)).body.error.code).toBe('memberTokenRequired');
    expect((await asBob.post(`/groups/${open}/leave`).expect(200)).body).toEqual({ left: true });
    expect(await memberIds(open)).toEqual([]);
    // leaving a private group is the admins' call
    await add(closed, cy);
    await asCy.post(`/groups/${closed}/leave`).expect(403);
    expect([await memberIds(closed), await memberIds(idp)]).toEqual([[cy], []]);
    // an archived public group takes no one
    await admin.patch(`/groups/${open}`, { archived: true }).expect(200);
    expect((await asCy.post(`/groups/${open}/join`).expect(409)).body.error.code).toBe('archived');
  });

  it("keeps member tokens and group admins to their tenant", async () => {
    const mine = await person('iso');
    const theirs = (await (await t.scim('globex')).post('/Users', { schemas: [USER], userName: 'globex-user@example.com' }).expect(201)).body.id as string;
    const theirGroup = (await (await t.admin('globex')).post('/groups', { displayName: 'Globex public', visibility: 'public' }).expect(201)).body.id as string;
    await admin.post(`/users/${theirs}/tokens`, {}).expect(404);
    await admin.put(`/groups/${theirGroup}/admins/${mine}`).expect(404);
    const asMine = as((await tokenFor(mine)).token);
    await asMine.post(`/groups/${theirGroup}/join`).expect(404);
    expect(await memberIds(theirGroup)).toEqual([]);
    await admin.post(`/users/${await person('off', false)}/tokens`, {}).expect(400);
  });
});
