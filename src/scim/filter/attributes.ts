// Resolves filter and sort paths against the scimmy schema definitions (names are case-insensitive in
// SCIM) and says where each attribute lives: a column, the `data` JSON, a child table or a constant.
import type SCIMMY from 'scimmy';
import { definitionFor, ENTERPRISE_USER_SCHEMA, ROSTER_GROUP_SCHEMA, type ResourceType } from '../schemas';
import { FilterError, UnknownAttributeError, type AttrPath, type Filter } from './parse';

export type Attribute = SCIMMY.Types.Attribute;
export type AttributeType = Attribute['type'];
type SchemaDefinition = SCIMMY.Types.SchemaDefinition;

/** A path resolved to canonical schema names. */
export interface ResolvedPath {
  resource: ResourceType;
  /** Canonical URN of the schema that declares the attribute (core or extension). */
  schema: string;
  extension: boolean;
  attribute: Attribute;
  sub?: Attribute;
  /** Canonical name for messages: `emails.value`, `urn:…:enterprise:2.0:User:manager.value`. */
  name: string;
}

/** Where one value lives. Table names are the aliases the SQL compiler uses. */
export type Field =
  | {
      kind: 'column';
      table: 'users' | 'groups' | 'e' | 'm' | 'mu' | 'mg';
      column: string;
      /** The column holds the lower-cased value (user_name_lc, value_lc, display_name_lc). */
      lowerCased: boolean;
      nullable: boolean;
    }
  | { kind: 'json'; doc: 'row' | 'element'; path: string[] }
  | { kind: 'constant'; value: string }
  | { kind: 'unfilterable'; reason: string };

/** The elements of a multi-valued attribute. */
export type ElementSource =
  | { kind: 'emails' } // user_emails as e
  | { kind: 'members' } // memberships as m (users as mu for display)
  | { kind: 'groups' } // memberships as m (groups as mg for display)
  | { kind: 'json'; path: string[] }; // an array in the row's data

export type Storage =
  | { kind: 'single'; field: Field }
  /** A single-valued complex attribute addressed without a sub-attribute (`name pr`). */
  | { kind: 'complex'; subs: ResolvedPath[] }
  | { kind: 'multi'; source: ElementSource };

const isSchemaDefinition = (a: Attribute | SchemaDefinition): a is SchemaDefinition =>
  Array.isArray((a as SchemaDefinition).attributes) && typeof (a as SchemaDefinition).id === 'string';

function schemasOf(resource: ResourceType): { core: SchemaDefinition; extensions: SchemaDefinition[] } {
  const core = definitionFor(resource);
  const extensions = (core.attributes as Array<Attribute | SchemaDefinition>).filter(isSchemaDefinition);
  return { core, extensions };
}

const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

function findAttribute(list: ReadonlyArray<Attribute | SchemaDefinition>, name: string): Attribute | undefined {
  return list.find((a): a is Attribute => !isSchemaDefinition(a) && same(a.name, name));
}

export function displayPath(path: AttrPath): string {
  return `${path.schema ? `${path.schema}:` : ''}${path.attribute}${path.subAttribute ? `.${path.subAttribute}` : ''}`;
}

/** Resolves `[schema:]attr[.sub]` for a resource type; unknown names are a FilterError. */
export function resolvePath(resource: ResourceType, path: AttrPath): ResolvedPath {
  const { core, extensions } = schemasOf(resource);
  let schema: SchemaDefinition = core;
  if (path.schema !== undefined) {
    const found = [core, ...extensions].find((s) => same(s.id, path.schema as string));
    if (!found) throw new UnknownAttributeError(`unknown schema '${path.schema}' in attribute '${displayPath(path)}'`);
    schema = found;
  }
  const attribute = findAttribute(schema.attributes, path.attribute);
  if (!attribute) throw new UnknownAttributeError(`unknown attribute '${displayPath(path)}' for ${resource}`);
  const extension = schema !== core;
  const prefix = extension ? `${schema.id}:` : '';
  const resolved: ResolvedPath = { resource, schema: schema.id, extension, attribute, name: `${prefix}${attribute.name}` };
  if (path.subAttribute !== undefined) {
    const sub = findSub(attribute, path.subAttribute);
    if (!sub) throw new UnknownAttributeError(`unknown attribute '${displayPath(path)}' for ${resource}`);
    resolved.sub = sub;
    resolved.name = `${resolved.name}.${sub.name}`;
  }
  return resolved;
}

