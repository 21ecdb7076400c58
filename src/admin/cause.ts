import type { Request } from 'express';
import type { Cause } from '../membership/types';

/** The cause of an admin API change: its request id (the sync log's), the token's name, its deadline. */
export const adminCauseOf = (req: Request): Cause => ({ requestId: req.requestId ?? '', source: 'admin', actor: req.principal?.tokenName, deadline: req.deadline });
