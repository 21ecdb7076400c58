import type { Knex } from 'knex';

/**
 * A group's life: the events about one group carry its id (`events.group_id`), so its activity feed
 * is a range of one index, newest first, not a scan of JSON payloads; and the messages admins post
 * to a group (`group_messages`), which go with the group when it is deleted. Its events stay in the
 * outbox: webhooks may not have delivered them yet.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('events', (t) => {
    t.string('group_id', 36); // no foreign key: a deleted group's events stay
    t.index(['tenant_id', 'group_id', 'seq']);
  });
  // Membership events written before this carry their group in the payload only.
  const groupOf = (knex.client as { dialect: string }).dialect === 'postgresql' ? `payload->>'groupId'` : `json_extract(payload, '$.groupId')`;
  await knex.raw(`update events set group_id = ${groupOf} where type in ('membership.added', 'membership.removed')`);

  await knex.schema.createTable('group_messages', (t) => {
    t.string('id', 36).primary();
    t.string('tenant_id', 36).notNullable().references('tenants.id').onDelete('CASCADE');
    t.string('group_id', 36).notNullable().references('groups.id').onDelete('CASCADE');
    t.string('author', 200).notNullable(); // the name of the token that posted it
    t.text('text').notNullable();
    t.string('request_id', 100).notNullable();
    t.string('created_at', 30).notNullable();
    // Leads with group_id: a page of one group's messages, and the cascade of a group's delete.
    t.index(['group_id', 'created_at', 'id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('group_messages');
  await knex.schema.alterTable('events', (t) => {
    t.dropIndex(['tenant_id', 'group_id', 'seq']);
    t.dropColumn('group_id');
  });
}
