import { child, info, isSchemaDef, type AttributeDef, type SchemaDef } from './definitions';

/**
 * The IdP-quirk normaliser: turns what Entra ID and Okta really send into what the SCIM schema says,
 * guided by the schema, before anything validates it.
 * - booleans as strings ("False", "true") → booleans (Entra);
 * - integers as strings ("10") → numbers;
 * - a bare string where a complex attribute with a `value` is expected → { value } (Entra's manager);
 * - a single object where a multi-valued attribute is expected → a list of one.
 */
export function normaliseValue(value: unknown, attr: AttributeDef): unknown {
  const a = info(attr);
  if (a.multiValued && value !== null && value !== undefined && !Array.isArray(value)) {
    return [normaliseSingle(value, attr)];
  }
  if (a.multiValued && Array.isArray(value)) return value.map((v) => normaliseSingle(v, attr));
  return normaliseSingle(value, attr);
}

function normaliseSingle(value: unknown, attr: AttributeDef): unknown {
  const a = info(attr);
  switch (a.type) {
    case 'boolean':
      if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
      return value;
    case 'integer':
      if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) return Number(value.trim());
      return value;
    case 'complex':
      if (typeof value === 'string' && a.subAttributes.some((s) => s.name === 'value')) return { value };
      if (isPlainObject(value)) return normaliseObject(value, attr);
      return value;
    default:
      return value;
  }
}

/** Normalises each known key of an object against a schema or complex attribute; unknown keys are kept for the validator to judge. */
export function normaliseObject(value: Record<string, unknown>, parent: SchemaDef | AttributeDef): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') continue;
    const def = child(parent, key);
    if (!def) out[key] = v;
    else if (isSchemaDef(def)) out[def.id] = isPlainObject(v) ? normaliseObject(v, def) : v;
    else out[def.name] = normaliseValue(v, def);
  }
  return out;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
