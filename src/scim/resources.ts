import SCIMMY from 'scimmy';
import { emailsOf } from '../membership/store';
import type { GroupProfile, GroupRecord, GroupRef, Member, UserProfile, UserRecord } from '../membership/types';
import { coerceInbound } from './coerce';
import { Errors } from './errors';
import { isPlainObject, normaliseObject } from './normalise';
import { ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, ROSTER_GROUP_SCHEMA, USER_SCHEMA, groupDefinition, userDefinition } from './schemas';

/** Attributes the server owns: never taken from a request body, never stored in `attributes`. */
const SERVER_OWNED = ['schemas', 'id', 'meta', 'groups', 'members', 'password'];

export const etagOf = (version: number): string => `W/"${version}"`;

/**
 * Validation of an inbound body against scimmy's schema: types, required attributes, canonical
 * values; unknown attributes dropped. The compiled coercion answers the bodies it knows to handle as
 * scimmy does; scimmy itself takes the rest.
 */
function validate(schema: typeof SCIMMY.Schemas.User | typeof SCIMMY.Schemas.Group, body: Record<string, unknown>): Record<string, unknown> {
  return coerceInbound(schema.definition, body) ?? scimmyInbound(schema, body);
}

/** scimmy's own inbound coercion (the reference the compiled one is tested against). */
export function scimmyInbound(schema: typeof SCIMMY.Schemas.User | typeof SCIMMY.Schemas.Group, body: Record<string, unknown>): Record<string, unknown> {
  try {
    return JSON.parse(JSON.stringify(new schema(body, 'in'))) as Record<string, unknown>;
  } catch (err) {
    throw Errors.invalidValue((err as Error).message);
  }
}

/** Validates a User body with scimmy (after the IdP-quirk normaliser) and returns what the store keeps. */
export function userProfileFromScim(body: unknown): UserProfile {
  if (!isPlainObject(body)) throw Errors.invalidSyntax('The request body must be a JSON object');
  const coerced = validate(SCIMMY.Schemas.User, normaliseObject(body, userDefinition()));
  const userName = coerced.userName;
  if (typeof userName !== 'string' || !userName.trim()) throw Errors.invalidValue('userName is required and must be a non-empty string');
  const attributes: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(coerced)) if (!SERVER_OWNED.includes(k)) attributes[k] = v;
  const ext = isPlainObject(attributes[ENTERPRISE_USER_SCHEMA]) ? (attributes[ENTERPRISE_USER_SCHEMA]) : {};
  if (!Object.keys(ext).length) delete attributes[ENTERPRISE_USER_SCHEMA];
  const manager = isPlainObject(ext.manager) ? ext.manager : undefined;
  return {
    userName,
    externalId: typeof coerced.externalId === 'string' ? coerced.externalId : null,
    displayName: typeof coerced.displayName === 'string' ? coerced.displayName : null,
    active: coerced.active !== false,
    emails: emailsOf(coerced.emails),
    department: typeof ext.department === 'string' ? ext.department : null,
    employeeNumber: typeof ext.employeeNumber === 'string' ? ext.employeeNumber : null,
    managerId: manager && typeof manager.value === 'string' ? manager.value : null,
    attributes: { ...attributes, active: coerced.active !== false },
  };
}

/** The SCIM User resource as the store holds it (no id, meta or groups): the starting point of a PATCH. */
export function userResource(user: UserRecord): Record<string, unknown> {
  return { ...user.attributes, userName: user.userName, active: user.active };
}

export function renderUser(user: UserRecord, groups: GroupRef[] | undefined, base: string): Record<string, unknown> {
  const { userName, externalId, ...rest } = user.attributes;
  void userName;
  void externalId;
  return {
    schemas: user.attributes[ENTERPRISE_USER_SCHEMA] ? [USER_SCHEMA, ENTERPRISE_USER_SCHEMA] : [USER_SCHEMA],
    id: user.id,
    ...(user.externalId !== null ? { externalId: user.externalId } : {}),
    userName: user.userName,
    ...rest,
    active: user.active,
    ...(groups ? { groups: groups.map((g) => ({ value: g.id, $ref: `${base}/Groups/${g.id}`, display: g.displayName, type: 'direct' })) } : {}),
    meta: {
      resourceType: 'User',
      created: user.createdAt,
      lastModified: user.updatedAt,
      location: `${base}/Users/${user.id}`,
      version: etagOf(user.version),
    },
  };
}

