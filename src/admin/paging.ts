import type { Request } from 'express';
import { AdminErrors } from './errors';

/** Keyset cursors: the position after which the next page starts, opaque to clients (base64url JSON). */
export function encodeCursor(position: { createdAt: string; id: string } | null): string | null {
  return position ? Buffer.from(JSON.stringify([position.createdAt, position.id])).toString('base64url') : null;
}

export function decodeCursor(raw: unknown): { createdAt: string; id: string } | undefined {
  const value = cursorValue(raw);
  if (value === undefined) return undefined;
  if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'string')) return { createdAt: value[0] as string, id: value[1] as string };
  throw badCursor();
}

/** A cursor on a sequence number alone, for lists in the outbox's order (a group's activity). */
export const encodeSeqCursor = (seq: number | null): string | null => (seq === null ? null : Buffer.from(JSON.stringify([seq])).toString('base64url'));

export function decodeSeqCursor(raw: unknown): number | undefined {
  const value = cursorValue(raw);
  if (value === undefined) return undefined;
  if (Array.isArray(value) && value.length === 1 && Number.isSafeInteger(value[0]) && (value[0] as number) > 0) return value[0] as number;
  throw badCursor();
}

const badCursor = () => AdminErrors.invalidQuery('cursor is not one this API returned; pass the "next" value of the previous page');

/** What a cursor decodes to (undefined for none given); one that is not base64url JSON is refused. */
function cursorValue(raw: unknown): unknown {
  if (raw === undefined || raw === '') return undefined;
  try {
    if (typeof raw === 'string') return JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as unknown;
  } catch {
    // fall through: not one of ours
  }
  throw badCursor();
}

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;

export function limitOf(req: Request): number {
  const raw = req.query.limit;
  if (raw === undefined) return DEFAULT_LIMIT;
  const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT) throw AdminErrors.invalidQuery(`limit must be an integer from 1 to ${MAX_LIMIT}`);
  return n;
}
