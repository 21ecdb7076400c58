import type { RequestHandler, Response } from 'express';
import type { SyncLogEntry } from './entries';
import { redactText, redactedJson } from './redact';
import type { SyncLogWriter } from './writer';

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
  { pattern: /^\/groups(?:\/([^/]+))?/i, type: 'Group' },
  { pattern: /^\/content(?:\/([^/]+))?/, type: 'Content' },
  { pattern: /^\/assignments(?:\/([^/]+))?/, type: 'Assignment' },
  { pattern: /^\/enrollments(?:\/([^/]+))?/, type: 'Enrollment' },
  { pattern: /^\/webhooks(?:\/([^/]+))?/, type: 'Webhook' },
];

const text = (v: unknown, max: number): string | null => (typeof v === 'string' && v ? v.slice(0, max) : null);
const field = (body: unknown, key: string): unknown => (body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>)[key] : undefined);

/**
 * One sync-log entry per request, handed to the writer when the response is done (or the client went
 * away): who, what, the result, and the bodies with secrets removed. Nothing here is on the request's
 * path beyond remembering the response body.
 */
export function captureRequests(writer: SyncLogWriter, options: CaptureOptions): RequestHandler {
  return (req, res, next) => {
    if (!writer.enabled || (options.writesOnly && (req.method === 'GET' || req.method === 'HEAD'))) return next();
    const started = process.hrtime.bigint();
    const at = new Date().toISOString();
    const path = req.path; // relative to the API's mount point, captured before routers rewrite it
    let responseBody: unknown;
    const json = res.json.bind(res) as Response['json'];
    res.json = (body: unknown) => {
      responseBody = body;
      return json(body);
    };
    res.once('close', () => {
      const status = res.writableFinished ? res.statusCode : 499; // 499: the client closed the connection first
      const resource = RESOURCES.find((r) => r.pattern.test(path));
      const pathId = resource ? resource.pattern.exec(path)?.[1] : undefined;
      const responseId = field(responseBody, 'id');
      const failed = status >= 400;
      const error = field(responseBody, 'error');
      const entry: SyncLogEntry = {
        id: req.requestId ?? '',
        tenantId: req.principal?.tenantId ?? req.refusedToken?.tenantId ?? null,
        at,
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
        durationMs: Math.round(Number(process.hrtime.bigint() - started) / 1e6),
        requestBody: req.method === 'GET' || req.method === 'HEAD' || req.method === 'DELETE' ? null : redactedJson(req.body, options.maxBodyChars),
        responseBody: responseSummary(req.method, failed, responseBody, options.maxBodyChars),
      };
      if (entry.id) writer.add(entry);
    });
    next();
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
