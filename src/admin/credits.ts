import { Router, type Request } from 'express';
import type { CreditLedger, LedgerQuery } from '../credits/ledger';
import type { CreditStore } from '../credits/store';
import { principalOf } from '../tenancy/bearer-auth';
import { causeOf } from './cause';
import { onlyParams } from './directory';
import { AdminErrors } from './errors';
import { decodeSeqCursor, encodeSeqCursor, limitOf } from './paging';
import { Bodies, validBody } from './validate';

/** A page of the ledger as asked: `limit` and `cursor`, nothing else. */
function ledgerQueryOf(req: Request): LedgerQuery {
  onlyParams(req, ['limit', 'cursor']);
  return { limit: limitOf(req), before: decodeSeqCursor(req.query.cursor) };
}

/**
 * /admin/v1/settings (coaching on or off) and the coaching credits: the workspace's wallet, each
 * group's and each member's, and the ledger of transfers between them.
 */
export function creditsRouter(credits: CreditStore, ledger: CreditLedger): Router {
  const router = Router();
  const tenantOf = (req: Request) => principalOf(req).tenantId;

  router.get('/settings', async (req, res) => {
    onlyParams(req, []);
    res.json({ coaching: await ledger.coaching(tenantOf(req)) });
  });

  router.patch('/settings', async (req, res) => {
    const { coaching } = validBody(Bodies.settingsUpdate, req.body);
    res.json({ coaching: await credits.setCoaching(tenantOf(req), coaching, causeOf(req)) });
  });

  router.get('/credits', async (req, res) => {
    onlyParams(req, []);
    res.json(await ledger.summary(tenantOf(req)));
  });

  router.get('/credits/transfers', async (req, res) => {
    const page = await ledger.transfers(tenantOf(req), ledgerQueryOf(req));
    res.json({ items: page.items, next: encodeSeqCursor(page.next) });
  });

  router.post('/credits/deposits', async (req, res) => {
    const input = validBody(Bodies.creditTransfer, req.body);
    res.status(201).json(await credits.deposit(tenantOf(req), input, causeOf(req)));
  });

  router.get('/groups/:groupId/credits', async (req, res) => {
    onlyParams(req, []);
    const found = await ledger.group(tenantOf(req), req.params.groupId);
    if (!found) throw AdminErrors.notFound(`Group ${req.params.groupId}`);
    res.json(found);
  });

  router.post('/groups/:groupId/credits', async (req, res) => {
    const input = validBody(Bodies.creditTransfer, req.body);
    res.status(201).json(await credits.allocate(tenantOf(req), req.params.groupId, input, causeOf(req)));
  });

  router.post('/groups/:groupId/credits/distributions', async (req, res) => {
    const { distributions, note } = validBody(Bodies.creditDistributions, req.body);
    res.status(201).json(await credits.distribute(tenantOf(req), req.params.groupId, distributions, note, causeOf(req)));
  });

  router.get('/users/:userId/credits', async (req, res) => {
    const query = ledgerQueryOf(req);
    const found = await ledger.user(tenantOf(req), req.params.userId, query);
    if (!found) throw AdminErrors.notFound(`User ${req.params.userId}`);
    res.json({ ...found, next: encodeSeqCursor(found.next) });
  });

  router.post('/users/:userId/credits/sessions', async (req, res) => {
    const input = validBody(Bodies.creditSession, req.body);
    res.status(201).json(await credits.consume(tenantOf(req), req.params.userId, input, causeOf(req)));
  });

  return router;
}
