import { Worker } from 'node:worker_threads';

/**
 * SQLite WAL checkpoints on a thread of their own.
 *
 * Left to itself, SQLite checkpoints inside the COMMIT that takes the WAL past `wal_autocheckpoint`
 * pages: it copies pages into the database file and fsyncs both files while better-sqlite3 blocks
 * the event loop. Measured on one-member PATCHes: one commit in 57 took 6.6 ms that way, half of all
 * the time spent committing. Here a worker thread, with a connection of its own, runs a PASSIVE
 * checkpoint every `everyMs` (it never blocks a writer or a reader, and its fsyncs wait on the
 * worker, not on requests). The writer keeps a much larger `wal_autocheckpoint` as a backstop: under
 * a sustained write load a passive checkpoint may never catch the very last frame, and only a
 * checkpoint that does lets SQLite start the WAL from its beginning again.
 */
export class Checkpointer {
  private readonly worker: Worker;
  private readonly listeners = new Set<(stats: CheckpointStats) => void>();
  private latest: CheckpointStats = { checkpoints: 0, walFrames: 0 };

  constructor(filename: string, everyMs = 100) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { filename, everyMs, driver: require.resolve('better-sqlite3') } });
    this.worker.unref(); // a process that is done does not wait for its checkpointer
    this.worker.on('message', (stats: CheckpointStats) => {
      this.latest = stats;
      for (const l of this.listeners) l(stats);
    });
    // A checkpointer that fails leaves the writer's own checkpoints (the backstop) doing the work.
    this.worker.on('error', () => undefined);
  }

  /** What the worker has done so far. */
  stats(): CheckpointStats {
    return this.latest;
  }

  /** Resolves with the worker's next report (tests wait for a checkpoint with it). */
  next(): Promise<CheckpointStats> {
    return new Promise((resolve) => {
      const once = (s: CheckpointStats) => {
        this.listeners.delete(once);
        resolve(s);
      };
      this.listeners.add(once);
    });
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}

export interface CheckpointStats {
  /** Checkpoints that found frames to copy into the database file. */
  checkpoints: number;
  /** Frames in the WAL at the latest of them. */
  walFrames: number;
}

// Plain JavaScript, so it runs as it is under ts-jest and from dist/ alike.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.filename, { fileMustExist: true });
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
const stats = { checkpoints: 0, walFrames: 0 };
let last = { log: 0, checkpointed: 0 };
setInterval(() => {
  let r;
  try {
    r = checkpoint.get(); // { busy, log, checkpointed }: frames in the WAL, and how many are in the database
  } catch {
    return; // another process's checkpoint, say: try again next time
  }
  if (r.log > 0 && (r.log !== last.log || r.checkpointed !== last.checkpointed)) {
    stats.checkpoints++;
    stats.walFrames = r.log;
    parentPort.postMessage(stats);
  }
  last = r;
}, workerData.everyMs);
`;
