import { child, info, isSchemaDef, type AttributeDef, type SchemaDef } from './definitions';
import { isPlainObject } from './normalise';

/** A resolved attribute reference: the top-level key (or extension URN + key) and an optional sub-attribute. */
interface Ref {
  ext?: string;
  name: string;
  sub?: string;
}

export interface Projection {
  mode: 'all' | 'include' | 'exclude';
  refs: Ref[];
}

export const ALL: Projection = { mode: 'all', refs: [] };

/** Parses `attributes` / `excludedAttributes` (comma lists or arrays) against the resource's schema. */
export function parseProjection(
  definition: SchemaDef,
  attributes: string | string[] | undefined,
  excluded: string | string[] | undefined,
): Projection {
  const list = (v: string | string[] | undefined) =>
    (Array.isArray(v) ? v : (v ?? '').split(','))
      .map((s) => String(s).trim())
      .filter(Boolean);
  const refs = (paths: string[]) => paths.map((p) => resolve(definition, p)).filter((r): r is Ref => r !== undefined);
  const include = list(attributes);
  if (include.length) return { mode: 'include', refs: refs(include) };
  const exclude = list(excluded);
  if (exclude.length) return { mode: 'exclude', refs: refs(exclude) };
  return ALL;
}

/**
 * Resolves one attribute path. Lenient where RFC 7644 is silent: a value filter in the path
 * (`emails[type eq "work"]`, sent by Microsoft's test suite) selects the whole attribute, and an
 * unknown attribute selects nothing rather than failing the request.
 */
function resolve(definition: SchemaDef, rawPath: string): Ref | undefined {
  const path = rawPath.replace(/\[[^\]]*\]/g, '');
  let scope: SchemaDef = definition;
  let rest = path;
  let ext: string | undefined;
  // URN-qualified: the longest known schema URN that prefixes the path
  if (/^urn:/i.test(path)) {
    const schemas = [definition, ...(definition.attributes as unknown[]).filter(isSchemaDef)];
    const match = schemas
      .filter((s) => path.toLowerCase() === s.id.toLowerCase() || path.toLowerCase().startsWith(`${s.id.toLowerCase()}:`))
      .sort((a, b) => b.id.length - a.id.length)[0];
    if (!match) return undefined;
    if (match !== definition) {
      ext = match.id;
      scope = match;
    }
    rest = path.slice(match.id.length + 1);
    if (!rest) return { name: match.id };
  }
  const [name, sub, ...more] = rest.split('.');
  const attr = name ? child(scope, name) : undefined;
  if (!attr || isSchemaDef(attr) || more.length) return undefined;
  if (!sub) return { ext, name: attr.name };
  const subAttr = child(attr, sub) as AttributeDef | undefined;
  if (!subAttr) return undefined;
  return { ext, name: attr.name, sub: subAttr.name };
}

/** Whether a top-level attribute (such as `members` or `groups`) will be in the output: skip loading it if not. */
export function wants(p: Projection, name: string): boolean {
  if (p.mode === 'all') return true;
  const hit = p.refs.some((r) => !r.ext && r.name === name);
  if (p.mode === 'include') return hit;
  return !p.refs.some((r) => !r.ext && r.name === name && !r.sub);
}

/** Applies a projection to a rendered resource. `id` and `schemas` are always returned (RFC 7643 §7). */
export function project(resource: Record<string, unknown>, p: Projection, definition: SchemaDef): Record<string, unknown> {
  if (p.mode === 'all') return resource;
  const out: Record<string, unknown> = {};
  if (p.mode === 'include') {
    out.schemas = resource.schemas;
    out.id = resource.id;
    for (const r of p.refs) copy(resource, out, r);
    return out;
  }
  Object.assign(out, resource);
  for (const r of p.refs) {
    const attr = r.ext ? undefined : child(definition, r.name);
    if (attr && !isSchemaDef(attr) && info(attr).returned === 'always') continue;
    remove(out, r);
  }
  return out;
}

function copy(from: Record<string, unknown>, to: Record<string, unknown>, r: Ref): void {
  const src = r.ext ? from[r.ext] : from;
  if (!isPlainObject(src)) return;
  if (r.ext && r.name === r.ext) {
    to[r.ext] = src;
    return;
  }
  const value = src[r.name];
  if (value === undefined) return;
  const target = r.ext ? ((to[r.ext] as Record<string, unknown> | undefined) ?? (to[r.ext] = {})) : to;
  if (!r.sub) {
    target[r.name] = value;
    return;
  }
  const sub = r.sub;
  if (Array.isArray(value)) {
    const prev = (target[r.name] as Record<string, unknown>[] | undefined) ?? value.map(() => ({}));
    target[r.name] = value.map((v, i) => (isPlainObject(v) && v[sub] !== undefined ? { ...prev[i], [sub]: v[sub] } : prev[i]));
  } else if (isPlainObject(value) && value[sub] !== undefined) {
    target[r.name] = { ...((target[r.name]) ?? {}), [sub]: value[sub] };
  }
}

function remove(out: Record<string, unknown>, r: Ref): void {
  if (r.ext && r.name === r.ext) {
    delete out[r.ext];
    return;
  }
  const holder = r.ext ? out[r.ext] : out;
  if (!isPlainObject(holder)) return;
  const target = r.ext ? { ...holder } : holder;
  if (r.ext) out[r.ext] = target;
  if (!r.sub) {
    delete target[r.name];
    return;
  }
  const sub = r.sub;
  const value = target[r.name];
  if (Array.isArray(value)) target[r.name] = (value as unknown[]).map((v) => (isPlainObject(v) ? omit(v, sub) : v));
  else if (isPlainObject(value)) target[r.name] = omit(value, sub);
}

const omit = (o: Record<string, unknown>, key: string) => {
  const { [key]: _drop, ...rest } = o;
  void _drop;
  return rest;
};
