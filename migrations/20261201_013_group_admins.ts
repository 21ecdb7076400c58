import type { Knex } from 'knex';

/**
 * Group admins: a workspace admin makes a member the admin of a group, who then acts through a
 * token bound to their user (`tokens.user_id`, scope `member`). Both go with the user (and the
 * group) when those are deleted.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('tokens', (t) => {
    t.string('user_id', 36).references('users.id').onDelete('CASCADE');
    t.index(['user_id']);
  });
  await knex.schema.createTable('group_admins', (t) => {
    t.string('tenant_id', 36).notNullable().references('tenants.id').onDelete('CASCADE');
    t.string('group_id', 36).notNullable().references('groups.id').onDelete('CASCADE');
    t.string('user_id', 36).notNullable().references('users.id').onDelete('CASCADE');
    t.string('created_at', 30).notNullable();
    t.string('created_by', 200);
    t.primary(['group_id', 'user_id']);
    t.index(['user_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('group_admins');
  await knex.schema.alterTable('tokens', (t) => {
    t.dropIndex(['user_id']);
    t.dropColumn('user_id');
  });
}
