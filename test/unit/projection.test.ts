import { parseProjection, project, wants } from '../../src/scim/projection';
import { userDefinition, ENTERPRISE_USER_SCHEMA, USER_SCHEMA } from '../../src/scim/schemas';

const user = {
  schemas: [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
  id: 'u1',
  userName: 'ada',
  name: { givenName: 'Ada', familyName: 'Lovelace' },
  emails: [
    { value: 'ada@work', type: 'work' },
    { value: 'ada@home', type: 'home' },
  ],
  groups: [{ value: 'g1' }],
  [ENTERPRISE_USER_SCHEMA]: { department: 'Maths', costCenter: '42' },
  meta: { resourceType: 'User' },
};

describe('attributes and excludedAttributes', () => {
  const p = (a?: string, e?: string) => parseProjection(userDefinition(), a, e);

  it('returns id and schemas always, plus what was asked, sub-attributes and extension attributes included', () => {
    expect(project(user, p('userName,name.familyName,emails.value,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department'), userDefinition())).toEqual({
      schemas: user.schemas,
      id: 'u1',
      userName: 'ada',
      name: { familyName: 'Lovelace' },
      emails: [{ value: 'ada@work' }, { value: 'ada@home' }],
      [ENTERPRISE_USER_SCHEMA]: { department: 'Maths' },
    });
  });

  it('matches attribute names in any case', () => {
    expect(project(user, p('USERNAME'), userDefinition())).toEqual({ schemas: user.schemas, id: 'u1', userName: 'ada' });
  });

  it('excludes what was asked, but never id', () => {
    const out = project(user, p(undefined, 'groups,id,name.givenName,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'), userDefinition());
    expect(out).not.toHaveProperty('groups');
    expect(out).not.toHaveProperty(ENTERPRISE_USER_SCHEMA);
    expect(out.id).toBe('u1');
    expect(out.name).toEqual({ familyName: 'Lovelace' });
  });

  it('takes a filtered attribute as the whole attribute, and ignores unknown ones', () => {
    expect(project(user, p('emails[type eq "work"],nosuch'), userDefinition())).toEqual({ schemas: user.schemas, id: 'u1', emails: user.emails });
  });

  it('tells whether a costly attribute will be returned', () => {
    expect(wants(p(), 'groups')).toBe(true);
    expect(wants(p(undefined, 'groups'), 'groups')).toBe(false);
    expect(wants(p('userName'), 'groups')).toBe(false);
    expect(wants(p('groups.value'), 'groups')).toBe(true);
  });
});
