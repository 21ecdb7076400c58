import type { MembershipEvent } from '../../src/membership/types';
import { createTestApp, USER, type TestApp } from '../helpers/app';

const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/**
 * Rule 6 (a deactivated user's enrollments are paused) when the deactivation and an enrollment of
 * the same user run at the same time: one transaction is held open inside a hook while the other is
 * sent, so the two overlap for certain. Whichever goes first, the user ends inactive with every
 * enrollment suspended and paused (on PostgreSQL through row locks, on SQLite through its one writer).
 */
describe('a deactivation racing an enrollment of the same user', () => {
  let t: TestApp;
  let courseId: string;
  const holds = new Map<string, { reached: () => void; released: Promise<void> }>();

  beforeAll(async () => {
    t = await createTestApp({}, { acquireTimeoutMs: 10_000 });
    courseId = (await (await t.admin()).post('/content', { kind: 'course', title: 'Security Basics' }).expect(201)).body.id as string;
    // Holds the transaction of the event named by a key until the test releases it.
    t.store.hooks.register(async (_tx, e: MembershipEvent) => {
      const key = e.type === 'user.deactivated' ? `${e.type}:${e.userId}` : e.type === 'membership.added' ? `${e.type}:${e.groupId}` : '';
      const hold = holds.get(key);
      if (hold) {
        hold.reached();
        await hold.released;
      }
    });
  });
  afterAll(async () => t.close());

  /** Holds the event's transaction open; resolves once it is held, with the function that lets it go. */
  const hold = (key: string) => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const reached = new Promise<void>((r) => holds.set(key, { reached: r, released }));
    return reached.then(() => () => {
      holds.delete(key);
      release();
    });
  };
  const settle = () => new Promise((r) => setTimeout(r, 300)); // time for the other side to finish, were it not held off

  const user = async (name: string) => (await (await t.scim()).post('/Users', { schemas: [USER], userName: name }).expect(201)).body.id as string;
  const group = async (name: string, members: string[]) =>
    (await (await t.scim()).post('/Groups', { schemas: [GROUP], displayName: name, members: members.map((value) => ({ value })) }).expect(201)).body.id as string;
  const deactivate = async (id: string) => (await t.scim()).patch(`/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'replace', value: { active: false } }] });
  const addMember = async (groupId: string, id: string) => (await t.scim()).patch(`/Groups/${groupId}`, { schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: [{ value: id }] }] });
  const enrollmentsOf = (id: string) => t.db.knex('enrollments').where({ user_id: id }).select('state', 'paused');
  const expectPaused = async (id: string) => {
    const rows = (await enrollmentsOf(id)) as { state: string; paused: boolean | number }[];
    expect(rows.map((r) => ({ state: r.state, paused: Boolean(r.paused) }))).toEqual([{ state: 'suspended', paused: true }]);
  };

  it('a member added while the deactivation is under way joins paused', async () => {
    const id = await user('joiner@example.com');
    const g = await group('Joined while leaving', []);
    await (await t.admin()).post(`/groups/${g}/assignments`, { contentId: courseId }).expect(201);
    const holding = hold(`user.deactivated:${id}`);
    const deactivated = deactivate(id).then((r) => r);
    const release = await holding;
    const added = addMember(g, id).then((r) => r);
    await settle();
    release();
    expect((await deactivated).status).toBe(204);
    expect((await added).status).toBe(204);
    await expectPaused(id);
  });

  it('a deactivation while the member is being added pauses the new enrollment', async () => {
    const id = await user('leaver@example.com');
    const g = await group('Left while joining', []);
    await (await t.admin()).post(`/groups/${g}/assignments`, { contentId: courseId }).expect(201);
    const holding = hold(`membership.added:${g}`);
    const added = addMember(g, id).then((r) => r);
    const release = await holding;
    const deactivated = deactivate(id).then((r) => r);
    await settle();
    release();
    expect((await added).status).toBe(204);
    expect((await deactivated).status).toBe(204);
    await expectPaused(id);
  });

  it('a course assigned to the group while a member is being deactivated reaches them paused', async () => {
    const id = await user('assigned@example.com');
    const g = await group('Assigned while leaving', [id]);
    const holding = hold(`user.deactivated:${id}`);
    const deactivated = deactivate(id).then((r) => r);
    const release = await holding;
    const assigned = (await t.admin())
      .post(`/groups/${g}/assignments`, { contentId: courseId })
      .then((r) => r);
    await settle();
    release();
    expect((await deactivated).status).toBe(204);
    expect((await assigned).status).toBe(201);
    await expectPaused(id);
  });
});
