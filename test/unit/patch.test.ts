import { applyPatch, planGroupPatch, readPatchOps, type PatchOperation } from '../../src/scim/patch';
import { memberIdsOf } from '../../src/scim/resources';
import { ENTERPRISE_USER_SCHEMA, groupDefinition, userDefinition } from '../../src/scim/schemas';

const user = () => ({
  userName: 'ada',
  name: { givenName: 'Ada', familyName: 'Byron' },
  emails: [
    { value: 'ada@work.example', type: 'work', primary: true },
    { value: 'ada@home.example', type: 'home' },
  ],
  [ENTERPRISE_USER_SCHEMA]: { department: 'Maths' },
});
const patch = (...ops: PatchOperation[]) => applyPatch(user(), ops, userDefinition());

describe('user PATCH (RFC 7644 §3.5.2)', () => {
  it('reads Entra’s capitalised ops and rejects an unknown op', () => {
    expect(readPatchOps({ Operations: [{ op: 'Replace', path: 'active', value: 'False' }] })).toEqual([{ op: 'replace', path: 'active', value: 'False' }]);
    expect(() => readPatchOps({ Operations: [{ op: 'merge', path: 'active', value: true }] })).toThrow(/add, replace or remove/);
    expect(() => readPatchOps({ Operations: [{ op: 'add', path: 'title' }] })).toThrow(/needs a "value"/);
    expect(() => readPatchOps({ schemas: ['urn:wrong'], Operations: [] })).toThrow(/PatchOp/);
  });

  it('merges sub-attributes on replace of a complex attribute, leaving the others', () => {
    expect(patch({ op: 'replace', path: 'name', value: { familyName: 'Lovelace' } }).name).toEqual({ givenName: 'Ada', familyName: 'Lovelace' });
  });

  it('appends to a multi-valued attribute on add, keeping one primary', () => {
    const out = patch({ op: 'add', path: 'emails', value: [{ value: 'ada@new.example', type: 'other', primary: true }] });
    expect(out.emails).toEqual([
      { value: 'ada@work.example', type: 'work', primary: false },
      { value: 'ada@home.example', type: 'home' },
      { value: 'ada@new.example', type: 'other', primary: true },
    ]);
  });

  it('replaces the whole list on replace of a multi-valued attribute', () => {
    expect(patch({ op: 'replace', path: 'emails', value: [{ value: 'only@example.com' }] }).emails).toEqual([{ value: 'only@example.com' }]);
  });

  it('removes only the elements a value filter selects, or one sub-attribute of them', () => {
    expect(patch({ op: 'remove', path: 'emails[type eq "home"]' }).emails).toEqual([{ value: 'ada@work.example', type: 'work', primary: true }]);
    expect(patch({ op: 'remove', path: 'emails[type eq "work"].primary' }).emails).toEqual([
      { value: 'ada@work.example', type: 'work' },
      { value: 'ada@home.example', type: 'home' },
    ]);
  });

  it('applies a path-less add whose keys are URN-qualified attributes (Entra) or extension objects', () => {
    const out = patch({
      op: 'add',
      value: { [`${ENTERPRISE_USER_SCHEMA}:employeeNumber`]: '42', [ENTERPRISE_USER_SCHEMA]: { costCenter: 'CC1' }, displayName: 'Ada L.' },
    });
    expect(out[ENTERPRISE_USER_SCHEMA]).toEqual({ department: 'Maths', employeeNumber: '42', costCenter: 'CC1' });
    expect(out.displayName).toBe('Ada L.');
  });

  it('removes an extension attribute, and the extension once it is empty', () => {
    const out = patch({ op: 'remove', path: `${ENTERPRISE_USER_SCHEMA}:department` });
    expect(out).not.toHaveProperty(ENTERPRISE_USER_SCHEMA);
  });

  it('applies a path naming a whole extension', () => {
    expect(patch({ op: 'replace', path: ENTERPRISE_USER_SCHEMA, value: { division: 'R&D' } })[ENTERPRISE_USER_SCHEMA]).toEqual({
      department: 'Maths',
      division: 'R&D',
    });
  });

  it('refuses read-only attributes, a remove without path, and a filter on a single-valued attribute', () => {
    expect(() => patch({ op: 'add', path: 'groups', value: [{ value: 'g1' }] })).toThrow(/read-only/);
    expect(() => patch({ op: 'remove' })).toThrow(/needs a "path"/);
    expect(() => patch({ op: 'replace', path: 'name[givenName eq "Ada"]', value: {} })).toThrow(/not multi-valued/);
  });

  it('answers noTarget when a filtered path matches nothing and does not describe an element', () => {
    expect(() => patch({ op: 'replace', path: 'emails[value co "zzz"].type', value: 'work' })).toThrow(/No value of "emails"/);
  });

  it('leaves id and meta alone when a client sends them', () => {
    expect(patch({ op: 'replace', value: { id: 'other', meta: {}, displayName: 'A' } })).toEqual({ ...user(), displayName: 'A' });
  });
});

describe('group PATCH planning', () => {
  const plan = (...ops: PatchOperation[]) => planGroupPatch(ops, memberIdsOf);

  it('turns member operations into deltas, never touching the other members', () => {
    expect(
      plan(
        { op: 'add', path: 'members', value: [{ value: 'a' }, { value: 'b' }] },
        { op: 'remove', path: 'members', value: [{ value: 'a' }] },
        { op: 'remove', path: 'members[value eq "b" or value eq "c"]' },
        { op: 'replace', path: 'members', value: [{ value: 'd' }] },
        { op: 'remove', path: 'members' },
      ).memberSteps,
    ).toEqual([
      { kind: 'addMembers', userIds: ['a', 'b'] },
      { kind: 'removeMembers', userIds: ['a'] },
      { kind: 'removeMembers', userIds: ['b', 'c'] },
      { kind: 'replaceMembers', userIds: ['d'] },
      { kind: 'removeAllMembers' },
    ]);
  });

  it('splits a path-less replace into a rename and a member replace (Okta)', () => {
    const p = plan({ op: 'replace', value: { id: 'g1', displayName: 'New', members: [{ value: 'a' }] } });
    expect(p.memberSteps).toEqual([{ kind: 'replaceMembers', userIds: ['a'] }]);
    expect(applyPatch({ displayName: 'Old' }, p.attributeOps, groupDefinition())).toEqual({ displayName: 'New' });
  });

  it('refuses member filters other than value eq, and groups as members', () => {
    expect(() => plan({ op: 'remove', path: 'members[display eq "x"]' })).toThrow(/value eq/);
    expect(() => plan({ op: 'add', path: 'members', value: [{ value: 'g', type: 'Group' }] })).toThrow(/Groups as members/);
  });
});
