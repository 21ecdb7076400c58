import type { GroupStep } from '../membership/types';
import { child, info, isSchemaDef, type AttributeDef, type SchemaDef } from './definitions';
import { Errors } from './errors';
import { equalities, matchesElement, parsePatchPath, type PatchPath } from './filter';
import { isPlainObject, normaliseValue } from './normalise';
import { PATCH_OP_SCHEMA } from './schemas';

export type PatchOpName = 'add' | 'replace' | 'remove';

export interface PatchOperation {
  op: PatchOpName;
  path?: string;
  value?: unknown;
}

/** Reads a PatchOp body, forgiving Entra's capitalised op names ("Replace") and an empty Operations list. */
export function readPatchOps(body: unknown): PatchOperation[] {
  if (!isPlainObject(body)) throw Errors.invalidSyntax('The request body must be a SCIM PatchOp object');
  const schemas = body.schemas;
  if (Array.isArray(schemas) && schemas.length && !schemas.includes(PATCH_OP_SCHEMA)) {
    throw Errors.invalidSyntax(`A PATCH body must declare the schema ${PATCH_OP_SCHEMA}`);
  }
  const ops = body.Operations ?? body.operations;
  if (!Array.isArray(ops)) throw Errors.invalidSyntax('A PATCH body needs an "Operations" list');
  return ops.map((o, i) => {
    if (!isPlainObject(o)) throw Errors.invalidSyntax(`Operation ${i + 1} is not an object`);
    const op = typeof o.op === 'string' ? o.op.toLowerCase() : '';
    if (op !== 'add' && op !== 'replace' && op !== 'remove') {
      throw Errors.invalidSyntax(`Operation ${i + 1}: "op" must be add, replace or remove (got ${JSON.stringify(o.op)})`);
    }
    if (o.path !== undefined && (typeof o.path !== 'string' || !o.path.trim())) {
      throw Errors.invalidPath(`Operation ${i + 1}: "path" must be a non-empty string`);
    }
    if (op !== 'remove' && !('value' in o)) throw Errors.invalidSyntax(`Operation ${i + 1}: "${op}" needs a "value"`);
    return { op, path: o.path, value: o.value };
  });
}

const IGNORED = new Set(['schemas', 'id', 'meta']);

/**
 * Applies PATCH operations to a resource in memory (RFC 7644 §3.5.2), guided by the schema. Used for
 * users and for a group's own attributes; group members never pass through here.
 */
export function applyPatch(resource: Record<string, unknown>, ops: PatchOperation[], definition: SchemaDef): Record<string, unknown> {
  const doc = structuredClone(resource);
  for (const op of ops) {
    if (op.path === undefined) {
      if (op.op === 'remove') throw Errors.noTarget('A "remove" operation needs a "path"');
      if (!isPlainObject(op.value)) throw Errors.invalidSyntax(`An "${op.op}" without a path needs an object "value"`);
      for (const [key, value] of Object.entries(op.value)) {
        const ext = child(definition, key);
        if (ext && isSchemaDef(ext)) {
          // { "urn:…:enterprise:2.0:User": { "department": "…" } }
          if (!isPlainObject(value)) throw Errors.invalidValue(`"${key}" must be an object`);
          for (const [k, v] of Object.entries(value)) applyAt(doc, definition, pathOf(`${ext.id}:${k}`), op.op, v);
        } else {
          // { "displayName": "…" } or Entra's { "urn:…:enterprise:2.0:User:department": "…" }
          applyAt(doc, definition, pathOf(key), op.op, value);
        }
      }
    } else {
      const ext = child(definition, op.path);
      if (ext && isSchemaDef(ext)) {
        // a path naming a whole extension: "urn:…:enterprise:2.0:User"
        if (op.op === 'remove') delete doc[ext.id];
        else if (!isPlainObject(op.value)) throw Errors.invalidValue(`The value for "${op.path}" must be an object`);
        else for (const [k, v] of Object.entries(op.value)) applyAt(doc, definition, pathOf(`${ext.id}:${k}`), op.op, v);
        continue;
      }
      applyAt(doc, definition, pathOf(op.path), op.op, op.value);
    }
  }
  return doc;
}

function pathOf(path: string): PatchPath {
  try {
    return parsePatchPath(path);
  } catch (err) {
    throw Errors.invalidPath((err as Error).message);
  }
}

