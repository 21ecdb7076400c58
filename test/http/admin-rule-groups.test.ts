import { createTestApp, ENTERPRISE, patchOp, USER, type ScimClient, type TestApp } from '../helpers/app';

const DEPT = `${ENTERPRISE}:department`;

/**
 * Rule groups: a group whose members are exactly the users its rule (a SCIM filter on users)
 * matches, kept current as identity providers and HR systems push users, with enrollments following.
 */
describe('admin API: rule groups', () => {
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

  const person = async (name: string, department: string | null, active = true) => {
    const body = { schemas: [USER, ENTERPRISE], userName: `${name}.${++n}@example.com`, active, ...(department ? { [ENTERPRISE]: { department } } : {}) };
    return (await scim.post('/Users', body).expect(201)).body.id as string;
  };
  const setDepartment = (id: string, department: string) => scim.patch(`/Users/${id}`, patchOp({ op: 'Replace', path: DEPT, value: department })).expect(204);
  const ruleGroup = async (displayName: string, rule: string) => (await admin.post('/groups', { displayName, rule }).expect(201)).body as { id: string; members: number; rule: string };
  const memberIds = async (groupId: string) => (await t.store.membersOfGroups(await t.tenantId(), [groupId])).get(groupId)?.map((m) => m.userId).sort() ?? [];
  const sorted = (ids: string[]) => [...ids].sort();
  const courseFor = async (groupId: string, title: string) => {
    const id = (await admin.post('/content', { kind: 'course', title }).expect(201)).body.id as string;
    await admin.post(`/groups/${groupId}/assignments`, { contentId: id }).expect(201);
    return id;
  };
  const stateOf = async (userId: string, contentId: string) =>
    ((await admin.get(`/users/${userId}/enrollments?limit=500`).expect(200)).body.items as { contentId: string; state: string }[]).find((e) => e.contentId === contentId)?.state;

  it('takes in exactly the users its rule matches when created, and follows every push', async () => {
    const [ann, bob] = [await person('ann', 'Sales'), await person('bob', 'Sales')];
    const offSales = await person('off', 'Sales', false);
    const cy = await person('cy', 'Support');
    const sales = await ruleGroup('Sales (rule)', `${DEPT} eq "Sales" and active eq true`);
    const support = await ruleGroup('Support (rule)', `${DEPT} eq "Support"`);
    expect(sales.members).toBe(2);
    expect(await memberIds(sales.id)).toEqual(sorted([ann, bob]));
    expect(await memberIds(support.id)).toEqual([cy]);
    const salesCourse = await courseFor(sales.id, 'Sales basics');
    const supportCourse = await courseFor(support.id, 'Support basics');

    // an HR push moves bob to Support: he leaves one rule group and joins the other in that request
    const moved = await scim.patch(`/Users/${bob}`, patchOp({ op: 'Replace', path: DEPT, value: 'Support' })).expect(204);
    expect(await memberIds(sales.id)).toEqual([ann]);
    expect(await memberIds(support.id)).toEqual(sorted([bob, cy]));
    expect([await stateOf(bob, salesCourse), await stateOf(bob, supportCourse)]).toEqual(['suspended', 'active']);
    // the sync log says it was that push
    const changes = (await admin.get(`/sync-log/${moved.headers['x-request-id'] as string}`).expect(200)).body.changes as { kind: string; groupId: string | null; ids: string[] }[];
    expect(changes.filter((c) => c.kind.startsWith('membership')).map((c) => [c.kind, c.groupId, c.ids])).toEqual(
      expect.arrayContaining([
        ['membership.removed', sales.id, [bob]],
        ['membership.added', support.id, [bob]],
      ]),
    );

    // a newcomer joins; a deactivation leaves the rule that asks for active users; reactivation returns
    const dee = await person('dee', 'Sales');
    expect(await memberIds(sales.id)).toEqual(sorted([ann, dee]));
    expect(await stateOf(dee, salesCourse)).toBe('active');
    await scim.patch(`/Users/${ann}`, patchOp({ op: 'Replace', path: 'active', value: 'False' })).expect(204);
    expect(await memberIds(sales.id)).toEqual([dee]);
    await scim.patch(`/Users/${ann}`, patchOp({ op: 'Replace', path: 'active', value: 'True' })).expect(204);
    expect(await memberIds(sales.id)).toEqual(sorted([ann, dee]));
    // a PUT of the whole user (Okta) is a push like any other
    await scim.put(`/Users/${offSales}`, { schemas: [USER, ENTERPRISE], userName: `off.3@example.com`, active: true, [ENTERPRISE]: { department: 'Sales' } }).expect(200);
    expect(await memberIds(sales.id)).toEqual(sorted([ann, dee, offSales]));
    // a push that changes nothing the rules read changes no membership
    const versionBefore = (await scim.get(`/Groups/${sales.id}`).expect(200)).headers.etag as string;
    await scim.patch(`/Users/${dee}`, patchOp({ op: 'Replace', path: 'displayName', value: 'Dee' })).expect(204);
    expect((await scim.get(`/Groups/${sales.id}`).expect(200)).headers.etag).toBe(versionBefore);
  });

  it('previews a rule change (a dry run), then re-evaluates it set-based', async () => {
    const ops = [await person('ops1', 'Ops'), await person('ops2', 'Ops')];
    const fin = await person('fin', 'Finance');
    const group = await ruleGroup('Ops (rule)', `${DEPT} eq "Ops"`);
    const rule = `${DEPT} eq "Finance" or ${DEPT} eq "Ops" and userName sw "ops1"`;
    const preview = await admin.patch(`/groups/${group.id}`, { rule, dryRun: true }).expect(200);
    expect(preview.body).toEqual({
      dryRun: true,
      join: { count: 1, users: [{ id: fin, userName: expect.stringMatching(/^fin\./) as unknown }] },
      leave: { count: 1, users: [{ id: ops[1], userName: expect.stringMatching(/^ops2\./) as unknown }] },
    });
    expect(await memberIds(group.id)).toEqual(sorted(ops));
    expect((await admin.get(`/groups/${group.id}`).expect(200)).body.rule).toBe(`${DEPT} eq "Ops"`);

    const changed = await admin.patch(`/groups/${group.id}`, { rule }).expect(200);
    expect(changed.body).toMatchObject({ rule, joined: 1, left: 1, members: 2 });
    expect(await memberIds(group.id)).toEqual(sorted([ops[0]!, fin]));
    // lifting the rule keeps the members, and the group becomes an ordinary Roster group
    await admin.patch(`/groups/${group.id}`, { rule: null }).expect(200);
    await admin.post(`/groups/${group.id}/members`, { users: [{ id: ops[1]! }] }).expect(200);
    expect(await memberIds(group.id)).toEqual(sorted([...ops, fin]));
    expect((await admin.patch(`/groups/${group.id}`, { dryRun: true }).expect(400)).body.error.code).toBe('invalidBody');
  });

  it('refuses member changes by hand, bad rules and rules that cannot go together, changing nothing', async () => {
    const u = await person('hand', 'Legal');
    const group = await ruleGroup('Legal (rule)', `${DEPT} eq "Legal"`);
    const other = await person('other', 'Marketing');
    const byAdmin = await admin.post(`/groups/${group.id}/members`, { users: [{ id: other }] }).expect(409);
    expect(byAdmin.body.error.code).toBe('managedByRule');
    await admin.delete(`/groups/${group.id}/members/${u}`).expect(409);
    const bySet = await admin.put(`/users/${other}/groups`, { groupIds: [group.id] }).expect(409);
    expect(bySet.body.error.code).toBe('managedByRule');
    const byScim = await scim.patch(`/Groups/${group.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: other }] })).expect(400);
    expect(byScim.body.scimType).toBe('mutability');
    for (const [body, message] of [
      [{ rule: 'userName eq' }, /^rule is not a valid filter on users/],
      [{ rule: 'nosuchattribute eq "x"' }, /^rule is not a valid filter on users: unknown attribute/],
      [{ rule: 'groups.value eq "x"' }, /rule cannot use groups/],
      [{ maxMembers: 10 }, /a rule group has no member limit/],
    ] as [Record<string, unknown>, RegExp][]) {
      const res = await admin.patch(`/groups/${group.id}`, body).expect(400);
      expect(res.body.error.message).toMatch(message);
    }
    expect(await memberIds(group.id)).toEqual([u]);
    expect((await admin.get(`/groups/${group.id}`).expect(200)).body).toMatchObject({ rule: `${DEPT} eq "Legal"`, maxMembers: null });
    expect((await admin.post('/groups', { displayName: 'Both', rule: 'active eq true', maxMembers: 3 }).expect(400)).body.error.message).toMatch(/no member limit/);
  });

  it('freezes an archived rule group, and catches it up when unarchived', async () => {
    const a = await person('frozen', 'Research');
    const group = await ruleGroup('Research (rule)', `${DEPT} eq "Research"`);
    await admin.patch(`/groups/${group.id}`, { archived: true }).expect(200);
    const b = await person('late', 'Research');
    await setDepartment(a, 'Elsewhere');
    expect(await memberIds(group.id)).toEqual([a]);
    const back = await admin.patch(`/groups/${group.id}`, { archived: false }).expect(200);
    expect(back.body).toMatchObject({ joined: 1, left: 1 });
    expect(await memberIds(group.id)).toEqual([b]);
  });

  it('stays exact under concurrent pushes and a rule change', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 24; i++) ids.push(await person(`race${i}`, i % 2 ? 'Blue' : 'Red'));
    const group = await ruleGroup('Red (rule)', `${DEPT} eq "Red"`);
    // every user flips team while the rule changes to the other team
    const pushes = ids.map((id, i) => scim.patch(`/Users/${id}`, patchOp({ op: 'Replace', path: DEPT, value: i % 2 ? 'Red' : 'Blue' })));
    const ruleChange = admin.patch(`/groups/${group.id}`, { rule: `${DEPT} eq "Blue"` });
    const results = await Promise.all([...pushes, ruleChange]);
    expect(results.map((r) => r.status)).toEqual([...ids.map(() => 204), 200]);
    const blue = ids.filter((_, i) => i % 2 === 0);
    expect(await memberIds(group.id)).toEqual(sorted(blue));
    // and what the rule says in SQL is what the store holds
    const preview = await admin.patch(`/groups/${group.id}`, { rule: `${DEPT} eq "Blue"`, dryRun: true }).expect(200);
    expect([preview.body.join.count, preview.body.leave.count]).toEqual([0, 0]);
  });

  it("keeps rules to their tenant", async () => {
    const mine = await person('tenant-mine', 'Shared');
    const other = await t.scim('globex');
    await other.post('/Users', { schemas: [USER, ENTERPRISE], userName: 'theirs@example.com', [ENTERPRISE]: { department: 'Shared' } }).expect(201);
    const group = await ruleGroup('Shared (rule)', `${DEPT} eq "Shared"`);
    expect(await memberIds(group.id)).toEqual([mine]);
    const theirGroup = await (await t.admin('globex')).post('/groups', { displayName: 'Theirs', rule: `${DEPT} eq "Shared"` }).expect(201);
    expect(theirGroup.body.members).toBe(1);
    await other.post('/Users', { schemas: [USER, ENTERPRISE], userName: 'theirs2@example.com', [ENTERPRISE]: { department: 'Shared' } }).expect(201);
    expect(await memberIds(group.id)).toEqual([mine]);
    await admin.patch(`/groups/${theirGroup.body.id as string}`, { rule: 'active eq true', dryRun: true }).expect(404);
  });
});
