import { parseFilter, parsePatchPath, type Filter } from '../../src/scim/filter';
import { errorOf } from '../helpers/filter-error';

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

/** A compact rendering of the tree, so precedence is visible in one string. */
function show(f: Filter): string {
  switch (f.kind) {
    case 'compare':
      return `${path(f.path)} ${f.op} ${JSON.stringify(f.value)}`;
    case 'present':
      return `${path(f.path)} pr`;
    case 'and':
    case 'or':
      return `(${show(f.left)} ${f.kind} ${show(f.right)})`;
    case 'not':
      return `not ${show(f.expr)}`;
    case 'valuePath':
      return `${path(f.path)}[${show(f.filter)}]`;
  }
}

function path(p: { schema?: string; attribute: string; subAttribute?: string }): string {
  return `${p.schema ? `${p.schema}:` : ''}${p.attribute}${p.subAttribute ? `.${p.subAttribute}` : ''}`;
}

const parsed = (filter: string): string => show(parseFilter(filter));

describe('parseFilter', () => {
  it('parses every comparison operator and pr', () => {
    for (const op of ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le']) {
      expect(parseFilter(`userName ${op} "a"`)).toEqual({ kind: 'compare', path: { attribute: 'userName' }, op, value: 'a' });
    }
    expect(parseFilter('title pr')).toEqual({ kind: 'present', path: { attribute: 'title' } });
  });

  it('reads operators and keywords case-insensitively', () => {
    expect(parsed('userName EQ "a" And title Pr OR NOT (active Eq TRUE)')).toBe(
      '((userName eq "a" and title pr) or not active eq true)',
    );
  });

  it('binds and tighter than or', () => {
    expect(parsed('a eq 1 or b eq 2 and c eq 3')).toBe('(a eq 1 or (b eq 2 and c eq 3))');
    expect(parsed('a eq 1 and b eq 2 or c eq 3')).toBe('((a eq 1 and b eq 2) or c eq 3)');
  });

  it('keeps all three clauses of (A or B) and C', () => {
    expect(parsed('(userName eq "a" or userName eq "b") and active eq true')).toBe(
      '((userName eq "a" or userName eq "b") and active eq true)',
    );
  });

  it('negates the whole group in not (A or B)', () => {
    expect(parseFilter('not (userName eq "a" or userName eq "b")')).toEqual({
      kind: 'not',
      expr: {
        kind: 'or',
        left: { kind: 'compare', path: { attribute: 'userName' }, op: 'eq', value: 'a' },
        right: { kind: 'compare', path: { attribute: 'userName' }, op: 'eq', value: 'b' },
      },
    });
  });

  it('binds not tighter than and', () => {
    expect(parsed('not (a pr) and b pr')).toBe('(not a pr and b pr)');
  });

  it('parses nested parentheses', () => {
    expect(parsed('((a pr or (b pr and not (c pr))))')).toBe('(a pr or (b pr and not c pr))');
  });

  it('decodes JSON string escapes including \\"', () => {
    const f = parseFilter(String.raw`displayName eq "say \"hi\" \\ \/ \u00e9\t\n\b\f\r"`);
    expect(f).toMatchObject({ value: 'say "hi" \\ / é\t\n\b\f\r' });
  });

  it('keeps parentheses and keywords inside strings as text', () => {
    expect(parseFilter('displayName eq "a) or (b and not ["')).toMatchObject({ value: 'a) or (b and not [' });
  });

  it('parses numbers, booleans and null', () => {
    expect(parseFilter('x eq 42')).toMatchObject({ value: 42 });
    expect(parseFilter('x eq -1.5e3')).toMatchObject({ value: -1500 });
    expect(parseFilter('x eq 0.25')).toMatchObject({ value: 0.25 });
    expect(parseFilter('x eq true')).toMatchObject({ value: true });
    expect(parseFilter('x eq False')).toMatchObject({ value: false });
    expect(parseFilter('x eq null')).toMatchObject({ value: null });
  });

  it('parses sub-attribute and URN-prefixed paths', () => {
    expect(parseFilter('name.givenName eq "B"')).toMatchObject({ path: { attribute: 'name', subAttribute: 'givenName' } });
    expect(parseFilter(`${ENT}:department eq "Sales"`)).toMatchObject({ path: { schema: ENT, attribute: 'department' } });
    expect(parseFilter('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a"')).toMatchObject({
      path: { schema: 'urn:ietf:params:scim:schemas:core:2.0:User', attribute: 'userName' },
    });
    expect(parseFilter(`${ENT}:manager.value eq "m1"`)).toMatchObject({
      path: { schema: ENT, attribute: 'manager', subAttribute: 'value' },
    });
    expect(parseFilter('members.$ref pr')).toMatchObject({ path: { attribute: 'members', subAttribute: '$ref' } });
  });

  it('parses a value path as one filter on an element', () => {
    expect(parsed('emails[type eq "work" and value co "@"]')).toBe('emails[(type eq "work" and value co "@")]');
    expect(parsed('emails[not (type eq "work") or primary eq true]')).toBe('emails[(not type eq "work" or primary eq true)]');
  });

  it('reads emails[type eq "work"].value eq "x" as one element with both properties', () => {
    expect(parseFilter('emails[type eq "work"].value eq "a@b.c"')).toEqual({
      kind: 'valuePath',
      path: { attribute: 'emails' },
      filter: {
        kind: 'and',
        left: { kind: 'compare', path: { attribute: 'type' }, op: 'eq', value: 'work' },
        right: { kind: 'compare', path: { attribute: 'value' }, op: 'eq', value: 'a@b.c' },
      },
    });
    expect(parsed('emails[type eq "work"].value pr and active eq true')).toBe(
      '(emails[(type eq "work" and value pr)] and active eq true)',
    );
  });

  it('accepts value paths combined with logic and parentheses', () => {
    expect(parsed('(emails[type eq "work"] or phoneNumbers[type eq "mobile"]) and not (emails[primary eq true])')).toBe(
      '((emails[type eq "work"] or phoneNumbers[type eq "mobile"]) and not emails[primary eq true])',
    );
  });

  it('takes an unquoted word as a string value, as Microsoft’s SCIM tests send, but never a keyword', () => {
    expect(parseFilter('userName sw O')).toEqual({ kind: 'compare', path: { attribute: 'userName' }, op: 'sw', value: 'O' });
    expect(parseFilter('meta.created gt 2015-10-10T14:38:21.8617979-07:00')).toMatchObject({ value: '2015-10-10T14:38:21.8617979-07:00' });
    expect(parsed('name.familyName eq Employee and (emails.value co example.com or emails.value co example.org)')).toBe(
      '(name.familyName eq "Employee" and (emails.value co "example.com" or emails.value co "example.org"))',
    );
  });

  describe('rejects with a FilterError', () => {
    it.each([
      ['a missing value', 'userName eq', /missing value after 'eq'/],
      ['a keyword where the value belongs', 'userName eq and title pr', /missing value after 'eq'.*'and'/],
      ['an unknown operator', 'userName eqq "a"', /unknown operator 'eqq'/],
      ['a missing operator', 'userName', /missing operator/],
      ['an unclosed parenthesis', '(userName eq "a"', /unbalanced parentheses/],
      ['an extra closing parenthesis', 'userName eq "a")', /unbalanced parentheses/],
      ['an unclosed bracket', 'emails[type eq "work"', /unbalanced brackets/],
      ['an extra closing bracket', 'userName eq "a"]', /unbalanced brackets/],
      ['trailing junk', 'userName eq "a" junk', /unexpected 'junk'/],
      ['two expressions without a logical operator', 'userName eq "a" title pr', /unexpected 'title'/],
      ['an empty filter', '', /empty/],
      ['a blank filter', '   ', /empty/],
      ['pr with a value', 'title pr "x"', /'pr' takes no value/],
      ['pr with a number', 'title pr 1', /'pr' takes no value/],
      ['not without parentheses', 'not userName eq "a"', /'not' must be followed by '\('/],
      ['a dangling and', 'userName eq "a" and', /end of filter/],
      ['a leading or', 'or userName eq "a"', /expected an expression/],
      ['an unterminated string', 'userName eq "abc', /unterminated string/],
      ['an invalid escape', String.raw`userName eq "a\qb"`, /invalid escape/],
      ['a bad \\u escape', String.raw`userName eq "\u12"`, /invalid \\u escape/],
      ['an invalid attribute name', 'user*name eq "a"', /invalid attribute path/],
      ['a three-part path', 'a.b.c eq "a"', /invalid attribute path/],
      ['nested value paths', 'emails[type[x eq 1] eq "a"]', /cannot be nested/],
      ['an empty value filter', 'emails[] pr', /empty value filter/],
      ['a sub-attribute before a bracket', 'name.givenName[x eq 1]', /plain attribute/],
      ['empty parentheses', '()', /expected an attribute name/],
    ])('%s', (_label, filter, message) => {
      expect(errorOf(() => parseFilter(filter)).message).toMatch(message);
    });

    it('names the position of the problem', () => {
      expect(errorOf(() => parseFilter('userName eq "a" and title zz "b"')).message).toMatch(/position 27/);
    });

    it('uses scimType invalidFilter', () => {
      expect(errorOf(() => parseFilter('userName eq')).scimType).toBe('invalidFilter');
    });

    it('for a filter longer than 10,000 characters', () => {
      const long = `displayName eq "${'x'.repeat(10_000)}"`;
      expect(errorOf(() => parseFilter(long)).message).toMatch(/longer than 10000/);
    });

    it('for nesting deeper than 50 levels, without overflowing the stack', () => {
      expect(() => parseFilter(`${'('.repeat(50)}a pr${')'.repeat(50)}`)).not.toThrow();
      expect(errorOf(() => parseFilter(`${'('.repeat(51)}a pr${')'.repeat(51)}`)).message).toMatch(/deeper than 50/);
      expect(errorOf(() => parseFilter(`${'not ('.repeat(60)}a pr${')'.repeat(60)}`)).message).toMatch(/deeper than 50/);
      expect(errorOf(() => parseFilter('('.repeat(4000))).message).toMatch(/deeper than 50/);
    });
  });

  it('parses a long flat or-chain without recursion trouble', () => {
    const ids = Array.from({ length: 300 }, (_, i) => `id eq "${i}"`).join(' or ');
    expect(ids.length).toBeLessThan(10_000);
    expect(() => parseFilter(ids)).not.toThrow();
  });
});

