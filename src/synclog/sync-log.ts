import type { Logger } from 'pino';
import type { Db } from '../db/knex';
import type { Cause } from '../membership/types';
import type { Metrics } from '../metrics';
import type { Request, Response } from 'express';
import { captureRequests, entryOf } from './capture';
import { ChangeRecorder } from './changes';
import { redactedJson } from './redact';
import { SyncLogReader } from './reader';
import { DEFAULT_WRITER_OPTIONS, SyncLogWriter } from './writer';
import { newId } from '../ids';

export interface SyncLogConfig {
  enabled: boolean;
  retentionDays: number;
  /** Ids kept per change (counts are always exact). */
  maxIds: number;
  /** Characters of a request or response body kept in an entry. */
  maxBodyChars: number;
}

export const DEFAULT_SYNC_LOG_CONFIG: SyncLogConfig = { enabled: true, retentionDays: 30, maxIds: 1000, maxBodyChars: 64 * 1024 };

/**
 * The sync log: what every push changed and why. Changes are recorded by `changes` inside each
 * change's transaction; request entries are captured by `capture` and written by `writer` after the
 * response; `reader` serves the admin API, the operator pages and `roster log`.
 */
export class SyncLog {
  readonly changes: ChangeRecorder;
  readonly writer: SyncLogWriter;
  readonly reader: SyncLogReader;

  constructor(
    db: Db,
    private readonly log: Logger,
    readonly config: SyncLogConfig = DEFAULT_SYNC_LOG_CONFIG,
    metrics?: Metrics,
  ) {
    this.changes = new ChangeRecorder({
      enabled: config.enabled,
      maxIds: config.maxIds,
      onCommitted: metrics ? (kind, n) => metrics.changeCommitted(kind, n) : undefined,
    });
    this.writer = new SyncLogWriter(db, log, {
      ...DEFAULT_WRITER_OPTIONS,
      enabled: config.enabled,
      onWritten: metrics
        ? (seconds, n) => {
            metrics.logWrite.observe(seconds);
            metrics.logEntries.inc({ outcome: 'written' }, n);
          }
        : undefined,
      onDropped: metrics ? (n) => metrics.logEntries.inc({ outcome: 'dropped' }, n) : undefined,
    });
    this.reader = new SyncLogReader(db);
  }

  /** Marks the requests of an API for the log: SCIM logs every request, the admin API what changes state. */
  capture(source: 'scim' | 'admin') {
    return captureRequests(this.writer.enabled, { source, writesOnly: source === 'admin', maxBodyChars: this.config.maxBodyChars });
  }

  /** A request is done (the app's close listener): its entry, if it was captured, goes to the writer. */
  finished(req: Request, res: Response, durationMs: number): void {
    const entry = entryOf(req, res, durationMs);
    if (entry) this.writer.add(entry);
  }

  /**
   * Runs work that no HTTP request carries (a CLI reconcile, the hourly recertification) as a logged
   * entry of its own, so its changes and the grants it opens point at an entry that says what ran.
   */
  async job<T>(what: { tenantId: string; source: 'cli' | 'rule'; name: string; actor?: string }, work: (cause: Cause) => Promise<T>): Promise<T> {
    const requestId = newId();
    const at = new Date().toISOString();
    const started = process.hrtime.bigint();
    const entry = (status: number, body: unknown, error: string | null) => ({
      id: requestId,
      tenantId: what.tenantId,
      at,
      source: what.source,
      tokenLabel: what.actor ?? null,
      client: `roster ${what.source === 'cli' ? 'CLI' : 'server'}`,
      method: what.source === 'cli' ? 'CLI' : 'JOB',
      path: what.name,
      resourceType: null,
      resourceId: null,
      externalId: null,
      status,
      scimType: null,
      error,
      durationMs: Math.round(Number(process.hrtime.bigint() - started) / 1e6),
      requestBody: null,
      responseBody: redactedJson(body, this.config.maxBodyChars),
    });
    try {
      const result = await work({ requestId, source: what.source, actor: what.actor });
      this.writer.add(entry(200, result, null));
      return result;
    } catch (err) {
      this.writer.add(entry(500, undefined, (err as Error).message.slice(0, 1000)));
      throw err;
    } finally {
      await this.writer.flush();
    }
  }

  /** Prunes entries past the retention now and then every hour; returns the stopper. */
  keepRetention(everyMs = 3_600_000): () => void {
    const run = async () => {
      const cutoff = new Date(Date.now() - this.config.retentionDays * 86_400_000).toISOString();
      const pruned = await this.writer.prune(cutoff);
      if (pruned) this.log.info({ pruned, olderThan: cutoff }, 'sync log pruned');
    };
    const safeRun = () => void run().catch((err: unknown) => this.log.warn({ err }, 'sync log pruning failed; will retry'));
    safeRun();
    const timer = setInterval(safeRun, everyMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  close(): Promise<void> {
    return this.writer.flush();
  }
}
