import type { Request } from 'express';
import type { ListOptions, ListResult, MembershipStore } from '../membership/store';
import type { GroupRecord, GroupRef, Member, UserRecord } from '../membership/types';
import { principalOf } from '../tenancy/bearer-auth';
import { baseUrlOf, type ScimDeps } from './context';
import type { SchemaDef } from './definitions';
import { compileFilter, parseFilter, sortExpression } from './filter';
import type { ListQuery } from './list';
import { parseProjection, project, wants, type Projection } from './projection';
import { renderGroup, renderUser } from './resources';
import { LIST_RESPONSE_SCHEMA, groupDefinition, userDefinition, type ResourceType } from './schemas';

/**
 * What differs between Users and Groups when listing and rendering: the store query, and the one
 * costly multi-valued attribute (a user's groups, a group's members), read for a whole page at once
 * and only when it will be returned.
 */
export interface Kind<R extends { id: string }, X> {
  type: ResourceType;
  definition: () => SchemaDef;
  /** A page; with `withRelated`, the related values too when the store reads them in the same statements. */
  list: (store: MembershipStore, tenantId: string, opts: ListOptions, withRelated: boolean) => Promise<ListResult<R> & { related?: Map<string, X[]> }>;
  related: { attribute: string; load: (store: MembershipStore, tenantId: string, ids: string[]) => Promise<Map<string, X[]>> };
  render: (record: R, related: X[] | undefined, base: string) => Record<string, unknown>;
}

export const USERS: Kind<UserRecord, GroupRef> = {
  type: 'User',
  definition: userDefinition,
  list: async (store, tenantId, opts, withRelated) => {
    const page = await store.listUsers(tenantId, opts, withRelated);
    return { items: page.items, total: page.total, related: page.groups };
  },
  related: { attribute: 'groups', load: (store, tenantId, ids) => store.groupsOfUsers(tenantId, ids) },
  render: renderUser,
};

export const GROUPS: Kind<GroupRecord, Member> = {
  type: 'Group',
  definition: groupDefinition,
  list: (store, tenantId, opts) => store.listGroups(tenantId, opts),
  related: { attribute: 'members', load: (store, tenantId, ids) => store.membersOfGroups(tenantId, ids) },
  render: renderGroup,
};

export async function renderMany<R extends { id: string }, X>(
  deps: ScimDeps,
  kind: Kind<R, X>,
  tenantId: string,
  records: R[],
  base: string,
  projection: Projection,
  /** The related values when the caller already knows them (a user just created has no groups). */
  known?: Map<string, X[]>,
): Promise<Record<string, unknown>[]> {
  const related =
    wants(projection, kind.related.attribute) && records.length
      ? (known ?? (await kind.related.load(deps.store, tenantId, records.map((r) => r.id))))
      : undefined;
  return records.map((r) => project(kind.render(r, related ? (related.get(r.id) ?? []) : undefined, base), projection, kind.definition()));
}

/**
 * Runs a list query in SQL: the filter and sort become SQL, the page is OFFSET/LIMIT on a stable
 * order. `absent` treats an attribute the type does not have as unassigned (root /.search).
 */
export function runList<R extends { id: string }, X>(
  deps: ScimDeps,
  kind: Kind<R, X>,
  tenantId: string,
  query: ListQuery,
  unknownAttributes: 'error' | 'absent' = 'error',
  /** Read the related values with the page where the store can (a user's groups). */
  withRelated = false,
): Promise<ListResult<R> & { related?: Map<string, X[]> }> {
  const ast = query.filter !== undefined ? parseFilter(query.filter) : undefined;
  const ctx = { dialect: deps.db.dialect, resource: kind.type, unknownAttributes };
  return kind.list(deps.store, tenantId, {
    where: ast ? compileFilter(ast, ctx) : undefined,
    orderBy: query.sortBy ? { ...sortExpression(kind.type, query.sortBy, ctx), desc: query.descending } : undefined,
    offset: query.startIndex - 1,
    limit: query.count,
  }, withRelated);
}

/** A SCIM ListResponse for GET /Users, /Groups and their /.search. */
export async function listResponse<R extends { id: string }, X>(deps: ScimDeps, kind: Kind<R, X>, req: Request, query: ListQuery) {
  const { tenantId } = principalOf(req);
  const projection = parseProjection(kind.definition(), query.attributes, query.excludedAttributes);
  const result = await runList(deps, kind, tenantId, query, 'error', wants(projection, kind.related.attribute));
  return {
    schemas: [LIST_RESPONSE_SCHEMA],
    totalResults: result.total,
    startIndex: query.startIndex,
    itemsPerPage: result.items.length,
    Resources: await renderMany(deps, kind, tenantId, result.items, baseUrlOf(req), projection, result.related),
  };
}
