import { ChangeRecorder, type ChangeKind } from '../../src/synclog/changes';
import { createTestDb } from '../helpers/db';

/** The change recorder on a real database: what it writes, and the limit on ids per transaction. */
describe('change recorder', () => {
  let db: Awaited<ReturnType<typeof createTestDb>>;
  let tenantId: string;

  beforeAll(async () => {
    db = await createTestDb();
    tenantId = 't1';
    await db.knex('tenants').insert({ id: tenantId, name: 'acme', created_at: new Date().toISOString() });
  });
  afterAll(() => db.drop());

  const cause = (requestId: string) => ({ requestId, source: 'test' as const });
  const rows = (requestId: string) => db.knex('sync_changes').where({ request_id: requestId }).orderBy('seq').select('kind', 'count', 'ids');

  it('keeps at most maxIds ids per kind across the chunks of one transaction, with exact counts', async () => {
    const recorder = new ChangeRecorder({ enabled: true, maxIds: 4 });
    await db.transaction((tx) => {
      recorder.record(tx, tenantId, cause('r1'), 'enrollment.created', ['e1', 'e2', 'e3']);
      recorder.record(tx, tenantId, cause('r1'), 'enrollment.created', ['e4', 'e5', 'e6']);
      recorder.record(tx, tenantId, cause('r1'), 'enrollment.created', ['e7']);
      recorder.record(tx, tenantId, cause('r1'), 'membership.added', ['u1', 'u2'], 'g1');
    });
    expect(await rows('r1')).toEqual([
      { kind: 'enrollment.created', count: 3, ids: '["e1","e2","e3"]' },
      { kind: 'enrollment.created', count: 3, ids: '["e4"]' },
      { kind: 'enrollment.created', count: 1, ids: '[]' },
      { kind: 'membership.added', count: 2, ids: '["u1","u2"]' },
    ]);
    expect((await db.knex('sync_change_users').where({ request_id: 'r1' }).pluck('user_id')).sort()).toEqual(['u1', 'u2']);
    expect(await db.knex('sync_changes').where({ request_id: 'r1' }).pluck('user_id')).toEqual([null, null, null, null]);
  });

  it('keeps a change naming one user in one row, and indexes several users a row each', async () => {
    const recorder = new ChangeRecorder({ enabled: true, maxIds: 10 });
    await db.transaction((tx) => {
      recorder.record(tx, tenantId, cause('r5'), 'membership.added', ['u7'], 'g1');
      recorder.record(tx, tenantId, cause('r5'), 'enrollment.created', ['e7']);
      recorder.record(tx, tenantId, cause('r6'), 'membership.removed', ['u7', 'u8', 'u7'], 'g1');
    });
    expect(await db.knex('sync_changes').where({ request_id: 'r5' }).orderBy('seq').pluck('user_id')).toEqual(['u7', null]);
    expect(await db.knex('sync_change_users').where({ request_id: 'r5' })).toEqual([]);
    expect(await db.knex('sync_changes').where({ request_id: 'r6' }).pluck('user_id')).toEqual([null]);
    expect((await db.knex('sync_change_users').where({ request_id: 'r6' }).pluck('user_id')).sort()).toEqual(['u7', 'u8']);
  });

  it('writes nothing that a rolled-back transaction recorded, and reports only committed counts', async () => {
    const committed: [ChangeKind, number][] = [];
    const recorder = new ChangeRecorder({ enabled: true, maxIds: 10, onCommitted: (kind, n) => committed.push([kind, n]) });
    await expect(
      db.transaction((tx) => {
        recorder.record(tx, tenantId, cause('r2'), 'user.created', ['u9']);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    await db.transaction((tx) => recorder.record(tx, tenantId, cause('r3'), 'user.updated', ['u9']));
    await new Promise((r) => setImmediate(r));
    expect(await rows('r2')).toEqual([]);
    expect(await rows('r3')).toEqual([{ kind: 'user.updated', count: 1, ids: '["u9"]' }]);
    expect(committed).toEqual([['user.updated', 1]]);
  });

  it('counts but writes nothing without a request id, or when the log is off', async () => {
    const committed: [ChangeKind, number][] = [];
    const off = new ChangeRecorder({ enabled: false, maxIds: 10, onCommitted: (kind, n) => committed.push([kind, n]) });
    const on = new ChangeRecorder({ enabled: true, maxIds: 10 });
    await db.transaction((tx) => {
      off.record(tx, tenantId, cause('r4'), 'user.created', ['u1']);
      on.record(tx, tenantId, cause(''), 'user.created', ['u1']);
    });
    await new Promise((r) => setImmediate(r));
    expect(await rows('r4')).toEqual([]);
    expect(await db.knex('sync_changes').where({ request_id: '' })).toEqual([]);
    expect(committed).toEqual([['user.created', 1]]);
  });
});
