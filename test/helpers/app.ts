import type { Express } from 'express';
import pino from 'pino';
import request from 'supertest';
import { createApp } from '../../src/app';
import { MembershipStore } from '../../src/membership/store';
import { userRuleCompiler } from '../../src/scim/rules';
import { Metrics } from '../../src/metrics';
import { DEFAULT_SYNC_LOG_CONFIG, SyncLog, type SyncLogConfig } from '../../src/synclog/sync-log';
import { Tenancy, type Scope } from '../../src/tenancy/tokens';
import { createTestDb } from './db';

export type TestDb = Awaited<ReturnType<typeof createTestDb>>;

export interface TestApp {
  app: Express;
  db: TestDb;
  store: MembershipStore;
  tenancy: Tenancy;
  syncLog: SyncLog;
  metrics: Metrics;
  /** A token of a tenant (created on first use), SCIM scope unless asked otherwise. */
  token(tenant?: string, scope?: Scope): Promise<string>;
  tenantId(tenant?: string): Promise<string>;
  /** supertest against the app with that tenant's SCIM token. */
  scim(tenant?: string): Promise<ScimClient>;
  /** supertest against the admin API (/admin/v1) with that tenant's admin token. */
  admin(tenant?: string): Promise<ScimClient>;
  close(): Promise<void>;
}

/** supertest with a bearer token and a base path. */
export interface ScimClient {
  get(path: string): request.Test;
  post(path: string, body?: unknown): request.Test;
  put(path: string, body?: unknown): request.Test;
  patch(path: string, body?: unknown): request.Test;
  delete(path: string): request.Test;
}

/** The real app on a real database (SQLite file, or PostgreSQL when DATABASE_URL is set). */
export async function createTestApp(
  config: Partial<{
    maxBodyBytes: number;
    maxPageSize: number;
    defaultPageSize: number;
    rateLimitPerSecond: number;
    rateLimitBurst: number;
    metricsToken: string;
    requestBudgetMs: number;
    passwords: 'drop' | 'scrypt';
    syncLog: Partial<SyncLogConfig>;
  }> = {},
  dbOptions: Parameters<typeof createTestDb>[0] = {},
): Promise<TestApp> {
  const db = await createTestDb(dbOptions);
  const store = new MembershipStore(db, userRuleCompiler(db.dialect));
  const tenancy = new Tenancy(db);
  const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const metrics = new Metrics(db);
  const { syncLog: syncLogConfig, metricsToken, ...httpConfig } = config;
  const syncLog = new SyncLog(db, log, { ...DEFAULT_SYNC_LOG_CONFIG, ...syncLogConfig }, metrics);
  const app = createApp({
    config: {
      maxBodyBytes: 16 * 1024 * 1024,
      defaultPageSize: 100,
      maxPageSize: 1000,
      trustProxy: false,
      rateLimitPerSecond: 0,
      rateLimitBurst: 1,
      metricsToken: metricsToken ?? null,
      requestBudgetMs: 60_000,
      passwords: 'drop',
      ...httpConfig,
    },
    db,
    store,
    tenancy,
    syncLog,
    metrics,
    log,
  });
  const tokens = new Map<string, string>();
  const token = async (tenant = 'acme', scope: Scope = 'scim') => {
    let t = tokens.get(`${tenant}/${scope}`);
    if (!t) {
      t = (await tenancy.createToken(tenant, scope, `test-${tenant}-${scope}`)).token;
      tokens.set(`${tenant}/${scope}`, t);
    }
    return t;
  };
  const client = async (tenant: string, scope: Scope, prefix: string, contentType: string): Promise<ScimClient> => {
    const auth = `Bearer ${await token(tenant, scope)}`;
    const url = (p: string) => `${prefix}${p}`;
    const json = (t: request.Test, body: unknown) => (body === undefined ? t : t.set('content-type', contentType).send(body as object));
    return {
      get: (p) => request(app).get(url(p)).set('authorization', auth),
      post: (p, body) => json(request(app).post(url(p)).set('authorization', auth), body),
      put: (p, body) => json(request(app).put(url(p)).set('authorization', auth), body),
      patch: (p, body) => json(request(app).patch(url(p)).set('authorization', auth), body),
      delete: (p) => request(app).delete(url(p)).set('authorization', auth),
    };
  };
  const scim = (tenant = 'acme') => client(tenant, 'scim', '/scim/v2', 'application/scim+json');
  const admin = (tenant = 'acme') => client(tenant, 'admin', '/admin/v1', 'application/json');
  return {
    app,
    db,
    store,
    tenancy,
    syncLog,
    metrics,
    token,
    tenantId: async (tenant = 'acme') => (await tenancy.ensureTenant(tenant)).id,
    scim,
    admin,
    close: async () => {
      await syncLog.close();
      await db.drop();
    },
  };
}

export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

export const patchOp = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });
