// Compiles a parsed SCIM filter to one SQL predicate over `users` or `groups` (SQLite or PostgreSQL).
// Every predicate is two-valued (TRUE or FALSE, never NULL), so `not (…)` is exactly the complement.
// Nothing from the filter reaches the SQL text: values and JSON paths are bound parameters, and
// identifiers come from the fixed mapping in attributes.ts.
import type { Knex } from 'knex';
import type { Dialect } from '../../db/knex';
import type { ResourceType } from '../schemas';
import {
  elementField,
  isCaseExact,
  operandFor,
  resolveElementPath,
  resolvePath,
  storageOf,
  targetOf,
  withSub,
  type ElementSource,
  type Field,
  type Operand,
  absentLeaf,
  type ResolvedPath,
  type UnknownAttributes,
} from './attributes';
import { FilterError, parseFilter, UnknownAttributeError, type CompareOp, type Filter } from './parse';
import { compareConstant } from './match';

export interface FilterContext {
  dialect: Dialect;
  resource: ResourceType;
  /** Unused by the compiler; accepted so callers can pass their `Db`-like context as is. */
  knex?: Knex;
  /** `'absent'` for a root `/.search`: attributes the resource type lacks are unassigned, not an error. */
  unknownAttributes?: UnknownAttributes;
}

/** A piece of SQL with its `?` bindings. */
export interface Sql {
  sql: string;
  bindings: Knex.Value[];
}

const TRUE: Sql = { sql: '1 = 1', bindings: [] };
const FALSE: Sql = { sql: '1 = 0', bindings: [] };

const sql = (text: string, ...bindings: Knex.Value[]): Sql => ({ sql: text, bindings });

function join(parts: Sql[], glue: string): Sql {
  return { sql: parts.map((p) => p.sql).join(glue), bindings: parts.flatMap((p) => p.bindings) };
}

/** `a and b` where `a` is a guard; TRUE guards are dropped so indexed predicates stay plain. */
function and(...parts: Sql[]): Sql {
  const kept = parts.filter((p) => p !== TRUE);
  if (kept.some((p) => p === FALSE)) return FALSE;
  if (kept.length === 0) return TRUE;
  if (kept.length === 1) return kept[0] as Sql;
  return join(
    kept.map((p) => ({ sql: `(${p.sql})`, bindings: p.bindings })),
    ' and ',
  );
}

function not(part: Sql): Sql {
  if (part === TRUE) return FALSE;
  if (part === FALSE) return TRUE;
  return { sql: `not (${part.sql})`, bindings: part.bindings };
}

/** Joins many operands as a balanced tree, so long `or` chains stay shallow for SQLite's depth limit. */
function balanced(parts: Sql[], op: 'and' | 'or'): Sql {
  if (parts.length === 1) return parts[0] as Sql;
  const mid = Math.ceil(parts.length / 2);
  const left = balanced(parts.slice(0, mid), op);
  const right = balanced(parts.slice(mid), op);
  return { sql: `(${left.sql}) ${op} (${right.sql})`, bindings: [...left.bindings, ...right.bindings] };
}

const quote = (identifier: string): string => `"${identifier}"`;

/** LIKE pattern for co/sw/ew, with `\`, `%` and `_` escaped (used with `escape '\'`). */
function likePattern(value: string, op: 'co' | 'sw' | 'ew'): string {
  const escaped = value.replace(/[\\%_]/g, (c) => `\\${c}`);
  return op === 'sw' ? `${escaped}%` : op === 'ew' ? `%${escaped}` : `%${escaped}%`;
}

const SQL_OP: Record<'eq' | 'gt' | 'ge' | 'lt' | 'le', string> = { eq: '=', gt: '>', ge: '>=', lt: '<', le: '<=' };

/** How one value is read in SQL: text, number and boolean views, each with a two-valued guard. */
interface Accessor {
  text: Sql;
  isText: Sql;
  /** `text` already holds lower-cased values (the `_lc` columns). */
  lowerCased: boolean;
  num: Sql | undefined;
  isNum: Sql;
  isTrue: Sql;
  isFalse: Sql;
  present: Sql;
}

interface Scope {
  ctx: FilterContext;
  /** Aliases a subquery must join (`mu`, `mg`). */
  joins: Set<string>;
}

