import type { Express, Request, RequestHandler, Response } from 'express';
import type { SyncLogEntry } from './entries';
import { redactText, redactedJson } from './redact';

export interface CaptureOptions {
  source: 'scim' | 'admin';
  /** The admin API logs what changes state; SCIM logs every request. */
  writesOnly: boolean;
  maxBodyChars: number;
}

/** Resource types by path, for the log's resource columns (the id comes from the path or the response). */
const RESOURCES: { pattern: RegExp; type: string }[] = [
  { pattern: /^\/users(?:\/([^/]+))?/i, type: 'User' },
  { pattern: /^\/groups\/[^/]+\/assignments$/, type: 'Assignment' },
  { pattern: /^\/groups\/[^/]+\/messages$/, type: 'GroupMessage' },
  { pattern: /^\/groups(?:\/([^/]+))?/i, type: 'Group' },
  { pattern: /^\/content(?:\/([^/]+))?/, type: 'Content' },
  { pattern: /^\/assignments(?:\/([^/]+))?/, type: 'Assignment' },
  { pattern: /^\/enrollments(?:\/([^/]+))?/, type: 'Enrollment' },
  { pattern: /^\/webhooks(?:\/([^/]+))?/, type: 'Webhook' },
];

const text = (v: unknown, max: number): string | null => (typeof v === 'string' && v ? v.slice(0, max) : null);
const field = (body: unknown, key: string): unknown => (body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>)[key] : undefined);

declare module 'express-serve-static-core' {
  interface Request {
    /** Set where the sync log captures this request: what the entry needs from the request's start. */
    syncLog?: { options: CaptureOptions; path: string; at: number };
  }
  interface Response {
    /** The body given to res.json, kept for the sync log (see rememberJsonBodies). */
    sentJson?: unknown;
  }
}

/**
 * Marks a request for the sync log, at the API's mount point (the path is relative to it, read
 * before routers rewrite it). The entry itself is built when the response is done (`entryOf`), from
 * the one close listener the app sets on every response.
 */
export function captureRequests(enabled: boolean, options: CaptureOptions): RequestHandler {
  return (req, _res, next) => {
    if (enabled && !(options.writesOnly && (req.method === 'GET' || req.method === 'HEAD'))) req.syncLog = { options, path: req.path, at: Date.now() };
    next();
  };
}

/**
 * Makes every res.json of this app remember its body. Done once on the app's response prototype:
 * wrapping res.json per request made each response object a new shape, which cost more than the
 * rest of the log's capture.
 */
export function rememberJsonBodies(app: Express): void {
  const json = app.response.json;
  app.response.json = function (this: Response, body: unknown) {
    this.sentJson = body;
    return json.call(this, body);
  } as Response['json'];
}

/**
 * One sync-log entry for a finished request (or one whose client went away): who, what, the result,
 * and the bodies with secrets removed.
 */
export function entryOf(req: Request, res: Response, durationMs: number): SyncLogEntry | undefined {
  const capture = req.syncLog;
  if (!capture || !req.requestId) return undefined;
  const { options, path } = capture;
  const responseBody = res.sentJson;
  const status = res.writableFinished ? res.statusCode : 499; // 499: the client closed the connection first
  const resource = RESOURCES.find((r) => r.pattern.test(path));
  const pathId = resource ? resource.pattern.exec(path)?.[1] : undefined;
  const responseId = field(responseBody, 'id');
  const failed = status >= 400;
  const error = field(responseBody, 'error');
  return {
    id: req.requestId,
    tenantId: req.principal?.tenantId ?? req.refusedToken?.tenantId ?? null,
    at: new Date(capture.at).toISOString(),
    source: options.source,
    tokenLabel: req.principal?.tokenName ?? req.refusedToken?.tokenName ?? null,
    client: text(req.get('user-agent'), 300),
    method: req.method,
    path: redactText(req.originalUrl).slice(0, 2000),
    resourceType: resource?.type ?? null,
    resourceId: text(pathId ?? (req.method === 'POST' && !failed ? responseId : undefined), 100),
    externalId: text(field(req.body, 'externalId') ?? field(responseBody, 'externalId'), 300),
    status,
    scimType: text(field(responseBody, 'scimType'), 30),
    error: failed
      ? text(req.refusedToken?.reason ?? field(responseBody, 'detail') ?? field(error, 'message') ?? (status === 499 ? 'the client closed the connection' : undefined), 1000)
      : null,
    durationMs: Math.round(durationMs),
    requestBody: req.method === 'GET' || req.method === 'HEAD' || req.method === 'DELETE' ? null : redactedJson(req.body, options.maxBodyChars),
    responseBody: responseSummary(req.method, failed, responseBody, options.maxBodyChars),
  };
}

/** Errors and writes keep their response (bounded); a successful read keeps only its size. */
function responseSummary(method: string, failed: boolean, body: unknown, maxChars: number): string | null {
  if (body === undefined) return null;
  if (failed || method !== 'GET') return redactedJson(body, maxChars);
  const total = field(body, 'totalResults');
  if (typeof total === 'number') return JSON.stringify({ totalResults: total, itemsPerPage: field(body, 'itemsPerPage') });
  return null;
}
