import crypto from 'node:crypto';
import { AssignmentStore } from '../../src/enrollment/assignments';
import { recomputeTerms } from '../../src/enrollment/rules';
import { createTestApp, GROUP, patchOp, USER, type ScimClient, type TestApp } from '../helpers/app';

interface EnrollmentBody {
  id: string;
  contentId: string;
  state: string;
  progress: number;
  dueAt: string | null;
  mandatory: boolean;
  grants: { groupId: string; assignmentId: string; startedAt: string; endedAt: string | null; cause: { started: string; ended: string | null } }[];
}

/** The enrollment rules through the real path: SCIM for membership changes, the admin API for the rest. */
describe('enrollment rules', () => {
  let t: TestApp;
  let scim: ScimClient;
  let admin: ScimClient;

  beforeAll(async () => {
    t = await createTestApp();
    scim = await t.scim();
    admin = await t.admin();
  });
  afterAll(() => t.close());

  const newUser = async () => (await scim.post('/Users', { schemas: [USER], userName: `u.${crypto.randomUUID()}` })).body.id as string;
  const newGroup = async (members: string[] = []) =>
    (await scim.post('/Groups', { schemas: [GROUP], displayName: `G ${crypto.randomUUID()}`, members: members.map((value) => ({ value })) })).body.id as string;
  const newContent = async (kind = 'course') => (await admin.post('/content', { kind, title: `C ${crypto.randomUUID()}` })).body.id as string;
  const assign = async (groupId: string, body: Record<string, unknown>) => {
    const res = await admin.post(`/groups/${groupId}/assignments`, body);
    expect(res.status).toBe(body.dryRun ? 200 : 201);
    return res.body as { id: string; granted: number; enrollmentsCreated: number; enrollmentsReactivated: number };
  };
  const enrollmentsOf = async (userId: string) => (await admin.get(`/users/${userId}/enrollments`)).body.items as EnrollmentBody[];
  const join = (groupId: string, userId: string) => scim.patch(`/Groups/${groupId}`, patchOp({ op: 'add', path: 'members', value: [{ value: userId }] })).expect(204);
  const leave = (groupId: string, userId: string) => scim.patch(`/Groups/${groupId}`, patchOp({ op: 'remove', path: `members[value eq "${userId}"]` })).expect(204);

  it('rule 1: joining a group enrolls in its courses, with a grant naming the group, assignment and request; twice changes nothing', async () => {
    const [course, g, u] = [await newContent(), await newGroup(), await newUser()];
    const a = await assign(g, { contentId: course });
    const res = await scim.patch(`/Groups/${g}`, patchOp({ op: 'add', path: 'members', value: [{ value: u }] }));
    expect(res.status).toBe(204);
    const [e, ...rest] = await enrollmentsOf(u);
    expect(rest).toEqual([]);
    expect(e).toMatchObject({ contentId: course, state: 'active', progress: 0 });
    expect(e!.grants).toEqual([
      { groupId: g, assignmentId: a.id, startedAt: expect.any(String), endedAt: null, cause: { started: res.headers['x-request-id'], ended: null } },
    ]);
    await join(g, u);
    expect(await enrollmentsOf(u)).toEqual([e]);
  });

  it('rule 2: leaving suspends without losing progress; re-joining restores the same enrollment', async () => {
    const [course, g, u] = [await newContent(), await newGroup(), await newUser()];
    await assign(g, { contentId: course });
    await join(g, u);
    const [before] = await enrollmentsOf(u);
    expect((await admin.post(`/enrollments/${before!.id}/progress`, { progress: 40 })).body.progress).toBe(40);
    await leave(g, u);
    const [left] = await enrollmentsOf(u);
    expect(left).toMatchObject({ id: before!.id, state: 'suspended', progress: 40 });
    expect(left!.grants[0]!.endedAt).not.toBeNull();
    await join(g, u);
    const [back] = await enrollmentsOf(u);
    expect(back).toMatchObject({ id: before!.id, state: 'active', progress: 40 });
    expect(back!.grants.map((gr) => gr.endedAt === null)).toEqual([false, true]);
  });

  it('rule 2: two groups granting the same course — leaving one keeps access', async () => {
    const [course, g1, g2, u] = [await newContent(), await newGroup(), await newGroup(), await newUser()];
    await assign(g1, { contentId: course });
    await assign(g2, { contentId: course });
    await join(g1, u);
    await join(g2, u);
    await leave(g1, u);
    const [e] = await enrollmentsOf(u);
    expect(e).toMatchObject({ state: 'active' });
    expect(e!.grants.filter((gr) => gr.endedAt === null).map((gr) => gr.groupId)).toEqual([g2]);
  });

  it('rule 2: the leave policy decides — keep stays active, suspendIfNotStarted keeps a started course, completed stays completed', async () => {
    const [keepCourse, startedCourse, doneCourse, g, u] = [await newContent(), await newContent(), await newContent(), await newGroup(), await newUser()];
    await assign(g, { contentId: keepCourse, onLeave: 'keep' });
    await assign(g, { contentId: startedCourse, onLeave: 'suspendIfNotStarted' });
    await assign(g, { contentId: doneCourse });
    await join(g, u);
    const byContent = async () => new Map((await enrollmentsOf(u)).map((e) => [e.contentId, e]));
    const before = await byContent();
    await admin.post(`/enrollments/${before.get(startedCourse)!.id}/progress`, { progress: 10 });
    await admin.post(`/enrollments/${before.get(doneCourse)!.id}/progress`, { completed: true });
    await leave(g, u);
    const after = await byContent();
    expect(after.get(keepCourse)!.state).toBe('active');
    expect(after.get(startedCourse)!.state).toBe('active');
    expect(after.get(doneCourse)!).toMatchObject({ state: 'completed', progress: 100 });
  });

  it('rule 3: assigning reaches current members at once and future members as they join; futureOnly skips the current ones', async () => {
    const [c1, c2, a, b] = [await newContent(), await newContent(), await newUser(), await newUser()];
    const g = await newGroup([a]);
    const now = await assign(g, { contentId: c1 });
    expect(now).toMatchObject({ granted: 1, enrollmentsCreated: 1 });
    const later = await assign(g, { contentId: c2, futureOnly: true });
    expect(later.granted).toBe(0);
    expect((await enrollmentsOf(a)).map((e) => e.contentId)).toEqual([c1]);
    await join(g, b);
    expect((await enrollmentsOf(b)).map((e) => e.contentId).sort()).toEqual([c1, c2].sort());
  });

  it('rule 3: a dry run reports the counts and changes nothing', async () => {
    const [course, a, b] = [await newContent(), await newUser(), await newUser()];
    const g = await newGroup([a, b]);
    const dry = await assign(g, { contentId: course, dryRun: true });
    expect(dry).toMatchObject({ granted: 2, enrollmentsCreated: 2, enrollmentsReactivated: 0 });
    expect((await admin.get(`/groups/${g}/assignments`)).body.items).toEqual([]);
    expect(await enrollmentsOf(a)).toEqual([]);
    const real = await assign(g, { contentId: course });
    expect(real.granted).toBe(2);
    expect((await admin.get(`/groups/${g}/assignments`)).body.items).toEqual([
      expect.objectContaining({ id: real.id, groupId: g, contentId: course, onLeave: 'suspend', mandatory: false, futureOnly: false }),
    ]);
  });

  it('refuses an assignment of unknown content, to an unknown group, twice, or with both due forms, and creates nothing', async () => {
    const [course, g] = [await newContent(), await newGroup()];
    expect((await admin.post(`/groups/${g}/assignments`, { contentId: crypto.randomUUID() })).status).toBe(404);
    expect((await admin.post(`/groups/${crypto.randomUUID()}/assignments`, { contentId: course })).status).toBe(404);
    expect((await admin.post(`/groups/${g}/assignments`, { contentId: course, dueDate: '2027-01-01', dueInDays: 5 })).status).toBe(400);
    await assign(g, { contentId: course });
    const again = await admin.post(`/groups/${g}/assignments`, { contentId: course });
    expect(again.status).toBe(409);
    expect((await admin.get(`/groups/${g}/assignments`)).body.items).toHaveLength(1);
  });

  it('rule 4: unassigning keeps course enrollments but ends a bot’s access at once; nobody new is enrolled', async () => {
    const [course, bot, u, v] = [await newContent(), await newContent('bot'), await newUser(), await newUser()];
    const g = await newGroup([u]);
    const a1 = await assign(g, { contentId: course });
    const a2 = await assign(g, { contentId: bot });
    expect((await admin.delete(`/assignments/${a1.id}`)).status).toBe(204);
    expect((await admin.delete(`/assignments/${a2.id}`)).status).toBe(204);
    const byContent = new Map((await enrollmentsOf(u)).map((e) => [e.contentId, e]));
    expect(byContent.get(course)!.state).toBe('active');
    expect(byContent.get(bot)!.state).toBe('suspended');
    expect([...byContent.values()].every((e) => e.grants.every((gr) => gr.endedAt !== null))).toBe(true);
    await join(g, v);
    expect(await enrollmentsOf(v)).toEqual([]);
    expect((await admin.delete(`/assignments/${a1.id}`)).status).toBe(404);
  });

  it('changes an assignment’s options with PATCH, and refuses what cannot change', async () => {
    const [course, g] = [await newContent(), await newGroup()];
    const a = await assign(g, { contentId: course, dueInDays: 7 });
    const res = await admin.patch(`/assignments/${a.id}`, { mandatory: true, dueDate: '2027-03-01', onLeave: 'keep' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: a.id, mandatory: true, dueDate: '2027-03-01T00:00:00.000Z', dueInDays: null, onLeave: 'keep' });
    expect((await admin.patch(`/assignments/${a.id}`, { contentId: course })).status).toBe(400);
    expect((await admin.patch(`/assignments/${crypto.randomUUID()}`, { mandatory: false })).status).toBe(404);
  });

  it('rule 5: deleting a group ends its grants and assignments; enrollments and accounts stay', async () => {
    const [course, u] = [await newContent(), await newUser()];
    const g = await newGroup([u]);
    await assign(g, { contentId: course });
    await scim.delete(`/Groups/${g}`).expect(204);
    const [e] = await enrollmentsOf(u);
    expect(e).toMatchObject({ contentId: course, state: 'suspended' });
    expect((await scim.get(`/Users/${u}`)).status).toBe(200);
    expect((await admin.get(`/groups/${g}/assignments`)).status).toBe(404);
  });

  it('rule 6: deactivating suspends access to everything, keeps memberships and progress; reactivating restores exactly that', async () => {
    const [c1, c2, done, u] = [await newContent(), await newContent(), await newContent(), await newUser()];
    const g = await newGroup([u]);
    for (const c of [c1, c2, done]) await assign(g, { contentId: c });
    const before = new Map((await enrollmentsOf(u)).map((e) => [e.contentId, e]));
    await admin.post(`/enrollments/${before.get(c1)!.id}/progress`, { progress: 30 });
    await admin.post(`/enrollments/${before.get(done)!.id}/progress`, { completed: true });
    await scim.patch(`/Users/${u}`, patchOp({ op: 'Replace', path: 'active', value: 'False' })).expect(204);
    const off = new Map((await enrollmentsOf(u)).map((e) => [e.contentId, e]));
    expect([off.get(c1)!.state, off.get(c2)!.state, off.get(done)!.state]).toEqual(['suspended', 'suspended', 'completed']);
    expect(off.get(c1)!.progress).toBe(30);
    expect((await scim.get(`/Groups/${g}`)).body.members.map((m: { value: string }) => m.value)).toEqual([u]);
    await scim.patch(`/Users/${u}`, patchOp({ op: 'replace', path: 'active', value: true })).expect(204);
    const on = new Map((await enrollmentsOf(u)).map((e) => [e.contentId, e]));
    expect([on.get(c1)!.state, on.get(c2)!.state, on.get(done)!.state]).toEqual(['active', 'active', 'completed']);
  });

  it('rule 6: a deactivated user who leaves a group is not given access back on reactivation; one who joins gets it then', async () => {
    const [c1, c2, u] = [await newContent(), await newContent(), await newUser()];
    const g1 = await newGroup([u]);
    const g2 = await newGroup();
    await assign(g1, { contentId: c1 });
    await assign(g2, { contentId: c2 });
    await scim.patch(`/Users/${u}`, patchOp({ op: 'replace', path: 'active', value: false })).expect(204);
    await leave(g1, u);
    await join(g2, u);
    expect((await enrollmentsOf(u)).map((e) => e.state)).toEqual(['suspended', 'suspended']);
    await scim.patch(`/Users/${u}`, patchOp({ op: 'replace', path: 'active', value: true })).expect(204);
    const on = new Map((await enrollmentsOf(u)).map((e) => [e.contentId, e.state]));
    expect(on.get(c1)).toBe('suspended');
    expect(on.get(c2)).toBe('active');
  });

  const days = (fromIso: string, toIso: string) => Math.round((Date.parse(toIso) - Date.parse(fromIso)) / 86_400_000);

  it('rule 7: overlapping grants resolve to the strictest, and are recomputed when one ends', async () => {
    const [course, u] = [await newContent(), await newUser()];
    const relaxed = await newGroup();
    const strict = await newGroup();
    await assign(relaxed, { contentId: course, dueInDays: 30 });
    await assign(strict, { contentId: course, dueInDays: 10, mandatory: true });
    await join(relaxed, u);
    const [first] = await enrollmentsOf(u);
    expect(first).toMatchObject({ mandatory: false });
    expect(days(first!.grants[0]!.startedAt, first!.dueAt!)).toBe(30);
    await join(strict, u);
    const [both] = await enrollmentsOf(u);
    expect(both!.mandatory).toBe(true);
    const strictGrant = both!.grants.find((gr) => gr.groupId === strict)!;
    expect(days(strictGrant.startedAt, both!.dueAt!)).toBe(10);
    await leave(strict, u);
    const [after] = await enrollmentsOf(u);
    expect(after!.mandatory).toBe(false);
    expect(days(first!.grants[0]!.startedAt, after!.dueAt!)).toBe(30);
  });

  it('rule 7: a completed enrollment’s dates never move', async () => {
    const [course, u] = [await newContent(), await newUser()];
    const g1 = await newGroup([u]);
    const g2 = await newGroup();
    await assign(g1, { contentId: course, dueInDays: 30 });
    const [e] = await enrollmentsOf(u);
    await admin.post(`/enrollments/${e!.id}/progress`, { completed: true });
    await assign(g2, { contentId: course, dueInDays: 1, mandatory: true });
    await join(g2, u);
    const [after] = await enrollmentsOf(u);
    expect(after).toMatchObject({ state: 'completed', dueAt: e!.dueAt, mandatory: false });
  });

  it('rule 8: a late joiner whose absolute due date has passed gets the minimum window; one before it keeps the date', async () => {
    const [late, onTime, u] = [await newContent(), await newContent(), await newUser()];
    const g = await newGroup();
    const future = new Date(Date.now() + 60 * 86_400_000).toISOString();
    await assign(g, { contentId: late, dueDate: '2020-01-01' });
    await assign(g, { contentId: onTime, dueDate: future });
    await join(g, u);
    const byContent = new Map((await enrollmentsOf(u)).map((e) => [e.contentId, e]));
    const lateOne = byContent.get(late)!;
    expect(days(lateOne.grants[0]!.startedAt, lateOne.dueAt!)).toBe(7);
    expect(byContent.get(onTime)!.dueAt).toBe(future);
  });

  it('rules 7 and 8: the terms a new enrollment is created with are the ones a recomputation from its grants gives', async () => {
    const [relative, late, mandatory, plain] = [await newContent(), await newContent(), await newContent(), await newContent()];
    const members = [await newUser(), await newUser(), await newUser()];
    const g = await newGroup(members.slice(0, 2));
    await assign(g, { contentId: relative, dueInDays: 14 });
    await assign(g, { contentId: late, dueDate: '2020-01-01' });
    await assign(g, { contentId: mandatory, mandatory: true, dueDate: '2031-06-30' });
    await assign(g, { contentId: plain });
    await join(g, members[2]!); // a joiner's enrollments come from the same statement as an assignment's
    const terms = async () => {
      const rows = (await t.db.knex('enrollments').whereIn('user_id', members).orderBy('id').select('id', 'mandatory', 'due_at')) as { id: string; mandatory: unknown; due_at: string | null }[];
      return rows.map((r) => ({ ...r, mandatory: Boolean(r.mandatory) }));
    };
    const written = await terms();
    expect(written).toHaveLength(12);
    expect(written.filter((r) => r.mandatory)).toHaveLength(3);
    expect(written.filter((r) => r.due_at === null)).toHaveLength(3);
    const ids = written.map((r) => r.id);
    await t.db.transaction((tx) => recomputeTerms(tx, { dialect: t.db.dialect, changes: t.syncLog.changes }, ids));
    expect(await terms()).toEqual(written);
  });

  it('rule 7: changing an assignment’s terms moves the terms of the enrollments it grants', async () => {
    const [course, u] = [await newContent(), await newUser()];
    const g = await newGroup([u]);
    const a = await assign(g, { contentId: course });
    expect((await enrollmentsOf(u))[0]).toMatchObject({ mandatory: false, dueAt: null });
    await admin.patch(`/assignments/${a.id}`, { mandatory: true, dueDate: '2031-06-30' }).expect(200);
    expect((await enrollmentsOf(u))[0]).toMatchObject({ mandatory: true, dueAt: '2031-06-30T00:00:00.000Z' });
  });

  it('rule 11: reconcile finds drift, reports it on a dry run without changing anything, repairs it, then finds none', async () => {
    const t2 = await createTestApp();
    try {
      const [s2, a2] = [await t2.scim(), await t2.admin()];
      const course = (await a2.post('/content', { kind: 'course', title: 'Drift' })).body.id as string;
      const userId = async (userName: string) => (await s2.post('/Users', { schemas: [USER], userName })).body.id as string;
      const u = await userId('u');
      const v = await userId('v');
      const g = (await s2.post('/Groups', { schemas: [GROUP], displayName: 'D', members: [{ value: u }, { value: v }] })).body.id as string;
      await a2.post(`/groups/${g}/assignments`, { contentId: course }).expect(201);
      // Drift, as a crash or a bug outside the rules could leave it: u's grant is lost, v's membership vanishes.
      const enrollmentOf = async (userId: string) => ((await a2.get(`/users/${userId}/enrollments`)).body.items as EnrollmentBody[])[0]!;
      await t2.db.knex('grants').where({ enrollment_id: (await enrollmentOf(u)).id }).delete();
      await t2.db.knex('memberships').where({ group_id: g, user_id: v }).delete();
      const dry = await a2.post('/reconcile', { dryRun: true });
      expect(dry.body).toMatchObject({ dryRun: true, grantsOpened: 1, grantsEnded: 1, enrollmentsSuspended: 1, enrollmentsCreated: 0 });
      expect((await enrollmentOf(u)).grants).toEqual([]);
      const real = await a2.post('/reconcile', {});
      expect(real.body).toMatchObject({ dryRun: false, grantsOpened: 1, grantsEnded: 1, enrollmentsSuspended: 1 });
      expect((await enrollmentOf(u)).grants.filter((gr) => gr.endedAt === null)).toHaveLength(1);
      expect(await enrollmentOf(v)).toMatchObject({ state: 'suspended' });
      const again = await a2.post('/reconcile');
      expect(again.body).toEqual({ dryRun: false, enrollmentsCreated: 0, enrollmentsReactivated: 0, grantsOpened: 0, grantsEnded: 0, enrollmentsSuspended: 0, enrollmentsReopened: 0 });
    } finally {
      await t2.close();
    }
  });

  it('rule 12: events are written with the change, only for real changes, a bulk change in batches', async () => {
    const t2 = await createTestApp();
    try {
      const [s2, a2] = [await t2.scim(), await t2.admin()];
      const events = async () =>
        ((await t2.db.knex('events').orderBy('seq')) as { type: string; payload: string | Record<string, string[]> }[]).map((e) => ({
          type: e.type,
          payload: (typeof e.payload === 'string' ? JSON.parse(e.payload) : e.payload) as Record<string, string[] | string>,
        }));
      const course = (await a2.post('/content', { kind: 'course', title: 'Evented' })).body.id as string;
      const u = (await s2.post('/Users', { schemas: [USER], userName: 'evented' })).body.id as string;
      const g = (await s2.post('/Groups', { schemas: [GROUP], displayName: 'E' })).body.id as string;
      await a2.post(`/groups/${g}/assignments`, { contentId: course }).expect(201);
      const add = patchOp({ op: 'add', path: 'members', value: [{ value: u }] });
      await s2.patch(`/Groups/${g}`, add).expect(204);
      expect((await events()).map((e) => e.type)).toEqual(['membership.added', 'enrollment.created']);
      expect((await events())[0]!.payload).toEqual({ groupId: g, userIds: [u] });
      // the same push again: nothing changed, nothing to tell
      await s2.patch(`/Groups/${g}`, add).expect(204);
      expect(await events()).toHaveLength(2);
      await s2.patch(`/Groups/${g}`, patchOp({ op: 'remove', path: 'members', value: [{ value: u }] })).expect(204);
      expect((await events()).map((e) => e.type).slice(2)).toEqual(['membership.removed', 'enrollment.suspended']);

      // a bulk fan-out: 1,200 members, events of at most 500 enrollments each
      const tenantId = await t2.tenantId();
      const at = new Date().toISOString();
      const big = (await s2.post('/Groups', { schemas: [GROUP], displayName: 'Big' })).body.id as string;
      const ids = Array.from({ length: 1200 }, () => crypto.randomUUID());
      for (let i = 0; i < ids.length; i += 400) {
        const part = ids.slice(i, i + 400);
        await t2.db.knex('users').insert(part.map((id) => ({ id, tenant_id: tenantId, user_name: id, user_name_lc: id, data: '{}', created_at: at, updated_at: at })));
        await t2.db.knex('memberships').insert(part.map((id) => ({ tenant_id: tenantId, group_id: big, user_id: id, created_at: at })));
      }
      const bulk = await a2.post(`/groups/${big}/assignments`, { contentId: course });
      expect(bulk.body.enrollmentsCreated).toBe(1200);
      const created = (await events()).filter((e) => e.type === 'enrollment.created').slice(1);
      expect(created.map((e) => (e.payload.enrollmentIds as string[]).length)).toEqual([500, 500, 200]);
    } finally {
      await t2.close();
    }
  });

  it('rule 9: recertification reopens a completed enrollment when completion + N months is reached, keeping the earlier completion', async () => {
    const [course, u] = [await newContent(), await newUser()];
    const g = await newGroup([u]);
    await assign(g, { contentId: course, recertifyMonths: 12 });
    const [e] = await enrollmentsOf(u);
    const done = await admin.post(`/enrollments/${e!.id}/progress`, { completed: true });
    const completedAt = done.body.completedAt as string;
    expect(done.body.expiresAt).toBe(new Date(new Date(completedAt).setUTCMonth(new Date(completedAt).getUTCMonth() + 12)).toISOString());
    const store = new AssignmentStore(t.db, t.syncLog.changes);
    const tenantId = await t.tenantId();
    const cause = { requestId: 'test-clock', source: 'test' as const };
    const monthsLater = (n: number) => {
      const d = new Date(completedAt);
      d.setUTCMonth(d.getUTCMonth() + n);
      return d.toISOString();
    };
    expect(await store.recertify(tenantId, cause, monthsLater(11))).toBe(0);
    expect((await enrollmentsOf(u))[0]).toMatchObject({ state: 'completed', completedAt });
    expect(await store.recertify(tenantId, cause, monthsLater(12))).toBe(1);
    expect((await enrollmentsOf(u))[0]).toMatchObject({ id: e!.id, state: 'active', progress: 0, completedAt: null, expiresAt: null, history: [{ completedAt }] });
    expect(await store.recertify(tenantId, cause, monthsLater(13))).toBe(0);
  });

  it('rule 6: deleting a user ends their grants and keeps the learning record', async () => {
    const [course, u] = [await newContent(), await newUser()];
    const g = await newGroup([u]);
    await assign(g, { contentId: course });
    const [e] = await enrollmentsOf(u);
    await admin.post(`/enrollments/${e!.id}/progress`, { progress: 70 });
    await scim.delete(`/Users/${u}`).expect(204);
    const [kept] = await enrollmentsOf(u);
    expect(kept).toMatchObject({ id: e!.id, state: 'suspended', progress: 70 });
  });

  it('rule 11: a hook failure inside the push rolls back the membership and its enrollments together', async () => {
    const [course, g, u] = [await newContent(), await newGroup(), await newUser()];
    await assign(g, { contentId: course });
    const unregister = t.store.hooks.register((_tx, event) => {
      if (event.type === 'membership.added') throw new Error('sync log unavailable');
    });
    const res = await scim.patch(`/Groups/${g}`, patchOp({ op: 'add', path: 'members', value: [{ value: u }] }));
    unregister();
    expect(res.status).toBe(500);
    expect(await enrollmentsOf(u)).toEqual([]);
    expect((await scim.get(`/Groups/${g}`)).body.members ?? []).toEqual([]);
  });

  it('lists a content’s enrollments, paged and filtered by state', async () => {
    const course = (await admin.post('/content', { kind: 'course', title: 'Reported' })).body.id as string;
    const users: string[] = [];
    for (let i = 0; i < 3; i++) users.push((await scim.post('/Users', { schemas: [USER], userName: `r${i}` })).body.id as string);
    const g = (await scim.post('/Groups', { schemas: [GROUP], displayName: 'R', members: users.map((value) => ({ value })) })).body.id as string;
    await admin.post(`/groups/${g}/assignments`, { contentId: course }).expect(201);
    const first = await admin.get(`/content/${course}/enrollments?limit=2`);
    expect(first.body.items).toHaveLength(2);
    const rest = await admin.get(`/content/${course}/enrollments?limit=2&cursor=${first.body.next as string}`);
    expect(rest.body).toMatchObject({ items: [expect.any(Object)], next: null });
    const firstId = (first.body.items as { id: string }[])[0]!.id;
    await admin.post(`/enrollments/${firstId}/progress`, { completed: true }).expect(200);
    const completed = await admin.get(`/content/${course}/enrollments?state=completed`);
    expect(completed.body.items.map((e: { id: string }) => e.id)).toEqual([firstId]);
    expect((await admin.get(`/content/${course}/enrollments?state=finished`)).status).toBe(400);
  });

  it('gives a group’s stats: members, and per content the distribution and average progress of active members', async () => {
    const [c1, c2] = [
      (await admin.post('/content', { kind: 'course', title: 'One' })).body.id as string,
      (await admin.post('/content', { kind: 'course', title: 'Two' })).body.id as string,
    ];
    const users: string[] = [];
    for (let i = 0; i < 4; i++) users.push((await scim.post('/Users', { schemas: [USER], userName: `s${i}` })).body.id as string);
    const g = (await scim.post('/Groups', { schemas: [GROUP], displayName: 'S', members: users.map((value) => ({ value })) })).body.id as string;
    await admin.post(`/groups/${g}/assignments`, { contentId: c1 }).expect(201);
    await admin.post(`/groups/${g}/assignments`, { contentId: c2, dueDate: '2020-01-01' }).expect(201);
    const enrollmentOf = async (userId: string, contentId: string) =>
      ((await admin.get(`/users/${userId}/enrollments`)).body.items as { id: string; contentId: string }[]).find((e) => e.contentId === contentId)!.id;
    await admin.post(`/enrollments/${await enrollmentOf(users[0]!, c1)}/progress`, { completed: true }).expect(200);
    await admin.post(`/enrollments/${await enrollmentOf(users[1]!, c1)}/progress`, { progress: 50 }).expect(200);
    // an inactive member is left out of the figures
    await scim.patch(`/Users/${users[3]!}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: false }] });
    const res = await admin.get(`/groups/${g}/stats`);
    expect(res.status).toBe(200);
    expect(res.body.members).toBe(4);
    const [one, two] = res.body.content as Record<string, unknown>[];
    expect(one).toMatchObject({ contentId: c1, enrolled: 3, completed: 1, inProgress: 1, notStarted: 1, overdue: 0, averageProgress: 50 });
    // due 2020-01-01 for joiners long after it: the late-joiner window (7 days) is not yet over
    expect(two).toMatchObject({ contentId: c2, enrolled: 3, notStarted: 3, overdue: 0 });
    expect((await admin.get(`/groups/${crypto.randomUUID()}/stats`)).status).toBe(404);
  });
});
