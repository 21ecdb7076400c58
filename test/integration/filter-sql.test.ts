import type { Knex } from 'knex';
import {
  applyFilter,
  applySort,
  compileMatcher,
  FilterError,
  parseFilter,
  sortExpression,
  type FilterContext,
} from '../../src/scim/filter';
import { createTestDb } from '../helpers/db';

const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const ROSTER = 'urn:ietf:params:scim:schemas:extension:roster:2.0:Group';
const TENANT = 'tenant-a';
const OTHER = 'tenant-b';

type Json = Record<string, unknown>;

interface UserSpec {
  key: string;
  userName: string;
  externalId?: string;
  displayName?: string;
  active?: boolean;
  created: string;
  /** emails as [value, type, primary] */
  emails?: Array<[string, string | null, boolean]>;
  /** the rest of the SCIM resource, stored in `data` as pushed */
  extra?: Json;
  ent?: { department?: string; employeeNumber?: string; costCenter?: string; manager?: string; division?: string };
}

const day = (n: number): string => new Date(Date.UTC(2025, 11, 1) + n * 86_400_000 + n * 3_600_000).toISOString();

const SPECS: UserSpec[] = [
  {
    key: 'alice',
    userName: 'Alice@Example.com',
    externalId: 'EXT-001',
    displayName: 'Alice Anders',
    created: day(1),
    emails: [['alice@example.com', 'work', true], ['alice@home.net', 'home', false]],
    extra: {
      name: { givenName: 'Alice', familyName: 'Anders' },
      title: 'Engineer',
      phoneNumbers: [{ value: '555-0101', type: 'mobile', primary: true }],
      roles: [{ value: 'admin', primary: true }, { value: 'author' }],
      userType: 'Employee',
      preferredLanguage: 'en-GB',
    },
    ent: { department: 'Engineering', employeeNumber: '1001', costCenter: 'CC-1' },
  },
  {
    key: 'bob',
    userName: 'bob.builder@example.com',
    externalId: 'ext-002',
    displayName: 'Bob Builder',
    created: day(2),
    emails: [['Bob.Builder@Example.com', 'work', true]],
    extra: {
      name: { givenName: 'Bob', familyName: 'Builder' },
      title: 'engineer',
      phoneNumbers: [{ value: '555-0202', type: 'work' }, { value: '555-0203', type: 'mobile', primary: true }],
      addresses: [{ type: 'work', locality: 'Berlin', country: 'DE' }],
      userType: 'Contractor',
    },
    ent: { department: 'engineering', employeeNumber: '1002', manager: 'U01-alice', costCenter: 'CC-1' },
  },
  {
    key: 'carol',
    userName: 'CAROL',
    displayName: 'carol',
    active: false,
    created: day(3),
    emails: [['carol@example.org', 'home', true]],
    extra: { name: { givenName: 'Carol' }, title: '', nickName: 42 },
    ent: { department: 'Sales', costCenter: 'cc-2' },
  },
  {
    key: 'dave',
    userName: 'dave%percent',
    externalId: 'EXT-004',
    created: day(4),
    emails: [],
    extra: { nickName: '42', addresses: [{ type: 'home', locality: 'berlin', country: 'de' }] },
    ent: { department: 'Sales', manager: 'u01-alice' },
  },
  {
    key: 'erin',
    userName: 'erin_under',
    displayName: "Erin O'Brien",
    created: day(5),
    emails: [['erin@example.com', null, false], ['erin@work.example.com', 'work', true]],
    extra: { name: { familyName: "O'Brien" }, title: 'Manager', x509Certificates: [{ value: 'MIIDQzCCAqygAwIBAgICEAAwDQYJ' }] },
    ent: { department: 'Support', division: 'EMEA' },
  },
  {
    key: 'frank',
    userName: 'frank\\back',
    displayName: 'Frank Back',
    active: false,
    created: day(6),
    emails: [['frank@example.com', 'WORK', false]],
    extra: { title: 'Sales Rep', phoneNumbers: [{ value: '555-0601', type: 'Work' }] },
    ent: { costCenter: 'CC-3', employeeNumber: '42' },
  },
  {
    key: 'grace',
    userName: 'grace@Example.ORG',
    externalId: 'Ext-007',
    displayName: 'Grace Hopper',
    created: day(40),
    emails: [['grace@example.org', 'work', true]],
    extra: {
      name: { givenName: 'Grace', familyName: 'Hopper' },
      title: 'Rear Admiral',
      roles: [{ value: 'ADMIN' }],
      locale: 'en-US',
    },
    ent: { department: 'Engineering', manager: 'U02-bob' },
  },
  {
    key: 'heidi',
    userName: 'heidi',
    created: day(41),
    emails: [['heidi@example.net', 'other', false]],
    extra: { displayName: null, title: null },
  },
  {
    key: 'ivan',
    userName: 'Ivan.Ivanov@example.com',
    displayName: 'Ivan Ivanov',
    created: day(42),
    emails: [['ivan@example.com', 'work', true], ['ivan@example.org', 'work', false]],
    extra: { name: { givenName: 'Ivan', familyName: 'Ivanov' }, phoneNumbers: [], userType: 'employee' },
    ent: { department: 'SALES', costCenter: 'CC-1' },
  },
  {
    key: 'judy',
    userName: 'judy',
    displayName: 'Judy',
    active: false,
    created: day(43),
    extra: { name: { givenName: '', familyName: 'Judge' }, phoneNumbers: [{ value: '', type: 'mobile' }] },
  },
  {
    key: 'emile',
    userName: 'emile.zola@example.fr',
    displayName: 'Émile Zola',
    created: day(44),
    emails: [['emile@example.fr', 'work', true]],
    extra: { name: { givenName: 'Émile', familyName: 'Zola' }, preferredLanguage: 'fr' },
    ent: { department: 'Écriture' },
  },
  {
    key: 'quote',
    userName: 'x" or "1"="1',
    displayName: 'Quote "Q" Person',
    created: day(45),
    emails: [['quote@example.com', 'work', true]],
  },
];

