import { Router, type Request } from 'express';
import type { GroupActivity } from '../activity/feed';
import type { GroupMessages } from '../activity/messages';
import { principalOf } from '../tenancy/bearer-auth';
import { causeOf } from './cause';
import { onlyParams } from './directory';
import { AdminErrors } from './errors';
import { decodeCursor, decodeSeqCursor, encodeCursor, encodeSeqCursor, limitOf } from './paging';
import { Bodies, validBody } from './validate';

/** /admin/v1/groups/{groupId}/activity and /messages: what happened in a group, and admins' messages to it. */
export function activityRouter(activity: GroupActivity, messages: GroupMessages): Router {
  const router = Router();
  const tenantOf = (req: Request) => principalOf(req).tenantId;
  const notFound = (groupId: string) => AdminErrors.notFound(`Group ${groupId}`);

  router.get('/groups/:groupId/activity', async (req, res) => {
    onlyParams(req, ['limit', 'cursor']);
    const page = await activity.feed(tenantOf(req), req.params.groupId, { limit: limitOf(req), before: decodeSeqCursor(req.query.cursor) });
    if (!page) throw notFound(req.params.groupId);
    res.json({ items: page.items, next: encodeSeqCursor(page.next) });
  });

  router.post('/groups/:groupId/messages', async (req, res) => {
    const { text } = validBody(Bodies.groupMessage, req.body);
    res.status(201).json(await messages.post(tenantOf(req), req.params.groupId, text, causeOf(req)));
  });

  router.get('/groups/:groupId/messages', async (req, res) => {
    onlyParams(req, ['limit', 'cursor']);
    const page = await messages.list(tenantOf(req), req.params.groupId, { limit: limitOf(req), after: decodeCursor(req.query.cursor) });
    if (!page) throw notFound(req.params.groupId);
    res.json({ items: page.items, next: encodeCursor(page.next) });
  });

  return router;
}
