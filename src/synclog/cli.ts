import type { Db } from '../db/knex';
import { parseTime, SyncLogReader, type EntrySummary, type LogFilter } from './reader';

export interface LogCommandOptions {
  tenant?: string;
  since?: string;
  failed: boolean;
  user?: string;
  follow: boolean;
  json: boolean;
  limit: number;
  /** How often --follow looks for new entries. */
  pollMs: number;
}

export class LogCommandError extends Error {}

/** --follow reads at most this many entries per query, and re-reads this many positions back. */
const FOLLOW_BATCH = 1000;
const LOOK_BACK = 100;

/** The columns of the readable table, and one entry as its cells. */
const HEADER = ['TIME (UTC)', 'TENANT', 'STATUS', 'METHOD', 'PATH', 'TOKEN', 'MS', 'CHANGES', 'REQUEST ID'];

function cells(e: EntrySummary, tenantName: (id: string | null) => string): string[] {
  const path = e.path.length > 60 ? `${e.path.slice(0, 59)}…` : e.path;
  const changes = Object.entries(e.changes)
    .map(([kind, n]) => `${kind} ${n}`)
    .join(', ');
  const status = e.scimType ? `${e.status} ${e.scimType}` : String(e.status);
  return [e.at.slice(0, 19).replace('T', ' '), tenantName(e.tenantId), status, e.method, path, e.tokenLabel ?? '-', String(e.durationMs), changes || '-', e.id];
}

function table(rows: string[][]): string {
  const widths = HEADER.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (c: string[]) => c.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(HEADER), ...rows.map(line)].join('\n');
}

/**
 * `roster log`: the newest entries, oldest first like `tail`, as a table or JSON lines; with
 * --follow, new entries as they are written, until interrupted (or `signal` aborts).
 */
export async function runLogCommand(db: Db, opts: LogCommandOptions, write: (s: string) => void, signal?: AbortSignal): Promise<void> {
  const tenants = new Map(((await db.knex('tenants').select('id', 'name')) as { id: string; name: string }[]).map((t) => [t.id, t.name]));
  const filter: LogFilter = {};
  if (opts.tenant !== undefined) {
    const id = [...tenants].find(([, name]) => name === opts.tenant)?.[0];
    if (!id) throw new LogCommandError(`No tenant named "${opts.tenant}"`);
    filter.tenantId = id;
  }
  if (opts.since !== undefined) {
    filter.since = parseTime(opts.since);
    if (!filter.since) throw new LogCommandError(`--since takes a duration like 15m, 1h, 7d or an ISO-8601 time (got "${opts.since}")`);
  }
  if (opts.failed) filter.statuses = ['4xx', '5xx'];
  if (opts.user !== undefined) filter.userId = opts.user;

  const reader = new SyncLogReader(db);
  const tenantName = (id: string | null) => (id ? (tenants.get(id) ?? id) : '-');
  const show = (entries: EntrySummary[], withHeader: boolean) => {
    if (opts.json) {
      for (const e of entries) write(`${JSON.stringify(e)}\n`);
    } else if (entries.length) {
      const text = table(entries.map((e) => cells(e, tenantName)));
      write(`${withHeader ? text : text.split('\n').slice(1).join('\n')}\n`);
    }
  };

  const start = await reader.lastSeq();
  const { items } = await reader.list(filter, { limit: opts.limit });
  const shown = [...items].reverse();
  if (!shown.length && !opts.json && !opts.follow) write('No entries match.\n');
  show(shown, true);
  if (!opts.follow) return;

  // Entries are written in batches by every instance; one that commits late may carry a lower seq
  // than one already seen, so look back a little and skip what was printed.
  const seen = new Set<number>();
  let cursor = start;
  let printedHeader = shown.length > 0;
  let wait = true;
  while (!signal?.aborted) {
    if (wait) await new Promise((resolve) => setTimeout(resolve, opts.pollMs));
    if (signal?.aborted) break;
    const batch = await reader.since(filter, Math.max(start, cursor - LOOK_BACK), FOLLOW_BATCH);
    wait = batch.length < FOLLOW_BATCH; // a full batch: more are waiting, read on at once
    const fresh = batch.filter((e) => !seen.has(e.seq));
    for (const e of fresh) {
      seen.add(e.seq);
      cursor = Math.max(cursor, e.seq);
    }
    if (seen.size > 20_000) for (const s of [...seen].slice(0, 10_000)) seen.delete(s);
    if (fresh.length) {
      show(fresh, !printedHeader);
      printedHeader = true;
    }
  }
}
