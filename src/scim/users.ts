import type { Request, Response } from 'express';
import type { GroupRef, UserRecord } from '../membership/types';
import { principalOf } from '../tenancy/bearer-auth';
import { baseUrlOf, causeOf, ifMatchVersion, ifNoneMatchHits, type ScimDeps } from './context';
import { Errors } from './errors';
import type { RouteTable } from './routes';
import { USERS, listResponse, renderMany } from './kinds';
import { listQueryFromRequest, listQueryFromSearch, projectionOf, wantsBody } from './list';
import { passwordHashFor, passwordOfBody, passwordOfPatch } from './passwords';
import { applyPatch, readPatchOps } from './patch';
import { etagOf, userProfileFromScim, userResource } from './resources';
import { userDefinition } from './schemas';

/** Users at /Users, in the SCIM route table (routes.ts). */
export function registerUserRoutes(router: RouteTable, deps: ScimDeps): void {
  const { store } = deps;

  /** The user as the response body, honouring `attributes` / `excludedAttributes`. */
  const answer = async (req: Request, res: Response, user: UserRecord, status: number, groups?: Map<string, GroupRef[]>) => {
    res.setHeader('ETag', etagOf(user.version));
    const [body] = await renderMany(deps, USERS, principalOf(req).tenantId, [user], baseUrlOf(req), projectionOf(req, userDefinition()), groups);
    res.status(status).json(body);
  };

  router.get('/Users', async (req, res) => {
    res.json(await listResponse(deps, USERS, req, listQueryFromRequest(req, deps.limits)));
  });

  router.post('/Users/.search', async (req, res) => {
    res.json(await listResponse(deps, USERS, req, listQueryFromSearch(req.body, deps.limits)));
  });

  router.get('/Users/:id', async (req, res) => {
    const found = await store.getUserWithGroups(principalOf(req).tenantId, req.params.id);
    if (!found) throw Errors.notFound(`User ${req.params.id}`);
    const { user, groups } = found;
    if (ifNoneMatchHits(req, user.version)) return void res.setHeader('ETag', etagOf(user.version)).status(304).end();
    await answer(req, res, user, 200, new Map([[user.id, groups]]));
  });

  router.post('/Users', async (req, res) => {
    const profile = userProfileFromScim(req.body);
    const passwordHash = await passwordHashFor(deps.passwords, passwordOfBody(req.body));
    const user = await store.createUser(principalOf(req).tenantId, profile, { cause: causeOf(req), passwordHash });
    res.location(`${baseUrlOf(req)}/Users/${user.id}`);
    await answer(req, res, user, 201, new Map([[user.id, []]])); // a user just created is in no group
  });

  router.put('/Users/:id', async (req, res) => {
    const profile = userProfileFromScim(req.body);
    // A PUT without a password leaves the stored one: it is write-only, never part of what a client reads.
    const passwordHash = await passwordHashFor(deps.passwords, passwordOfBody(req.body));
    const user = await store.modifyUser(principalOf(req).tenantId, req.params.id, () => profile, {
      cause: causeOf(req),
      ifVersion: ifMatchVersion(req),
      passwordHash,
    });
    await answer(req, res, user, 200);
  });

  router.patch('/Users/:id', async (req, res) => {
    const ops = readPatchOps(req.body);
    const passwordHash = await passwordHashFor(deps.passwords, passwordOfPatch(ops));
    const user = await store.modifyUser(
      principalOf(req).tenantId,
      req.params.id,
      (current) => (ops.length ? userProfileFromScim(applyPatch(userResource(current), ops, userDefinition())) : current),
      { cause: causeOf(req), ifVersion: ifMatchVersion(req), passwordHash },
    );
    // RFC 7644 §3.5.2: 200 with the resource, or 204. The resource when the client asks for attributes.
    if (!wantsBody(req)) return void res.setHeader('ETag', etagOf(user.version)).status(204).end();
    await answer(req, res, user, 200);
  });

  router.delete('/Users/:id', async (req, res) => {
    await store.deleteUser(principalOf(req).tenantId, req.params.id, { cause: causeOf(req), ifVersion: ifMatchVersion(req) });
    res.status(204).end();
  });
}
