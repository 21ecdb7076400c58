import type { Request } from 'express';
import type { Cause } from '../membership/types';

/** What an admin request's changes are recorded as caused by: its request id, and the token's name. */
export const causeOf = (req: Request): Cause => ({ requestId: req.requestId ?? '', source: 'admin', actor: req.principal?.tokenName, deadline: req.deadline });