function tableOf(resource: ResourceType): string {
  return resource === 'User' ? 'users' : 'groups';
}

function jsonAccessor(field: Extract<Field, { kind: 'json' }>, scope: Scope): Accessor {
  const { dialect, resource } = scope.ctx;
  if (dialect === 'sqlite') {
    let value: Sql;
    let typeOf: Sql;
    if (field.doc === 'element' && field.path.length === 0) {
      value = sql('"je"."value"');
      typeOf = sql('"je"."type"');
    } else {
      const doc = field.doc === 'row' ? `${quote(tableOf(resource))}."data"` : '"je"."value"';
      const path = `$${field.path.map((k) => `."${k}"`).join('')}`;
      value = sql(`json_extract(${doc}, ?)`, path);
      typeOf = sql(`json_type(${doc}, ?)`, path);
    }
    const typeIs = (...types: string[]): Sql =>
      sql(`coalesce(${typeOf.sql}, '') in (${types.map((t) => `'${t}'`).join(', ')})`, ...typeOf.bindings);
    return {
      text: value,
      isText: typeIs('text'),
      lowerCased: false,
      num: value,
      isNum: typeIs('integer', 'real'),
      isTrue: typeIs('true'),
      isFalse: typeIs('false'),
      present: sql(
        `coalesce(${typeOf.sql}, 'null') <> 'null' and (${typeOf.sql} <> 'text' or ${value.sql} <> '')`,
        ...typeOf.bindings,
        ...typeOf.bindings,
        ...value.bindings,
      ),
    };
  }
  const doc = field.doc === 'row' ? `${quote(tableOf(resource))}."data"` : '"je"."value"';
  const json = sql(`${doc} #> cast(? as text[])`, field.path);
  const text = sql(`${doc} #>> cast(? as text[])`, field.path);
  const typeOf = sql(`jsonb_typeof(${json.sql})`, ...json.bindings);
  const typeIs = (t: string): Sql => sql(`coalesce(${typeOf.sql}, '') = '${t}'`, ...typeOf.bindings);
  return {
    text,
    isText: typeIs('string'),
    lowerCased: false,
    // PostgreSQL may evaluate a cast before the guard beside it: the CASE keeps non-numbers away from it.
    num: sql(`(case when ${typeOf.sql} = 'number' then cast(${text.sql} as numeric) end)`, ...typeOf.bindings, ...text.bindings),
    isNum: typeIs('number'),
    isTrue: and(typeIs('boolean'), sql(`${text.sql} = 'true'`, ...text.bindings)),
    isFalse: and(typeIs('boolean'), sql(`${text.sql} = 'false'`, ...text.bindings)),
    present: sql(
      `coalesce(${typeOf.sql}, 'null') <> 'null' and (${typeOf.sql} <> 'string' or ${text.sql} <> '')`,
      ...typeOf.bindings,
      ...typeOf.bindings,
      ...text.bindings,
    ),
  };
}

/** A constant attribute (meta.resourceType): compared in JavaScript and folded to TRUE or FALSE. */
interface Constant {
  constant: string;
}

function accessorOf(field: Field, r: ResolvedPath, scope: Scope): Accessor | Constant {
  switch (field.kind) {
    case 'unfilterable':
      throw new FilterError(field.reason);
    case 'constant':
      return { constant: field.value };
    case 'json':
      return jsonAccessor(field, scope);
    case 'column': {
      if (field.table === 'mu' || field.table === 'mg') scope.joins.add(field.table);
      const column = `${quote(field.table)}.${quote(field.column)}`;
      const notNull = field.nullable ? sql(`${column} is not null`) : TRUE;
      const type = targetOf(r).type;
      const boolean = type === 'boolean';
      // A number column (a group's max_members) compares as a number, never as text.
      const numeric = type === 'integer' || type === 'decimal';
      const [t, f] = scope.ctx.dialect === 'sqlite' ? ['1', '0'] : ['true', 'false'];
      return {
        text: sql(column),
        isText: numeric ? FALSE : notNull,
        lowerCased: field.lowerCased,
        num: numeric ? sql(column) : undefined,
        isNum: numeric ? notNull : FALSE,
        isTrue: and(notNull, sql(`${column} = ${t}`)),
        isFalse: and(notNull, sql(`${column} = ${f}`)),
        present: boolean || numeric ? notNull : and(notNull, sql(`${column} <> ''`)),
      };
    }
  }
}