function applyAt(doc: Record<string, unknown>, definition: SchemaDef, path: PatchPath, op: PatchOpName, rawValue: unknown): void {
  const scope = path.schema ? child(definition, path.schema) : definition;
  if (!scope || !isSchemaDef(scope)) throw Errors.invalidPath(`Unknown schema "${path.schema}"`);
  const def = child(scope, path.attribute);
  if (!def || isSchemaDef(def)) throw Errors.invalidPath(`Unknown attribute "${path.attribute}"`);
  const a = info(def);
  if (IGNORED.has(a.name) && !path.schema) return; // schemas, id, meta: the server's, whatever a client sends
  if (a.mutability === 'readOnly') throw Errors.mutability(`"${a.name}" is read-only`);
  const container = scope === definition ? doc : ensureObject(doc, scope.id, op !== 'remove');
  if (!container) return; // removing from an extension that is not there
  const subDef = path.subAttribute ? (child(def, path.subAttribute) as AttributeDef | undefined) : undefined;
  if (path.subAttribute && !subDef) throw Errors.invalidPath(`Unknown attribute "${a.name}.${path.subAttribute}"`);

  if (path.filter) {
    if (!a.multiValued) throw Errors.invalidPath(`"${a.name}" is not multi-valued, so it cannot be filtered`);
    applyFiltered(container, def, a.name, path, subDef, op, rawValue);
  } else if (subDef) {
    const value = op === 'remove' ? undefined : normaliseValue(rawValue, subDef);
    const current = container[a.name];
    if (a.multiValued) {
      if (Array.isArray(current)) for (const el of current) if (isPlainObject(el)) setOrDelete(el, subDef.name, value);
    } else {
      if (op === 'remove' && !isPlainObject(current)) return;
      const obj = isPlainObject(current) ? current : (container[a.name] = {});
      setOrDelete(obj, subDef.name, value);
    }
  } else if (op === 'remove') {
    delete container[a.name];
  } else {
    const value = normaliseValue(rawValue, def);
    if (a.multiValued) {
      const list = (value ?? []) as unknown[];
      const merged = op === 'add' && Array.isArray(container[a.name]) ? mergeList(container[a.name] as unknown[], list) : list;
      container[a.name] = singlePrimary(merged);
    } else if (a.type === 'complex' && isPlainObject(value) && isPlainObject(container[a.name])) {
      container[a.name] = { ...(container[a.name] as object), ...value };
    } else {
      setOrDelete(container, a.name, value);
    }
  }
  if (scope !== definition && isPlainObject(container) && !Object.keys(container).length) delete doc[scope.id];
}

/** `emails[type eq "work"]` and `emails[type eq "work"].value`. */
function applyFiltered(
  container: Record<string, unknown>,
  def: AttributeDef,
  name: string,
  path: PatchPath,
  subDef: AttributeDef | undefined,
  op: PatchOpName,
  rawValue: unknown,
): void {
  const list = Array.isArray(container[name]) ? (container[name] as unknown[]) : [];
  const hit = (el: unknown) => isPlainObject(el) && matchesElement(el, path.filter!, def);
  if (op === 'remove') {
    container[name] = subDef ? list.map((el) => (hit(el) ? omitKey(el as Record<string, unknown>, subDef.name) : el)) : list.filter((el) => !hit(el));
    if (!(container[name] as unknown[]).length) delete container[name];
    return;
  }
  const value = subDef ? normaliseValue(rawValue, subDef) : normaliseValue(rawValue, def);
  const patchOf = (): Record<string, unknown> => {
    if (subDef) return { [subDef.name]: value };
    const v: unknown = Array.isArray(value) ? (value as unknown[])[0] : value;
    if (!isPlainObject(v)) throw Errors.invalidValue(`The value for "${path.raw}" must be an object`);
    return v;
  };
  const matched = list.filter(hit);
  if (matched.length) {
    container[name] = singlePrimary(list.map((el) => (hit(el) ? { ...(el as object), ...patchOf() } : el)));
    return;
  }
  // Entra adds to a filtered path that does not exist yet: create the element the filter describes.
  const described = equalities(path.filter!);
  if (!described) throw Errors.noTarget(`No value of "${name}" matches "${path.raw}"`);
  container[name] = singlePrimary([...list, { ...described, ...patchOf() }]);
}

function ensureObject(doc: Record<string, unknown>, key: string, create: boolean): Record<string, unknown> | undefined {
  if (isPlainObject(doc[key])) return doc[key];
  if (!create) return undefined;
  const obj: Record<string, unknown> = {};
  doc[key] = obj;
  return obj;
}

function setOrDelete(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (value === undefined || value === null || value === '') delete obj[key];
  else obj[key] = value;
}

const omitKey = (o: Record<string, unknown>, key: string) => {
  const { [key]: _drop, ...rest } = o;
  void _drop;
  return rest;
};

