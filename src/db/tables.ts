/** Row shapes of the tables, as knex returns them (SQLite gives booleans as 0/1, JSON as text). */
export interface TenantRow {
  id: string;
  name: string;
  created_at: string;
  /** Coaching credits are on for the tenant (migration 011); absent from rows Roster builds. */
  coaching_enabled?: boolean | number;
}

export interface TokenRow {
  id: string;
  tenant_id: string;
  name: string;
  scope: string;
  hash: string;
  hint: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  /** When the token stops working by itself (null: never). */
  expires_at: string | null;
  /** The user a member token acts for (null: a scim or admin token). */
  user_id?: string | null;
}

export interface UserRow {
  id: string;
  tenant_id: string;
  user_name: string;
  user_name_lc: string;
  external_id: string | null;
  display_name: string | null;
  active: boolean | number;
  department: string | null;
  employee_number: string | null;
  manager_id: string | null;
  data: string | Record<string, unknown>;
  created_at: string;
  updated_at: string;
  version: number;
  /** A salted scrypt hash (SCIM_PASSWORDS=scrypt), never returned; absent from rows Roster builds. */
  password_hash?: string | null;
}

export interface UserEmailRow {
  tenant_id: string;
  user_id: string;
  value: string;
  value_lc: string;
  type: string | null;
  primary: boolean | number;
}

export interface GroupRow {
  id: string;
  tenant_id: string;
  display_name: string;
  display_name_lc: string;
  external_id: string | null;
  data: string | Record<string, unknown>;
  created_at: string;
  updated_at: string;
  version: number;
  description: string | null;
  color: string | null;
  max_members: number | null;
  visibility: 'private' | 'public';
  archived: boolean | number;
  /** Who owns the membership: the identity provider that pushed the group, or Roster's admins. */
  managed_by: 'identityProvider' | 'roster';
  /** A SCIM filter on users; the members are exactly the users it matches. */
  rule: string | null;
  credit_limit_per_session: number | null;
}

export interface MembershipRow {
  tenant_id: string;
  group_id: string;
  user_id: string;
  created_at: string;
}

/** One transfer of the credit ledger (append-only): wallets are `workspace`, `group:<id>`, `user:<id>`. */
export interface CreditTransferRow {
  seq?: number | string; // bigint on PostgreSQL, given as text
  id: string;
  tenant_id: string;
  /** null: credits added from outside. */
  from_wallet: string | null;
  /** null: credits used up by a coaching session. */
  to_wallet: string | null;
  amount: number | string; // bigint: text on PostgreSQL
  kind: 'deposit' | 'allocate' | 'distribute' | 'session' | 'groupDeleted';
  group_id: string | null;
  actor: string;
  request_id: string;
  note: string | null;
  created_at: string;
}

export const toBool = (v: boolean | number | null | undefined): boolean => v === true || v === 1;

/** JSON columns: jsonb on PostgreSQL (parsed by the driver), text on SQLite. */
export const fromJson = (v: string | Record<string, unknown> | null | undefined): Record<string, unknown> =>
  v == null ? {} : typeof v === 'string' ? (JSON.parse(v) as Record<string, unknown>) : v;

export const now = (): string => new Date().toISOString();

/** Splits a list for IN (…) clauses and multi-row inserts, well inside both engines' parameter limits. */
export function chunks<T>(items: readonly T[], size = 1000): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
