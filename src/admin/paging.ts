import type { Request } from 'express';
import { AdminErrors } from './errors';

/** Keyset cursors: the position after which the next page starts, opaque to clients (base64url JSON). */
export function encodeCursor(position: { createdAt: string; id: string } | null): string | null {
  return position ? encoded([position.createdAt, position.id]) : null;
}

export function decodeCursor(raw: unknown): { createdAt: string; id: string } | undefined {
  return decoded(raw, (value) => (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'string') ? { createdAt: value[0] as string, id: value[1] as string } : undefined));
}

/** Cursors of a list in seq order (the credit ledger, newest first): the seq the next page starts below. */
export function encodeSeqCursor(seq: number | null): string | null {
  return seq === null ? null : encoded(seq);
}

export function decodeSeqCursor(raw: unknown): number | undefined {
  return decoded(raw, (value) => (typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : undefined));
}

const encoded = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The cursor's position as `read` takes it from the JSON; undefined for none given; a 400 for anything that is not one of ours. */
function decoded<T>(raw: unknown, read: (value: unknown) => T | undefined): T | undefined {
  if (raw === undefined || raw === '') return undefined;
  try {
    const position = typeof raw === 'string' ? read(JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'))) : undefined;
    if (position !== undefined) return position;
  } catch {
    // fall through: not one of ours
  }
  throw AdminErrors.invalidQuery('cursor is not one this API returned; pass the "next" value of the previous page');
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
