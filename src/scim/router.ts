import express, { Router, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import SCIMMY from 'scimmy';
import SCIMMYRouters from 'scimmy-routers';
import type { Tenancy } from '../tenancy/tokens';
import { jsonVerify, NUL_REFUSED, urlHasNul } from '../nul';
import { bearerAuth } from '../tenancy/bearer-auth';
import { principalOf } from '../tenancy/bearer-auth';
import { baseUrlOf, type ScimDeps } from './context';
import { Errors, renderScimError, scimErrorHandler } from './errors';
import { assertKnownByAny, parseFilter } from './filter';
import { registerGroupRoutes } from './groups';
import { GROUPS, USERS, renderMany, runList } from './kinds';
import { listQueryFromSearch } from './list';
import { parseProjection, wants } from './projection';
import { rateLimit, type RateLimit } from './rate-limit';
import { LIST_RESPONSE_SCHEMA, declareScimSchemas, groupDefinition, userDefinition } from './schemas';
import { RouteTable } from './routes';
import { registerUserRoutes } from './users';

export interface ScimRouterDeps extends ScimDeps {
  tenancy: Tenancy;
  /** Marks each request for the sync log (SyncLog.capture). */
  capture: RequestHandler;
  log: Logger;
  maxBodyBytes: number;
  rateLimit: RateLimit;
}

/**
 * SCIM 2.0 at /scim/v2. Roster's own routes come first: the front door (auth, body limit, SCIM error
 * bodies), Users and Groups (lists and filters in SQL, PATCH as member deltas, ETags, Location), and
 * root /.search. scimmy-routers serves what it serves correctly: /ServiceProviderConfig,
 * /ResourceTypes and /Schemas, from the schemas scimmy holds.
 */
export function scimRouter(deps: ScimRouterDeps): Router {
  declareScimSchemas();
  const router = Router();
  router.use(frontDoor(deps));
  const resources = new RouteTable();
  registerUserRoutes(resources, deps);
  registerGroupRoutes(resources, deps);
  router.use(resources.middleware());
  router.post('/.search', async (req, res) => {
    res.json(await searchAll(deps, req));
  });

  router.use(discoveryRouter(deps.limits.maxPageSize));
  router.use((req, _res, next) => next(Errors.endpointNotFound(req.method, req.path)));
  router.use(scimErrorHandler(deps.log));
  return router;
}

/**
 * What every SCIM request passes first, as one middleware (each router layer costs a step of
 * express's dispatch): the sync log's mark, the content type, the bearer token, the rate limit, the
 * JSON body (of any content type: clients send application/scim+json, application/json, or nothing
 * at all), and the refusal of NUL characters (nul.ts).
 */
function frontDoor(deps: ScimRouterDeps): RequestHandler {
  const steps: RequestHandler[] = [
    deps.capture,
    (_req, res, next) => {
      res.setHeader('Content-Type', 'application/scim+json; charset=utf-8');
      next();
    },
    bearerAuth(deps.tenancy, 'scim', (res) => renderScimError(res, Errors.unauthorized())),
    rateLimit(deps.rateLimit),
    express.json({ type: () => true, limit: deps.maxBodyBytes, strict: true, verify: jsonVerify }),
    (req, _res, next) => next(req.bodyHasNul || urlHasNul(req.originalUrl) ? Errors.invalidValue(NUL_REFUSED) : undefined),
  ];
  return (req, res, next) => {
    let i = 0;
    const step = (err?: unknown): void => {
      const handler = steps[i++];
      if (err !== undefined || !handler) return next(err);
      const done: unknown = handler(req, res, step);
      if (done instanceof Promise) done.catch(step); // an async step that failed (bearerAuth's lookup)
    };
    step();
  };
}

/** Discovery endpoints from scimmy-routers (its resource routes are never reached: ours answer first). */
function discoveryRouter(maxPageSize: number): Router {
  const routers = new SCIMMYRouters({
    type: 'bearer',
    docUri: 'https://datatracker.ietf.org/doc/html/rfc6750',
    handler: () => '', // the front door has authenticated the request already
    baseUri: (req) => `${req.protocol}://${req.get('host') ?? 'localhost'}`,
  });
  // scimmy-routers switches Bulk on; Roster does not implement it, so say so (and /Bulk answers 501).
  SCIMMY.Config.set({
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: maxPageSize },
    etag: true,
    sort: true,
    patch: true,
    changePassword: false,
  } as never);
  const discovery = Router();
  discovery.use((req, res, next) => {
    if (/^\/(ServiceProviderConfig|ResourceTypes|Schemas)(\/|$)/i.test(req.path) || /^\/Bulk$/i.test(req.path)) return routers(req, res, next);
    next();
  });
  return discovery;
}

/** POST /.search at the root: Users, then Groups, paged as one list (RFC 7644 §3.4.3). */
async function searchAll(deps: ScimDeps, req: express.Request) {
  const { tenantId } = principalOf(req);
  const query = listQueryFromSearch(req.body, deps.limits);
  const base = baseUrlOf(req);
  // An attribute only one resource type has is unassigned on the other (so `displayName eq "x" or
  // userName eq "y"` finds groups and users); an attribute neither type knows is still a 400.
  if (query.filter !== undefined) assertKnownByAny(parseFilter(query.filter), ['User', 'Group']);
  const userProjection = parseProjection(userDefinition(), query.attributes, query.excludedAttributes);
  const users = await runList(deps, USERS, tenantId, query, 'absent', wants(userProjection, USERS.related.attribute));
  const groupsQuery = { ...query, startIndex: Math.max(0, query.startIndex - 1 - users.total) + 1, count: Math.max(0, query.count - users.items.length) };
  const groups = await runList(deps, GROUPS, tenantId, groupsQuery, 'absent');
  const resources = [
    ...(await renderMany(deps, USERS, tenantId, users.items, base, userProjection, users.related)),
    ...(await renderMany(deps, GROUPS, tenantId, groups.items, base, parseProjection(groupDefinition(), query.attributes, query.excludedAttributes))),
  ];
  return {
    schemas: [LIST_RESPONSE_SCHEMA],
    totalResults: users.total + groups.total,
    startIndex: query.startIndex,
    itemsPerPage: resources.length,
    Resources: resources,
  };
}
