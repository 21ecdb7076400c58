import type { Knex } from 'knex';

/** Events worth telling others about, written in the transaction of the change; delivered later (webhooks). */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('events', (t) => {
    t.bigIncrements('seq'); // delivery order
    t.string('id', 36).notNullable().unique();
    t.string('tenant_id', 36).notNullable().references('tenants.id').onDelete('CASCADE');
    t.string('type', 50).notNullable();
    t.jsonb('payload').notNullable();
    t.string('cause', 100).notNullable();
    t.string('created_at', 30).notNullable();
    t.index(['tenant_id', 'seq']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('events');
}
