import fs from 'node:fs';
import { verify } from '../../src/outbox/signature';
import { freePort, roster, startServer, tempSqliteUrl } from '../support/server';
import { startReceiver } from '../support/receiver';

/** Events written before a restart are delivered after it: the outbox is the database, not memory. */
describe('webhook delivery across a restart', () => {
  it('delivers, after Roster restarts, an event whose delivery failed before it stopped', async () => {
    const tmp = tempSqliteUrl('roster-webhooks-');
    const env = { DATABASE_URL: tmp.url, WEBHOOK_POLL_MS: '100', WEBHOOK_BACKOFF_BASE_MS: '100', WEBHOOK_BACKOFF_MAX_MS: '200' };
    const scimToken = (await roster(['token', 'create', '--tenant', 'acme', '--scope', 'scim'], env)).trim();
    const adminToken = (await roster(['token', 'create', '--tenant', 'acme', '--scope', 'admin'], env)).trim();
    const port = await freePort(); // nobody listens there yet
    let server = await startServer(env);
    const call = async (path: string, token: string, method = 'GET', body?: unknown) => {
      const res = await fetch(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      return (await res.json()) as Record<string, unknown> & { id: string; items: { status: number | null }[] };
    };
    const waitFor = async (what: string, check: () => Promise<boolean> | boolean) => {
      const deadline = Date.now() + 15_000;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const receiver = { current: undefined as Awaited<ReturnType<typeof startReceiver>> | undefined };
    try {
      const hook = await call('/admin/v1/webhooks', adminToken, 'POST', { url: `http://127.0.0.1:${port}/hooks`, events: ['membership.added'] });
      const user = await call('/scim/v2/Users', scimToken, 'POST', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'ada@example.com' });
      await call('/scim/v2/Groups', scimToken, 'POST', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Before', members: [{ value: user.id }] });
      await waitFor('a failed attempt', async () => (await call(`/admin/v1/webhooks/${hook.id}/deliveries`, adminToken)).items.length > 0);
      expect((await call(`/admin/v1/webhooks/${hook.id}/deliveries`, adminToken)).items[0]).toMatchObject({ status: null });
      await server.stop();

      receiver.current = await startReceiver(port);
      server = await startServer(env);
      await waitFor('the delivery', () => receiver.current!.received.length > 0);
      const [{ body, headers }] = receiver.current.received as [{ body: string; headers: Record<string, unknown> }];
      expect(verify(hook.secret as string, body, headers['roster-signature'] as string)).toBe(true);
      const { events } = JSON.parse(body) as { events: { type: string; data: { userIds: string[] } }[] };
      expect(events).toEqual([expect.objectContaining({ type: 'membership.added', data: expect.objectContaining({ userIds: [user.id] }) })]);
    } finally {
      await server.stop();
      await receiver.current?.close();
      fs.rmSync(tmp.dir, { recursive: true, force: true });
    }
  });
});
