import { MembershipStore } from '../../src/membership/store';
import type { MembershipEvent } from '../../src/membership/types';
import { Tenancy } from '../../src/tenancy/tokens';
import { createTestDb } from '../helpers/db';
import { profile, testCause } from '../helpers/fixtures';

describe('membership store', () => {
  let db: Awaited<ReturnType<typeof createTestDb>>;
  let store: MembershipStore;
  let tenantId: string;
  let events: MembershipEvent[];
  const opts = { cause: testCause };

  beforeAll(async () => {
    db = await createTestDb();
    tenantId = (await new Tenancy(db).ensureTenant('acme')).id;
  });
  afterAll(() => db.drop());
  beforeEach(() => {
    store = new MembershipStore(db);
    events = [];
    store.hooks.register((_tx, e) => {
      events.push(e);
    });
  });

  const membersOf = async (groupId: string) =>
    (await store.membersOfGroups(tenantId, [groupId])).get(groupId)?.map((m) => m.userName).sort() ?? [];

  it('emits only the real delta: adding an existing member is no change', async () => {
    const a = await store.createUser(tenantId, profile(`a-${Date.now()}`), opts);
    const b = await store.createUser(tenantId, profile(`b-${Date.now()}`), opts);
    const g = await store.createGroup(tenantId, { displayName: 'Sales', externalId: null, attributes: {} }, [a.id], opts);
    events = [];

    const { added } = await store.addMembers(tenantId, g.id, [a.id, b.id, b.id], opts);
    expect(added).toEqual([b.id]);
    expect(events.filter((e) => e.type === 'membership.added')).toEqual([
      expect.objectContaining({ type: 'membership.added', groupId: g.id, userIds: [b.id] }),
    ]);

    events = [];
    const again = await store.addMembers(tenantId, g.id, [a.id, b.id], opts);
    expect(again.added).toEqual([]);
    expect(events).toEqual([]);
  });

  it('nets out a member added and removed in the same change', async () => {
    const a = await store.createUser(tenantId, profile(`c-${Date.now()}`), opts);
    const g = await store.createGroup(tenantId, { displayName: 'Net', externalId: null, attributes: {} }, [], opts);
    events = [];
    const result = await store.changeGroup(
      tenantId,
      g.id,
      [
        { kind: 'addMembers', userIds: [a.id] },
        { kind: 'removeMembers', userIds: [a.id] },
      ],
      opts,
    );
    expect(result.added).toEqual([]);
    expect(result.removed).toEqual([]);
    expect(events.filter((e) => e.type.startsWith('membership.'))).toEqual([]);
    expect(await membersOf(g.id)).toEqual([]);
  });

  it('rolls the whole change back when a hook fails', async () => {
    const a = await store.createUser(tenantId, profile(`d-${Date.now()}`), opts);
    const g = await store.createGroup(tenantId, { displayName: 'Rollback', externalId: null, attributes: {} }, [], opts);
    const unregister = store.hooks.register((_tx, e) => {
      if (e.type === 'membership.added') throw new Error('enrollment hook failed');
    });
    await expect(store.addMembers(tenantId, g.id, [a.id], opts)).rejects.toThrow('enrollment hook failed');
    unregister();
    expect(await membersOf(g.id)).toEqual([]);
    expect((await store.getGroup(tenantId, g.id))?.version).toBe(g.version);
  });

  it('rolls back a user creation when a hook fails, so the userName stays free', async () => {
    const unregister = store.hooks.register((_tx, e) => {
      if (e.type === 'user.created') throw new Error('boom');
    });
    const name = `e-${Date.now()}`;
    await expect(store.createUser(tenantId, profile(name), opts)).rejects.toThrow('boom');
    unregister();
    const user = await store.createUser(tenantId, profile(name), opts);
    expect(user.userName).toBe(name);
  });

  it('refuses a second user with the same userName in any letter case', async () => {
    const name = `Case-${Date.now()}`;
    await store.createUser(tenantId, profile(name), opts);
    await expect(store.createUser(tenantId, profile(name.toUpperCase()), opts)).rejects.toMatchObject({ code: 'userNameTaken' });
  });

  it('refuses members that are not users of the tenant and changes nothing', async () => {
    const other = (await new Tenancy(db).ensureTenant('other')).id;
    const stranger = await store.createUser(other, profile(`s-${Date.now()}`), opts);
    const a = await store.createUser(tenantId, profile(`f-${Date.now()}`), opts);
    const g = await store.createGroup(tenantId, { displayName: 'Strict', externalId: null, attributes: {} }, [], opts);
    await expect(store.addMembers(tenantId, g.id, [a.id, stranger.id], opts)).rejects.toMatchObject({ code: 'unknownMembers' });
    expect(await membersOf(g.id)).toEqual([]);
  });

  // On PostgreSQL a lone add or remove goes in the round trip of the group's lock, before the checks
  // (changeOneGroup): a refusal must still say exactly what is wrong and leave nothing behind.
  it('a lone member change refused for a missing user, a missing group, a stranger or an archived group says why and changes nothing', async () => {
    const other = (await new Tenancy(db).ensureTenant('elsewhere')).id;
    const stranger = await store.createUser(other, profile(`lone-s-${Date.now()}`), opts);
    const a = await store.createUser(tenantId, profile(`lone-a-${Date.now()}`), opts);
    const g = await store.createGroup(tenantId, { displayName: 'Lone', externalId: null, attributes: {} }, [], opts);
    const missing = '00000000-0000-7000-8000-000000000000';
    await expect(store.addMembers(tenantId, g.id, [a.id, missing], opts)).rejects.toMatchObject({ code: 'unknownMembers', message: expect.stringContaining(missing) });
    await expect(store.addMembers(tenantId, g.id, [stranger.id], opts)).rejects.toMatchObject({ code: 'unknownMembers', message: expect.stringContaining(stranger.id) });
    await expect(store.addMembers(tenantId, missing, [a.id], opts)).rejects.toMatchObject({ code: 'groupNotFound' });
    await expect(store.removeMembers(tenantId, missing, [a.id], opts)).rejects.toMatchObject({ code: 'groupNotFound' });
    expect(await membersOf(g.id)).toEqual([]);
    const archived = await store.createGroup(tenantId, { displayName: 'Lone archive', externalId: null, attributes: {} }, [], opts);
    await store.changeGroup(tenantId, archived.id, [{ kind: 'update', apply: (p) => ({ ...p, settings: { ...p.settings, archived: true } }) }], opts);
    events = [];
    await expect(store.addMembers(tenantId, archived.id, [a.id], opts)).rejects.toMatchObject({ code: 'groupArchived' });
    expect(await membersOf(archived.id)).toEqual([]);
    expect(events).toEqual([]);
    // And the ones that pass: added, then removed, each once.
    expect((await store.addMembers(tenantId, g.id, [a.id, a.id], opts)).added).toEqual([a.id]);
    expect((await store.removeMembers(tenantId, g.id, [a.id], opts)).removed).toEqual([a.id]);
    expect((await store.removeMembers(tenantId, g.id, [a.id], opts)).removed).toEqual([]);
  });

  it('replaces members with the exact delta', async () => {
    const [a, b, c] = await Promise.all(['x', 'y', 'z'].map((n) => store.createUser(tenantId, profile(`${n}-${Date.now()}`), opts)));
    const g = await store.createGroup(tenantId, { displayName: 'Replace', externalId: null, attributes: {} }, [a!.id, b!.id], opts);
    events = [];
    const { added, removed } = await store.replaceMembers(tenantId, g.id, [b!.id, c!.id], opts);
    expect(added).toEqual([c!.id]);
    expect(removed).toEqual([a!.id]);
    expect(events.map((e) => e.type)).toEqual(['membership.added', 'membership.removed']);
  });

  it('emits deactivation and reactivation when active flips, and leaves memberships alone', async () => {
    const a = await store.createUser(tenantId, profile(`g-${Date.now()}`), opts);
    const g = await store.createGroup(tenantId, { displayName: 'Active', externalId: null, attributes: {} }, [a.id], opts);
    events = [];
    await store.modifyUser(tenantId, a.id, (u) => ({ ...u, active: false }), opts);
    await store.modifyUser(tenantId, a.id, (u) => ({ ...u, active: true }), opts);
    expect(events.map((e) => e.type)).toEqual(['user.updated', 'user.deactivated', 'user.updated', 'user.reactivated']);
    expect(await membersOf(g.id)).toEqual([a.userName]);
  });

  it('ends memberships before deleting a user or a group, and emits each removal', async () => {
    const a = await store.createUser(tenantId, profile(`h-${Date.now()}`), opts);
    const b = await store.createUser(tenantId, profile(`i-${Date.now()}`), opts);
    const g1 = await store.createGroup(tenantId, { displayName: 'One', externalId: null, attributes: {} }, [a.id, b.id], opts);
    const g2 = await store.createGroup(tenantId, { displayName: 'Two', externalId: null, attributes: {} }, [a.id], opts);
    events = [];
    await store.deleteUser(tenantId, a.id, opts);
    expect(events.filter((e) => e.type === 'membership.removed').map((e) => (e as { groupId: string }).groupId).sort()).toEqual(
      [g1.id, g2.id].sort(),
    );
    expect(events.at(-1)).toMatchObject({ type: 'user.deleted', userId: a.id });
    events = [];
    await store.deleteGroup(tenantId, g1.id, opts);
    expect(events).toEqual([
      expect.objectContaining({ type: 'membership.removed', groupId: g1.id, userIds: [b.id] }),
      expect.objectContaining({ type: 'group.deleted', groupId: g1.id }),
    ]);
    expect(await store.getUser(tenantId, b.id)).toBeDefined();
  });

  it('writes nothing and emits nothing when a change leaves the user as it was', async () => {
    const a = await store.createUser(tenantId, profile(`n-${Date.now()}`), opts);
    events = [];
    const same = await store.modifyUser(tenantId, a.id, (u) => ({ ...u }), opts);
    expect(same.version).toBe(a.version);
    expect(events).toEqual([]);
    const changed = await store.modifyUser(tenantId, a.id, (u) => ({ ...u, displayName: 'New name' }), opts);
    expect(changed.version).toBe(a.version + 1);
    expect(events.map((e) => e.type)).toEqual(['user.updated']);
  });

  it('refuses a change when the version given does not match', async () => {
    const g = await store.createGroup(tenantId, { displayName: 'Versioned', externalId: null, attributes: {} }, [], opts);
    await expect(
      store.changeGroup(tenantId, g.id, [{ kind: 'update', apply: (p) => ({ ...p, displayName: 'New' }) }], { ...opts, ifVersion: g.version + 1 }),
    ).rejects.toMatchObject({ code: 'versionMismatch' });
    expect((await store.getGroup(tenantId, g.id))?.displayName).toBe('Versioned');
  });
});
