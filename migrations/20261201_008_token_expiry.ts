import type { Knex } from 'knex';

/** Tokens may expire: `roster token create --expires-in 90d`. Null: the token lives until revoked. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('tokens', (t) => {
    t.string('expires_at', 30);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('tokens', (t) => {
    t.dropColumn('expires_at');
  });
}
