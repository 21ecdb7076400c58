import type { Knex } from 'knex';

/**
 * Assignments (group → content), enrollments (user × content, one row however many groups lead to it)
 * and grants (why an enrollment exists: one row per source, with start and end and their causes).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('assignments', (t) => {
    t.string('id', 36).primary();
    t.string('tenant_id', 36).notNullable().references('tenants.id').onDelete('CASCADE');
    t.string('group_id', 36).notNullable().references('groups.id').onDelete('CASCADE');
    t.string('content_id', 36).notNullable().references('content.id').onDelete('CASCADE');
    t.boolean('mandatory').notNullable().defaultTo(false);
    t.string('due_date', 30);
    t.integer('due_in_days');
    t.integer('recertify_months');
    t.string('on_leave', 30).notNullable().defaultTo('suspend');
    t.boolean('future_only').notNullable().defaultTo(false);
    t.string('created_at', 30).notNullable();
    t.string('cause', 100).notNullable();
    t.unique(['group_id', 'content_id']);
    t.index(['content_id']);
  });

  // No foreign key to users: the learning record outlives the account (rule 6).
  await knex.schema.createTable('enrollments', (t) => {
    t.string('id', 36).primary();
    t.string('tenant_id', 36).notNullable().references('tenants.id').onDelete('CASCADE');
    t.string('user_id', 36).notNullable();
    t.string('content_id', 36).notNullable().references('content.id').onDelete('CASCADE');
    t.string('state', 20).notNullable();
    t.integer('progress').notNullable().defaultTo(0);
    t.string('due_at', 30);
    t.boolean('mandatory').notNullable().defaultTo(false);
    // Suspended because the user is deactivated (rule 6): reactivation resumes exactly these.
    t.boolean('paused').notNullable().defaultTo(false);
    t.string('completed_at', 30);
    t.string('expires_at', 30);
    t.jsonb('history').notNullable().defaultTo('[]'); // earlier completions, kept when recertification reopens
    t.string('created_at', 30).notNullable();
    t.string('updated_at', 30).notNullable();
    t.unique(['user_id', 'content_id']);
    t.index(['content_id', 'state']);
  });

  await knex.schema.createTable('grants', (t) => {
    t.string('id', 36).primary();
    t.string('tenant_id', 36).notNullable().references('tenants.id').onDelete('CASCADE');
    t.string('enrollment_id', 36).notNullable().references('enrollments.id').onDelete('CASCADE');
    t.string('assignment_id', 36); // kept after the assignment is gone: the history says where access came from
    t.string('group_id', 36);
    t.string('started_at', 30).notNullable();
    t.string('ended_at', 30);
    t.string('start_cause', 100).notNullable();
    t.string('end_cause', 100);
    t.index(['enrollment_id']);
    t.index(['assignment_id']);
    t.index(['group_id']);
  });
  // At most one open grant per enrollment and assignment; the fan-out's ON CONFLICT names this index.
  await knex.raw('create unique index grants_open_unique on grants (enrollment_id, assignment_id) where ended_at is null');
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['grants', 'enrollments', 'assignments']) await knex.schema.dropTableIfExists(table);
}