/** The positive test `value <op> operand` (op is not `ne`), two-valued. */
function positive(a: Accessor, op: Exclude<CompareOp, 'ne'>, operand: Operand, caseExact: boolean, scope: Scope): Sql {
  const pg = scope.ctx.dialect === 'postgres';
  switch (operand.kind) {
    case 'boolean':
      return operand.value ? a.isTrue : a.isFalse;
    case 'number': {
      if (!a.num) return FALSE;
      const cmp = SQL_OP[op as keyof typeof SQL_OP];
      return and(a.isNum, sql(`${a.num.sql} ${cmp} ${pg ? 'cast(? as numeric)' : '?'}`, ...a.num.bindings, operand.value));
    }
    case 'dateTime': {
      const cmp = SQL_OP[op as keyof typeof SQL_OP];
      return and(a.isText, sql(`${a.text.sql}${pg ? ' collate "C"' : ''} ${cmp} ?`, ...a.text.bindings, operand.value));
    }
    case 'string': {
      const folded = !caseExact && !a.lowerCased;
      const e = folded ? sql(`lower(${a.text.sql})`, ...a.text.bindings) : a.text;
      const v = operand.value;
      if (op === 'co' || op === 'sw' || op === 'ew') {
        if (v === '') return a.isText;
        if (!caseExact) {
          return and(a.isText, sql(`${e.sql} like ? escape '\\'`, ...e.bindings, likePattern(v, op)));
        }
        // SQLite's LIKE ignores ASCII case and PostgreSQL's does not: case-exact tests use string functions.
        const p = pg ? 'cast(? as text)' : '?';
        const test =
          op === 'co'
            ? sql(`${pg ? 'strpos' : 'instr'}(${e.sql}, ${p}) > 0`, ...e.bindings, v)
            : op === 'sw'
              ? sql(pg ? `left(${e.sql}, length(${p})) = ${p}` : `substr(${e.sql}, 1, length(?)) = ?`, ...e.bindings, v, v)
              : sql(pg ? `right(${e.sql}, length(${p})) = ${p}` : `substr(${e.sql}, -length(?)) = ?`, ...e.bindings, v, v);
        return and(a.isText, test);
      }
      const cmp = SQL_OP[op];
      // Ordering in code-point order on both engines (PostgreSQL's default collation is locale-aware).
      const collate = pg && op !== 'eq' ? ' collate "C"' : '';
      return and(a.isText, sql(`${e.sql}${collate} ${cmp} ?`, ...e.bindings, v));
    }
  }
}

function compareOn(a: Accessor | Constant, r: ResolvedPath, op: CompareOp, operand: Operand | null, scope: Scope): Sql {
  if ('constant' in a) return compareConstant(a.constant, r, op, operand) ? TRUE : FALSE;
  if (operand === null) return op === 'eq' ? not(a.present) : a.present;
  if (op === 'ne') return not(positive(a, 'eq', operand, isCaseExact(r), scope));
  return positive(a, op, operand, isCaseExact(r), scope);
}

/**
 * "Some element matches". Table-backed sources are written as `id in (select … where …)`, not as a
 * correlated EXISTS, so the engine can start from the element's index (user_emails.value_lc,
 * memberships) instead of probing every row of the main table: with 100,000 users that is the
 * difference between a millisecond and two seconds on SQLite. The main query scopes the tenant.
 */
