import { Router, type Request } from 'express';
import { CONTENT_KINDS, type ContentKind, type ContentStore } from '../enrollment/content';
import { principalOf } from '../tenancy/bearer-auth';
import { decodeCursor, encodeCursor, limitOf } from './paging';
import { AdminErrors } from './errors';
import { Bodies, validBody } from './validate';

/** /admin/v1/content: what can be assigned to groups. */
export function contentRouter(content: ContentStore): Router {
  const router = Router();
  const tenantOf = (req: Request) => principalOf(req).tenantId;

  router.post('/', async (req, res) => {
    const input = validBody(Bodies.contentCreate, req.body);
    res.status(201).json(await content.create(tenantOf(req), input));
  });

  router.get('/', async (req, res) => {
    const kind = req.query.kind;
    if (kind !== undefined && !CONTENT_KINDS.includes(kind as ContentKind)) {
      throw AdminErrors.invalidQuery(`kind must be one of ${CONTENT_KINDS.join(', ')}`);
    }
    const page = await content.list(tenantOf(req), {
      limit: limitOf(req),
      after: decodeCursor(req.query.cursor),
      kind: kind as ContentKind | undefined,
    });
    res.json({ items: page.items, next: encodeCursor(page.next) });
  });

  router.get('/:id', async (req, res) => {
    const found = await content.get(tenantOf(req), req.params.id);
    if (!found) throw AdminErrors.notFound(`Content ${req.params.id}`);
    res.json(found);
  });

  router.patch('/:id', async (req, res) => {
    const change = validBody(Bodies.contentUpdate, req.body);
    const updated = await content.update(tenantOf(req), req.params.id, change);
    if (!updated) throw AdminErrors.notFound(`Content ${req.params.id}`);
    res.json(updated);
  });

  router.delete('/:id', async (req, res) => {
    if (!(await content.delete(tenantOf(req), req.params.id))) throw AdminErrors.notFound(`Content ${req.params.id}`);
    res.status(204).end();
  });

  return router;
}
