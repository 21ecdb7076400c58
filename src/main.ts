#!/usr/bin/env node
import { createApp } from './app';
import { ConfigError, loadConfig, type Config } from './config';
import { keepStatisticsCurrent, migrateLatest, openDb, type Db } from './db/knex';
import { createLogger } from './log';
import { AssignmentStore } from './enrollment/assignments';
import { MembershipStore } from './membership/store';
import { userRuleCompiler } from './scim/rules';
import { Metrics } from './metrics';
import { Dispatcher } from './outbox/dispatcher';
import { LogCommandError, runLogCommand } from './synclog/cli';
import { SyncLog } from './synclog/sync-log';
import { SCOPES, Tenancy, type Scope } from './tenancy/tokens';

const USAGE = `Usage: roster <command> [options]

Commands:
  serve                                   run the server (applies migrations first)
  migrate                                 apply pending database migrations
  token create --tenant NAME --scope scim|admin [--name LABEL] [--expires-in 90d|12h|30m | --expires-at ISO-TIME]
                                          create a token (and the tenant, if new); prints the token alone
  token list [--tenant NAME] [--json]     list tokens (never their secrets)
  token revoke ID|HINT                    revoke a token; effective on the next request
  reconcile [--tenant NAME] [--dry-run]   repair drift between memberships, assignments and enrollments
  log [--tenant NAME] [--since 1h] [--failed] [--user ID] [--limit N] [--follow] [--json]
                                          the sync log: newest entries as a table (JSON lines with --json);
                                          --follow prints new entries as they are written
  help                                    this text

Environment: DATABASE_URL (sqlite:PATH or postgres://…, default sqlite:./data/roster.db), PORT (8080),
HOST (0.0.0.0), LOG_LEVEL (info), SCIM_MAX_BODY_BYTES, SCIM_DEFAULT_PAGE_SIZE, SCIM_MAX_PAGE_SIZE,
SCIM_RATE_LIMIT_PER_SECOND, SCIM_RATE_LIMIT_BURST, SCIM_REQUEST_BUDGET_MS, SCIM_PASSWORDS (drop|scrypt), PG_PREPARED_STATEMENTS, TRUST_PROXY, SYNC_LOG (on|off), SYNC_LOG_RETENTION_DAYS (30),
SYNC_LOG_MAX_IDS, SYNC_LOG_MAX_BODY_BYTES, METRICS_TOKEN, WEBHOOK_POLL_MS, WEBHOOK_BATCH_SIZE, WEBHOOK_MAX_ATTEMPTS,
WEBHOOK_BACKOFF_BASE_MS, WEBHOOK_BACKOFF_MAX_MS, WEBHOOK_TIMEOUT_MS.`;

class UsageError extends Error {}

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };
const TEN_YEARS_MS = 3650 * 86_400_000;

/** `--expires-in 90d` (minutes, hours or days) or `--expires-at 2027-06-30T00:00:00Z`, at most ten years ahead. */
function expiryOf(expiresIn: string | undefined, expiresAt: string | undefined): Date | undefined {
  if (expiresIn !== undefined && expiresAt !== undefined) throw new UsageError('give --expires-in or --expires-at, not both');
  let at: Date | undefined;
  if (expiresIn !== undefined) {
    const m = /^([1-9][0-9]*)([mhd])$/.exec(expiresIn);
    if (!m) throw new UsageError(`--expires-in must be a whole number of minutes, hours or days, such as 30m, 12h or 90d (got "${expiresIn}")`);
    at = new Date(Date.now() + Number(m[1]) * UNIT_MS[m[2]!]!);
  }
  if (expiresAt !== undefined) {
    at = new Date(expiresAt);
    if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(expiresAt) || Number.isNaN(at.getTime())) {
      throw new UsageError(`--expires-at must be an ISO 8601 date or time, such as 2027-06-30 or 2027-06-30T00:00:00Z (got "${expiresAt}")`);
    }
    if (at.getTime() <= Date.now()) throw new UsageError(`--expires-at must be in the future (got ${at.toISOString()})`);
  }
  if (at && at.getTime() - Date.now() > TEN_YEARS_MS) throw new UsageError('a token expires at most ten years from now; leave the expiry out for one that lasts until revoked');
  return at;
}

interface Args {
  positional: string[];
  flags: Record<string, string | true>;
}

function parseArgs(argv: string[]): Args {
  const positional: string[] = [];
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--')) {
      const [k, v] = a.slice(2).split('=', 2) as [string, string | undefined];
      if (v !== undefined) flags[k] = v;
      else if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--')) flags[k] = argv[++i]!;
      else flags[k] = true;
    } else positional.push(a);
  }
  return { positional, flags };
}