function existsIn(source: ElementSource, predicate: (scope: Scope) => Sql, scope: Scope): Sql {
  const inner: Scope = { ctx: scope.ctx, joins: new Set() };
  const p = predicate(inner);
  const { dialect, resource } = scope.ctx;
  const main = quote(tableOf(resource));
  const where = (correlation: Sql): Sql => and(correlation, p);
  switch (source.kind) {
    case 'emails':
      return { sql: `${main}."id" in (select "e"."user_id" from "user_emails" as "e" where ${p.sql})`, bindings: p.bindings };
    case 'members': {
      const joinSql = inner.joins.has('mu') ? ' inner join "users" as "mu" on "mu"."id" = "m"."user_id"' : '';
      return { sql: `${main}."id" in (select "m"."group_id" from "memberships" as "m"${joinSql} where ${p.sql})`, bindings: p.bindings };
    }
    case 'groups': {
      const joinSql = inner.joins.has('mg') ? ' inner join "groups" as "mg" on "mg"."id" = "m"."group_id"' : '';
      return { sql: `${main}."id" in (select "m"."user_id" from "memberships" as "m"${joinSql} where ${p.sql})`, bindings: p.bindings };
    }
    case 'json': {
      if (dialect === 'sqlite') {
        const path = `$${source.path.map((k) => `."${k}"`).join('')}`;
        const w = where(sql(`json_type(${main}."data", ?) = 'array'`, path));
        return {
          sql: `exists (select 1 from json_each(${main}."data", ?) as "je" where ${w.sql})`,
          bindings: [path, ...w.bindings],
        };
      }
      const arr = `${main}."data" #> cast(? as text[])`;
      return {
        sql:
          `exists (select 1 from jsonb_array_elements(case when jsonb_typeof(${arr}) = 'array' then ${arr} ` +
          `else '[]'::jsonb end) as "je"("value") where ${p.sql})`,
        bindings: [source.path, source.path, ...p.bindings],
      };
    }
  }
}

/** `emails eq "x"` means `emails.value eq "x"`; a simple multi-valued attribute compares its elements. */
function elementTarget(r: ResolvedPath): ResolvedPath {
  if (r.sub || targetOf(r).type !== 'complex') return r;
  const value = withSub(r, 'value');
  if (!value) throw new FilterError(`'${r.name}' is complex: compare one of its sub-attributes instead`);
  return value;
}

/** Runs `compile` for a leaf, answering it as "not there" when its attribute is unknown and that is allowed. */
function guardUnknown(filter: Filter, scope: Scope, compile: () => Sql): Sql {
  try {
    return compile();
  } catch (err) {
    const absent = err instanceof UnknownAttributeError && scope.ctx.unknownAttributes === 'absent' ? absentLeaf(filter) : undefined;
    if (absent === undefined) throw err;
    return absent ? TRUE : FALSE;
  }
}

function compileRow(filter: Filter, scope: Scope): Sql {
  return guardUnknown(filter, scope, () => compileRowNode(filter, scope));
}

function compileRowNode(filter: Filter, scope: Scope): Sql {
  const { resource } = scope.ctx;
  switch (filter.kind) {
    case 'and':
    case 'or':
      return balanced(flatten(filter, filter.kind).map((f) => compileRow(f, scope)), filter.kind);
    case 'not':
      return not(compileRow(filter.expr, scope));
    case 'valuePath': {
      const parent = resolvePath(resource, filter.path);
      const storage = storageOf(parent);
      if (storage.kind !== 'multi') throw new FilterError(`'${parent.name}' is not multi-valued, so it takes no '[…]' filter`);
      return existsIn(storage.source, (inner) => compileElement(filter.filter, parent, storage.source, inner), scope);
    }
    case 'present': {
      const r = resolvePath(resource, filter.path);
      const storage = storageOf(r);
      if (storage.kind === 'multi') {
        return existsIn(
          storage.source,
          (inner) => (r.sub ? elementPresent(r, storage.source, inner) : TRUE),
          scope,
        );
      }
      if (storage.kind === 'complex') {
        const parts = storage.subs
          .map((s) => ({ s, st: storageOf(s) }))
          .filter(({ st }) => st.kind === 'single' && st.field.kind !== 'unfilterable')
          .map(({ s }) => compileRow({ kind: 'present', path: { schema: s.schema, attribute: s.attribute.name, subAttribute: s.sub?.name } }, scope));
        return parts.length ? balanced(parts, 'or') : FALSE;
      }
      const a = accessorOf(storage.field, r, scope);
      if ('constant' in a) return a.constant !== '' ? TRUE : FALSE;
      return a.present;
    }
    case 'compare': {
      const resolved = resolvePath(resource, filter.path);
      const storage = storageOf(resolved);
      if (storage.kind === 'complex') throw new FilterError(`'${resolved.name}' is complex: compare one of its sub-attributes instead`);
      if (storage.kind === 'multi') {
        const r = elementTarget(resolved);
        const operand = operandFor(r, filter.op, filter.value);
        const field = elementField(storage.source, r.sub);
        // On a multi-valued attribute, `ne` is the complement of "some element is equal", and
        // `eq null` the complement of "some element has a value".
        if (operand === null) {
          const some = existsIn(storage.source, (inner) => elementPresent(r, storage.source, inner), scope);
          return filter.op === 'eq' ? not(some) : some;
        }
        const op = filter.op === 'ne' ? 'eq' : filter.op;
        const some = existsIn(
          storage.source,
          (inner) => compareOn(accessorOf(field, r, inner), r, op, operand, inner),
          scope,
        );
        return filter.op === 'ne' ? not(some) : some;
      }
      const operand = operandFor(resolved, filter.op, filter.value);
      return compareOn(accessorOf(storage.field, resolved, scope), resolved, filter.op, operand, scope);
    }
  }
}

