import crypto from 'node:crypto';
import pino from 'pino';
import type request from 'supertest';
import { DEFAULT_DISPATCHER_OPTIONS, Dispatcher } from '../../src/outbox/dispatcher';
import { ROSTER_GROUP_SCHEMA } from '../../src/scim/schemas';
import { createTestApp, GROUP, patchOp, USER, type ScimClient, type TestApp } from '../helpers/app';
import { startReceiver, type Receiver } from '../support/receiver';

interface Item {
  id: string;
  type: 'joined' | 'left' | 'completed' | 'message';
  at: string;
  cause: string;
  userIds?: string[];
  userId?: string;
  contentId?: string;
  enrollmentId?: string;
  messageId?: string;
  author?: string;
  text?: string;
}

interface Message {
  id: string;
  groupId: string;
  author: string;
  text: string;
  requestId: string;
  createdAt: string;
}

interface DeliveredEvent {
  type: string;
  requestId: string;
  data: Record<string, unknown>;
}

/**
 * A group's activity feed (members joined and left, completions, messages, read from the outbox) and
 * admins' messages to a group, through the real path: SCIM pushes as Okta and Entra send them, the
 * admin API, and webhooks delivered to a real receiver, on the engine of the run.
 */
describe('admin API: a group’s activity feed and messages', () => {
  let t: TestApp;
  let scim: ScimClient;
  let admin: ScimClient;
  let receiver: Receiver;
  let dispatcher: Dispatcher;

  beforeAll(async () => {
    t = await createTestApp();
    scim = await t.scim();
    admin = await t.admin();
    receiver = await startReceiver();
    dispatcher = new Dispatcher(t.db, pino({ level: 'silent' }), { ...DEFAULT_DISPATCHER_OPTIONS, timeoutMs: 2000 });
  });
  afterAll(async () => {
    await receiver.close();
    await t.close();
  });

  const rid = (res: request.Response) => res.headers['x-request-id'] as string;
  const newUser = async () => (await scim.post('/Users', { schemas: [USER], userName: `u.${crypto.randomUUID()}` }).expect(201)).body.id as string;
  const newGroup = async (members: string[] = [], extra: Record<string, unknown> = {}) =>
    (await scim.post('/Groups', { schemas: [GROUP], displayName: `G ${crypto.randomUUID()}`, members: members.map((value) => ({ value })), ...extra }).expect(201)).body.id as string;
  const newCourse = async () => (await admin.post('/content', { kind: 'course', title: `C ${crypto.randomUUID()}` }).expect(201)).body.id as string;
  const feed = async (groupId: string, query = '') => (await admin.get(`/groups/${groupId}/activity${query}`).expect(200)).body as { items: Item[]; next: string | null };
  const enrollmentOf = async (userId: string, contentId: string) =>
    ((await admin.get(`/users/${userId}/enrollments`).expect(200)).body.items as { id: string; contentId: string }[]).find((e) => e.contentId === contentId)!.id;
  const complete = (enrollmentId: string) => admin.post(`/enrollments/${enrollmentId}/progress`, { completed: true }).expect(200);
  const subscribe = async (events: string[]) => (await admin.post('/webhooks', { url: receiver.url, events }).expect(201)).body.id as string;
  /** How many group.message events the outbox holds for the group. */
  const messageEvents = async (groupId: string) =>
    Number(((await t.db.knex('events').where({ group_id: groupId, type: 'group.message' }).count({ n: '*' }).first()) as { n: number | string }).n);
  /** Delivers what is due, and gives the events each subscription received (then forgets them). */
  const deliver = async () => {
    await dispatcher.runOnce();
    const byHook = new Map<string, DeliveredEvent[]>();
    for (const r of receiver.received.splice(0)) {
      const body = JSON.parse(r.body) as { webhookId: string; events: DeliveredEvent[] };
      byHook.set(body.webhookId, [...(byHook.get(body.webhookId) ?? []), ...body.events]);
    }
    return byHook;
  };

  it('shows members pushed in and out through SCIM as joined and left, newest first, with the request of each push; a repeated push adds nothing', async () => {
    const [ada, bob, cy, dee] = [await newUser(), await newUser(), await newUser(), await newUser()];
    const created = await scim.post('/Groups', { schemas: [GROUP], displayName: `Cohort ${crypto.randomUUID()}`, members: [{ value: ada }, { value: bob }] }).expect(201);
    const g = created.body.id as string;
    const push = (body: unknown) => scim.patch(`/Groups/${g}`, body).expect(204);
    const entraAdd = patchOp({ op: 'Add', path: 'members', value: [{ $ref: null, value: cy }] });
    const oktaRemove = patchOp({ op: 'remove', path: `members[value eq "${bob}"]` });
    const steps = [
      await push(entraAdd),
      await push(oktaRemove),
      await push(patchOp({ op: 'Remove', path: 'members', value: [{ $ref: null, value: ada }] })), // Entra
      await push(patchOp({ op: 'replace', value: { id: g, displayName: 'Renamed by Okta' } }, { op: 'add', path: 'members', value: [{ value: dee, display: 'dee' }] })), // Okta
    ];
    // Rule 12: the same pushes again change nothing, so they tell nothing.
    await push(entraAdd);
    await push(oktaRemove);
    await push(patchOp({ op: 'add', path: 'members', value: [{ value: dee }] }));

    const { items, next } = await feed(g);
    expect(next).toBeNull();
    expect(items.map((i) => [i.type, [...i.userIds!].sort(), i.cause])).toEqual([
      ['joined', [dee], rid(steps[3]!)],
      ['left', [ada], rid(steps[2]!)],
      ['left', [bob], rid(steps[1]!)],
      ['joined', [cy], rid(steps[0]!)],
      ['joined', [ada, bob].sort(), rid(created)],
    ]);
    for (const i of items) expect(Object.keys(i).sort()).toEqual(['at', 'cause', 'id', 'type', 'userIds']);
    expect(items.map((i) => i.at)).toEqual(items.map((i) => i.at).sort().reverse());

    // Okta's PUT of the whole group: who joined and who left, under that request.
    const put = await scim.put(`/Groups/${g}`, { schemas: [GROUP], displayName: 'Renamed by Okta', members: [{ value: cy }, { value: ada }] }).expect(200);
    const latest = (await feed(g)).items.filter((i) => i.cause === rid(put));
    expect(latest.map((i) => [i.type, i.userIds]).sort()).toEqual([
      ['joined', [ada]],
      ['left', [dee]],
    ]);
  });

  it('shows a member’s completion of content assigned to the group in that group’s feed, not in an unrelated one, and tells an enrollment.completed subscriber once', async () => {
    const onCompleted = await subscribe(['enrollment.completed']);
    const onGroupCompleted = await subscribe(['group.enrollmentCompleted']);
    const [ada, bob] = [await newUser(), await newUser()];
    const course = await newCourse();
    const [sales, onboarding, unrelated] = [await newGroup([ada, bob]), await newGroup([ada]), await newGroup([ada, bob])];
    // Two groups lead ada to the same course; bob leaves sales before he completes (and keeps the course)
    await admin.post(`/groups/${sales}/assignments`, { contentId: course, onLeave: 'keep' }).expect(201);
    await admin.post(`/groups/${onboarding}/assignments`, { contentId: course }).expect(201);
    const [adaCourse, bobCourse] = [await enrollmentOf(ada, course), await enrollmentOf(bob, course)];
    await scim.patch(`/Groups/${sales}`, patchOp({ op: 'remove', path: `members[value eq "${bob}"]` })).expect(204);
    await admin.post(`/enrollments/${adaCourse}/progress`, { progress: 50 }).expect(200); // progress is not a completion
    await deliver(); // what came before: not this test's

    const done = await complete(adaCourse);
    await complete(adaCourse); // already completed: nothing (rule 12)
    await complete(bobCourse);

    const completions = async (g: string) => (await feed(g)).items.filter((i) => i.type === 'completed');
    const expected = { type: 'completed', userId: ada, contentId: course, enrollmentId: adaCourse, cause: rid(done), id: expect.any(String), at: expect.any(String) };
    expect(await completions(sales)).toEqual([expected]);
    expect(await completions(onboarding)).toEqual([expected]);
    expect(await completions(unrelated)).toEqual([]);

    const delivered = await deliver();
    expect(delivered.get(onCompleted)!.map((e) => [e.type, e.data.enrollmentIds])).toEqual([
      ['enrollment.completed', [adaCourse]],
      ['enrollment.completed', [bobCourse]],
    ]);
    expect(delivered.get(onGroupCompleted)!.map((e) => e.data).sort((x, y) => String(x.groupId).localeCompare(String(y.groupId)))).toEqual(
      [sales, onboarding].sort().map((groupId) => ({ groupId, userId: ada, contentId: course, enrollmentId: adaCourse })),
    );
  });

  it('posts a message as the token, lists messages newest first by page, and shows them in the feed', async () => {
    const g = await newGroup([await newUser()]);
    const posted: Message[] = [];
    const requests: string[] = [];
    for (const text of ['Welcome to the cohort!', 'Module 1 is due Friday.', '  Ünïcødé ✓ and a line\nbreak  ']) {
      const res = await admin.post(`/groups/${g}/messages`, { text }).expect(201);
      posted.push(res.body as Message);
      requests.push(rid(res));
    }
    expect(posted[2]).toEqual({ id: expect.any(String), groupId: g, author: 'test-acme-admin', text: '  Ünïcødé ✓ and a line\nbreak  ', requestId: requests[2], createdAt: expect.any(String) });
    const first = (await admin.get(`/groups/${g}/messages?limit=2`).expect(200)).body as { items: Message[]; next: string };
    expect(first.items).toEqual([posted[2], posted[1]]);
    const second = (await admin.get(`/groups/${g}/messages?limit=2&cursor=${first.next}`).expect(200)).body;
    expect(second).toEqual({ items: [posted[0]], next: null });
    expect((await admin.get(`/groups/${g}/messages`).expect(200)).body.items).toEqual([...posted].reverse());

    const messages = (await feed(g)).items.filter((i) => i.type === 'message');
    expect(messages).toEqual(
      [...posted].reverse().map((m) => ({ id: expect.any(String), type: 'message', at: expect.any(String), cause: m.requestId, messageId: m.id, author: 'test-acme-admin', text: m.text })),
    );
    // The sync log files the post under its message.
    await t.syncLog.writer.flush();
    expect(await t.db.knex('sync_log').where({ id: requests[0] }).first()).toMatchObject({ method: 'POST', resource_type: 'GroupMessage', resource_id: posted[0]!.id, status: 201 });
  });

  it('refuses a bad message body with a 400 naming the field, and stores nothing', async () => {
    const g = await newGroup();
    const refused: [unknown, string, RegExp][] = [
      [{}, '/', /required property 'text'/],
      [{ text: '' }, '/text', /must not be empty or only whitespace/],
      [{ text: ' \n\t\u00a0 ' }, '/text', /must not be empty or only whitespace/],
      [{ text: 'x'.repeat(4001) }, '/text', /more than 4000 characters/],
      [{ text: 5 }, '/text', /must be string/],
      [{ text: 'hi', urgent: true }, '/', /unknown property "urgent"/],
      [['hi'], '/', /must be object/],
    ];
    for (const [body, path, message] of refused) {
      const res = await admin.post(`/groups/${g}/messages`, body).expect(400);
      expect(res.body.error.code).toBe('invalidBody');
      expect(res.body.error.details).toContainEqual({ path, message: expect.stringMatching(message) });
    }
    const broken = await admin.post(`/groups/${g}/messages`).set('content-type', 'application/json').send('{"text": "unterminated').expect(400);
    expect(broken.body.error.code).toBe('invalidBody');
    expect((await admin.get(`/groups/${g}/messages`).expect(200)).body.items).toEqual([]);
    expect(await messageEvents(g)).toBe(0);
    // 4,000 characters are allowed, counted as characters, not bytes.
    await admin.post(`/groups/${g}/messages`, { text: 'é'.repeat(4000) }).expect(201);
  });

  it('refuses a message to an archived group with 409 archived and changes nothing; its feed and messages stay readable', async () => {
    const g = await newGroup([await newUser()]);
    const before = (await admin.post(`/groups/${g}/messages`, { text: 'Last call' }).expect(201)).body as Message;
    // Archived through SCIM's Roster extension, as an identity provider may push it.
    await scim.patch(`/Groups/${g}`, patchOp({ op: 'replace', path: `${ROSTER_GROUP_SCHEMA}:archived`, value: true })).expect(204);
    const feedBefore = await feed(g);
    const res = await admin.post(`/groups/${g}/messages`, { text: 'Anyone there?' }).expect(409);
    expect(res.body.error).toMatchObject({ code: 'archived', message: expect.stringMatching(/archived/) });
    expect((await admin.get(`/groups/${g}/messages`).expect(200)).body.items).toEqual([before]);
    expect(await feed(g)).toEqual(feedBefore);
    expect(await messageEvents(g)).toBe(1);
    // Unarchived, it takes messages again.
    await scim.patch(`/Groups/${g}`, patchOp({ op: 'replace', path: `${ROSTER_GROUP_SCHEMA}:archived`, value: false })).expect(204);
    await admin.post(`/groups/${g}/messages`, { text: 'Back again' }).expect(201);
  });

  it('answers 404 for an unknown group and another tenant’s group, on the feed and on messages, and posts nothing there', async () => {
    const other = await t.admin('globex');
    const theirs = (await (await t.scim('globex')).post('/Groups', { schemas: [GROUP], displayName: 'Globex cohort' }).expect(201)).body.id as string;
    await other.post(`/groups/${theirs}/messages`, { text: 'Globex only' }).expect(201);
    for (const g of [theirs, crypto.randomUUID()]) {
      for (const res of [await admin.get(`/groups/${g}/activity`), await admin.get(`/groups/${g}/messages`), await admin.post(`/groups/${g}/messages`, { text: 'Hello?' })]) {
        expect(res.status).toBe(404);
        expect(res.body.error).toMatchObject({ code: 'notFound', message: `Group ${g} not found` });
      }
    }
    const own = (await other.get(`/groups/${theirs}/messages`).expect(200)).body.items as Message[];
    expect(own.map((m) => [m.text, m.author])).toEqual([['Globex only', 'test-globex-admin']]);
    expect((await other.get(`/groups/${theirs}/activity`).expect(200)).body.items.map((i: Item) => i.text)).toEqual(['Globex only']);
  });

  it('delivers group.message to a subscribed webhook with the group, message, author and text', async () => {
    const hook = await subscribe(['group.message']);
    const g = await newGroup([await newUser()]);
    await deliver();
    const posted = await admin.post(`/groups/${g}/messages`, { text: 'Kick-off at 10:00' }).expect(201);
    const events = (await deliver()).get(hook)!;
    expect(events).toEqual([
      expect.objectContaining({ type: 'group.message', requestId: rid(posted), data: { groupId: g, messageId: posted.body.id, author: 'test-acme-admin', text: 'Kick-off at 10:00' } }),
    ]);
  });

  it('pages the feed by cursor, newest first, each item once, and refuses a cursor or query it did not give', async () => {
    const g = await newGroup();
    const joins: string[] = [];
    for (let i = 0; i < 5; i++) {
      const u = await newUser();
      await scim.patch(`/Groups/${g}`, patchOp({ op: 'add', path: 'members', value: [{ value: u }] })).expect(204);
      joins.push(u);
    }
    const seen: string[] = [];
    let cursor = '';
    let pages = 0;
    for (; pages < 10; pages++) {
      const page = await feed(g, `?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.items.map((i) => i.userIds![0]!));
      if (!page.next) break;
      cursor = page.next;
    }
    expect(pages).toBe(2); // pages of 2, 2 and 1
    expect(seen).toEqual([...joins].reverse());

    const refused = async (query: string, message: RegExp) => {
      const res = await admin.get(`/groups/${g}/activity${query}`).expect(400);
      expect(res.body.error).toMatchObject({ code: 'invalidQuery', message: expect.stringMatching(message) });
    };
    const messagesCursor = Buffer.from(JSON.stringify(['2026-01-01T00:00:00.000Z', crypto.randomUUID()])).toString('base64url');
    for (const bad of ['garbage', messagesCursor, Buffer.from('[0]').toString('base64url'), Buffer.from('["12"]').toString('base64url')]) await refused(`?cursor=${bad}`, /cursor is not one this API returned/);
    await refused(`?cursor=${cursor}&cursor=${cursor}`, /cursor is not one this API returned/);
    await refused('?limit=0', /limit must be an integer from 1 to 500/);
    await refused('?type=joined', /unknown query parameter "type"/);
    await admin.get(`/groups/${g}/messages?cursor=garbage`).expect(400);
  });

  it('loses the feed and the messages with a deleted group, keeping its events in the outbox and its members’ progress', async () => {
    const u = await newUser();
    const course = await newCourse();
    const g = await newGroup([u]);
    await admin.post(`/groups/${g}/assignments`, { contentId: course }).expect(201);
    await admin.post(`/enrollments/${await enrollmentOf(u, course)}/progress`, { progress: 30 }).expect(200);
    await admin.post(`/groups/${g}/messages`, { text: 'Goodbye' }).expect(201);
    await scim.delete(`/Groups/${g}`).expect(204);
    await admin.get(`/groups/${g}/activity`).expect(404);
    await admin.get(`/groups/${g}/messages`).expect(404);
    expect(await t.db.knex('group_messages').where({ group_id: g })).toEqual([]);
    const kept = ((await t.db.knex('events').where({ group_id: g }).orderBy('seq').select('type')) as { type: string }[]).map((e) => e.type);
    expect(kept).toEqual(['membership.added', 'group.message', 'membership.removed']);
    expect(((await admin.get(`/users/${u}/enrollments`).expect(200)).body.items as { progress: number }[]).map((e) => e.progress)).toEqual([30]);
  });
});
