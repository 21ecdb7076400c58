import crypto from 'node:crypto';
import pino from 'pino';
import { Dispatcher, DEFAULT_DISPATCHER_OPTIONS } from '../../src/outbox/dispatcher';
import { verify } from '../../src/outbox/signature';
import { createTestApp, GROUP, patchOp, USER, type ScimClient, type TestApp } from '../helpers/app';
import { startReceiver, type Receiver } from '../support/receiver';

interface DeliveredEvent {
  id: string;
  seq: number;
  type: string;
  requestId: string;
  data: { groupId?: string; userIds?: string[]; enrollmentIds?: string[] };
}

/** Webhooks through the real path: the admin API, pushes that write events, a real receiver on 127.0.0.1. */
describe('webhooks', () => {
  let t: TestApp;
  let scim: ScimClient;
  let admin: ScimClient;
  let receiver: Receiver;
  let dispatcher: Dispatcher;

  beforeEach(async () => {
    t = await createTestApp();
    scim = await t.scim();
    admin = await t.admin();
    receiver = await startReceiver();
    dispatcher = new Dispatcher(t.db, pino({ level: 'silent' }), { ...DEFAULT_DISPATCHER_OPTIONS, backoffBaseMs: 50, maxAttempts: 3, batchSize: 100, timeoutMs: 2000 });
  });
  afterEach(async () => {
    await receiver.close();
    await t.close();
  });

  const subscribe = async (events: string[] = ['*']) => {
    const res = await admin.post('/webhooks', { url: receiver.url, events }).expect(201);
    return res.body as { id: string; secret: string };
  };
  const newUser = async () => (await scim.post('/Users', { schemas: [USER], userName: `u.${crypto.randomUUID()}` }).expect(201)).body.id as string;
  const deliveredEvents = () => receiver.received.flatMap((r) => (JSON.parse(r.body) as { events: DeliveredEvent[] }).events);
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('creates a subscription, shows its secret once, and lists it without the secret', async () => {
    const hook = await subscribe(['membership.added']);
    expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9_-]{32}$/);
    const listed = (await admin.get('/webhooks').expect(200)).body.items;
    expect(listed).toEqual([{ id: hook.id, url: receiver.url, events: ['membership.added'], createdAt: expect.any(String), attempts: 0, nextAttemptAt: expect.any(String), parkedAt: null, lastError: null }]);
    expect(JSON.stringify((await admin.get(`/webhooks/${hook.id}`).expect(200)).body)).not.toContain(hook.secret);
    await t.syncLog.writer.flush();
    expect(await t.db.knex('sync_log').where({ method: 'POST', resource_type: 'Webhook', resource_id: hook.id }).first()).toMatchObject({ status: 201 });
    expect(JSON.stringify(await t.db.knex('sync_log').select('*'))).not.toContain(hook.secret);
  });

  it('refuses a bad subscription with a clear error and creates nothing', async () => {
    const bad = [{ url: 'ftp://example.com', events: ['*'] }, { url: receiver.url, events: ['user.exploded'] }, { url: receiver.url, events: [] }, { url: receiver.url }];
    for (const body of bad) {
      const res = await admin.post('/webhooks', body).expect(400);
      expect(res.body.error.code).toBe('invalidBody');
    }
    expect((await admin.get('/webhooks').expect(200)).body.items).toEqual([]);
  });

  it("answers 404 for another tenant's subscription and deletes only its own", async () => {
    const hook = await subscribe();
    const other = await t.admin('globex');
    await other.get(`/webhooks/${hook.id}`).expect(404);
    await other.delete(`/webhooks/${hook.id}`).expect(404);
    await other.get(`/webhooks/${hook.id}/deliveries`).expect(404);
    await admin.delete(`/webhooks/${hook.id}`).expect(204);
    await admin.get(`/webhooks/${hook.id}`).expect(404);
  });

  it('delivers events signed with HMAC-SHA256 over the timestamp and the body, in order, once', async () => {
    const hook = await subscribe();
    const [a, b] = [await newUser(), await newUser()];
    const g = (await scim.post('/Groups', { schemas: [GROUP], displayName: 'Sales', members: [{ value: a }] }).expect(201)).body.id as string;
    const push = await scim.patch(`/Groups/${g}`, patchOp({ op: 'add', path: 'members', value: [{ value: b }] }, { op: 'remove', path: 'members', value: [{ value: a }] })).expect(204);

    expect(await dispatcher.runOnce()).toBe(3);
    expect(receiver.received).toHaveLength(1);
    const [{ body, headers }] = receiver.received as [(typeof receiver.received)[number]];
    expect(headers['content-type']).toBe('application/json');
    expect(verify(hook.secret, body, headers['roster-signature'] as string)).toBe(true);
    expect(verify(hook.secret, body.replace('Sales', 'Sa1es').replace(g, crypto.randomUUID()), headers['roster-signature'] as string)).toBe(false);
    expect(verify('whsec_wrong-secret-of-some-length', body, headers['roster-signature'] as string)).toBe(false);
    const events = deliveredEvents();
    expect(events.map((e) => [e.type, e.data.userIds])).toEqual([
      ['membership.added', [a]],
      ['membership.added', [b]],
      ['membership.removed', [a]],
    ]);
    expect(events.map((e) => e.seq)).toEqual([...events.map((e) => e.seq)].sort((x, y) => x - y));
    expect(events[1]!.requestId).toBe(push.headers['x-request-id']);

    // Delivered is delivered: the next round sends nothing, and a repeated push writes no event.
    await scim.patch(`/Groups/${g}`, patchOp({ op: 'add', path: 'members', value: [{ value: b }] })).expect(204);
    expect(await dispatcher.runOnce()).toBe(0);
    expect(receiver.received).toHaveLength(1);
  });

  it('sends a subscription only the event types it asked for', async () => {
    await subscribe(['enrollment.created']);
    const u = await newUser();
    const g = (await scim.post('/Groups', { schemas: [GROUP], displayName: 'Course group' }).expect(201)).body.id as string;
    const course = (await admin.post('/content', { kind: 'course', title: 'Security Basics' }).expect(201)).body.id as string;
    await admin.post(`/groups/${g}/assignments`, { contentId: course }).expect(201);
    await scim.patch(`/Groups/${g}`, patchOp({ op: 'add', path: 'members', value: [{ value: u }] })).expect(204);
    await dispatcher.runOnce();
    expect(deliveredEvents().map((e) => e.type)).toEqual(['enrollment.created']);
  });

  it('retries a failed delivery with backoff, the same events again, and records every attempt', async () => {
    const hook = await subscribe();
    receiver.answers.push(500);
    const u = await newUser();
    await scim.post('/Groups', { schemas: [GROUP], displayName: 'Retry', members: [{ value: u }] }).expect(201);

    expect(await dispatcher.runOnce()).toBe(0);
    const failed = (await admin.get(`/webhooks/${hook.id}`).expect(200)).body;
    expect(failed).toMatchObject({ attempts: 1, lastError: 'the receiver answered 500', parkedAt: null });
    expect(Date.parse(failed.nextAttemptAt as string)).toBeGreaterThan(Date.now() - 5);
    expect(await dispatcher.runOnce()).toBe(0); // not due yet: no second request
    expect(receiver.received).toHaveLength(1);
    await sleep(80);
    expect(await dispatcher.runOnce()).toBe(1);
    expect(receiver.received).toHaveLength(2);
    const ids = (i: number) => (JSON.parse(receiver.received[i]!.body) as { events: DeliveredEvent[] }).events.map((e) => e.id);
    expect(ids(1)).toEqual(ids(0)); // the same batch again: at least once
    const deliveries = (await admin.get(`/webhooks/${hook.id}/deliveries`).expect(200)).body.items;
    expect(deliveries).toEqual([
      expect.objectContaining({ attempt: 2, status: 200, error: null, events: 1 }),
      expect.objectContaining({ attempt: 1, status: 500, error: 'the receiver answered 500', events: 1 }),
    ]);
    expect((await admin.get(`/webhooks/${hook.id}`).expect(200)).body).toMatchObject({ attempts: 0, lastError: null });
  });

  it('parks a subscription after the attempts run out, and resumes it from where it stopped', async () => {
    const hook = await subscribe();
    receiver.answers.push(503, 503, 503);
    const u = await newUser();
    await scim.post('/Groups', { schemas: [GROUP], displayName: 'Parked', members: [{ value: u }] }).expect(201);
    for (let i = 0; i < 3; i++) {
      await dispatcher.runOnce();
      await sleep(50 * 2 ** i + 20);
    }
    const parked = (await admin.get(`/webhooks/${hook.id}`).expect(200)).body;
    expect(parked).toMatchObject({ attempts: 3, parkedAt: expect.any(String), lastError: 'the receiver answered 503' });
    expect(await dispatcher.runOnce()).toBe(0);
    expect(receiver.received).toHaveLength(3);
    await admin.post(`/webhooks/${hook.id}/resume`).expect(200);
    expect(await dispatcher.runOnce()).toBe(1);
    expect(deliveredEvents().at(-1)).toMatchObject({ type: 'membership.added', data: { userIds: [u] } });
  });

  it('records an unreachable receiver as a failed attempt naming why', async () => {
    const hook = await subscribe();
    await receiver.close();
    const u = await newUser();
    await scim.post('/Groups', { schemas: [GROUP], displayName: 'Nobody home', members: [{ value: u }] }).expect(201);
    await dispatcher.runOnce();
    const [delivery] = (await admin.get(`/webhooks/${hook.id}/deliveries`).expect(200)).body.items;
    expect(delivery).toMatchObject({ status: null, error: expect.stringMatching(/^could not reach the receiver/) });
    receiver = await startReceiver(); // afterEach closes one
  });

  it('splits a bulk change into events of at most 500 ids, delivered in batches', async () => {
    await subscribe(['membership.added']);
    const users: string[] = [];
    for (let i = 0; i < 1200; i++) users.push(crypto.randomUUID());
    const tenantId = await t.tenantId();
    const now = new Date().toISOString();
    for (let i = 0; i < users.length; i += 400) {
      await t.db.knex('users').insert(
        users.slice(i, i + 400).map((id, j) => ({
          id,
          tenant_id: tenantId,
          user_name: `bulk${i + j}`,
          user_name_lc: `bulk${i + j}`,
          active: true,
          data: '{}',
          created_at: now,
          updated_at: now,
          version: 1,
        })),
      );
    }
    await scim.post('/Groups', { schemas: [GROUP], displayName: 'Everyone', members: users.map((value) => ({ value })) }).expect(201);
    const small = new Dispatcher(t.db, pino({ level: 'silent' }), { ...DEFAULT_DISPATCHER_OPTIONS, batchSize: 2 });
    expect(await small.runOnce()).toBe(2);
    expect(await small.runOnce()).toBe(1);
    const events = deliveredEvents();
    expect(receiver.received).toHaveLength(2);
    expect(events.map((e) => e.data.userIds!.length)).toEqual([500, 500, 200]);
    expect(new Set(events.flatMap((e) => e.data.userIds)).size).toBe(1200);
  });
});
