import SCIMMY from 'scimmy';

/** The parts of scimmy's schema objects Roster reads: an attribute, or a schema (core or extension). */
export type AttributeDef = InstanceType<typeof SCIMMY.Types.Attribute>;
export type SchemaDef = InstanceType<typeof SCIMMY.Types.SchemaDefinition>;

export const isSchemaDef = (a: unknown): a is SchemaDef => a instanceof SCIMMY.Types.SchemaDefinition;

interface AttrInfo {
  name: string;
  type: string;
  multiValued: boolean;
  mutability: string;
  returned: string;
  subAttributes: AttributeDef[];
}

/** Plain facts of an attribute, whatever scimmy's internal shape. */
export function info(a: AttributeDef): AttrInfo {
  const c = (a as unknown as { config: Record<string, unknown> }).config ?? {};
  const returned = c.returned === true ? 'default' : c.returned === false ? 'never' : typeof c.returned === 'string' ? c.returned : 'default';
  const mutability = c.mutable === false ? 'readOnly' : typeof c.mutable === 'string' ? c.mutable : 'readWrite';
  return {
    name: a.name,
    type: a.type,
    multiValued: c.multiValued === true,
    mutability,
    returned,
    subAttributes: (a.subAttributes ?? []),
  };
}

/** Finds a direct child (attribute or extension schema) of a schema or complex attribute, case-insensitively. */
export function child(parent: SchemaDef | AttributeDef, name: string): AttributeDef | SchemaDef | undefined {
  const lower = name.toLowerCase();
  const list = (isSchemaDef(parent) ? parent.attributes : (parent.subAttributes ?? [])) as (AttributeDef | SchemaDef)[];
  return list.find((a) => (isSchemaDef(a) ? a.id.toLowerCase() === lower : a.name.toLowerCase() === lower));
}
