import type { Knex } from 'knex';

/**
 * The sync log. `sync_log` holds one entry per request (written after the response, in batches);
 * `sync_changes` holds what each request changed, written in the transaction of the change, so a
 * change and its record commit together. A change naming one user carries it in `user_id`; one naming
 * several lists them in `sync_change_users`: together they answer "every entry that touched this user".
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('sync_log', (t) => {
    t.bigIncrements('seq'); // order of writing: `roster log --follow` tails by it
    t.string('id', 36).notNullable().unique(); // the request id, also sent as X-Request-Id
    // Null for a token Roster does not know: such a request belongs to no tenant.
    t.string('tenant_id', 36).references('tenants.id').onDelete('CASCADE');
    t.string('at', 30).notNullable(); // when the request arrived
    t.string('source', 10).notNullable(); // scim | admin | cli
    t.string('token_label', 200);
    t.string('client', 300);
    t.string('method', 10).notNullable();
    t.string('path', 2000).notNullable();
    t.string('resource_type', 30);
    t.string('resource_id', 100);
    t.string('external_id', 300);
    t.integer('status').notNullable();
    t.string('scim_type', 30);
    t.string('error', 1000);
    t.integer('duration_ms').notNullable();
    t.text('request_body');
    t.text('response_body');
    t.index(['tenant_id', 'at', 'seq']);
    t.index(['tenant_id', 'resource_id']);
  });

  await knex.schema.createTable('sync_changes', (t) => {
    t.bigIncrements('seq');
    t.string('tenant_id', 36).notNullable().references('tenants.id').onDelete('CASCADE');
    t.string('request_id', 36).notNullable();
    t.string('kind', 40).notNullable();
    t.string('group_id', 36);
    // The user, when a change names exactly one (most pushes): no row in sync_change_users then.
    t.string('user_id', 36);
    t.integer('count').notNullable();
    t.text('ids').notNullable(); // JSON array, the first SYNC_LOG_MAX_IDS of them
    t.string('at', 30).notNullable();
    t.index(['request_id']);
    t.index(['at']);
    t.index(['tenant_id', 'user_id'], 'sync_changes_user', { predicate: knex.whereNotNull('user_id') });
  });

  await knex.schema.createTable('sync_change_users', (t) => {
    t.string('tenant_id', 36).notNullable().references('tenants.id').onDelete('CASCADE');
    t.string('user_id', 36).notNullable();
    t.string('request_id', 36).notNullable();
    t.string('at', 30).notNullable();
    t.index(['tenant_id', 'user_id', 'at']);
    t.index(['at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['sync_change_users', 'sync_changes', 'sync_log']) await knex.schema.dropTableIfExists(table);
}