function elementPresent(r: ResolvedPath, source: ElementSource, scope: Scope): Sql {
  const field = elementField(source, r.sub);
  const a = accessorOf(field, r, scope);
  if ('constant' in a) return TRUE;
  return a.present;
}

/** A filter inside `attr[…]`, on one element of `source`. */
function compileElement(filter: Filter, parent: ResolvedPath, source: ElementSource, scope: Scope): Sql {
  return guardUnknown(filter, scope, () => compileElementNode(filter, parent, source, scope));
}

function compileElementNode(filter: Filter, parent: ResolvedPath, source: ElementSource, scope: Scope): Sql {
  switch (filter.kind) {
    case 'and':
    case 'or':
      return balanced(flatten(filter, filter.kind).map((f) => compileElement(f, parent, source, scope)), filter.kind);
    case 'not':
      return not(compileElement(filter.expr, parent, source, scope));
    case 'valuePath':
      throw new FilterError('value paths cannot be nested');
    case 'present': {
      const r = resolveElementPath(parent, filter.path);
      return elementPresent(r, source, scope);
    }
    case 'compare': {
      const r = resolveElementPath(parent, filter.path);
      const field = elementField(source, r.sub);
      const operand = operandFor(r, filter.op, filter.value);
      return compareOn(accessorOf(field, r, scope), r, filter.op, operand, scope);
    }
  }
}

function flatten(filter: Filter, kind: 'and' | 'or'): Filter[] {
  const out: Filter[] = [];
  const stack: Filter[] = [filter];
  while (stack.length) {
    const f = stack.pop() as Filter;
    if (f.kind === kind) stack.push(f.right, f.left);
    else out.push(f);
  }
  return out;
}

/** The SQL predicate for `filter` (a string is parsed first). Throws FilterError for bad filters. */
export function compileFilter(filter: Filter | string, ctx: FilterContext): Sql {
  const ast = typeof filter === 'string' ? parseFilter(filter) : filter;
  const compiled = compileRow(ast, { ctx, joins: new Set() });
  // Parenthesised, so a top-level `or` can never escape the caller's `tenant_id = ?`.
  return { sql: `(${compiled.sql})`, bindings: compiled.bindings };
}

/** Adds the filter to a query on `users` or `groups` (already scoped by tenant_id). */
export function applyFilter<Q extends Knex.QueryBuilder>(qb: Q, filter: Filter | string, ctx: FilterContext): Q {
  const compiled = compileFilter(filter, ctx);
  return qb.whereRaw(compiled.sql, compiled.bindings) as Q;
}

/**
 * The value to sort by for SCIM `sortBy`: case-insensitive attributes by their lower-cased value,
 * multi-valued ones by the primary element (else the lowest value). Use with `orderByRaw`, or
 * use `applySort`, which also puts missing values last and breaks ties by id.
 */
export function sortExpression(
  resource: ResourceType,
  sortBy: string,
  ctx: Dialect | { dialect: Dialect },
): { expr: string; bindings: Knex.Value[] } {
  const compiled = sortSql(resource, sortBy, typeof ctx === 'string' ? ctx : ctx.dialect);
  return { expr: compiled.sql, bindings: compiled.bindings };
}

