import { Router, type Request } from 'express';
import type { AssignmentStore } from '../enrollment/assignments';
import type { EnrollmentStore } from '../enrollment/enrollments';
import type { Cause } from '../membership/types';
import { principalOf } from '../tenancy/bearer-auth';
import { AdminErrors } from './errors';
import { decodeCursor, encodeCursor, limitOf } from './paging';
import { Bodies, validBody } from './validate';

/** What caused an admin API change: the request's id, its token's name and its deadline. */
export const causeOf = (req: Request): Cause => ({ requestId: req.requestId ?? '', source: 'admin', actor: req.principal?.tokenName, deadline: req.deadline });

/** Assignments of groups, and the enrollments they lead to. */
export function assignmentsRouter(assignments: AssignmentStore, enrollments: EnrollmentStore): Router {
  const router = Router();

  router.post('/groups/:groupId/assignments', async (req, res) => {
    const { dryRun, ...input } = validBody(Bodies.assignmentCreate, req.body);
    const { assignment, delta } = await assignments.assign(principalOf(req).tenantId, req.params.groupId, input, causeOf(req), { dryRun });
    if (dryRun) return void res.json({ dryRun: true, granted: delta.grantsOpened, ...delta });
    res.status(201).json({ ...assignment, granted: delta.grantsOpened, ...delta });
  });

  router.get('/groups/:groupId/assignments', async (req, res) => {
    const items = await assignments.listForGroup(principalOf(req).tenantId, req.params.groupId);
    if (!items) throw AdminErrors.notFound(`Group ${req.params.groupId}`);
    res.json({ items, next: null });
  });

  router.patch('/assignments/:id', async (req, res) => {
    const change = validBody(Bodies.assignmentUpdate, req.body);
    const updated = await assignments.update(principalOf(req).tenantId, req.params.id, change, causeOf(req));
    if (!updated) throw AdminErrors.notFound(`Assignment ${req.params.id}`);
    res.json(updated);
  });

  router.delete('/assignments/:id', async (req, res) => {
    const removed = await assignments.remove(principalOf(req).tenantId, req.params.id, causeOf(req));
    if (!removed) throw AdminErrors.notFound(`Assignment ${req.params.id}`);
    res.status(204).end();
  });

  router.post('/reconcile', async (req, res) => {
    const { dryRun } = validBody(Bodies.reconcile, req.body ?? {});
    const counts = await assignments.reconcile(principalOf(req).tenantId, causeOf(req), { dryRun });
    res.json({ dryRun: dryRun === true, ...counts });
  });

  router.post('/enrollments/:id/progress', async (req, res) => {
    const report = validBody(Bodies.progress, req.body);
    const enrollment = await enrollments.reportProgress(principalOf(req).tenantId, req.params.id, report, causeOf(req));
    if (!enrollment) throw AdminErrors.notFound(`Enrollment ${req.params.id}`);
    res.json(enrollment);
  });

  router.get('/content/:id/enrollments', async (req, res) => {
    const state = req.query.state;
    if (state !== undefined && state !== 'active' && state !== 'suspended' && state !== 'completed') {
      throw AdminErrors.invalidQuery('state must be active, suspended or completed');
    }
    const page = await enrollments.forContent(principalOf(req).tenantId, req.params.id, {
      limit: limitOf(req),
      after: decodeCursor(req.query.cursor),
      state,
    });
    res.json({ items: page.items, next: encodeCursor(page.next) });
  });

  router.get('/groups/:groupId/stats', async (req, res) => {
    const stats = await enrollments.groupStats(principalOf(req).tenantId, req.params.groupId);
    if (!stats) throw AdminErrors.notFound(`Group ${req.params.groupId}`);
    res.json(stats);
  });

  router.get('/users/:userId/enrollments', async (req, res) => {
    const page = await enrollments.forUser(principalOf(req).tenantId, req.params.userId, { limit: limitOf(req), after: decodeCursor(req.query.cursor) });
    res.json({ items: page.items, next: encodeCursor(page.next) });
  });

  return router;
}
