import type { RequestHandler } from 'express';
import { renderScimError, ScimError } from './errors';

export interface RateLimit {
  /** Sustained requests per second per token; 0 turns limiting off. */
  perSecond: number;
  /** Requests a token may make at once after being idle. */
  burst: number;
}

/**
 * Per-token token bucket, in this process. Over the limit: 429 with a SCIM error body and a
 * whole-seconds Retry-After (Okta backs off by it), before the request touches the database.
 */
export function rateLimit(limit: RateLimit, now: () => number = Date.now): RequestHandler {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return (req, res, next) => {
    const key = req.principal?.tokenId;
    if (!limit.perSecond || !key) return next();
    const t = now();
    const bucket = buckets.get(key) ?? { tokens: limit.burst, at: t };
    bucket.tokens = Math.min(limit.burst, bucket.tokens + ((t - bucket.at) / 1000) * limit.perSecond);
    bucket.at = t;
    buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return next();
    }
    const wait = Math.max(1, Math.ceil((1 - bucket.tokens) / limit.perSecond));
    renderScimError(res, new ScimError(429, undefined, `Too many requests for this token: the limit is ${limit.perSecond} per second`, wait));
  };
}
