import crypto from 'node:crypto';
import express, { type Express } from 'express';
import type { Logger } from 'pino';
import type { Config } from './config';
import type { Db } from './db/knex';
import type { MembershipStore } from './membership/store';
import { adminRouter } from './admin/router';
import { AssignmentStore } from './enrollment/assignments';
import { ContentStore } from './enrollment/content';
import { EnrollmentStore } from './enrollment/enrollments';
import { registerEnrollmentRules } from './enrollment/rules';
import { scimRouter } from './scim/router';
import type { Tenancy } from './tenancy/tokens';

export interface AppDeps {
  config: Pick<Config, 'maxBodyBytes' | 'defaultPageSize' | 'maxPageSize' | 'trustProxy' | 'rateLimitPerSecond' | 'rateLimitBurst'>;
  db: Db;
  store: MembershipStore;
  tenancy: Tenancy;
  log: Logger;
}

/** Builds the HTTP app; never listens (main.ts and the tests do). */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.config.trustProxy);
  app.set('etag', false); // ETags are the resources' versions, set by the routes

  app.use((req, res, next) => {
    req.requestId = crypto.randomUUID();
    res.setHeader('X-Request-Id', req.requestId);
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.use(
    '/scim/v2',
    scimRouter({
      db: deps.db,
      store: deps.store,
      tenancy: deps.tenancy,
      log: deps.log,
      maxBodyBytes: deps.config.maxBodyBytes,
      rateLimit: { perSecond: deps.config.rateLimitPerSecond, burst: deps.config.rateLimitBurst },
      limits: { defaultPageSize: deps.config.defaultPageSize, maxPageSize: deps.config.maxPageSize },
    }),
  );

  registerEnrollmentRules(deps.store.hooks, deps.db.dialect);
  app.use(
    '/admin/v1',
    adminRouter({
      tenancy: deps.tenancy,
      content: new ContentStore(deps.db),
      assignments: new AssignmentStore(deps.db),
      enrollments: new EnrollmentStore(deps.db),
      log: deps.log,
    }),
  );

  app.use((req, res) => {
    res.status(404).json({ error: { code: 'notFound', message: `No route ${req.method} ${req.path}; SCIM lives at /scim/v2` } });
  });
  return app;
}
