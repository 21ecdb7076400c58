import type { Knex } from 'knex';

// Timestamps are ISO-8601 strings with milliseconds in UTC ("2026-11-23T10:00:00.000Z") on both
// engines, so SCIM's gt/ge/lt/le on meta.created and meta.lastModified compare them as text in SQL.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('tenants', (t) => {
    t.string('id', 36).primary();
    t.string('name', 200).notNullable().unique();
    t.string('created_at', 30).notNullable();
  });

  await knex.schema.createTable('tokens', (t) => {
    t.string('id', 36).primary();
    t.string('tenant_id', 36).notNullable().references('tenants.id').onDelete('CASCADE');
    t.string('name', 200).notNullable();
    t.string('scope', 20).notNullable();
    t.string('hash', 64).notNullable().unique(); // sha256 of the secret; the secret itself is never stored
    t.string('hint', 20).notNullable(); // the first characters, so an operator can tell tokens apart
    t.string('created_at', 30).notNullable();
    t.string('last_used_at', 30);
    t.string('revoked_at', 30);
    t.index(['tenant_id']);
  });

  await knex.schema.createTable('users', (t) => {
    t.string('id', 36).primary();
    t.string('tenant_id', 36).notNullable().references('tenants.id').onDelete('CASCADE');
    t.string('user_name', 300).notNullable();
    t.string('user_name_lc', 300).notNullable();
    t.string('external_id', 300);
    t.string('display_name', 300);
    t.boolean('active').notNullable().defaultTo(true);
    t.string('department', 300);
    t.string('employee_number', 300);
    t.string('manager_id', 300);
    t.jsonb('data').notNullable(); // the SCIM resource as stored: no id, meta, groups or password
    t.string('created_at', 30).notNullable();
    t.string('updated_at', 30).notNullable();
    t.integer('version').notNullable().defaultTo(1);
    t.unique(['tenant_id', 'user_name_lc']);
    t.index(['tenant_id', 'external_id']);
    t.index(['tenant_id', 'created_at', 'id']);
    t.index(['tenant_id', 'department']);
  });

  await knex.schema.createTable('user_emails', (t) => {
    t.string('tenant_id', 36).notNullable();
    t.string('user_id', 36).notNullable().references('users.id').onDelete('CASCADE');
    t.string('value', 300).notNullable();
    t.string('value_lc', 300).notNullable();
    t.string('type', 50);
    t.boolean('primary').notNullable().defaultTo(false);
    // Filters find users by email through this index (`id in (select user_id … where value_lc = ?)`);
    // the tenant is scoped on users.
    t.index(['value_lc']);
    t.index(['user_id']);
  });

  await knex.schema.createTable('groups', (t) => {
    t.string('id', 36).primary();
    t.string('tenant_id', 36).notNullable().references('tenants.id').onDelete('CASCADE');
    t.string('display_name', 300).notNullable();
    t.string('display_name_lc', 300).notNullable();
    t.string('external_id', 300);
    t.jsonb('data').notNullable(); // extension attributes (Roster group settings) as pushed
    t.string('created_at', 30).notNullable();
    t.string('updated_at', 30).notNullable();
    t.integer('version').notNullable().defaultTo(1);
    t.index(['tenant_id', 'display_name_lc']);
    t.index(['tenant_id', 'external_id']);
    t.index(['tenant_id', 'created_at', 'id']);
  });

  await knex.schema.createTable('memberships', (t) => {
    t.string('tenant_id', 36).notNullable();
    t.string('group_id', 36).notNullable().references('groups.id').onDelete('CASCADE');
    t.string('user_id', 36).notNullable().references('users.id').onDelete('CASCADE');
    t.string('created_at', 30).notNullable();
    t.primary(['group_id', 'user_id']);
    t.index(['user_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['memberships', 'groups', 'user_emails', 'users', 'tokens', 'tenants']) {
    await knex.schema.dropTableIfExists(table);
  }
}
