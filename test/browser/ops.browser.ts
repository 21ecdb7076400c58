import fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { roster, startServer, tempSqliteUrl, type RunningServer } from '../support/server';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';

/**
 * An operator's morning, in headless Chromium against a started server: sign in, filter the log to
 * failed requests, open one, then find out why a user is enrolled in a course.
 */
describe('operator pages in a browser', () => {
  let server: RunningServer;
  let browser: Browser;
  let dir: string;
  let adminToken: string;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    if (!fs.existsSync(CHROMIUM)) {
      throw new Error(`No Chromium at ${CHROMIUM}: install Debian's package (apt-get install chromium) or set CHROMIUM_PATH`);
    }
    const tmp = tempSqliteUrl('roster-browser-');
    dir = tmp.dir;
    const env = { DATABASE_URL: tmp.url };
    adminToken = (await roster(['token', 'create', '--tenant', 'acme', '--scope', 'admin', '--name', 'ops-browser'], env)).trim();
    const scimToken = (await roster(['token', 'create', '--tenant', 'acme', '--scope', 'scim', '--name', 'entra-prod'], env)).trim();
    server = await startServer(env);
    const call = async (method: string, path: string, token: string, body?: unknown) => {
      const res = await fetch(`${server.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, requestId: res.headers.get('x-request-id')!, body: (await res.json().catch(() => ({}))) as { id: string } };
    };
    ids.user = (await call('POST', '/scim/v2/Users', scimToken, { schemas: [USER], userName: 'grace@example.com', displayName: 'Grace Hopper' })).body.id;
    const dup = await call('POST', '/scim/v2/Users', scimToken, { schemas: [USER], userName: 'GRACE@example.com' });
    expect(dup.status).toBe(409);
    ids.failed = dup.requestId;
    ids.group = (await call('POST', '/scim/v2/Groups', scimToken, { schemas: [GROUP], displayName: 'Engineering' })).body.id;
    const course = (await call('POST', '/admin/v1/content', adminToken, { kind: 'course', title: 'Security Basics' })).body.id;
    expect((await call('POST', `/admin/v1/groups/${ids.group}/assignments`, adminToken, { contentId: course })).status).toBe(201);
    const join = await call('PATCH', `/scim/v2/Groups/${ids.group}`, scimToken, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'Add', path: 'members', value: [{ value: ids.user }] }],
    });
    expect(join.status).toBe(204);
    ids.join = join.requestId;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('signs in, filters to failed requests, opens one, and follows a user\'s "why" to the push behind it', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();

    // Sign in: the token typed into the form, Enter to submit.
    await page.goto(`${server.url}/ops`);
    expect(new URL(page.url()).pathname).toBe('/ops/login');
    await page.getByLabel('Admin token').fill(adminToken);
    await page.keyboard.press('Enter');
    await page.waitForURL('**/ops/log');
    expect(page.url()).not.toContain(adminToken);
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: 'roster_ops', httpOnly: true, sameSite: 'Strict', path: '/ops' });
    expect(await page.evaluate('document.cookie')).toBe(''); // no script can read it

    // The first Tab reaches the skip link.
    await page.keyboard.press('Tab');
    await expect(page.evaluate('document.activeElement.textContent')).resolves.toBe('Skip to content');

    // Filter to failed requests with the keyboard: type-ahead in the status select, Tab to the next
    // field, Enter submits the form.
    await page.getByLabel('Status').focus();
    await page.keyboard.type('f');
    await expect(page.getByLabel('Status').inputValue()).resolves.toBe('failed');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.waitForURL('**/ops/log?*status=failed*');
    const rows = page.locator('tbody tr');
    expect(await rows.count()).toBe(1);
    await expect(rows.first().innerText()).resolves.toMatch(/409\s+uniqueness\s+POST\s+\/scim\/v2\/Users\s+entra-prod/);

    // Open it: the request, the error and the response body are there.
    await rows.first().getByRole('link').click();
    await page.waitForURL(`**/ops/log/${ids.failed}`);
    const entry = await page.locator('main').innerText();
    expect(entry).toContain('POST /scim/v2/Users');
    expect(entry).toMatch(/Status\s+409 uniqueness/);
    expect(entry).toContain('userName "GRACE@example.com" is already taken');
    expect(entry).toContain('"scimType": "uniqueness"');
    expect(entry).toContain('None: this request changed nothing.');

    // Find the user and read why they are enrolled.
    await page.getByRole('link', { name: 'Users', exact: true }).click();
    await page.getByLabel('userName or email starts with').fill('grace');
    await page.keyboard.press('Enter');
    await page.getByRole('link', { name: 'grace@example.com' }).click();
    await page.waitForURL(`**/ops/users/${ids.user}`);
    const why = page.getByRole('region', { name: 'Security Basics' });
    await expect(why.innerText()).resolves.toMatch(/Engineering/);
    await why.getByRole('link', { name: ids.join!.slice(0, 8) }).first().click();
    await page.waitForURL(`**/ops/log/${ids.join}`);
    const push = await page.locator('main').innerText();
    expect(push).toContain(`PATCH /scim/v2/Groups/${ids.group}`);
    expect(push).toMatch(/membership\.added\s+1/);
    expect(push).toMatch(/enrollment\.created\s+1/);
    await context.close();
  });
});
