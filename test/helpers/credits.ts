import type { TestApp } from './app';

/** A row of credit_transfers as the tests read it straight from the database. */
export interface LedgerRow {
  seq: number | string;
  id: string;
  from_wallet: string | null;
  to_wallet: string | null;
  amount: number | string;
  kind: string;
  group_id: string | null;
  actor: string;
  request_id: string;
}

/** The tenant's ledger in seq order, from the table itself (not through the API). */
export async function ledgerRows(t: TestApp, tenantId: string): Promise<LedgerRow[]> {
  const rows = (await t.db.knex('credit_transfers').where({ tenant_id: tenantId }).select()) as LedgerRow[];
  return rows.sort((a, b) => Number(a.seq) - Number(b.seq));
}

/**
 * The ledger replayed in seq order: each wallet's balance at the end, the lowest it ever was, what
 * came in from outside (deposits) and what was used up (sessions).
 */
export function replay(rows: readonly LedgerRow[]): { balances: Map<string, number>; lowest: Map<string, number>; deposited: number; consumed: number } {
  const balances = new Map<string, number>();
  const lowest = new Map<string, number>();
  let deposited = 0;
  let consumed = 0;
  const move = (wallet: string, by: number) => {
    const balance = (balances.get(wallet) ?? 0) + by;
    balances.set(wallet, balance);
    lowest.set(wallet, Math.min(lowest.get(wallet) ?? 0, balance));
  };
  for (const r of rows) {
    const amount = Number(r.amount);
    if (r.from_wallet === null) deposited += amount;
    else move(r.from_wallet, -amount);
    if (r.to_wallet === null) consumed += amount;
    else move(r.to_wallet, amount);
  }
  return { balances, lowest, deposited, consumed };
}

/** Everything of the tenant's credits, in a stable order, to compare before and after a refused change. */
export async function creditState(t: TestApp, tenantId: string): Promise<string> {
  const k = t.db.knex;
  return JSON.stringify([
    await ledgerRows(t, tenantId),
    await k('credit_wallets').where({ tenant_id: tenantId }).orderBy('wallet').select(),
    await k('tenants').where({ id: tenantId }).select('coaching_enabled'),
  ]);
}
