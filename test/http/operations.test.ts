import request from 'supertest';
import { migrationSource } from '../../migrations';
import { createTestApp, GROUP, patchOp, USER, type TestApp } from '../helpers/app';

/** What a load balancer and Prometheus see: /healthz, /readyz and /metrics. */
describe('health, readiness and metrics', () => {
  let t: TestApp;

  beforeEach(async () => {
    t = await createTestApp();
  });
  afterEach(() => t.close());

  const metricValue = (text: string, name: string, labels: Record<string, string>): number | undefined => {
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
  };

  it('answers /healthz and /readyz when the database is reachable and migrated', async () => {
    expect((await request(t.app).get('/healthz').expect(200)).body).toEqual({ status: 'ok' });
    expect((await request(t.app).get('/readyz').expect(200)).body).toEqual({ status: 'ready' });
  });

  it('answers /readyz with 503 and the reason while a migration is pending', async () => {
    const latest = (await migrationSource.getMigrations([])).at(-1);
    await t.db.knex.migrate.down({ migrationSource });
    const res = await request(t.app).get('/readyz').expect(503);
    expect(res.body).toEqual({ status: 'unavailable', reason: `migrations not applied: ${latest}` });
    await t.db.knex.migrate.latest({ migrationSource });
    await request(t.app).get('/readyz').expect(200);
  });

  it('answers /readyz with 503 when the database is gone, and /healthz still 200 (the process is up)', async () => {
    await t.db.knex.destroy();
    const res = await request(t.app).get('/readyz').expect(503);
    expect(res.body.status).toBe('unavailable');
    expect(res.body.reason).toMatch(/database/);
    await request(t.app).get('/healthz').expect(200);
    t.db.knex.initialize();
  });

  it('counts requests by route template, status and tenant, with latency histograms', async () => {
    const scim = await t.scim();
    const u = (await scim.post('/Users', { schemas: [USER], userName: 'metric.user' }).expect(201)).body.id as string;
    await scim.get(`/Users/${u}`).expect(200);
    await scim.get(`/users/${u}`).expect(200);
    await scim.get('/Users/nope').expect(404);
    const text = (await request(t.app).get('/metrics').expect(200).expect('content-type', /text\/plain/)).text;
    expect(metricValue(text, 'roster_http_requests_total', { route: '/scim/v2/Users/:id', method: 'GET', status: '200', tenant: 'acme' })).toBe(2);
    expect(metricValue(text, 'roster_http_requests_total', { route: '/scim/v2/Users/:id', method: 'GET', status: '404', tenant: 'acme' })).toBe(1);
    expect(metricValue(text, 'roster_http_requests_total', { route: '/scim/v2/Users', method: 'POST', status: '201', tenant: 'acme' })).toBe(1);
    expect(metricValue(text, 'roster_http_request_duration_seconds_count', { route: '/scim/v2/Users/:id', method: 'GET' })).toBe(3);
    expect(text).not.toContain(u); // ids never become labels
  });

  it('counts committed membership and enrollment changes, not rolled-back ones', async () => {
    const scim = await t.scim();
    const admin = await t.admin();
    const [a, b] = [
      (await scim.post('/Users', { schemas: [USER], userName: 'a' }).expect(201)).body.id as string,
      (await scim.post('/Users', { schemas: [USER], userName: 'b' }).expect(201)).body.id as string,
    ];
    const g = (await scim.post('/Groups', { schemas: [GROUP], displayName: 'G', members: [{ value: a }] }).expect(201)).body.id as string;
    const course = (await admin.post('/content', { kind: 'course', title: 'C' }).expect(201)).body.id as string;
    await admin.post(`/groups/${g}/assignments`, { contentId: course }).expect(201);
    await scim.patch(`/Groups/${g}`, patchOp({ op: 'add', path: 'members', value: [{ value: b }] })).expect(204);
    await scim.patch(`/Groups/${g}`, patchOp({ op: 'remove', path: 'members', value: [{ value: a }] })).expect(204);
    // a failing hook rolls a push back: its change must not be counted
    const unregister = t.store.hooks.register(() => {
      throw new Error('rolled back on purpose');
    });
    await scim.patch(`/Groups/${g}`, patchOp({ op: 'add', path: 'members', value: [{ value: a }] })).expect(500);
    unregister();

    const text = (await request(t.app).get('/metrics').expect(200)).text;
    expect(metricValue(text, 'roster_membership_changes_total', { change: 'added' })).toBe(2);
    expect(metricValue(text, 'roster_membership_changes_total', { change: 'removed' })).toBe(1);
    expect(metricValue(text, 'roster_enrollment_changes_total', { change: 'created' })).toBe(2);
    expect(metricValue(text, 'roster_enrollment_changes_total', { change: 'suspended' })).toBe(1);
    expect(metricValue(text, 'roster_resource_changes_total', { kind: 'user.created' })).toBe(2);
  });

  it('reports sync log write latency and database pool use', async () => {
    const scim = await t.scim();
    await scim.get('/Users').expect(200);
    await t.syncLog.writer.flush();
    const text = (await request(t.app).get('/metrics').expect(200)).text;
    expect(Number(/^roster_sync_log_write_seconds_count (\d+)$/m.exec(text)?.[1])).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'roster_sync_log_entries_total', { outcome: 'written' })).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^roster_db_pool_connections_max \d+$/m);
    expect(text).toMatch(/^roster_db_pool_connections_used \d+$/m);
    expect(text).toMatch(/^roster_db_pool_pending_acquires \d+$/m);
    expect(text).toMatch(/^roster_process_resident_memory_bytes \d+/m);
  });

  it('never puts a token into the metrics', async () => {
    const token = await t.token();
    await request(t.app).get('/scim/v2/Users').set('authorization', `Bearer ${token}`).expect(200);
    await request(t.app).get(`/scim/v2/${token}`).set('authorization', `Bearer ${token}`).expect(404);
    const text = (await request(t.app).get('/metrics').expect(200)).text;
    expect(text).not.toContain(token);
    expect(text).not.toContain('rst_');
  });

  it('asks for METRICS_TOKEN when one is set', async () => {
    const guarded = await createTestApp({ metricsToken: 'scrape-secret' });
    try {
      await request(guarded.app).get('/metrics').expect(401);
      await request(guarded.app).get('/metrics').set('authorization', 'Bearer wrong').expect(401);
      await request(guarded.app).get('/metrics').set('authorization', 'Bearer scrape-secret').expect(200);
    } finally {
      await guarded.close();
    }
  });
});