/** Appends values not already present (RFC: adding an existing value is no change). */
function mergeList(current: unknown[], added: unknown[]): unknown[] {
  const key = (v: unknown) => (isPlainObject(v) ? JSON.stringify([v.value, v.type]) : JSON.stringify(v));
  const seen = new Map(current.map((v, i) => [key(v), i] as const));
  const out = [...current];
  for (const v of added) {
    const i = seen.get(key(v));
    if (i === undefined) {
      seen.set(key(v), out.length);
      out.push(v);
    } else if (isPlainObject(v)) out[i] = { ...(out[i] as object), ...v };
  }
  return out;
}

/** At most one value may be primary: the last one marked wins (RFC 7643 §2.4). */
function singlePrimary(list: unknown[]): unknown[] {
  const last = list.map((v) => isPlainObject(v) && v.primary === true).lastIndexOf(true);
  if (last < 0) return list;
  return list.map((v, i) => (i !== last && isPlainObject(v) && v.primary === true ? { ...v, primary: false } : v));
}

// ---------- groups ----------

export interface GroupPatchPlan {
  /** Operations on the group's own attributes, applied to the locked current group. */
  attributeOps: PatchOperation[];
  /** Member changes in order. */
  memberSteps: GroupStep[];
}

/**
 * Splits a group PATCH into attribute operations and member deltas: members are never loaded, so
 * adding one member to a group of 100,000 costs what it costs for a group of 10.
 */
export function planGroupPatch(ops: PatchOperation[], memberIdsOf: (v: unknown) => string[]): GroupPatchPlan {
  const plan: GroupPatchPlan = { attributeOps: [], memberSteps: [] };
  for (const op of ops) {
    if (op.path === undefined) {
      if (!isPlainObject(op.value)) throw Errors.invalidSyntax(`An "${op.op}" without a path needs an object "value"`);
      const { members, ...rest } = Object.fromEntries(Object.entries(op.value).map(([k, v]) => [k.toLowerCase() === 'members' ? 'members' : k, v]));
      if (members !== undefined) plan.memberSteps.push(memberStep(op.op, memberIdsOf(members ?? [])));
      if (Object.keys(rest).length) plan.attributeOps.push({ op: op.op, value: rest });
      continue;
    }
    const path = pathOf(op.path);
    if (path.schema || path.attribute.toLowerCase() !== 'members') {
      plan.attributeOps.push(op);
      continue;
    }
    if (path.subAttribute) throw Errors.invalidPath(`Member attributes cannot be changed ("${op.path}")`);
    if (path.filter) {
      // members[value eq "id"] (or several joined by "or"): the ids are in the filter itself
      const ids = memberIdsInFilter(path);
      if (op.op !== 'remove') throw Errors.invalidPath(`"${op.op}" on a filtered members path is not supported; use "add" with path "members"`);
      plan.memberSteps.push({ kind: 'removeMembers', userIds: ids });
      continue;
    }
    if (op.op === 'remove') {
      // Entra: remove with a value list removes those members only; no value removes all
      const hasValue = op.value !== undefined && op.value !== null && !(Array.isArray(op.value) && op.value.length === 0);
      plan.memberSteps.push(hasValue ? { kind: 'removeMembers', userIds: memberIdsOf(op.value) } : { kind: 'removeAllMembers' });
      continue;
    }
    plan.memberSteps.push(memberStep(op.op, op.value === null ? [] : memberIdsOf(op.value)));
  }
  return plan;
}

function memberStep(op: PatchOpName, ids: string[]): GroupStep {
  switch (op) {
    case 'add':
      return { kind: 'addMembers', userIds: ids };
    case 'replace':
      return { kind: 'replaceMembers', userIds: ids };
    case 'remove':
      return { kind: 'removeMembers', userIds: ids };
  }
}

function memberIdsInFilter(path: PatchPath): string[] {
  const ids = equalitiesAny(path);
  if (!ids) throw Errors.invalidFilter(`Only members[value eq "…"] filters (joined by "or") are supported in a path; got "${path.raw}"`);
  return ids;
}

function equalitiesAny(path: PatchPath): string[] | undefined {
  const ids: string[] = [];
  const walk = (ast: NonNullable<PatchPath['filter']>): boolean => {
    if (ast.kind === 'or') return walk(ast.left) && walk(ast.right);
    const eq = equalities(ast);
    if (!eq || Object.keys(eq).length !== 1 || typeof eq.value !== 'string') return false;
    ids.push(eq.value);
    return true;
  };
  return walk(path.filter!) ? ids : undefined;
}
