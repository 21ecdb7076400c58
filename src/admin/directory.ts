import { Router, type Request } from 'express';
import { Directory, MAX_QUERY_GROUPS, type UserQuery } from '../enrollment/directory';
import { principalOf } from '../tenancy/bearer-auth';
import { AdminErrors } from './errors';
import { decodeCursor, encodeCursor, limitOf } from './paging';

/** Refuses query parameters a list does not know (a misspelt filter must not list everyone). */
export function onlyParams(req: Request, known: readonly string[]): void {
  const unknown = Object.keys(req.query).filter((k) => !known.includes(k));
  if (unknown.length) throw AdminErrors.invalidQuery(`unknown query parameter ${unknown.map((k) => `"${k}"`).join(', ')}; this list takes ${known.join(', ')}`);
}

/** A query parameter given once, as a string (not a list, not an object). */
function single(req: Request, name: string): string | undefined {
  const v = req.query[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw AdminErrors.invalidQuery(`${name} must be given once, as text`);
  return v;
}

/** What GET /users is asked: groups (repeatable), groupMode, department, status. */
function userQueryOf(req: Request): Omit<UserQuery, 'limit' | 'after'> {
  const raw = req.query.group;
  const groups = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  if (!groups.every((g): g is string => typeof g === 'string' && g !== '')) throw AdminErrors.invalidQuery('group must be a group id; repeat it for several groups');
  if (groups.length > MAX_QUERY_GROUPS) throw AdminErrors.invalidQuery(`at most ${MAX_QUERY_GROUPS} groups at once (got ${groups.length})`);
  const groupMode = single(req, 'groupMode');
  if (groupMode !== undefined && groupMode !== 'all' && groupMode !== 'any') throw AdminErrors.invalidQuery('groupMode must be all (members of every group given) or any (of at least one)');
  const department = single(req, 'department');
  if (department !== undefined && (department === '' || department.length > 300)) throw AdminErrors.invalidQuery('department must be 1 to 300 characters');
  const status = single(req, 'status');
  if (status !== undefined && status !== 'active' && status !== 'inactive') throw AdminErrors.invalidQuery('status must be active or inactive');
  return { groupIds: groups, groupMode, department, active: status === undefined ? undefined : status === 'active' };
}

/** /admin/v1/groups and /admin/v1/users: the group list with its counts, and the member list filtered by groups as tags. */
export function directoryRouter(directory: Directory): Router {
  const router = Router();
  const tenantOf = (req: Request) => principalOf(req).tenantId;

  router.get('/groups', async (req, res) => {
    onlyParams(req, ['limit', 'cursor']);
    const page = await directory.groups(tenantOf(req), { limit: limitOf(req), after: decodeCursor(req.query.cursor) });
    res.json({ items: page.items, next: encodeCursor(page.next) });
  });

  router.get('/groups/:groupId', async (req, res) => {
    onlyParams(req, []);
    const [group] = (await directory.groups(tenantOf(req), { limit: 1, ids: [req.params.groupId] })).items;
    if (!group) throw AdminErrors.notFound(`Group ${req.params.groupId}`);
    res.json(group);
  });

  router.get('/users', async (req, res) => {
    onlyParams(req, ['group', 'groupMode', 'department', 'status', 'limit', 'cursor']);
    const query = userQueryOf(req);
    const limit = limitOf(req);
    const after = decodeCursor(req.query.cursor);
    const [missing] = await directory.unknownGroups(tenantOf(req), query.groupIds ?? []);
    if (missing !== undefined) throw AdminErrors.notFound(`Group ${missing}`);
    const page = await directory.users(tenantOf(req), { ...query, limit, after });
    res.json({ items: page.items, next: encodeCursor(page.next) });
  });

  router.get('/users/:userId/access', async (req, res) => {
    onlyParams(req, []);
    const access = await directory.access(tenantOf(req), req.params.userId);
    if (!access) throw AdminErrors.notFound(`User ${req.params.userId}`);
    res.json({ items: access });
  });

  return router;
}
