import type { Knex } from 'knex';

/** A salted scrypt hash of the password an identity provider pushed, when SCIM_PASSWORDS=scrypt; never returned. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.string('password_hash', 200);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.dropColumn('password_hash');
  });
}
