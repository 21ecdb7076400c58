import type { ErrorRequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { CreditError } from '../credits/errors';
import { StoreError } from '../membership/errors';

/** An admin API error: `{ "error": { "code", "message", "details" } }` with its HTTP status. */
export class AdminError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'AdminError';
  }
}

export const AdminErrors = {
  unauthorized: () => new AdminError(401, 'unauthorized', 'An admin token is required (Authorization: Bearer …)'),
  forbidden: (message: string, details?: unknown) => new AdminError(403, 'forbidden', message, details),
  notFound: (what: string) => new AdminError(404, 'notFound', `${what} not found`),
  routeNotFound: (method: string, path: string) => new AdminError(404, 'notFound', `No admin API route ${method} ${path}`),
  invalidBody: (details: unknown) => new AdminError(400, 'invalidBody', 'The request body is not valid', details),
  invalidQuery: (message: string) => new AdminError(400, 'invalidQuery', message),
  conflict: (message: string, details?: unknown) => new AdminError(409, 'conflict', message, details),
  coachingDisabled: () =>
    new AdminError(409, 'coachingDisabled', 'Coaching is not enabled for this tenant, so it has no credits; an admin enables it with PATCH /admin/v1/settings {"coaching": true}'),
  tooLarge: () => new AdminError(413, 'tooLarge', 'The request body is too large'),
  busy: (retryAfter = 5) => new AdminError(503, 'busy', 'Roster is busy with other changes; retry after the time in Retry-After', undefined, retryAfter),
  overBudget: () => new AdminError(503, 'overBudget', 'The request did not finish within its time budget (SCIM_REQUEST_BUDGET_MS); nothing was applied; retry after the time in Retry-After', undefined, 5),
  internal: (requestId: string) =>
    new AdminError(500, 'internal', `Internal server error; the operator can find it in the server log under request id ${requestId}`),
};

export function renderAdminError(res: Response, err: AdminError): void {
  if (err.retryAfter !== undefined) res.setHeader('Retry-After', String(err.retryAfter));
  res.status(err.status).json({ error: { code: err.code, message: err.message, ...(err.details === undefined ? {} : { details: err.details }) } });
}

export function toAdminError(err: unknown, requestId: string): AdminError {
  if (err instanceof AdminError) return err;
  if (err instanceof StoreError) {
    switch (err.code) {
      case 'userNotFound':
      case 'groupNotFound':
      case 'contentNotFound':
        return new AdminError(404, 'notFound', err.message, err.details);
      case 'userNameTaken':
      case 'conflict':
        return AdminErrors.conflict(err.message, err.details);
      case 'versionMismatch':
        return new AdminError(412, 'versionMismatch', err.message, err.details);
      case 'unknownMembers':
      case 'invalid':
        return new AdminError(400, 'invalid', err.message, err.details);
      case 'inactiveMembers':
        return new AdminError(400, 'inactiveUsers', err.message, err.details);
      case 'groupFull':
        return new AdminError(409, 'groupFull', err.message, err.details);
      case 'groupArchived':
        return new AdminError(409, 'archived', err.message, err.details);
      case 'managedByIdentityProvider':
      case 'managedByRule':
        return new AdminError(409, err.code, err.message, err.details);
      case 'privateGroup':
        return AdminErrors.forbidden(err.message, err.details);
    }
  }
  if (err instanceof CreditError) {
    switch (err.code) {
      case 'coachingDisabled':
        return AdminErrors.coachingDisabled();
      case 'insufficientCredits':
      case 'overSessionLimit':
        return new AdminError(409, err.code, err.message, err.details);
      case 'notMembers':
        return new AdminError(400, err.code, err.message, err.details);
    }
  }
  const e = err as { type?: string; name?: string; code?: string };
  if (e.type === 'entity.parse.failed') return AdminErrors.invalidBody([{ path: '', message: 'the body is not valid JSON' }]);
  if (e.type === 'entity.too.large') return AdminErrors.tooLarge();
  if (e.name === 'KnexTimeoutError') return AdminErrors.busy();
  if (e.name === 'BudgetExceeded') return AdminErrors.overBudget();
  if (e.code === '40P01') return AdminErrors.busy(1);
  return AdminErrors.internal(requestId);
}

export function adminErrorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const requestId = String(res.getHeader('x-request-id') ?? '');
    const adminErr = toAdminError(err, requestId);
    if (adminErr.status >= 500) log.error({ err, requestId, method: req.method, path: req.path }, 'admin request failed');
    if (res.headersSent) return;
    renderAdminError(res, adminErr);
  };
}
