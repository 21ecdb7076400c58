import { info, isSchemaDef, type AttributeDef, type SchemaDef } from './definitions';
import { isPlainObject } from './normalise';

/**
 * scimmy's inbound coercion (`new SCIMMY.Schemas.User(body, 'in')`), compiled from the same schema
 * definitions, for the bodies identity providers really send: known attributes of the right JSON
 * types, canonical values, the enterprise extension as an object. scimmy builds a frozen object with
 * an accessor per attribute for every value and coerces each twice; that was a sixth of a
 * POST /Users. Anything this does not handle exactly as scimmy does (nulls, references, namespaced
 * extension keys, values of another type, a missing required attribute…) returns `undefined`, and
 * the caller hands the body to scimmy, which decides and words the error. A differential test
 * (test/unit/coerce.test.ts) checks that both give the same result on every body this accepts.
 *
 * The body has been through the normaliser (normalise.ts): known keys carry their canonical names.
 */
export function coerceInbound(definition: SchemaDef, body: Record<string, unknown>): Record<string, unknown> | undefined {
  const plan = planOf(definition);
  const schemas = body.schemas;
  if (schemas !== undefined && (!Array.isArray(schemas) || (schemas.length > 0 && !schemas.includes(definition.id)) || !schemas.every((s) => plan.schemaIds.has(s as string)))) {
    return undefined;
  }
  if (!keysAreKnownOrPlain(body, plan.names)) return undefined;
  const out: Record<string, unknown> = {};
  for (const attr of plan.attributes) {
    const value = coerceAttribute(attr, body[attr.name]);
    if (value === FALLBACK) return undefined;
    if (value !== undefined && attr.returned) out[attr.name] = value;
  }
  for (const ext of plan.extensions) {
    const value = body[ext.id];
    if (value === undefined) continue;
    if (!isPlainObject(value)) return undefined;
    const coerced = coerceComplex(ext, value);
    if (coerced === FALLBACK) return undefined;
    if (hasActualValues(coerced as Record<string, unknown>)) out[ext.id] = coerced;
  }
  return out;
}

const FALLBACK = Symbol('ask scimmy');
type Coerced = unknown;

interface AttrPlan {
  name: string;
  type: string;
  multi: boolean;
  required: boolean;
  /** Returned in the coerced resource (scimmy drops `returned: never` ones, such as password). */
  returned: boolean;
  canonical?: readonly unknown[];
  subs: AttrPlan[];
  names: Set<string>;
}

interface ExtPlan {
  id: string;
  subs: AttrPlan[];
  names: Set<string>;
}

interface SchemaPlan {
  attributes: AttrPlan[];
  extensions: ExtPlan[];
  /** Keys the body may use: attribute names and extension ids. */
  names: Set<string>;
  schemaIds: Set<string>;
}

/** Attributes scimmy fills in itself (`schemas`, `meta`) or never takes in (`id`, `groups`): not in a stored profile. */
const SKIPPED = new Set(['schemas', 'meta']);

const plans = new WeakMap<SchemaDef, SchemaPlan>();

function planOf(definition: SchemaDef): SchemaPlan {
  let plan = plans.get(definition);
  if (!plan) {
    const attributes: AttrPlan[] = [];
    const extensions: ExtPlan[] = [];
    for (const a of definition.attributes as (AttributeDef | SchemaDef)[]) {
      if (isSchemaDef(a)) {
        const subs = inbound(a.attributes as AttributeDef[]);
        extensions.push({ id: a.id, subs, names: namesOf(a.attributes as AttributeDef[]) });
      } else if (!SKIPPED.has(a.name) && takesIn(a)) attributes.push(attrPlan(a));
    }
    const all = definition.attributes as (AttributeDef | SchemaDef)[];
    plan = {
      attributes,
      extensions,
      names: new Set(all.map((a) => (isSchemaDef(a) ? a.id : a.name))),
      schemaIds: new Set([definition.id, ...extensions.map((e) => e.id)]),
    };
    plans.set(definition, plan);
  }
  return plan;
}

