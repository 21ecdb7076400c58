import { Router, type Request } from 'express';
import { STATUS_CLASSES, parseTime, type LogFilter, type StatusClass } from '../synclog/reader';
import type { SyncLog } from '../synclog/sync-log';
import { principalOf } from '../tenancy/bearer-auth';
import { AdminErrors } from './errors';
import { decodeCursor, encodeCursor, limitOf } from './paging';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'CLI', 'JOB'];

/** The query of GET /sync-log as a filter; a value that cannot be one is a 400 naming it. */
export function logFilterOf(query: Request['query'], tenantId: string): LogFilter {
  const one = (name: string): string | undefined => {
    const v = query[name];
    if (v === undefined || v === '') return undefined;
    if (typeof v !== 'string') throw AdminErrors.invalidQuery(`${name} must be given once`);
    return v;
  };
  const time = (name: string) => {
    const v = one(name);
    if (v === undefined) return undefined;
    const t = parseTime(v);
    if (!t) throw AdminErrors.invalidQuery(`${name} must be an ISO-8601 time or a duration like 15m, 1h, 7d (got "${v}")`);
    return t;
  };
  const status = one('status');
  let statuses: StatusClass[] | undefined;
  if (status !== undefined) {
    const parts = status === 'failed' ? ['4xx', '5xx'] : status.split(',').map((s) => s.trim().toLowerCase());
    const bad = parts.filter((p) => !STATUS_CLASSES.includes(p as StatusClass));
    if (bad.length) throw AdminErrors.invalidQuery(`status must be 2xx, 3xx, 4xx, 5xx (comma-separated) or failed (got "${status}")`);
    statuses = parts as StatusClass[];
  }
  const method = one('method')?.toUpperCase();
  if (method !== undefined && !METHODS.includes(method)) throw AdminErrors.invalidQuery(`method must be one of ${METHODS.join(', ')}`);
  return {
    tenantId,
    since: time('since'),
    until: time('until'),
    statuses,
    method,
    resourceType: one('resourceType'),
    resourceId: one('resourceId'),
    userId: one('user'),
    tokenLabel: one('token'),
    requestId: one('requestId'),
  };
}

/** Decodes a sync-log cursor (the entry's time and position). */
export function logCursorOf(raw: unknown): { at: string; seq: number } | undefined {
  const position = decodeCursor(raw);
  if (!position) return undefined;
  const seq = Number(position.id);
  if (!Number.isSafeInteger(seq)) throw AdminErrors.invalidQuery('cursor is not one this API returned; pass the "next" value of the previous page');
  return { at: position.createdAt, seq };
}

export const encodeLogCursor = (p: { at: string; seq: number } | null): string | null => encodeCursor(p ? { createdAt: p.at, id: String(p.seq) } : null);

/** GET /admin/v1/sync-log (newest first, filtered, cursor-paged) and GET /admin/v1/sync-log/{requestId}. */
export function syncLogRouter(syncLog: SyncLog): Router {
  const router = Router();

  router.get('/', async (req, res) => {
    const filter = logFilterOf(req.query, principalOf(req).tenantId);
    const page = { limit: limitOf(req), after: logCursorOf(req.query.cursor) };
    await syncLog.writer.flush(); // this instance's entries waiting to be written are part of the answer
    const result = await syncLog.reader.list(filter, page);
    res.json({ items: result.items, next: encodeLogCursor(result.next) });
  });

  router.get('/:requestId', async (req, res) => {
    await syncLog.writer.flush();
    const detail = await syncLog.reader.get(principalOf(req).tenantId, req.params.requestId);
    if (!detail) throw AdminErrors.notFound(`Sync log entry ${req.params.requestId}`);
    res.json(detail);
  });

  return router;
}