// Twenty more with regular variations, so every operator has something on both sides.
for (let i = 0; i < 20; i++) {
  const n = String(i + 13).padStart(2, '0');
  const departments = ['Engineering', 'Sales', 'Support', undefined];
  SPECS.push({
    key: `gen${n}`,
    userName: i % 3 === 0 ? `User${n}@Example.com` : `user${n}@example.org`,
    externalId: i % 4 === 0 ? undefined : `EXT-${n}`,
    displayName: i % 5 === 0 ? undefined : `Generated ${i % 2 ? 'Person' : 'PERSON'} ${n}`,
    active: i % 3 !== 1,
    created: day(10 + i * 3),
    emails: i % 6 === 5 ? [] : [[`user${n}@example.${i % 2 ? 'org' : 'com'}`, i % 2 ? 'home' : 'work', i % 4 !== 3]],
    extra: {
      title: i % 4 === 0 ? 'Engineer' : i % 4 === 1 ? '' : undefined,
      ...(i % 3 === 0 ? { phoneNumbers: [{ value: `555-1${n}`, type: i % 2 ? 'work' : 'mobile' }] } : {}),
      ...(i % 7 === 0 ? { name: { familyName: `Family${n}` } } : {}),
    },
    ent: {
      department: departments[i % 4],
      employeeNumber: i % 2 ? String(2000 + i) : undefined,
      costCenter: i % 5 === 0 ? `CC-${i % 3}` : undefined,
      manager: i % 6 === 0 ? 'U01-alice' : undefined,
    },
  });
}

const idOf = (key: string): string => `U${String(SPECS.findIndex((s) => s.key === key) + 1).padStart(2, '0')}-${key}`;

interface GroupSpec {
  key: string;
  displayName: string;
  externalId?: string;
  members: string[];
  ext: Json;
  created: string;
}

const GROUPS: GroupSpec[] = [
  { key: 'admins', displayName: 'Admins', externalId: 'GRP-1', members: ['alice', 'grace'], ext: { description: 'Platform admins', maxMembers: 5, archived: false, color: '#ff0000' }, created: day(1) },
  { key: 'sales', displayName: 'Sales Team', externalId: 'grp-2', members: ['carol', 'dave', 'ivan', 'alice'], ext: { description: 'Everyone in sales', maxMembers: 50, visibility: 'public' }, created: day(20) },
  { key: 'eng', displayName: 'engineering', members: ['alice', 'bob', 'grace', 'gen13', 'gen17'], ext: { maxMembers: 100, archived: true }, created: day(30) },
  { key: 'empty', displayName: 'Empty Group', externalId: 'GRP-4', members: [], ext: {}, created: day(50) },
];
const groupIdOf = (key: string): string => `G${GROUPS.findIndex((g) => g.key === key) + 1}-${key}`;

interface Built {
  resources: Json[];
  users: Json[];
  emails: Json[];
  groups: Json[];
  groupResources: Json[];
  memberships: Json[];
}