function sortSql(resource: ResourceType, sortBy: string, dialect: Dialect): Sql {
  const ast = parseFilter(`${sortBy} pr`);
  if (ast.kind !== 'present') throw new FilterError(`invalid sortBy '${sortBy}'`);
  const resolved = resolvePath(resource, ast.path);
  const storage = storageOf(resolved);
  const scope: Scope = { ctx: { dialect, resource }, joins: new Set() };
  const pg = dialect === 'postgres';
  const valueOf = (a: Accessor, r: ResolvedPath): Sql => {
    const type = targetOf(r).type;
    if (type === 'integer' || type === 'decimal') return a.num ?? a.text;
    const folded = !isCaseExact(r) && !a.lowerCased && type !== 'boolean' && type !== 'dateTime';
    const e = folded ? sql(`lower(${a.text.sql})`, ...a.text.bindings) : a.text;
    return pg && type !== 'boolean' ? sql(`${e.sql} collate "C"`, ...e.bindings) : e;
  };
  if (storage.kind === 'complex') throw new FilterError(`cannot sort by complex attribute '${resolved.name}'`);
  if (storage.kind === 'single') {
    const a = accessorOf(storage.field, resolved, scope);
    if ('constant' in a) return sql('1');
    return valueOf(a, resolved);
  }
  const r = elementTarget(resolved);
  const main = quote(tableOf(resource));
  const inner: Scope = { ctx: scope.ctx, joins: new Set() };
  const a = accessorOf(elementField(storage.source, r.sub), r, inner);
  if ('constant' in a) return sql('1');
  const v = valueOf(a, r);
  switch (storage.source.kind) {
    case 'emails':
      return sql(
        `(select ${v.sql} from "user_emails" as "e" where "e"."user_id" = ${main}."id" order by "e"."primary" desc, "e"."value_lc" limit 1)`,
        ...v.bindings,
      );
    case 'members': {
      const joinSql = inner.joins.has('mu') ? ' inner join "users" as "mu" on "mu"."id" = "m"."user_id"' : '';
      return sql(`(select min(${v.sql}) from "memberships" as "m"${joinSql} where "m"."group_id" = ${main}."id")`, ...v.bindings);
    }
    case 'groups': {
      const joinSql = inner.joins.has('mg') ? ' inner join "groups" as "mg" on "mg"."id" = "m"."group_id"' : '';
      return sql(`(select min(${v.sql}) from "memberships" as "m"${joinSql} where "m"."user_id" = ${main}."id")`, ...v.bindings);
    }
    case 'json': {
      const hasPrimary = Boolean(withSub(resolved, 'primary'));
      if (!pg) {
        const path = `$${storage.source.path.map((k) => `."${k}"`).join('')}`;
        const primaryFirst = hasPrimary ? `case when json_type("je"."value", '$."primary"') = 'true' then 0 else 1 end, ` : '';
        return sql(
          `(select ${v.sql} from json_each(${main}."data", ?) as "je" where json_type(${main}."data", ?) = 'array' ` +
            `order by ${primaryFirst}cast("je"."key" as integer) limit 1)`,
          ...v.bindings,
          path,
          path,
        );
      }
      const arr = `${main}."data" #> cast(? as text[])`;
      const primaryFirst = hasPrimary ? `case when "je"."value" -> 'primary' = 'true'::jsonb then 0 else 1 end, ` : '';
      return sql(
        `(select ${v.sql} from jsonb_array_elements(case when jsonb_typeof(${arr}) = 'array' then ${arr} else '[]'::jsonb end) ` +
          `with ordinality as "je"("value", "ord") order by ${primaryFirst}"je"."ord" limit 1)`,
        ...v.bindings,
        storage.source.path,
        storage.source.path,
      );
    }
  }
}

/** Orders a list by SCIM `sortBy`/`sortOrder`: missing values last in both orders, then by id. */
export function applySort<Q extends Knex.QueryBuilder>(
  qb: Q,
  sortBy: string,
  sortOrder: 'ascending' | 'descending' | undefined,
  ctx: FilterContext,
): Q {
  const e = sortSql(ctx.resource, sortBy, ctx.dialect);
  const direction = sortOrder === 'descending' ? 'desc' : 'asc';
  const main = quote(tableOf(ctx.resource));
  return qb.orderByRaw(`(${e.sql}) is null, ${e.sql} ${direction}, ${main}."id" asc`, [...e.bindings, ...e.bindings]) as Q;
}
