import fc from 'fast-check';
import { compileMatcher } from '../../src/scim/filter';
import { createTestApp, USER, type TestApp } from '../helpers/app';

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

/**
 * Data sets per run: 40 with a fixed seed in `npm test`; `npm run fuzz` sets FUZZ_RUNS higher and
 * FUZZ_SEED=random (fast-check prints the seed of a failure, and FUZZ_SEED=<it> replays it).
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 40);
const SEED = process.env.FUZZ_SEED === 'random' ? Date.now() % 2 ** 31 : Number(process.env.FUZZ_SEED ?? 20261201);

/**
 * The SCIM filter → SQL translation against the in-memory reference evaluation (match.ts) on random
 * data sets and random filters: each data set is pushed through POST /Users into a tenant of its own
 * and read back as Roster renders it; each filter is sent as GET /Users?filter=… (compiled to SQL) and
 * evaluated in memory on the rendered users. The two must name the same users, or both refuse the
 * filter. Values come from the data set (with their case changed), and from strings full of what
 * SQL and LIKE treat specially, in every position a filter has.
 */
describe('filters: SQL against the in-memory reference, on random data', () => {
  let t: TestApp;
  let tenantNo = 0;
  beforeAll(async () => {
    t = await createTestApp({ maxPageSize: 1000 });
  });
  afterAll(async () => t.close());

  const awkward = fc.constantFrom('%', '_', '\\', '"', "'", "' or 1=1 --", '"; drop table users; --', 'é', 'É', 'ß', '*', ' ', '');
  const word = fc.oneof(
    { weight: 3, arbitrary: fc.stringMatching(/^[a-cA-C]{1,4}$/) },
    { weight: 1, arbitrary: awkward },
  );
  const text = fc.array(word, { minLength: 1, maxLength: 3 }).map((parts) => parts.join(''));
  const user = fc.record(
    {
      name: text,
      displayName: fc.option(text, { nil: undefined }),
      active: fc.boolean(),
      title: fc.option(text, { nil: undefined }),
      familyName: fc.option(text, { nil: undefined }),
      emails: fc.array(fc.record({ value: text, type: fc.constantFrom('work', 'home', undefined), primary: fc.boolean() }), { maxLength: 3 }),
      department: fc.option(fc.constantFrom('Sales', 'sales', 'Écriture', 'R&D', "O'Brien"), { nil: undefined }),
      employeeNumber: fc.option(fc.stringMatching(/^[0-9]{1,3}$/), { nil: undefined }),
    },
    { requiredKeys: ['name', 'active', 'emails'] },
  );
  const dataSet = fc.uniqueArray(user, { minLength: 1, maxLength: 12, selector: (u) => u.name.toLowerCase() });

  type Spec = typeof user extends fc.Arbitrary<infer T> ? T : never;
  /** A user of the data set as an identity provider pushes it; the index keeps userNames unique. */
  const body = (spec: Spec, i: number) => {
    const enterprise = { ...(spec.department !== undefined ? { department: spec.department } : {}), ...(spec.employeeNumber !== undefined ? { employeeNumber: spec.employeeNumber } : {}) };
    return {
      schemas: Object.keys(enterprise).length ? [USER, ENT] : [USER],
      userName: `${spec.name}#${i}`,
      active: spec.active,
      ...(spec.displayName !== undefined ? { displayName: spec.displayName } : {}),
      ...(spec.title !== undefined ? { title: spec.title } : {}),
      ...(spec.familyName !== undefined ? { name: { familyName: spec.familyName } } : {}),
      ...(spec.emails.length ? { emails: spec.emails.map((e, k) => ({ value: `${e.value}@${k}`, ...(e.type ? { type: e.type } : {}), primary: e.primary && k === 0 })) } : {}),
      ...(Object.keys(enterprise).length ? { [ENT]: enterprise } : {}),
    };
  };

  // Attributes of every kind the translation handles, with the operators that apply to each.
  const stringPaths = ['userName', 'displayName', 'title', 'name.familyName', 'emails.value', 'emails.type', `${ENT}:department`, `${ENT}:employeeNumber`, 'externalId'];
  const compare = fc.constantFrom('eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le');
  const quoted = (v: string) => JSON.stringify(v);

  /** A filter over the values of the data set (so that it finds something), in the SCIM grammar. */
  const filterOver = (values: string[]) => {
    const value = fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...values).chain((v) => fc.constantFrom(v, v.toUpperCase(), v.toLowerCase(), v.slice(0, 2), v.slice(-2))) },
      { weight: 1, arbitrary: text },
    );
    const leaf = fc.oneof(
      { weight: 6, arbitrary: fc.tuple(fc.constantFrom(...stringPaths), compare, value).map(([p, op, v]) => `${p} ${op} ${quoted(v)}`) },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom('active', 'emails.primary'), fc.constantFrom('eq', 'ne'), fc.boolean()).map(([p, op, v]) => `${p} ${op} ${v}`) },
      { weight: 1, arbitrary: fc.constantFrom(...stringPaths, 'active', 'emails', 'name').map((p) => `${p} pr`) },
      {
        weight: 2,
        arbitrary: fc
          .tuple(fc.constantFrom('eq', 'ne', 'co', 'sw'), value, fc.constantFrom('work', 'home', 'WORK'))
          .map(([op, v, type]) => `emails[type eq ${quoted(type)} and value ${op} ${quoted(v)}].value pr`),
      },
      { weight: 1, arbitrary: fc.tuple(compare, value).map(([op, v]) => `emails[value ${op} ${quoted(v)} or primary eq true]`) },
    );
    const { tree } = fc.letrec<{ tree: string }>((tie) => ({
      tree: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaf,
        fc.tuple(tie('tree'), fc.constantFrom('and', 'or'), tie('tree')).map(([a, op, b]) => `(${a}) ${op} (${b})`),
        tie('tree').map((a) => `not (${a})`),
      ),
    }));
    return tree;
  };

  it('names the same users in SQL as in memory, for random filters on random data sets', async () => {
    const seen = { filters: 0, some: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(
        dataSet.chain((users) => {
          const bodies = users.map((u, i) => body(u, i));
          const values = bodies.flatMap((b) => [b.userName, b.displayName, b.title, ...(b.emails ?? []).map((e) => e.value)].filter((v): v is string => typeof v === 'string' && v.length > 0));
          return fc.tuple(fc.constant(bodies), fc.array(filterOver(values), { minLength: 15, maxLength: 15 }));
        }),
        async ([bodies, filters]) => {
          const tenant = `fuzz-${++tenantNo}`;
          const scim = await t.scim(tenant);
          for (const b of bodies) await scim.post('/Users', b).expect(201);
          const listed = (await scim.get('/Users?count=1000').expect(200)).body as { Resources: { id: string }[] };
          expect(listed.Resources).toHaveLength(bodies.length);
          for (const filter of filters) {
            let expected: string[] | 'refused';
            try {
              const match = compileMatcher(filter, 'User');
              expected = listed.Resources.filter(match).map((r) => r.id).sort();
            } catch {
              expected = 'refused';
            }
            const res = await scim.get(`/Users?count=1000&filter=${encodeURIComponent(filter)}`);
            const got = res.status === 400 ? 'refused' : ((res.body as { Resources?: { id: string }[] }).Resources ?? []).map((r) => r.id).sort();
            if (res.status !== 200 && res.status !== 400) throw new Error(`${filter}: ${res.status} ${res.text}`);
            expect({ filter, result: got }).toEqual({ filter, result: expected });
            seen.filters++;
            if (expected === 'refused') seen.refused++;
            else if (expected.length > 0 && expected.length < bodies.length) seen.some++;
          }
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
    // The comparison means something only if most filters pick some users and not others.
    expect(seen.some).toBeGreaterThan(seen.filters * 0.3);
    expect(seen.refused).toBeLessThan(seen.filters * 0.2);
  });

  it('keeps SQL out of values and attribute names: the data is intact after every attempt', async () => {
    const scim = await t.scim('injection');
    await scim.post('/Users', { schemas: [USER], userName: 'kept@example.com' }).expect(201);
    const attempts = [
      `userName eq "x' or '1'='1"`,
      `userName eq "x\\" or \\"1\\"=\\"1"`,
      `userName co "'; drop table users; --"`,
      `userName sw "%' union select * from tokens --"`,
      `emails[value eq "'); delete from users; --"]`,
      `${ENT}:department eq "x'||(select hash from tokens limit 1)||'"`,
      'userName) or (1=1',
      'userName eq "a" or 1 eq 1',
      "userName; drop table users eq \"a\"",
      'emails[type eq "work") or (1=1].value pr',
      'userName eq "a" --',
      'users.tenant_id pr',
      'meta.created gt "2020-01-01\' or \'1\'=\'1"',
    ];
    for (const filter of attempts) {
      const res = await scim.get(`/Users?filter=${encodeURIComponent(filter)}`);
      expect([200, 400]).toContain(res.status);
      if (res.status === 200) expect((res.body as { totalResults: number }).totalResults).toBe(0);
    }
    const after = (await scim.get('/Users').expect(200)).body as { totalResults: number; Resources: { userName: string }[] };
    expect(after.Resources.map((r) => r.userName)).toEqual(['kept@example.com']);
    expect(await t.db.knex.schema.hasTable('users')).toBe(true);
  });
});
