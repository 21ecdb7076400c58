import fc from 'fast-check';
import SCIMMY from 'scimmy';
import { coerceInbound } from '../../src/scim/coerce';
import { normaliseObject } from '../../src/scim/normalise';
import { scimmyInbound } from '../../src/scim/resources';
import { ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, ROSTER_GROUP_SCHEMA, USER_SCHEMA, groupDefinition, userDefinition } from '../../src/scim/schemas';

/**
 * The compiled inbound coercion against scimmy's own, the reference: on every body the compiled one
 * accepts, scimmy accepts it too and gives the same resource, value for value and in the same order
 * (schemas and meta aside, which scimmy fills in and Roster never stores). Bodies it does not accept
 * go to scimmy, so those cannot differ. Random bodies (fixed seed) mix every attribute of the User
 * and Group schemas, in right and wrong types, cases and shapes; the identity providers' real
 * bodies must all take the compiled path.
 */
describe('compiled inbound coercion agrees with scimmy', () => {
  beforeAll(() => {
    userDefinition(); // declares the schemas and their extensions to scimmy
  });
  const reference = (schema: typeof SCIMMY.Schemas.User | typeof SCIMMY.Schemas.Group, body: Record<string, unknown>) => {
    try {
      const { schemas: _s, meta: _m, id: _i, ...rest } = scimmyInbound(schema, body);
      return { ok: true as const, json: JSON.stringify(rest) };
    } catch (err) {
      return { ok: false as const, error: (err as Error).message };
    }
  };
  const compare = (schema: typeof SCIMMY.Schemas.User | typeof SCIMMY.Schemas.Group, raw: Record<string, unknown>) => {
    const body = normaliseObject(raw, schema.definition);
    const fast = coerceInbound(schema.definition, body);
    if (fast === undefined) return false;
    const ref = reference(schema, body);
    expect(ref).toEqual({ ok: true, json: JSON.stringify(fast) });
    return true;
  };

  const okta = {
    schemas: [USER_SCHEMA],
    userName: 'isaac.brock@example.com',
    name: { givenName: 'Isaac', familyName: 'Brock' },
    emails: [{ primary: true, value: 'isaac.brock@example.com', type: 'work' }],
    displayName: 'Isaac Brock',
    locale: 'en-US',
    externalId: '00ujl29u0le5T6Aj10h7',
    groups: [],
    password: '1mz050nq',
    active: true,
  };
  const entra = {
    schemas: [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
    externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159',
    userName: 'OsmondL@contoso.com',
    active: 'True',
    displayName: 'Osmond Lamb',
    title: 'Engineer',
    emails: [{ primary: true, type: 'work', value: 'OsmondL@contoso.com' }],
    preferredLanguage: 'en-US',
    name: { formatted: 'Osmond Lamb', familyName: 'Lamb', givenName: 'Osmond' },
    addresses: [{ type: 'work', streetAddress: '1 Contoso Way', locality: 'Redmond', region: 'WA', postalCode: '98052', country: 'US', primary: true }],
    phoneNumbers: [{ type: 'work', value: '+1 425 555 0100' }],
    [ENTERPRISE_USER_SCHEMA]: { employeeNumber: '701984', department: 'Sales', costCenter: '4130', manager: { value: 'a7d8c6f2' } },
  };

  it('takes the identity providers’ real bodies on the compiled path, with scimmy’s result', () => {
    expect(compare(SCIMMY.Schemas.User, okta)).toBe(true);
    expect(compare(SCIMMY.Schemas.User, entra)).toBe(true);
    expect(compare(SCIMMY.Schemas.User, { schemas: [USER_SCHEMA], userName: 'plain@example.com' })).toBe(true);
    expect(compare(SCIMMY.Schemas.Group, { schemas: [GROUP_SCHEMA], displayName: 'Sales', externalId: 'g-1' })).toBe(true);
    expect(compare(SCIMMY.Schemas.Group, { schemas: [GROUP_SCHEMA, ROSTER_GROUP_SCHEMA], displayName: 'Cohort', [ROSTER_GROUP_SCHEMA]: { description: 'New hires', maxMembers: 30, visibility: 'public', archived: false } })).toBe(true);
  });

  it('drops the password and unknown attributes as scimmy does', () => {
    const body = normaliseObject({ ...okta, favouriteColour: 'blue' }, userDefinition());
    const fast = coerceInbound(userDefinition(), body)!;
    expect(fast).not.toHaveProperty('password');
    expect(fast).not.toHaveProperty('favouriteColour');
    expect(fast).not.toHaveProperty('groups');
  });

  it('leaves to scimmy what it does not handle: a missing userName, a null, a wrong type, a namespaced attribute', () => {
    const user = userDefinition();
    expect(coerceInbound(user, { schemas: [USER_SCHEMA] })).toBeUndefined();
    expect(coerceInbound(user, { userName: 'a', displayName: null })).toBeUndefined();
    expect(coerceInbound(user, { userName: 'a', active: 'yes' })).toBeUndefined();
    expect(coerceInbound(user, { userName: 'a', [`${ENTERPRISE_USER_SCHEMA}:department`]: 'Sales' })).toBeUndefined();
    expect(coerceInbound(user, { userName: 'a', emails: [{ value: 'a@b.c', type: 'Work' }] })).toBeUndefined(); // not canonical: scimmy refuses it
  });

  // ---------- random bodies ----------

  const scalar = fc.oneof(
    fc.string({ maxLength: 12 }),
    fc.constantFrom('work', 'home', 'other', 'Work', 'True', 'false', 'private', 'public', 'aim', 'photo', '10', '', 'https://example.com/x', 'User', '/Users/1'),
    fc.boolean(),
    fc.integer({ min: -5, max: 1000 }),
    fc.double({ noNaN: true }),
    fc.constant(null),
  );
  const value = fc.letrec<{ v: unknown }>((tie) => ({
    v: fc.oneof(
      { depthSize: 'small' },
      scalar,
      fc.array(tie('v'), { maxLength: 3 }),
      fc.dictionary(fc.constantFrom('value', 'type', 'primary', 'display', 'givenName', 'Value', 'TYPE', 'x', 'department'), tie('v'), { maxKeys: 3 }),
    ),
  })).v;

  /** A value for an attribute: usually of its type, sometimes not. */
  const valueFor = (type: string, multi: boolean, subs: { name: string; type: string }[]): fc.Arbitrary<unknown> => {
    const typed =
      type === 'complex'
        ? someOf(Object.fromEntries(subs.map((s) => [s.name, valueFor(s.type, false, [])])), 2)
        : type === 'string'
          ? fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('work', 'home', 'other', 'private', 'public', 'photo', 'aim', 'Work'))
          : type === 'boolean'
            ? fc.oneof(fc.boolean(), fc.constantFrom('True', 'false'))
            : type === 'integer'
              ? fc.oneof(fc.integer({ min: -10, max: 1e6 }), fc.constantFrom('25', 2.5))
              : value;
    const single = fc.oneof({ weight: 12, arbitrary: typed }, { weight: 1, arbitrary: value });
    return multi ? fc.oneof({ weight: 6, arbitrary: fc.array(single, { maxLength: 3 }) }, { weight: 1, arbitrary: single }) : single;
  };

  /** An object with some of the given fields: each present one time in `1 + rarity`. */
  const ABSENT = Symbol('absent');
  const someOf = (fields: Record<string, fc.Arbitrary<unknown>>, rarity: number): fc.Arbitrary<Record<string, unknown>> =>
    fc
      .record(Object.fromEntries(Object.entries(fields).map(([k, arb]) => [k, fc.oneof({ weight: rarity, arbitrary: fc.constant(ABSENT) }, { weight: 1, arbitrary: arb })])))
      .map((o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== ABSENT)));

  type Def = InstanceType<typeof SCIMMY.Types.SchemaDefinition>;
  type Attr = InstanceType<typeof SCIMMY.Types.Attribute>;
  const bodyFor = (definition: Def, required: string, schemaIds: string[]) => {
    const attrs = (definition.attributes as unknown[]).filter((a) => !(a instanceof SCIMMY.Types.SchemaDefinition)) as Attr[];
    const ext = (definition.attributes as unknown[]).find((a) => a instanceof SCIMMY.Types.SchemaDefinition) as Def;
    const arbitraryFor = (a: Attr) =>
      valueFor(
        a.type,
        (a as unknown as { config: { multiValued: boolean } }).config.multiValued,
        ((a.subAttributes ?? []) as Attr[]).map((s) => ({ name: s.name, type: s.type })),
      );
    const fields = Object.fromEntries(attrs.filter((a) => a.name !== 'schemas' && a.name !== required).map((a) => [a.name, arbitraryFor(a)]));
    const extFields = Object.fromEntries((ext.attributes as Attr[]).map((a) => [a.name, arbitraryFor(a)]));
    return fc
      .record({
        picked: someOf(
          {
            ...fields,
            schemas: fc.oneof(fc.constant(schemaIds.slice(0, 1)), fc.constant(schemaIds), fc.constant([]), fc.constant(['urn:example:other']), value),
            [ext.id]: fc.oneof({ weight: 6, arbitrary: someOf(extFields, 1) }, { weight: 1, arbitrary: value }),
            unknownAttribute: value,
            [`${ext.id}:${(ext.attributes[0] as Attr).name}`]: value,
          },
          6,
        ),
        required: fc.oneof({ weight: 12, arbitrary: fc.string({ minLength: 1, maxLength: 12 }) }, { weight: 1, arbitrary: value }),
        // Now and then an attribute twice, once in another letter case (Entra sends other cases)
        twice: fc.option(fc.nat(), { freq: 4 }),
      })
      .map(({ picked, required: r, twice }) => {
        const body: Record<string, unknown> = { [required]: r, ...picked };
        const keys = Object.keys(body);
        if (twice !== null) {
          const k = keys[twice % keys.length]!;
          body[k.toUpperCase()] = body[k];
        }
        return body;
      });
  };

  it('agrees with scimmy on random User bodies', () => {
    let compiled = 0;
    fc.assert(
      fc.property(bodyFor(userDefinition(), 'userName', [USER_SCHEMA, ENTERPRISE_USER_SCHEMA]), (body) => {
        if (compare(SCIMMY.Schemas.User, body as Record<string, unknown>)) compiled++;
      }),
      { seed: 20261201, numRuns: 4000 },
    );
    expect(compiled).toBeGreaterThan(100); // the compiled path was exercised, not only the fallback
  });

  it('agrees with scimmy on random Group bodies', () => {
    let compiled = 0;
    fc.assert(
      fc.property(bodyFor(groupDefinition(), 'displayName', [GROUP_SCHEMA, ROSTER_GROUP_SCHEMA]), (body) => {
        const { members: _members, ...rest } = body as Record<string, unknown>; // members are Roster's to check, not scimmy's
        if (compare(SCIMMY.Schemas.Group, rest)) compiled++;
      }),
      { seed: 20261201, numRuns: 4000 },
    );
    expect(compiled).toBeGreaterThan(100);
  });
});
