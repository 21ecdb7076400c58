import {
  compileMatcher,
  elementMatcher,
  equalities,
  FilterError,
  matches,
  matchesElement,
  parseFilter,
  parsePatchPath,
  resolvePath,
  UnknownAttributeError,
} from '../../src/scim/filter';
import { groupDefinition, userDefinition } from '../../src/scim/schemas';
import { errorOf } from '../helpers/filter-error';

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const ROSTER = 'urn:ietf:params:scim:schemas:extension:roster:2.0:Group';

const barbara = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENT],
  id: 'U-Barbara',
  externalId: 'Ext-1',
  userName: 'BJensen@Example.com',
  displayName: 'Barbara Jensen',
  name: { givenName: 'Barbara', familyName: 'Jensen' },
  title: '',
  active: true,
  emails: [
    { value: 'bjensen@example.com', type: 'work', primary: true },
    { value: 'babs@home.example', type: 'home', primary: false },
  ],
  phoneNumbers: [{ value: '555-1234', type: 'mobile' }],
  [ENT]: { department: 'Sales', costCenter: 'CC-7', manager: { value: 'M-1', displayName: 'Mgr' } },
  groups: [{ value: 'G-Admins', display: 'Admins' }],
  meta: { resourceType: 'User', created: '2026-03-01T10:00:00.000Z', lastModified: '2026-03-02T10:00:00.000Z' },
};

const bare = { id: 'u2', userName: 'bare', active: false, meta: { resourceType: 'User', created: '2026-01-01T00:00:00.000Z' } };

const user = (filter: string, resource: object = barbara): boolean => matches(resource, filter, 'User');