const config = (a: AttributeDef) => (a as unknown as { config: { required?: boolean; direction?: string; canonicalValues?: unknown } }).config;
const takesIn = (a: AttributeDef) => config(a).direction !== 'out';
const inbound = (list: AttributeDef[]) => list.filter(takesIn).map(attrPlan);
const namesOf = (list: AttributeDef[]) => new Set(list.map((a) => a.name));

function attrPlan(a: AttributeDef): AttrPlan {
  const i = info(a);
  const c = config(a);
  return {
    name: a.name,
    type: a.type,
    multi: i.multiValued,
    required: c.required === true,
    returned: i.returned !== 'never',
    canonical: Array.isArray(c.canonicalValues) ? (c.canonicalValues as unknown[]) : undefined,
    subs: inbound(i.subAttributes),
    names: namesOf(i.subAttributes),
  };
}

/**
 * Every key is either a name the schema knows, in its canonical case, or plainly unknown (scimmy
 * drops those). A key that only differs in case from a known one, or holds a colon (an extension
 * attribute addressed by its full path, which scimmy merges into the extension), is left to scimmy.
 */
function keysAreKnownOrPlain(obj: Record<string, unknown>, names: Set<string>): boolean {
  for (const key of Object.keys(obj)) {
    if (names.has(key)) continue;
    if (key.includes(':')) return false;
    const lower = key.toLowerCase();
    for (const n of names) if (n.toLowerCase() === lower) return false;
  }
  return true;
}

function coerceAttribute(attr: AttrPlan, value: unknown): Coerced {
  if (value === undefined) return attr.required ? FALLBACK : undefined;
  if (value === null) return FALLBACK;
  if (!attr.multi) return coerceSingle(attr, value);
  if (!Array.isArray(value)) return FALLBACK;
  const out: unknown[] = [];
  for (const v of value) {
    const c = coerceSingle(attr, v);
    if (c === FALLBACK) return FALLBACK;
    out.push(c);
  }
  return out;
}

function coerceSingle(attr: AttrPlan, value: unknown): Coerced {
  if (attr.canonical && !attr.canonical.includes(value)) return FALLBACK;
  switch (attr.type) {
    case 'string':
      return typeof value === 'string' ? value : FALLBACK;
    case 'boolean':
      return typeof value === 'boolean' ? value : FALLBACK;
    case 'integer':
      return Number.isSafeInteger(value) ? value : FALLBACK;
    case 'complex':
      return isPlainObject(value) ? coerceComplex(attr, value) : FALLBACK;
    default:
      // references, binary, dateTime, decimal: rare in pushes, and scimmy's checks of them are its own
      return FALLBACK;
  }
}

/** A complex value (or an extension): sub-attributes in the schema's order, unknown keys dropped. */
function coerceComplex(parent: { subs: AttrPlan[]; names: Set<string> }, value: Record<string, unknown>): Coerced {
  if (!keysAreKnownOrPlain(value, parent.names)) return FALLBACK;
  const out: Record<string, unknown> = {};
  for (const sub of parent.subs) {
    const c = coerceAttribute(sub, value[sub.name]);
    if (c === FALLBACK) return FALLBACK;
    // scimmy keeps an empty complex value as {}, except inside an extension, where it drops it: rare
    // enough to leave to scimmy rather than copy.
    if (c !== undefined && isPlainObject(c) && !hasActualValues(c)) return FALLBACK;
    if (c !== undefined) out[sub.name] = c;
  }
  return out;
}

/** scimmy's test for an extension worth keeping: some value, at any depth, that is not undefined. */
function hasActualValues(v: Record<string, unknown> | unknown[]): boolean {
  return Object.values(v).some((x) => (typeof x === 'object' && x !== null ? hasActualValues(x as Record<string, unknown>) : x !== undefined));
}
