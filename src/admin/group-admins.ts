import { Router, type Request } from 'express';
import type { GroupAdmins } from '../membership/group-admins';
import { StoreErrors } from '../membership/errors';
import type { MembershipStore } from '../membership/store';
import { principalOf } from '../tenancy/bearer-auth';
import type { Tenancy } from '../tenancy/tokens';
import { causeOf } from './cause';
import { AdminError, AdminErrors } from './errors';
import { Bodies, validBody } from './validate';

const DAY_MS = 86_400_000;

/**
 * Group admins and the tokens they act through: a workspace admin appoints and revokes group
 * admins and issues member tokens bound to a user; members join and leave public groups with
 * theirs. What a member token may do is checked before any route (authorize.ts).
 */
export function groupAdminsRouter(store: MembershipStore, groupAdmins: GroupAdmins, tenancy: Tenancy): Router {
  const router = Router();
  const tenantOf = (req: Request) => principalOf(req).tenantId;
  const selfOf = (req: Request) => {
    const userId = principalOf(req).userId;
    if (!userId) throw new AdminError(400, 'memberTokenRequired', 'joining and leaving a group is for a member token (POST /admin/v1/users/{id}/tokens), which says who joins');
    return userId;
  };

  router.get('/groups/:groupId/admins', async (req, res) => {
    const items = await groupAdmins.list(tenantOf(req), req.params.groupId);
    if (!items) throw AdminErrors.notFound(`Group ${req.params.groupId}`);
    res.json({ items, next: null });
  });

  router.put('/groups/:groupId/admins/:userId', async (req, res) => {
    const created = await groupAdmins.appoint(tenantOf(req), req.params.groupId, req.params.userId, principalOf(req).tokenName);
    res.status(created ? 201 : 200).json({ groupId: req.params.groupId, userId: req.params.userId, appointed: created });
  });

  router.delete('/groups/:groupId/admins/:userId', async (req, res) => {
    if (!(await groupAdmins.revoke(tenantOf(req), req.params.groupId, req.params.userId))) throw AdminErrors.notFound(`User ${req.params.userId} as an admin of group ${req.params.groupId}`);
    res.status(204).end();
  });

  router.post('/users/:userId/tokens', async (req, res) => {
    const body = validBody(Bodies.memberTokenCreate, req.body ?? {});
    const tenantId = tenantOf(req);
    const user = await store.getUser(tenantId, req.params.userId);
    if (!user) throw StoreErrors.userNotFound(req.params.userId);
    if (!user.active) throw StoreErrors.inactiveMembers([user.id]);
    const expiresAt = body.expiresInDays ? new Date(Date.now() + body.expiresInDays * DAY_MS) : undefined;
    const { token, info } = await tenancy.createMemberToken(tenantId, user.id, body.name ?? `member-${user.userName}`, expiresAt);
    res.status(201).json({ ...info, token });
  });

  router.get('/users/:userId/tokens', async (req, res) => {
    res.json({ items: await tenancy.memberTokens(tenantOf(req), req.params.userId), next: null });
  });

  router.delete('/users/:userId/tokens/:tokenId', async (req, res) => {
    const mine = (await tenancy.memberTokens(tenantOf(req), req.params.userId)).some((t) => t.id === req.params.tokenId);
    if (!mine) throw AdminErrors.notFound(`Token ${req.params.tokenId} of user ${req.params.userId}`);
    await tenancy.revokeToken(req.params.tokenId);
    res.status(204).end();
  });

  router.post('/groups/:groupId/join', async (req, res) => {
    const { added } = await store.changeGroup(tenantOf(req), req.params.groupId, [{ kind: 'addMembers', userIds: [selfOf(req)] }], { cause: causeOf(req), selfService: true });
    res.json({ joined: added.length > 0 });
  });

  router.post('/groups/:groupId/leave', async (req, res) => {
    const { removed } = await store.changeGroup(tenantOf(req), req.params.groupId, [{ kind: 'removeMembers', userIds: [selfOf(req)] }], { cause: causeOf(req), selfService: true });
    res.json({ left: removed.length > 0 });
  });

  return router;
}
