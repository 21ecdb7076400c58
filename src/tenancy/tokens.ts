import crypto from 'node:crypto';
import type { Db } from '../db/knex';
import { now, type TenantRow, type TokenRow } from '../db/tables';
import { newId } from '../ids';

/** `member`: a token bound to one user (a group admin, or a member joining a public group) at the admin API. */
export type Scope = 'scim' | 'admin' | 'member';
/** The scopes an operator creates from the CLI; member tokens are made by an admin for a user (POST /admin/v1/users/{id}/tokens). */
export const SCOPES: readonly Scope[] = ['scim', 'admin'];

export interface Principal {
  tenantId: string;
  tenantName: string;
  tokenId: string;
  tokenName: string;
  scope: Scope;
  /** The user a member token acts for; null for scim and admin tokens. */
  userId: string | null;
}

export interface TokenInfo {
  id: string;
  tenant: string;
  name: string;
  scope: Scope;
  hint: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  expiresAt: string | null;
  userId: string | null;
}

/** The longest a token row is used without reading it again, even with no change signalled. */
const CACHE_MS = 5000;

const hashOf = (secret: string): string => crypto.createHash('sha256').update(secret, 'utf8').digest('hex');

/**
 * Tenants and their bearer tokens. A token is shown once, when created; only its SHA-256 is stored
 * (a token has 256 random bits, so a fast hash is enough: there is nothing to brute-force).
 */
export class Tenancy {
  private readonly lastUseWritten = new Map<string, number>();
  /**
   * Token rows by hash, with the credentials version they were read at (Db.credentialsVersion): a
   * revocation, by any process, changes the version (SQLite: any commit does; PostgreSQL: the trigger's
   * notification arrives), so a revoked token is refused from the next request on. A row is also
   * read again after CACHE_MS at the latest, whatever the version says.
   */
  private readonly cache = new Map<string, { version: number; at: number; row: TokenRow & { tenant_name: string } }>();

  constructor(private readonly db: Db) {}

  async ensureTenant(name: string): Promise<TenantRow> {
    const existing = await this.db.knex<TenantRow>('tenants').where({ name }).first();
    if (existing) return existing;
    const row: TenantRow = { id: newId(), name, created_at: now() };
    await this.db.knex('tenants').insert(row).onConflict('name').ignore();
    return (await this.db.knex<TenantRow>('tenants').where({ name }).first())!;
  }

  async tenantCount(): Promise<number> {
    const row = (await this.db.knex('tenants').count({ n: '*' }).first()) as { n: number | string };
    return Number(row.n);
  }

  /**
   * Creates a token (and the tenant, if missing); returns the secret, which is never stored. With
   * `expiresAt` (in the future) the token is refused from then on.
   */
  async createToken(tenantName: string, scope: Scope, name?: string, expiresAt?: Date): Promise<{ token: string; info: TokenInfo }> {
    if (!SCOPES.includes(scope)) throw new Error(`scope must be one of ${SCOPES.join(', ')}`);
    return this.insertToken(await this.ensureTenant(tenantName), scope, null, name, expiresAt);
  }

  /** A member token for one user of a tenant (the caller has checked the user is the tenant's); the secret is returned once. */
  async createMemberToken(tenantId: string, userId: string, name: string, expiresAt?: Date): Promise<{ token: string; info: TokenInfo }> {
    const [tenant] = await this.db.read<TenantRow>('select * from tenants where id = ?', [tenantId]);
    if (!tenant) throw new Error(`no tenant ${tenantId}`);
    return this.insertToken(tenant, 'member', userId, name, expiresAt);
  }

  async memberTokens(tenantId: string, userId: string): Promise<TokenInfo[]> {
    const rows = await this.db.read<TokenRow & { tenant_name: string }>(
      'select t.*, n.name as tenant_name from tokens t join tenants n on n.id = t.tenant_id where t.tenant_id = ? and t.user_id = ? order by t.created_at, t.id',
      [tenantId, userId],
    );
    return rows.map((r) => toInfo(r, r.tenant_name));
  }

  private async insertToken(tenant: TenantRow, scope: Scope, userId: string | null, name: string | undefined, expiresAt: Date | undefined): Promise<{ token: string; info: TokenInfo }> {
    if (expiresAt && !(expiresAt.getTime() > Date.now())) throw new Error(`the expiry must be in the future (got ${expiresAt.toISOString()})`);
    const token = `rst_${scope}_${crypto.randomBytes(32).toString('base64url')}`;
    const row: TokenRow = {
      id: newId(),
      tenant_id: tenant.id,
      name: name ?? `${scope}-${new Date().toISOString().slice(0, 10)}`,
      scope,
      hash: hashOf(token),
      hint: token.slice(0, scope.length + 9),
      created_at: now(),
      last_used_at: null,
      revoked_at: null,
      expires_at: expiresAt ? expiresAt.toISOString() : null,
      user_id: userId,
    };
    await this.db.knex('tokens').insert(row);
    return { token, info: toInfo(row, tenant.name) };
  }

  async listTokens(tenantName?: string): Promise<TokenInfo[]> {
    const q = this.db.knex('tokens as t').join('tenants as n', 'n.id', 't.tenant_id').select('t.*', 'n.name as tenant_name');
    if (tenantName) q.where('n.name', tenantName);
    const rows = (await q.orderBy(['n.name', 't.created_at'])) as (TokenRow & { tenant_name: string })[];
    return rows.map((r) => toInfo(r, r.tenant_name));
  }

  /** Revokes by id, or by the hint shown in `token list`. Effective on the next request. */
  async revokeToken(idOrHint: string): Promise<TokenInfo | undefined> {
    const rows = (await this.db.knex('tokens as t')
      .join('tenants as n', 'n.id', 't.tenant_id')
      .where('t.id', idOrHint)
      .orWhere('t.hint', idOrHint)
      .select('t.*', 'n.name as tenant_name')) as (TokenRow & { tenant_name: string })[];
    if (rows.length > 1) throw new Error(`"${idOrHint}" matches ${rows.length} tokens; revoke by id`);
    const row = rows[0];
    if (!row) return undefined;
    const revokedAt = row.revoked_at ?? now();
    await this.db.knex('tokens').where({ id: row.id }).update({ revoked_at: revokedAt });
    this.cache.clear(); // this process refuses it at once; others when their version changes
    return toInfo({ ...row, revoked_at: revokedAt }, row.tenant_name);
  }

  /** The principal behind a bearer token, if the token is known, live and of the scope asked for. */
  async authenticate(token: string, scope: Scope | readonly Scope[]): Promise<Principal | undefined> {
    const result = await this.check(token, scope);
    return result && 'principal' in result ? result.principal : undefined;
  }

  /**
   * Like authenticate, and for a token Roster knows but refuses (revoked, other scope) says whose it
   * is and why, for the sync log: the caller still gets a plain 401.
   */
  async check(token: string, scope: Scope | readonly Scope[]): Promise<{ principal: Principal } | { refused: { tenantId: string; tokenName: string; reason: string } } | undefined> {
    if (!token || token.length > 200) return undefined;
    const hash = hashOf(token);
    const row = await this.tokenRow(hash);
    // The lookup is by hash; compare again in constant time so no timing tells how much matched.
    if (!row || !crypto.timingSafeEqual(Buffer.from(row.hash, 'hex'), Buffer.from(hash, 'hex'))) return undefined;
    if (row.revoked_at) return { refused: { tenantId: row.tenant_id, tokenName: row.name, reason: `token "${row.name}" was revoked at ${row.revoked_at}` } };
    // Checked at every use, cached row or not: an expiry needs no notification.
    if (row.expires_at && row.expires_at <= new Date().toISOString()) {
      return { refused: { tenantId: row.tenant_id, tokenName: row.name, reason: `token "${row.name}" expired at ${row.expires_at}` } };
    }
    const scopes: readonly string[] = typeof scope === 'string' ? [scope] : scope;
    if (!scopes.includes(row.scope)) {
      return { refused: { tenantId: row.tenant_id, tokenName: row.name, reason: `token "${row.name}" has scope ${row.scope}, not ${scopes.join(' or ')}` } };
    }
    this.noteUse(row.id);
    return { principal: { tenantId: row.tenant_id, tenantName: row.tenant_name, tokenId: row.id, tokenName: row.name, scope: row.scope as Scope, userId: row.user_id ?? null } };
  }

  private async tokenRow(hash: string): Promise<(TokenRow & { tenant_name: string }) | undefined> {
    const version = this.db.credentialsVersion?.();
    const cached = version === undefined ? undefined : this.cache.get(hash);
    const t = Date.now();
    if (cached && cached.version === version && t - cached.at < CACHE_MS) return cached.row;
    const [row] = await this.db.read<TokenRow & { tenant_name: string }>(
      'select t.*, n.name as tenant_name from tokens t join tenants n on n.id = t.tenant_id where t.hash = ?',
      [hash],
    );
    if (version !== undefined && row) {
      if (this.cache.size >= 1000) this.cache.clear();
      this.cache.set(hash, { version, at: t, row });
    }
    return row;
  }

  /** last_used_at is informative: write it at most once a minute per token, off the request path. */
  private noteUse(tokenId: string): void {
    const t = Date.now();
    if ((this.lastUseWritten.get(tokenId) ?? 0) > t - 60_000) return;
    this.lastUseWritten.set(tokenId, t);
    this.db
      .knex('tokens')
      .where({ id: tokenId })
      .update({ last_used_at: new Date(t).toISOString() })
      .catch(() => this.lastUseWritten.delete(tokenId));
  }
}

function toInfo(r: TokenRow, tenant: string): TokenInfo {
  return {
    id: r.id,
    tenant,
    name: r.name,
    scope: r.scope as Scope,
    hint: r.hint,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
    revokedAt: r.revoked_at,
    expiresAt: r.expires_at ?? null,
    userId: r.user_id ?? null,
  };
}
