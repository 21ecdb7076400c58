import type { Response } from 'supertest';
import { createTestApp, GROUP, USER, type TestApp } from '../helpers/app';
import { ledgerRows, replay } from '../helpers/credits';

/**
 * Credits under concurrent transfers: 60 requests at once over HTTP, allocations from the workspace
 * to two groups, distributions from the groups to their members and coaching sessions of those
 * members, with amounts that leave many of them short. On PostgreSQL they run on several pooled
 * connections side by side (each debit waits only for the wallet's lock); on SQLite they queue for
 * the one writer. Either way no credit is made or lost, no wallet ever goes below zero, and the
 * ledger holds exactly the transfers that were answered 201.
 */
describe('credits under concurrent transfers', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('conserves every credit, takes no wallet below zero at any point of the ledger, and writes exactly the transfers it accepted', async () => {
    const scim = await t.scim('race');
    const admin = await t.admin('race');
    const tenantId = await t.tenantId('race');
    const members: string[] = [];
    for (let i = 0; i < 8; i++) members.push((await scim.post('/Users', { schemas: [USER], userName: `m${i}@race.example` }).expect(201)).body.id as string);
    const groups = [members.slice(0, 4), members.slice(4)];
    const groupIds: string[] = [];
    for (const [i, list] of groups.entries()) {
      groupIds.push((await scim.post('/Groups', { schemas: [GROUP], displayName: `Race ${i}`, members: list.map((value) => ({ value })) }).expect(201)).body.id as string);
    }
    await admin.patch('/settings', { coaching: true }).expect(200);
    // The start: the workspace holds 600, each group 100, each member 25.
    await admin.post('/credits/deposits', { amount: 1000 }).expect(201);
    for (const [g, groupId] of groupIds.entries()) {
      await admin.post(`/groups/${groupId}/credits`, { amount: 200 }).expect(201);
      await admin.post(`/groups/${groupId}/credits/distributions`, { distributions: groups[g]!.map((userId) => ({ userId, amount: 25 })) }).expect(201);
    }
    const start = (await ledgerRows(t, tenantId)).length;

    // 20 allocations of 90 (the workspace's 600 cover exactly 6), 20 distributions of 2 × 30 from
    // a group (the groups' 200 and the 540 allocated meanwhile cover at most 12) and 20 sessions of 40
    // (a member's 25 cover none until a distribution reaches them).
    type Kind = 'allocate' | 'distribute' | 'session';
    const burst: { kind: Kind; rows: number; send: () => PromiseLike<Response> }[] = [];
    for (let i = 0; i < 20; i++) {
      const g = i % 2;
      const groupId = groupIds[g]!;
      const [first, second] = [groups[g]![i % 4]!, groups[g]![(i + 1) % 4]!];
      burst.push({ kind: 'allocate', rows: 1, send: () => admin.post(`/groups/${groupId}/credits`, { amount: 90 }) });
      burst.push({
        kind: 'distribute',
        rows: 2,
        send: () => admin.post(`/groups/${groupId}/credits/distributions`, { distributions: [{ userId: first, amount: 30 }, { userId: second, amount: 30 }] }),
      });
      burst.push({ kind: 'session', rows: 1, send: () => admin.post(`/users/${groups[g]![(i + 2) % 4]}/credits/sessions`, { groupId, credits: 40 }) });
    }
    // All at once: a supertest request starts when it is awaited, and Promise.all awaits them together.
    const answers = await Promise.all(burst.map((b) => b.send()));

    // Every answer is a transfer made or refused for want of credits: no deadlock, no 503, no 500.
    expect(answers.map((res) => (res.status === 201 ? 'made' : `${res.status} ${res.body.error?.code}`)).filter((s) => s !== 'made' && s !== '409 insufficientCredits')).toEqual([]);
    const made = (kind: Kind) => burst.flatMap((b, i) => (b.kind === kind && answers[i]!.status === 201 ? [answers[i]!] : []));
    const refused = answers.filter((res) => res.status === 409);
    expect(refused.length).toBeGreaterThanOrEqual(14 + 8);

    // The workspace paid for exactly 6 allocations, each seeing the one before it: 510, 420, … 60
    // left, and every refusal saw the 60 that were left.
    expect(made('allocate').map((res) => res.body.balance as number).sort((x, y) => y - x)).toEqual([510, 420, 330, 240, 150, 60]);
    for (const [i, b] of burst.entries()) {
      if (b.kind === 'allocate' && answers[i]!.status === 409) expect(answers[i]!.body.error.details).toEqual({ wallet: 'workspace', balance: 60, requested: 90 });
    }

    // The ledger holds exactly what was answered 201, each under its request id, and nothing of a refusal.
    const rows = (await ledgerRows(t, tenantId)).slice(start);
    const byRequest = new Map<string, number>();
    for (const r of rows) byRequest.set(r.request_id, (byRequest.get(r.request_id) ?? 0) + 1);
    for (const [i, b] of burst.entries()) {
      const id = answers[i]!.headers['x-request-id'] as string;
      expect({ kind: b.kind, status: answers[i]!.status, rows: byRequest.get(id) ?? 0 }).toEqual({ kind: b.kind, status: answers[i]!.status, rows: answers[i]!.status === 201 ? b.rows : 0 });
    }
    expect(rows.length).toBe(made('allocate').length + 2 * made('distribute').length + made('session').length);

    // Conserved: the wallets and what sessions used up add up to what was deposited. No wallet is
    // below zero now, nor was any at any point of the ledger in seq order.
    const all = await ledgerRows(t, tenantId);
    const { balances, lowest, deposited, consumed } = replay(all);
    expect(deposited).toBe(1000);
    expect([...balances.values()].reduce((n, b) => n + b, 0) + consumed).toBe(1000);
    expect([...lowest].filter(([, low]) => low < 0)).toEqual([]);
    expect(balances.get('workspace')).toBe(60);

    // And the API says what the ledger says, wallet by wallet.
    const summary = (await admin.get('/credits').expect(200)).body as Record<string, number>;
    const sumOf = (prefix: string) => [...balances].filter(([w]) => w.startsWith(prefix)).reduce((n, [, b]) => n + b, 0);
    expect(summary).toEqual({ deposited: 1000, workspace: 60, groups: sumOf('group:'), members: sumOf('user:'), consumed });
    for (const groupId of groupIds) expect((await admin.get(`/groups/${groupId}/credits`).expect(200)).body.balance).toBe(balances.get(`group:${groupId}`));
    for (const userId of members) expect((await admin.get(`/users/${userId}/credits`).expect(200)).body.balance).toBe(balances.get(`user:${userId}`) ?? 0);
  });

  it('leaves nothing in a group deleted over SCIM while credits are allocated to it and distributed from it', async () => {
    const scim = await t.scim('race-delete');
    const admin = await t.admin('race-delete');
    const tenantId = await t.tenantId('race-delete');
    const member = (await scim.post('/Users', { schemas: [USER], userName: 'ada@race-delete.example' }).expect(201)).body.id as string;
    await admin.patch('/settings', { coaching: true }).expect(200);
    await admin.post('/credits/deposits', { amount: 1000 }).expect(201);
    for (let round = 0; round < 6; round++) {
      const groupId = (await scim.post('/Groups', { schemas: [GROUP], displayName: `Doomed ${round}`, members: [{ value: member }] }).expect(201)).body.id as string;
      await admin.post(`/groups/${groupId}/credits`, { amount: 50 }).expect(201);
      const burst: (() => PromiseLike<Response>)[] = [];
      for (let i = 0; i < 20; i++) {
        burst.push(() => admin.post(`/groups/${groupId}/credits`, { amount: 10 }));
        burst.push(() => admin.post(`/groups/${groupId}/credits/distributions`, { distributions: [{ userId: member, amount: 5 }] }));
        if (i === 5) burst.push(() => scim.delete(`/Groups/${groupId}`));
      }
      const answers = await Promise.all(burst.map((send) => send()));
      // Each is made, refused for want of credits, or finds the group gone.
      expect(answers.map((res) => res.status).filter((s) => s !== 201 && s !== 204 && s !== 404 && s !== 409)).toEqual([]);
      const { balances, lowest, deposited, consumed } = replay(await ledgerRows(t, tenantId));
      expect({ round, left: balances.get(`group:${groupId}`) }).toEqual({ round, left: 0 });
      expect([...lowest].filter(([, low]) => low < 0)).toEqual([]);
      expect([...balances.values()].reduce((n, b) => n + b, 0) + consumed).toBe(deposited);
    }
  });
});