/** Rows as Roster stores them, and the same users and groups as SCIM JSON (as Roster renders them). */
function build(tenant: string, idPrefix: string): Built {
  const users: Json[] = [];
  const emails: Json[] = [];
  const resources: Json[] = [];
  for (const spec of SPECS) {
    const id = `${idPrefix}${idOf(spec.key)}`;
    const enterprise = Object.fromEntries(
      Object.entries({
        department: spec.ent?.department,
        employeeNumber: spec.ent?.employeeNumber,
        costCenter: spec.ent?.costCenter,
        division: spec.ent?.division,
        manager: spec.ent?.manager ? { value: spec.ent.manager } : undefined,
      }).filter(([, v]) => v !== undefined),
    );
    const emailList = (spec.emails ?? []).map(([value, type, primary]) => ({ value, ...(type !== null ? { type } : {}), primary }));
    const data: Json = {
      schemas: Object.keys(enterprise).length ? [CORE, ENT] : [CORE],
      userName: spec.userName,
      ...(spec.externalId !== undefined ? { externalId: spec.externalId } : {}),
      ...(spec.displayName !== undefined ? { displayName: spec.displayName } : {}),
      active: spec.active ?? true,
      ...(emailList.length ? { emails: emailList } : {}),
      ...Object.fromEntries(Object.entries(spec.extra ?? {}).filter(([, v]) => v !== undefined)),
      ...(Object.keys(enterprise).length ? { [ENT]: enterprise } : {}),
    };
    const updated = new Date(Date.parse(spec.created) + 3_600_000 * (resources.length % 5)).toISOString();
    users.push({
      id,
      tenant_id: tenant,
      user_name: spec.userName,
      user_name_lc: spec.userName.toLowerCase(),
      external_id: spec.externalId ?? null,
      display_name: spec.displayName ?? null,
      active: spec.active ?? true,
      department: spec.ent?.department ?? null,
      employee_number: spec.ent?.employeeNumber ?? null,
      manager_id: spec.ent?.manager ?? null,
      data: JSON.stringify(data),
      created_at: spec.created,
      updated_at: updated,
    });
    for (const e of emailList) {
      emails.push({ tenant_id: tenant, user_id: id, value: e.value, value_lc: e.value.toLowerCase(), type: e.type ?? null, primary: e.primary });
    }
    const groups = GROUPS.filter((g) => g.members.includes(spec.key)).map((g) => ({ value: `${idPrefix}${groupIdOf(g.key)}`, display: g.displayName }));
    resources.push({
      ...data,
      id,
      ...(groups.length ? { groups } : {}),
      meta: { resourceType: 'User', created: spec.created, lastModified: updated },
    });
  }
  const groups: Json[] = [];
  const groupResources: Json[] = [];
  const memberships: Json[] = [];
  for (const g of GROUPS) {
    const id = `${idPrefix}${groupIdOf(g.key)}`;
    const data: Json = Object.keys(g.ext).length ? { [ROSTER]: g.ext } : {};
    groups.push({
      id,
      tenant_id: tenant,
      display_name: g.displayName,
      display_name_lc: g.displayName.toLowerCase(),
      external_id: g.externalId ?? null,
      // the settings live in columns, as the store writes them
      data: '{}',
      description: (g.ext.description as string | undefined) ?? null,
      color: (g.ext.color as string | undefined) ?? null,
      max_members: (g.ext.maxMembers as number | undefined) ?? null,
      visibility: (g.ext.visibility as string | undefined) ?? 'private',
      archived: (g.ext.archived as boolean | undefined) ?? false,
      created_at: g.created,
      updated_at: g.created,
    });
    const members = g.members.map((key) => {
      const display = SPECS.find((s) => s.key === key)?.displayName;
      return { value: `${idPrefix}${idOf(key)}`, ...(display !== undefined ? { display } : {}) };
    });
    for (const m of members) memberships.push({ tenant_id: tenant, group_id: id, user_id: m.value, created_at: g.created });
    groupResources.push({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group', ...(Object.keys(data).length ? [ROSTER] : [])],
      id,
      displayName: g.displayName,
      ...(g.externalId ? { externalId: g.externalId } : {}),
      ...(members.length ? { members } : {}),
      ...data,
      meta: { resourceType: 'Group', created: g.created, lastModified: g.created },
    });
  }
  return { resources, users, emails, groups, groupResources, memberships };
}

