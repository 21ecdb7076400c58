import type { Knex } from 'knex';

/**
 * PostgreSQL: a notification on the channel `roster_credentials` whenever a token or a tenant changes
 * (created, revoked, renamed, deleted, by Roster or by hand), so every instance can cache token
 * lookups and still refuse a revoked token as soon as the revocation commits (src/db/notify.ts).
 * Writing a token's `last_used_at` notifies nothing: it changes nothing a lookup decides on.
 * SQLite needs no trigger: its data_version tells a reader of any commit.
 */
export async function up(knex: Knex): Promise<void> {
  if ((knex.client as { dialect: string }).dialect !== 'postgresql') return;
  await knex.raw(`
    create or replace function roster_credentials_changed() returns trigger language plpgsql as $$
    begin
      if tg_op = 'UPDATE' and (to_jsonb(old) - 'last_used_at') = (to_jsonb(new) - 'last_used_at') then
        return null;
      end if;
      perform pg_notify('roster_credentials', '');
      return null;
    end $$`);
  for (const table of ['tokens', 'tenants']) {
    await knex.raw(`create trigger ${table}_changed after insert or update or delete on ${table} for each row execute function roster_credentials_changed()`);
    await knex.raw(`create trigger ${table}_truncated after truncate on ${table} for each statement execute function roster_credentials_changed()`);
  }
}

export async function down(knex: Knex): Promise<void> {
  if ((knex.client as { dialect: string }).dialect !== 'postgresql') return;
  for (const table of ['tokens', 'tenants']) {
    await knex.raw(`drop trigger if exists ${table}_changed on ${table}`);
    await knex.raw(`drop trigger if exists ${table}_truncated on ${table}`);
  }
  await knex.raw('drop function if exists roster_credentials_changed()');
}
