import type { Knex } from 'knex';

/** Content learners can be given: courses, programs and scenarios (with progress), bots and personas (access only). */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('content', (t) => {
    t.string('id', 36).primary();
    t.string('tenant_id', 36).notNullable().references('tenants.id').onDelete('CASCADE');
    t.string('kind', 20).notNullable();
    t.string('title', 500).notNullable();
    t.string('external_id', 300);
    t.string('created_at', 30).notNullable();
    t.string('updated_at', 30).notNullable();
    t.unique(['tenant_id', 'external_id']); // NULLs never collide, on both engines
    t.index(['tenant_id', 'created_at', 'id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('content');
}
