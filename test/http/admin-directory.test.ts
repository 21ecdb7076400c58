import { createTestApp, patchOp, USER, type TestApp } from '../helpers/app';

const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

/**
 * GET /admin/v1/groups (with counts) and GET /admin/v1/users filtered by groups, department and
 * status, on users and groups pushed through SCIM as an identity provider would, on the engine of
 * the run.
 */
describe('admin API: the group list and the member list', () => {
  let t: TestApp;
  const id: Record<string, string> = {};
  const group: Record<string, string> = {};

  beforeAll(async () => {
    t = await createTestApp();
    const scim = await t.scim();
    // name, department, active
    const people: [string, string | null, boolean][] = [
      ['ada', 'Sales', true],
      ['bob', 'Sales', false],
      ['cy', 'Support', true],
      ['dee', 'Sales', true],
      ['eve', null, true],
    ];
    for (const [name, department, active] of people) {
      const body = { schemas: [USER, ENTERPRISE], userName: `${name}@example.com`, displayName: name, active, ...(department ? { [ENTERPRISE]: { department } } : {}) };
      id[name] = (await scim.post('/Users', body).expect(201)).body.id as string;
    }
    const groups: [string, string[]][] = [
      ['Onboarding', ['ada', 'bob', 'cy']],
      ['Sales Refresher', ['ada', 'dee']],
      ['Empty', []],
    ];
    for (const [name, members] of groups) {
      group[name] = (await scim.post('/Groups', { schemas: [GROUP], displayName: name, members: members.map((m) => ({ value: id[m] })) }).expect(201)).body.id as string;
    }
    const admin = await t.admin();
    for (const [kind, title] of [['course', 'Welcome'], ['bot', 'Helper'], ['persona', 'Angry Customer'], ['persona', 'Calm Customer']]) {
      const content = (await admin.post('/content', { kind, title }).expect(201)).body.id as string;
      await admin.post(`/groups/${group.Onboarding}/assignments`, { contentId: content }).expect(201);
    }
    // another tenant's group and user, which no list here may show
    const other = await t.scim('globex');
    const stranger = (await other.post('/Users', { schemas: [USER], userName: 'ada@example.com' }).expect(201)).body.id as string;
    group.foreign = (await other.post('/Groups', { schemas: [GROUP], displayName: 'Onboarding', members: [{ value: stranger }] }).expect(201)).body.id as string;
  });
  afterAll(() => t.close());

  const users = async (query: string) => {
    const res = await (await t.admin()).get(`/users${query}`).expect(200);
    return res.body as { items: { id: string; userName: string; active: boolean; department: string | null; groups: { id: string; displayName: string }[] }[]; next: string | null };
  };
  const names = async (query: string) => (await users(query)).items.map((u) => u.userName.split('@')[0]);

  it('lists groups oldest first with member, assignment, bot and persona counts, paged', async () => {
    const admin = await t.admin();
    const first = (await admin.get('/groups?limit=2').expect(200)).body;
    expect(first.items.map((g: { displayName: string }) => g.displayName)).toEqual(['Onboarding', 'Sales Refresher']);
    expect(first.items[0]).toMatchObject({ id: group.Onboarding, members: 3, assignments: 4, bots: 1, personas: 2, externalId: null });
    expect(first.items[1]).toMatchObject({ members: 2, assignments: 0, bots: 0, personas: 0 });
    const second = (await admin.get(`/groups?limit=2&cursor=${first.next}`).expect(200)).body;
    expect(second).toEqual({ items: [expect.objectContaining({ displayName: 'Empty', members: 0 })], next: null });
    expect((await admin.get(`/groups/${group['Sales Refresher']}`).expect(200)).body).toMatchObject({ displayName: 'Sales Refresher', members: 2 });
    expect((await admin.get(`/groups/${group.foreign}`).expect(404)).body.error).toMatchObject({ code: 'notFound' });
  });

  it('filters users by a group, by several (all or any), by department and by status, each with their groups', async () => {
    expect(await names(`?group=${group.Onboarding}`)).toEqual(['ada', 'bob', 'cy']);
    expect(await names(`?group=${group.Onboarding}&group=${group['Sales Refresher']}`)).toEqual(['ada']);
    expect(await names(`?group=${group.Onboarding}&group=${group['Sales Refresher']}&groupMode=any`)).toEqual(['ada', 'bob', 'cy', 'dee']);
    expect(await names(`?group=${group.Empty}`)).toEqual([]);
    expect(await names('?department=Sales')).toEqual(['ada', 'bob', 'dee']);
    expect(await names('?status=inactive')).toEqual(['bob']);
    expect(await names(`?group=${group.Onboarding}&department=Sales&status=active`)).toEqual(['ada']);
    expect(await names('')).toEqual(['ada', 'bob', 'cy', 'dee', 'eve']);
    const [ada] = (await users(`?group=${group['Sales Refresher']}`)).items;
    expect(ada).toMatchObject({ id: id.ada, active: true, department: 'Sales', displayName: 'ada' });
    expect(ada!.groups).toEqual([
      { id: group.Onboarding, displayName: 'Onboarding' },
      { id: group['Sales Refresher'], displayName: 'Sales Refresher' },
    ]);
  });

  it('pages through the users by cursor, each once', async () => {
    const seen: string[] = [];
    let cursor = '';
    for (let pages = 0; pages < 10; pages++) {
      const page = await users(`?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.items.map((u) => u.userName.split('@')[0]!));
      if (!page.next) break;
      cursor = page.next;
    }
    expect(seen).toEqual(['ada', 'bob', 'cy', 'dee', 'eve']);
  });

  it('follows the pushes: a department change, a deactivation and a member leaving show at once', async () => {
    const scim = await t.scim();
    await scim.patch(`/Users/${id.cy}`, patchOp({ op: 'replace', path: `${ENTERPRISE}:department`, value: 'Sales' })).expect(204);
    await scim.patch(`/Users/${id.dee}`, patchOp({ op: 'replace', path: 'active', value: false })).expect(204);
    await scim.patch(`/Groups/${group.Onboarding}`, patchOp({ op: 'remove', path: `members[value eq "${id.bob}"]` })).expect(204);
    expect(await names('?department=Sales&status=active')).toEqual(['ada', 'cy']);
    expect(await names(`?group=${group.Onboarding}`)).toEqual(['ada', 'cy']);
    expect((await (await t.admin()).get(`/groups/${group.Onboarding}`).expect(200)).body.members).toBe(2);
  });

  it('refuses an unknown group, another tenant\'s group and malformed filters with a clear error', async () => {
    const admin = await t.admin();
    const refused = async (query: string, status: number, message: RegExp) => {
      const res = await admin.get(`/users${query}`).expect(status);
      expect(res.body.error.message).toMatch(message);
    };
    await refused(`?group=${group.foreign}`, 404, /Group .* not found/);
    await refused('?group=nope', 404, /Group nope not found/);
    await refused('?groupMode=some', 400, /groupMode must be all .* or any/);
    await refused('?status=asleep', 400, /status must be active or inactive/);
    await refused('?department=', 400, /department must be 1 to 300 characters/);
    await refused('?status=active&status=inactive', 400, /status must be given once/);
    await refused('?group=', 400, /group must be a group id/);
    await refused('?group[x]=y', 400, /unknown query parameter "group\[x\]"/);
    await refused(`?${Array.from({ length: 21 }, (_, i) => `group=g${i}`).join('&')}`, 400, /at most 20 groups/);
    await refused('?groups=x', 400, /unknown query parameter "groups"; this list takes group, groupMode/);
    await refused('?limit=0', 400, /limit must be an integer/);
    await refused('?cursor=zzz', 400, /cursor is not one this API returned/);
    expect((await admin.get('/groups?department=x').expect(400)).body.error.message).toMatch(/unknown query parameter "department"/);
    // the other tenant sees only its own
    const globex = (await (await t.admin('globex')).get('/users').expect(200)).body.items;
    expect(globex.map((u: { userName: string }) => u.userName)).toEqual(['ada@example.com']);
  });
});

/** GET /admin/v1/users/{id}/access: what a user can use now, and through which groups. */
describe('admin API: a user\'s access through groups', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('lists courses, bots and personas exactly while the user is a member, and nothing while deactivated', async () => {
    const scim = await t.scim();
    const admin = await t.admin();
    const user = (await scim.post('/Users', { schemas: [USER], userName: 'learner@example.com' }).expect(201)).body.id as string;
    const content: Record<string, string> = {};
    for (const [kind, title] of [['course', 'Negotiation'], ['bot', 'Coach Bot'], ['persona', 'Tough Buyer']] as const) content[title] = (await admin.post('/content', { kind, title }).expect(201)).body.id as string;
    const groupOf = async (name: string, titles: string[]) => {
      const g = (await scim.post('/Groups', { schemas: [GROUP], displayName: name }).expect(201)).body.id as string;
      const assignments: Record<string, string> = {};
      for (const title of titles) assignments[title] = (await admin.post(`/groups/${g}/assignments`, { contentId: content[title] }).expect(201)).body.id as string;
      return { id: g, assignments };
    };
    const sales = await groupOf('Sales', ['Negotiation', 'Coach Bot']);
    const practice = await groupOf('Practice', ['Coach Bot', 'Tough Buyer']);
    const access = async () => (await admin.get(`/users/${user}/access`).expect(200)).body.items as { title: string; kind: string; state: string; through: { displayName: string; assignmentId: string }[] }[];
    const summary = async () => (await access()).map((a) => `${a.kind} ${a.title}: ${a.through.map((g) => g.displayName).join(', ')}`);

    expect(await access()).toEqual([]);
    for (const g of [sales, practice]) await scim.patch(`/Groups/${g.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: user }] })).expect(204);
    expect(await summary()).toEqual(['bot Coach Bot: Practice, Sales', 'course Negotiation: Sales', 'persona Tough Buyer: Practice']);
    const [bot] = await access();
    expect(bot!.through).toEqual([
      { groupId: practice.id, displayName: 'Practice', assignmentId: practice.assignments['Coach Bot'] },
      { groupId: sales.id, displayName: 'Sales', assignmentId: sales.assignments['Coach Bot'] },
    ]);

    await scim.patch(`/Groups/${practice.id}`, patchOp({ op: 'remove', path: `members[value eq "${user}"]` })).expect(204);
    expect(await summary()).toEqual(['bot Coach Bot: Sales', 'course Negotiation: Sales']);

    await scim.patch(`/Users/${user}`, patchOp({ op: 'replace', path: 'active', value: false })).expect(204);
    expect(await access()).toEqual([]);
    await scim.patch(`/Users/${user}`, patchOp({ op: 'replace', path: 'active', value: true })).expect(204);
    expect(await summary()).toEqual(['bot Coach Bot: Sales', 'course Negotiation: Sales']);

    // Unassigning the bot ends it; the course stays as long as the group grants it.
    await admin.delete(`/assignments/${sales.assignments['Coach Bot']}`).expect(204);
    expect(await summary()).toEqual(['course Negotiation: Sales']);
  });

  it('is 404 for a user that is not the tenant\'s, and 400 for a query it does not take', async () => {
    const admin = await t.admin();
    const stranger = (await (await t.scim('globex')).post('/Users', { schemas: [USER], userName: 'x@example.com' }).expect(201)).body.id as string;
    expect((await admin.get(`/users/${stranger}/access`).expect(404)).body.error).toMatchObject({ code: 'notFound', message: `User ${stranger} not found` });
    expect((await admin.get('/users/nobody/access').expect(404)).body.error.code).toBe('notFound');
    expect((await admin.get(`/users/${stranger}/access?kind=bot`).expect(400)).body.error.message).toMatch(/unknown query parameter "kind"/);
  });
});