describe('parsePatchPath', () => {
  it('parses a plain attribute', () => {
    expect(parsePatchPath('displayName')).toEqual({ raw: 'displayName', attribute: 'displayName' });
  });

  it('parses a sub-attribute path', () => {
    expect(parsePatchPath('name.familyName')).toEqual({ raw: 'name.familyName', attribute: 'name', subAttribute: 'familyName' });
  });

  it('parses URN-prefixed extension paths', () => {
    expect(parsePatchPath(`${ENT}:manager`)).toMatchObject({ schema: ENT, attribute: 'manager' });
    expect(parsePatchPath(`${ENT}:manager.value`)).toMatchObject({ schema: ENT, attribute: 'manager', subAttribute: 'value' });
    expect(parsePatchPath(`${ENT}:employeeNumber`)).toMatchObject({ schema: ENT, attribute: 'employeeNumber' });
  });

  it('parses a value path', () => {
    const p = parsePatchPath('members[value eq "2819c223"]');
    expect(p.attribute).toBe('members');
    expect(p.subAttribute).toBeUndefined();
    expect(p.filter).toEqual({ kind: 'compare', path: { attribute: 'value' }, op: 'eq', value: '2819c223' });
  });

  it('parses a value path followed by a sub-attribute', () => {
    const p = parsePatchPath('emails[type eq "work"].value');
    expect(p).toMatchObject({ attribute: 'emails', subAttribute: 'value' });
    expect(p.filter).toEqual({ kind: 'compare', path: { attribute: 'type' }, op: 'eq', value: 'work' });
  });

  it('parses a value path with or inside the brackets', () => {
    const p = parsePatchPath('members[value eq "a" or value eq "b"]');
    expect(p.filter?.kind).toBe('or');
  });

  it.each([
    ['an empty path', ''],
    ['a filter instead of a path', 'userName eq "a"'],
    ['junk after the path', 'name.familyName x'],
    ['an unclosed bracket', 'emails[type eq "work"'],
    ['junk after the bracket', 'emails[type eq "work"]x'],
    ['a space before the sub-attribute', 'emails[type eq "work"] .value'],
    ['two sub-attributes after the bracket', 'emails[type eq "work"].value.x'],
    ['a bad filter inside the brackets', 'emails[type eq]'],
    ['a three-part path', 'name.familyName.x'],
  ])('rejects %s with FilterError invalidPath', (_label, input) => {
    const err = errorOf(() => parsePatchPath(input));
    expect(err.scimType).toBe('invalidPath');
  });
});
