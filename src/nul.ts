import type { IncomingMessage } from 'node:http';
import { HEAVY_BODY_BYTES, heavy } from './heap';

/**
 * NUL (U+0000) in what a client sends. PostgreSQL cannot store it in text ("invalid byte sequence
 * for encoding UTF8: 0x00"), so a NUL in an id, a filter or a body would fail there with a server
 * error and be stored as sent on SQLite. Both APIs refuse it up front, the same on either engine, with
 * a 400 that says why.
 */
export const NUL_REFUSED = 'NUL characters (U+0000) are not allowed in requests';

/** The URL carries an encoded NUL (`%00`), in the path or the query. */
export const urlHasNul = (url: string): boolean => /%00/.test(url);

/**
 * A JSON text has a NUL in a string: JSON can only write one as the escape `\u0000` (a raw NUL is
 * not valid JSON), not preceded by another backslash (`\\u0000` is a backslash and `u0000`).
 */
export function jsonHasNul(text: Buffer): boolean {
  if (text.indexOf('\\u0000') < 0) return false;
  return /(^|[^\\])(\\\\)*\\u0000/.test(text.toString('utf8'));
}

declare module 'node:http' {
  interface IncomingMessage {
    /** Set while the JSON body is read (jsonVerify): its text holds a NUL. */
    bodyHasNul?: boolean;
  }
}

/**
 * body-parser's `verify` hook: notes a NUL in the body's text (the router then refuses the request),
 * and a body big enough to make the request heavy (heap.ts).
 */
export function jsonVerify(req: IncomingMessage, _res: unknown, buf: Buffer): void {
  if (jsonHasNul(buf)) req.bodyHasNul = true;
  if (buf.length >= HEAVY_BODY_BYTES) heavy(req);
}
