import pino from 'pino';
import { fromRow, type SyncLogEntry, type SyncLogRow } from '../../src/synclog/entries';
import { SyncLogWriter } from '../../src/synclog/writer';
import { createTestDb } from '../helpers/db';

/**
 * The sync log's batched writer on the engine of the run (on PostgreSQL one statement of one array
 * per column): every entry arrives once, in order, byte for byte, whatever its text holds.
 */
describe('sync log writer', () => {
  let db: Awaited<ReturnType<typeof createTestDb>>;
  beforeAll(async () => {
    db = await createTestDb();
    await db.knex('tenants').insert({ id: 't1', name: 'acme', created_at: new Date().toISOString() });
  });
  afterAll(() => db.drop());

  // What array literals and SQL quoting could get wrong: quotes, backslashes, braces, commas, the word
  // NULL, whitespace, non-ASCII, and a JSON body full of all of them.
  const awkward = ['plain', `it's "quoted"`, 'back\\slash\\', '{braces},{and,commas}', 'NULL', 'null', ' spaced ', 'tab\tand\nnewline', 'é 中文 🙂', '\\"{,}"\\'];
  const entry = (i: number): SyncLogEntry => ({
    id: `req-${String(i).padStart(4, '0')}`,
    tenantId: i % 7 === 0 ? null : 't1',
    at: new Date(Date.UTC(2026, 11, 1, 0, 0, 0, i)).toISOString(),
    source: 'scim',
    tokenLabel: i % 3 === 0 ? null : awkward[i % awkward.length]!,
    client: awkward[(i + 1) % awkward.length]!,
    method: ['GET', 'POST', 'PATCH', 'PUT', 'DELETE'][i % 5]!,
    path: `/Users?filter=${awkward[(i + 2) % awkward.length]!}`,
    resourceType: i % 2 ? 'User' : null,
    resourceId: i % 2 ? `u-${i}` : null,
    externalId: i % 4 ? awkward[(i + 3) % awkward.length]! : null,
    status: [200, 201, 204, 400, 404, 409, 500][i % 7]!,
    scimType: i % 5 === 0 ? 'invalidValue' : null,
    error: i % 6 === 0 ? awkward[(i + 4) % awkward.length]! : null,
    durationMs: i * 3,
    requestBody: i % 2 ? JSON.stringify({ note: awkward[i % awkward.length], all: awkward }) : null,
    responseBody: i % 3 ? JSON.stringify({ detail: awkward[(i + 5) % awkward.length] }) : null,
  });

  it('writes a batch of any size in order, every field as given, and an entry written twice once', async () => {
    const writer = new SyncLogWriter(db, pino({ level: 'silent' }), { enabled: true, flushMs: 10_000, batchSize: 10_000, maxBuffered: 20_000 });
    const entries = Array.from({ length: 700 }, (_, i) => entry(i));
    for (const e of entries) writer.add(e);
    await writer.flush();
    writer.add(entries[5]!); // a retried flush may send an entry again
    writer.add(entry(700));
    await writer.flush();
    const rows = (await db.knex<SyncLogRow>('sync_log').orderBy('seq')) as SyncLogRow[];
    expect(rows.map(fromRow)).toEqual([...entries, entry(700)]);
  });
});
