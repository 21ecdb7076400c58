import type { Request, RequestHandler, Response } from 'express';
import type { Principal, Scope, Tenancy } from './tokens';

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
    requestId?: string;
    /** When this request must be answered by (epoch ms): arrival plus SCIM_REQUEST_BUDGET_MS. */
    deadline?: number;
    /** A token Roster knows but refused (revoked, other scope): the sync log files the 401 under its tenant. */
    refusedToken?: { tenantId: string; tokenName: string; reason: string };
  }
}

/** Who is calling: set by bearerAuth, which every API route sits behind. */
export function principalOf(req: Request): Principal {
  if (!req.principal) throw new Error('principalOf: the route is not behind bearerAuth');
  return req.principal;
}

/**
 * The tenant comes from the bearer token; a missing, unknown, revoked or wrong-scope token is
 * refused by `reject` (each API answers 401 in its own error format).
 */
export function bearerAuth(tenancy: Tenancy, scope: Scope | readonly Scope[], reject: (res: Response) => void): RequestHandler {
  return async (req, res, next) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
    const result = m?.[1] ? await tenancy.check(m[1], scope) : undefined;
    const principal = result && 'principal' in result ? result.principal : undefined;
    if (result && 'refused' in result) req.refusedToken = result.refused;
    if (!principal) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="roster"');
      return reject(res);
    }
    req.principal = principal;
    next();
  };
}
