import type { Request, RequestHandler } from 'express';
import type { GroupAdmins } from '../membership/group-admins';
import { principalOf } from '../tenancy/bearer-auth';
import { AdminErrors } from './errors';

/** What a member token (bound to one user) may do at the admin API; everything else is a workspace admin's. */
type Allowance =
  /** The token's user administers the group in the path. */
  | 'groupAdmin'
  /** The list of one group's members (`GET /users?group=ID`), of a group the user administers. */
  | 'groupAdminList'
  /** Anything about the token's own user (the user id in the path). */
  | 'self'
  /** Joining or leaving a group by themselves (the group says whether it allows it). */
  | 'member';

const MEMBER_ROUTES: { method: string; path: RegExp; allow: Allowance }[] = [
  { method: 'POST', path: /^\/groups\/([^/]+)\/members$/, allow: 'groupAdmin' },
  { method: 'DELETE', path: /^\/groups\/([^/]+)\/members\/[^/]+$/, allow: 'groupAdmin' },
  { method: 'POST', path: /^\/groups\/([^/]+)\/credits\/distributions$/, allow: 'groupAdmin' },
  { method: 'GET', path: /^\/groups\/([^/]+)(?:\/(?:admins|activity|messages|credits|stats|assignments))?$/, allow: 'groupAdmin' },
  { method: 'GET', path: /^\/users$/, allow: 'groupAdminList' },
  { method: 'POST', path: /^\/groups\/([^/]+)\/(?:join|leave)$/, allow: 'member' },
  { method: 'GET', path: /^\/users\/([^/]+)\/(?:access|enrollments|credits)$/, allow: 'self' },
];

const WHAT_MEMBERS_MAY =
  'a member token may join and leave public groups and read its own user; as a group admin it may also add and remove members of that group, distribute its credits and read the group';

/**
 * Every admin API call with a member token is checked here before any route runs: the route must
 * be one a member token may use, and the token's user must be active and, for a group's routes,
 * administer that group now (appointed, still a member). Workspace admins (admin tokens) pass.
 * Paths are matched as sent; a spelling the routes would also take (another letter case, a
 * trailing slash) is refused, never let through.
 */
export function authorizeMembers(groupAdmins: GroupAdmins): RequestHandler {
  return async (req, _res, next) => {
    const principal = principalOf(req);
    if (principal.scope !== 'member') return next();
    const userId = principal.userId!;
    const route = MEMBER_ROUTES.find((r) => r.method === req.method && r.path.test(req.path));
    if (!route) throw AdminErrors.forbidden(`${req.method} ${req.path} needs a workspace admin token; ${WHAT_MEMBERS_MAY}`);
    if (!(await groupAdmins.isActiveUser(principal.tenantId, userId))) throw AdminErrors.forbidden(`the user this token acts for (${userId}) is deactivated`);
    const id = segment(req, route.path);
    switch (route.allow) {
      case 'member':
        return next();
      case 'self':
        if (id !== userId) throw AdminErrors.forbidden(`a member token reads its own user (${userId}) only`);
        return next();
      case 'groupAdminList': {
        const group = req.query.group;
        if (typeof group !== 'string') throw AdminErrors.forbidden('a group admin lists the members of one group they administer: GET /users?group=ID');
        await mustAdminister(groupAdmins, principal.tenantId, group, userId);
        return next();
      }
      case 'groupAdmin': {
        await mustAdminister(groupAdmins, principal.tenantId, id!, userId);
        // Copying another group's members would show who they are: only a group the user administers too.
        const copyFrom = (req.body as { copyFrom?: unknown } | undefined)?.copyFrom;
        if (req.method === 'POST' && typeof copyFrom === 'string') await mustAdminister(groupAdmins, principal.tenantId, copyFrom, userId);
        return next();
      }
    }
  };
}

function segment(req: Request, path: RegExp): string | undefined {
  const raw = path.exec(req.path)?.[1];
  if (raw === undefined) return undefined;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw; // not a valid escape: it names no group, and the check refuses it
  }
}

async function mustAdminister(groupAdmins: GroupAdmins, tenantId: string, groupId: string, userId: string): Promise<void> {
  if (!(await groupAdmins.isAdminOf(tenantId, groupId, userId))) throw AdminErrors.forbidden(`user ${userId} is not an admin of group ${groupId}`);
}
