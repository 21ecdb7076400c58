import { Router, type Request } from 'express';
import type { GroupRecord, GroupStep } from '../membership/types';
import { applyFilter, parseFilter, sortExpression } from './filter';
import { Errors } from './errors';
import { baseUrlOf, causeOf, ifMatchVersion, ifNoneMatchHits, principalOf, type ScimDeps } from './context';
import { listQueryFromRequest, listQueryFromSearch, type ListQuery } from './list';
import { applyPatch, planGroupPatch, readPatchOps } from './patch';
import { parseProjection, project, wants, type Projection } from './projection';
import { etagOf, groupFromScim, groupResource, memberIdsOf, renderGroup } from './resources';
import { LIST_RESPONSE_SCHEMA, groupDefinition } from './schemas';

export function groupsRouter(deps: ScimDeps): Router {
  const { store } = deps;
  const router = Router();

  const render = (tenantId: string, groups: GroupRecord[], base: string, projection: Projection) =>
    renderGroups(deps, tenantId, groups, base, projection);

  const list = async (req: Request, query: ListQuery) => {
    const { tenantId } = principalOf(req);
    const projection = parseProjection(groupDefinition(), query.attributes, query.excludedAttributes);
    const result = await listGroups(deps, tenantId, query);
    return {
      schemas: [LIST_RESPONSE_SCHEMA],
      totalResults: result.total,
      startIndex: query.startIndex,
      itemsPerPage: result.items.length,
      Resources: await render(tenantId, result.items, baseUrlOf(req), projection),
    };
  };

  /** The resource after a write, or 204 when the client asked for nothing (members of a big group are not re-read). */
  const answer = async (req: Request, res: Parameters<Parameters<Router['get']>[1]>[1], group: GroupRecord, status: number) => {
    res.setHeader('ETag', etagOf(group.version));
    const projection = parseProjection(groupDefinition(), req.query.attributes as string, req.query.excludedAttributes as string);
    const [body] = await render(principalOf(req).tenantId, [group], baseUrlOf(req), projection);
    res.status(status).json(body);
  };

  router.get('/', async (req, res) => {
    res.json(await list(req, listQueryFromRequest(req, deps.limits)));
  });

  router.post('/.search', async (req, res) => {
    res.json(await list(req, listQueryFromSearch(req.body, deps.limits)));
  });

  router.get('/:id', async (req, res) => {
    const { tenantId } = principalOf(req);
    const group = await store.getGroup(tenantId, req.params.id);
    if (!group) throw Errors.notFound(`Group ${req.params.id}`);
    res.setHeader('ETag', etagOf(group.version));
    if (ifNoneMatchHits(req, group.version)) return void res.status(304).end();
    await answer(req, res, group, 200);
  });

  router.post('/', async (req, res) => {
    const { tenantId } = principalOf(req);
    const input = groupFromScim(req.body);
    const group = await store.createGroup(tenantId, input.profile, input.memberIds ?? [], { cause: causeOf(req) });
    res.location(`${baseUrlOf(req)}/Groups/${group.id}`);
    await answer(req, res, group, 201);
  });

  router.put('/:id', async (req, res) => {
    const { tenantId } = principalOf(req);
    const input = groupFromScim(req.body);
    const steps: GroupStep[] = [{ kind: 'update', apply: () => input.profile }];
    // RFC 7644 §3.5.1: PUT replaces the resource; a body without members leaves none.
    steps.push({ kind: 'replaceMembers', userIds: input.memberIds ?? [] });
    const { group } = await store.changeGroup(tenantId, req.params.id, steps, { cause: causeOf(req), ifVersion: ifMatchVersion(req) });
    await answer(req, res, group, 200);
  });

  router.patch('/:id', async (req, res) => {
    const { tenantId } = principalOf(req);
    const plan = planGroupPatch(readPatchOps(req.body), memberIdsOf);
    const steps: GroupStep[] = [...plan.memberSteps];
    if (plan.attributeOps.length) {
      steps.unshift({
        kind: 'update',
        apply: (current) => groupFromScim(applyPatch(groupResource(current), plan.attributeOps, groupDefinition())).profile,
      });
    }
    const { group } = await store.changeGroup(tenantId, req.params.id, steps, { cause: causeOf(req), ifVersion: ifMatchVersion(req) });
    // RFC 7644 §3.5.2 allows 200 with the resource or 204. 204 unless the client asks for attributes:
    // re-reading a 100,000-member group to answer a one-member PATCH would defeat the member delta.
    if (req.query.attributes !== undefined || req.query.excludedAttributes !== undefined) return answer(req, res, group, 200);
    res.setHeader('ETag', etagOf(group.version));
    res.status(204).end();
  });

  router.delete('/:id', async (req, res) => {
    const { tenantId } = principalOf(req);
    await store.deleteGroup(tenantId, req.params.id, { cause: causeOf(req), ifVersion: ifMatchVersion(req) });
    res.status(204).end();
  });

  return router;
}

/** SCIM Groups from records; members are read only when they will be returned (not for excludedAttributes=members). */
export async function renderGroups(deps: ScimDeps, tenantId: string, groups: GroupRecord[], base: string, projection: Projection) {
  const members = wants(projection, 'members') && groups.length ? await deps.store.membersOfGroups(tenantId, groups.map((g) => g.id)) : undefined;
  return groups.map((g) => project(renderGroup(g, members ? (members.get(g.id) ?? []) : undefined, base), projection, groupDefinition()));
}

export async function listGroups(deps: ScimDeps, tenantId: string, query: ListQuery, unknownAttributes: 'error' | 'absent' = 'error') {
  const ast = query.filter !== undefined ? parseFilter(query.filter) : undefined;
  const ctx = { knex: deps.db.knex, dialect: deps.db.dialect, resource: 'Group' as const, unknownAttributes };
  return deps.store.listGroups(tenantId, {
    where: ast ? (qb) => applyFilter(qb, ast, ctx) : undefined,
    orderBy: query.sortBy ? { ...sortExpression('Group', query.sortBy, ctx), desc: query.descending } : undefined,
    offset: query.startIndex - 1,
    limit: query.count,
  });
}
