import { done as heapDone } from './heap';
import { newId } from './ids';
import express, { type Express, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { Config } from './config';
import { pendingMigrations, type Db } from './db/knex';
import type { MembershipStore } from './membership/store';
import { adminRouter } from './admin/router';
import { GroupActivity } from './activity/feed';
import { GroupMessages } from './activity/messages';
import { CreditLedger } from './credits/ledger';
import { CreditStore, registerCreditReturns } from './credits/store';
import { AssignmentStore } from './enrollment/assignments';
import { ContentStore } from './enrollment/content';
import { Directory } from './enrollment/directory';
import { People } from './membership/people';
import { GroupAdmins } from './membership/group-admins';
import { EnrollmentStore } from './enrollment/enrollments';
import { registerEnrollmentRules } from './enrollment/rules';
import { routeTemplate, type Metrics } from './metrics';
import { opsRouter } from './ops/router';
import { WebhookStore } from './outbox/webhooks';
import { scimRouter } from './scim/router';
import { rememberJsonBodies } from './synclog/capture';
import { registerChangeLog } from './synclog/changes';
import type { SyncLog } from './synclog/sync-log';
import type { Tenancy } from './tenancy/tokens';

export interface AppDeps {
  config: Pick<Config, 'maxBodyBytes' | 'defaultPageSize' | 'maxPageSize' | 'trustProxy' | 'rateLimitPerSecond' | 'rateLimitBurst' | 'metricsToken' | 'requestBudgetMs' | 'passwords'>;
  db: Db;
  store: MembershipStore;
  tenancy: Tenancy;
  syncLog: SyncLog;
  metrics: Metrics;
  log: Logger;
}

/** Builds the HTTP app; never listens (main.ts and the tests do). */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.config.trustProxy);
  app.set('etag', false); // ETags are the resources' versions, set by the routes

  rememberJsonBodies(app);
  app.use(observe(deps));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const problem = await readinessProblem(deps.db);
    res.status(problem ? 503 : 200).json(problem ? { status: 'unavailable', reason: problem } : { status: 'ready' });
  });
  app.get('/metrics', async (req, res) => {
    if (deps.config.metricsToken && req.get('authorization') !== `Bearer ${deps.config.metricsToken}`) {
      return void res.status(401).json({ error: { code: 'unauthorized', message: 'GET /metrics needs the METRICS_TOKEN as a bearer token' } });
    }
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  const changes = deps.syncLog.changes;
  registerChangeLog(deps.store.hooks, changes);
  registerEnrollmentRules(deps.store.hooks, { dialect: deps.db.dialect, changes });
  registerCreditReturns(deps.store.hooks);
  const assignments = new AssignmentStore(deps.db, changes);
  const enrollments = new EnrollmentStore(deps.db, changes);

  app.use(
    '/scim/v2',
    scimRouter({
      capture: deps.syncLog.capture('scim'),
      db: deps.db,
      store: deps.store,
      tenancy: deps.tenancy,
      log: deps.log,
      maxBodyBytes: deps.config.maxBodyBytes,
      rateLimit: { perSecond: deps.config.rateLimitPerSecond, burst: deps.config.rateLimitBurst },
      limits: { defaultPageSize: deps.config.defaultPageSize, maxPageSize: deps.config.maxPageSize },
      passwords: deps.config.passwords,
    }),
  );

  const webhooks = new WebhookStore(deps.db);
  app.use(
    '/admin/v1',
    deps.syncLog.capture('admin'),
    adminRouter({
      tenancy: deps.tenancy,
      content: new ContentStore(deps.db),
      assignments,
      enrollments,
      syncLog: deps.syncLog,
      webhooks,
      directory: new Directory(deps.db),
      store: deps.store,
      people: new People(deps.db, deps.store),
      groupAdmins: new GroupAdmins(deps.db),
      activity: new GroupActivity(deps.db),
      messages: new GroupMessages(deps.db),
      credits: new CreditStore(deps.db),
      ledger: new CreditLedger(deps.db),
      log: deps.log,
    }),
  );

  app.use('/ops', opsRouter({ tenancy: deps.tenancy, syncLog: deps.syncLog, store: deps.store, enrollments, assignments, webhooks, db: deps.db, log: deps.log }));

  app.use((req, res) => {
    res.status(404).json({ error: { code: 'notFound', message: `No route ${req.method} ${req.path}; SCIM lives at /scim/v2` } });
  });
  return app;
}

/**
 * The first middleware: a request id (answered as X-Request-Id), the time the request must be answered
 * by (its writes stop there: TransactionOptions.deadline), and one close listener per response that
 * counts it in the metrics, logs a debug line, hands the sync log its entry and settles a heavy
 * request (heap.ts).
 */
function observe(deps: Pick<AppDeps, 'metrics' | 'log' | 'syncLog' | 'config'>): RequestHandler {
  const { metrics, log, syncLog } = deps;
  const budget = deps.config.requestBudgetMs;
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    req.requestId = newId();
    req.deadline = Date.now() + budget;
    res.setHeader('X-Request-Id', req.requestId);
    res.once('close', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = routeTemplate(req.originalUrl);
      const status = res.writableFinished ? res.statusCode : 499;
      metrics.recordRequest(route, req.method, status, req.principal?.tenantName ?? 'none', seconds);
      if (log.isLevelEnabled('debug')) {
        log.debug({ requestId: req.requestId, method: req.method, route, status, ms: Math.round(seconds * 1000), tenant: req.principal?.tenantName }, 'request');
      }
      syncLog.finished(req, res, seconds * 1000);
      heapDone(req);
    });
    next();
  };
}

/** Why the app cannot serve now (database unreachable within 2 s, or migrations pending), if it cannot. */
async function readinessProblem(db: Db): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve('the database did not answer within 2 s'), 2000);
  });
  const check = (async () => {
    try {
      await db.knex.raw('select 1');
      const pending = await pendingMigrations(db);
      return pending.length ? `migrations not applied: ${pending.join(', ')}` : undefined;
    } catch (err) {
      return `the database is unreachable: ${(err as Error).message}`;
    }
  })();
  try {
    return await Promise.race([check, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
