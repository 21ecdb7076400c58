import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { ROSTER_MAIN, roster, startServer, tempSqliteUrl, type RunningServer } from '../support/server';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';

interface LoggedEntry {
  id: string;
  status: number;
  method: string;
  path: string;
  scimType: string | null;
  resourceId: string | null;
  changes: Record<string, number>;
}

/** `roster log` and the server's own JSON logs, against a started server on a SQLite file. */
describe('roster log and server logs', () => {
  let env: { DATABASE_URL: string };
  let dir: string;
  let server: RunningServer;
  let scimToken: string;
  let userId: string;
  const requestIds: Record<string, string> = {};

  const push = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}/scim/v2${path}`, {
      method,
      headers: { authorization: `Bearer ${scimToken}`, 'content-type': 'application/scim+json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, requestId: res.headers.get('x-request-id')!, body: (await res.json().catch(() => undefined)) as { id?: string } | undefined };
  };
  const jsonLines = (out: string) => out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as LoggedEntry);
  /** Entries reach the log shortly after their responses (batched); wait for them rather than guess. */
  const logged = async (args: string[], count: number) => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const entries = jsonLines(await roster(['log', '--json', ...args], env));
      if (entries.length >= count || Date.now() > deadline) return entries;
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  beforeAll(async () => {
    const tmp = tempSqliteUrl('roster-log-');
    dir = tmp.dir;
    env = { DATABASE_URL: tmp.url };
    scimToken = (await roster(['token', 'create', '--tenant', 'acme', '--scope', 'scim', '--name', 'okta-prod'], env)).trim();
    await roster(['token', 'create', '--tenant', 'globex', '--scope', 'scim'], env);
    server = await startServer({ ...env, LOG_LEVEL: 'debug' });
    const created = await push('POST', '/Users', { schemas: [USER], userName: 'alice@example.com', password: 'Sup3r-Secret!' });
    userId = created.body!.id!;
    requestIds.created = created.requestId;
    requestIds.duplicate = (await push('POST', '/Users', { schemas: [USER], userName: 'ALICE@example.com' })).requestId;
    requestIds.group = (await push('POST', '/Groups', { schemas: [GROUP], displayName: 'Sales', members: [{ value: userId }] })).requestId;
    requestIds.list = (await push('GET', '/Users?count=5')).requestId;
  });
  afterAll(async () => {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('prints the newest entries as JSON lines, oldest first like tail', async () => {
    const entries = await logged([], 4);
    expect(entries.map((e) => e.id)).toEqual([requestIds.created, requestIds.duplicate, requestIds.group, requestIds.list]);
    expect(entries[1]).toMatchObject({ status: 409, scimType: 'uniqueness', method: 'POST', path: '/scim/v2/Users' });
    expect(entries[2]!.changes).toEqual({ 'group.created': 1, 'membership.added': 1 });
  });

  it('prints a readable table by default', async () => {
    await logged([], 4);
    const out = await roster(['log', '--tenant', 'acme'], env);
    const [header, ...rows] = out.trim().split('\n');
    expect(header).toMatch(/^TIME \(UTC\)\s+TENANT\s+STATUS\s+METHOD\s+PATH\s+TOKEN\s+MS\s+CHANGES\s+REQUEST ID$/);
    expect(rows.length).toBeGreaterThanOrEqual(4);
    expect(out).toMatch(new RegExp(`acme\\s+409 uniqueness\\s+POST\\s+/scim/v2/Users\\s+okta-prod\\s+\\d+\\s+-\\s+${requestIds.duplicate}`));
    expect(out).toContain('group.created 1, membership.added 1');
    expect(out).not.toContain('Sup3r-Secret!');
  });

  it('filters failed requests, a user, a tenant and a time range', async () => {
    await logged([], 4);
    expect((await logged(['--failed'], 1)).map((e) => e.id)).toEqual([requestIds.duplicate]);
    expect((await logged(['--user', userId], 2)).map((e) => e.id)).toEqual([requestIds.created, requestIds.group]);
    expect(jsonLines(await roster(['log', '--json', '--tenant', 'globex'], env))).toEqual([]);
    expect(await logged(['--since', '1h'], 4)).toHaveLength(4);
    expect(jsonLines(await roster(['log', '--json', '--since', '2000-01-01T00:00:00Z', '--limit', '2'], env)).map((e) => e.id)).toEqual([
      requestIds.group,
      requestIds.list,
    ]);
  });

  it('names what is wrong with its options', async () => {
    await expect(roster(['log', '--tenant', 'nobody'], env)).rejects.toThrow(/No tenant named "nobody"/);
    await expect(roster(['log', '--since', 'last tuesday'], env)).rejects.toThrow(/--since takes a duration like 15m/);
    await expect(roster(['log', '--limit', 'all'], env)).rejects.toThrow(/--limit takes a number/);
  });

  it('follows new entries as they are written, and stops on Ctrl-C', async () => {
    await logged([], 4);
    const child = spawn(process.execPath, [ROSTER_MAIN, 'log', '--follow', '--json', '--limit', '1'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const waitFor = async (pred: () => boolean) => {
      const deadline = Date.now() + 15_000;
      while (!pred() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      return pred();
    };
    try {
      expect(await waitFor(() => out.includes(requestIds.list!))).toBe(true); // the newest entry first
      const fresh = await push('DELETE', `/Users/${userId}`);
      expect(fresh.status).toBe(204);
      expect(await waitFor(() => out.includes(fresh.requestId))).toBe(true);
      const last = jsonLines(out).at(-1)!;
      expect(last).toMatchObject({ id: fresh.requestId, method: 'DELETE', status: 204, changes: { 'user.deleted': 1, 'membership.removed': 1 } });
    } finally {
      child.kill('SIGINT');
    }
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
  });

  it('logs a CLI reconcile as an entry of its own', async () => {
    await roster(['reconcile', '--tenant', 'acme'], env);
    const entries = jsonLines(await roster(['log', '--json', '--tenant', 'acme', '--limit', '1'], env));
    expect(entries).toEqual([expect.objectContaining({ method: 'CLI', path: 'reconcile', status: 200 })]);
  });

  it('writes JSON log lines carrying the request id, and never a token or a password', async () => {
    await logged([], 4);
    const lines = server
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; requestId?: string; level: number });
    const requests = lines.filter((l) => l.msg === 'request');
    expect(requests.length).toBeGreaterThanOrEqual(4);
    expect(requests.map((l) => l.requestId)).toEqual(expect.arrayContaining(Object.values(requestIds)));
    expect(server.output()).not.toContain(scimToken);
    expect(server.output()).not.toContain('Sup3r-Secret!');
  });
});
