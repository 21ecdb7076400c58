/**
 * npm run bench [-- --quick] [-- --only sync-log]
 *
 * Starts Roster as a separate process on a fresh SQLite file (and on PostgreSQL too when DATABASE_URL
 * names one), loads users and groups through the SCIM API, and drives it over HTTP with autocannon from
 * this process. Prints one table and writes bench-results/latest.json. Figures are relative to a floor
 * measured in the same run: a bare express app answering a fixed JSON body.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import { openDb } from '../../src/db/knex';
import { freePort, roster, startServer, tempSqliteUrl, type RunningServer } from '../support/server';

const quick = process.argv.includes('--quick');
/** `--only sync-log`: just the log on/off comparison (the floor is measured anyway). */
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
/** The server's peak RSS so far, sampled every 200 ms while an engine runs. */
let peakRss = 0;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const BIG = quick ? 10_000 : 100_000;
const SMALL = 100;
const MID = quick ? 2_000 : 10_000;
/** Users in no group, for the one-member PATCH scenarios. */
const OUTSIDERS = quick ? 500 : 2_000;
const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const DURATION = quick ? 2 : 8;
const FLOOR_SECONDS = quick ? 1 : 4;
/** The PATCH growth figure: alternating rounds of the smallest and the biggest group. */
const GROWTH_ROUNDS = quick ? 5 : 7;
const GROWTH_SECONDS = quick ? 1 : 2;

interface Row {
  engine: string;
  scenario: string;
  reqPerSec: number;
  p50: number;
  p99: number;
  /** The figure against its floor (req/s ÷ floor req/s, or ms ÷ floor ms for the fan-out). */
  ratio?: number;
  /** What the ratio must be, e.g. `≥ 0.40` or `≤ 3`; met is checked against it. */
  target?: { op: '≥' | '≤'; value: number };
  note?: string;
}

const met = (r: Row) => (r.target && r.ratio !== undefined ? (r.target.op === '≥' ? r.ratio >= r.target.value : r.ratio <= r.target.value) : undefined);

const withRss = (note: string) => `${note ? `${note}; ` : ''}peak RSS so far ${mb(peakRss)}`;

interface Measured {
  reqPerSec: number;
  p50: number;
  p99: number;
  non2xx: number;
}

async function measure(url: string, opts: Partial<autocannon.Options>): Promise<Measured> {
  const result = await autocannon({ url, connections: 8, duration: DURATION, ...opts });
  return {
    reqPerSec: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx + result.errors,
  };
}

/** Sends many requests with bounded concurrency; fails on any non-2xx. */
async function pool<T>(items: T[], concurrency: number, send: (item: T) => Promise<Response>): Promise<Response[]> {
  const out: Response[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        const res = await send(items[i]!);
        if (!res.ok) throw new Error(`${res.status} ${await res.text()}`);
        out[i] = res;
      }
    }),
  );
  return out;
}

/**
 * The HTTP floor: a bare express app answering a fixed JSON body (GET) and echoing a SCIM user
 * (POST), kept running through the whole run and measured again just before and just after each
 * figure compared with it, so a machine that gets busier or quieter during the run moves both alike.
 */
interface Floor {
  get(): Promise<Measured>;
  post(): Promise<Measured>;
  stop(): void;
}

async function startFloor(): Promise<Floor> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const e=require('express');const a=e();const body={schemas:['urn:ietf:params:scim:schemas:core:2.0:User'],id:'x',userName:'floor@example.com',active:true};a.get('/u',(q,r)=>r.json(body));a.post('/u',e.json({type:()=>true}),(q,r)=>r.status(201).json({...q.body,id:'x'}));a.listen(${port},'127.0.0.1',()=>console.log('up'))`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], cwd: path.resolve(__dirname, '../../..') },
  );
  await new Promise((r) => child.stdout.once('data', r));
  let n = 0;
  return {
    get: () => measure(`http://127.0.0.1:${port}/u`, { duration: FLOOR_SECONDS }),
    post: () =>
      measure(`http://127.0.0.1:${port}/u`, {
        duration: FLOOR_SECONDS,
        headers: { 'content-type': 'application/scim+json' },
        requests: [{ method: 'POST', setupRequest: (req) => ({ ...req, body: JSON.stringify(newUserBody(`floor${n++}@example.com`)) }) }],
      }),
    stop: () => child.kill(),
  };
}