describe('matches', () => {
  it('compares case-insensitive attributes without regard to case', () => {
    expect(user('userName eq "bjensen@example.COM"')).toBe(true);
    expect(user('USERNAME Eq "BJENSEN@EXAMPLE.COM"')).toBe(true);
    expect(user('displayName sw "barb"')).toBe(true);
    expect(user('name.familyName ew "SEN"')).toBe(true);
  });

  it('compares case-exact attributes exactly', () => {
    expect(user('id eq "U-Barbara"')).toBe(true);
    expect(user('id eq "u-barbara"')).toBe(false);
    expect(user('externalId eq "ext-1"')).toBe(false);
    expect(user('externalId co "xt-"')).toBe(true);
    expect(user('groups.value eq "g-admins"')).toBe(false);
    expect(user('groups.value eq "G-Admins"')).toBe(true);
  });

  it('answers false for a random GUID, as Entra sends before creating', () => {
    expect(user('userName eq "6f1c3a47-1b7e-4a53-8f0e-000000000000"')).toBe(false);
  });

  it('evaluates co, sw, ew, gt, ge, lt, le on strings', () => {
    expect(user('userName co "@example"')).toBe(true);
    expect(user('userName sw "bj"')).toBe(true);
    expect(user('userName ew ".com"')).toBe(true);
    expect(user('userName gt "a"')).toBe(true);
    expect(user('userName lt "a"')).toBe(false);
    expect(user('userName ge "bjensen@example.com"')).toBe(true);
    expect(user('userName le "bjensen@example.com"')).toBe(true);
  });

  it('treats an empty co/sw/ew operand as matching any present string', () => {
    expect(user('displayName co ""')).toBe(true);
    expect(user('displayName co ""', bare)).toBe(false);
  });

  it('makes ne true when the attribute is absent', () => {
    expect(user('displayName ne "x"', bare)).toBe(true);
    expect(user('displayName ne "barbara jensen"')).toBe(false);
    expect(user(`${ENT}:department ne "Sales"`, bare)).toBe(true);
  });

  it('counts null, missing and the empty string as not present', () => {
    expect(user('title pr')).toBe(false);
    expect(user('nickName pr')).toBe(false);
    expect(user('displayName pr')).toBe(true);
    expect(user('not (title pr)')).toBe(true);
    expect(user('title eq null')).toBe(true);
    expect(user('displayName ne null')).toBe(true);
  });

  it('makes not (…) the exact complement, also for absent attributes', () => {
    for (const filter of ['displayName eq "x"', 'displayName pr', 'nickName co "a"', 'emails[type eq "other"]', 'active eq true']) {
      for (const resource of [barbara, bare]) {
        expect(user(`not (${filter})`, resource)).toBe(!user(filter, resource));
      }
    }
  });

  it('applies and/or/not with the right precedence', () => {
    expect(user('userName eq "nobody" or active eq true and displayName pr')).toBe(true);
    expect(user('(userName eq "nobody" or active eq true) and title pr')).toBe(false);
    expect(user('not (userName eq "nobody" or active eq false)')).toBe(true);
  });

  it('accepts booleans as strings, as Entra sends them', () => {
    expect(user('active eq "True"')).toBe(true);
    expect(user('active eq "false"')).toBe(false);
    expect(user('active ne false')).toBe(true);
  });

  it('rejects ordering on booleans and values that are not booleans', () => {
    expect(errorOf(() => user('active gt true')).message).toMatch(/boolean/);
    expect(errorOf(() => user('active eq "yes"')).message).toMatch(/not true or false/);
    expect(errorOf(() => user('active co "t"')).message).toMatch(/boolean/);
  });

  it('compares a number with a string attribute as its string form', () => {
    const employee = { ...barbara, [ENT]: { employeeNumber: '701984' } };
    expect(user(`${ENT}:employeeNumber eq 701984`, employee)).toBe(true);
  });

  it('compares dateTimes as instants, whatever the notation', () => {
    expect(user('meta.created gt "2026-02-28T00:00:00Z"')).toBe(true);
    expect(user('meta.created eq "2026-03-01T11:00:00+01:00"')).toBe(true);
    expect(user('meta.lastModified lt "2026-03-02"')).toBe(false);
    expect(errorOf(() => user('meta.created gt "last week"')).message).toMatch(/not a date/);
  });

  it('matches meta.resourceType exactly, as the schema declares it caseExact', () => {
    expect(user('meta.resourceType eq "User"')).toBe(true);
    expect(user('meta.resourceType eq "user"')).toBe(false);
  });

  it('resolves URN-prefixed core and extension attributes', () => {
    expect(user(`${ENT}:department eq "sales"`)).toBe(true);
    expect(user(`${ENT.toLowerCase()}:DEPARTMENT eq "sales"`)).toBe(true);
    expect(user(`${ENT}:manager.value eq "m-1"`)).toBe(true);
    expect(user('urn:ietf:params:scim:schemas:core:2.0:User:userName sw "bjensen"')).toBe(true);
    expect(user(`${ENT}:manager pr`)).toBe(true);
    expect(user(`${ENT}:manager pr`, bare)).toBe(false);
  });

  it('reads emails eq "x" as emails.value', () => {
    expect(user('emails eq "BABS@home.example"')).toBe(true);
    expect(user('emails co "example.com"')).toBe(true);
  });

  it('matches a value path on a single element', () => {
    expect(user('emails[type eq "work" and value co "@example.com"]')).toBe(true);
    // The home address has no @example.com, the work one is not "home": no single element has both.
    expect(user('emails[type eq "home" and value co "@example.com"]')).toBe(false);
    // Without brackets each condition may be met by a different element.
    expect(user('emails.type eq "home" and emails.value co "@example.com"')).toBe(true);
  });

  it('reads emails[type eq "work"].value eq "x" as one element with both properties', () => {
    expect(user('emails[type eq "work"].value eq "bjensen@example.com"')).toBe(true);
    expect(user('emails[type eq "work"].value eq "babs@home.example"')).toBe(false);
    expect(user('emails[type eq "home"].value pr')).toBe(true);
  });

  it('allows not, or and parentheses inside brackets', () => {
    expect(user('emails[not (type eq "work") and primary eq false]')).toBe(true);
    expect(user('emails[(type eq "other" or type eq "home") and primary eq true]')).toBe(false);
  });

  it('makes ne on a multi-valued attribute the complement of eq', () => {
    expect(user('emails.type ne "work"')).toBe(false);
    expect(user('emails.type ne "other"')).toBe(true);
    expect(user('emails.type ne "work"', bare)).toBe(true);
  });

  it('makes pr on a multi-valued attribute mean at least one element', () => {
    expect(user('emails pr')).toBe(true);
    expect(user('emails pr', bare)).toBe(false);
    expect(user('emails pr', { ...bare, emails: [] })).toBe(false);
    expect(user('phoneNumbers.display pr')).toBe(false);
  });

  it('compares numbers numerically and only with numbers', () => {
    const group = { id: 'g', displayName: 'G', [ROSTER]: { maxMembers: 100, archived: false, color: '#fff' } };
    const g = (filter: string) => matches(group, filter, 'Group');
    expect(g(`${ROSTER}:maxMembers gt 20`)).toBe(true);
    expect(g(`${ROSTER}:maxMembers gt "20"`)).toBe(true);
    expect(g(`${ROSTER}:maxMembers le 99.5`)).toBe(false);
    expect(g(`${ROSTER}:archived eq false`)).toBe(true);
    expect(errorOf(() => g(`${ROSTER}:maxMembers eq "many"`)).message).toMatch(/not a number/);
    expect(errorOf(() => g(`${ROSTER}:maxMembers co 1`)).message).toMatch(/numeric/);
  });

  it('matches group members by exact id', () => {
    const group = { id: 'g', displayName: 'Sales', members: [{ value: 'U-1', display: 'One' }] };
    expect(matches(group, 'members[value eq "U-1"]', 'Group')).toBe(true);
    expect(matches(group, 'members[value eq "u-1"]', 'Group')).toBe(false);
    expect(matches(group, 'members eq "U-1"', 'Group')).toBe(true);
    expect(matches(group, 'displayName eq "SALES"', 'Group')).toBe(true);
  });

  it('rejects unknown attributes and comparisons on complex attributes', () => {
    expect(errorOf(() => user('department eq "Sales"')).message).toMatch(/unknown attribute 'department'/);
    expect(errorOf(() => user('emails.nope eq "x"')).message).toMatch(/unknown attribute 'emails.nope'/);
    expect(errorOf(() => user('emails[nope eq "x"]')).message).toMatch(/unknown attribute/);
    expect(errorOf(() => user('urn:example:unknown:x eq "x"')).message).toMatch(/unknown schema/);
    expect(errorOf(() => user('name eq "x"')).message).toMatch(/complex/);
    expect(errorOf(() => user('name gt "x"')).message).toMatch(/complex/);
    expect(errorOf(() => user('userName[value eq "x"]')).message).toMatch(/not multi-valued/);
    expect(errorOf(() => user('members pr')).message).toMatch(/unknown attribute 'members' for User/);
  });

  it('rejects a bad filter even when there is nothing to match', () => {
    expect(() => compileMatcher('nope eq 1', 'User')).toThrow(FilterError);
  });
});

