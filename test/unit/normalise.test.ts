import { normaliseObject } from '../../src/scim/normalise';
import { userDefinition, groupDefinition, ENTERPRISE_USER_SCHEMA, ROSTER_GROUP_SCHEMA } from '../../src/scim/schemas';

describe('IdP-quirk normaliser', () => {
  it('turns string booleans into booleans where the schema says boolean, and only there', () => {
    const out = normaliseObject({ userName: 'True', active: 'False', emails: [{ value: 'a@b.c', primary: 'TRUE' }] }, userDefinition());
    expect(out).toEqual({ userName: 'True', active: false, emails: [{ value: 'a@b.c', primary: true }] });
  });

  it('leaves a string that is not a boolean for the validator to reject', () => {
    expect(normaliseObject({ active: 'yes' }, userDefinition())).toEqual({ active: 'yes' });
  });

  it('wraps Entra’s bare-string manager as { value }', () => {
    const out = normaliseObject({ [ENTERPRISE_USER_SCHEMA]: { manager: 'boss-id' } }, userDefinition());
    expect(out).toEqual({ [ENTERPRISE_USER_SCHEMA]: { manager: { value: 'boss-id' } } });
  });

  it('canonicalises attribute names written in another case', () => {
    const out = normaliseObject({ UserName: 'x', Name: { FamilyName: 'Y' }, [ENTERPRISE_USER_SCHEMA.toUpperCase()]: { Department: 'Sales' } }, userDefinition());
    expect(out).toEqual({ userName: 'x', name: { familyName: 'Y' }, [ENTERPRISE_USER_SCHEMA]: { department: 'Sales' } });
  });

  it('makes a single object a list where the attribute is multi-valued', () => {
    expect(normaliseObject({ emails: { value: 'a@b.c' } }, userDefinition())).toEqual({ emails: [{ value: 'a@b.c' }] });
  });

  it('turns numeric strings into integers for integer attributes', () => {
    const out = normaliseObject({ [ROSTER_GROUP_SCHEMA]: { maxMembers: '25', archived: 'false' } }, groupDefinition());
    expect(out).toEqual({ [ROSTER_GROUP_SCHEMA]: { maxMembers: 25, archived: false } });
  });

  it('drops prototype-polluting keys', () => {
    const out = normaliseObject(JSON.parse('{"userName":"x","__proto__":{"admin":true}}') as Record<string, unknown>, userDefinition());
    expect(out).toEqual({ userName: 'x' });
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });
});
