import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Db } from './db/knex';
import type { ChangeKind } from './synclog/changes';

interface TarnPool {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
  max: number;
}

/**
 * Roster's Prometheus metrics, one registry per app (tests build many apps in one process). Labels
 * are bounded: routes are templates (ids replaced), tenants are names, statuses are codes. No token,
 * user or body ever becomes a label.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'roster_http_requests_total',
    help: 'HTTP requests by route template, method, status and tenant',
    labelNames: ['route', 'method', 'status', 'tenant'] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'roster_http_request_duration_seconds',
    help: 'HTTP request latency by route template and method',
    labelNames: ['route', 'method'] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly membershipChanges = new Counter({
    name: 'roster_membership_changes_total',
    help: 'Memberships added and removed (committed changes only)',
    labelNames: ['change'] as const,
    registers: [this.registry],
  });
  readonly enrollmentChanges = new Counter({
    name: 'roster_enrollment_changes_total',
    help: 'Enrollments created, reactivated, suspended, completed and reopened (committed changes only)',
    labelNames: ['change'] as const,
    registers: [this.registry],
  });
  readonly resourceChanges = new Counter({
    name: 'roster_resource_changes_total',
    help: 'Users, groups and assignments created, updated and deleted (committed changes only)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly logWrite = new Histogram({
    name: 'roster_sync_log_write_seconds',
    help: 'Time to write one batch of sync log entries',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [this.registry],
  });
  readonly logEntries = new Counter({
    name: 'roster_sync_log_entries_total',
    help: 'Sync log entries written, and dropped because the database would not take them',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  constructor(db: Db) {
    const pool = () => (db.knex.client as { pool?: TarnPool }).pool;
    const gauge = (name: string, help: string, read: (p: TarnPool) => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          const p = pool();
          this.set(p ? read(p) : 0);
        },
      });
    gauge('roster_db_pool_connections_used', 'Database connections in use', (p) => p.numUsed());
    gauge('roster_db_pool_connections_free', 'Database connections idle in the pool', (p) => p.numFree());
    gauge('roster_db_pool_pending_acquires', 'Requests waiting for a database connection', (p) => p.numPendingAcquires());
    gauge('roster_db_pool_connections_max', 'Largest size of the database pool', (p) => p.max);
    collectDefaultMetrics({ register: this.registry, prefix: 'roster_' });
  }

  /** Label-bound children by their labels: prom-client checks and hashes label objects on every call. */
  private readonly children = new Map<string, { count: { inc(): void }; latency: { observe(v: number): void } }>();

  /** A finished HTTP request (route is a template: label values stay bounded). */
  recordRequest(route: string, method: string, status: number, tenant: string, seconds: number): void {
    const key = `${route} ${method} ${status} ${tenant}`;
    let child = this.children.get(key);
    if (!child) {
      if (this.children.size >= 10_000) this.children.clear();
      child = { count: this.requests.labels(route, method, String(status), tenant), latency: this.latency.labels(route, method) };
      this.children.set(key, child);
    }
    child.count.inc();
    child.latency.observe(seconds);
  }

  /** A committed change, from the change recorder. */
  changeCommitted(kind: ChangeKind, count: number): void {
    const [family, change] = kind.split('.') as [string, string];
    if (family === 'membership') this.membershipChanges.inc({ change }, count);
    else if (family === 'enrollment') this.enrollmentChanges.inc({ change }, count);
    else this.resourceChanges.inc({ kind }, count);
  }
}

const words = (list: string[]) => new Map(list.map((w) => [w.toLowerCase(), w]));
/** SCIM paths are case-insensitive: `/users/x` and `/Users/x` are one route, named in SCIM's case. */
const SCIM_WORDS = words(['Users', 'Groups', '.search', 'Schemas', 'ResourceTypes', 'ServiceProviderConfig', 'Bulk', 'Me']);
const OTHER_WORDS = words([
  'admin', 'v1', 'content', 'groups', 'users', 'assignments', 'enrollments', 'progress', 'reconcile', 'stats', 'sync-log', 'webhooks', 'deliveries', 'resume',
  'ops', 'log', 'login', 'logout', 'healthz', 'readyz', 'metrics', 'scim', 'v2',
]);

/** A route template for a path: known words kept, anything else (ids, typos) `:id`; bounded label values. */
export function routeTemplate(path: string): string {
  const segments = path.split('?', 1)[0]!.split('/').filter(Boolean);
  if (segments.length > 8) return 'unmatched';
  const scim = segments[0]?.toLowerCase() === 'scim';
  return `/${segments.map((s, i) => (scim && i >= 2 ? SCIM_WORDS.get(s.toLowerCase()) : OTHER_WORDS.get(s.toLowerCase())) ?? ':id').join('/')}`;
}