describe("unknownAttributes: 'absent' (root /.search across resource types)", () => {
  const group = { id: 'g', displayName: 'Searchable', members: [{ value: 'U-1' }] };
  const lenient = (filter: string, resource: object = group) => matches(resource, filter, 'Group', { unknownAttributes: 'absent' });

  it('rejects attributes the resource type lacks by default', () => {
    expect(() => matches(group, 'displayName eq "Searchable" or userName eq "x"', 'Group')).toThrow(UnknownAttributeError);
  });

  it('treats them as unassigned when asked to', () => {
    expect(lenient('displayName eq "Searchable" or userName eq "x"')).toBe(true);
    expect(lenient('userName eq "x"')).toBe(false);
    expect(lenient('userName ne "x"')).toBe(true);
    expect(lenient('userName pr')).toBe(false);
    expect(lenient('userName eq null')).toBe(true);
    expect(lenient('not (userName eq "x")')).toBe(true);
    expect(lenient('emails[type eq "work"]')).toBe(false);
    expect(lenient(`${ENT}:department eq "Sales"`)).toBe(false);
    expect(lenient('members[value eq "U-1" or nope eq 1]')).toBe(true);
  });

  it('still rejects type errors and bad syntax', () => {
    expect(() => lenient('displayName gt true and userName pr')).toThrow(FilterError);
    expect(() => matches(barbara, 'active gt true', 'User', { unknownAttributes: 'absent' })).toThrow(FilterError);
  });
});

describe('matchesElement and elementMatcher', () => {
  it('matches one element against a PATCH value filter', () => {
    const path = parsePatchPath('emails[type eq "WORK"]');
    const emails = userDefinition().attribute('emails');
    expect(matchesElement({ value: 'a@b.c', type: 'work' }, path.filter!, emails)).toBe(true);
    expect(matchesElement({ value: 'a@b.c', type: 'home' }, path.filter!, emails)).toBe(false);
    expect(matchesElement({ value: 'a@b.c' }, path.filter!, resolvePath('User', { attribute: 'emails' }))).toBe(false);
  });

  it('compares member ids exactly', () => {
    const members = groupDefinition().attribute('members');
    const filter = parsePatchPath('members[value eq "2819c223"]').filter!;
    expect(matchesElement({ value: '2819c223' }, filter, members)).toBe(true);
    expect(matchesElement({ value: '2819C223' }, filter, members)).toBe(false);
  });

  it('builds a reusable element predicate and checks the filter up front', () => {
    const hit = elementMatcher('User', { attribute: 'phoneNumbers' }, parseFilter('type eq "mobile" or primary eq true'));
    expect([{ type: 'Mobile' }, { type: 'work', primary: true }, { type: 'fax' }].map(hit)).toEqual([true, true, false]);
    expect(() => elementMatcher('User', { attribute: 'emails' }, parseFilter('nope eq 1'))).toThrow(FilterError);
    expect(() => elementMatcher('User', { attribute: 'userName' }, parseFilter('type eq "x"'))).toThrow(FilterError);
  });
});

describe('equalities', () => {
  it('describes the element an and-of-eq filter names', () => {
    expect(equalities(parseFilter('type eq "work" and primary eq true'))).toEqual({ type: 'work', primary: true });
    expect(equalities(parseFilter('value eq "id-1"'))).toEqual({ value: 'id-1' });
  });

  it('canonicalises names and types with the attribute definition', () => {
    const emails = userDefinition().attribute('emails');
    expect(equalities(parseFilter('TYPE eq "work" and primary eq "True"'), emails)).toEqual({ type: 'work', primary: true });
  });

  it('gives undefined for filters that describe no single element', () => {
    expect(equalities(parseFilter('type eq "work" or type eq "home"'))).toBeUndefined();
    expect(equalities(parseFilter('type ne "work"'))).toBeUndefined();
    expect(equalities(parseFilter('type eq "work" and type eq "home"'))).toBeUndefined();
    expect(equalities(parseFilter('not (type eq "work")'))).toBeUndefined();
  });
});