/** Measures a scenario between two measurements of the floor's GET; the ratio is to their mean. */
async function againstFloor(floor: Floor, run: () => Promise<Measured>): Promise<{ m: Measured; floorRps: number; ratio: number }> {
  const before = await floor.get();
  const m = await run();
  const after = await floor.get();
  const floorRps = (before.reqPerSec + after.reqPerSec) / 2;
  return { m, floorRps, ratio: m.reqPerSec / floorRps };
}

const newUserBody = (userName: string) => ({
  schemas: [USER_SCHEMA],
  userName,
  name: { givenName: 'Given', familyName: 'Family' },
  emails: [{ type: 'work', value: userName, primary: true }],
  active: true,
});

async function benchEngine(engine: string, databaseUrl: string, rows: Row[], floor: Floor): Promise<void> {
  const tenant = `bench-${crypto.randomBytes(4).toString('hex')}`;
  const token = (await roster(['token', 'create', '--tenant', tenant, '--scope', 'scim'], { DATABASE_URL: databaseUrl })).trim();
  const adminToken = (await roster(['token', 'create', '--tenant', tenant, '--scope', 'admin'], { DATABASE_URL: databaseUrl })).trim();
  const server: RunningServer = await startServer({ DATABASE_URL: databaseUrl });
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' };
  const api = `${server.url}/scim/v2`;
  peakRss = 0;
  const rssTimer = setInterval(() => {
    try {
      const status = fs.readFileSync(`/proc/${server.process.pid}/status`, 'utf8');
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      peakRss = Math.max(peakRss, kb * 1024);
    } catch {
      // process gone
    }
  }, 200);
  try {
    process.stdout.write(`[${engine}] loading ${BIG + OUTSIDERS - 1} users through POST /Users…\n`);
    const t0 = Date.now();
    const created = await pool(
      Array.from({ length: BIG + OUTSIDERS - 1 }, (_, i) => i),
      16,
      (i) =>
        fetch(`${api}/Users`, {
          method: 'POST',
          headers,
          body: JSON.stringify({
            schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
            userName: `user${i}@example.com`,
            name: { givenName: `Given${i}`, familyName: `Family${i}` },
            emails: [{ type: 'work', value: `user${i}@example.com`, primary: true }],
            active: true,
          }),
        }),
    );
    const ids = await Promise.all(created.map(async (r) => ((await r.json()) as { id: string }).id));
    const loadSeconds = (Date.now() - t0) / 1000;
    rows.push({ engine, scenario: `load: POST /Users ×${ids.length} (16 concurrent)`, reqPerSec: ids.length / loadSeconds, p50: NaN, p99: NaN, note: withRss(`${loadSeconds.toFixed(1)} s`) });

    const group = async (name: string, members: string[]) => {
      const res = await fetch(`${api}/Groups`, { method: 'POST', headers, body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: name, members: members.map((value) => ({ value })) }) });
      if (res.status !== 201) throw new Error(`group create: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { id: string }).id;
    };
    const tg = Date.now();
    const bigGroup = await group('big', ids.slice(0, BIG - 1));
    rows.push({ engine, scenario: `POST /Groups with ${BIG - 1} members (one request)`, reqPerSec: NaN, p50: NaN, p99: NaN, note: withRss(`${Date.now() - tg} ms`) });
    const smallGroup = await group('small', ids.slice(0, SMALL - 1));
    const midGroup = await group('mid', ids.slice(0, MID - 1));
    // Users in no group: each PATCH adds one of them or removes one added a full round earlier, so
    // every request is a real change even with 8 in flight.
    const outsiders = ids.slice(BIG - 1);
    const patcher = (groupId: string) => {
      let k = 0;
      return {
        run: (duration: number) =>
          measure(`${api}/Groups/${groupId}`, {
            duration,
            headers,
            requests: [
              {
                method: 'PATCH',
                setupRequest: (req) => {
                  const i = k++;
                  const value = outsiders[i % outsiders.length]!;
                  const add = Math.floor(i / outsiders.length) % 2 === 0;
                  const op = add ? { op: 'add', path: 'members', value: [{ value }] } : { op: 'remove', path: `members[value eq "${value}"]` };
                  return { ...req, body: JSON.stringify({ schemas: [PATCH_SCHEMA], Operations: [op] }) };
                },
              },
            ],
          }),
        /** Leaves the group as it was: removes any outsider still in it. */
        restore: async () => {
          const left = Math.floor(k / outsiders.length) % 2 === 0 ? outsiders.slice(0, k % outsiders.length) : outsiders.slice(k % outsiders.length);
          for (let i = 0; i < left.length; i += 500) {
            const value = left.slice(i, i + 500).map((v) => ({ value: v }));
            await fetch(`${api}/Groups/${groupId}`, { method: 'PATCH', headers, body: JSON.stringify({ schemas: [PATCH_SCHEMA], Operations: [{ op: 'remove', path: 'members', value }] }) });
          }
          k = 0;
        },
      };
    };
    // Planner statistics after the bulk load, as Roster's minutely `PRAGMA optimize` (SQLite) or
    // autovacuum (PostgreSQL) would have them a minute later; on SQLite the server's reader loads
    // them within 10 s (keepStatisticsCurrent), so wait for that.
    await analyze(databaseUrl);
    if (databaseUrl.startsWith('sqlite:')) await new Promise((r) => setTimeout(r, 11_000));
    const patchers = new Map([SMALL, MID, BIG].map((size, i) => [size, patcher([smallGroup, midGroup, bigGroup][i]!)]));
    for (const [size, p] of patchers) {
      const r = await againstFloor(floor, () => p.run(DURATION));
      rows.push({
        engine,
        scenario: `PATCH one member, group of ${size}`,
        ...r.m,
        ratio: r.ratio,
        ...(size === BIG ? { target: { op: '≥', value: 0.15 } } : {}),
        note: withRss(`${r.m.non2xx ? `${r.m.non2xx} non-2xx; ` : ''}floor ${r.floorRps.toFixed(0)} req/s`),
      });
      await p.restore();
    }
    // Whether the cost grows with the group: the biggest and the smallest group in alternating
    // rounds, the figure the median of the rounds' ratios, so a machine that gets busier or quieter
    // during the run favours neither.
    const [smallest, biggest] = [patchers.get(SMALL)!, patchers.get(BIG)!];
    const pairs: number[] = [];
    for (let round = 0; round < GROWTH_ROUNDS; round++) {
      const small = await smallest.run(GROWTH_SECONDS);
      const big = await biggest.run(GROWTH_SECONDS);
      pairs.push(big.reqPerSec / small.reqPerSec);
    }
    await smallest.restore();
    await biggest.restore();
    rows.push({
      engine,
      scenario: `  PATCH, group of ${BIG} ÷ group of ${SMALL}`,
      reqPerSec: NaN,
      p50: NaN,
      p99: NaN,
      ratio: [...pairs].sort((x, y) => x - y)[Math.floor(pairs.length / 2)]!,
      target: { op: '≥', value: 0.9 },
      note: `1.00 = the cost does not grow with the group; median of ${GROWTH_ROUNDS} alternating rounds of ${GROWTH_SECONDS} s (${pairs.map((x) => x.toFixed(2)).join(' ')})`,
    });

    const someId = ids[Math.floor(BIG / 2)]!;
    const byId = await againstFloor(floor, () => measure(`${api}/Users/${someId}`, { headers }));
    rows.push({ engine, scenario: 'GET /Users/{id}', ...byId.m, ratio: byId.ratio, target: { op: '≥', value: 0.4 }, note: withRss(`floor ${byId.floorRps.toFixed(0)} req/s`) });
    const byName = await againstFloor(floor, () => measure(`${api}/Users?filter=${encodeURIComponent(`userName eq "USER${Math.floor(BIG / 3)}@EXAMPLE.COM"`)}`, { headers }));
    rows.push({
      engine,
      scenario: `GET /Users?filter=userName eq (${BIG} users)`,
      ...byName.m,
      ratio: byName.ratio,
      target: { op: '≥', value: 0.35 },
      note: withRss(`floor ${byName.floorRps.toFixed(0)} req/s`),
    });
    const byEmail = await againstFloor(floor, () =>
      measure(`${api}/Users?filter=${encodeURIComponent(`emails[type eq "work"].value eq "user${Math.floor(BIG / 4)}@example.com"`)}`, { headers }),
    );
    rows.push({ engine, scenario: 'GET /Users?filter=emails[type eq "work"].value eq', ...byEmail.m, ratio: byEmail.ratio, note: withRss(`floor ${byEmail.floorRps.toFixed(0)} req/s`) });
    const deep = await againstFloor(floor, () => measure(`${api}/Users?startIndex=${BIG - 200}&count=100`, { headers }));
    rows.push({ engine, scenario: `GET /Users page of 100 at startIndex ${BIG - 200}`, ...deep.m, ratio: deep.ratio, note: withRss('') });
    const firstPage = await againstFloor(floor, () => measure(`${api}/Users?startIndex=1&count=100`, { headers }));
    rows.push({ engine, scenario: 'GET /Users page of 100 at startIndex 1', ...firstPage.m, ratio: firstPage.ratio, note: withRss('') });
    const listGroups = await againstFloor(floor, () => measure(`${api}/Groups?excludedAttributes=members`, { headers }));
    rows.push({ engine, scenario: 'GET /Groups?excludedAttributes=members', ...listGroups.m, ratio: listGroups.ratio, note: withRss('') });
    await writeScenarios(engine, api, headers, ids, rows, floor);
    await entraInitialSync(engine, databaseUrl, rows);
    await enrollmentScenarios(engine, databaseUrl, `${server.url}/admin/v1`, adminToken, api, headers, bigGroup, ids, rows);
    rows.push({ engine, scenario: 'peak server RSS (MB)', reqPerSec: NaN, p50: NaN, p99: NaN, ratio: peakRss / 1024 / 1024, target: { op: '≤', value: 250 }, note: mb(peakRss) });
  } finally {
    clearInterval(rssTimer);
    await server.stop();
  }
}

async function analyze(databaseUrl: string): Promise<void> {
  const db = openDb(databaseUrl, { poolMax: 1 });
  try {
    if (db.dialect === 'sqlite') await db.knex.raw('pragma analysis_limit = 1000');
    await db.knex.raw('analyze');
  } finally {
    await db.close();
  }
}

/** Writes on the loaded database: POST unique users, PUT a user, PATCH active, each a real change. */
async function writeScenarios(engine: string, api: string, headers: Record<string, string>, ids: string[], rows: Row[], floor: Floor): Promise<void> {
  let n = 0;
  const postFloor = await floor.post();
  const post = await againstFloor(floor, () =>
    measure(`${api}/Users`, {
      headers,
      requests: [{ method: 'POST', setupRequest: (req) => ({ ...req, body: JSON.stringify(newUserBody(`bench.new${n++}@example.com`)) }) }],
    }),
  );
  rows.push({
    engine,
    scenario: 'POST /Users (unique users, sync log and hooks on)',
    ...post.m,
    ratio: post.ratio,
    target: { op: '≥', value: 0.15 },
    note: withRss(`floor ${post.floorRps.toFixed(0)} req/s; ${(post.m.reqPerSec / postFloor.reqPerSec).toFixed(2)} × POST echo floor (${postFloor.reqPerSec.toFixed(0)} req/s)`),
  });
  const target = ids[7]!;
  let k = 0;
  const put = await againstFloor(floor, () =>
    measure(`${api}/Users/${target}`, {
      headers,
      requests: [{ method: 'PUT', setupRequest: (req) => ({ ...req, body: JSON.stringify({ ...newUserBody('user7@example.com'), displayName: `Seven ${k++}` }) }) }],
    }),
  );
  rows.push({ engine, scenario: 'PUT /Users/{id} (a real change each time)', ...put.m, ratio: put.ratio, note: withRss(`floor ${put.floorRps.toFixed(0)} req/s`) });
  let j = 0;
  const active = await againstFloor(floor, () =>
    measure(`${api}/Users/${ids[8]!}`, {
      headers,
      requests: [
        {
          method: 'PATCH',
          setupRequest: (req) => ({ ...req, body: JSON.stringify({ schemas: [PATCH_SCHEMA], Operations: [{ op: 'replace', path: 'active', value: j++ % 2 === 1 }] }) }),
        },
      ],
    }),
  );
  rows.push({ engine, scenario: 'PATCH active false/true (alternately)', ...active.m, ratio: active.ratio, note: withRss(`floor ${active.floorRps.toFixed(0)} req/s`) });
}

/**
 * An Entra-shaped initial sync on a fresh tenant, end to end: for each user a `userName eq` lookup
 * then POST; for each group a `displayName eq` lookup, POST without members, then PATCHes adding
 * members in Entra's shape (capitalised op, value lists), 8 requests in flight as Entra does.
 */
async function entraInitialSync(engine: string, databaseUrl: string, rows: Row[]): Promise<void> {
  const USERS = quick ? 2_000 : 10_000;
  const GROUPS = quick ? 20 : 100;
  const PER_GROUP = 500; // 50,000 memberships at full size
  const PER_PATCH = 50;
  const tenant = `entra-${crypto.randomBytes(4).toString('hex')}`;
  const token = (await roster(['token', 'create', '--tenant', tenant, '--scope', 'scim'], { DATABASE_URL: databaseUrl })).trim();
  const server = await startServer({ DATABASE_URL: databaseUrl });
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' };
  const api = `${server.url}/scim/v2`;
  let requests = 0;
  const send = async (method: string, url: string, body?: unknown) => {
    requests++;
    const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text(); // read every body, so connections are reused at once
    if (!res.ok) throw new Error(`Entra sync: ${method} ${url} → ${res.status} ${text}`);
    return new Response(res.status === 204 ? null : text, { status: res.status });
  };
  try {
    process.stdout.write(`[${engine}] Entra-shaped initial sync: ${USERS} users, ${GROUPS} groups, ${GROUPS * PER_GROUP} memberships…\n`);
    const t0 = Date.now();
    const ids: string[] = [];
    await pool(Array.from({ length: USERS }, (_, i) => i), 8, async (i) => {
      const userName = `entra${i}@contoso.com`;
      await send('GET', `${api}/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`);
      const res = await send('POST', `${api}/Users`, {
        schemas: [USER_SCHEMA, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'],
        externalId: crypto.randomUUID(),
        userName,
        active: 'True',
        displayName: `Entra User ${i}`,
        emails: [{ primary: true, type: 'work', value: userName }],
        name: { givenName: 'Entra', familyName: `User ${i}` },
        'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: `Dept ${i % 10}` },
      });
      ids[i] = ((await res.clone().json()) as { id: string }).id;
      return res;
    });
    const patches: { groupId: string; members: string[] }[] = [];
    await pool(Array.from({ length: GROUPS }, (_, g) => g), 8, async (g) => {
      const displayName = `Entra Group ${g}`;
      await send('GET', `${api}/Groups?excludedAttributes=members&filter=${encodeURIComponent(`displayName eq "${displayName}"`)}`);
      const res = await send('POST', `${api}/Groups`, { schemas: [GROUP_SCHEMA], externalId: crypto.randomUUID(), displayName, members: [] });
      const groupId = ((await res.clone().json()) as { id: string }).id;
      const members = Array.from({ length: PER_GROUP }, (_, m) => ids[(g * 97 + m * 13) % USERS]!);
      for (let p = 0; p < members.length; p += PER_PATCH) patches.push({ groupId, members: [...new Set(members.slice(p, p + PER_PATCH))] });
      return res;
    });
    await pool(patches, 8, (p) =>
      send('PATCH', `${api}/Groups/${p.groupId}`, { schemas: [PATCH_SCHEMA], Operations: [{ op: 'Add', path: 'members', value: p.members.map((value) => ({ value })) }] }),
    );
    const seconds = (Date.now() - t0) / 1000;
    rows.push({
      engine,
      scenario: `Entra initial sync: ${USERS} users, ${GROUPS} groups, ${GROUPS * PER_GROUP} memberships`,
      reqPerSec: requests / seconds,
      p50: NaN,
      p99: NaN,
      note: `${seconds.toFixed(1)} s end to end, ${requests} requests`,
    });
  } finally {
    await server.stop();
  }
}

/**
 * Issue 3's scale figures: assigning a course to the big group, and adding 1,000 members to a group
 * with 5 assignments, each beside the floor: a plain INSERT … SELECT of the same number of rows into a
 * scratch table of the same database, timed by this process while the server is idle.
 */
async function enrollmentScenarios(
  engine: string,
  databaseUrl: string,
  adminApi: string,
  adminToken: string,
  api: string,
  headers: Record<string, string>,
  bigGroup: string,
  userIds: string[],
  rows: Row[],
): Promise<void> {
  const adminHeaders = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
  const post = async (url: string, body: unknown) => {
    const res = await fetch(url, { method: 'POST', headers: adminHeaders, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  };
  const db = openDb(databaseUrl, { poolMax: 1 });
  const floor = async (n: number, source: string, bindings: unknown[]) => {
    await db.knex.raw('create table bench_floor (id varchar(36), user_id varchar(36), content_id varchar(36), state varchar(20))');
    const t0 = performance.now();
    await db.knex.raw(
      `insert into bench_floor (id, user_id, content_id, state) select cast(gen_random_uuid() as varchar(36)), user_id, 'c', 'active' ${source}`,
      bindings as never[],
    );
    const ms = performance.now() - t0;
    await db.knex.raw('drop table bench_floor');
    return { ms, n };
  };
  /**
   * The floor for a fan-out: the same enrollment and grant rows, written by two plain INSERT … SELECT
   * statements into the same tables (their indexes and constraints included), in a transaction that
   * is rolled back.
   */
  const sameRowsFloor = async (groupId: string, contentId: string) => {
    let ms = 0;
    let n = 0;
    await db.knex
      .transaction(async (tx) => {
        const at = new Date().toISOString();
        const t0 = performance.now();
        const enrolled = await tx.raw(
          `insert into enrollments (id, tenant_id, user_id, content_id, state, paused, progress, mandatory, due_at, created_at, updated_at)
           select cast(gen_random_uuid() as varchar(36)), m.tenant_id, m.user_id, ?, 'active', false, 0, false, null, ?, ?
           from memberships m where m.group_id = ?`,
          [contentId, at, at, groupId],
        );
        await tx.raw(
          `insert into grants (id, tenant_id, enrollment_id, assignment_id, group_id, started_at, start_cause)
           select cast(gen_random_uuid() as varchar(36)), e.tenant_id, e.id, 'floor', ?, ?, 'floor' from enrollments e where e.content_id = ?`,
          [groupId, at, contentId],
        );
        ms = performance.now() - t0;
        n = Number((enrolled as { changes?: number; rowCount?: number }).changes ?? (enrolled as { rowCount?: number }).rowCount);
        throw new Error('rollback');
      })
      .catch((err: Error) => {
        if (err.message !== 'rollback') throw err;
      });
    return { ms, n };
  };
  try {
    const course = (await post(`${adminApi}/content`, { kind: 'course', title: 'Bench course' })).id as string;
    const t0 = performance.now();
    const assigned = await post(`${adminApi}/groups/${bigGroup}/assignments`, { contentId: course });
    const assignMs = performance.now() - t0;
    const floorCourse = (await post(`${adminApi}/content`, { kind: 'course', title: 'Floor course' })).id as string;
    const same = await sameRowsFloor(bigGroup, floorCourse);
    if (same.n !== Number(assigned.enrollmentsCreated)) throw new Error(`floor wrote ${same.n} enrollments, the assignment ${String(assigned.enrollmentsCreated)}`);
    const bigFloor = await floor(Number(assigned.enrollmentsCreated), 'from memberships where group_id = ?', [bigGroup]);
    rows.push({
      engine,
      scenario: `assign a course to ${assigned.enrollmentsCreated as number} members (ms)`,
      reqPerSec: NaN,
      p50: NaN,
      p99: NaN,
      ratio: assignMs / same.ms,
      target: { op: '≤', value: 3 },
      note: `${assignMs.toFixed(0)} ms; floor: the same enrollments and grants by plain INSERT…SELECT ${same.ms.toFixed(0)} ms; one 4-column table without indexes ${bigFloor.ms.toFixed(0)} ms (${(assignMs / bigFloor.ms).toFixed(1)} ×)`,
    });

    const groupRes = await fetch(`${api}/Groups`, { method: 'POST', headers, body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'five' }) });
    const five = ((await groupRes.json()) as { id: string }).id;
    for (let i = 0; i < 5; i++) {
      const c = (await post(`${adminApi}/content`, { kind: 'course', title: `Five ${i}` })).id as string;
      await post(`${adminApi}/groups/${five}/assignments`, { contentId: c });
    }
    const joiners = userIds.slice(0, 1000);
    const t1 = performance.now();
    const patch = await fetch(`${api}/Groups/${five}`, {
      method: 'PATCH',
      headers,
      body: JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'add', path: 'members', value: joiners.map((value) => ({ value })) }] }),
    });
    if (patch.status !== 204) throw new Error(`PATCH 1,000 members: ${patch.status}`);
    const joinMs = performance.now() - t1;
    const joinFloor = await floor(5000, `from memberships cross join (select 1 as k union all select 2 union all select 3 union all select 4 union all select 5) five where group_id = ?`, [five]);
    rows.push({
      engine,
      scenario: 'PATCH 1,000 members into a group with 5 assignments',
      reqPerSec: NaN,
      p50: NaN,
      p99: NaN,
      note: `${joinMs.toFixed(0)} ms (5,000 enrollments); floor ${joinFloor.ms.toFixed(0)} ms: ${(joinMs / joinFloor.ms).toFixed(1)} × floor`,
    });
  } finally {
    await db.close();
  }
}

/**
 * The sync log's cost: the same SCIM writes and reads against two fresh servers on SQLite, one with
 * SYNC_LOG=on (the default) and one with it off. SQLite has one writer, so this is where a log that
 * held the write transaction open, or wrote one entry per request, would show. Both servers run side
 * by side and are measured in alternating rounds (off, on, off, on…), each figure the median of its
 * rounds, so a machine that gets busier during the run does not favour either.
 */
async function syncLogScenarios(rows: Row[]): Promise<void> {
  const POOL = 3000;
  const ROUNDS = quick ? 3 : 5;
  const SECONDS = quick ? 2 : 4;
  type Mode = 'off' | 'on';
  const servers = {} as Record<Mode, { server: RunningServer; dir: string; api: string; headers: Record<string, string>; ids: string[]; groupId: string }>;
  try {
    for (const mode of ['off', 'on'] as const) {
      const db = tempSqliteUrl(`roster-bench-log-${mode}-`);
      const env = { DATABASE_URL: db.url };
      const token = (await roster(['token', 'create', '--tenant', 'bench', '--scope', 'scim'], env)).trim();
      const server = await startServer({ ...env, SYNC_LOG: mode });
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' };
      const api = `${server.url}/scim/v2`;
      servers[mode] = { server, dir: db.dir, api, headers, ids: [], groupId: '' };
      process.stdout.write(`[sync log ${mode}] loading ${POOL} users…\n`);
      const created = await pool(
        Array.from({ length: POOL }, (_, i) => i),
        16,
        (i) => fetch(`${api}/Users`, { method: 'POST', headers, body: JSON.stringify({ schemas: [USER_SCHEMA], userName: `pool${i}@example.com` }) }),
      );
      servers[mode].ids = await Promise.all(created.map(async (r) => ((await r.json()) as { id: string }).id));
      const g = await fetch(`${api}/Groups`, { method: 'POST', headers, body: JSON.stringify({ schemas: [GROUP_SCHEMA], displayName: 'Log bench' }) });
      servers[mode].groupId = ((await g.json()) as { id: string }).id;
    }
    const counters = { off: { n: 0, k: 0 }, on: { n: 0, k: 0 } };
    const scenarios = {
      post: (m: Mode) =>
        measure(`${servers[m].api}/Users`, {
          duration: SECONDS,
          headers: servers[m].headers,
          requests: [{ method: 'POST', setupRequest: (req) => ({ ...req, body: JSON.stringify({ schemas: [USER_SCHEMA], userName: `new${counters[m].n++}@example.com` }) }) }],
        }),
      // Alternately add and remove each pool user: every request is a real membership change.
      patch: (m: Mode) =>
        measure(`${servers[m].api}/Groups/${servers[m].groupId}`, {
          duration: SECONDS,
          headers: servers[m].headers,
          requests: [
            {
              method: 'PATCH',
              setupRequest: (req) => {
                const i = counters[m].k++;
                const value = servers[m].ids[Math.floor(i / 2) % POOL];
                const body = { schemas: [PATCH_SCHEMA], Operations: [{ op: i % 2 === 0 ? 'add' : 'remove', path: 'members', value: [{ value }] }] };
                return { ...req, body: JSON.stringify(body) };
              },
            },
          ],
        }),
      get: (m: Mode) => measure(`${servers[m].api}/Users/${servers[m].ids[0]}`, { duration: SECONDS, headers: servers[m].headers }),
    };
    const label = { post: 'POST /Users (unique users)', patch: 'PATCH one member in, one out', get: 'GET /Users/{id}' } as const;
    const median = (runs: Measured[], key: 'reqPerSec' | 'p50' | 'p99') => [...runs].map((r) => r[key]).sort((x, y) => x - y)[Math.floor(runs.length / 2)]!;
    for (const key of ['post', 'patch', 'get'] as const) {
      const runs: Record<Mode, Measured[]> = { off: [], on: [] };
      for (let round = 0; round < ROUNDS; round++) {
        for (const mode of ['off', 'on'] as const) {
          const m = await scenarios[key](mode);
          if (m.non2xx) throw new Error(`sync log ${mode}, ${key}: ${m.non2xx} non-2xx answers`);
          runs[mode].push(m);
        }
      }
      const fig = (mode: Mode) => ({ reqPerSec: median(runs[mode], 'reqPerSec'), p50: median(runs[mode], 'p50'), p99: median(runs[mode], 'p99') });
      const [off, on] = [fig('off'), fig('on')];
      rows.push({ engine: 'sqlite', scenario: `${label[key]}, sync log off`, ...off, note: `median of ${ROUNDS} × ${SECONDS} s` });
      rows.push({ engine: 'sqlite', scenario: `${label[key]}, sync log on`, ...on, note: `${(on.reqPerSec / off.reqPerSec).toFixed(2)} × log off` });
    }
    const metrics = await (await fetch(`${servers.on.server.url}/metrics`)).text();
    const sum = Number(/^roster_sync_log_write_seconds_sum (\S+)$/m.exec(metrics)?.[1]);
    const count = Number(/^roster_sync_log_write_seconds_count (\S+)$/m.exec(metrics)?.[1]);
    const entries = Number(/^roster_sync_log_entries_total\{outcome="written"\} (\S+)$/m.exec(metrics)?.[1]);
    rows.push({
      engine: 'sqlite',
      scenario: 'sync log writes (log on, whole run)',
      reqPerSec: NaN,
      p50: NaN,
      p99: NaN,
      note: `${entries} entries in ${count} batches, ${((sum / count) * 1000).toFixed(2)} ms per batch`,
    });
  } finally {
    for (const s of Object.values(servers)) {
      await s.server.stop();
      fs.rmSync(s.dir, { recursive: true, force: true });
    }
  }
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  process.stdout.write(`Roster benchmark${quick ? ' (quick)' : ''}: ${BIG} users, ${DURATION} s per scenario\n`);
  const f = await startFloor();
  try {
    await runAll(rows, f);
  } finally {
    f.stop();
  }
  const fmt = (n: number | undefined, digits = 1) => (n !== undefined && Number.isFinite(n) ? n.toFixed(digits) : '');
  const table = [
    ['engine', 'scenario', 'req/s', 'p50 ms', 'p99 ms', 'ratio', 'target', 'note'],
    ...rows.map((r) => [
      r.engine,
      r.scenario,
      fmt(r.reqPerSec, 0),
      fmt(r.p50, 2),
      fmt(r.p99, 2),
      fmt(r.ratio, r.ratio !== undefined && r.ratio >= 10 ? 0 : 3),
      r.target ? `${r.target.op} ${r.target.value} ${met(r) ? 'met' : 'MISSED'}` : '',
      r.note ?? '',
    ]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  process.stdout.write(`\n${table.map((row) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ')).join('\n')}\n`);
  const targets = rows.filter((r) => r.target);
  process.stdout.write(`\ntargets met: ${targets.filter(met).length} of ${targets.length}\n`);
  const outDir = path.resolve(__dirname, '../../../bench-results');
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'latest.json'), JSON.stringify({ at: new Date().toISOString(), quick, size: BIG, rows: rows.map((r) => ({ ...r, met: met(r) })) }, null, 2));
  process.stdout.write(`\nwritten: bench-results/latest.json\n`);
}

async function runAll(rows: Row[], f: Floor): Promise<void> {
  const get = await f.get();
  const post = await f.post();
  rows.push({ engine: '-', scenario: 'floor: bare express GET fixed JSON (first measurement)', ...get });
  rows.push({ engine: '-', scenario: 'floor: bare express POST echoing a SCIM user', ...post });
  await syncLogScenarios(rows);
  const sqlite = tempSqliteUrl('roster-bench-');
  try {
    if (only !== 'sync-log') await benchEngine('sqlite', sqlite.url, rows, f);
  } finally {
    fs.rmSync(sqlite.dir, { recursive: true, force: true });
  }
  if (only !== 'sync-log' && /^postgres(ql)?:\/\//.test(process.env.DATABASE_URL ?? '')) {
    // A database of its own, dropped afterwards, so runs never see each other's 100,000 users.
    const adminUrl = process.env.DATABASE_URL!;
    const name = `roster_bench_${crypto.randomBytes(4).toString('hex')}`;
    const admin = openDb(adminUrl, { poolMax: 1 });
    await admin.knex.raw(`create database ${name}`);
    try {
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      await benchEngine('postgres', url.toString(), rows, f);
    } finally {
      await admin.knex.raw(`drop database if exists ${name} with (force)`);
      await admin.close();
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
