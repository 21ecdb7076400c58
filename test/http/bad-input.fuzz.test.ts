import fc from 'fast-check';
import request from 'supertest';
import { createTestApp, ENTERPRISE, ERROR, GROUP, PATCH_OP, USER, type TestApp } from '../helpers/app';

/** Runs: 25 with a fixed seed in `npm test`; `npm run fuzz` sets FUZZ_RUNS and FUZZ_SEED=random. */
const RUNS = Math.ceil(Number(process.env.FUZZ_RUNS ?? 100) / 4);
const SEED = process.env.FUZZ_SEED === 'random' ? Date.now() % 2 ** 31 : Number(process.env.FUZZ_SEED ?? 20261201);

/**
 * Bad input against the app over HTTP: random and mutated bodies (truncated JSON, invalid UTF-8,
 * nesting thousands deep, long strings, prototype-pollution keys, wrong types), PATCH operations,
 * ids, query strings and headers, sent to the SCIM and admin endpoints of a tenant seeded with users,
 * a group, content, an assignment and credits. Every answer is a success or a 4xx with the API's
 * error body, never a 5xx and never a hang, and after every refused request the tenant's users,
 * emails, groups, memberships, enrollments, grants and credit ledger are exactly what they were.
 */
describe('bad input', () => {
  let t: TestApp;
  let run = 0;
  beforeAll(async () => {
    t = await createTestApp({ maxBodyBytes: 256 * 1024 });
  });
  afterAll(async () => t.close());

  interface Seeded {
    tenant: string;
    tenantId: string;
    userIds: string[];
    groupId: string;
    assignmentId: string;
  }

  const seed = async (): Promise<Seeded> => {
    const tenant = `bad-${++run}`;
    const scim = await t.scim(tenant);
    const admin = await t.admin(tenant);
    const userIds: string[] = [];
    for (const name of ['ada', 'grace', 'linus']) {
      userIds.push((await scim.post('/Users', { schemas: [USER], userName: `${name}@example.com`, emails: [{ value: `${name}@example.com`, type: 'work' }] }).expect(201)).body.id as string);
    }
    const groupId = (await scim.post('/Groups', { schemas: [GROUP], displayName: 'Sales', members: userIds.slice(0, 2).map((value) => ({ value })) }).expect(201)).body.id as string;
    const contentId = (await admin.post('/content', { kind: 'course', title: 'Safety' }).expect(201)).body.id as string;
    const assignmentId = (await admin.post(`/groups/${groupId}/assignments`, { contentId }).expect(201)).body.id as string;
    await admin.patch('/settings', { coaching: true }).expect(200);
    await admin.post('/credits/deposits', { amount: 100 }).expect(201);
    await admin.post(`/groups/${groupId}/credits`, { amount: 50 }).expect(201);
    await admin.post(`/groups/${groupId}/credits/distributions`, { distributions: [{ userId: userIds[0], amount: 10 }] }).expect(201);
    return { tenant, tenantId: await t.tenantId(tenant), userIds, groupId, assignmentId };
  };

  /** Everything a refused request must leave as it was, in a stable order. */
  const snapshot = async (tenantId: string): Promise<string> => {
    const k = t.db.knex;
    const parts = await Promise.all([
      k('users').where({ tenant_id: tenantId }).orderBy('id').select('id', 'user_name', 'external_id', 'display_name', 'active', 'data', 'version'),
      k('user_emails').where({ tenant_id: tenantId }).orderBy(['user_id', 'value']).select('user_id', 'value', 'type', 'primary'),
      k('groups').where({ tenant_id: tenantId }).orderBy('id').select('id', 'display_name', 'external_id', 'data', 'version'),
      k('memberships').where({ tenant_id: tenantId }).orderBy(['group_id', 'user_id']).select('group_id', 'user_id'),
      k('enrollments').where({ tenant_id: tenantId }).orderBy('id').select('id', 'user_id', 'content_id', 'state', 'paused', 'progress'),
      k('grants').where({ tenant_id: tenantId }).orderBy('id').select('id', 'enrollment_id', 'assignment_id', 'ended_at'),
      k('assignments').where({ tenant_id: tenantId }).orderBy('id').select('id', 'group_id', 'content_id', 'mandatory', 'due_date'),
      k('group_messages').where({ tenant_id: tenantId }).orderBy('id').select('id', 'group_id', 'text'),
      k('credit_transfers').where({ tenant_id: tenantId }).orderBy('seq').select('id', 'from_wallet', 'to_wallet', 'amount', 'kind'),
      k('credit_wallets').where({ tenant_id: tenantId }).orderBy('wallet').select('wallet'),
    ]);
    return JSON.stringify(parts);
  };

  // ---------- what is sent ----------

  const awkwardString = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.constantFrom('', ' ', '\u0000', '\uffff', '\ud800', 'é', '"', '\\', '%', '__proto__', 'constructor', "' or 1=1 --", '../../etc/passwd', '%00', 'a'.repeat(5000)),
  );
  const junk = fc.jsonValue({ maxDepth: 3 });
  const keys = fc.constantFrom('userName', 'emails', 'name', 'active', 'schemas', 'externalId', 'displayName', 'members', 'id', 'meta', 'groups', 'password', ENTERPRISE, '__proto__', 'constructor', 'Operations');
  const validUser = fc.record({ n: fc.nat(1e6) }).map(({ n }) => ({ schemas: [USER], userName: `fuzz${n}@example.com`, active: true }));
  const mutatedUser = fc.tuple(validUser, fc.array(fc.tuple(keys, junk), { maxLength: 3 })).map(([u, edits]) => {
    const out: Record<string, unknown> = { ...u };
    for (const [key, value] of edits) Object.defineProperty(out, key, { value, enumerable: true, configurable: true, writable: true });
    return out;
  });
  const patchValue = fc.oneof(
    junk,
    fc.constantFrom('x', true, false, 0, [{ value: '@user2' }], [{ value: '@user0' }, { value: 'no-such-user' }], { active: 'yes' }, { active: false }, { displayName: 'Renamed' }, [{ value: 'a@b.c', type: 'work' }]),
  );
  const patchBody = fc.record({
    schemas: fc.oneof({ weight: 4, arbitrary: fc.constant([PATCH_OP]) }, { weight: 1, arbitrary: junk }),
    Operations: fc.oneof(
      { weight: 4, arbitrary:
      fc.array(
        fc.record(
          {
            op: fc.oneof(fc.constantFrom('add', 'remove', 'replace', 'Add', 'Replace', 'REMOVE', 'move', ''), awkwardString),
            path: fc.oneof(fc.constantFrom('members', 'members[value eq "x"]', 'members[value eq', 'emails[type eq "work"].value', 'active', 'name.givenName', 'displayName', `${ENTERPRISE}:department`, 'meta.created', 'id'), awkwardString),
            value: patchValue,
          },
          { requiredKeys: ['op'] },
        ),
        { maxLength: 4 },
      ) },
      { weight: 1, arbitrary: junk },
    ),
  });
  /** Raw bytes: JSON cut anywhere, invalid UTF-8, nesting thousands deep, prototype keys in the text. */
  const raw = fc.oneof(
    validUser.chain((u) => {
      const text = JSON.stringify(u);
      return fc.nat(text.length - 1).map((i) => Buffer.from(text.slice(0, i)));
    }),
    fc.constant(Buffer.from([0x7b, 0x22, 0x75, 0x73, 0x65, 0x72, 0x4e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x7d])),
    fc.integer({ min: 100, max: 50_000 }).map((n) => Buffer.from(`${'['.repeat(n)}${']'.repeat(n)}`)),
    fc.integer({ min: 100, max: 20_000 }).map((n) => Buffer.from(`{"schemas":["${USER}"],"userName":"deep@example.com","name":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}`)),
    fc.constant(Buffer.from(`{"schemas":["${USER}"],"userName":"proto@example.com","__proto__":{"admin":true,"active":false}}`)),
    fc.constant(Buffer.from(`{"schemas":["${PATCH_OP}"],"Operations":[{"op":"add","path":"__proto__","value":{"polluted":true}}]}`)),
    fc.constant(Buffer.from(`{"schemas":["${USER}"],"userName":"${'x'.repeat(300_000)}"}`)),
    fc.constant(Buffer.from('')),
    fc.constant(Buffer.from('null')),
  );
  const query = fc.record(
    {
      filter: fc.oneof(awkwardString, fc.constantFrom('userName eq "ada@example.com"', 'emails[type eq "work"].value co "a"', 'not (active eq true)', 'displayName pr or userName sw "g"', 'userName eq', 'userName eq "a" and', '(((', 'not', 'emails[type eq "work"', 'userName eq "a"]', `${'not ('.repeat(500)}userName pr${')'.repeat(500)}`)),
      startIndex: fc.oneof(fc.integer(), awkwardString),
      count: fc.oneof(fc.integer({ min: -10, max: 1e9 }), fc.constantFrom('1', '2', '0'), awkwardString),
      attributes: awkwardString,
      excludedAttributes: awkwardString,
      sortBy: awkwardString,
      sortOrder: awkwardString,
    },
    { requiredKeys: [] },
  ).map((q) => Object.fromEntries(Object.entries(q).filter(([, v]) => v !== undefined)));
  const idLike = fc.oneof(fc.constantFrom('@user0', '@user1', '@user2', '@group'), awkwardString.filter((v) => v.length > 0 && !v.includes('/') && !v.includes('?') && !v.includes('#')));
  const contentType = fc.constantFrom('application/scim+json', 'application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1');

  /** Credit requests near the schemas: amounts about the limits and the balances, members and strangers, junk in any field. */
  const credits = (() => {
    const amount = fc.oneof({ weight: 3, arbitrary: fc.integer({ min: -2, max: 150 }) }, { weight: 1, arbitrary: fc.oneof(fc.constantFrom(1_000_000_000, 1_000_000_001, 1.5, '5'), junk) });
    const note = fc.oneof(awkwardString, junk);
    const distributions = fc.array(fc.record({ userId: fc.constantFrom('@user0', '@user1', '@user2', 'nobody'), amount }), { maxLength: 3 });
    return fc.oneof(
      fc.tuple(fc.constantFrom('/credits/deposits', '/groups/@group/credits'), fc.record({ amount, note }, { requiredKeys: ['amount'] })),
      fc.tuple(fc.constant('/groups/@group/credits/distributions'), fc.record({ distributions: fc.oneof(distributions, junk), note }, { requiredKeys: ['distributions'] })),
      fc.tuple(fc.constantFrom('/users/@user0/credits/sessions', '/users/@user2/credits/sessions'), fc.record({ groupId: fc.oneof(fc.constant('@group'), awkwardString), credits: amount, note }, { requiredKeys: ['groupId', 'credits'] })),
    );
  })();

  type Req = { method: 'get' | 'post' | 'put' | 'patch' | 'delete'; path: string; body?: unknown; raw?: Buffer; contentType: string; ifMatch?: string; admin?: boolean };

  /** Requests over the seeded tenant: `@user0`…`@user2`, `@group` and `@assignment` in a path name its resources. */
  const requests = ((): fc.Arbitrary<Req> => {
    const body = fc.oneof(
      mutatedUser.map((b) => ({ body: b })),
      patchBody.map((b) => ({ body: b })),
      junk.map((b) => ({ body: b })),
      raw.map((r) => ({ raw: r })),
    );
    const scimTarget = fc.oneof(
      fc.constant({ method: 'post' as const, path: '/Users' }),
      fc.constant({ method: 'post' as const, path: '/Groups' }),
      fc.constant({ method: 'post' as const, path: '/.search' }),
      fc.constant({ method: 'post' as const, path: '/Users/.search' }),
      idLike.map((id) => ({ method: 'put' as const, path: `/Users/${ref(id)}` })),
      idLike.map((id) => ({ method: 'patch' as const, path: `/Users/${ref(id)}` })),
      idLike.map((id) => ({ method: 'put' as const, path: `/Groups/${ref(id)}` })),
      idLike.map((id) => ({ method: 'patch' as const, path: `/Groups/${ref(id)}` })),
    );
    const write = fc.tuple(scimTarget, body, contentType, fc.option(fc.oneof(fc.constantFrom('W/"1"', '*', '"1"'), awkwardString), { nil: undefined })).map(
      ([target, b, ct, ifMatch]): Req => ({ ...target, ...b, contentType: ct, ifMatch }),
    );
    const read = fc
      .tuple(fc.constantFrom('/Users', '/Groups'), query)
      .map(([path, q]): Req => ({ method: 'get', path: `${path}?${new URLSearchParams(Object.entries(q).map(([k, v]): [string, string] => [k, String(v)])).toString()}`, contentType: 'application/scim+json' }));
    const byId = fc.tuple(fc.constantFrom('get' as const, 'delete' as const), fc.constantFrom('Users', 'Groups'), awkwardString.filter((v) => v.length > 0)).map(
      ([method, kind, id]): Req => ({ method, path: `/${kind}/${enc(id)}`, contentType: 'application/scim+json' }),
    );
    const adminWrite = fc
      .tuple(fc.constantFrom('/content', '/groups/@group/assignments', '/groups/@group/messages', '/webhooks', '/assignments/@assignment'), fc.oneof(junk.map((b) => ({ body: b })), raw.map((r) => ({ raw: r }))))
      .map(([path, b]): Req => ({ method: path.startsWith('/assignments') ? 'patch' : 'post', path, ...b, contentType: 'application/json', admin: true }));
    const creditWrite = fc
      .oneof(
        { weight: 3, arbitrary: credits.map(([path, body]) => ({ path, body })) },
        { weight: 1, arbitrary: fc.tuple(fc.constantFrom('/credits/deposits', '/groups/@group/credits/distributions'), fc.oneof(junk.map((b) => ({ body: b })), raw.map((r) => ({ raw: r })))).map(([path, b]) => ({ path, ...b })) },
      )
      .map((r): Req => ({ method: 'post', ...r, contentType: 'application/json', admin: true }));
    return fc.oneof({ weight: 5, arbitrary: write }, { weight: 2, arbitrary: read }, { weight: 1, arbitrary: byId }, { weight: 2, arbitrary: adminWrite }, { weight: 2, arbitrary: creditWrite });
  })();
  // A lone surrogate cannot be in a URL at all: it goes as U+FFFD, as a browser would send it.
  const enc = (v: string) => encodeURIComponent(v.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'));
  const ref = (id: string) => (id.startsWith('@') ? id : enc(id));
  const resolve = (s: Seeded, path: string) =>
    path.replace(/@(user[0-2]|group|assignment)/g, (_m, name: string) => (name === 'group' ? s.groupId : name === 'assignment' ? s.assignmentId : s.userIds[Number(name.slice(4))]!));

  const send = async (s: Seeded, r: Req) => {
    const prefix = r.admin ? '/admin/v1' : '/scim/v2';
    const token = await t.token(s.tenant, r.admin ? 'admin' : 'scim');
    let req = request(t.app)[r.method](`${prefix}${resolve(s, r.path)}`).set('authorization', `Bearer ${token}`).timeout({ deadline: 15_000 });
    if (r.ifMatch !== undefined) req = req.set('if-match', r.ifMatch.replace(/[^\x20-\x7e]/g, '?'));
    if (r.raw !== undefined) return req.set('content-type', r.contentType).send(r.raw);
    // Ids in a body (`@user0`) name the seeded resources too.
    if (r.body !== undefined) return req.set('content-type', r.contentType).send(resolve(s, JSON.stringify(r.body)));
    return req;
  };

  it('answers every request with a success or a clear 4xx, and a refused one changes nothing', async () => {
    const seen = { refused: 0, succeeded: 0 };
    await fc.assert(
      fc.asyncProperty(fc.context(), fc.array(requests, { minLength: 1, maxLength: 8 }), async (ctx, list) => {
        const s = await seed();
        let before = await snapshot(s.tenantId);
        for (const r of list) {
          const res = await send(s, r);
          ctx.log(`${r.method.toUpperCase()} ${r.path.slice(0, 200)} → ${res.status}`);
          expect({ request: `${r.method} ${r.path.slice(0, 200)}`, status: res.status < 500 ? 'not 5xx' : res.status, body: res.status < 500 ? '' : res.text }).toEqual({
            request: `${r.method} ${r.path.slice(0, 200)}`,
            status: 'not 5xx',
            body: '',
          });
          const after = await snapshot(s.tenantId);
          if (res.status >= 400) {
            seen.refused++;
            const errorBody = r.admin ? typeof (res.body as { error?: { message?: unknown } }).error?.message === 'string' : (res.body as { schemas?: string[]; status?: string }).schemas?.includes(ERROR) && (res.body as { status?: string }).status === String(res.status);
            expect({ request: `${r.method} ${r.path.slice(0, 200)}`, errorBody }).toEqual({ request: `${r.method} ${r.path.slice(0, 200)}`, errorBody: true });
            expect(after).toBe(before);
          } else {
            seen.succeeded++;
          }
          before = after;
        }
        // Nothing of the request bodies reached Object.prototype.
        expect(({} as Record<string, unknown>).admin).toBeUndefined();
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: RUNS, seed: SEED },
    );
    expect(seen.refused).toBeGreaterThan(seen.succeeded);
    expect(seen.succeeded).toBeGreaterThan(0);
  });
});
