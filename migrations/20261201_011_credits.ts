import type { Knex } from 'knex';

/**
 * Coaching credits (issue 8): a switch per tenant, and an append-only ledger of transfers between
 * the workspace's wallet, each group's and each member's. A balance is what the ledger moved into a
 * wallet less what it moved out, never a counter updated in place, so every credit can say where it
 * came from and who moved it. Wallets are text keys: `workspace`, `group:<id>`, `user:<id>`.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('tenants', (t) => {
    t.boolean('coaching_enabled').notNullable().defaultTo(false);
  });

  await knex.schema.createTable('credit_transfers', (t) => {
    t.bigIncrements('seq'); // the ledger's order: a wallet's running balance follows it
    t.string('id', 36).notNullable();
    t.string('tenant_id', 36).notNullable().references('tenants.id').onDelete('CASCADE');
    t.string('from_wallet', 50); // null: credits added from outside (a deposit)
    t.string('to_wallet', 50); // null: credits used up by a coaching session
    t.bigInteger('amount').notNullable().checkPositive(); // a group's whole balance, returned at its deletion, may pass 2^31
    t.string('kind', 20).notNullable().checkIn(['deposit', 'allocate', 'distribute', 'session', 'groupDeleted']);
    t.string('group_id', 36); // no foreign key: the ledger outlives a deleted group
    t.string('actor', 200).notNullable();
    t.string('request_id', 64).notNullable();
    t.text('note');
    t.string('created_at', 30).notNullable();
    t.check('from_wallet is not null or to_wallet is not null');
    // A wallet's balance (sum in less sum out) and its transfers newest first, from the index alone.
    t.index(['tenant_id', 'to_wallet', 'seq', 'amount']);
    t.index(['tenant_id', 'from_wallet', 'seq', 'amount']);
    t.index(['tenant_id', 'seq']);
  });

  // Lock targets only, never balances: a transfer that takes credits out of a wallet holds its row
  // FOR UPDATE (PostgreSQL) while it sums the ledger and writes, so two debits of one wallet queue.
  await knex.schema.createTable('credit_wallets', (t) => {
    t.string('tenant_id', 36).notNullable().references('tenants.id').onDelete('CASCADE');
    t.string('wallet', 50).notNullable();
    t.string('created_at', 30).notNullable();
    t.primary(['tenant_id', 'wallet']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('credit_wallets');
  await knex.schema.dropTable('credit_transfers');
  await knex.schema.alterTable('tenants', (t) => {
    t.dropColumn('coaching_enabled');
  });
}
