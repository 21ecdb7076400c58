// Evaluates a parsed SCIM filter on SCIM JSON resources, with the same case rules, type rules and
// absence semantics as the SQL compiler (sql.ts): used by PATCH (`emails[type eq "work"]`,
// `members[value eq "…"]`) and by the tests as the reference for the SQL path.
import type { ResourceType } from '../schemas';
import {
  attributeValue,
  getKey,
  isCaseExact,
  operandFor,
  resolveElementPath,
  resolvePath,
  storageOf,
  targetOf,
  withSub,
  type Attribute,
  type Operand,
  absentLeaf,
  type ResolvedPath,
  type UnknownAttributes,
} from './attributes';
import { FilterError, parseFilter, UnknownAttributeError, type AttrPath, type CompareOp, type Filter } from './parse';

export interface MatchOptions {
  /** `'absent'` for a root `/.search`: attributes the resource type lacks are unassigned, not an error. */
  unknownAttributes?: UnknownAttributes;
}

function guardUnknown(filter: Filter, options: MatchOptions, compile: () => Predicate): Predicate {
  try {
    return compile();
  } catch (err) {
    const absent = err instanceof UnknownAttributeError && options.unknownAttributes === 'absent' ? absentLeaf(filter) : undefined;
    if (absent === undefined) throw err;
    return () => absent;
  }
}

type Predicate = (value: unknown) => boolean;

/** Present: not missing, not null, not the empty string. */
const isPresent = (v: unknown): boolean => v !== undefined && v !== null && v !== '';

function order(op: CompareOp, a: number | string, b: number | string): boolean {
  switch (op) {
    case 'eq':
      return a === b;
    case 'gt':
      return a > b;
    case 'ge':
      return a >= b;
    case 'lt':
      return a < b;
    case 'le':
      return a <= b;
    default:
      return false;
  }
}

/** The positive test `actual <op> operand` (op is not `ne`); false when absent or of another type. */
function positive(actual: unknown, op: Exclude<CompareOp, 'ne'>, operand: Operand, caseExact: boolean): boolean {
  switch (operand.kind) {
    case 'boolean':
      return typeof actual === 'boolean' && actual === operand.value;
    case 'number':
      return typeof actual === 'number' && order(op, actual, operand.value);
    case 'dateTime': {
      if (typeof actual !== 'string') return false;
      const time = Date.parse(actual);
      return !Number.isNaN(time) && order(op, time, operand.time);
    }
    case 'string': {
      if (typeof actual !== 'string') return false;
      const a = caseExact ? actual : actual.toLowerCase();
      const v = operand.value;
      if (op === 'co') return a.includes(v);
      if (op === 'sw') return a.startsWith(v);
      if (op === 'ew') return a.endsWith(v);
      return order(op, a, v);
    }
  }
}

function compare(actual: unknown, r: ResolvedPath, op: CompareOp, operand: Operand | null): boolean {
  if (operand === null) return op === 'eq' ? !isPresent(actual) : isPresent(actual);
  if (op === 'ne') return !positive(actual, 'eq', operand, isCaseExact(r));
  return positive(actual, op, operand, isCaseExact(r));
}

/** For constant attributes (meta.resourceType): the SQL compiler folds them with this. */
export function compareConstant(value: string, r: ResolvedPath, op: CompareOp, operand: Operand | null): boolean {
  return compare(value, r, op, operand);
}

const elementsOf = (resource: unknown, r: ResolvedPath): unknown[] => {
  const v = attributeValue(resource, r);
  return Array.isArray(v) ? v : [];
};

const subValue = (element: unknown, r: ResolvedPath): unknown => (r.sub ? getKey(element, r.sub.name) : element);

/** `emails eq "x"` means `emails.value eq "x"`. */
function elementTarget(r: ResolvedPath): ResolvedPath {
  if (r.sub || targetOf(r).type !== 'complex') return r;
  const value = withSub(r, 'value');
  if (!value) throw new FilterError(`'${r.name}' is complex: compare one of its sub-attributes instead`);
  return value;
}

function compileRow(filter: Filter, resourceType: ResourceType, options: MatchOptions): Predicate {
  return guardUnknown(filter, options, () => compileRowNode(filter, resourceType, options));
}

function compileRowNode(filter: Filter, resourceType: ResourceType, options: MatchOptions): Predicate {
  switch (filter.kind) {
    case 'and': {
      const left = compileRow(filter.left, resourceType, options);
      const right = compileRow(filter.right, resourceType, options);
      return (x) => left(x) && right(x);
    }
    case 'or': {
      const left = compileRow(filter.left, resourceType, options);
      const right = compileRow(filter.right, resourceType, options);
      return (x) => left(x) || right(x);
    }
    case 'not': {
      const inner = compileRow(filter.expr, resourceType, options);
      return (x) => !inner(x);
    }
    case 'valuePath': {
      const parent = resolvePath(resourceType, filter.path);
      if (!parent.attribute.config.multiValued) {
        throw new FilterError(`'${parent.name}' is not multi-valued, so it takes no '[…]' filter`);
      }
      const element = compileElement(filter.filter, parent, options);
      return (x) => elementsOf(x, parent).some(element);
    }
    case 'present': {
      const r = resolvePath(resourceType, filter.path);
      const storage = storageOf(r);
      if (storage.kind === 'multi') {
        return r.sub
          ? (x) => elementsOf(x, r).some((el) => isPresent(subValue(el, r)))
          : (x) => elementsOf(x, r).length > 0;
      }
      if (storage.kind === 'complex') {
        const subs = storage.subs.filter((s) => {
          const st = storageOf(s);
          return st.kind === 'single' && st.field.kind !== 'unfilterable';
        });
        return (x) => subs.some((s) => isPresent(getKey(attributeValue(x, s), s.sub?.name ?? '')));
      }
      return (x) => isPresent(subValue(attributeValue(x, r), r));
    }
    case 'compare': {
      const resolved = resolvePath(resourceType, filter.path);
      if (resolved.attribute.config.multiValued) {
        const r = elementTarget(resolved);
        const operand = operandFor(r, filter.op, filter.value);
        const op = filter.op;
        if (operand === null) {
          const some = (x: unknown): boolean => elementsOf(x, r).some((el) => isPresent(subValue(el, r)));
          return op === 'eq' ? (x) => !some(x) : some;
        }
        // On a multi-valued attribute `ne` is the complement of "some element is equal".
        const positiveOp = op === 'ne' ? 'eq' : op;
        const some = (x: unknown): boolean =>
          elementsOf(x, r).some((el) => compare(subValue(el, r), r, positiveOp, operand));
        return op === 'ne' ? (x) => !some(x) : some;
      }
      const operand = operandFor(resolved, filter.op, filter.value);
      return (x) => compare(subValue(attributeValue(x, resolved), resolved), resolved, filter.op, operand);
    }
  }
}

