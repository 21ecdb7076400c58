import type { Db } from '../db/knex';

export interface Found {
  id: string;
  name: string;
  detail: string | null;
}

/** The few reads the pages need that no store offers: searches and bounded member lists. */
export class OpsQueries {
  constructor(private readonly db: Db) {}

  /** Users whose userName or an email starts with `q` (case-insensitive), up to `limit`. */
  async findUsers(tenantId: string, q: string, limit = 50): Promise<Found[]> {
    const prefix = `${likeEscape(q.toLowerCase())}%`;
    const knex = this.db.knex;
    const rows = (await knex('users')
      .where('tenant_id', tenantId)
      .andWhere((w) =>
        w
          .whereRaw(`user_name_lc like ? escape '\\'`, [prefix])
          .orWhereIn('id', knex('user_emails').select('user_id').where('tenant_id', tenantId).whereRaw(`value_lc like ? escape '\\'`, [prefix])),
      )
      .orderBy('user_name_lc')
      .limit(limit)
      .select('id', 'user_name', 'display_name')) as { id: string; user_name: string; display_name: string | null }[];
    return rows.map((r) => ({ id: r.id, name: r.user_name, detail: r.display_name }));
  }

  async findGroups(tenantId: string, q: string, limit = 50): Promise<Found[]> {
    const rows = (await this.db
      .knex('groups')
      .where('tenant_id', tenantId)
      .whereRaw(`display_name_lc like ? escape '\\'`, [`${likeEscape(q.toLowerCase())}%`])
      .orderBy('display_name_lc')
      .limit(limit)
      .select('id', 'display_name', 'external_id')) as { id: string; display_name: string; external_id: string | null }[];
    return rows.map((r) => ({ id: r.id, name: r.display_name, detail: r.external_id }));
  }

  /** The first `limit` members by userName (a group may have 100,000). */
  async members(tenantId: string, groupId: string, limit = 200): Promise<Found[]> {
    const rows = (await this.db
      .knex('memberships as m')
      .join('users as u', 'u.id', 'm.user_id')
      .where({ 'm.tenant_id': tenantId, 'm.group_id': groupId })
      .orderBy('u.user_name_lc')
      .limit(limit)
      .select('u.id', 'u.user_name', 'u.display_name')) as { id: string; user_name: string; display_name: string | null }[];
    return rows.map((r) => ({ id: r.id, name: r.user_name, detail: r.display_name }));
  }

  /** Titles of content, groups' names: for labels in tables. */
  async names(tenantId: string, table: 'content' | 'groups', ids: string[]): Promise<Map<string, string>> {
    if (!ids.length) return new Map();
    const column = table === 'content' ? 'title' : 'display_name';
    const rows = (await this.db
      .knex(table)
      .where('tenant_id', tenantId)
      .whereIn('id', [...new Set(ids)].slice(0, 1000))
      .select('id', `${column} as name`)) as { id: string; name: string }[];
    return new Map(rows.map((r) => [r.id, r.name]));
  }
}

const likeEscape = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);
