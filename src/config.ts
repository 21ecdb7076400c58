import type { DispatcherOptions } from './outbox/dispatcher';
import type { SyncLogConfig } from './synclog/sync-log';

export interface Config {
  port: number;
  host: string;
  databaseUrl: string;
  /** PostgreSQL: recurring statements prepared on each connection (PG_PREPARED_STATEMENTS, default on). */
  pgPreparedStatements: boolean;
  logLevel: string;
  /** Largest SCIM request body, in bytes (a 100,000-member group PUT is about 5 MB). */
  maxBodyBytes: number;
  defaultPageSize: number;
  maxPageSize: number;
  trustProxy: boolean;
  /** Sustained SCIM requests per second per token (0: no limit), and the burst allowed after idling. */
  rateLimitPerSecond: number;
  rateLimitBurst: number;
  syncLog: SyncLogConfig;
  webhooks: DispatcherOptions;
  /** When set, GET /metrics asks for `Authorization: Bearer <this>`. */
  metricsToken: string | null;
  /** How long a request may take; a write transaction still running then rolls back and gets 503. */
  requestBudgetMs: number;
  /** What pushed passwords become: dropped (default), or a salted scrypt hash (SCIM_PASSWORDS). */
  passwords: 'drop' | 'scrypt';
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads the environment once, names every problem, and fails fast. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return n;
  };
  const databaseUrl = env.DATABASE_URL || 'sqlite:./data/roster.db';
  if (!/^(sqlite:|postgres(ql)?:\/\/)/.test(databaseUrl)) {
    problems.push('DATABASE_URL must be sqlite:PATH or postgres://user@host:port/database');
  }
  const logLevel = env.LOG_LEVEL || 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "${logLevel}")`);
  }
  const config: Config = {
    port: int('PORT', 8080, 0, 65535),
    host: env.HOST || '0.0.0.0',
    databaseUrl,
    pgPreparedStatements: true,
    logLevel,
    maxBodyBytes: int('SCIM_MAX_BODY_BYTES', 16 * 1024 * 1024, 1024, 512 * 1024 * 1024),
    defaultPageSize: int('SCIM_DEFAULT_PAGE_SIZE', 100, 1, 100_000),
    maxPageSize: int('SCIM_MAX_PAGE_SIZE', 1000, 1, 100_000),
    trustProxy: env.TRUST_PROXY === 'true' || env.TRUST_PROXY === '1',
    rateLimitPerSecond: int('SCIM_RATE_LIMIT_PER_SECOND', 0, 0, 1_000_000),
    rateLimitBurst: 0,
    syncLog: {
      enabled: true,
      retentionDays: int('SYNC_LOG_RETENTION_DAYS', 30, 1, 3650),
      maxIds: int('SYNC_LOG_MAX_IDS', 1000, 0, 100_000),
      maxBodyChars: int('SYNC_LOG_MAX_BODY_BYTES', 64 * 1024, 0, 16 * 1024 * 1024),
    },
    webhooks: {
      pollMs: int('WEBHOOK_POLL_MS', 1000, 10, 3_600_000),
      batchSize: int('WEBHOOK_BATCH_SIZE', 100, 1, 1000),
      maxAttempts: int('WEBHOOK_MAX_ATTEMPTS', 10, 1, 100),
      backoffBaseMs: int('WEBHOOK_BACKOFF_BASE_MS', 1000, 1, 3_600_000),
      backoffMaxMs: int('WEBHOOK_BACKOFF_MAX_MS', 600_000, 1, 86_400_000),
      timeoutMs: int('WEBHOOK_TIMEOUT_MS', 10_000, 100, 120_000),
    },
    metricsToken: env.METRICS_TOKEN || null,
    requestBudgetMs: int('SCIM_REQUEST_BUDGET_MS', 60_000, 100, 3_600_000),
    passwords: 'drop',
  };
  const passwords = (env.SCIM_PASSWORDS ?? 'drop').toLowerCase();
  if (passwords !== 'drop' && passwords !== 'scrypt') problems.push(`SCIM_PASSWORDS must be drop or scrypt (got "${env.SCIM_PASSWORDS}")`);
  else config.passwords = passwords;
  const syncLog = (env.SYNC_LOG ?? 'on').toLowerCase();
  if (!['on', 'off'].includes(syncLog)) problems.push(`SYNC_LOG must be on or off (got "${env.SYNC_LOG}")`);
  config.syncLog.enabled = syncLog !== 'off';
  const prepared = (env.PG_PREPARED_STATEMENTS ?? 'on').toLowerCase();
  if (!['on', 'off'].includes(prepared)) problems.push(`PG_PREPARED_STATEMENTS must be on or off (got "${env.PG_PREPARED_STATEMENTS}")`);
  config.pgPreparedStatements = prepared !== 'off';
  config.rateLimitBurst = int('SCIM_RATE_LIMIT_BURST', Math.max(1, config.rateLimitPerSecond * 2), 1, 10_000_000);
  if (config.defaultPageSize > config.maxPageSize) problems.push('SCIM_DEFAULT_PAGE_SIZE must not exceed SCIM_MAX_PAGE_SIZE');
  if (problems.length) throw new ConfigError(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
  return config;
}