function findSub(attribute: Attribute, name: string): Attribute | undefined {
  return attribute.subAttributes?.find((s) => same(s.name, name));
}

/** Resolves a path inside a value filter (`emails[type eq "work"]`): a sub-attribute of `parent`. */
export function resolveElementPath(parent: ResolvedPath, path: AttrPath): ResolvedPath {
  if (path.schema !== undefined || path.subAttribute !== undefined) {
    throw new FilterError(`'${displayPath(path)}' inside '${parent.name}[…]' must be a sub-attribute name`);
  }
  if (!parent.attribute.config.multiValued) {
    throw new FilterError(`'${parent.name}' is not multi-valued, so it takes no '[…]' filter`);
  }
  const sub = findSub(parent.attribute, path.attribute);
  if (!sub) throw new UnknownAttributeError(`unknown attribute '${parent.name}.${path.attribute}' for ${parent.resource}`);
  return { ...parent, sub, name: `${parent.name}.${sub.name}` };
}

/** Resolves the sub-attribute `name` of a resolved complex attribute (`emails` → `emails.value`). */
export function withSub(parent: ResolvedPath, name: string): ResolvedPath | undefined {
  const sub = findSub(parent.attribute, name);
  return sub ? { ...parent, sub, name: `${parent.name}.${sub.name}` } : undefined;
}

/** The definition the value is compared against: the sub-attribute if any. */
export const targetOf = (r: ResolvedPath): Attribute => r.sub ?? r.attribute;

/** `emails.value`, `members.value`: a multi-valued attribute compared through one of its elements. */
export const isMultiValued = (r: ResolvedPath): boolean => Boolean(r.attribute.config.multiValued);

/**
 * Case rules come from the schema, except ids: members.value and groups.value hold resource ids, which
 * are compared exactly like `id` (scimmy declares them caseExact: false).
 */
export function isCaseExact(r: ResolvedPath): boolean {
  if (r.sub && same(r.sub.name, 'value') && (same(r.attribute.name, 'members') || same(r.attribute.name, 'groups'))) {
    return true;
  }
  return Boolean(targetOf(r).config.caseExact);
}

const ENT = ENTERPRISE_USER_SCHEMA;
const ROSTER = ROSTER_GROUP_SCHEMA;

const col = (
  table: Extract<Field, { kind: 'column' }>['table'],
  column: string,
  options: { lowerCased?: boolean; nullable?: boolean } = {},
): Field => ({ kind: 'column', table, column, lowerCased: options.lowerCased ?? false, nullable: options.nullable ?? true });

const unfilterable = (reason: string): Field => ({ kind: 'unfilterable', reason });

/** Columns of the main tables, keyed by canonical name. */
const COLUMNS: Record<ResourceType, Record<string, Field>> = {
  User: {
    id: col('users', 'id', { nullable: false }),
    externalId: col('users', 'external_id'),
    userName: col('users', 'user_name_lc', { lowerCased: true, nullable: false }),
    displayName: col('users', 'display_name'),
    active: col('users', 'active', { nullable: false }),
    'meta.created': col('users', 'created_at', { nullable: false }),
    'meta.lastModified': col('users', 'updated_at', { nullable: false }),
    'meta.resourceType': { kind: 'constant', value: 'User' },
    'meta.location': unfilterable('meta.location cannot be used in a filter'),
    'meta.version': unfilterable('meta.version cannot be used in a filter'),
    [`${ENT}:department`]: col('users', 'department'),
    [`${ENT}:employeeNumber`]: col('users', 'employee_number'),
    [`${ENT}:manager.value`]: col('users', 'manager_id'),
  },
  Group: {
    id: col('groups', 'id', { nullable: false }),
    externalId: col('groups', 'external_id'),
    displayName: col('groups', 'display_name_lc', { lowerCased: true, nullable: false }),
    'meta.created': col('groups', 'created_at', { nullable: false }),
    'meta.lastModified': col('groups', 'updated_at', { nullable: false }),
    'meta.resourceType': { kind: 'constant', value: 'Group' },
    'meta.location': unfilterable('meta.location cannot be used in a filter'),
    'meta.version': unfilterable('meta.version cannot be used in a filter'),
    [`${ROSTER}:description`]: col('groups', 'description'),
    [`${ROSTER}:color`]: col('groups', 'color'),
    [`${ROSTER}:maxMembers`]: col('groups', 'max_members'),
    [`${ROSTER}:visibility`]: col('groups', 'visibility', { nullable: false }),
    [`${ROSTER}:archived`]: col('groups', 'archived', { nullable: false }),
  },
};