const flag = (args: Args, name: string): string | undefined => {
  const v = args.flags[name];
  if (v === true) throw new UsageError(`--${name} needs a value`);
  return v;
};

async function withDb<T>(config: Config, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = openDb(config.databaseUrl, { preparedStatements: config.pgPreparedStatements });
  try {
    await migrateLatest(db);
    return await fn(db);
  } finally {
    await db.close();
  }
}

async function serve(config: Config): Promise<void> {
  const log = createLogger(config.logLevel);
  const db = openDb(config.databaseUrl, { preparedStatements: config.pgPreparedStatements });
  const applied = await migrateLatest(db);
  if (applied.length) log.info({ applied }, 'migrations applied');
  const stopMaintenance = await keepStatisticsCurrent(db);
  const metrics = new Metrics(db);
  const syncLog = new SyncLog(db, log, config.syncLog, metrics);
  const stopRetention = syncLog.keepRetention();
  const stopRecertification = recertifyHourly(db, syncLog, log);
  const tenancy = new Tenancy(db);
  await bootstrap(tenancy);
  const store = new MembershipStore(db, userRuleCompiler(db.dialect));
  const app = createApp({ config, db, store, tenancy, syncLog, metrics, log });
  const dispatcher = new Dispatcher(db, log, config.webhooks);
  dispatcher.start();
  const server = app.listen(config.port, config.host, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    log.info({ port, database: config.databaseUrl.replace(/\/\/[^@]*@/, '//***@') }, `Roster listening; SCIM at http://localhost:${port}/scim/v2`);
  });
  server.keepAliveTimeout = 65_000; // longer than common load balancers' idle timeout
  const stop = (signal: string) => {
    log.info({ signal }, 'shutting down');
    stopMaintenance();
    stopRetention();
    stopRecertification();
    server.close(() => {
      void dispatcher
        .stop()
        .then(() => syncLog.close())
        .then(() => db.close())
        .then(() => process.exit(0));
    });
    setTimeout(() => process.exit(1), 10_000).unref();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

/** Rule 9 runs on its own: every hour, each tenant's due recertifications reopen (logged when any do). */
function recertifyHourly(db: Db, syncLog: SyncLog, log: ReturnType<typeof createLogger>): () => void {
  const store = new AssignmentStore(db, syncLog.changes);
  const run = async () => {
    const tenants = (await db.knex('tenants').select('id', 'name')) as { id: string; name: string }[];
    for (const t of tenants) {
      if (!(await store.recertificationDue(t.id))) continue;
      const reopened = await syncLog.job({ tenantId: t.id, source: 'rule', name: 'recertification' }, (cause) => store.recertify(t.id, cause));
      log.info({ tenant: t.name, reopened }, 'recertification reopened enrollments');
    }
  };
  const timer = setInterval(() => void run().catch((err: unknown) => log.error({ err }, 'recertification failed')), 3_600_000);
  timer.unref();
  return () => clearInterval(timer);
}

/** The very first start: a tenant and one token of each scope, shown once. */
async function bootstrap(tenancy: Tenancy): Promise<void> {
  if ((await tenancy.tenantCount()) > 0) return;
  const scim = await tenancy.createToken('default', 'scim', 'first-scim-token');
  const admin = await tenancy.createToken('default', 'admin', 'first-admin-token');
  process.stdout.write(
    [
      '',
      'Roster: first start. Created tenant "default" with two tokens. They are shown only this once:',
      '',
      `  SCIM token  (for Okta / Entra ID):  ${scim.token}`,
      `  Admin token (for the admin API):     ${admin.token}`,
      '',
      'Make more with:  npx roster token create --tenant NAME --scope scim|admin --name LABEL',
      'List them with:  npx roster token list      Revoke with: npx roster token revoke ID',
      '',
    ].join('\n') + '\n',
  );
}

async function main(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  const [command, sub] = args.positional;
  if (!command || command === 'help' || args.flags.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const config = loadConfig();
  switch (command) {
    case 'serve':
      return serve(config);
    case 'migrate':
      await withDb(config, () => Promise.resolve());
      process.stdout.write('Migrations are up to date.\n');
      return;
    case 'token':
      return withDb(config, async (db) => {
        const tenancy = new Tenancy(db);
        switch (sub) {
          case 'create': {
            const tenant = flag(args, 'tenant');
            const scope = flag(args, 'scope');
            if (!tenant) throw new UsageError('token create needs --tenant NAME');
            if (!scope || !SCOPES.includes(scope as Scope)) throw new UsageError('token create needs --scope scim or --scope admin');
            const { token } = await tenancy.createToken(tenant, scope as Scope, flag(args, 'name'), expiryOf(flag(args, 'expires-in'), flag(args, 'expires-at')));
            process.stdout.write(`${token}\n`);
            return;
          }
          case 'list': {
            const tokens = await tenancy.listTokens(flag(args, 'tenant'));
            if (args.flags.json) {
              for (const t of tokens) process.stdout.write(`${JSON.stringify(t)}\n`);
              return;
            }
            const nowIso = new Date().toISOString();
            const state = (t: (typeof tokens)[number]) => (t.revokedAt ? 'revoked' : t.expiresAt && t.expiresAt <= nowIso ? 'expired' : 'active');
            const rows = tokens.map((t) => [t.id, t.tenant, t.scope, t.name, `${t.hint}…`, t.createdAt.slice(0, 19), t.lastUsedAt?.slice(0, 19) ?? '-', t.expiresAt?.slice(0, 19) ?? '-', state(t)]);
            printTable(['ID', 'TENANT', 'SCOPE', 'NAME', 'HINT', 'CREATED', 'LAST USED', 'EXPIRES', 'STATE'], rows);
            return;
          }
          case 'revoke': {
            const target = args.positional[2];
            if (!target) throw new UsageError('token revoke needs the token id (or its hint) from `roster token list`');
            const info = await tenancy.revokeToken(target);
            if (!info) throw new UsageError(`No token with id or hint "${target}"`);
            process.stdout.write(`Revoked ${info.id} (${info.tenant}, ${info.scope}, ${info.name})\n`);
            return;
          }
          default:
            throw new UsageError('token takes create, list or revoke');
        }
      });
    case 'reconcile':
      return withDb(config, async (db) => {
        const tenantName = flag(args, 'tenant');
        const tenants = (await db.knex('tenants').modify((q) => (tenantName ? q.where('name', tenantName) : q)).orderBy('name')) as { id: string; name: string }[];
        if (tenantName && !tenants.length) throw new UsageError(`No tenant named "${tenantName}"`);
        const syncLog = new SyncLog(db, createLogger('silent'), config.syncLog);
        const store = new AssignmentStore(db, syncLog.changes);
        const dryRun = args.flags['dry-run'] === true;
        const rows: string[][] = [];
        for (const t of tenants) {
          const c = dryRun
            ? await store.reconcile(t.id, { requestId: '', source: 'cli' }, { dryRun })
            : await syncLog.job({ tenantId: t.id, source: 'cli', name: 'reconcile' }, (cause) => store.reconcile(t.id, cause));
          rows.push([t.name, ...[c.enrollmentsCreated, c.enrollmentsReactivated, c.grantsOpened, c.grantsEnded, c.enrollmentsSuspended, c.enrollmentsReopened].map(String)]);
        }
        printTable(['TENANT', 'ENROLLMENTS CREATED', 'REACTIVATED', 'GRANTS OPENED', 'GRANTS ENDED', 'SUSPENDED', 'REOPENED'], rows);
        if (dryRun) process.stdout.write('(dry run: nothing was changed)\n');
      });
    case 'log':
      return withDb(config, async (db) => {
        const limit = Number(flag(args, 'limit') ?? 50);
        if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new UsageError('--limit takes a number from 1 to 10000');
        const stop = new AbortController();
        process.once('SIGINT', () => stop.abort());
        process.once('SIGTERM', () => stop.abort());
        try {
          await runLogCommand(
            db,
            {
              tenant: flag(args, 'tenant'),
              since: flag(args, 'since'),
              failed: args.flags.failed === true,
              user: flag(args, 'user'),
              follow: args.flags.follow === true,
              json: args.flags.json === true,
              limit,
              pollMs: 1000,
            },
            (text) => process.stdout.write(text),
            stop.signal,
          );
        } catch (err) {
          if (err instanceof LogCommandError) throw new UsageError(err.message);
          throw err;
        }
      });
    default:
      throw new UsageError(`Unknown command "${command}"`);
  }
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  process.stdout.write(`${[line(header), ...rows.map(line)].join('\n')}\n`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof UsageError) process.stderr.write(`roster: ${err.message}\n\n${USAGE}\n`);
  else if (err instanceof ConfigError) process.stderr.write(`roster: ${err.message}\n`);
  else process.stderr.write(`roster: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(err instanceof UsageError ? 2 : 1);
});
