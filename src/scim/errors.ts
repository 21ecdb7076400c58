import type { ErrorRequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import SCIMMY from 'scimmy';
import { StoreError } from '../membership/errors';
import { ERROR_SCHEMA } from './schemas';
import { FilterError } from './filter';

export type ScimType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers'
  | 'sensitive';

export class ScimError extends Error {
  constructor(
    readonly status: number,
    readonly scimType: ScimType | undefined,
    readonly detail: string,
    /** Seconds, sent as Retry-After (whole seconds, as Okta expects). */
    readonly retryAfter?: number,
  ) {
    super(detail);
    this.name = 'ScimError';
  }
}

export const Errors = {
  unauthorized: () => new ScimError(401, undefined, 'A valid SCIM bearer token is required (Authorization: Bearer …)'),
  notFound: (what: string) => new ScimError(404, undefined, `${what} not found`),
  endpointNotFound: (method: string, path: string) => new ScimError(404, undefined, `No SCIM endpoint ${method} ${path}`),
  methodNotAllowed: (method: string, path: string) => new ScimError(405, undefined, `${method} is not supported on ${path}`),
  uniqueness: (detail: string) => new ScimError(409, 'uniqueness', detail),
  preconditionFailed: (detail: string) => new ScimError(412, undefined, detail),
  invalidValue: (detail: string) => new ScimError(400, 'invalidValue', detail),
  invalidSyntax: (detail: string) => new ScimError(400, 'invalidSyntax', detail),
  invalidFilter: (detail: string) => new ScimError(400, 'invalidFilter', detail),
  invalidPath: (detail: string) => new ScimError(400, 'invalidPath', detail),
  noTarget: (detail: string) => new ScimError(400, 'noTarget', detail),
  mutability: (detail: string) => new ScimError(400, 'mutability', detail),
  tooLarge: (limit: string) => new ScimError(413, undefined, `The request body is larger than the limit of ${limit}`),
  notImplemented: (what: string) => new ScimError(501, undefined, `${what} is not implemented`),
  busy: (retryAfter = 5) => new ScimError(503, undefined, 'Roster is busy with other changes; retry after the time in Retry-After', retryAfter),
  overBudget: () => new ScimError(503, undefined, 'The request did not finish within its time budget (SCIM_REQUEST_BUDGET_MS); nothing was applied; retry after the time in Retry-After', 5),
  internal: (requestId: string) =>
    new ScimError(500, undefined, `Internal server error; the operator can find it in the server log under request id ${requestId}`),
};

export function renderScimError(res: Response, err: ScimError): void {
  if (err.retryAfter !== undefined) res.setHeader('Retry-After', String(Math.ceil(err.retryAfter)));
  res
    .status(err.status)
    .type('application/scim+json')
    .json({ schemas: [ERROR_SCHEMA], status: String(err.status), ...(err.scimType ? { scimType: err.scimType } : {}), detail: err.detail });
}

/** Turns whatever was thrown into a SCIM error: known errors keep their meaning, anything else is a 500. */
export function toScimError(err: unknown, requestId: string): ScimError {
  if (err instanceof ScimError) return err;
  if (err instanceof FilterError) return new ScimError(400, err.scimType, err.message);
  if (err instanceof StoreError) {
    switch (err.code) {
      case 'userNotFound':
      case 'groupNotFound':
      case 'contentNotFound':
        return Errors.notFound(err.message.replace(/ not found$/, ''));
      case 'userNameTaken':
      case 'conflict':
        return Errors.uniqueness(err.message);
      case 'versionMismatch':
        return Errors.preconditionFailed(err.message);
      case 'groupArchived':
        return Errors.mutability(err.message);
      case 'unknownMembers':
      case 'invalid':
        return Errors.invalidValue(err.message);
    }
  }
  if (err instanceof SCIMMY.Types.Error) {
    const e = err as unknown as { status: number; scimType?: string; message: string };
    return new ScimError(e.status, (e.scimType ?? undefined) as ScimType | undefined, e.message);
  }
  // No database connection came free in time (SQLite has one writer): refuse cleanly rather than hang.
  if ((err as Error).name === 'KnexTimeoutError') return Errors.busy();
  if ((err as Error).name === 'BudgetExceeded') return Errors.overBudget();
  // PostgreSQL chose this request to break a lock cycle with another: nothing was applied, retry.
  if ((err as { code?: string }).code === '40P01') return Errors.busy(1);
  // body-parser's errors carry `type` and `status`
  const e = err as { type?: string; status?: number; limit?: number };
  if (e.type === 'entity.parse.failed') return Errors.invalidSyntax('The request body is not valid JSON');
  if (e.type === 'entity.too.large') return Errors.tooLarge(`${e.limit ?? 'the limit'} bytes`);
  if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported') return Errors.invalidSyntax('Unsupported body encoding');
  if (e.status === 400 && e.type) return Errors.invalidSyntax(`The request body could not be read (${e.type})`);
  return Errors.internal(requestId);
}

export function scimErrorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const requestId = String(res.getHeader('x-request-id') ?? '');
    const scimErr = toScimError(err, requestId);
    if (scimErr.status >= 500) log.error({ err, requestId, method: req.method, path: req.path }, 'SCIM request failed');
    if (res.headersSent) return;
    renderScimError(res, scimErr);
  };
}
