import { Router, type ErrorRequestHandler, type Request, type Response } from 'express';
import { NUL_REFUSED, urlHasNul } from '../nul';
import type { Logger } from 'pino';
import type { Db } from '../db/knex';
import { AdminError } from '../admin/errors';
import { encodeLogCursor, logCursorOf, logFilterOf } from '../admin/sync-log';
import type { AssignmentStore } from '../enrollment/assignments';
import type { EnrollmentStore } from '../enrollment/enrollments';
import type { MembershipStore } from '../membership/store';
import type { SyncLog } from '../synclog/sync-log';
import { principalOf } from '../tenancy/bearer-auth';
import type { Tenancy } from '../tenancy/tokens';
import { requireSignIn, securityHeaders, signInRouter } from './auth';
import type { Html } from './html';
import { layout } from './layout';
import { OpsQueries } from './queries';
import type { WebhookStore } from '../outbox/webhooks';
import { FILTER_FIELDS, entryPage, groupPage, logPage, messagePage, searchPage, userPage, webhooksPage, type FilterValues } from './views';

export interface OpsDeps {
  tenancy: Tenancy;
  syncLog: SyncLog;
  store: MembershipStore;
  enrollments: EnrollmentStore;
  assignments: AssignmentStore;
  webhooks: WebhookStore;
  db: Db;
  log: Logger;
}

const ENROLLMENTS_SHOWN = 100;
const RECENT = 20;

function send(res: Response, req: Request, title: string, body: Html, status = 200): void {
  res.status(status).type('html').send(layout({ title, tenant: req.principal?.tenantName }, body).value);
}

const param = (v: unknown): string => (typeof v === 'string' ? v : '');

/**
 * The operator pages at /ops: server-rendered HTML over the same stores and sync-log reader as the
 * admin API, signed in with an admin token kept in an HttpOnly cookie.
 */
export function opsRouter(deps: OpsDeps): Router {
  const router = Router();
  const queries = new OpsQueries(deps.db);
  router.use(securityHeaders);
  router.use((req, res, next) => (urlHasNul(req.originalUrl) ? send(res, req, 'Error', messagePage('Error', NUL_REFUSED), 400) : next()));
  router.use(signInRouter(deps.tenancy));
  router.use(requireSignIn(deps.tenancy));

  router.get('/', (_req, res) => res.redirect(303, '/ops/log'));

  router.get('/log', async (req, res) => {
    const values: FilterValues = {};
    for (const f of FILTER_FIELDS) values[f] = param(req.query[f]) || undefined;
    try {
      const filter = logFilterOf(values, principalOf(req).tenantId);
      await deps.syncLog.writer.flush();
      const page = await deps.syncLog.reader.list(filter, { limit: 50, after: logCursorOf(req.query.cursor) });
      send(res, req, 'Sync log', logPage(values, page.items, encodeLogCursor(page.next)));
    } catch (err) {
      if (!(err instanceof AdminError) || err.status !== 400) throw err;
      send(res, req, 'Sync log', logPage(values, [], null, err.message), 400);
    }
  });

  router.get('/log/:requestId', async (req, res) => {
    await deps.syncLog.writer.flush();
    const detail = await deps.syncLog.reader.get(principalOf(req).tenantId, req.params.requestId);
    if (!detail) return send(res, req, 'Not found', messagePage('Not found', `No sync-log entry ${req.params.requestId} in this tenant.`), 404);
    send(res, req, `Request ${req.params.requestId.slice(0, 8)}`, entryPage(req.params.requestId, detail.entry, detail.changes));
  });

  router.get('/users', async (req, res) => {
    const q = param(req.query.q).trim();
    send(res, req, 'Users', searchPage('users', q, q ? await queries.findUsers(principalOf(req).tenantId, q) : []));
  });

  router.get('/users/:id', async (req, res) => {
    const tenantId = principalOf(req).tenantId;
    const user = await deps.store.getUser(tenantId, req.params.id);
    if (!user) return send(res, req, 'Not found', messagePage('Not found', `No user ${req.params.id} in this tenant.`), 404);
    const [groups, enrollments] = await Promise.all([deps.store.groupsOfUsers(tenantId, [user.id]), deps.enrollments.forUser(tenantId, user.id, { limit: ENROLLMENTS_SHOWN })]);
    const groupIds = enrollments.items.flatMap((e) => e.grants.map((g) => g.groupId).filter((id): id is string => id !== null));
    await deps.syncLog.writer.flush();
    const [content, groupNames, recent] = await Promise.all([
      queries.names(tenantId, 'content', enrollments.items.map((e) => e.contentId)),
      queries.names(tenantId, 'groups', groupIds),
      deps.syncLog.reader.list({ tenantId, userId: user.id }, { limit: RECENT }),
    ]);
    const body = userPage(user, groups.get(user.id) ?? [], enrollments.items, { content, groups: groupNames }, recent.items, enrollments.next !== null);
    send(res, req, user.userName, body);
  });

  router.get('/groups', async (req, res) => {
    const q = param(req.query.q).trim();
    send(res, req, 'Groups', searchPage('groups', q, q ? await queries.findGroups(principalOf(req).tenantId, q) : []));
  });

  router.get('/groups/:id', async (req, res) => {
    const tenantId = principalOf(req).tenantId;
    const group = await deps.store.getGroup(tenantId, req.params.id);
    if (!group) return send(res, req, 'Not found', messagePage('Not found', `No group ${req.params.id} in this tenant.`), 404);
    await deps.syncLog.writer.flush();
    const [count, members, assignments, recent] = await Promise.all([
      deps.store.countMembers(tenantId, group.id),
      queries.members(tenantId, group.id),
      deps.assignments.listForGroup(tenantId, group.id),
      deps.syncLog.reader.list({ tenantId, resourceType: 'Group', resourceId: group.id }, { limit: RECENT }),
    ]);
    const titles = await queries.names(tenantId, 'content', (assignments ?? []).map((a) => a.contentId));
    send(res, req, group.displayName, groupPage(group, count, members, assignments ?? [], titles, recent.items));
  });

  router.get('/webhooks', async (req, res) => {
    const tenantId = principalOf(req).tenantId;
    const hooks = await deps.webhooks.list(tenantId);
    const withDeliveries = await Promise.all(hooks.map(async (hook) => ({ hook, deliveries: await deps.webhooks.deliveries(tenantId, hook.id, 10) })));
    send(res, req, 'Webhooks', webhooksPage(withDeliveries));
  });

  router.use((req, res) => send(res, req, 'Not found', messagePage('Not found', `No page ${req.path}.`), 404));
  router.use(opsErrorPage(deps.log));
  return router;
}

/** A failure is a 500 page naming the request id (the same id as in the server log), never a 404. */
function opsErrorPage(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const status = clientErrorStatus(err);
    if (status !== undefined) return send(res, req, 'Error', messagePage('Error', (err as Error).message), status);
    log.error({ err, requestId: req.requestId, path: req.path }, 'operator page failed');
    if (res.headersSent) return;
    send(res, req, 'Error', messagePage('Something went wrong', `The server could not show this page. The operator can find it in the server log under request id ${req.requestId ?? ''}.`), 500);
  };
}

/** The status of an error that is the client's doing: an admin 4xx, or body-parser's (a sign-in form too large). */
function clientErrorStatus(err: unknown): number | undefined {
  if (err instanceof AdminError) return err.status < 500 ? err.status : undefined;
  const { status, expose } = (err ?? {}) as { status?: unknown; expose?: unknown };
  return typeof status === 'number' && status >= 400 && status < 500 && expose === true ? status : undefined;
}
