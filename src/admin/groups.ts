import { Router, type Request } from 'express';
import type { Directory, GroupOverview } from '../enrollment/directory';
import type { People } from '../membership/people';
import type { MembershipStore } from '../membership/store';
import type { GroupProfile, GroupSettings } from '../membership/types';
import { causeOf } from './cause';
import { principalOf } from '../tenancy/bearer-auth';
import { AdminErrors } from './errors';
import { Bodies, validBody, type GroupInput } from './validate';


/** The settings a body names (absent ones are not changes). */
function settingsOf(body: Partial<GroupInput> & { archived?: boolean }): Partial<GroupSettings> {
  const out: Partial<GroupSettings> = {};
  for (const key of ['description', 'color', 'maxMembers', 'visibility', 'archived', 'rule', 'creditLimitPerSession'] as const) {
    if (body[key] !== undefined) (out as Record<string, unknown>)[key] = body[key];
  }
  return out;
}

/**
 * Groups as learning admins run them: create, change settings, archive, delete, add and remove
 * people, set a user's groups. The store decides what is allowed (member limits, archived groups,
 * groups an identity provider or a rule owns); this translates.
 */
export function groupsRouter(store: MembershipStore, people: People, directory: Directory): Router {
  const router = Router();
  const tenantOf = (req: Request) => principalOf(req).tenantId;
  const overview = async (tenantId: string, id: string): Promise<GroupOverview> => {
    const [group] = (await directory.groups(tenantId, { limit: 1, ids: [id] })).items;
    if (!group) throw AdminErrors.notFound(`Group ${id}`);
    return group;
  };

  router.post('/groups', async (req, res) => {
    const { displayName, externalId, ...rest } = validBody(Bodies.groupCreate, req.body);
    const group = await store.createGroup(tenantOf(req), { displayName, externalId: externalId ?? null, attributes: {}, settings: settingsOf(rest) }, [], { cause: causeOf(req) });
    res.status(201).location(`${req.baseUrl}/groups/${group.id}`).json(await overview(tenantOf(req), group.id));
  });

  router.patch('/groups/:groupId', async (req, res) => {
    const { dryRun, displayName, externalId, ...rest } = validBody(Bodies.groupUpdate, req.body);
    const tenantId = tenantOf(req);
    if (dryRun) {
      const preview = await store.previewRule(tenantId, req.params.groupId, rest.rule!);
      if (!preview) throw AdminErrors.notFound(`Group ${req.params.groupId}`);
      return void res.json({ dryRun: true, ...preview });
    }
    const apply = (current: GroupProfile): GroupProfile => ({
      ...current,
      ...(displayName !== undefined ? { displayName } : {}),
      ...(externalId !== undefined ? { externalId } : {}),
      settings: { ...current.settings, ...settingsOf(rest) },
    });
    const { added, removed } = await store.changeGroup(tenantId, req.params.groupId, [{ kind: 'update', apply }], { cause: causeOf(req) });
    res.json({ ...(await overview(tenantId, req.params.groupId)), joined: added.length, left: removed.length });
  });

  router.delete('/groups/:groupId', async (req, res) => {
    await store.deleteGroup(tenantOf(req), req.params.groupId, { cause: causeOf(req) });
    res.status(204).end();
  });

  router.post('/groups/:groupId/members', async (req, res) => {
    const who = validBody(Bodies.groupMembersAdd, req.body);
    const result = await people.add(tenantOf(req), req.params.groupId, who, { cause: causeOf(req) });
    res.json({ added: result.added.length, alreadyMembers: result.alreadyMembers, skippedInactive: result.skippedInactive, addedUserIds: result.added });
  });

  router.delete('/groups/:groupId/members/:userId', async (req, res) => {
    const { removed } = await store.changeGroup(tenantOf(req), req.params.groupId, [{ kind: 'removeMembers', userIds: [req.params.userId] }], { cause: causeOf(req) });
    if (!removed.length) throw AdminErrors.notFound(`User ${req.params.userId} as a member of group ${req.params.groupId}`);
    res.status(204).end();
  });

  router.put('/users/:userId/groups', async (req, res) => {
    const { groupIds } = validBody(Bodies.userGroupsSet, req.body);
    const [result] = await people.setGroups(tenantOf(req), [req.params.userId], groupIds, { cause: causeOf(req) });
    res.json(result);
  });

  router.post('/users/groups', async (req, res) => {
    const { userIds, groupIds } = validBody(Bodies.usersGroupsSet, req.body);
    res.json({ items: await people.setGroups(tenantOf(req), userIds, groupIds, { cause: causeOf(req) }) });
  });

  return router;
}