export interface GroupInput {
  profile: GroupProfile;
  memberIds: string[] | undefined;
}

export const renderMember = (m: Member, base: string) => ({ value: m.userId, $ref: `${base}/Users/${m.userId}`, display: m.displayName ?? m.userName, type: 'User' });

/** Validates a Group body; members are checked here, not by scimmy, so a 100,000-member PUT stays cheap. */
export function groupFromScim(body: unknown): GroupInput {
  if (!isPlainObject(body)) throw Errors.invalidSyntax('The request body must be a JSON object');
  // Members are taken as sent (memberIdsOf reads every shape): normalising 100,000 of them would copy each.
  const membersKey = Object.keys(body).find((k) => k.toLowerCase() === 'members');
  const { [membersKey ?? 'members']: members, ...others } = body;
  const coerced = validate(SCIMMY.Schemas.Group, normaliseObject(others, groupDefinition()));
  const displayName = coerced.displayName;
  if (typeof displayName !== 'string' || !displayName.trim()) throw Errors.invalidValue('displayName is required and must be a non-empty string');
  const attributes: Record<string, unknown> = {};
  const ext = coerced[ROSTER_GROUP_SCHEMA];
  if (isPlainObject(ext) && Object.keys(ext).length) attributes[ROSTER_GROUP_SCHEMA] = ext;
  return {
    profile: {
      displayName,
      externalId: typeof coerced.externalId === 'string' ? coerced.externalId : null,
      attributes,
    },
    memberIds: members === undefined || members === null ? undefined : memberIdsOf(members),
  };
}

/** Member references from a SCIM value: [{ value }], a single { value }, or bare id strings; sub-attribute names in any case. */
export function memberIdsOf(value: unknown): string[] {
  const list = Array.isArray(value) ? value : [value];
  const sub = (m: Record<string, unknown>, name: string): unknown => (name in m ? m[name] : m[Object.keys(m).find((k) => k.toLowerCase() === name) ?? name]);
  return list.map((m) => {
    if (typeof m === 'string' && m.trim()) return m.trim();
    if (isPlainObject(m)) {
      const type = sub(m, 'type');
      const id = sub(m, 'value');
      if (typeof type === 'string' && type.toLowerCase() === 'group') throw Errors.invalidValue('Groups as members of groups are not supported');
      if (typeof id === 'string' && id.trim()) return id.trim();
    }
    throw Errors.invalidValue(`A member must be { "value": "<user id>" }; got ${JSON.stringify(m)?.slice(0, 100)}`);
  });
}

/** The Group resource without members (PATCH applies attribute operations to this). */
export function groupResource(group: GroupProfile): Record<string, unknown> {
  return { displayName: group.displayName, ...(group.externalId !== null ? { externalId: group.externalId } : {}), ...group.attributes };
}

export function renderGroup(group: GroupRecord, members: Member[] | undefined, base: string): Record<string, unknown> {
  return {
    schemas: group.attributes[ROSTER_GROUP_SCHEMA] ? [GROUP_SCHEMA, ROSTER_GROUP_SCHEMA] : [GROUP_SCHEMA],
    id: group.id,
    ...(group.externalId !== null ? { externalId: group.externalId } : {}),
    displayName: group.displayName,
    ...(members ? { members: members.map((m) => renderMember(m, base)) } : {}),
    ...group.attributes,
    meta: {
      resourceType: 'Group',
      created: group.createdAt,
      lastModified: group.updatedAt,
      location: `${base}/Groups/${group.id}`,
      version: etagOf(group.version),
    },
  };
}
