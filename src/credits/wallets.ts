import type { Statement } from '../db/tx';
import type { CreditTransferRow } from '../db/tables';

/** A wallet of the ledger: the workspace's, a group's or a member's. */
export type Wallet = 'workspace' | `group:${string}` | `user:${string}`;

export const WORKSPACE: Wallet = 'workspace';
export const groupWallet = (groupId: string): Wallet => `group:${groupId}`;
export const userWallet = (userId: string): Wallet => `user:${userId}`;

export type TransferKind = CreditTransferRow['kind'];

/** A transfer as the admin API shows it. */
export interface Transfer {
  id: string;
  kind: TransferKind;
  /** null: credits added from outside (a deposit). */
  from: string | null;
  /** null: credits used up by a coaching session. */
  to: string | null;
  amount: number;
  groupId: string | null;
  /** The token that asked for it (the token's name, never the token). */
  actor: string;
  requestId: string;
  note: string | null;
  createdAt: string;
}

export const transferFromRow = (r: CreditTransferRow): Transfer => ({
  id: r.id,
  kind: r.kind,
  from: r.from_wallet,
  to: r.to_wallet,
  amount: Number(r.amount),
  groupId: r.group_id,
  actor: r.actor,
  requestId: r.request_id,
  note: r.note,
  createdAt: r.created_at,
});

/**
 * What the ledger moved into a wallet, or out of it: SQL with two bindings (tenant id, wallet), read
 * from the index (tenant_id, to_wallet | from_wallet, seq, amount) alone. On PostgreSQL a sum of
 * bigints is numeric, given as text: read it with Number.
 */
const sumOf = (column: 'to_wallet' | 'from_wallet') => `(select coalesce(sum(amount), 0) from credit_transfers where tenant_id = ? and ${column} = ?)`;
export const RECEIVED = sumOf('to_wallet');
export const SPENT = sumOf('from_wallet');

/** A wallet's balance, `{ balance }`: what the ledger moved into it less what it moved out. */
export const balanceStatement = (tenantId: string, wallet: Wallet): Statement => ({
  sql: `select ${RECEIVED} - ${SPENT} as balance`,
  bindings: [tenantId, wallet, tenantId, wallet],
});

/** Whether the tenant has coaching on: a row `{ coaching_enabled }`, none for no such tenant. */
export const coachingStatement = (tenantId: string): Statement => ({ sql: 'select coaching_enabled from tenants where id = ?', bindings: [tenantId] });
