import express, { Router } from 'express';
import type { Logger } from 'pino';
import type { ContentStore } from '../enrollment/content';
import { jsonVerify, NUL_REFUSED, urlHasNul } from '../nul';
import { bearerAuth } from '../tenancy/bearer-auth';
import type { Tenancy } from '../tenancy/tokens';
import type { GroupActivity } from '../activity/feed';
import type { GroupMessages } from '../activity/messages';
import type { AssignmentStore } from '../enrollment/assignments';
import type { EnrollmentStore } from '../enrollment/enrollments';
import type { WebhookStore } from '../outbox/webhooks';
import type { SyncLog } from '../synclog/sync-log';
import { activityRouter } from './activity';
import { assignmentsRouter } from './assignments';
import { contentRouter } from './content';
import { creditsRouter } from './credits';
import type { CreditLedger } from '../credits/ledger';
import type { CreditStore } from '../credits/store';
import { directoryRouter } from './directory';
import { groupsRouter } from './groups';
import { groupAdminsRouter } from './group-admins';
import { authorizeMembers } from './authorize';
import type { GroupAdmins } from '../membership/group-admins';
import type { MembershipStore } from '../membership/store';
import type { People } from '../membership/people';
import type { Directory } from '../enrollment/directory';
import { syncLogRouter } from './sync-log';
import { webhooksRouter } from './webhooks';
import { AdminError, adminErrorHandler, AdminErrors, renderAdminError } from './errors';

export interface AdminDeps {
  tenancy: Tenancy;
  content: ContentStore;
  assignments: AssignmentStore;
  enrollments: EnrollmentStore;
  syncLog: SyncLog;
  webhooks: WebhookStore;
  directory: Directory;
  store: MembershipStore;
  people: People;
  groupAdmins: GroupAdmins;
  activity: GroupActivity;
  messages: GroupMessages;
  credits: CreditStore;
  ledger: CreditLedger;
  log: Logger;
}

/**
 * The admin API at /admin/v1: JSON, bodies validated against schemas/. A workspace admin's token
 * (scope admin) may do everything; a member token (bound to a user) what authorizeMembers allows.
 */
export function adminRouter(deps: AdminDeps): Router {
  const router = Router();
  router.use(bearerAuth(deps.tenancy, ['admin', 'member'], (res) => renderAdminError(res, AdminErrors.unauthorized())));
  router.use(express.json({ limit: '1mb', verify: jsonVerify }));
  router.use((req, _res, next) =>
    next(urlHasNul(req.originalUrl) ? AdminErrors.invalidQuery(NUL_REFUSED) : req.bodyHasNul ? new AdminError(400, 'invalidBody', NUL_REFUSED) : undefined),
  );
  router.use(authorizeMembers(deps.groupAdmins));
  router.use('/content', contentRouter(deps.content));
  router.use(assignmentsRouter(deps.assignments, deps.enrollments));
  router.use(directoryRouter(deps.directory));
  router.use(groupsRouter(deps.store, deps.people, deps.directory));
  router.use(groupAdminsRouter(deps.store, deps.groupAdmins, deps.tenancy));
  router.use(activityRouter(deps.activity, deps.messages));
  router.use(creditsRouter(deps.credits, deps.ledger));
  router.use('/sync-log', syncLogRouter(deps.syncLog));
  router.use('/webhooks', webhooksRouter(deps.webhooks));
  router.use((req, _res, next) => next(AdminErrors.routeNotFound(req.method, req.path)));
  router.use(adminErrorHandler(deps.log));
  return router;
}