function compileElement(filter: Filter, parent: ResolvedPath, options: MatchOptions = {}): Predicate {
  return guardUnknown(filter, options, () => compileElementNode(filter, parent, options));
}

function compileElementNode(filter: Filter, parent: ResolvedPath, options: MatchOptions): Predicate {
  switch (filter.kind) {
    case 'and': {
      const left = compileElement(filter.left, parent, options);
      const right = compileElement(filter.right, parent, options);
      return (el) => left(el) && right(el);
    }
    case 'or': {
      const left = compileElement(filter.left, parent, options);
      const right = compileElement(filter.right, parent, options);
      return (el) => left(el) || right(el);
    }
    case 'not': {
      const inner = compileElement(filter.expr, parent, options);
      return (el) => !inner(el);
    }
    case 'valuePath':
      throw new FilterError('value paths cannot be nested');
    case 'present': {
      const r = resolveElementPath(parent, filter.path);
      return (el) => isPresent(subValue(el, r));
    }
    case 'compare': {
      const r = resolveElementPath(parent, filter.path);
      const operand = operandFor(r, filter.op, filter.value);
      return (el) => compare(subValue(el, r), r, filter.op, operand);
    }
  }
}

/**
 * Compiles `filter` for `resourceType` once (resolving every attribute, so a bad filter throws
 * FilterError even when there is nothing to match) and returns a predicate on SCIM JSON resources.
 */
export function compileMatcher(
  filter: Filter | string,
  resourceType: ResourceType,
  options: MatchOptions = {},
): (resource: unknown) => boolean {
  const ast = typeof filter === 'string' ? parseFilter(filter) : filter;
  return compileRow(ast, resourceType, options);
}

/** Whether a SCIM JSON resource satisfies `filter`. */
export function matches(resource: unknown, filter: Filter | string, resourceType: ResourceType, options: MatchOptions = {}): boolean {
  return compileMatcher(filter, resourceType, options)(resource);
}

/**
 * A predicate on one element of a multi-valued attribute, for a PATCH path such as
 * `emails[type eq "work"]` (`attribute` is the part before `[`: `{ attribute: 'emails' }`).
 */
export function elementMatcher(resourceType: ResourceType, attribute: AttrPath, filter: Filter): (element: unknown) => boolean {
  const parent = resolvePath(resourceType, attribute);
  if (!parent.attribute.config.multiValued || parent.sub) {
    throw new FilterError(`'${parent.name}' is not multi-valued, so it takes no '[…]' filter`);
  }
  return compileElement(filter, parent);
}

const asResolved = (parent: ResolvedPath | Attribute): ResolvedPath =>
  'attribute' in parent && 'resource' in parent
    ? parent
    : { resource: 'User', schema: '', extension: false, attribute: parent, name: parent.name };

/**
 * Whether one element of the multi-valued attribute `parent` (its scimmy definition, or a resolved
 * path) satisfies a value-path filter such as the `type eq "work"` of `emails[type eq "work"]`.
 */
export function matchesElement(element: unknown, filter: Filter, parent: ResolvedPath | Attribute): boolean {
  return compileElement(filter, asResolved(parent))(element);
}

/**
 * The element a value filter describes, when it is only `eq` comparisons joined by `and`
 * (`type eq "work" and primary eq true` → `{ type: 'work', primary: true }`), else undefined.
 * With `parent`, names are canonical (`TYPE` → `type`) and values converted to the sub-attribute's type.
 * PATCH uses it to create the element an `add` to `emails[type eq "work"].value` targets.
 */
export function equalities(filter: Filter, parent?: ResolvedPath | Attribute): Record<string, string | number | boolean> | undefined {
  const out: Record<string, string | number | boolean> = {};
  const resolvedParent = parent ? asResolved(parent) : undefined;
  const walk = (f: Filter): boolean => {
    if (f.kind === 'and') return walk(f.left) && walk(f.right);
    if (f.kind !== 'compare' || f.op !== 'eq' || f.value === null || f.path.schema || f.path.subAttribute) return false;
    let name = f.path.attribute;
    let value: string | number | boolean = f.value;
    if (resolvedParent) {
      const r = resolveElementPath(resolvedParent, f.path);
      name = targetOf(r).name;
      const type = targetOf(r).type;
      if (type === 'boolean' || type === 'integer' || type === 'decimal') {
        const operand = operandFor(r, 'eq', f.value);
        if (operand && (operand.kind === 'boolean' || operand.kind === 'number')) value = operand.value;
      }
    }
    if (name in out && out[name] !== value) return false;
    out[name] = value;
    return true;
  };
  return walk(filter) ? out : undefined;
}
