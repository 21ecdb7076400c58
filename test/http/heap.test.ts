import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { heavyCollections } from '../../src/heap';
import { createTestApp, GROUP, USER, type TestApp } from '../helpers/app';

/** Forced full collections V8 reports while `work` runs (and one turn after it). */
async function forcedMajorCollections(work: () => Promise<void>): Promise<number> {
  const seen: PerformanceEntry[] = [];
  const observer = new PerformanceObserver((list) => seen.push(...list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  try {
    await work();
    await new Promise((r) => setTimeout(r, 50)); // the collection runs in a setImmediate; its entry comes after
  } finally {
    observer.disconnect();
  }
  return seen.filter((e) => {
    const detail = (e as PerformanceEntry & { detail?: { kind: number; flags: number } }).detail;
    return detail && detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR && (detail.flags & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) !== 0;
  }).length;
}

describe('memory after a heavy request', () => {
  let t: TestApp;

  beforeEach(async () => {
    t = await createTestApp();
  });
  afterEach(() => t.close());

  it('collects once after a request with a body of a megabyte or more, refused or not, and not after small ones', async () => {
    const scim = await t.scim();
    const members = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => (await scim.post('/Users', { schemas: [USER], userName: `heavy${i}@example.com` }).expect(201)).body.id as string),
    );
    const before = heavyCollections();
    const small = await forcedMajorCollections(async () => {
      await scim.post('/Groups', { schemas: [GROUP], displayName: 'small', members: members.map((value) => ({ value })) }).expect(201);
    });
    expect(heavyCollections()).toBe(before);
    expect(small).toBe(0);

    // 1.2 MB of body: a description no group needs, refused or accepted, the request was heavy all the same.
    const big = { schemas: [GROUP], displayName: 'big', members: members.map((value) => ({ value })), padding: 'x'.repeat(1_200_000) };
    const forced = await forcedMajorCollections(async () => {
      const res = await scim.post('/Groups', big);
      expect(res.status).toBeLessThan(500);
    });
    expect(heavyCollections()).toBe(before + 1);
    expect(forced).toBeGreaterThanOrEqual(1);
  });
});
