import type { Knex } from 'knex';

const ROSTER_GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:extension:roster:2.0:Group';

/**
 * Learning-group settings as columns (they were the Roster extension inside groups.data), so the
 * store can enforce them in the statements that change members: description, color, max_members,
 * visibility, archived. Also who owns the group's membership (`managed_by`: an identity provider
 * that pushed it over SCIM, or Roster's admins), a membership rule (a SCIM filter on users) and a
 * credit limit per coaching session.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('groups', (t) => {
    t.text('description');
    t.string('color', 20);
    t.integer('max_members');
    t.string('visibility', 10).notNullable().defaultTo('private');
    t.boolean('archived').notNullable().defaultTo(false);
    t.string('managed_by', 20).notNullable().defaultTo('identityProvider');
    t.text('rule');
    t.integer('credit_limit_per_session');
  });
  // Rule groups of a tenant are read on every user change: a small partial index finds them.
  await knex.raw('create index groups_rule_idx on groups (tenant_id) where rule is not null');

  // Settings pushed before this migration move from the JSON into the columns.
  const rows = await knex('groups').select('id', 'data');
  for (const row of rows as { id: string; data: string | Record<string, unknown> }[]) {
    const data = typeof row.data === 'string' ? (JSON.parse(row.data) as Record<string, unknown>) : row.data;
    const ext = data[ROSTER_GROUP_SCHEMA] as Record<string, unknown> | undefined;
    if (!ext) continue;
    const { [ROSTER_GROUP_SCHEMA]: _moved, ...rest } = data;
    await knex('groups')
      .where({ id: row.id })
      .update({
        description: typeof ext.description === 'string' ? ext.description : null,
        color: typeof ext.color === 'string' ? ext.color.slice(0, 20) : null,
        max_members: typeof ext.maxMembers === 'number' ? ext.maxMembers : null,
        visibility: ext.visibility === 'public' ? 'public' : 'private',
        archived: ext.archived === true,
        data: JSON.stringify(rest),
      });
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists groups_rule_idx');
  await knex.schema.alterTable('groups', (t) => {
    for (const c of ['description', 'color', 'max_members', 'visibility', 'archived', 'managed_by', 'rule', 'credit_limit_per_session']) t.dropColumn(c);
  });
}