const A = build(TENANT, '');
// The other tenant holds the same people: a filter must never return its rows.
const B = build(OTHER, 'b-');

const USER_FILTERS: string[] = [
  'userName eq "alice@example.com"',
  'userName eq "ALICE@EXAMPLE.COM"',
  'userName eq "6f1c3a47-1b7e-4a53-8f0e-2d9c6e0b1a55"',
  'userName co "EXAMPLE"',
  'userName sw "b"',
  'userName ew ".org"',
  'userName co "%"',
  'userName co "_"',
  String.raw`userName co "\\"`,
  'userName co "\\""',
  'userName gt "m"',
  'userName le "carol"',
  'displayName eq "bob builder"',
  'displayName co "PERSON"',
  'displayName lt "c"',
  'displayName pr',
  'not (displayName pr)',
  'displayName ne "Alice Anders"',
  'displayName co ""',
  'externalId eq "EXT-001"',
  'externalId eq "ext-001"',
  'externalId co "xt-0"',
  'externalId sw "EXT"',
  'externalId ew "7"',
  'externalId pr',
  'id eq "U01-alice"',
  'id eq "u01-ALICE"',
  'active eq true',
  'active eq "False"',
  'active ne true',
  'title pr',
  'title eq "ENGINEER"',
  'not (title pr)',
  'title eq null',
  'title ne null',
  'title co ""',
  'nickName eq "42"',
  'nickName eq 42',
  'nickName pr',
  'nickName gt "4"',
  'name.givenName sw "a"',
  'name.givenName pr',
  'name.familyName gt "i"',
  'name pr',
  'not (name pr)',
  'userType eq "employee"',
  'preferredLanguage sw "EN"',
  'locale pr',
  `${ENT}:department eq "engineering"`,
  `${ENT}:department ne "Sales"`,
  `${ENT}:department pr`,
  `${ENT}:costCenter eq "cc-1"`,
  `${ENT}:costCenter co "-"`,
  `not (${ENT}:costCenter pr)`,
  `${ENT}:employeeNumber eq 1002`,
  `${ENT}:employeeNumber gt "2010"`,
  `${ENT}:division eq "emea"`,
  `${ENT}:manager.value eq "u01-alice"`,
  `${ENT}:manager pr`,
  'urn:ietf:params:scim:schemas:core:2.0:User:userName sw "ALICE"',
  `${ENT.toUpperCase()}:DEPARTMENT eq "support"`,
  'emails eq "alice@example.com"',
  'emails co "@HOME"',
  'emails.value gt "m"',
  'emails.type eq "home"',
  'emails.type eq "work"',
  'emails.type ne "work"',
  'emails.type pr',
  'emails.primary eq true',
  'emails.primary eq "false"',
  'emails pr',
  'not (emails pr)',
  'emails eq null',
  'emails[type eq "work" and value co "example.com"]',
  'emails[type eq "work"].value eq "bob.builder@example.com"',
  'emails[type eq "home"].value co "example.com"',
  'emails[primary eq true].value ew ".org"',
  'emails[not (type eq "work")]',
  'emails[type eq "home" or primary eq false]',
  'emails[type pr and not (value co "example")]',
  'phoneNumbers.type eq "mobile"',
  'phoneNumbers[type eq "work" and value sw "555"]',
  'phoneNumbers pr',
  'phoneNumbers.value pr',
  'phoneNumbers.primary eq true',
  'phoneNumbers.value co "01"',
  'phoneNumbers[type eq "mobile"].value ne "555-0101"',
  'roles[primary eq true and value eq "admin"]',
  'roles.value eq "ADMIN"',
  'addresses[type eq "work"].locality eq "BERLIN"',
  'addresses.country eq "de"',
  'x509Certificates pr',
  'x509Certificates.value eq "MIIDQzCCAqygAwIBAgICEAAwDQYJ"',
  'x509Certificates.value eq "miidqzccaqygawibagiceaawdqyj"',
  `schemas eq "${ENT}"`,
  'groups.value eq "G1-admins"',
  'groups.value eq "g1-admins"',
  'groups[display eq "SALES TEAM"]',
  'groups pr',
  'not (groups pr)',
  'groups.value ne "G1-admins"',
  'meta.created gt "2026-01-01T00:00:00Z"',
  'meta.created le "2025-12-15"',
  `meta.created eq "${day(1)}"`,
  `meta.created eq "${new Date(Date.parse(day(2))).toUTCString()}"`,
  'meta.lastModified ge "2026-01-10T00:00:00.000Z"',
  'meta.created co "2026-01"',
  'meta.resourceType eq "User"',
  'meta.resourceType eq "Group"',
  '(userName sw "a" or userName sw "b") and active eq true',
  'not (userName sw "a" or active eq false)',
  'userName sw "user" and not (emails pr) or title eq "manager"',
  'active eq false and (emails[type eq "home"] or phoneNumbers pr)',
  `${'('.repeat(45)}userName sw "u"${')'.repeat(45)}`,
  Array.from({ length: 200 }, (_, i) => `id eq "U${String(i).padStart(2, '0')}-x" or`).join(' ') + ' id eq "U02-bob"',
];

