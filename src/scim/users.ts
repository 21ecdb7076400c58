import { Router, type Request } from 'express';
import { applyFilter, parseFilter, sortExpression } from './filter';
import { Errors } from './errors';
import { baseUrlOf, causeOf, ifMatchVersion, ifNoneMatchHits, principalOf, type ScimDeps } from './context';
import { listQueryFromRequest, listQueryFromSearch, type ListQuery } from './list';
import { applyPatch, readPatchOps } from './patch';
import { parseProjection, project, wants, type Projection } from './projection';
import { etagOf, renderUser, userProfileFromScim, userResource } from './resources';
import { LIST_RESPONSE_SCHEMA, userDefinition } from './schemas';
import type { UserRecord } from '../membership/types';

export function usersRouter(deps: ScimDeps): Router {
  const { store } = deps;
  const router = Router();

  const render = (tenantId: string, users: UserRecord[], base: string, projection: Projection) =>
    renderUsers(deps, tenantId, users, base, projection);

  const list = async (req: Request, query: ListQuery) => {
    const { tenantId } = principalOf(req);
    const projection = parseProjection(userDefinition(), query.attributes, query.excludedAttributes);
    const result = await listUsers(deps, tenantId, query);
    return {
      schemas: [LIST_RESPONSE_SCHEMA],
      totalResults: result.total,
      startIndex: query.startIndex,
      itemsPerPage: result.items.length,
      Resources: await render(tenantId, result.items, baseUrlOf(req), projection),
    };
  };

  router.get('/', async (req, res) => {
    res.json(await list(req, listQueryFromRequest(req, deps.limits)));
  });

  router.post('/.search', async (req, res) => {
    res.json(await list(req, listQueryFromSearch(req.body, deps.limits)));
  });

  router.get('/:id', async (req, res) => {
    const { tenantId } = principalOf(req);
    const projection = parseProjection(userDefinition(), req.query.attributes as string, req.query.excludedAttributes as string);
    const user = await store.getUser(tenantId, req.params.id);
    if (!user) throw Errors.notFound(`User ${req.params.id}`);
    res.setHeader('ETag', etagOf(user.version));
    if (ifNoneMatchHits(req, user.version)) return void res.status(304).end();
    const [body] = await render(tenantId, [user], baseUrlOf(req), projection);
    res.json(body);
  });

  router.post('/', async (req, res) => {
    const { tenantId } = principalOf(req);
    const user = await store.createUser(tenantId, userProfileFromScim(req.body), { cause: causeOf(req) });
    const body = renderUser(user, [], baseUrlOf(req));
    res
      .status(201)
      .location((body.meta as { location: string }).location)
      .setHeader('ETag', etagOf(user.version));
    res.json(body);
  });

  router.put('/:id', async (req, res) => {
    const { tenantId } = principalOf(req);
    const profile = userProfileFromScim(req.body);
    const user = await store.modifyUser(tenantId, req.params.id, () => profile, { cause: causeOf(req), ifVersion: ifMatchVersion(req) });
    res.setHeader('ETag', etagOf(user.version));
    const [body] = await render(tenantId, [user], baseUrlOf(req), parseProjection(userDefinition(), undefined, undefined));
    res.json(body);
  });

  router.patch('/:id', async (req, res) => {
    const { tenantId } = principalOf(req);
    const ops = readPatchOps(req.body);
    const user = await store.modifyUser(
      tenantId,
      req.params.id,
      (current) => (ops.length ? userProfileFromScim(applyPatch(userResource(current), ops, userDefinition())) : current),
      { cause: causeOf(req), ifVersion: ifMatchVersion(req) },
    );
    res.setHeader('ETag', etagOf(user.version));
    // RFC 7644 §3.5.2: 200 with the resource, or 204. The resource when the client asks for attributes.
    if (req.query.attributes === undefined && req.query.excludedAttributes === undefined) return void res.status(204).end();
    const projection = parseProjection(userDefinition(), req.query.attributes as string, req.query.excludedAttributes as string);
    const [body] = await render(tenantId, [user], baseUrlOf(req), projection);
    res.json(body);
  });

  router.delete('/:id', async (req, res) => {
    const { tenantId } = principalOf(req);
    await store.deleteUser(tenantId, req.params.id, { cause: causeOf(req), ifVersion: ifMatchVersion(req) });
    res.status(204).end();
  });

  return router;
}

/** SCIM Users from records; `groups` is read (one query for the page) only when it will be returned. */
export async function renderUsers(deps: ScimDeps, tenantId: string, users: UserRecord[], base: string, projection: Projection) {
  const groups = wants(projection, 'groups') && users.length ? await deps.store.groupsOfUsers(tenantId, users.map((u) => u.id)) : undefined;
  return users.map((u) => project(renderUser(u, groups ? (groups.get(u.id) ?? []) : undefined, base), projection, userDefinition()));
}

/** Runs a list query in SQL: the filter and sort become SQL, the page is OFFSET/LIMIT on a stable order. */
export async function listUsers(deps: ScimDeps, tenantId: string, query: ListQuery, unknownAttributes: 'error' | 'absent' = 'error') {
  const ast = query.filter !== undefined ? parseFilter(query.filter) : undefined;
  const ctx = { knex: deps.db.knex, dialect: deps.db.dialect, resource: 'User' as const, unknownAttributes };
  return deps.store.listUsers(tenantId, {
    where: ast ? (qb) => applyFilter(qb, ast, ctx) : undefined,
    orderBy: query.sortBy ? { ...sortExpression('User', query.sortBy, ctx), desc: query.descending } : undefined,
    offset: query.startIndex - 1,
    limit: query.count,
  });
}
