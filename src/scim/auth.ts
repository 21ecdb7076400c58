import type { RequestHandler } from 'express';
import type { Scope, Tenancy } from '../tenancy/tokens';
import { Errors, renderScimError } from './errors';

/** The tenant comes from the bearer token; a missing, unknown, revoked or wrong-scope token is a 401. */
export function bearerAuth(tenancy: Tenancy, scope: Scope): RequestHandler {
  return async (req, res, next) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
    const principal = m?.[1] ? await tenancy.authenticate(m[1], scope) : undefined;
    if (!principal) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="roster"');
      return renderScimError(res, Errors.unauthorized());
    }
    req.principal = principal;
    next();
  };
}