/** Where a resolved path is stored. */
export function storageOf(r: ResolvedPath): Storage {
  const attr = r.attribute;
  if (attr.config.returned === false || attr.config.returned === 'never') {
    return { kind: 'single', field: unfilterable(`${r.name} cannot be used in a filter`) };
  }
  if (attr.config.multiValued) {
    if (r.resource === 'User' && attr.name === 'emails' && !r.extension) return { kind: 'multi', source: { kind: 'emails' } };
    if (r.resource === 'User' && attr.name === 'groups' && !r.extension) return { kind: 'multi', source: { kind: 'groups' } };
    if (r.resource === 'Group' && attr.name === 'members' && !r.extension) return { kind: 'multi', source: { kind: 'members' } };
    return { kind: 'multi', source: { kind: 'json', path: jsonPath(r, attr) } };
  }
  if (attr.type === 'complex' && !r.sub) {
    const subs = (attr.subAttributes ?? []).map((s) => ({ ...r, sub: s, name: `${r.name}.${s.name}` }));
    return { kind: 'complex', subs };
  }
  const column = COLUMNS[r.resource][r.name];
  if (column) return { kind: 'single', field: column };
  if (same(attr.name, 'meta') && !r.extension) {
    return { kind: 'single', field: unfilterable(`${r.name} cannot be used in a filter`) };
  }
  return { kind: 'single', field: { kind: 'json', doc: 'row', path: jsonPath(r, attr, r.sub) } };
}

function jsonPath(r: ResolvedPath, attr: Attribute, sub?: Attribute): string[] {
  const path = r.extension ? [r.schema, attr.name] : [attr.name];
  if (sub) path.push(sub.name);
  return path;
}

/** Where a sub-attribute of one element lives (`sub` undefined: the element itself, for simple multi-valued). */
export function elementField(source: ElementSource, sub: Attribute | undefined): Field {
  const name = sub?.name;
  switch (source.kind) {
    case 'emails':
      if (name === 'value') return col('e', 'value_lc', { lowerCased: true, nullable: false });
      if (name === 'type') return col('e', 'type');
      if (name === 'primary') return col('e', 'primary', { nullable: false });
      return unfilterable(`emails.${name ?? ''} cannot be used in a filter`);
    case 'members':
      if (name === 'value') return col('m', 'user_id', { nullable: false });
      if (name === 'display') return col('mu', 'display_name');
      return unfilterable(`members.${name ?? ''} cannot be used in a filter`);
    case 'groups':
      if (name === 'value') return col('m', 'group_id', { nullable: false });
      if (name === 'display') return col('mg', 'display_name_lc', { lowerCased: true, nullable: false });
      return unfilterable(`groups.${name ?? ''} cannot be used in a filter`);
    case 'json':
      return { kind: 'json', doc: 'element', path: name === undefined ? [] : [name] };
  }
}

/** Reads a resolved path's value(s) from a SCIM JSON resource, matching keys case-insensitively. */
export function getKey(obj: unknown, key: string): unknown {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return undefined;
  const record = obj as Record<string, unknown>;
  if (key in record) return record[key];
  const lower = key.toLowerCase();
  for (const k of Object.keys(record)) if (k.toLowerCase() === lower) return record[k];
  return undefined;
}

/** The top-level attribute's value in a resource (extension attributes under their URN key). */
export function attributeValue(resource: unknown, r: ResolvedPath): unknown {
  const holder = r.extension ? getKey(resource, r.schema) : resource;
  return getKey(holder, r.attribute.name);
}

/** A filter value converted to the attribute's type, shared by the SQL compiler and the matcher. */
export type Operand =
  /** Lower-cased when the attribute is not caseExact. */
  | { kind: 'string'; value: string }
  /** A dateTime compared with eq/ne/gt/ge/lt/le: normalised to `toISOString()`. */
  | { kind: 'dateTime'; value: string; time: number }
  | { kind: 'number'; value: number }
  | { kind: 'boolean'; value: boolean };

