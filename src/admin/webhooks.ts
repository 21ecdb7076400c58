import { Router } from 'express';
import type { WebhookStore } from '../outbox/webhooks';
import { principalOf } from '../tenancy/bearer-auth';
import { AdminErrors } from './errors';
import { limitOf } from './paging';
import { Bodies, validBody } from './validate';

/** /admin/v1/webhooks: subscriptions to the tenant's events, and their delivery attempts. */
export function webhooksRouter(webhooks: WebhookStore): Router {
  const router = Router();

  router.post('/', async (req, res) => {
    const input = validBody(Bodies.webhookCreate, req.body);
    const { webhook, secret } = await webhooks.create(principalOf(req).tenantId, input);
    res.status(201).json({ ...webhook, secret }); // the secret is shown this once
  });

  router.get('/', async (req, res) => {
    res.json({ items: await webhooks.list(principalOf(req).tenantId), next: null });
  });

  router.get('/:id', async (req, res) => {
    const found = await webhooks.get(principalOf(req).tenantId, req.params.id);
    if (!found) throw AdminErrors.notFound(`Webhook ${req.params.id}`);
    res.json(found);
  });

  router.get('/:id/deliveries', async (req, res) => {
    const tenantId = principalOf(req).tenantId;
    if (!(await webhooks.get(tenantId, req.params.id))) throw AdminErrors.notFound(`Webhook ${req.params.id}`);
    res.json({ items: await webhooks.deliveries(tenantId, req.params.id, limitOf(req)), next: null });
  });

  router.post('/:id/resume', async (req, res) => {
    const resumed = await webhooks.resume(principalOf(req).tenantId, req.params.id);
    if (!resumed) throw AdminErrors.notFound(`Webhook ${req.params.id}`);
    res.json(resumed);
  });

  router.delete('/:id', async (req, res) => {
    if (!(await webhooks.remove(principalOf(req).tenantId, req.params.id))) throw AdminErrors.notFound(`Webhook ${req.params.id}`);
    res.status(204).end();
  });

  return router;
}