const GROUP_FILTERS: string[] = [
  'displayName eq "ADMINS"',
  'displayName co "team"',
  'displayName sw "e"',
  'displayName gt "f"',
  'externalId eq "GRP-1"',
  'externalId eq "grp-1"',
  'externalId pr',
  'id eq "G2-sales"',
  'members[value eq "U01-alice"]',
  'members eq "u01-alice"',
  'members.value eq "U04-dave"',
  'members pr',
  'not (members pr)',
  'members.display co "ali"',
  'members[display pr and value sw "U0"]',
  'members.value ne "U01-alice"',
  `${ROSTER}:description co "SALES"`,
  `${ROSTER}:maxMembers gt 10`,
  `${ROSTER}:maxMembers le "50"`,
  `${ROSTER}:archived eq true`,
  `${ROSTER}:archived ne true`,
  `${ROSTER}:color pr`,
  `${ROSTER}:visibility eq "PUBLIC"`,
  'meta.created lt "2025-12-25T00:00:00Z"',
  'meta.resourceType eq "Group"',
];

/** Hand-written answers for some filters, so the check does not rest on the matcher alone. */
const EXPECTED_USERS: Record<string, string[]> = {
  'userName eq "ALICE@EXAMPLE.COM"': ['alice'],
  'userName eq "6f1c3a47-1b7e-4a53-8f0e-2d9c6e0b1a55"': [],
  'userName co "%"': ['dave'],
  'userName co "_"': ['erin'],
  [String.raw`userName co "\\"`]: ['frank'],
  'userName co "\\""': ['quote'],
  'externalId eq "ext-001"': [],
  'id eq "u01-ALICE"': [],
  'active eq "False"': ['carol', 'frank', 'judy', 'gen14', 'gen17', 'gen20', 'gen23', 'gen26', 'gen29', 'gen32'],
  'nickName eq "42"': ['dave'],
  [`${ENT}:manager.value eq "u01-alice"`]: ['bob', 'dave', 'gen13', 'gen19', 'gen25', 'gen31'],
  [`${ENT}:costCenter eq "cc-1"`]: ['alice', 'bob', 'ivan', 'gen23'],
  // frank's type is "WORK": types compare case-insensitively.
  'emails[type eq "work" and value co "example.com"]': ['alice', 'bob', 'erin', 'frank', 'ivan', 'quote', 'gen13', 'gen15', 'gen17', 'gen19', 'gen21', 'gen23', 'gen25', 'gen27', 'gen29', 'gen31'],
  // No single email is both "home" and at example.com…
  'emails[type eq "home"].value co "example.com"': [],
  // …but without brackets each condition may hold for a different email (alice's home and work addresses).
  'emails.type eq "home" and emails.value co "example.com"': ['alice'],
  'groups.value eq "G1-admins"': ['alice', 'grace'],
  'x509Certificates.value eq "miidqzccaqygawibagiceaawdqyj"': [],
  'not (userName sw "a" or active eq false)': SPECS.filter((s) => !s.userName.toLowerCase().startsWith('a') && s.active !== false).map((s) => s.key),
  '(userName sw "a" or userName sw "b") and active eq true': ['alice', 'bob'],
};

const EXPECTED_GROUPS: Record<string, string[]> = {
  'displayName eq "ADMINS"': ['admins'],
  'members eq "u01-alice"': [],
  'members[value eq "U01-alice"]': ['admins', 'sales', 'eng'],
  'not (members pr)': ['empty'],
  [`${ROSTER}:maxMembers gt 10`]: ['sales', 'eng'],
};

