import SCIMMY from 'scimmy';
import { emailsOf } from '../membership/store';
import type { GroupProfile, GroupRecord, GroupRef, GroupSettings, Member, UserProfile, UserRecord } from '../membership/types';
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
  profile: Omit<GroupProfile, 'settings'>;
  /** The settings the Roster extension carried (those it did not name are absent). */
  settings: Partial<ScimGroupSettings>;
  memberIds: string[] | undefined;
}

/** The settings SCIM carries in the Roster group extension (a rule and a credit limit are the admin API's). */
export type ScimGroupSettings = Pick<GroupSettings, 'description' | 'color' | 'maxMembers' | 'visibility' | 'archived'>;

/** What a PATCH that removes an extension attribute leaves: its default. */
export const SCIM_SETTINGS_DEFAULTS: Readonly<ScimGroupSettings> = { description: null, color: null, maxMembers: null, visibility: 'private', archived: false };

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
  return {
    profile: {
      displayName,
      externalId: typeof coerced.externalId === 'string' ? coerced.externalId : null,
      attributes: {},
    },
    settings: settingsOfExtension(coerced[ROSTER_GROUP_SCHEMA]),
    memberIds: members === undefined || members === null ? undefined : memberIdsOf(members),
  };
}

/** The settings named in a (scimmy-validated) Roster extension object. */
function settingsOfExtension(ext: unknown): Partial<ScimGroupSettings> {
  if (!isPlainObject(ext)) return {};
  const out: Partial<ScimGroupSettings> = {};
  if (typeof ext.description === 'string') out.description = ext.description;
  if (typeof ext.color === 'string') out.color = ext.color;
  if (typeof ext.maxMembers === 'number') {
    if (!Number.isSafeInteger(ext.maxMembers) || ext.maxMembers < 0) throw Errors.invalidValue(`${ROSTER_GROUP_SCHEMA}:maxMembers must be a whole number, 0 or more (got ${ext.maxMembers})`);
    out.maxMembers = ext.maxMembers;
  }
  if (ext.visibility !== undefined) {
    if (ext.visibility !== 'private' && ext.visibility !== 'public') throw Errors.invalidValue(`${ROSTER_GROUP_SCHEMA}:visibility must be "private" or "public" (got ${JSON.stringify(ext.visibility)})`);
    out.visibility = ext.visibility;
  }
  if (typeof ext.archived === 'boolean') out.archived = ext.archived;
  if (out.color !== undefined && out.color !== null && out.color.length > 20) throw Errors.invalidValue(`${ROSTER_GROUP_SCHEMA}:color is longer than 20 characters`);
  return out;
}

/**
 * The Roster extension of a group's resource: present when any setting differs from its default,
 * and then with visibility and archived always said.
 */
function extensionOf(s: GroupSettings): Record<string, unknown> | undefined {
  const d = SCIM_SETTINGS_DEFAULTS;
  if (s.description === d.description && s.color === d.color && s.maxMembers === d.maxMembers && s.visibility === d.visibility && s.archived === d.archived) return undefined;
  return {
    ...(s.description !== null ? { description: s.description } : {}),
    ...(s.color !== null ? { color: s.color } : {}),
    ...(s.maxMembers !== null ? { maxMembers: s.maxMembers } : {}),
    visibility: s.visibility,
    archived: s.archived,
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
  const ext = extensionOf(group.settings);
  return { displayName: group.displayName, ...(group.externalId !== null ? { externalId: group.externalId } : {}), ...group.attributes, ...(ext ? { [ROSTER_GROUP_SCHEMA]: ext } : {}) };
}

export function renderGroup(group: GroupRecord, members: Member[] | undefined, base: string): Record<string, unknown> {
  const ext = extensionOf(group.settings);
  return {
    schemas: ext ? [GROUP_SCHEMA, ROSTER_GROUP_SCHEMA] : [GROUP_SCHEMA],
    id: group.id,
    ...(group.externalId !== null ? { externalId: group.externalId } : {}),
    displayName: group.displayName,
    ...(members ? { members: members.map((m) => renderMember(m, base)) } : {}),
    ...group.attributes,
    ...(ext ? { [ROSTER_GROUP_SCHEMA]: ext } : {}),
    meta: {
      resourceType: 'Group',
      created: group.createdAt,
      lastModified: group.updatedAt,
      location: `${base}/Groups/${group.id}`,
      version: etagOf(group.version),
    },
  };
}