const STRING_OPS = new Set(['co', 'sw', 'ew']);
const ORDER_OPS = new Set(['gt', 'ge', 'lt', 'le']);

/**
 * Converts `value` for comparing `r` with `op`. Returns null for `eq null` / `ne null` (absence tests).
 * Throws FilterError for combinations SCIM rejects: ordering on booleans or binaries, substring
 * operators on numbers and booleans, values that do not convert ("abc" for an integer).
 */
export function operandFor(r: ResolvedPath, op: string, value: string | number | boolean | null): Operand | null {
  const target = targetOf(r);
  const type = target.type;
  if (type === 'complex') {
    throw new FilterError(`'${r.name}' is complex: compare one of its sub-attributes instead`);
  }
  if (value === null) {
    if (op === 'eq' || op === 'ne') return null;
    throw new FilterError(`operator '${op}' cannot compare '${r.name}' with null`);
  }
  switch (type) {
    case 'boolean': {
      if (op !== 'eq' && op !== 'ne') throw new FilterError(`operator '${op}' cannot be used with boolean attribute '${r.name}'`);
      if (typeof value === 'boolean') return { kind: 'boolean', value };
      if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) {
        return { kind: 'boolean', value: value.trim().toLowerCase() === 'true' };
      }
      throw new FilterError(`'${r.name}' is boolean: ${JSON.stringify(value)} is not true or false`);
    }
    case 'integer':
    case 'decimal': {
      if (STRING_OPS.has(op)) throw new FilterError(`operator '${op}' cannot be used with numeric attribute '${r.name}'`);
      if (typeof value === 'number') return { kind: 'number', value };
      if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) {
        return { kind: 'number', value: Number(value) };
      }
      throw new FilterError(`'${r.name}' is ${type}: ${JSON.stringify(value)} is not a number`);
    }
    case 'binary': {
      if (op !== 'eq' && op !== 'ne') throw new FilterError(`operator '${op}' cannot be used with binary attribute '${r.name}'`);
      return { kind: 'string', value: String(value) };
    }
    case 'dateTime': {
      if (!STRING_OPS.has(op)) {
        const time = typeof value === 'string' ? Date.parse(value) : Number.NaN;
        if (Number.isNaN(time)) throw new FilterError(`'${r.name}' is a dateTime: ${JSON.stringify(value)} is not a date`);
        return { kind: 'dateTime', value: new Date(time).toISOString(), time };
      }
      break;
    }
    case 'string':
    case 'reference':
      break;
  }
  if (typeof value === 'boolean' && ORDER_OPS.has(op)) {
    throw new FilterError(`operator '${op}' cannot compare '${r.name}' with a boolean`);
  }
  const text = String(value);
  return { kind: 'string', value: isCaseExact(r) ? text : text.toLowerCase() };
}

/**
 * How to treat attributes the resource type does not define: `'error'` (the default: 400
 * invalidFilter) or `'absent'` (unassigned, for a root `/.search` across Users and Groups, where
 * `displayName eq "x" or userName eq "y"` must still find the Group).
 */
export type UnknownAttributes = 'error' | 'absent';

/**
 * The value of a leaf on an attribute that is not there: comparisons are false, `ne` and `eq null`
 * true, `pr` and value paths false. Undefined when `filter` is not a leaf.
 */
export function absentLeaf(filter: Filter): boolean | undefined {
  switch (filter.kind) {
    case 'compare':
      return filter.op === 'ne' || (filter.op === 'eq' && filter.value === null);
    case 'present':
    case 'valuePath':
      return false;
    default:
      return undefined;
  }
}

/**
 * For a search across resource types (root /.search): every attribute the filter names must be known
 * by at least one of them; the first one none knows is the error.
 */
export function assertKnownByAny(filter: Filter, resources: readonly ResourceType[]): void {
  switch (filter.kind) {
    case 'and':
    case 'or':
      assertKnownByAny(filter.left, resources);
      assertKnownByAny(filter.right, resources);
      return;
    case 'not':
      assertKnownByAny(filter.expr, resources);
      return;
    default: {
      let first: unknown;
      for (const resource of resources) {
        try {
          resolvePath(resource, filter.path);
          return;
        } catch (err) {
          if (!(err instanceof UnknownAttributeError)) throw err;
          first ??= err;
        }
      }
      throw first;
    }
  }
}