describe('SCIM filters in SQL', () => {
  let db: Awaited<ReturnType<typeof createTestDb>>;
  let knex: Knex;
  let userCtx: FilterContext;
  let groupCtx: FilterContext;

  beforeAll(async () => {
    db = await createTestDb();
    knex = db.knex;
    userCtx = { knex, dialect: db.dialect, resource: 'User' };
    groupCtx = { knex, dialect: db.dialect, resource: 'Group' };
    await knex('tenants').insert([
      { id: TENANT, name: 'Tenant A', created_at: day(0) },
      { id: OTHER, name: 'Tenant B', created_at: day(0) },
    ]);
    for (const built of [A, B]) {
      await knex.batchInsert('users', built.users, 50);
      await knex.batchInsert('user_emails', built.emails, 50);
      await knex('groups').insert(built.groups);
      await knex.batchInsert('memberships', built.memberships, 50);
    }
  });

  afterAll(async () => {
    await db?.drop();
  });

  const sqlIds = async (table: 'users' | 'groups', filter: string, ctx: FilterContext): Promise<string[]> => {
    const query = knex(table).where(`${table}.tenant_id`, TENANT).select(`${table}.id`);
    const rows = (await applyFilter(query, parseFilter(filter), ctx)) as Array<{ id: string }>;
    return rows.map((r) => r.id).sort();
  };

  const memoryIds = (resources: Json[], filter: string, type: 'User' | 'Group'): string[] => {
    const match = compileMatcher(filter, type);
    return resources.filter(match).map((r) => r.id as string).sort();
  };

  it('stores the fixture: 32 users and 4 groups per tenant', async () => {
    expect(SPECS).toHaveLength(32);
    const [{ n }] = (await knex('users').where('tenant_id', TENANT).count({ n: '*' })) as [{ n: number | string }];
    expect(Number(n)).toBe(32);
  });

  it('exercises at least 40 user filters whose results are neither all nor none', () => {
    let informative = 0;
    for (const filter of USER_FILTERS) {
      const n = memoryIds(A.resources, filter, 'User').length;
      if (n > 0 && n < A.resources.length) informative++;
    }
    expect(informative).toBeGreaterThanOrEqual(40);
  });

  describe.each(USER_FILTERS.map((f) => [f.length > 90 ? `${f.slice(0, 87)}…` : f, f]))('User filter %s', (_label, filter) => {
    it('returns the same users in SQL as the in-memory matcher', async () => {
      expect(await sqlIds('users', filter, userCtx)).toEqual(memoryIds(A.resources, filter, 'User'));
    });

    it('returns exactly the other users for not (…)', async () => {
      const all = A.resources.map((r) => r.id as string).sort();
      const hit = new Set(await sqlIds('users', filter, userCtx));
      expect(await sqlIds('users', `not (${filter})`, userCtx)).toEqual(all.filter((id) => !hit.has(id)));
    });
  });

  describe.each(GROUP_FILTERS.map((f) => [f]))('Group filter %s', (filter) => {
    it('returns the same groups in SQL as the in-memory matcher', async () => {
      expect(await sqlIds('groups', filter, groupCtx)).toEqual(memoryIds(A.groupResources, filter, 'Group'));
    });

    it('returns exactly the other groups for not (…)', async () => {
      const all = A.groupResources.map((r) => r.id as string).sort();
      const hit = new Set(await sqlIds('groups', filter, groupCtx));
      expect(await sqlIds('groups', `not (${filter})`, groupCtx)).toEqual(all.filter((id) => !hit.has(id)));
    });
  });

  it.each(Object.entries(EXPECTED_USERS))('answers %s with the hand-written users', async (filter, keys) => {
    const expected = keys.map(idOf).sort();
    expect(await sqlIds('users', filter, userCtx)).toEqual(expected);
    expect(memoryIds(A.resources, filter, 'User')).toEqual(expected);
  });

  it.each(Object.entries(EXPECTED_GROUPS))('answers %s with the hand-written groups', async (filter, keys) => {
    const expected = keys.map(groupIdOf).sort();
    expect(await sqlIds('groups', filter, groupCtx)).toEqual(expected);
    expect(memoryIds(A.groupResources, filter, 'Group')).toEqual(expected);
  });

  // SQLite's built-in lower() folds ASCII only; openDb registers a Unicode lower() on each connection,
  // so SQL folds case as JavaScript does (the _lc columns, the matcher).
  it('folds non-ASCII case in SQL as in memory (department sw "é" finds Écriture)', async () => {
    const filter = `${ENT}:department sw "é"`;
    expect(memoryIds(A.resources, filter, 'User')).toEqual([idOf('emile')]);
    expect(await sqlIds('users', filter, userCtx)).toEqual([idOf('emile')]);
  });

  describe("with unknownAttributes: 'absent'", () => {
    const ABSENT_FILTERS: Array<['User' | 'Group', string]> = [
      ['Group', 'displayName eq "Admins" or userName eq "user03@example.com"'],
      ['Group', 'not (userName eq "x")'],
      ['Group', 'userName ne "x" and members pr'],
      ['Group', 'emails[type eq "work"] or externalId pr'],
      ['Group', `${ENT}:department eq "Sales" or ${ROSTER}:archived eq true`],
      ['Group', 'members[value eq "U01-alice" and nope eq "x"]'],
      ['User', 'members.value eq "U01-alice" or userName eq "alice@example.com"'],
      ['User', `not (${ROSTER}:archived eq true)`],
      ['User', 'members pr or emails[type eq "home" or foo pr]'],
    ];

    it.each(ABSENT_FILTERS)('answers %s filter %s in SQL as in memory', async (type, filter) => {
      const table = type === 'User' ? 'users' : 'groups';
      const ctx: FilterContext = { dialect: db.dialect, resource: type, unknownAttributes: 'absent' };
      const resources = type === 'User' ? A.resources : A.groupResources;
      const expected = resources.filter(compileMatcher(filter, type, { unknownAttributes: 'absent' })).map((r) => r.id as string).sort();
      expect(await sqlIds(table, filter, ctx)).toEqual(expected);
      expect(() => applyFilter(knex(table), filter, { ...ctx, unknownAttributes: 'error' })).toThrow(FilterError);
    });

    it('finds the group and the user of a cross-type filter', async () => {
      const filter = 'displayName eq "Admins" or userName eq "alice@example.com"';
      expect(await sqlIds('groups', filter, { ...groupCtx, unknownAttributes: 'absent' })).toEqual([groupIdOf('admins')]);
      expect(await sqlIds('users', filter, { ...userCtx, unknownAttributes: 'absent' })).toEqual([idOf('alice')]);
    });
  });

  it('keeps a top-level or inside the tenant scope', async () => {
    const ids = await sqlIds('users', 'userName eq "alice@example.com" or active eq true or active eq false', userCtx);
    expect(ids).toHaveLength(32);
    expect(ids.every((id) => !id.startsWith('b-'))).toBe(true);
  });

  it.each([
    `userName eq "x' or 1=1 --"`,
    `userName eq "x'' or ''1''=''1"`,
    String.raw`userName eq "\"); drop table users; --"`,
    `displayName co "%' or '1'='1"`,
    `${ENT}:costCenter eq "') or 1=1 --"`,
    `emails[value eq "'; delete from user_emails; --"]`,
    `phoneNumbers[type eq "x') or 1=1 or ('"]`,
    `userName eq "?" or userName eq "??"`,
  ])('returns nothing for the injection attempt %s and leaves the tables intact', async (filter) => {
    expect(await sqlIds('users', filter, userCtx)).toEqual([]);
    const [{ n }] = (await knex('users').count({ n: '*' })) as [{ n: number | string }];
    expect(Number(n)).toBe(64);
    const [{ e }] = (await knex('user_emails').count({ e: '*' })) as [{ e: number | string }];
    expect(Number(e)).toBe(A.emails.length * 2);
  });

  it.each([
    `userName") or 1=1 -- eq "x"`,
    `urn:x'; drop table users; --:a eq 1`,
    `emails[type eq "a"]; drop table users eq 1`,
    `name.given'Name eq "x"`,
  ])('rejects the attribute-name injection %s with a FilterError', (filter) => {
    expect(() => applyFilter(knex('users'), filter, userCtx)).toThrow(FilterError);
  });

  it('compiles userName eq to the indexed user_name_lc column with the lower-cased value', () => {
    const sql = applyFilter(knex('users').where('tenant_id', TENANT).select('id'), parseFilter('userName eq "Alice@Example.COM"'), userCtx).toQuery();
    expect(sql).toContain('"users"."user_name_lc" = \'alice@example.com\'');
    expect(sql).not.toContain('lower(');
    expect(sql).not.toContain('Alice@Example.COM');
  });

  it('compiles displayName eq to lower(display_name) and keeps values out of the SQL text', () => {
    const compiled = applyFilter(knex('users'), parseFilter('displayName eq "O\'Brien"'), userCtx).toSQL();
    expect(compiled.sql).toContain('lower("users"."display_name")');
    expect(compiled.sql).not.toContain('brien');
    expect(compiled.bindings).toContain("o'brien");
  });

  it('rejects filters the schema forbids with a FilterError', () => {
    for (const filter of ['active gt true', 'name eq "x"', 'nope pr', 'emails.display eq "x"', 'password eq "x"', 'meta.version eq "1"', 'members pr']) {
      expect(() => applyFilter(knex('users'), filter, userCtx)).toThrow(FilterError);
    }
    expect(() => applyFilter(knex('groups'), 'userName eq "x"', groupCtx)).toThrow(FilterError);
  });

  describe('sorting', () => {
    const sorted = async (table: 'users' | 'groups', sortBy: string, order: 'ascending' | 'descending', ctx: FilterContext) => {
      const rows = (await applySort(knex(table).where(`${table}.tenant_id`, TENANT).select(`${table}.id`), sortBy, order, ctx)) as Array<{
        id: string;
      }>;
      return rows.map((r) => r.id);
    };

    /** Reference order: values compared as the filter would, missing values last, ties by id. */
    const expectedOrder = (resources: Json[], value: (r: Json) => string | undefined, order: 'ascending' | 'descending') =>
      [...resources]
        .map((r) => ({ id: r.id as string, v: value(r) }))
        .sort((a, b) => {
          if ((a.v === undefined) !== (b.v === undefined)) return a.v === undefined ? 1 : -1;
          if (a.v !== undefined && b.v !== undefined && a.v !== b.v) return (a.v < b.v ? -1 : 1) * (order === 'ascending' ? 1 : -1);
          return a.id < b.id ? -1 : 1;
        })
        .map((r) => r.id);

    it('sorts by userName case-insensitively', async () => {
      expect(await sorted('users', 'userName', 'ascending', userCtx)).toEqual(
        expectedOrder(A.resources, (r) => (r.userName as string).toLowerCase(), 'ascending'),
      );
    });

    it('sorts by name.familyName descending with missing values last', async () => {
      const family = (r: Json) => {
        const v = (r.name as Json | undefined)?.familyName as string | undefined;
        return v?.toLowerCase();
      };
      const ids = await sorted('users', 'name.familyName', 'descending', userCtx);
      expect(ids).toEqual(expectedOrder(A.resources, family, 'descending'));
      expect(ids.at(-1)).not.toBe(idOf('alice'));
    });

    it('sorts by meta.created', async () => {
      expect(await sorted('users', 'meta.created', 'descending', userCtx)).toEqual(
        expectedOrder(A.resources, (r) => (r.meta as Json).created as string, 'descending'),
      );
    });

    it('sorts by the primary email, else the lowest', async () => {
      const email = (r: Json) => {
        const list = (r.emails as Array<{ value: string; primary: boolean }> | undefined) ?? [];
        const primary = list.find((e) => e.primary) ?? [...list].sort((a, b) => (a.value.toLowerCase() < b.value.toLowerCase() ? -1 : 1))[0];
        return primary?.value.toLowerCase();
      };
      expect(await sorted('users', 'emails', 'ascending', userCtx)).toEqual(expectedOrder(A.resources, email, 'ascending'));
    });

    it('sorts by the primary phone number, else the first', async () => {
      const phone = (r: Json) => {
        const list = (r.phoneNumbers as Array<{ value: string; primary?: boolean }> | undefined) ?? [];
        const v = (list.find((p) => p.primary) ?? list[0])?.value.toLowerCase();
        return v;
      };
      expect(await sorted('users', 'phoneNumbers.value', 'ascending', userCtx)).toEqual(expectedOrder(A.resources, phone, 'ascending'));
    });

    it('sorts groups by a numeric extension attribute', async () => {
      const max = (r: Json) => {
        const v = (r[ROSTER] as Json | undefined)?.maxMembers as number | undefined;
        return v === undefined ? undefined : String(v).padStart(5, '0');
      };
      expect(await sorted('groups', `${ROSTER}:maxMembers`, 'ascending', groupCtx)).toEqual(
        expectedOrder(A.groupResources, max, 'ascending'),
      );
    });

    it('gives an expression for orderByRaw', () => {
      const e = sortExpression('User', 'USERNAME', { dialect: db.dialect });
      expect(e.expr).toContain('"users"."user_name_lc"');
      expect(() => sortExpression('User', 'nope', db.dialect)).toThrow(FilterError);
      expect(() => sortExpression('User', 'name', db.dialect)).toThrow(FilterError);
      expect(() => sortExpression('User', 'userName eq "x"', db.dialect)).toThrow(FilterError);
    });
  });
});
