import type { MembershipEvent } from '../../src/membership/types';
import { createTestApp, USER, type TestApp } from '../helpers/app';

const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/**
 * Member changes of one group that overlap: a transaction is held open inside a hook (after the
 * enrollment rules have run in it) while the other change is sent. On PostgreSQL a member change
 * holds the group's row FOR KEY SHARE, so another member change of the group goes ahead, and a course
 * assigned to the group (FOR UPDATE) waits for it and then reaches the new member. On SQLite the
 * one writer makes each wait for the other; the outcome is the same.
 */
describe('member changes of one group at the same time', () => {
  let t: TestApp;
  const holds = new Map<string, { reached: () => void; released: Promise<void> }>();

  beforeAll(async () => {
    t = await createTestApp({}, { acquireTimeoutMs: 10_000 });
    t.store.hooks.register(async (_tx, e: MembershipEvent) => {
      const hold = e.type === 'membership.added' ? holds.get(e.userIds.join()) : undefined;
      if (hold) {
        hold.reached();
        await hold.released;
      }
    });
  });
  afterAll(async () => t.close());

  const postgres = () => t.db.dialect === 'postgres';
  /** Holds the transaction that adds these users; resolves once it is held, with the function that lets it go. */
  const hold = (userIds: string[]) => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const reached = new Promise<void>((r) => holds.set(userIds.join(), { reached: r, released }));
    return reached.then(() => () => {
      holds.delete(userIds.join());
      release();
    });
  };
  const user = async (name: string) => (await (await t.scim()).post('/Users', { schemas: [USER], userName: name }).expect(201)).body.id as string;
  const group = async (name: string) => (await (await t.scim()).post('/Groups', { schemas: [GROUP], displayName: name }).expect(201)).body.id as string;
  const course = async (title: string) => (await (await t.admin()).post('/content', { kind: 'course', title }).expect(201)).body.id as string;
  const addMember = async (groupId: string, id: string) => (await t.scim()).patch(`/Groups/${groupId}`, { schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: [{ value: id }] }] });
  const openGrants = async (userId: string) =>
    (await t.db.knex('grants').join('enrollments', 'enrollments.id', 'grants.enrollment_id').where({ 'enrollments.user_id': userId }).whereNull('grants.ended_at').pluck('grants.assignment_id')) as string[];
  /** Settles whether the promise has finished within the time given. */
  const finishedWithin = (p: Promise<unknown>, ms: number) => Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

  it('a course assigned while a member is joining reaches the new member', async () => {
    const [id, g, c] = await Promise.all([user('joining@example.com'), group('Joined while assigned'), course('Fire Safety')]);
    const holding = hold([id]);
    const added = addMember(g, id).then((r) => r);
    const release = await holding;
    const assigned = (await t.admin()).post(`/groups/${g}/assignments`, { contentId: c }).then((r) => r);
    // The assignment waits for the member change: it would otherwise miss the uncommitted member.
    const early = await finishedWithin(assigned, 300);
    release();
    expect(early).toBe(false);
    expect((await added).status).toBe(204);
    const assignment = await assigned;
    expect(assignment.status).toBe(201);
    expect(assignment.body).toMatchObject({ enrollmentsCreated: 1, grantsOpened: 1 });
    expect(await openGrants(id)).toEqual([assignment.body.id]);
  });

  // A member change reads whether the group has any assignment with the group's lock (the enrollment
  // rules' probe) and skips the fan-out when it has none: the read must see an assignment that
  // committed while the change waited for the lock.
  it('a member who joins while a course is being assigned (the assignment holding the group) is enrolled in it', async () => {
    const [id, g, c] = await Promise.all([user('waiting@example.com'), group('Assigned while joining'), course('First Aid')]);
    const assignment = { id: crypto.randomUUID(), tenant_id: await t.tenantId(), group_id: g, content_id: c, created_at: new Date().toISOString(), cause: 'test' };
    if (postgres()) {
      const trx = await t.db.knex.transaction();
      await trx.raw('select id from groups where id = ? for update', [g]);
      await trx('assignments').insert(assignment);
      const added = addMember(g, id).then((r) => r);
      // The member change waits for the group's lock, held by the assignment being made.
      expect(await finishedWithin(added, 300)).toBe(false);
      await trx.commit();
      expect((await added).status).toBe(204);
    } else {
      await t.db.knex('assignments').insert(assignment);
      expect((await addMember(g, id)).status).toBe(204);
    }
    expect(await openGrants(id)).toEqual([assignment.id]);
  });

  it('two members join side by side on PostgreSQL, each with its own version, and both are enrolled', async () => {
    const [a, b, g, c] = await Promise.all([user('first@example.com'), user('second@example.com'), group('Side by side'), course('Data Privacy')]);
    const assignment = (await (await t.admin()).post(`/groups/${g}/assignments`, { contentId: c }).expect(201)).body.id as string;
    const holding = hold([a]);
    const first = addMember(g, a).then((r) => r);
    const release = await holding;
    const second = addMember(g, b).then((r) => r);
    // PostgreSQL: the second change commits while the first is held. SQLite: it waits for the writer.
    const early = await finishedWithin(second, 2_000);
    release();
    expect(early).toBe(postgres());
    const [one, two] = [await first, await second];
    expect([one.status, two.status]).toEqual([204, 204]);
    // The group was at version 1; the change that committed first made 2, the other 3.
    expect(postgres() ? [two.headers.etag, one.headers.etag] : [one.headers.etag, two.headers.etag]).toEqual(['W/"2"', 'W/"3"']);
    const read = await (await t.scim()).get(`/Groups/${g}`).expect(200);
    expect(read.headers.etag).toBe('W/"3"');
    expect((read.body.members as { value: string }[]).map((m) => m.value).sort()).toEqual([a, b].sort());
    expect(await openGrants(a)).toEqual([assignment]);
    expect(await openGrants(b)).toEqual([assignment]);
  });

  it('many concurrent one-member changes of one group, with courses assigned among them, leave every member enrolled in every course', async () => {
    const g = await group('Crowd');
    const users = await Promise.all(Array.from({ length: 30 }, (_, i) => user(`crowd${i}@example.com`)));
    const courses = await Promise.all(['One', 'Two', 'Three'].map((n) => course(`Course ${n}`)));
    const first = (await (await t.admin()).post(`/groups/${g}/assignments`, { contentId: courses[0] }).expect(201)).body.id as string;
    const sent = users.map((id) => addMember(g, id));
    const assigned = courses.slice(1).map(async (contentId) => (await (await t.admin()).post(`/groups/${g}/assignments`, { contentId })).body.id as string);
    const answers = await Promise.all(sent);
    const assignments = [first, ...(await Promise.all(assigned))].sort();
    expect(answers.map((r) => r.status)).toEqual(users.map(() => 204));
    // Thirty changes, thirty versions after the first: each answer names its own.
    const versionOf = (etag: unknown) => Number(/^W\/"(\d+)"$/.exec(String(etag))?.[1]);
    expect(answers.map((r) => versionOf(r.headers.etag)).sort((x, y) => x - y)).toEqual(users.map((_, i) => i + 2));
    for (const id of users) expect((await openGrants(id)).sort()).toEqual(assignments);
    const drift = (await (await t.admin()).post('/reconcile', { dryRun: true }).expect(200)).body;
    expect(drift).toMatchObject({ enrollmentsCreated: 0, grantsOpened: 0 });
  });
});
