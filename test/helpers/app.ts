import type { Express } from 'express';
import pino from 'pino';
import request from 'supertest';
import { createApp } from '../../src/app';
import { MembershipStore } from '../../src/membership/store';
import { Tenancy } from '../../src/tenancy/tokens';
import { createTestDb } from './db';

export type TestDb = Awaited<ReturnType<typeof createTestDb>>;

export interface TestApp {
  app: Express;
  db: TestDb;
  store: MembershipStore;
  tenancy: Tenancy;
  /** A SCIM token of a tenant (created on first use). */
  token(tenant?: string): Promise<string>;
  tenantId(tenant?: string): Promise<string>;
  /** supertest against the app with that tenant's SCIM token. */
  scim(tenant?: string): Promise<ScimClient>;
  close(): Promise<void>;
}

export interface ScimClient {
  get(path: string): request.Test;
  post(path: string, body?: unknown): request.Test;
  put(path: string, body?: unknown): request.Test;
  patch(path: string, body?: unknown): request.Test;
  delete(path: string): request.Test;
}

/** The real app on a real database (SQLite file, or PostgreSQL when DATABASE_URL is set). */
export async function createTestApp(
  config: Partial<{ maxBodyBytes: number; maxPageSize: number; defaultPageSize: number; rateLimitPerSecond: number; rateLimitBurst: number }> = {},
  dbOptions: Parameters<typeof createTestDb>[0] = {},
): Promise<TestApp> {
  const db = await createTestDb(dbOptions);
  const store = new MembershipStore(db);
  const tenancy = new Tenancy(db);
  const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const app = createApp({
    config: {
      maxBodyBytes: 16 * 1024 * 1024,
      defaultPageSize: 100,
      maxPageSize: 1000,
      trustProxy: false,
      rateLimitPerSecond: 0,
      rateLimitBurst: 1,
      ...config,
    },
    db,
    store,
    tenancy,
    log,
  });
  const tokens = new Map<string, string>();
  const token = async (tenant = 'acme') => {
    let t = tokens.get(tenant);
    if (!t) {
      t = (await tenancy.createToken(tenant, 'scim', `test-${tenant}`)).token;
      tokens.set(tenant, t);
    }
    return t;
  };
  const scim = async (tenant = 'acme'): Promise<ScimClient> => {
    const auth = `Bearer ${await token(tenant)}`;
    const url = (p: string) => `/scim/v2${p}`;
    const json = (t: request.Test, body: unknown) => (body === undefined ? t : t.set('content-type', 'application/scim+json').send(body as object));
    return {
      get: (p) => request(app).get(url(p)).set('authorization', auth),
      post: (p, body) => json(request(app).post(url(p)).set('authorization', auth), body),
      put: (p, body) => json(request(app).put(url(p)).set('authorization', auth), body),
      patch: (p, body) => json(request(app).patch(url(p)).set('authorization', auth), body),
      delete: (p) => request(app).delete(url(p)).set('authorization', auth),
    };
  };
  return {
    app,
    db,
    store,
    tenancy,
    token,
    tenantId: async (tenant = 'acme') => (await tenancy.ensureTenant(tenant)).id,
    scim,
    close: () => db.drop(),
  };
}

export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

export const patchOp = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });
