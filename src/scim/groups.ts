import type { Request, Response } from 'express';
import type { GroupRecord, GroupStep } from '../membership/types';
import { principalOf } from '../tenancy/bearer-auth';
import { baseUrlOf, causeOf, ifMatchVersion, ifNoneMatchHits, type ScimDeps } from './context';
import { Errors } from './errors';
import type { RouteTable } from './routes';
import { GROUPS, listResponse, renderMany } from './kinds';
import { listQueryFromRequest, listQueryFromSearch, projectionOf, wantsBody } from './list';
import { applyPatch, planGroupPatch, readPatchOps } from './patch';
import { etagOf, groupFromScim, groupResource, memberIdsOf, renderGroup, renderMember, SCIM_SETTINGS_DEFAULTS } from './resources';
import { STREAMED_OVER, writeStreamed } from './stream';
import { groupDefinition } from './schemas';

/** Groups at /Groups, in the SCIM route table (routes.ts). */
export function registerGroupRoutes(router: RouteTable, deps: ScimDeps): void {
  const { store } = deps;

  /**
   * The group as the response body, honouring `attributes` / `excludedAttributes` (members read only
   * if returned). A long member list in a whole resource is written in pieces.
   */
  const answer = async (req: Request, res: Response, group: GroupRecord, status: number) => {
    res.setHeader('ETag', etagOf(group.version));
    const { tenantId } = principalOf(req);
    const projection = projectionOf(req, groupDefinition());
    const base = baseUrlOf(req);
    const members = projection.mode === 'all' ? (await store.membersOfGroups(tenantId, [group.id])).get(group.id) ?? [] : undefined;
    if (members && members.length > STREAMED_OVER) {
      return writeStreamed(res, status, renderGroup(group, [], base), 'members', members, (m) => renderMember(m, base));
    }
    const [body] = await renderMany(deps, GROUPS, tenantId, [group], base, projection, members && new Map([[group.id, members]]));
    res.status(status).json(body);
  };

  router.get('/Groups', async (req, res) => {
    res.json(await listResponse(deps, GROUPS, req, listQueryFromRequest(req, deps.limits)));
  });

  router.post('/Groups/.search', async (req, res) => {
    res.json(await listResponse(deps, GROUPS, req, listQueryFromSearch(req.body, deps.limits)));
  });

  router.get('/Groups/:id', async (req, res) => {
    const group = await store.getGroup(principalOf(req).tenantId, req.params.id);
    if (!group) throw Errors.notFound(`Group ${req.params.id}`);
    if (ifNoneMatchHits(req, group.version)) return void res.setHeader('ETag', etagOf(group.version)).status(304).end();
    await answer(req, res, group, 200);
  });

  router.post('/Groups', async (req, res) => {
    const input = groupFromScim(req.body);
    const group = await store.createGroup(principalOf(req).tenantId, { ...input.profile, settings: input.settings }, input.memberIds ?? [], { cause: causeOf(req) });
    res.location(`${baseUrlOf(req)}/Groups/${group.id}`);
    await answer(req, res, group, 201);
  });

  router.put('/Groups/:id', async (req, res) => {
    const input = groupFromScim(req.body);
    // RFC 7644 §3.5.1: PUT replaces the resource; a body without members leaves none. Settings the
    // body does not name keep their values: identity providers never send the Roster extension, and
    // a learning admin's description or member limit must survive their next push.
    const steps: GroupStep[] = [
      { kind: 'update', apply: (current) => ({ ...input.profile, settings: { ...current.settings, ...input.settings } }) },
      { kind: 'replaceMembers', userIds: input.memberIds ?? [] },
    ];
    const { group } = await store.changeGroup(principalOf(req).tenantId, req.params.id, steps, {
      cause: causeOf(req),
      ifVersion: ifMatchVersion(req),
    });
    await answer(req, res, group, 200);
  });

  router.patch('/Groups/:id', async (req, res) => {
    const plan = planGroupPatch(readPatchOps(req.body), memberIdsOf);
    const steps: GroupStep[] = [...plan.memberSteps];
    if (plan.attributeOps.length) {
      steps.unshift({
        kind: 'update',
        apply: (current) => {
          // The patched resource says every SCIM setting: one it no longer names was removed.
          const patched = groupFromScim(applyPatch(groupResource(current), plan.attributeOps, groupDefinition()));
          return { ...patched.profile, settings: { ...current.settings, ...SCIM_SETTINGS_DEFAULTS, ...patched.settings } };
        },
      });
    }
    const { group } = await store.changeGroup(principalOf(req).tenantId, req.params.id, steps, {
      cause: causeOf(req),
      ifVersion: ifMatchVersion(req),
    });
    // 204 unless the client asks for attributes: re-reading a 100,000-member group to answer a
    // one-member PATCH would defeat the member delta.
    if (!wantsBody(req)) return void res.setHeader('ETag', etagOf(group.version)).status(204).end();
    await answer(req, res, group, 200);
  });

  router.delete('/Groups/:id', async (req, res) => {
    await store.deleteGroup(principalOf(req).tenantId, req.params.id, { cause: causeOf(req), ifVersion: ifMatchVersion(req) });
    res.status(204).end();
  });
}
