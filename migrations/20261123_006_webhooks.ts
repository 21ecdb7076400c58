import type { Knex } from 'knex';

/**
 * Webhook subscriptions and their deliveries. A subscription reads the outbox (`events`) in order
 * from its own cursor; `lease_until` lets one dispatcher at a time work on it on SQLite (PostgreSQL
 * claims with FOR UPDATE SKIP LOCKED instead).
 */
export async function up(knex: Knex): Promise<void> {
  // Delivery order is (txid, seq). On PostgreSQL an event's seq is taken at insert but becomes
  // visible at commit, so a cursor on seq alone would skip an event of a long transaction that
  // commits after a later seq was delivered. Its transaction id orders it safely: the dispatcher
  // only delivers events of transactions older than every transaction still running. SQLite has
  // one writer, so seq is commit order there and txid stays 0.
  await knex.schema.alterTable('events', (t) => {
    t.bigInteger('txid').notNullable().defaultTo(0);
    t.index(['tenant_id', 'txid', 'seq']);
  });
  if ((knex.client as { dialect: string }).dialect === 'postgresql') {
    await knex.raw('alter table events alter column txid set default (pg_current_xact_id()::text::bigint)');
  }

  await knex.schema.createTable('webhooks', (t) => {
    t.string('id', 36).primary();
    t.string('tenant_id', 36).notNullable().references('tenants.id').onDelete('CASCADE');
    t.string('url', 2000).notNullable();
    t.text('event_types').notNullable(); // JSON array of event types
    t.string('secret', 100).notNullable(); // needed to sign each delivery; never returned after creation
    // The last event delivered (or passed over as not wanted), as (txid, seq)
    t.bigInteger('cursor_txid').notNullable();
    t.bigInteger('cursor_seq').notNullable();
    t.integer('attempts').notNullable().defaultTo(0); // failed attempts at the batch after the cursor
    t.string('next_attempt_at', 30).notNullable();
    t.string('parked_at', 30);
    t.string('last_error', 1000);
    t.string('lease_until', 30);
    t.string('created_at', 30).notNullable();
    t.index(['tenant_id']);
    t.index(['next_attempt_at']);
  });

  await knex.schema.createTable('webhook_deliveries', (t) => {
    t.bigIncrements('seq');
    t.string('tenant_id', 36).notNullable().references('tenants.id').onDelete('CASCADE');
    t.string('webhook_id', 36).notNullable().references('webhooks.id').onDelete('CASCADE');
    t.bigInteger('first_seq').notNullable();
    t.bigInteger('last_seq').notNullable();
    t.integer('events').notNullable();
    t.integer('attempt').notNullable();
    t.integer('status'); // the receiver's HTTP status; null when it could not be reached
    t.string('error', 1000);
    t.integer('duration_ms').notNullable();
    t.string('at', 30).notNullable();
    t.index(['webhook_id', 'seq']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('webhook_deliveries');
  await knex.schema.dropTableIfExists('webhooks');
  await knex.schema.alterTable('events', (t) => {
    t.dropIndex(['tenant_id', 'txid', 'seq']);
    t.dropColumn('txid');
  });
}
