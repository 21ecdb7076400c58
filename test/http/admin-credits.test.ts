import crypto from 'node:crypto';
import type { Response } from 'supertest';
import { createTestApp, GROUP, USER, type ScimClient, type TestApp } from '../helpers/app';
import { creditState, ledgerRows, replay } from '../helpers/credits';

interface Transfer {
  id: string;
  kind: string;
  from: string | null;
  to: string | null;
  amount: number;
  groupId: string | null;
  actor: string;
  requestId: string;
  note: string | null;
}

/**
 * Coaching credits through the admin API, on users and groups pushed over SCIM, on the engine of
 * the run: the switch per tenant, deposits, allocations to groups, distributions to members,
 * coaching sessions, the ledger behind every balance, refusals that change nothing, and a deleted
 * group's credits going back to the workspace. Each test has a tenant of its own.
 */
describe('admin API: coaching credits', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  interface Tenant {
    tenantId: string;
    scim: ScimClient;
    admin: ScimClient;
    user: Record<'ada' | 'bob' | 'cy' | 'dan', string>;
    /** a: ada and bob; b: cy; dan is in no group. */
    group: Record<'a' | 'b', string>;
  }

  const tenantWith = async (name: string, opts: { coaching?: boolean } = {}): Promise<Tenant> => {
    const scim = await t.scim(name);
    const admin = await t.admin(name);
    const user = {} as Tenant['user'];
    for (const n of ['ada', 'bob', 'cy', 'dan'] as const) {
      user[n] = (await scim.post('/Users', { schemas: [USER], userName: `${n}@${name}.example` }).expect(201)).body.id as string;
    }
    const groupOf = async (displayName: string, members: string[]) =>
      (await scim.post('/Groups', { schemas: [GROUP], displayName, members: members.map((value) => ({ value })) }).expect(201)).body.id as string;
    const group = { a: await groupOf('Coaching A', [user.ada, user.bob]), b: await groupOf('Coaching B', [user.cy]) };
    if (opts.coaching !== false) await admin.patch('/settings', { coaching: true }).expect(200);
    return { tenantId: await t.tenantId(name), scim, admin, user, group };
  };

  const summary = async (x: Tenant) => (await x.admin.get('/credits').expect(200)).body as Record<string, number>;
  const balanceOf = async (x: Tenant, userId: string) => (await x.admin.get(`/users/${userId}/credits`).expect(200)).body.balance as number;
  const requestIdOf = (res: Response) => res.headers['x-request-id'] as string;

  it('answers 409 coachingDisabled on every credit endpoint while the tenant has coaching off, and serves them once it is on', async () => {
    const x = await tenantWith('switch', { coaching: false });
    expect((await x.admin.get('/settings').expect(200)).body).toEqual({ coaching: false });
    const calls: [string, number, () => PromiseLike<Response>][] = [
      ['GET /credits', 200, () => x.admin.get('/credits')],
      ['GET /credits/transfers', 200, () => x.admin.get('/credits/transfers')],
      ['POST /credits/deposits', 201, () => x.admin.post('/credits/deposits', { amount: 10 })],
      ['GET /groups/{id}/credits', 200, () => x.admin.get(`/groups/${x.group.a}/credits`)],
      ['POST /groups/{id}/credits', 201, () => x.admin.post(`/groups/${x.group.a}/credits`, { amount: 5 })],
      ['POST /groups/{id}/credits/distributions', 201, () => x.admin.post(`/groups/${x.group.a}/credits/distributions`, { distributions: [{ userId: x.user.ada, amount: 3 }] })],
      ['GET /users/{id}/credits', 200, () => x.admin.get(`/users/${x.user.ada}/credits`)],
      ['POST /users/{id}/credits/sessions', 201, () => x.admin.post(`/users/${x.user.ada}/credits/sessions`, { groupId: x.group.a, credits: 1 })],
    ];
    const before = await creditState(t, x.tenantId);
    for (const [label, , call] of calls) {
      const res = await call();
      expect({ label, status: res.status, code: res.body.error?.code }).toEqual({ label, status: 409, code: 'coachingDisabled' });
      expect(res.body.error.message).toContain('PATCH /admin/v1/settings {"coaching": true}');
    }
    expect(await creditState(t, x.tenantId)).toBe(before);
    expect(await ledgerRows(t, x.tenantId)).toEqual([]);

    expect((await x.admin.patch('/settings', { coaching: true }).expect(200)).body).toEqual({ coaching: true });
    expect((await x.admin.get('/settings').expect(200)).body).toEqual({ coaching: true });
    for (const [label, status, call] of calls) expect({ label, status: (await call()).status }).toEqual({ label, status });
    expect(await ledgerRows(t, x.tenantId)).toHaveLength(4);
    // The switch is the tenant's own: another tenant still has coaching off.
    expect((await (await t.admin('switch-neighbour')).get('/settings').expect(200)).body).toEqual({ coaching: false });

    // Off again: the credits stay in the ledger, out of reach until it is on again.
    await x.admin.patch('/settings', { coaching: false }).expect(200);
    expect((await x.admin.get('/credits')).body.error.code).toBe('coachingDisabled');
    await x.admin.patch('/settings', { coaching: true }).expect(200);
    expect(await summary(x)).toEqual({ deposited: 10, workspace: 5, groups: 2, members: 2, consumed: 1 });
  });

  it('moves credits from a deposit to a group, its members and a coaching session, with every balance, and a ledger naming the actor and request of each transfer', async () => {
    const x = await tenantWith('flow');
    const { a } = x.group;
    const { ada, bob, cy } = x.user;
    const requests: string[] = [];
    const made = (res: Response) => {
      requests.push(requestIdOf(res));
      return res.body as Transfer & { balance: number; items?: Transfer[] };
    };
    expect(await summary(x)).toEqual({ deposited: 0, workspace: 0, groups: 0, members: 0, consumed: 0 });

    const deposit = made(await x.admin.post('/credits/deposits', { amount: 1000, note: 'Q1 purchase' }).expect(201));
    expect(deposit).toMatchObject({ kind: 'deposit', from: null, to: 'workspace', amount: 1000, groupId: null, note: 'Q1 purchase', actor: 'test-flow-admin', balance: 1000 });
    expect(await summary(x)).toEqual({ deposited: 1000, workspace: 1000, groups: 0, members: 0, consumed: 0 });

    const allocation = made(await x.admin.post(`/groups/${a}/credits`, { amount: 300 }).expect(201));
    expect(allocation).toMatchObject({ kind: 'allocate', from: 'workspace', to: `group:${a}`, amount: 300, groupId: a, note: null, balance: 700 });
    expect((await x.admin.get(`/groups/${a}/credits`).expect(200)).body).toEqual({ groupId: a, balance: 300, received: 300, distributed: 0, creditLimitPerSession: null });
    expect(await summary(x)).toEqual({ deposited: 1000, workspace: 700, groups: 300, members: 0, consumed: 0 });

    const distribution = made(
      await x.admin
        .post(`/groups/${a}/credits/distributions`, {
          distributions: [
            { userId: ada, amount: 100 },
            { userId: bob, amount: 50 },
          ],
          note: 'kick-off',
        })
        .expect(201),
    );
    expect(distribution.balance).toBe(150);
    expect(distribution.items).toMatchObject([
      { kind: 'distribute', from: `group:${a}`, to: `user:${ada}`, amount: 100, groupId: a, note: 'kick-off' },
      { kind: 'distribute', from: `group:${a}`, to: `user:${bob}`, amount: 50, groupId: a, note: 'kick-off' },
    ]);
    expect((await x.admin.get(`/groups/${a}/credits`).expect(200)).body).toMatchObject({ balance: 150, received: 300, distributed: 150 });
    expect(await balanceOf(x, ada)).toBe(100);
    expect(await summary(x)).toEqual({ deposited: 1000, workspace: 700, groups: 150, members: 150, consumed: 0 });

    const session = made(await x.admin.post(`/users/${ada}/credits/sessions`, { groupId: a, credits: 30, note: 'coaching call' }).expect(201));
    expect(session).toMatchObject({ kind: 'session', from: `user:${ada}`, to: null, amount: 30, groupId: a, note: 'coaching call', balance: 70 });
    expect(await summary(x)).toEqual({ deposited: 1000, workspace: 700, groups: 150, members: 120, consumed: 30 });

    // Each member's balance and their own transfers, newest first.
    const adaCredits = (await x.admin.get(`/users/${ada}/credits`).expect(200)).body as { userId: string; balance: number; items: Transfer[]; next: string | null };
    expect(adaCredits).toMatchObject({ userId: ada, balance: 70, next: null });
    expect(adaCredits.items.map((i) => [i.kind, i.amount])).toEqual([
      ['session', 30],
      ['distribute', 100],
    ]);
    expect((await x.admin.get(`/users/${bob}/credits`).expect(200)).body).toMatchObject({ balance: 50, items: [{ kind: 'distribute', amount: 50 }] });
    expect((await x.admin.get(`/users/${cy}/credits`).expect(200)).body).toEqual({ userId: cy, balance: 0, items: [], next: null });

    // The ledger: every transfer, newest first, with the token that asked and the X-Request-Id of the answer that made it.
    const ledger = (await x.admin.get('/credits/transfers').expect(200)).body as { items: Transfer[]; next: string | null };
    expect(ledger.next).toBeNull();
    expect(ledger.items.map((i) => [i.kind, i.amount, i.requestId])).toEqual([
      ['session', 30, requests[3]],
      ['distribute', 50, requests[2]],
      ['distribute', 100, requests[2]],
      ['allocate', 300, requests[1]],
      ['deposit', 1000, requests[0]],
    ]);
    expect(new Set(ledger.items.map((i) => i.actor))).toEqual(new Set(['test-flow-admin']));
    expect(ledger.items.map((i) => i.id)).toEqual([session.id, ...distribution.items!.map((i) => i.id).reverse(), allocation.id, deposit.id]);
    // …in the table too, where the balances the API gave are what the rows add up to.
    const rows = await ledgerRows(t, x.tenantId);
    expect(rows.map((r) => [r.actor, r.request_id])).toEqual(ledger.items.map((i) => ['test-flow-admin', i.requestId]).reverse());
    const { balances, consumed, deposited } = replay(rows);
    expect(Object.fromEntries(balances)).toEqual({ workspace: 700, [`group:${a}`]: 150, [`user:${ada}`]: 70, [`user:${bob}`]: 50 });
    expect({ deposited, consumed }).toEqual({ deposited: 1000, consumed: 30 });

    // Paged by cursor, the pages make up the whole ledger.
    const paged: Transfer[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const page = (await x.admin.get(`/credits/transfers?limit=2${cursor ? `&cursor=${cursor}` : ''}`).expect(200)).body as { items: Transfer[]; next: string | null };
      expect(page.items.length).toBeLessThanOrEqual(2);
      paged.push(...page.items);
      cursor = page.next;
    }
    expect(paged).toEqual(ledger.items);
    const first = (await x.admin.get(`/users/${ada}/credits?limit=1`).expect(200)).body as { items: Transfer[]; next: string };
    expect(first.items.map((i) => i.kind)).toEqual(['session']);
    expect((await x.admin.get(`/users/${ada}/credits?limit=1&cursor=${first.next}`).expect(200)).body).toMatchObject({ balance: 70, items: [{ kind: 'distribute' }], next: null });
    for (const query of ['limit=0', 'limit=501', 'cursor=nope', `cursor=${Buffer.from('["2026-01-01T00:00:00.000Z","x"]').toString('base64url')}`, 'kind=session']) {
      expect((await x.admin.get(`/credits/transfers?${query}`).expect(400)).body.error.code).toBe('invalidQuery');
    }
  });

  it('refuses an over-allocation, an over-distribution, non-members, a session over the group limit or the balance, with 409 or 400, and changes nothing', async () => {
    const x = await tenantWith('refusals');
    const { a, b } = x.group;
    const { ada, bob, cy, dan } = x.user;
    const stranger = (await (await t.scim('refusals-neighbour')).post('/Users', { schemas: [USER], userName: 'eve@elsewhere.example' }).expect(201)).body.id as string;
    await x.admin.post('/credits/deposits', { amount: 100 }).expect(201);
    await x.admin.post(`/groups/${a}/credits`, { amount: 60 }).expect(201);
    await x.admin.post(`/groups/${a}/credits/distributions`, { distributions: [{ userId: ada, amount: 20 }] }).expect(201);
    const before = await creditState(t, x.tenantId);
    const error = (res: Response) => (res.body as { error: { code: string; message: string; details: unknown } }).error;

    const overAllocation = error(await x.admin.post(`/groups/${a}/credits`, { amount: 41 }).expect(409));
    expect(overAllocation).toMatchObject({ code: 'insufficientCredits', details: { wallet: 'workspace', balance: 40, requested: 41 } });
    expect(overAllocation.message).toBe('The wallet workspace holds 40 credits, fewer than the 41 asked for');

    const distribute = (distributions: { userId: string; amount: number }[]) => x.admin.post(`/groups/${a}/credits/distributions`, { distributions });
    // all or nothing: ada's 30 alone would fit, with bob's 11 the 41 do not
    expect(error(await distribute([{ userId: ada, amount: 30 }, { userId: bob, amount: 11 }]).expect(409))).toMatchObject({ code: 'insufficientCredits', details: { wallet: `group:${a}`, balance: 40, requested: 41 } });
    const outsiders = error(await distribute([{ userId: ada, amount: 1 }, { userId: cy, amount: 1 }, { userId: dan, amount: 1 }]).expect(400));
    expect(outsiders).toMatchObject({ code: 'notMembers', details: { groupId: a, userIds: [cy, dan] } });
    expect(outsiders.message).toBe(`users ${cy}, ${dan} are not members of group ${a}`);
    expect(error(await distribute([{ userId: stranger, amount: 1 }]).expect(400))).toMatchObject({ code: 'notMembers', details: { userIds: [stranger] } });
    expect(error(await x.admin.post(`/groups/${b}/credits/distributions`, { distributions: [{ userId: cy, amount: 1 }] }).expect(409))).toMatchObject({ code: 'insufficientCredits', details: { wallet: `group:${b}`, balance: 0, requested: 1 } });

    const session = (userId: string, body: object) => x.admin.post(`/users/${userId}/credits/sessions`, body);
    expect(error(await session(ada, { groupId: a, credits: 21 }).expect(409))).toMatchObject({ code: 'insufficientCredits', details: { wallet: `user:${ada}`, balance: 20, requested: 21 } });
    expect(error(await session(ada, { groupId: b, credits: 1 }).expect(400))).toMatchObject({ code: 'notMembers', details: { groupId: b, userIds: [ada] } });
    expect(error(await session(dan, { groupId: a, credits: 1 }).expect(400))).toMatchObject({ code: 'notMembers', details: { groupId: a, userIds: [dan] } });

    // A group's settings carry the limit, and an identity provider's group may have one too.
    expect((await x.admin.patch(`/groups/${a}`, { creditLimitPerSession: 15 }).expect(200)).body.creditLimitPerSession).toBe(15);
    expect((await x.admin.get(`/groups/${a}/credits`).expect(200)).body).toMatchObject({ creditLimitPerSession: 15, balance: 40 });
    const overLimit = error(await session(ada, { groupId: a, credits: 16 }).expect(409));
    expect(overLimit).toMatchObject({ code: 'overSessionLimit', details: { groupId: a, limit: 15, requested: 16 } });
    expect(overLimit.message).toBe(`Group ${a} allows at most 15 credits per coaching session; the session asked for 16`);

    expect(await creditState(t, x.tenantId)).toBe(before);
    expect(await summary(x)).toEqual({ deposited: 100, workspace: 40, groups: 40, members: 20, consumed: 0 });
    // The limit itself is allowed, and so is the workspace's last credit.
    expect((await session(ada, { groupId: a, credits: 15 }).expect(201)).body.balance).toBe(5);
    expect((await x.admin.post(`/groups/${b}/credits`, { amount: 40 }).expect(201)).body.balance).toBe(0);
  });

  it('answers 404 for a group or user that is not the tenant\'s, and changes nothing of either tenant', async () => {
    const x = await tenantWith('mine');
    const other = await tenantWith('theirs');
    await x.admin.post('/credits/deposits', { amount: 100 }).expect(201);
    await other.admin.post('/credits/deposits', { amount: 100 }).expect(201);
    await other.admin.post(`/groups/${other.group.a}/credits`, { amount: 50 }).expect(201);
    await other.admin.post(`/groups/${other.group.a}/credits/distributions`, { distributions: [{ userId: other.user.ada, amount: 10 }] }).expect(201);
    const before = [await creditState(t, x.tenantId), await creditState(t, other.tenantId)];
    const notFound = (res: Response, what: string) => expect({ status: res.status, error: res.body.error }).toEqual({ status: 404, error: { code: 'notFound', message: `${what} not found`, details: expect.anything() as unknown } });
    // …and ids no group or user could have: one too long for a wallet's key, never written as one.
    const long = 'x'.repeat(3000);
    for (const groupId of [other.group.a, crypto.randomUUID(), long]) {
      expect((await x.admin.get(`/groups/${groupId}/credits`).expect(404)).body.error).toEqual({ code: 'notFound', message: `Group ${groupId} not found` });
      notFound(await x.admin.post(`/groups/${groupId}/credits`, { amount: 1 }), `Group ${groupId}`);
      notFound(await x.admin.post(`/groups/${groupId}/credits/distributions`, { distributions: [{ userId: other.user.ada, amount: 1 }] }), `Group ${groupId}`);
      // (in a session's body, a group id over 36 characters is a 400 naming it)
      if (groupId !== long) notFound(await x.admin.post(`/users/${x.user.ada}/credits/sessions`, { groupId, credits: 1 }), `Group ${groupId}`);
    }
    for (const userId of [other.user.ada, crypto.randomUUID(), long]) {
      expect((await x.admin.get(`/users/${userId}/credits`).expect(404)).body.error).toEqual({ code: 'notFound', message: `User ${userId} not found` });
      notFound(await x.admin.post(`/users/${userId}/credits/sessions`, { groupId: x.group.a, credits: 1 }), `User ${userId}`);
      notFound(await x.admin.post(`/users/${userId}/credits/sessions`, { groupId: other.group.a, credits: 1 }), `User ${userId}`);
    }
    expect([await creditState(t, x.tenantId), await creditState(t, other.tenantId)]).toEqual(before);
    // Each tenant's figures are its own.
    expect(await summary(x)).toEqual({ deposited: 100, workspace: 100, groups: 0, members: 0, consumed: 0 });
    expect((await x.admin.get('/credits/transfers').expect(200)).body.items).toHaveLength(1);
    expect(await summary(other)).toEqual({ deposited: 100, workspace: 50, groups: 40, members: 10, consumed: 0 });
  });

  describe('bad bodies', () => {
    let x: Tenant;
    let before: string;
    beforeAll(async () => {
      x = await tenantWith('bodies');
      await x.admin.post('/credits/deposits', { amount: 100 }).expect(201);
      await x.admin.post(`/groups/${x.group.a}/credits`, { amount: 50 }).expect(201);
      before = await creditState(t, x.tenantId);
    });

    const deposit = '/credits/deposits';
    const allocate = () => `/groups/${x.group.a}/credits`;
    const distribute = () => `/groups/${x.group.a}/credits/distributions`;
    const session = () => `/users/${x.user.ada}/credits/sessions`;
    const many = (n: number) => ({ distributions: Array.from({ length: n }, () => ({ userId: x.user.ada, amount: 1 })) });
    const cases: [string, () => string, () => unknown, string, string][] = [
      ['no amount', () => deposit, () => ({}), '/', "must have required property 'amount'"],
      ['amount 0', () => deposit, () => ({ amount: 0 }), '/amount', 'must be >= 1'],
      ['a fractional amount', () => deposit, () => ({ amount: 1.5 }), '/amount', 'must be integer'],
      ['an amount as text', () => deposit, () => ({ amount: '10' }), '/amount', 'must be integer'],
      ['an amount over a billion', () => deposit, () => ({ amount: 1_000_000_001 }), '/amount', 'must be <= 1000000000'],
      ['an unknown property', () => deposit, () => ({ amount: 1, currency: 'EUR' }), '/', 'unknown property "currency"'],
      ['an empty note', () => deposit, () => ({ amount: 1, note: '' }), '/note', 'must NOT have fewer than 1 characters'],
      ['a note over 500 characters', () => deposit, () => ({ amount: 1, note: 'x'.repeat(501) }), '/note', 'must NOT have more than 500 characters'],
      ['a negative allocation', allocate, () => ({ amount: -5 }), '/amount', 'must be >= 1'],
      ['an allocation as a list', allocate, () => [{ amount: 5 }], '/', 'must be object'],
      ['no distributions', distribute, () => ({ distributions: [] }), '/distributions', 'must NOT have fewer than 1 items'],
      ['501 distributions', distribute, () => many(501), '/distributions', 'must NOT have more than 500 items'],
      ['a distribution without amount', distribute, () => ({ distributions: [{ userId: x.user.ada }] }), '/distributions/0', "must have required property 'amount'"],
      ['a distribution of 0', distribute, () => ({ distributions: [{ userId: x.user.ada, amount: 1 }, { userId: x.user.bob, amount: 0 }] }), '/distributions/1/amount', 'must be >= 1'],
      ['a distribution to no one', distribute, () => ({ distributions: [{ userId: '', amount: 1 }] }), '/distributions/0/userId', 'must NOT have fewer than 1 characters'],
      ['a distribution with an unknown property', distribute, () => ({ distributions: [{ userId: x.user.ada, amount: 1, groupId: x.group.a }] }), '/distributions/0', 'unknown property "groupId"'],
      ['a session without group', session, () => ({ credits: 5 }), '/', "must have required property 'groupId'"],
      ['a session of 0 credits', session, () => ({ groupId: x.group.a, credits: 0 }), '/credits', 'must be >= 1'],
      ['a session with amount for credits', session, () => ({ groupId: x.group.a, amount: 5 }), '/', 'unknown property "amount"'],
    ];

    it.each(cases)('refuses %s with 400 invalidBody naming the field, and changes nothing', async (_label, path, body, at, message) => {
      const res = await x.admin.post(path(), body()).expect(400);
      expect(res.body.error.code).toBe('invalidBody');
      expect(res.body.error.details).toContainEqual({ path: at, message });
      expect(await creditState(t, x.tenantId)).toBe(before);
    });

    it('refuses a bad PATCH /settings with 400 naming the field, and keeps coaching as it was', async () => {
      for (const [body, at, message] of [
        [{ coaching: 'yes' }, '/coaching', 'must be boolean'],
        [{}, '/', "must have required property 'coaching'"],
        [{ coaching: false, credits: true }, '/', 'unknown property "credits"'],
      ] as const) {
        const res = await x.admin.patch('/settings', body).expect(400);
        expect(res.body.error.details).toContainEqual({ path: at, message });
      }
      expect((await x.admin.get('/settings').expect(200)).body).toEqual({ coaching: true });
      expect(await creditState(t, x.tenantId)).toBe(before);
    });

    it('refuses a body that is not JSON with 400', async () => {
      const res = await x.admin.post(deposit).set('content-type', 'application/json').send('{"amount": 5');
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'invalidBody', details: [{ path: '', message: 'the body is not valid JSON' }] });
      expect(await creditState(t, x.tenantId)).toBe(before);
    });
  });

  it('returns a deleted group\'s undistributed credits to the workspace, in the SCIM DELETE that deletes it, and its members keep theirs', async () => {
    const x = await tenantWith('deletion');
    const { a, b } = x.group;
    const { ada, bob, cy } = x.user;
    const groupOf = async (displayName: string, members: string[]) =>
      (await x.scim.post('/Groups', { schemas: [GROUP], displayName, members: members.map((value) => ({ value })) }).expect(201)).body.id as string;
    await x.admin.post('/credits/deposits', { amount: 1000 }).expect(201);
    await x.admin.post(`/groups/${a}/credits`, { amount: 300 }).expect(201);
    await x.admin.post(`/groups/${b}/credits`, { amount: 100 }).expect(201);
    const distributions = [
      { userId: ada, amount: 100 },
      { userId: bob, amount: 20 },
    ];
    await x.admin.post(`/groups/${a}/credits/distributions`, { distributions }).expect(201);
    expect(await summary(x)).toEqual({ deposited: 1000, workspace: 600, groups: 280, members: 120, consumed: 0 });

    const deleted = await x.scim.delete(`/Groups/${a}`).expect(204);
    expect(await summary(x)).toEqual({ deposited: 1000, workspace: 780, groups: 100, members: 120, consumed: 0 });
    const [back] = ((await x.admin.get('/credits/transfers?limit=1').expect(200)).body as { items: Transfer[] }).items;
    expect(back).toMatchObject({ kind: 'groupDeleted', from: `group:${a}`, to: 'workspace', amount: 180, groupId: a, actor: 'test-deletion-scim', requestId: requestIdOf(deleted) });
    expect([await balanceOf(x, ada), await balanceOf(x, bob)]).toEqual([100, 20]);
    expect((await x.admin.get(`/groups/${a}/credits`).expect(404)).body.error.code).toBe('notFound');
    // The ledger keeps the deleted group's transfers, and its wallet is empty.
    expect(replay(await ledgerRows(t, x.tenantId)).balances.get(`group:${a}`)).toBe(0);

    // A group that never held credits, and one whose credits all went to its members, give nothing back.
    const count = (await ledgerRows(t, x.tenantId)).length;
    await x.scim.delete(`/Groups/${await groupOf('Never funded', [cy])}`).expect(204);
    const spent = await groupOf('All given out', [cy]);
    await x.admin.post(`/groups/${spent}/credits`, { amount: 10 }).expect(201);
    await x.admin.post(`/groups/${spent}/credits/distributions`, { distributions: [{ userId: cy, amount: 10 }] }).expect(201);
    await x.scim.delete(`/Groups/${spent}`).expect(204);
    expect((await ledgerRows(t, x.tenantId)).length).toBe(count + 2);

    // With coaching off, a deleted group's credits still go back: nothing is stranded in a wallet no one can reach.
    await x.admin.patch('/settings', { coaching: false }).expect(200);
    await x.scim.delete(`/Groups/${b}`).expect(204);
    await x.admin.patch('/settings', { coaching: true }).expect(200);
    expect(await summary(x)).toEqual({ deposited: 1000, workspace: 870, groups: 0, members: 130, consumed: 0 });
    const { balances, lowest } = replay(await ledgerRows(t, x.tenantId));
    expect(Object.fromEntries(balances)).toEqual({ workspace: 870, [`group:${a}`]: 0, [`group:${b}`]: 0, [`group:${spent}`]: 0, [`user:${ada}`]: 100, [`user:${bob}`]: 20, [`user:${cy}`]: 10 });
    expect(Math.min(...lowest.values())).toBe(0);
  });
});
