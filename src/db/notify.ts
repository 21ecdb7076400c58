import pg from 'pg';

/** How long a dropped or refused listener waits before it connects again. */
const RETRY_MS = 1000;

/**
 * A PostgreSQL channel watched on a connection of its own (LISTEN), as a number that changes with
 * every notification on it. While the connection is not listening (not yet connected, dropped, or
 * refused) `version()` is undefined, so nothing cached under it is used: a cache keyed by it is never
 * older than the last notification this process could have received.
 *
 * The connection opens at the first `version()`, so processes that never ask (the CLI) never open it.
 */
export class ChannelWatch {
  private client: pg.Client | undefined;
  private listening = false;
  private count = 0;
  private connecting = false;
  private retryAt = 0;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly channel: string,
  ) {
    if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`not a channel name: ${channel}`);
  }

  version(): number | undefined {
    if (this.listening) return this.count;
    this.connect();
    return undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.drop();
    await client?.end().catch(() => undefined);
  }

  private connect(): void {
    if (this.connecting || this.closed || Date.now() < this.retryAt) return;
    this.connecting = true;
    // Named for pg_stat_activity (and the tests, which cut it): `roster listen <channel> <pid>`.
    const client = new pg.Client({ connectionString: this.url, keepAlive: true, application_name: `roster listen ${this.channel} ${process.pid}` });
    this.client = client;
    client.on('notification', () => this.count++);
    // An idle client that loses its connection emits error (then end): stop trusting it at once.
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    client
      .connect()
      .then(() => client.query(`listen ${this.channel}`))
      .then(() => {
        if (this.client !== client || this.closed) return;
        // Whatever changed while nobody listened is unknown: a new number invalidates all of it.
        this.count++;
        this.listening = true;
      })
      .catch(() => this.lost(client))
      .finally(() => (this.connecting = false));
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.drop();
    this.retryAt = Date.now() + RETRY_MS;
    client.end().catch(() => undefined);
  }

  private drop(): void {
    this.listening = false;
    this.client = undefined;
    this.count++;
  }
}
