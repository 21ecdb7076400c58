import type { Request } from 'express';
import type { Db } from '../db/knex';
import type { MembershipStore } from '../membership/store';
import type { Cause } from '../membership/types';
import { Errors } from './errors';
import type { PageLimits } from './list';
import type { PasswordPolicy } from './passwords';

export interface ScimDeps {
  db: Db;
  store: MembershipStore;
  limits: PageLimits;
  /** What pushed passwords become (SCIM_PASSWORDS). */
  passwords: PasswordPolicy;
}

export function causeOf(req: Request): Cause {
  return { requestId: req.requestId ?? '', source: 'scim', actor: req.principal?.tokenName, deadline: req.deadline };
}

/** The SCIM base URL of this request, for meta.location and Location headers. */
export function baseUrlOf(req: Request): string {
  return `${req.protocol}://${req.get('host') ?? 'localhost'}${req.baseUrl}`;
}

/**
 * If-Match → the version the client expects (undefined for none or "*"). An ETag that cannot be one
 * of ours can never match, so it fails the precondition.
 */
export function ifMatchVersion(req: Request): number | undefined {
  const header = req.get('if-match');
  if (!header || header.trim() === '*') return undefined;
  const m = /^\s*(?:W\/)?"(\d+)"\s*$/.exec(header);
  if (!m) throw Errors.preconditionFailed(`If-Match ${header} does not match the current version`);
  return Number(m[1]);
}

/** Whether If-None-Match names the given version (GET answers 304 then). */
export function ifNoneMatchHits(req: Request, version: number): boolean {
  const header = req.get('if-none-match');
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === `"${version}"`);
}
