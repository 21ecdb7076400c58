import crypto from 'node:crypto';
import { chunks, now } from '../../src/db/tables';
import { createTestApp, patchOp, USER, type ScimClient, type TestApp } from '../helpers/app';

const SIZE = 100_000;

/**
 * A group of 100,000 members, loaded with set-based SQL (loading it over HTTP is the benchmark's job),
 * then driven over HTTP: patched, listed without members, and read whole.
 */
describe('a group of 100,000 members', () => {
  let t: TestApp;
  let scim: ScimClient;
  let groupId: string;

  beforeAll(async () => {
    t = await createTestApp();
    scim = await t.scim();
    const tenantId = await t.tenantId();
    const at = now();
    const users = Array.from({ length: SIZE }, (_, i) => ({
      id: crypto.randomUUID(),
      tenant_id: tenantId,
      user_name: `member${i}@example.com`,
      user_name_lc: `member${i}@example.com`,
      active: true,
      data: JSON.stringify({ userName: `member${i}@example.com`, active: true }),
      created_at: at,
      updated_at: at,
      version: 1,
    }));
    groupId = crypto.randomUUID();
    await t.db.knex.transaction(async (tx) => {
      // 400 rows a statement: SQLite's compound SELECT (knex's multi-row insert) takes at most 500 terms
      for (const part of chunks(users, 400)) await tx('users').insert(part);
      await tx('groups').insert({
        id: groupId,
        tenant_id: tenantId,
        display_name: 'Everyone',
        display_name_lc: 'everyone',
        data: '{}',
        created_at: at,
        updated_at: at,
        version: 1,
      });
      for (const part of chunks(users, 400)) {
        await tx('memberships').insert(part.map((u) => ({ tenant_id: tenantId, group_id: groupId, user_id: u.id, created_at: at })));
      }
    });
  }, 120_000);
  afterAll(() => t.close());

  it('adds and removes one member by PATCH', async () => {
    const res = await scim.post('/Users', { schemas: [USER], userName: 'newcomer@example.com' });
    const id = res.body.id as string;
    await scim.patch(`/Groups/${groupId}`, patchOp({ op: 'add', path: 'members', value: [{ value: id }] })).expect(204);
    expect(await t.store.countMembers(await t.tenantId(), groupId)).toBe(SIZE + 1);
    await scim.patch(`/Groups/${groupId}`, patchOp({ op: 'remove', path: `members[value eq "${id}"]` })).expect(204);
    expect(await t.store.countMembers(await t.tenantId(), groupId)).toBe(SIZE);
  });

  it('lists it with excludedAttributes=members', async () => {
    const res = await scim.get(`/Groups?excludedAttributes=members&filter=${encodeURIComponent('displayName eq "everyone"')}`);
    expect(res.status).toBe(200);
    expect(res.body.totalResults).toBe(1);
    expect(res.body.Resources[0]).not.toHaveProperty('members');
  });

  it('reads it whole', async () => {
    const res = await scim.get(`/Groups/${groupId}`);
    expect(res.status).toBe(200);
    expect(res.body.members).toHaveLength(SIZE);
  });
});
